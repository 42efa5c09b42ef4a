//! E-mail delivery against a real SMTP server: the Rust SMTP sink of
//! `tests/support/smtp.rs` on a local port (nothing to install).

#[path = "support/smtp.rs"]
mod smtp;

use jiff::Timestamp;
use replyline_notify::EmailSender;
use replyline_notify::render::{Lang, NotificationView, render_notification};
use smtp::SmtpSink;
use std::time::Duration;

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
    let server = SmtpSink::start();
    let sender = EmailSender::new(&server.url(), "Replyline <noreply@example.com>").unwrap();
    let text = render_notification(Lang::Ru, &view());
    sender
        .send("manager@example.com", &text.subject, &text.text)
        .await
        .expect("delivered");

    let info = server.message(1);
    let raw = &info.raw;
    assert_eq!(info.mail_from, "noreply@example.com");
    assert_eq!(info.rcpt_tos, ["manager@example.com"]);
    assert_eq!(info.from, "Replyline <noreply@example.com>");
    assert_eq!(info.to, "manager@example.com");
    assert_eq!(info.subject, text.subject);
    assert!(info.subject.contains("Анна"), "{info:?}");
    assert_eq!(info.content_type, "text/plain");
    assert_eq!(info.charset.as_deref(), Some("utf-8"));
    // SMTP carries CRLF line endings.
    let body = info.body.replace("\r\n", "\n");
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
    let server = SmtpSink::start();
    let sender = EmailSender::new(&server.url(), "alerts@example.com").unwrap();
    let text = render_notification(Lang::En, &view());
    sender
        .send("Boss <boss@example.com>", &text.subject, &text.text)
        .await
        .unwrap();
    let info = server.message(1);
    assert_eq!(info.from, "alerts@example.com");
    assert_eq!(info.rcpt_tos, ["boss@example.com"]);
    assert_eq!(info.subject, text.subject);
    assert!(
        info.body
            .contains("has been waiting for a reply for 12 min")
    );
}

#[tokio::test]
async fn smtp_replies_are_classified() {
    let server = SmtpSink::start();
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
    assert_eq!(server.message(1).to, "ok@example.com");
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
    let server = SmtpSink::start();
    for url in [
        format!("smtps://127.0.0.1:{}", server.port()),
        format!("smtp+starttls://127.0.0.1:{}", server.port()),
    ] {
        let sender =
            EmailSender::with_timeout(&url, "noreply@example.com", Duration::from_secs(5)).unwrap();
        let err = sender.send("a@example.com", "s", "b").await.unwrap_err();
        assert!(err.retryable, "{url}: {err:?}");
    }
    assert_eq!(server.count(), 0);
}
