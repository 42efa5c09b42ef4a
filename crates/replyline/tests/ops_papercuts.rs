//! Operational papercuts of `replyline serve` and `replyline demo`, black-box:
//! the first admin's generated password goes to an owner-only file and never to
//! the output, the data directory is printed resolved, logs carry no colour codes
//! when not on a terminal, and the demo's customer writes again on request and
//! its temporary database is gone after SIGTERM.

use replyline_e2e::poll::until;
use replyline_e2e::server::{ADMIN_EMAIL, binary_path};
use replyline_e2e::{Api, Clock, Server, ServerOpts, StatusCode, expect_error};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// An escape sequence's start: what a colour code begins with.
const ESC: &str = "\u{1b}[";

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn the_generated_admin_password_is_in_an_owner_only_file_and_never_printed() {
    let mut server = Server::start(ServerOpts {
        generated_admin_password: true,
        ..ServerOpts::default()
    })
    .await;
    let file = server.data_dir().join("initial-admin.txt");
    assert_eq!(mode_of(&file), 0o600, "{}", file.display());
    let password = server.admin_password();
    assert!(password.len() >= 16, "a generated password: {password:?}");
    let admin = server.admin().await;
    let (status, me) = admin.me().await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], ADMIN_EMAIL);

    let output = server.output();
    assert!(
        !output.contains(&password),
        "the password is printed:\n{output}"
    );
    let notice = output
        .lines()
        .find(|l| l.contains("created the first admin"))
        .unwrap_or_else(|| panic!("no notice of the first admin:\n{output}"));
    assert!(notice.contains(ADMIN_EMAIL), "{notice}");
    assert!(
        notice.contains(&file.display().to_string()),
        "the notice says where the password is: {notice}"
    );

    // A restart with employees present writes nothing new; the password still works.
    let written = std::fs::metadata(&file).unwrap().modified().unwrap();
    let notices = output.matches("created the first admin").count();
    server.restart().await;
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        written
    );
    let again = server.output().matches("created the first admin").count();
    assert_eq!(again, notices, "{}", server.output());
    server.admin().await;
}

#[tokio::test]
async fn the_data_directory_is_printed_resolved_and_logs_have_no_colour_codes() {
    let base = tempfile::tempdir().expect("temp dir");
    // A path with a `..` and a symbolic link: the server prints the real folder.
    let real = base.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, base.path().join("link")).unwrap();
    let server = Server::start(ServerOpts {
        database_dir: Some(base.path().join("link/../link")),
        ..ServerOpts::default()
    })
    .await;
    let expected = std::fs::canonicalize(&real).unwrap();
    let output = server.output();
    let line = output
        .lines()
        .find(|l| l.contains("data directory: "))
        .unwrap_or_else(|| panic!("no `data directory:` line:\n{output}"));
    assert!(
        line.ends_with(&format!("data directory: {}", expected.display())),
        "{line}"
    );
    // The manual clock's warning is a tracing log line: logs were written.
    assert!(output.contains("MANUAL CLOCK"), "{output}");
    assert!(
        !output.contains(ESC),
        "colour codes in piped logs:\n{output:?}"
    );
    // Not a demo: the demo endpoints do not exist here.
    let admin = server.admin().await;
    let (status, body) = admin.get("/api/v1/demo").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = admin
        .post("/api/v1/demo/customer-message", &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

/// A running `replyline demo` with its printed base URL, admin token and database.
struct Demo {
    child: tokio::process::Child,
    api: Api,
    database: PathBuf,
    output: tokio::sync::mpsc::UnboundedReceiver<String>,
}

/// Starts `replyline demo` with its temporary files under `tmp`.
async fn start_demo(tmp: &Path) -> Demo {
    let mut cmd = tokio::process::Command::new(binary_path());
    cmd.arg("demo")
        .env("TMPDIR", tmp)
        .current_dir(tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("REPLYLINE__") {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd.spawn().expect("run replyline demo");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[demo] {line}");
                let _ = tx.send(line);
            }
        });
    }
    let (mut base, mut token, mut database) = (None, None, None);
    let mut all = String::new();
    let started = tokio::time::timeout(Duration::from_secs(60), async {
        while base.is_none() || token.is_none() || database.is_none() {
            let line = rx.recv().await.expect("the demo exited early");
            assert!(!line.contains(ESC), "colour codes: {line:?}");
            all.push_str(&line);
            all.push('\n');
            if let Some(rest) = line.split("web workspace: ").nth(1) {
                base = rest.split_whitespace().next().map(str::to_owned);
            }
            if let Some(rest) = line.split("(token ").nth(1) {
                token = rest.split(')').next().map(str::to_owned);
            }
            if let Some(rest) = line.split("demo — database ").nth(1) {
                database = Some(PathBuf::from(rest.trim()));
            }
        }
    })
    .await;
    assert!(started.is_ok(), "the demo did not print its guide:\n{all}");
    let api = Api::new(&base.unwrap(), Clock::at("2026-01-01T00:00:00Z")).with_token(token);
    Demo {
        child,
        api,
        database: database.unwrap(),
        output: rx,
    }
}

/// The texts of the client's messages in conversation `id`.
async fn client_texts(api: &Api, id: &str) -> Vec<String> {
    let (status, messages) = api.messages(id).await;
    assert_eq!(status, StatusCode::OK, "{messages}");
    let list = messages
        .as_array()
        .or_else(|| messages["items"].as_array())
        .cloned()
        .unwrap_or_default();
    // the demo customer's photo and location are not texts
    list.iter()
        .filter(|m| {
            m["direction"] == "in" && m["content_type"].as_str().unwrap_or("text") == "text"
        })
        .filter_map(|m| m["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_demo_customer_writes_again_and_sigterm_removes_the_database() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut demo = start_demo(tmp.path()).await;
    assert!(
        demo.database.starts_with(tmp.path()),
        "{}",
        demo.database.display()
    );
    assert!(demo.database.exists(), "{}", demo.database.display());

    // The demo's opening message arrives in conversation 1.
    let api = demo.api.clone();
    let conversation: Value = until("the demo's conversation", Duration::from_secs(30), || {
        let api = api.clone();
        async move {
            let (_, list) = api.conversations("").await;
            list.as_array().and_then(|l| l.first().cloned())
        }
    })
    .await;
    let id = conversation["id"].as_str().unwrap().to_owned();
    let first = client_texts(&api, &id).await;
    assert_eq!(first.len(), 1, "{first:?}");

    // GET /api/v1/demo names the customer as the conversation shows it.
    let (status, info) = api.get("/api/v1/demo").await;
    assert_eq!(status, StatusCode::OK, "{info}");
    let customers = info["customers"].as_array().expect("customers");
    assert_eq!(customers.len(), 1, "{info}");
    assert_eq!(customers[0]["address"], conversation["contact"]["address"]);
    assert_eq!(customers[0]["name"], "Анна");

    // Bad input: 422 naming `text`, 400 naming an unknown field; no message arrives.
    let (status, body) = api
        .post("/api/v1/demo/customer-message", &json!({"text": "   "}))
        .await;
    let error = expect_error(
        &(status, body),
        StatusCode::UNPROCESSABLE_ENTITY,
        "blank text",
    );
    assert_eq!(error["field"], "text", "{error}");
    let (status, body) = api
        .post("/api/v1/demo/customer-message", &json!({"txt": "x"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Only employees may make the customer write.
    let anonymous = api.with_token(None);
    let (status, _) = anonymous
        .post("/api/v1/demo/customer-message", &json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The customer writes again, with a text and then with the default one (no body).
    let (status, body) = api
        .post(
            "/api/v1/demo/customer-message",
            &json!({"text": "Я снова здесь"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["customer"]["name"], "Анна");
    assert_eq!(body["text"], "Я снова здесь");
    let resp = api
        .raw(
            reqwest::Method::POST,
            "/api/v1/demo/customer-message",
            Vec::new(),
            &[],
        )
        .await
        .expect("request");
    assert_eq!(resp.0, StatusCode::ACCEPTED, "{}", resp.1);
    let default_text = resp.1["text"].as_str().expect("text").to_owned();
    assert!(!default_text.trim().is_empty());
    let texts = until(
        "the customer's new messages",
        Duration::from_secs(30),
        || {
            let api = api.clone();
            let id = id.clone();
            async move {
                let texts = client_texts(&api, &id).await;
                (texts.len() >= 3).then_some(texts)
            }
        },
    )
    .await;
    assert_eq!(
        texts,
        [first[0].clone(), "Я снова здесь".to_owned(), default_text],
        "the same customer writes in the same conversation"
    );

    // SIGTERM: the demo stops and its database folder is gone.
    let pid = demo.child.id().expect("pid");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), demo.child.wait())
        .await
        .expect("the demo stops within 30 s after SIGTERM")
        .expect("wait");
    assert!(status.success(), "{status:?}");
    let folder = demo.database.parent().unwrap();
    assert!(!folder.exists(), "{} is left behind", folder.display());
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    let mut rest = String::new();
    while let Ok(line) = demo.output.try_recv() {
        rest.push_str(&line);
        rest.push('\n');
    }
    assert!(rest.contains("removed the demo database"), "{rest}");
    assert!(!rest.contains(ESC), "{rest:?}");
}
