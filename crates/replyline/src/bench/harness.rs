//! What `bench ingest` and `bench load` share: a `replyline serve` child on a
//! fresh SQLite file, a WhatsApp channel with the automations on, a local fake
//! Graph API that records every message reaching the "provider", signed
//! webhooks, the server's own HTTP ceiling, and the child's CPU and memory.

use anyhow::Context as _;
use replyline_whatsapp::reqwest::Client;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;

/// The app secret the bench channel signs webhooks with.
const SECRET: &[u8] = b"bench-secret";
/// The greeting's text, as the fake Graph API recognises it.
pub const GREETING: &str = "Здравствуйте! Мы получили ваше сообщение и скоро ответим.";
/// The no-reply apology's text.
pub const NO_REPLY: &str = "Извините за ожидание, мы уже читаем ваше сообщение.";

/// One message that reached the fake provider.
#[derive(Clone, Debug)]
pub struct Arrival {
    pub at: Instant,
    /// The recipient's digits, as [`address`] spells them.
    pub to: String,
    pub text: String,
}

/// A fake Graph API on loopback: answers every send with a message id and
/// records when it came, to whom and with what text.
pub struct FakeGraph {
    pub base: String,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
}

impl FakeGraph {
    fn start() -> anyhow::Result<Self> {
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let recorded = arrivals.clone();
        let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
            let recorded = recorded.clone();
            async move {
                let at = Instant::now();
                let message: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                // The recipient as a bench address: E.164 digits without the "+".
                let to = message["to"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_start_matches('+')
                    .to_owned();
                let text = message["text"]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let mut arrivals = recorded.lock().unwrap_or_else(|e| e.into_inner());
                let id = format!("wamid.bench.out.{}", arrivals.len());
                arrivals.push(Arrival {
                    at,
                    to: to.clone(),
                    text,
                });
                axum::Json(json!({"messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": id}]}))
            }
        });
        // Its own runtime and thread: the load generator saturating the
        // bench's runtime must not delay the "provider" (nor its clock).
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let base = format!("http://{}", listener.local_addr()?);
        std::thread::Builder::new()
            .name("fake-graph".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(async move {
                        if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                            let _ = axum::serve(listener, app).await;
                        }
                    });
                }
            })?;
        Ok(Self { base, arrivals })
    }

    /// Everything that arrived so far.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many messages with `text` arrived so far.
    pub fn count(&self, text: &str) -> usize {
        self.arrivals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|a| a.text == text)
            .count()
    }
}

/// A running server with its bench channel.
pub struct Bench {
    pub base: String,
    pub http: Client,
    pub graph: FakeGraph,
    pub channel_id: String,
    webhook_url: String,
    pid: u32,
    dir: PathBuf,
    child: tokio::process::Child,
}

impl Drop for Bench {
    fn drop(&mut self) {
        // REPLYLINE_BENCH_KEEP=1 keeps the database for a look afterwards.
        if std::env::var_os("REPLYLINE_BENCH_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The bench channel's settings: greeting, no-reply after `no_reply_seconds`
/// and the first manager notification on, so every new conversation hands a
/// greeting to the provider and every wait arms deadlines.
fn settings(no_reply_seconds: u64) -> Value {
    json!({
        "greeting": {"enabled": true, "text": GREETING},
        "no_reply": {"enabled": true, "after_seconds": no_reply_seconds, "text": NO_REPLY},
        "notify_manager_first": {"enabled": true, "after_seconds": 3600, "escalate_after_seconds": null},
    })
}

/// A running `replyline serve`: its child process, pid and base URL.
struct Serve {
    child: tokio::process::Child,
    pid: u32,
    base: String,
}

/// Starts `replyline serve` (this executable, or `REPLYLINE_BENCH_SERVER`)
/// on the SQLite file in `dir`; returns once it listens.
async fn serve(dir: &std::path::Path) -> anyhow::Result<Serve> {
    // REPLYLINE_BENCH_SERVER runs another build's server (a before/after comparison).
    let server = match std::env::var_os("REPLYLINE_BENCH_SERVER") {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()?,
    };
    let mut child = tokio::process::Command::new(server)
        .arg("serve")
        .env("REPLYLINE__LISTEN", "127.0.0.1:0")
        .env("REPLYLINE__DATABASE_URL", database_url(dir))
        .env("REPLYLINE__ADMIN_EMAIL", "bench@example.com")
        .env("REPLYLINE__ADMIN_PASSWORD", "bench-password")
        .env(
            "RUST_LOG",
            std::env::var("REPLYLINE_BENCH_RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(std::process::Stdio::piped())
        // REPLYLINE_BENCH_LOG=FILE keeps the server's log (for a run that misbehaves).
        .stderr(match std::env::var_os("REPLYLINE_BENCH_LOG") {
            Some(path) => std::fs::File::create(path)?.into(),
            None => std::process::Stdio::null(),
        })
        .kill_on_drop(true)
        .spawn()
        .context("starting replyline serve")?;
    let pid = child.id().context("server pid")?;
    let stdout = child.stdout.take().context("server stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next_line()
            .await?
            .context("server exited before listening")?;
        if let Some(addr) = line.strip_prefix("listening on ") {
            break addr.trim().to_owned();
        }
    };
    // Keep reading its output so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Serve { child, pid, base })
}

fn database_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}/bench.db", dir.display())
}

impl Bench {
    /// Starts a server on a fresh database with a channel whose no-reply
    /// comes after `no_reply_seconds` (greeting and manager notification on).
    pub async fn start(no_reply_seconds: u64) -> anyhow::Result<Self> {
        Self::start_with(&settings(no_reply_seconds)).await
    }

    /// Starts a server on a fresh database with a channel of `settings`.
    pub async fn start_with(settings: &Value) -> anyhow::Result<Self> {
        let graph = FakeGraph::start()?;
        let dir = std::env::temp_dir().join(format!("replyline-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let Serve { child, pid, base } = serve(&dir).await?;
        let http = Client::builder().pool_max_idle_per_host(1024).build()?;
        let login: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": "bench@example.com", "password": "bench-password"}))
            .send()
            .await?
            .json()
            .await?;
        let token = login["token"].as_str().context("login token")?.to_owned();
        let channel: Value = http
            .post(format!("{base}/api/v1/channels"))
            .bearer_auth(&token)
            .json(&json!({"kind": "whatsapp", "name": "Bench", "whatsapp": {
                "phone_number_id": "100000000000001", "access_token": "t", "app_secret": "bench-secret",
                "verify_token": "v", "api_base_url": graph.base,
                // Meta's highest throughput: the bench measures the server, not the default limit.
                "messages_per_second": 1000}}))
            .send()
            .await?
            .json()
            .await?;
        let channel_id = channel["id"].as_str().context("channel id")?.to_owned();
        let put = http
            .put(format!("{base}/api/v1/channels/{channel_id}/settings"))
            .bearer_auth(&token)
            .json(settings)
            .send()
            .await?;
        anyhow::ensure!(
            put.status().is_success(),
            "bench settings refused: {}",
            put.text().await?
        );
        Ok(Self {
            webhook_url: format!("{base}/webhooks/whatsapp/{channel_id}"),
            channel_id,
            base,
            http,
            graph,
            pid,
            dir,
            child,
        })
    }

    /// The server's database, for a bench that writes it while the server is stopped.
    pub fn database_url(&self) -> String {
        database_url(&self.dir)
    }

    /// Stops the server (SIGKILL: what a restart after a crash sees).
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// Starts the server again on the same database; returns once it listens.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let Serve { child, pid, base } = serve(&self.dir).await?;
        self.webhook_url = format!("{base}/webhooks/whatsapp/{}", self.channel_id);
        (self.child, self.pid, self.base) = (child, pid, base);
        Ok(())
    }

    /// Posts the signed webhook of message `message` from contact `contact`;
    /// true when acknowledged with a 2xx.
    pub async fn post_message(&self, contact: usize, message: usize) -> bool {
        let body = webhook_body(contact, message);
        let signature = replyline_whatsapp::sign(SECRET, body.as_bytes());
        self.http
            .post(&self.webhook_url)
            .header("X-Hub-Signature-256", signature)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// The value of an unlabelled metric, 0 when absent.
    pub async fn metric(&self, name: &str) -> anyhow::Result<f64> {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await?
            .text()
            .await?;
        Ok(text
            .lines()
            .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .find_map(|value| value.trim().parse().ok())
            .unwrap_or(0.0))
    }

    /// Waits until `replyline_messages_in_total` reaches `messages`; the
    /// instant it did (polled every 10 ms).
    pub async fn processed(&self, messages: usize, limit: Duration) -> anyhow::Result<Instant> {
        let began = Instant::now();
        loop {
            if self.metric("replyline_messages_in_total").await? >= messages as f64 {
                return Ok(Instant::now());
            }
            anyhow::ensure!(began.elapsed() < limit, "processing did not finish");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The same server's HTTP ceiling: requests/s of a trivial endpoint
    /// (an unknown path: routing and a small JSON 404, no database), with
    /// `concurrency` requests in flight for `seconds`.
    pub async fn ceiling(&self, concurrency: usize, seconds: f64) -> f64 {
        let url = format!("{}/bench-ceiling", self.base);
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let began = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let (http, url) = (self.http.clone(), url.clone());
            tasks.spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    if http.get(&url).send().await.is_ok() {
                        done += 1;
                    }
                }
                done
            });
        }
        let mut total = 0;
        while let Some(done) = tasks.join_next().await {
            total += done.unwrap_or(0);
        }
        total as f64 / began.elapsed().as_secs_f64()
    }

    /// The server's CPU time so far (user + system), from `/proc/<pid>/stat`.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    }

    /// The server's resident memory, from `/proc/<pid>/status`.
    pub fn rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb * 1024)
    }
}

/// The WhatsApp address of bench contact `contact`.
pub fn address(contact: usize) -> String {
    format!("7900{contact:07}")
}

fn webhook_body(contact: usize, message: usize) -> String {
    let from = address(contact);
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "100000000000001"},
        "contacts": [{"profile": {"name": format!("Клиент {contact}")}, "wa_id": from}],
        "messages": [{"from": from, "id": format!("wamid.bench.{contact}.{message}"), "timestamp": "1764054000",
                      "type": "text", "text": {"body": "Здравствуйте, подскажите по заказу"}}]}}]}]})
    .to_string()
}

/// The `q` quantile of sorted `values` (0 for none).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}
