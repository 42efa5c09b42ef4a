//! E-mail delivery against a real SMTP server process (Python aiosmtpd, see
//! `tests/support/smtp_server.py`; install with `python3 -m pip install aiosmtpd`).
//! Set `REPLYLINE_SKIP_SMTP_TESTS=1` to skip these tests explicitly.

use jiff::Timestamp;
use replyline_notify::EmailSender;
use replyline_notify::render::{Lang, NotificationView, render_notification};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct SmtpServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    /// Starts the server, or returns `None` when skipping was requested.
    fn start() -> Option<Self> {
        if std::env::var_os("REPLYLINE_SKIP_SMTP_TESTS").is_some_and(|v| v == "1") {
            eprintln!("SKIP: REPLYLINE_SKIP_SMTP_TESTS=1, real SMTP tests not run");
            return None;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start python3 (needed for the SMTP test server)");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read port");
        let Ok(port) = line.trim().parse::<u16>() else {
            let status = child.wait().expect("wait");
            panic!(
                "the SMTP test server did not start (exit {status}); it needs aiosmtpd: \
                 `python3 -m pip install aiosmtpd` (or set REPLYLINE_SKIP_SMTP_TESTS=1 to skip)"
            );
        };
        Some(Self { child, port, dir })
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Waits for message number `n` (1-based) and returns its decoded JSON and raw bytes.
    fn message(&self, n: u32) -> (Value, String) {
        let json: PathBuf = self.dir.path().join(format!("{n:04}.json"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !json.exists() {
            assert!(Instant::now() < deadline, "message {n} did not arrive");
            std::thread::sleep(Duration::from_millis(20));
        }
        let info: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let raw = std::fs::read_to_string(self.dir.path().join(format!("{n:04}.eml"))).unwrap();
        (info, raw)
    }

    fn count(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "json")
            })
            .count()
    }
}

fn view() -> NotificationView {
    NotificationView {
        reason: "first_message".into(),
        contact_name: Some("Анна".into()),
        contact_address: "+79001234567".into(),
        channel_name: "WhatsApp продажи".into(),
        employee_name: Some("Иван Петров".into()),
        wait_started_at: "2025-11-25T09:00:00Z".parse::<Timestamp>().unwrap(),
        waited_seconds: 12 * 60,
        conversation_url: Some("https://inbox.example.com/c/42".into()),
        text: None,
    }
}

#[tokio::test]
async fn russian_notification_arrives_intact() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let sender = EmailSender::new(&server.url(), "Replyline <noreply@example.com>").unwrap();
    let text = render_notification(Lang::Ru, &view());
    sender
        .send("manager@example.com", &text.subject, &text.text)
        .await
        .expect("delivered");

    let (info, raw) = server.message(1);
    assert_eq!(info["mail_from"], "noreply@example.com");
    assert_eq!(info["rcpt_tos"], serde_json::json!(["manager@example.com"]));
    assert_eq!(info["from"], "Replyline <noreply@example.com>");
    assert_eq!(info["to"], "manager@example.com");
    assert_eq!(info["subject"], text.subject.as_str());
    assert!(info["subject"].as_str().unwrap().contains("Анна"), "{info}");
    assert_eq!(info["content_type"], "text/plain");
    assert_eq!(info["charset"], "utf-8");
    // SMTP carries CRLF line endings.
    let body = info["body"].as_str().unwrap().replace("\r\n", "\n");
    assert_eq!(body.trim_end(), text.text);
    assert!(
        body.contains("Клиент Анна (+79001234567) ждёт ответа 12 мин (первое сообщение)."),
        "{body}"
    );
    assert!(body.contains("Ответственный: Иван Петров."), "{body}");
    assert!(
        body.contains("Открыть чат: https://inbox.example.com/c/42"),
        "{body}"
    );
    // Non-ASCII never travels as raw header bytes: the subject is RFC 2047 encoded.
    let subject_line = raw.lines().find(|l| l.starts_with("Subject:")).unwrap();
    assert!(subject_line.is_ascii(), "{subject_line}");
    assert!(
        raw.contains("Message-ID:") && raw.contains("Date:"),
        "{raw}"
    );
}

#[tokio::test]
async fn english_and_bare_from_address() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let sender = EmailSender::new(&server.url(), "alerts@example.com").unwrap();
    let text = render_notification(Lang::En, &view());
    sender
        .send("Boss <boss@example.com>", &text.subject, &text.text)
        .await
        .unwrap();
    let (info, _) = server.message(1);
    assert_eq!(info["from"], "alerts@example.com");
    assert_eq!(info["rcpt_tos"], serde_json::json!(["boss@example.com"]));
    assert_eq!(info["subject"], text.subject.as_str());
    assert!(
        info["body"]
            .as_str()
            .unwrap()
            .contains("has been waiting for a reply for 12 min")
    );
}

#[tokio::test]
async fn smtp_replies_are_classified() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let sender = EmailSender::new(&server.url(), "noreply@example.com").unwrap();

    let err = sender
        .send("reject@example.com", "s", "b")
        .await
        .unwrap_err();
    assert!(!err.retryable, "550 must be permanent: {err:?}");
    assert!(err.message.contains("smtp"), "{err:?}");

    let err = sender
        .send("tempfail@example.com", "s", "b")
        .await
        .unwrap_err();
    assert!(err.retryable, "451 must be retryable: {err:?}");

    let err = sender.send("not an address", "s", "b").await.unwrap_err();
    assert!(!err.retryable, "{err:?}");

    assert_eq!(server.count(), 0);
    sender.send("ok@example.com", "s", "b").await.unwrap();
    assert_eq!(server.message(1).0["to"], "ok@example.com");
}

#[tokio::test]
async fn unreachable_server_is_retryable() {
    // A port that was free a moment ago: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sender = EmailSender::with_timeout(
        &format!("smtp://127.0.0.1:{port}"),
        "noreply@example.com",
        Duration::from_secs(5),
    )
    .unwrap();
    let err = sender.send("a@example.com", "s", "b").await.unwrap_err();
    assert!(err.retryable, "{err:?}");
}

#[tokio::test]
async fn tls_against_a_plain_server_fails_cleanly() {
    // Exercises the rustls path (smtps and STARTTLS) without a certificate:
    // the handshake must fail with a retryable error, not panic.
    let Some(server) = SmtpServer::start() else {
        return;
    };
    for url in [
        format!("smtps://127.0.0.1:{}", server.port),
        format!("smtp+starttls://127.0.0.1:{}", server.port),
    ] {
        let sender =
            EmailSender::with_timeout(&url, "noreply@example.com", Duration::from_secs(5)).unwrap();
        let err = sender.send("a@example.com", "s", "b").await.unwrap_err();
        assert!(err.retryable, "{url}: {err:?}");
    }
    assert_eq!(server.count(), 0);
}
