//! Signed outgoing webhooks against a local receiver (axum on 127.0.0.1:0).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use replyline_notify::WebhookSender;
use replyline_notify::webhook::{sign, verify};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &[u8] = b"crm-shared-secret";

type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

#[derive(Clone)]
struct Receiver {
    status: StatusCode,
    delay: Duration,
    retry_after: Option<&'static str>,
    seen: Seen,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    r.seen.lock().unwrap().push((headers, body));
    tokio::time::sleep(r.delay).await;
    match r.retry_after {
        Some(v) => (r.status, [("retry-after", v)], "nope").into_response(),
        None => (r.status, "answer").into_response(),
    }
}

async fn receiver(
    status: u16,
    delay: Duration,
    retry_after: Option<&'static str>,
) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let state = Receiver {
        status: StatusCode::from_u16(status).unwrap(),
        delay,
        retry_after,
        seen: seen.clone(),
    };
    let app = Router::new()
        .route("/hooks/crm", post(receive))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hooks/crm"), seen)
}

fn body() -> serde_json::Value {
    json!({"event": "notification.created", "notification": {"id": "n1", "reason": "first_message",
           "contact": "Анна"}})
}

#[tokio::test]
async fn receiver_gets_signed_headers_and_body() {
    let (url, seen) = receiver(204, Duration::ZERO, None).await;
    WebhookSender::new(reqwest::Client::new())
        .post(
            &url,
            SECRET,
            "notification.created",
            "dlv-42",
            1_764_054_000,
            &body(),
        )
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let (headers, raw) = &seen[0];
    let h = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(h("x-replyline-event"), "notification.created");
    assert_eq!(h("x-replyline-delivery"), "dlv-42");
    assert_eq!(h("x-replyline-timestamp"), "1764054000");
    assert_eq!(h("content-type"), "application/json");
    let signature = h("x-replyline-signature");
    assert!(
        verify(SECRET, 1_764_054_000, raw, &signature),
        "{signature}"
    );
    assert_eq!(signature, sign(SECRET, 1_764_054_000, raw));
    assert!(!verify(b"wrong", 1_764_054_000, raw, &signature));
    assert!(!verify(SECRET, 1_764_054_001, raw, &signature));
    let parsed: serde_json::Value = serde_json::from_slice(raw).unwrap();
    assert_eq!(parsed, body());
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_retryable() {
    let sender = WebhookSender::new(reqwest::Client::new());
    let (url, _) = receiver(500, Duration::ZERO, None).await;
    let err = sender
        .post(&url, SECRET, "e", "d", 1, &body())
        .await
        .unwrap_err();
    assert!(err.retryable && err.message.contains("500"), "{err:?}");

    let (url, _) = receiver(503, Duration::ZERO, Some("30")).await;
    let err = sender
        .post(&url, SECRET, "e", "d", 1, &body())
        .await
        .unwrap_err();
    assert!(err.retryable, "{err:?}");
    assert_eq!(err.retry_after, Some(Duration::from_secs(30)));

    let (url, _) = receiver(429, Duration::ZERO, None).await;
    let err = sender
        .post(&url, SECRET, "e", "d", 1, &body())
        .await
        .unwrap_err();
    assert!(err.retryable, "{err:?}");
}

#[tokio::test]
async fn client_errors_are_permanent() {
    let sender = WebhookSender::new(reqwest::Client::new());
    for status in [400, 401, 404, 410] {
        let (url, _) = receiver(status, Duration::ZERO, None).await;
        let err = sender
            .post(&url, SECRET, "e", "d", 1, &body())
            .await
            .unwrap_err();
        assert!(!err.retryable, "{status}: {err:?}");
        assert!(err.message.contains(&status.to_string()), "{err:?}");
    }
}

#[tokio::test]
async fn timeout_is_retryable() {
    let (url, seen) = receiver(200, Duration::from_secs(5), None).await;
    let sender =
        WebhookSender::new(reqwest::Client::new()).with_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = sender
        .post(&url, SECRET, "e", "d", 1, &body())
        .await
        .unwrap_err();
    assert!(err.retryable, "{err:?}");
    assert!(err.message.contains("timed out"), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn connection_refused_is_retryable_and_bad_url_permanent() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sender = WebhookSender::new(reqwest::Client::new());
    let err = sender
        .post(
            &format!("http://127.0.0.1:{port}/x"),
            SECRET,
            "e",
            "d",
            1,
            &body(),
        )
        .await
        .unwrap_err();
    assert!(err.retryable, "{err:?}");
    let err = sender
        .post("not a url", SECRET, "e", "d", 1, &body())
        .await
        .unwrap_err();
    assert!(!err.retryable, "{err:?}");
}
