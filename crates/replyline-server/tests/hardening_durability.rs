//! An acknowledged webhook must never vanish silently: an inbox row whose
//! processing keeps failing is retried with backoff (never set aside), listed
//! for admins with its error, counted by a gauge, and can be retried at once.

use replyline_server::config::{ClockMode, Config, Secret};
use replyline_store::{Commit, SettingsWrite, Store};
use replyline_whatsapp::reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const APP_SECRET: &str = "s";
const PHONE: &str = "15550001";

struct Srv {
    base: String,
    http: Client,
    admin: String,
    /// A second handle on the server's database, to break and mend a channel.
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

impl Srv {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let config = Config {
            listen: "127.0.0.1:0".into(),
            database_url: url.clone(),
            clock: ClockMode::Manual,
            admin_email: Some("admin@example.com".into()),
            admin_password: Some(Secret::new("admin-password")),
            ..Config::default()
        };
        let running = replyline_server::start(config).await.unwrap();
        let base = format!("http://{}", running.addr);
        std::mem::forget(running);
        let store = replyline_store::connect(&url).await.unwrap();
        let mut srv = Self {
            base,
            http: Client::new(),
            admin: String::new(),
            store,
            _dir: dir,
        };
        srv.admin = srv.login("admin@example.com", "admin-password").await;
        srv
    }

    async fn login(&self, email: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(method, path, Some(&self.admin), body).await
    }

    async fn advance(&self, seconds: i64) {
        let (status, body) = self
            .admin(
                Method::POST,
                "/api/v1/clock/advance",
                Some(json!({"seconds": seconds})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    async fn webhook(&self, channel: &str, wa_id: &str, text: &str) {
        let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "x", "changes": [{"field": "messages", "value": {
            "metadata": {"phone_number_id": PHONE}, "contacts": [{"profile": {"name": "Client"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": format!("wamid.{wa_id}"), "timestamp": "1764054000", "type": "text", "text": {"body": text}}]}}]}]})
        .to_string();
        let signature = replyline_whatsapp::sign(APP_SECRET.as_bytes(), payload.as_bytes());
        let r = self
            .http
            .post(format!("{}/webhooks/whatsapp/{channel}", self.base))
            .header("X-Hub-Signature-256", signature)
            .body(payload)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "the webhook is acknowledged");
    }

    /// Writes `settings` straight into the channel row (as a broken or mended database would have it).
    async fn store_settings(&self, channel: &str, settings: Value) {
        let mut commit = Commit::new(jiff::Timestamp::now());
        commit.settings = Some(SettingsWrite {
            channel_id: channel.parse().unwrap(),
            employee_id: None,
            old: json!({}),
            new: settings,
        });
        self.store.commit(commit).await.unwrap();
    }

    async fn failed(&self) -> Vec<Value> {
        let (status, body) = self.admin(Method::GET, "/api/v1/inbox/failed", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }

    async fn gauge(&self) -> String {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find(|l| l.starts_with("replyline_inbox_failed "))
            .unwrap_or("replyline_inbox_failed missing")
            .to_owned()
    }

    async fn inbound_texts(&self, wa_id: &str) -> Vec<String> {
        let (_, list) = self.admin(Method::GET, "/api/v1/conversations", None).await;
        let mut texts = Vec::new();
        for c in list.as_array().into_iter().flatten() {
            if c["contact"]["address"] != wa_id {
                continue;
            }
            let path = format!(
                "/api/v1/conversations/{}/messages",
                c["id"].as_str().unwrap()
            );
            let (_, msgs) = self.admin(Method::GET, &path, None).await;
            for m in msgs.as_array().into_iter().flatten() {
                if m["direction"] == "in" {
                    texts.push(m["text"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
        texts
    }
}

async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = probe().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbox_row_that_keeps_failing_is_retried_listed_and_never_dropped() {
    let srv = Srv::start().await;
    let (status, channel) = srv
        .admin(
            Method::POST,
            "/api/v1/channels",
            Some(
                json!({"kind": "whatsapp", "name": "wa", "whatsapp": {"phone_number_id": PHONE,
                "access_token": "t", "app_secret": APP_SECRET, "verify_token": "v",
                "api_base_url": "http://127.0.0.1:9"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    let channel = channel["id"].as_str().unwrap().to_owned();
    let (_, good_settings) = srv
        .admin(
            Method::GET,
            &format!("/api/v1/channels/{channel}/settings"),
            None,
        )
        .await;

    // The channel's stored settings cannot be compiled: processing fails.
    srv.store_settings(&channel, json!({"greeting": {"enabled": "yes"}}))
        .await;
    srv.webhook(&channel, "79001112233", "Помогите").await;
    // Attempt 1 now, 2 after 1 s, 3 after 2 more: then it counts as failing.
    let mut waited = 0;
    let failed = loop {
        let failed = srv.failed().await;
        if failed.first().is_some_and(|r| r["attempts"] == 3) {
            break failed;
        }
        assert!(waited < 100, "the row never became failing: {failed:?}");
        waited += 1;
        srv.advance(1).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let row = &failed[0];
    assert_eq!(row["channel_id"], channel.as_str());
    assert!(row["received_at"].is_string());
    assert!(row["failing_since"].is_string());
    assert!(row["next_attempt_at"].is_string(), "{row}");
    assert!(
        row["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("greeting")),
        "the error names the cause: {row}"
    );
    assert_eq!(srv.gauge().await, "replyline_inbox_failed 1");

    // Still retried much later: never set aside (the old code dropped it after three).
    srv.advance(3600).await;
    let later = eventually("more attempts", async || {
        let f = srv.failed().await;
        f.first()
            .filter(|r| r["attempts"].as_i64().unwrap_or(0) > 3)
            .cloned()
    })
    .await;
    assert_eq!(later["id"], row["id"]);
    assert!(srv.inbound_texts("79001112233").await.is_empty());

    // Only admins see and retry it.
    let (status, _) = srv
        .admin(
            Method::POST,
            "/api/v1/employees",
            Some(json!({"name": "Ivan", "email": "ivan@example.com", "role": "employee", "password": "ivan-password-1"})),
        )
        .await;
    assert!(status.is_success());
    let ivan = srv.login("ivan@example.com", "ivan-password-1").await;
    let (status, body) = srv
        .call(Method::GET, "/api/v1/inbox/failed", Some(&ivan), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let retry = format!("/api/v1/inbox/failed/{}/retry", row["id"].as_str().unwrap());
    let (status, _) = srv.call(Method::POST, &retry, Some(&ivan), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = srv
        .admin(Method::POST, "/api/v1/inbox/failed/999999/retry", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found", "{body}");

    // Mended, retried now (no clock advance): the acknowledged message appears.
    srv.store_settings(&channel, good_settings).await;
    let (status, body) = srv.admin(Method::POST, &retry, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["id"], row["id"]);
    let texts = eventually("the message after the retry", async || {
        let t = srv.inbound_texts("79001112233").await;
        (!t.is_empty()).then_some(t)
    })
    .await;
    assert_eq!(texts, vec!["Помогите".to_owned()]);
    assert!(srv.failed().await.is_empty());
    assert_eq!(srv.gauge().await, "replyline_inbox_failed 0");
}

#[tokio::test]
async fn healthz_commits_a_write() {
    let srv = Srv::start().await;
    for _ in 0..3 {
        let (status, body) = srv.call(Method::GET, "/healthz", None, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "ok");
    }
    assert_eq!(
        srv.store.writer_status(),
        replyline_store::WriterStatus::default()
    );
}
