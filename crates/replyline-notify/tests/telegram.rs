//! Telegram `sendMessage` against a local fake Bot API (axum on 127.0.0.1:0).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use replyline_notify::TelegramSender;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "123456:ABC-secret_token";

#[derive(Clone)]
struct Fake {
    status: StatusCode,
    reply: String,
    seen: Arc<Mutex<Vec<(String, Value)>>>,
}

async fn handle(State(fake): State<Fake>, Path(bot): Path<String>, body: Bytes) -> Response {
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    fake.seen.lock().unwrap().push((bot, value));
    (
        fake.status,
        [("content-type", "application/json")],
        fake.reply.clone(),
    )
        .into_response()
}

/// Starts a fake Bot API that answers every `sendMessage` with `status` and `reply`.
async fn fake_api(status: u16, reply: Value) -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = Fake {
        status: StatusCode::from_u16(status).unwrap(),
        reply: reply.to_string(),
        seen: seen.clone(),
    };
    let app = Router::new()
        .route("/{bot}/sendMessage", post(handle))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn sender(base: &str) -> TelegramSender {
    TelegramSender::new(reqwest::Client::new(), base, TOKEN)
}

fn error(code: u16, description: &str) -> Value {
    json!({"ok": false, "error_code": code, "description": description})
}

#[tokio::test]
async fn sends_html_message_and_returns_message_id() {
    let (base, seen) = fake_api(
        200,
        json!({"ok": true, "result": {"message_id": 777, "chat": {"id": 5}}}),
    )
    .await;
    let id = sender(&format!("{base}/"))
        .send_message(-1_001_234_567_890, "<b>Иван</b>: привет &amp; пока", true)
        .await
        .unwrap();
    assert_eq!(id, 777);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, format!("bot{TOKEN}"));
    assert_eq!(
        seen[0].1,
        json!({"chat_id": -1_001_234_567_890_i64, "text": "<b>Иван</b>: привет &amp; пока", "parse_mode": "HTML"})
    );
}

#[tokio::test]
async fn plain_text_has_no_parse_mode_and_long_text_is_cut() {
    let (base, seen) = fake_api(200, json!({"ok": true, "result": {"message_id": 1}})).await;
    let s = sender(&base);
    s.send_message(42, "a < b", false).await.unwrap();
    let long = "я".repeat(5000);
    s.send_message(42, &long, false).await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].1, json!({"chat_id": 42, "text": "a < b"}));
    let text = seen[1].1["text"].as_str().unwrap();
    assert_eq!(text.chars().count(), 4096);
    assert!(text.ends_with('…'));
}

#[tokio::test]
async fn rate_limit_is_retryable_with_retry_after() {
    let (base, _) = fake_api(
        429,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 17",
               "parameters": {"retry_after": 17}}),
    )
    .await;
    let err = sender(&base)
        .send_message(1, "hi", false)
        .await
        .unwrap_err();
    assert!(err.retryable, "{err:?}");
    assert_eq!(err.retry_after, Some(Duration::from_secs(17)));
    assert!(err.message.contains("429"), "{err:?}");
    assert!(!err.message.contains(TOKEN), "{err:?}");
}

#[tokio::test]
async fn blocked_bot_is_permanent() {
    let (base, _) = fake_api(403, error(403, "Forbidden: bot was blocked by the user")).await;
    let err = sender(&base)
        .send_message(1, "hi", false)
        .await
        .unwrap_err();
    assert!(!err.retryable, "{err:?}");
    assert_eq!(err.retry_after, None);
    assert!(
        err.message.contains("403") && err.message.contains("blocked"),
        "{err:?}"
    );
}

#[tokio::test]
async fn bad_token_and_bad_request_are_permanent() {
    let (base, _) = fake_api(401, error(401, "Unauthorized")).await;
    let err = sender(&base)
        .send_message(1, "hi", false)
        .await
        .unwrap_err();
    assert!(!err.retryable && err.message.contains("token"), "{err:?}");

    let (base, _) = fake_api(400, error(400, "Bad Request: chat not found")).await;
    let err = sender(&base)
        .send_message(1, "hi", false)
        .await
        .unwrap_err();
    assert!(
        !err.retryable && err.message.contains("chat not found"),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_errors_are_retryable() {
    let (base, _) = fake_api(502, json!("bad gateway")).await;
    let err = sender(&base)
        .send_message(1, "hi", false)
        .await
        .unwrap_err();
    assert!(err.retryable, "{err:?}");
}

#[tokio::test]
async fn connection_refused_is_retryable_and_hides_token() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = sender(&format!("http://127.0.0.1:{port}"))
        .send_message(1, "hi", false)
        .await
        .unwrap_err();
    assert!(err.retryable, "{err:?}");
    assert!(!err.message.contains(TOKEN), "{err:?}");
}

#[tokio::test]
async fn unexpected_success_body_and_empty_text_are_permanent() {
    let (base, seen) = fake_api(200, json!({"ok": false})).await;
    let err = sender(&base)
        .send_message(1, "hi", false)
        .await
        .unwrap_err();
    assert!(!err.retryable, "{err:?}");
    let err = sender(&base)
        .send_message(1, "   ", false)
        .await
        .unwrap_err();
    assert!(!err.retryable, "{err:?}");
    assert_eq!(seen.lock().unwrap().len(), 1, "empty text is not sent");
}

#[test]
fn debug_hides_token() {
    let s = sender("https://api.telegram.org");
    assert!(!format!("{s:?}").contains(TOKEN));
}
