//! Shared helpers for the access-control tests: a server on port 0 with a temporary
//! SQLite file and the manual clock, driven over HTTP.
#![allow(dead_code)]

use replyline_server::config::{ClockMode, Config, Secret};
use replyline_whatsapp::reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub const APP_SECRET: &str = "s";

pub struct Srv {
    pub base: String,
    pub http: Client,
    pub admin: String,
    pub admin_id: String,
    _dir: tempfile::TempDir,
    wamid: AtomicU64,
}

pub struct Person {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
}

impl Srv {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
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
        // The server runs as long as the runtime does.
        std::mem::forget(running);
        let http = Client::new();
        let mut srv = Self {
            base,
            http,
            admin: String::new(),
            admin_id: String::new(),
            _dir: dir,
            wamid: AtomicU64::new(0),
        };
        let (status, login) = srv
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": "admin@example.com", "password": "admin-password"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{login}");
        srv.admin = login["token"].as_str().unwrap().to_owned();
        srv.admin_id = login["employee"]["id"].as_str().unwrap().to_owned();
        srv
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let resp = self.raw(method, path, token, body).await;
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn ok(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method.clone(), path, Some(token), body).await;
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v
    }

    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    /// Creates an employee (admin) and logs them in (which marks them online).
    pub async fn person(&self, login: &str, role: &str, manager: Option<&str>) -> Person {
        let email = format!("{login}@example.com");
        let password = format!("{login}-password");
        let e = self
            .ok(
                Method::POST,
                "/api/v1/employees",
                &self.admin,
                Some(json!({"name": login, "email": email, "role": role, "manager_id": manager, "password": password})),
            )
            .await;
        let (status, l) = self.login(&email, &password).await;
        assert_eq!(status, StatusCode::OK, "{l}");
        Person {
            id: e["id"].as_str().unwrap().to_owned(),
            email,
            password,
            token: l["token"].as_str().unwrap().to_owned(),
        }
    }

    /// A WhatsApp channel (phone number id = `name`), with routing and members.
    pub async fn channel(&self, name: &str, routing: &str, members: &[&Person]) -> String {
        let c = self
            .ok(
                Method::POST,
                "/api/v1/channels",
                &self.admin,
                Some(json!({"kind": "whatsapp", "name": name, "routing": routing, "allow_write_first": true,
                    "whatsapp": {"phone_number_id": name, "access_token": "t", "app_secret": APP_SECRET, "verify_token": "v", "api_base_url": "http://127.0.0.1:9"}})),
            )
            .await;
        assert_eq!(c["routing"], routing, "{c}");
        let id = c["id"].as_str().unwrap().to_owned();
        let ids: Vec<&str> = members.iter().map(|p| p.id.as_str()).collect();
        self.ok(
            Method::PUT,
            &format!("/api/v1/channels/{id}/members"),
            &self.admin,
            Some(json!({"employee_ids": ids})),
        )
        .await;
        id
    }

    /// Posts `payload` to the channel's WhatsApp webhook, signed with [`APP_SECRET`];
    /// asserts the 200 (the body is stored).
    pub async fn post_webhook(&self, channel: &str, payload: String) {
        let signature = replyline_whatsapp::sign(APP_SECRET.as_bytes(), payload.as_bytes());
        let r = self
            .http
            .post(self.url(&format!("/webhooks/whatsapp/{channel}")))
            .header("X-Hub-Signature-256", signature)
            .body(payload)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    /// A client message through the signed webhook; returns the open conversation.
    pub async fn client_says(
        &self,
        channel: &str,
        channel_name: &str,
        wa_id: &str,
        text: &str,
    ) -> Value {
        let n = self.wamid.fetch_add(1, Ordering::Relaxed);
        let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "x", "changes": [{"field": "messages", "value": {
            "metadata": {"phone_number_id": channel_name}, "contacts": [{"profile": {"name": "Client"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": format!("wamid.{channel}.{n}"), "timestamp": "1764054000", "type": "text", "text": {"body": text}}]}}]}]})
        .to_string();
        self.post_webhook(channel, payload).await;
        for _ in 0..200 {
            let (_, list) = self
                .get(
                    &format!("/api/v1/conversations?channel_id={channel}&status=open"),
                    &self.admin,
                )
                .await;
            if let Some(c) = list
                .as_array()
                .and_then(|l| l.iter().find(|c| c["contact"]["address"] == wa_id).cloned())
            {
                let (_, msgs) = self
                    .get(
                        &format!(
                            "/api/v1/conversations/{}/messages",
                            c["id"].as_str().unwrap()
                        ),
                        &self.admin,
                    )
                    .await;
                if msgs.as_array().is_some_and(|m| {
                    m.iter()
                        .any(|m| m["direction"] == "in" && m["text"] == text)
                }) {
                    return c;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no conversation for {wa_id} on {channel}");
    }

    pub async fn advance(&self, seconds: i64) {
        self.ok(
            Method::POST,
            "/api/v1/clock/advance",
            &self.admin,
            Some(json!({"seconds": seconds})),
        )
        .await;
    }
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}
