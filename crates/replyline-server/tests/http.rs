//! The service through HTTP on port 0, with a temporary SQLite file and the manual clock.

use replyline_server::config::{ClockMode, Config, Secret};
use replyline_whatsapp::reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

async fn start(dir: &tempfile::TempDir) -> String {
    let config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}/t.db", dir.path().display()),
        clock: ClockMode::Manual,
        admin_email: Some("admin@example.com".into()),
        admin_password: Some(Secret::new("admin-password")),
        ..Config::default()
    };
    let running = replyline_server::start(config).await.unwrap();
    format!("http://{}", running.addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_to_conversation_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let base = start(&dir).await;
    let http = Client::new();
    let health: Value = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({"status": "ok"}));
    assert_eq!(
        http.get(format!("{base}/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );

    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "admin@example.com", "password": "admin-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    assert_eq!(login["employee"]["role"], "admin");

    let bad = http
        .post(format!("{base}/api/v1/channels"))
        .bearer_auth(&token)
        .json(&json!({"kind": "whatsapp", "name": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["field"], "name");

    let channel: Value = http
        .post(format!("{base}/api/v1/channels"))
        .bearer_auth(&token)
        .json(&json!({"kind": "whatsapp", "name": "wa", "whatsapp": {"phone_number_id": "1", "access_token": "t", "app_secret": "s", "verify_token": "v", "api_base_url": "http://127.0.0.1:9"}}))
        .send().await.unwrap().json().await.unwrap();
    let id = channel["id"].as_str().unwrap().to_owned();
    assert!(
        channel
            .get("whatsapp")
            .and_then(|w| w.get("access_token"))
            .is_none()
    );

    let invalid = http
        .put(format!("{base}/api/v1/channels/{id}/settings"))
        .bearer_auth(&token)
        .json(&json!({"greeting": {"text": "Hi {client_nmae}"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = invalid.json().await.unwrap();
    assert_eq!(body["error"]["field"], "greeting.text");

    let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "x", "changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": "1"}, "contacts": [{"profile": {"name": "Анна"}, "wa_id": "79001234567"}],
        "messages": [{"from": "79001234567", "id": "wamid.A", "timestamp": "1764054000", "type": "text", "text": {"body": "Здравствуйте"}}]}}]}]})
    .to_string();
    let url = format!("{base}/webhooks/whatsapp/{id}");
    assert_eq!(
        http.post(&url)
            .body(payload.clone())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let wrong = replyline_whatsapp::sign(b"other", payload.as_bytes());
    assert_eq!(
        http.post(&url)
            .header("X-Hub-Signature-256", wrong)
            .body(payload.clone())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let signature = replyline_whatsapp::sign(b"s", payload.as_bytes());
    for _ in 0..2 {
        let r = http
            .post(&url)
            .header("X-Hub-Signature-256", &signature)
            .body(payload.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    let mut conversations = Vec::new();
    for _ in 0..100 {
        conversations = http
            .get(format!("{base}/api/v1/conversations"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json::<Vec<Value>>()
            .await
            .unwrap();
        if !conversations.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0]["contact"]["name"], "Анна");
    let cid = conversations[0]["id"].as_str().unwrap();
    let messages: Vec<Value> = http
        .get(format!("{base}/api/v1/conversations/{cid}/messages"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        messages.len(),
        1,
        "the duplicate delivery is stored once: {messages:?}"
    );
    assert_eq!(messages[0]["direction"], "in");

    let advanced: Value = http
        .post(format!("{base}/api/v1/clock/advance"))
        .bearer_auth(&token)
        .json(&json!({"seconds": 60}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(advanced["now"].is_string());
    let doc: Value = http
        .get(format!("{base}/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/conversations/{id}/events"].is_object());
}
