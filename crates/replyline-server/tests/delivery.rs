//! Notification delivery and CRM webhooks, black-box through HTTP: a real SMTP
//! server (the Rust sink of `replyline-notify/tests/support/smtp.rs`), a local
//! fake Telegram Bot API and a fake CRM endpoint, real SQLite, the manual clock.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxStatus, Uri};
use axum::response::IntoResponse;
use replyline_server::config::{ClockMode, Config, Secret};
use replyline_whatsapp::reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CRM_SECRET: &str = "crm-shared-secret";

// ---------- a real SMTP server: the Rust sink shared with replyline-notify ----------

#[path = "../../replyline-notify/tests/support/smtp.rs"]
mod smtp;

use smtp::SmtpSink as Smtp;

// ---------- fake Telegram Bot API and CRM ----------

#[derive(Clone, Default)]
struct Recorder {
    /// Requests still to fail (answered 500/503).
    fail_next: Arc<Mutex<usize>>,
    /// Accepted requests: (path, headers, body).
    got: Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>,
    tried: Arc<Mutex<usize>>,
}

impl Recorder {
    fn bodies(&self) -> Vec<Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, _, b)| serde_json::from_slice(b).unwrap())
            .collect()
    }
}

async fn serve_fake(rec: Recorder, telegram: bool) -> String {
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let rec = rec.clone();
        async move {
            *rec.tried.lock().unwrap() += 1;
            {
                let mut fail = rec.fail_next.lock().unwrap();
                if *fail > 0 {
                    *fail -= 1;
                    return if telegram {
                        (
                            AxStatus::INTERNAL_SERVER_ERROR,
                            axum::Json(json!({"ok": false, "error_code": 500, "description": "Internal Server Error"})),
                        )
                            .into_response()
                    } else {
                        (AxStatus::SERVICE_UNAVAILABLE, "crm down").into_response()
                    };
                }
            }
            rec.got
                .lock()
                .unwrap()
                .push((uri.path().to_owned(), headers, body));
            if telegram {
                axum::Json(json!({"ok": true, "result": {"message_id": 7, "chat": {"id": 1}, "date": 0}}))
                    .into_response()
            } else {
                (AxStatus::OK, "ok").into_response()
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

// ---------- the server under test ----------

struct Env {
    base: String,
    http: Client,
    admin: String,
    _dir: tempfile::TempDir,
}

impl Env {
    async fn start(smtp: &Smtp, telegram_url: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            listen: "127.0.0.1:0".into(),
            database_url: format!("sqlite://{}/t.db", dir.path().display()),
            public_url: Some("https://inbox.example".into()),
            clock: ClockMode::Manual,
            manual_clock_start: Some("2026-01-05T10:00:00Z".parse().unwrap()),
            smtp_url: Some(Secret::new(smtp.url())),
            smtp_from: Some("Replyline <noreply@example.com>".into()),
            telegram_bot_token: telegram_url.map(|_| Secret::new("123:TESTTOKEN")),
            telegram_api_base_url: telegram_url.unwrap_or("http://127.0.0.1:9").into(),
            admin_email: Some("admin@example.com".into()),
            admin_password: Some(Secret::new("admin-password")),
            ..Config::default()
        };
        let running = replyline_server::start(config).await.unwrap();
        let base = format!("http://{}", running.addr);
        let http = Client::new();
        let admin = login(&http, &base, "admin@example.com", "admin-password").await;
        Self {
            base,
            http,
            admin,
            _dir: dir,
        }
    }

    async fn call(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(url),
            "PUT" => self.http.put(url),
            "DELETE" => self.http.delete(url),
            "PATCH" => self.http.patch(url),
            _ => self.http.post(url),
        }
        .bearer_auth(token);
        let req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn ok(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(token, method, path, body).await;
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v
    }

    async fn employee(
        &self,
        name: &str,
        role: &str,
        manager: Option<&str>,
        chat: Option<&str>,
    ) -> (String, String) {
        let email = format!("{}@example.com", name.to_lowercase());
        let e = self
            .ok(
                &self.admin,
                "POST",
                "/api/v1/employees",
                Some(json!({
                    "name": name, "email": email, "role": role, "manager_id": manager,
                    "password": "password-123", "telegram_chat_id": chat,
                })),
            )
            .await;
        let token = login(&self.http, &self.base, &email, "password-123").await;
        (e["id"].as_str().unwrap().to_owned(), token)
    }

    async fn channel(&self, settings: Value) -> String {
        let ch = self
            .ok(&self.admin, "POST", "/api/v1/channels", Some(json!({"kind": "whatsapp", "name": "Support WA",
                "whatsapp": {"phone_number_id": "1", "access_token": "t", "app_secret": "s", "verify_token": "v",
                             "api_base_url": "http://127.0.0.1:9"}})))
            .await;
        let id = ch["id"].as_str().unwrap().to_owned();
        self.ok(
            &self.admin,
            "PUT",
            &format!("/api/v1/channels/{id}/settings"),
            Some(settings),
        )
        .await;
        id
    }

    /// A signed inbound WhatsApp message; returns the conversation id once stored.
    async fn client_writes(&self, channel: &str, from: &str, wamid: &str) -> String {
        let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "x", "changes": [{"field": "messages", "value": {
            "metadata": {"phone_number_id": "1"}, "contacts": [{"profile": {"name": "Анна"}, "wa_id": from}],
            "messages": [{"from": from, "id": wamid, "timestamp": "1767607200", "type": "text", "text": {"body": "Здравствуйте"}}]}}]}]})
        .to_string();
        let sig = replyline_whatsapp::sign(b"s", payload.as_bytes());
        let r = self
            .http
            .post(format!("{}/webhooks/whatsapp/{channel}", self.base))
            .header("X-Hub-Signature-256", sig)
            .body(payload)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        for _ in 0..200 {
            let list = self
                .ok(
                    &self.admin,
                    "GET",
                    "/api/v1/conversations?status=open",
                    None,
                )
                .await;
            if let Some(c) = list
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["contact"]["address"] == from)
            {
                return c["id"].as_str().unwrap().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("conversation for {from} not created");
    }

    async fn advance(&self, seconds: u64) {
        self.ok(
            &self.admin,
            "POST",
            "/api/v1/clock/advance",
            Some(json!({"seconds": seconds})),
        )
        .await;
    }

    async fn notifications(&self, token: &str) -> Vec<Value> {
        self.ok(token, "GET", "/api/v1/notifications", None)
            .await
            .as_array()
            .unwrap()
            .clone()
    }
}

async fn login(http: &Client, base: &str, email: &str, password: &str) -> String {
    let v: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["token"]
        .as_str()
        .unwrap_or_else(|| panic!("login {email}: {v}"))
        .to_owned()
}

fn delivery<'a>(n: &'a Value, channel: &str) -> &'a Value {
    n["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["channel"] == channel)
        .unwrap_or_else(|| panic!("no {channel} delivery in {n}"))
}

async fn eventually<F: FnMut() -> bool>(what: &str, mut f: F) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn settings(overrides: Value) -> Value {
    let mut s = json!({
        "greeting": {"enabled": false}, "no_reply": {"enabled": false}, "closing": {"enabled": false},
        "notify_manager_first": {"enabled": true, "after_seconds": 600, "escalate_after_seconds": 300},
        "notify_manager_next": {"enabled": false}, "supervisors": []
    });
    if let (Some(s), Some(o)) = (s.as_object_mut(), overrides.as_object()) {
        for (k, v) in o {
            s.insert(k.clone(), v.clone());
        }
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_of_three_email_telegram_crm_with_retries() {
    let smtp = Smtp::start();
    let tg = Recorder::default();
    let crm = Recorder::default();
    let tg_url = serve_fake(tg.clone(), true).await;
    let crm_url = serve_fake(crm.clone(), false).await;
    let env = Env::start(&smtp, Some(&tg_url)).await;

    let (dmitry, dmitry_t) = env.employee("Dmitry", "manager", None, Some("300")).await;
    let (olga, olga_t) = env
        .employee("Olga", "manager", Some(&dmitry), Some("200"))
        .await;
    let (ivan, _) = env.employee("Ivan", "employee", Some(&olga), None).await;
    // Olga reads in English; Dmitry keeps the Russian default.
    let p = env
        .ok(
            &olga_t,
            "PUT",
            "/api/v1/me/preferences",
            Some(json!({"language": "en"})),
        )
        .await;
    // The delivery preferences this test relies on (others, e.g. alerts, may follow).
    for (key, value) in [
        ("email", json!(true)),
        ("telegram", json!(true)),
        ("language", json!("en")),
        ("quiet_hours", Value::Null),
    ] {
        assert_eq!(p.get(key), Some(&value), "{key}: {p}");
    }

    // Validation and admin-only webhooks.
    let (s, v) = env.call(&olga_t, "POST", "/api/v1/webhooks", Some(json!({"url": format!("{crm_url}/crm"), "secret": CRM_SECRET, "events": ["sla.breached"]}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = env
        .call(
            &env.admin,
            "POST",
            "/api/v1/webhooks",
            Some(json!({"url": "ftp://x", "secret": CRM_SECRET, "events": ["sla.breached"]})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("url"))
    );
    let (s, v) = env.call(&env.admin, "POST", "/api/v1/webhooks", Some(json!({"url": format!("{crm_url}/crm"), "secret": CRM_SECRET, "events": ["sla.breachd"]}))).await;
    assert_eq!(
        (s, v["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("events[0]"))
    );
    let hook = env.ok(&env.admin, "POST", "/api/v1/webhooks", Some(json!({"url": format!("{crm_url}/crm"), "secret": CRM_SECRET,
        "events": ["message.received", "message.sent", "conversation.opened", "conversation.closed", "sla.breached", "notification.created"]}))).await;
    assert!(hook.get("secret").is_none());
    let hook_id = hook["id"].as_str().unwrap().to_owned();

    // The first attempt of every external channel fails.
    smtp.set_failing(true);
    *tg.fail_next.lock().unwrap() = 1;
    *crm.fail_next.lock().unwrap() = 1;

    let channel = env.channel(settings(json!({}))).await;
    // Ivan works this channel (assignees must be members).
    env.ok(
        &env.admin,
        "PATCH",
        &format!("/api/v1/employees/{ivan}"),
        Some(json!({"channel_ids": [channel]})),
    )
    .await;
    let cid = env.client_writes(&channel, "79001234567", "wamid.A1").await;
    env.ok(
        &env.admin,
        "POST",
        &format!("/api/v1/conversations/{cid}/assign"),
        Some(json!({"employee_id": ivan})),
    )
    .await;

    // R4 at 600 s: Olga (Ivan's manager). E-mail and Telegram fail once.
    env.advance(600).await;
    let ns = env.notifications(&olga_t).await;
    assert_eq!(ns.len(), 1, "{ns:?}");
    assert_eq!(ns[0]["reason"], "first_message");
    assert_eq!(delivery(&ns[0], "in_app")["status"], "delivered");
    let email = delivery(&ns[0], "email");
    assert_eq!(
        (email["status"].clone(), email["attempts"].clone()),
        (json!("pending"), json!(1)),
        "{email}"
    );
    assert!(email["error"].as_str().unwrap().contains("451"), "{email}");
    let telegram = delivery(&ns[0], "telegram");
    assert_eq!(
        (telegram["status"].clone(), telegram["attempts"].clone()),
        (json!("pending"), json!(1)),
        "{telegram}"
    );
    // notification.created to the CRM is a delivery of the notification too.
    assert!(delivery(&ns[0], "webhook")["status"].is_string());

    // The endpoints recover; the retry (backoff 5 s on the server clock) succeeds on the same rows.
    smtp.set_failing(false);
    env.advance(5).await;
    let ns = env.notifications(&olga_t).await;
    assert_eq!(ns.len(), 1, "still exactly one notification: {ns:?}");
    for ch in ["email", "telegram"] {
        let d = delivery(&ns[0], ch);
        assert_eq!(
            (d["status"].clone(), d["attempts"].clone()),
            (json!("sent"), json!(2)),
            "{ch}: {d}"
        );
    }
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].rcpt_tos, ["olga@example.com"]);
    // The rule's «Текст уведомления» (SPEC §2 default) is the first line of every delivery:
    // the in-app list, the e-mail subject and body, Telegram (the CRM below).
    let first_text = "Клиент Анна ждёт первого ответа 10 мин. Ответственный: Ivan.";
    assert_eq!(ns[0]["text"], first_text);
    assert_eq!(mails[0].subject, first_text);
    let body = mails[0].body.as_str();
    assert!(body.starts_with(first_text), "{body}");
    let sent = tg.bodies();
    assert!(
        sent[0]["text"].as_str().unwrap().starts_with(first_text),
        "{}",
        sent[0]["text"]
    );
    assert!(
        body.contains(&format!("https://inbox.example/#/chat/{cid}")),
        "{body}"
    );
    assert!(
        body.contains("Ivan"),
        "English text names the assignee: {body}"
    );
    let sent = tg.bodies();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["chat_id"], 200);
    assert!(
        tg.got.lock().unwrap()[0]
            .0
            .ends_with("/bot123:TESTTOKEN/sendMessage")
    );

    // R9 at 600 + 300 s: escalation to Dmitry, in Russian, by e-mail and Telegram.
    env.advance(295).await;
    let ns = env.notifications(&dmitry_t).await;
    assert_eq!(ns.len(), 1, "{ns:?}");
    assert_eq!(ns[0]["reason"], "first_message_escalated");
    for ch in ["email", "telegram"] {
        let d = delivery(&ns[0], ch);
        assert_eq!(
            (d["status"].clone(), d["attempts"].clone()),
            (json!("sent"), json!(1)),
            "{ch}: {d}"
        );
    }
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[1].rcpt_tos, ["dmitry@example.com"]);
    let sent = tg.bodies();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["chat_id"], 300);
    // The escalation carries the same rule's text, minutes counted at escalation time.
    let escalated_text = "Клиент Анна ждёт первого ответа 15 мин. Ответственный: Ivan.";
    assert_eq!(ns[0]["text"], escalated_text);
    assert_eq!(mails[1].subject, escalated_text);
    let text = sent[1]["text"].as_str().unwrap();
    assert!(text.starts_with(escalated_text), "{text}");
    assert!(
        text.chars().any(|c| ('а'..='я').contains(&c)),
        "Russian by default: {text}"
    );
    assert_eq!(env.notifications(&olga_t).await.len(), 1);

    // Close; the CRM gets every event, signed, the first POST retried.
    env.ok(
        &env.admin,
        "POST",
        &format!("/api/v1/conversations/{cid}/close"),
        None,
    )
    .await;
    env.advance(60).await;
    let wanted = [
        "conversation.opened",
        "message.received",
        "sla.breached",
        "notification.created",
        "conversation.closed",
    ];
    eventually("CRM events", || {
        let got: Vec<String> = crm
            .bodies()
            .iter()
            .map(|b| b["event"].as_str().unwrap().to_owned())
            .collect();
        wanted.iter().all(|w| got.iter().any(|g| g == w))
    })
    .await;
    for (_, headers, raw) in crm.got.lock().unwrap().iter() {
        let ts: i64 = headers["x-replyline-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let sig = headers["x-replyline-signature"].to_str().unwrap();
        assert!(
            replyline_notify::webhook::verify(CRM_SECRET.as_bytes(), ts, raw, sig),
            "bad signature"
        );
        let body: Value = serde_json::from_slice(raw).unwrap();
        assert_eq!(
            headers["x-replyline-event"].to_str().unwrap(),
            body["event"]
        );
        assert_eq!(
            headers["x-replyline-delivery"].to_str().unwrap(),
            body["id"]
        );
        match body["event"].as_str().unwrap() {
            "message.received" => assert_eq!(body["data"]["direction"], "in"),
            "conversation.closed" => assert_eq!(body["data"]["status"], "closed"),
            "conversation.opened" => assert_eq!(body["data"]["id"], cid.as_str()),
            "notification.created" => {
                let expected = match body["data"]["reason"].as_str().unwrap() {
                    "first_message" => first_text,
                    _ => escalated_text,
                };
                assert_eq!(body["data"]["text"], expected, "{body}");
            }
            "sla.breached" => {
                assert_eq!(body["data"]["conversation"]["id"], cid.as_str());
                assert!(
                    [first_text, escalated_text].contains(&body["data"]["text"].as_str().unwrap()),
                    "{body}"
                );
            }
            _ => {}
        }
    }
    let sla = crm
        .bodies()
        .iter()
        .filter(|b| b["event"] == "sla.breached")
        .count();
    assert_eq!(
        sla, 2,
        "one sla.breached per manager-notification firing (R4, R9)"
    );
    let log = env
        .ok(
            &env.admin,
            "GET",
            &format!("/api/v1/webhooks/{hook_id}/deliveries"),
            None,
        )
        .await;
    let log = log.as_array().unwrap();
    assert!(log.iter().all(|d| d["status"] == "sent"), "{log:?}");
    let retried: Vec<&Value> = log.iter().filter(|d| d["attempts"] == 2).collect();
    assert_eq!(retried.len(), 1, "{log:?}");
    assert_eq!(retried[0]["response_code"], 503);
    assert!(retried[0]["error"].as_str().unwrap().contains("503"));

    // The OpenAPI document describes the new endpoints.
    let doc = env.ok(&env.admin, "GET", "/api/openapi.json", None).await;
    for path in [
        "/api/v1/webhooks",
        "/api/v1/webhooks/{id}",
        "/api/v1/webhooks/{id}/deliveries",
        "/api/v1/me/preferences",
        "/api/v1/employees/{id}/preferences",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }

    // Deleting the endpoint: 204, then 404.
    let (s, _) = env
        .call(
            &env.admin,
            "DELETE",
            &format!("/api/v1/webhooks/{hook_id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = env
        .call(
            &env.admin,
            "GET",
            &format!("/api/v1/webhooks/{hook_id}/deliveries"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_to_supervisors_then_admins_and_quiet_hours() {
    let smtp = Smtp::start();
    let env = Env::start(&smtp, None).await;
    let (olga, olga_t) = env.employee("Olga", "manager", None, Some("200")).await;

    // Preferences are validated, field by field.
    for (body, field) in [
        (json!({"language": "de"}), "language"),
        (json!({"email": "yes"}), "email"),
        (
            json!({"quiet_hours": {"start": "25:00", "end": "08:00", "timezone": "Europe/Moscow"}}),
            "quiet_hours.start",
        ),
        (
            json!({"quiet_hours": {"start": "22:00", "end": "08:00", "timezone": "Mars/Base"}}),
            "quiet_hours.timezone",
        ),
        (
            json!({"quiet_hours": {"start": "22:00"}}),
            "quiet_hours.end",
        ),
    ] {
        let (s, v) = env
            .call(&olga_t, "PUT", "/api/v1/me/preferences", Some(body))
            .await;
        assert_eq!(
            (s, v["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!(field)),
            "{v}"
        );
    }
    let (s, _) = env
        .call(&olga_t, "GET", "/api/v1/employees/1/preferences", None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The admin is quiet 12:00–14:00 Moscow (09:00–11:00 UTC); the clock starts at 10:00 UTC.
    let me = env.ok(&env.admin, "GET", "/api/v1/me", None).await;
    let admin_id = me["id"].as_str().unwrap();
    let p = env
        .ok(&env.admin, "PUT", &format!("/api/v1/employees/{admin_id}/preferences"),
            Some(json!({"quiet_hours": {"start": "12:00", "end": "14:00", "timezone": "Europe/Moscow"}})))
        .await;
    assert_eq!(p["quiet_hours"]["start"], "12:00");
    // Olga turns e-mail off for herself; the admin may read that.
    env.ok(
        &olga_t,
        "PUT",
        "/api/v1/me/preferences",
        Some(json!({"email": false})),
    )
    .await;
    let p = env
        .ok(
            &env.admin,
            "GET",
            &format!("/api/v1/employees/{olga}/preferences"),
            None,
        )
        .await;
    assert_eq!(p["email"], false);
    env.ok(
        &olga_t,
        "PUT",
        "/api/v1/me/preferences",
        Some(json!({"email": true})),
    )
    .await;

    // Unassigned chat with supervisors: the supervisors are notified.
    // (No escalation here: this test is about who gets the first notification.)
    let channel = env
        .channel(settings(json!({"supervisors": [olga],
            "notify_manager_first": {"enabled": true, "after_seconds": 600, "escalate_after_seconds": null}})))
        .await;
    env.client_writes(&channel, "79000000001", "wamid.B1").await;
    env.advance(600).await;
    let ns = env.notifications(&olga_t).await;
    assert_eq!(ns.len(), 1);
    assert_eq!(ns[0]["employee_id"], Value::Null);
    assert_eq!(delivery(&ns[0], "email")["status"], "sent");
    assert!(
        ns[0]["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["channel"] != "telegram"),
        "no bot configured"
    );
    assert!(env.notifications(&env.admin).await.is_empty());

    // No supervisors: every admin — whose e-mail waits for the end of quiet hours.
    env.ok(
        &env.admin,
        "PUT",
        &format!("/api/v1/channels/{channel}/settings"),
        Some(json!({"supervisors": []})),
    )
    .await;
    env.client_writes(&channel, "79000000002", "wamid.B2").await;
    env.advance(600).await; // 10:20 UTC = 13:20 Moscow
    let ns = env.notifications(&env.admin).await;
    assert_eq!(ns.len(), 1, "{ns:?}");
    assert_eq!(delivery(&ns[0], "in_app")["status"], "delivered");
    let d = delivery(&ns[0], "email");
    assert_eq!(
        (d["status"].clone(), d["attempts"].clone()),
        (json!("pending"), json!(0)),
        "{d}"
    );
    assert_eq!(d["next_attempt_at"], "2026-01-05T11:00:00Z");
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(env.notifications(&olga_t).await.len(), 1);
    env.advance(2400).await; // 11:00 UTC = 14:00 Moscow
    let ns = env.notifications(&env.admin).await;
    let d = delivery(&ns[0], "email");
    assert_eq!(
        (d["status"].clone(), d["attempts"].clone()),
        (json!("sent"), json!(1)),
        "{d}"
    );
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[1].rcpt_tos, ["admin@example.com"]);
}
