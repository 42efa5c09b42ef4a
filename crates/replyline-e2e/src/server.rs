//! Runs the real `replyline serve` binary as a child process on a temporary database.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::api::Api;

/// The manual clock's start: Wednesday 2026-11-25 10:00 in Moscow.
pub const DEFAULT_CLOCK_START: &str = "2026-11-25T07:00:00Z";
/// The first admin created on the first start.
pub const ADMIN_EMAIL: &str = "admin@example.com";
/// The first admin's password.
pub const ADMIN_PASSWORD: &str = "admin-password-123";
/// `company_name` of every test server.
pub const COMPANY_NAME: &str = "Ромашка";

/// How long `serve` may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The manual clock as the tests know it: Unix seconds, shared between the
/// server handle (to restart at the same instant) and the API clients (which
/// update it from `POST /api/v1/clock/advance`).
#[derive(Clone, Debug)]
pub struct Clock(Arc<AtomicI64>);

impl Clock {
    /// A clock at `rfc3339`.
    ///
    /// # Panics
    /// When `rfc3339` is not a valid timestamp.
    #[must_use]
    pub fn at(rfc3339: &str) -> Self {
        Self(Arc::new(AtomicI64::new(parse_rfc3339(rfc3339))))
    }

    /// Unix seconds now.
    #[must_use]
    pub fn unix(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Sets the clock to `unix` seconds.
    pub fn set_unix(&self, unix: i64) {
        self.0.store(unix, Ordering::SeqCst);
    }

    /// Now as RFC 3339 in UTC.
    ///
    /// # Panics
    /// When the stored seconds are out of range.
    #[must_use]
    pub fn rfc3339(&self) -> String {
        jiff::Timestamp::from_second(self.unix())
            .expect("clock in range")
            .to_string()
    }
}

/// Unix seconds of an RFC 3339 timestamp.
///
/// # Panics
/// When `s` is not RFC 3339.
#[must_use]
pub fn parse_rfc3339(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>()
        .unwrap_or_else(|e| panic!("not an RFC 3339 timestamp {s:?}: {e}"))
        .as_second()
}

/// Options of a test server.
#[derive(Clone, Debug)]
pub struct ServerOpts {
    /// `REPLYLINE__MANUAL_CLOCK_START`.
    pub clock_start: String,
    /// Leave `manual_clock_start` unset, so the server's default (the real time
    /// now, to the millisecond) applies on every start; `clock_start` then only
    /// seeds the tests' mirror until the first advance answers the server's `now`.
    pub default_clock_start: bool,
    /// Extra `REPLYLINE__*` variables, e.g. `("PUBLIC_URL", "...")` (the prefix is added).
    pub extra_env: Vec<(String, String)>,
    /// Where the database lives (e.g. a small tmpfs the test mounted);
    /// `None`: the server's own temporary directory.
    pub database_dir: Option<PathBuf>,
    /// Leave `admin_password` unset, so the first start generates the first
    /// admin's password into `<data dir>/initial-admin.txt`; [`Server::admin`]
    /// reads it from there.
    pub generated_admin_password: bool,
}

impl Default for ServerOpts {
    fn default() -> Self {
        Self {
            clock_start: DEFAULT_CLOCK_START.to_owned(),
            default_clock_start: false,
            extra_env: Vec::new(),
            database_dir: None,
            generated_admin_password: false,
        }
    }
}

/// A running `replyline serve` with its own temporary directory and database.
pub struct Server {
    child: Option<Child>,
    dir: tempfile::TempDir,
    opts: ServerOpts,
    base_url: String,
    clock: Clock,
    generation: u32,
    output: Arc<Mutex<Vec<String>>>,
}

/// Path of the `replyline` binary under test.
///
/// `REPLYLINE_BIN` wins; else the `replyline` next to the running test's
/// `deps/` folder, which cargo builds before the `replyline` package's
/// integration tests (where these tests live), whatever the target folder.
#[must_use]
pub fn binary_path() -> PathBuf {
    if let Some(bin) = std::env::var_os("REPLYLINE_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test>-<hash> → target/<profile>/replyline
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    profile_dir.join(format!("replyline{}", std::env::consts::EXE_SUFFIX))
}

impl Server {
    /// Starts a server with `opts` on a fresh temporary database.
    ///
    /// # Panics
    /// When the binary is missing or the server does not print its address within 30 s.
    pub async fn start(opts: ServerOpts) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("replyline-e2e-")
            .tempdir()
            .expect("temp dir");
        let clock = Clock::at(&opts.clock_start);
        let mut server = Self {
            child: None,
            dir,
            opts,
            base_url: String::new(),
            clock,
            generation: 0,
            output: Arc::default(),
        };
        server.spawn().await;
        server
    }

    /// Starts a server with default options.
    pub async fn start_default() -> Self {
        Self::start(ServerOpts::default()).await
    }

    /// `http://127.0.0.1:PORT` of the running server (changes on restart).
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The manual clock as known to the tests.
    #[must_use]
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    /// The folder of the SQLite database (the server's data directory).
    #[must_use]
    pub fn data_dir(&self) -> &Path {
        self.opts.database_dir.as_deref().unwrap_or(self.dir.path())
    }

    /// The SQLite database URL.
    #[must_use]
    pub fn database_url(&self) -> String {
        format!(
            "sqlite://{}",
            self.data_dir().join("replyline.db").display()
        )
    }

    /// Everything the server printed so far (standard output and error, every
    /// start), one line per line, exactly as printed.
    ///
    /// # Panics
    /// When a reader task panicked.
    #[must_use]
    pub fn output(&self) -> String {
        self.output.lock().expect("output").join("\n")
    }

    /// The first admin's password: [`ADMIN_PASSWORD`], or with
    /// `generated_admin_password` the one in `<data dir>/initial-admin.txt`.
    ///
    /// # Panics
    /// When the file is missing or has no `password:` line.
    #[must_use]
    pub fn admin_password(&self) -> String {
        if !self.opts.generated_admin_password {
            return ADMIN_PASSWORD.to_owned();
        }
        let path = self.data_dir().join("initial-admin.txt");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        text.lines()
            .find_map(|l| l.split_once("password: ").map(|(_, p)| p.trim().to_owned()))
            .unwrap_or_else(|| panic!("no `password:` line in {}: {text}", path.display()))
    }

    /// An unauthenticated API client for this server.
    #[must_use]
    pub fn api(&self) -> Api {
        Api::new(&self.base_url, self.clock.clone())
    }

    /// An API client logged in as the first admin.
    ///
    /// # Panics
    /// When the login fails.
    pub async fn admin(&self) -> Api {
        self.api()
            .logged_in(ADMIN_EMAIL, &self.admin_password())
            .await
    }

    /// Kills the server with SIGKILL (no graceful shutdown) and waits for it to exit.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// Waits up to `timeout` for the server to exit on its own; its exit status
    /// if it did (the server is then gone: [`Self::restart`] starts it again).
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let status = tokio::time::timeout(timeout, child.wait()).await.ok()?.ok();
        if status.is_some() {
            self.child = None;
        }
        status
    }

    /// Kills the server (if running) and starts it again on the same database,
    /// with the manual clock starting where the tests last saw it.
    pub async fn restart(&mut self) {
        self.kill().await;
        self.spawn().await;
    }

    async fn spawn(&mut self) {
        let bin = binary_path();
        assert!(
            bin.exists(),
            "the replyline binary is missing at {}: these tests belong to the `replyline` \
             package, whose binary cargo builds first (or set REPLYLINE_BIN)",
            bin.display()
        );
        self.generation += 1;
        let mut cmd = Command::new(&bin);
        cmd.arg("serve")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (key, _) in std::env::vars() {
            if key.starts_with("REPLYLINE__") {
                cmd.env_remove(key);
            }
        }
        cmd.env("REPLYLINE__LISTEN", "127.0.0.1:0")
            .env("REPLYLINE__DATABASE_URL", self.database_url())
            .env("REPLYLINE__CLOCK", "manual")
            .env("REPLYLINE__ADMIN_EMAIL", ADMIN_EMAIL)
            .env("REPLYLINE__COMPANY_NAME", COMPANY_NAME);
        if !self.opts.generated_admin_password {
            cmd.env("REPLYLINE__ADMIN_PASSWORD", ADMIN_PASSWORD);
        }
        if !self.opts.default_clock_start {
            cmd.env("REPLYLINE__MANUAL_CLOCK_START", self.clock.rfc3339());
        }
        for (key, value) in &self.opts.extra_env {
            cmd.env(format!("REPLYLINE__{}", key.to_uppercase()), value);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let tag = format!("[replyline#{}]", self.generation);
        let sink = Output {
            tag,
            lines: self.output.clone(),
            addr: tx,
        };
        forward(child.stdout.take().expect("stdout"), sink.clone());
        forward(child.stderr.take().expect("stderr"), sink);
        let addr = tokio::time::timeout(START_TIMEOUT, rx.recv()).await;
        match addr {
            Ok(Some(addr)) => self.base_url = format!("http://{addr}"),
            Ok(None) => {
                let status = child.wait().await;
                panic!("replyline serve exited before listening: {status:?}");
            }
            Err(_) => {
                let _ = child.start_kill();
                panic!("replyline serve did not print `listening on http://ADDR` within 30 s");
            }
        }
        self.child = Some(child);
    }
}

/// Where a child's output lines go.
#[derive(Clone)]
struct Output {
    /// Prefix of the copy on the test's stderr.
    tag: String,
    /// Every line, kept for [`Server::output`].
    lines: Arc<Mutex<Vec<String>>>,
    /// Receives the address of `listening on http://ADDR`.
    addr: mpsc::UnboundedSender<String>,
}

/// Copies the child's output to the test's stderr, keeps it and reports the listening address.
fn forward(stream: impl AsyncRead + Unpin + Send + 'static, out: Output) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("{} {line}", out.tag);
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || ".:[]".contains(*c))
                    .collect();
                let _ = out.addr.send(addr);
            }
            if let Ok(mut kept) = out.lines.lock() {
                kept.push(line);
            }
        }
    });
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}
