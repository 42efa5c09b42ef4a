//! The live-events WebSocket on port 0: authentication, what each role receives, ping/pong.

use futures_util::{SinkExt, StreamExt};
use replyline_server::config::{ClockMode, Config, Secret};
use replyline_whatsapp::reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct World {
    base: String,
    http: Client,
    admin: String,
}

impl World {
    async fn start(dir: &tempfile::TempDir) -> Self {
        let config = Config {
            listen: "127.0.0.1:0".into(),
            database_url: format!("sqlite://{}/t.db", dir.path().display()),
            clock: ClockMode::Manual,
            admin_email: Some("admin@example.com".into()),
            admin_password: Some(Secret::new("admin-password")),
            ..Config::default()
        };
        let running = replyline_server::start(config).await.unwrap();
        let base = format!("http://{}", running.addr);
        let http = Client::new();
        let mut world = Self {
            base,
            http,
            admin: String::new(),
        };
        world.admin = world.login("admin@example.com", "admin-password").await;
        world
    }

    async fn login(&self, email: &str, password: &str) -> String {
        let login: Value = self
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
        login["token"].as_str().expect("token").to_owned()
    }

    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "GET" => self.http.get(url),
            "PUT" => self.http.put(url).json(&body),
            "PATCH" => self.http.patch(url).json(&body),
            _ => self.http.post(url).json(&body),
        };
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }

    async fn admin(&self, method: &str, path: &str, body: Value) -> Value {
        self.call(method, path, Some(&self.admin), body).await
    }

    async fn employee(
        &self,
        name: &str,
        email: &str,
        role: &str,
        manager: Option<&str>,
    ) -> (String, String) {
        let e = self
            .admin(
                "POST",
                "/api/v1/employees",
                json!({"name": name, "email": email, "role": role, "manager_id": manager, "password": "password-123"}),
            )
            .await;
        let id = e["id"].as_str().unwrap().to_owned();
        (id, self.login(email, "password-123").await)
    }

    async fn socket(&self, token: &str) -> Socket {
        let url = format!(
            "{}/api/v1/events/ws?token={token}",
            self.base.replacen("http://", "ws://", 1)
        );
        connect_async(url).await.expect("websocket connects").0
    }
}

/// Reads events until one matches `want` (10 s at most); returns everything read.
async fn until(socket: &mut Socket, want: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next()).await;
        let Ok(Some(Ok(message))) = next else {
            panic!("no matching event within 10 s; got {seen:?}");
        };
        if let Message::Text(text) = message {
            let event: Value = serde_json::from_str(text.as_str()).unwrap();
            let done = want(&event);
            seen.push(event);
            if done {
                return seen;
            }
        }
    }
}

/// Every event that arrives within `wait`.
async fn drain(socket: &mut Socket, wait: Duration) -> Vec<Value> {
    let mut seen = Vec::new();
    while let Ok(Some(Ok(message))) = tokio::time::timeout(wait, socket.next()).await {
        if let Message::Text(text) = message {
            seen.push(serde_json::from_str(text.as_str()).unwrap());
        }
    }
    seen
}

fn is(kind: &str) -> impl Fn(&Value) -> bool + '_ {
    move |e: &Value| e["type"] == kind
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_reach_who_may_see_them() {
    let dir = tempfile::tempdir().unwrap();
    let w = World::start(&dir).await;

    // No credentials: 401 before the upgrade.
    let ws_base = w.base.replacen("http://", "ws://", 1);
    match connect_async(format!("{ws_base}/api/v1/events/ws")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 401);
        }
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    match connect_async(format!("{ws_base}/api/v1/events/ws?token=rl_nope")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 401);
        }
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }

    let (olga, olga_token) = w
        .employee("Ольга Смирнова", "olga@example.com", "manager", None)
        .await;
    let (ivan, _ivan_token) = w
        .employee("Иван Петров", "ivan@example.com", "employee", Some(&olga))
        .await;
    let (_petr, petr_token) = w
        .employee("Пётр Сидоров", "petr@example.com", "employee", None)
        .await;

    let channel = w
        .admin(
            "POST",
            "/api/v1/channels",
            json!({"kind": "whatsapp", "name": "wa", "whatsapp": {"phone_number_id": "1", "access_token": "t", "app_secret": "s", "verify_token": "v", "api_base_url": "http://127.0.0.1:9"}}),
        )
        .await;
    let channel_id = channel["id"].as_str().unwrap().to_owned();
    // Ivan works this channel (he may be assigned its chats); Petr does not.
    w.admin(
        "PATCH",
        &format!("/api/v1/employees/{ivan}"),
        json!({"channel_ids": [channel_id]}),
    )
    .await;
    w.admin(
        "PUT",
        &format!("/api/v1/channels/{channel_id}/settings"),
        json!({
            "greeting": {"enabled": false}, "no_reply": {"enabled": false}, "closing": {"enabled": false},
            "working_hours": {"enabled": false}, "out_of_hours": {"enabled": false}, "auto_close": {"enabled": false},
            "notify_manager_first": {"enabled": true, "after_seconds": 600},
            "notify_manager_next": {"enabled": false}
        }),
    )
    .await;

    let mut admin_ws = w.socket(&w.admin).await;
    let mut olga_ws = w.socket(&olga_token).await;
    let mut petr_ws = w.socket(&petr_token).await;

    // Ping frames are answered.
    admin_ws
        .send(Message::Ping(b"hi".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(5), admin_ws.next()).await;
    assert!(
        matches!(pong, Ok(Some(Ok(Message::Pong(ref p)))) if p.as_ref() == b"hi"),
        "{pong:?}"
    );

    // A client message through the signed webhook.
    let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "x", "changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": "1"}, "contacts": [{"profile": {"name": "Анна"}, "wa_id": "79001234567"}],
        "messages": [{"from": "79001234567", "id": "wamid.A", "timestamp": "1764054000", "type": "text", "text": {"body": "Здравствуйте"}}]}}]}]})
    .to_string();
    let signature = replyline_whatsapp::sign(b"s", payload.as_bytes());
    let r = w
        .http
        .post(format!("{}/webhooks/whatsapp/{channel_id}", w.base))
        .header("X-Hub-Signature-256", signature)
        .body(payload)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let seen = until(&mut admin_ws, is("conversation.updated")).await;
    let created = seen
        .iter()
        .find(|e| e["type"] == "message.created")
        .unwrap_or_else(|| panic!("message.created before conversation.updated: {seen:?}"));
    assert_eq!(created["data"]["direction"], "in");
    assert_eq!(created["data"]["kind"], "client");
    let cid = created["data"]["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(seen.last().unwrap()["data"]["id"], cid.as_str());

    // sla_state and window_expires_at on the conversation.
    let conv = w
        .admin("GET", &format!("/api/v1/conversations/{cid}"), Value::Null)
        .await;
    assert_eq!(conv["sla_state"], "on_time", "{conv}");
    let at = |k: &str| {
        conv[k]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    assert_eq!(
        at("window_expires_at").as_second() - at("waiting_since").as_second(),
        24 * 3600,
        "{conv}"
    );

    // Ivan takes it; past the deadline, Olga (his manager) is notified, Petr hears nothing of it.
    w.admin(
        "POST",
        &format!("/api/v1/conversations/{cid}/assign"),
        json!({"employee_id": ivan}),
    )
    .await;
    until(&mut olga_ws, is("conversation.updated")).await;
    let _ = drain(&mut petr_ws, Duration::from_millis(300)).await;
    w.admin("POST", "/api/v1/clock/advance", json!({"seconds": 601}))
        .await;
    let seen = until(&mut olga_ws, is("notification.created")).await;
    let note = seen.last().unwrap();
    assert_eq!(note["data"]["manager_id"], olga.as_str());
    assert_eq!(note["data"]["conversation_id"], cid.as_str());
    until(&mut admin_ws, is("notification.created")).await;
    let petr_saw = drain(&mut petr_ws, Duration::from_millis(700)).await;
    assert!(
        petr_saw
            .iter()
            .all(|e| e["type"] != "notification.created"
                && e["data"]["conversation_id"] != cid.as_str()),
        "an unrelated employee must not see another's notification or conversation: {petr_saw:?}"
    );
    let conv = w
        .admin("GET", &format!("/api/v1/conversations/{cid}"), Value::Null)
        .await;
    assert_eq!(conv["sla_state"], "manager_notified", "{conv}");

    // Closing the socket is clean.
    olga_ws.close(None).await.unwrap();
    let doc = w.call("GET", "/api/openapi.json", None, Value::Null).await;
    assert!(doc["paths"]["/api/v1/events/ws"].is_object());
    assert!(doc["components"]["schemas"]["ConversationDto"]["properties"]["sla_state"].is_object());
    let index = w.http.get(format!("{}/", w.base)).send().await.unwrap();
    assert_eq!(index.status(), StatusCode::OK);
    assert!(index.text().await.unwrap().contains("<html"));
}
