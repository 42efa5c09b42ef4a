//! The common test world: a server, the fake Graph, employees and one WhatsApp channel.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::api::{Api, Resp, StatusCode, expect_status};
use crate::fake_graph::FakeGraph;
use crate::poll;
use crate::server::{Server, ServerOpts};
use crate::webhook::{TextMessage, digits};

/// `phone_number_id` of the test channel (the corpus uses it too).
pub const PHONE_NUMBER_ID: &str = "1122334455667";
/// The channel's Graph access token.
pub const ACCESS_TOKEN: &str = "tok";
/// The channel's app secret (webhook signatures).
pub const APP_SECRET: &str = "secret";
/// The channel's webhook verify token.
pub const VERIFY_TOKEN: &str = "verify";
/// The Graph API version configured on the channel.
pub const API_VERSION: &str = "v21.0";

/// Greeting text used by the tests.
pub const GREETING: &str = "Здравствуйте, {client_name|клиент}! Чем можем помочь?";
/// No-reply text used by the tests.
pub const NO_REPLY: &str = "Все сотрудники заняты, ответим в ближайшее время.";
/// Closing text used by the tests.
pub const CLOSING: &str = "Спасибо за обращение! Чат завершён.";
/// Out-of-hours text used by the tests.
pub const OUT_OF_HOURS: &str = "Мы сейчас не работаем, ответим в рабочее время.";

/// An employee created by the setup.
#[derive(Clone, Debug)]
pub struct Person {
    /// Server id.
    pub id: String,
    /// Full name.
    pub name: String,
    /// Login e-mail.
    pub email: String,
    /// Login password.
    pub password: String,
}

/// Settings with every rule off (all texts and delays at the SPEC §2 example values).
#[must_use]
pub fn all_off() -> Value {
    json!({
        "greeting":             {"enabled": false, "text": GREETING},
        "no_reply":             {"enabled": false, "after_seconds": 300, "text": NO_REPLY},
        "closing":              {"enabled": false, "text": CLOSING, "on_auto_close": false},
        "notify_manager_first": {"enabled": false, "after_seconds": 600, "escalate_after_seconds": null},
        "notify_manager_next":  {"enabled": false, "after_seconds": 900, "escalate_after_seconds": null},
        "sign_outgoing":        {"enabled": false, "format": "*{employee_name}*:\n{text}", "mode": "every_message"},
        "working_hours":        {"enabled": false, "timezone": "Europe/Moscow",
                                 "week": {"mon": ["09:00-18:00"], "tue": ["09:00-18:00"], "wed": ["09:00-18:00"],
                                          "thu": ["09:00-18:00"], "fri": ["09:00-18:00"], "sat": [], "sun": []},
                                 "holidays": ["2026-12-31"], "count_working_time_only": true},
        "out_of_hours":         {"enabled": false, "text": OUT_OF_HOURS},
        "auto_close":           {"enabled": false, "after_seconds": 86400},
        "reopen":               {"enabled": false, "within_seconds": 3600},
        "supervisors":          []
    })
}

/// Deep-merges `patch` into `base` (objects merge key by key, anything else replaces).
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (base, patch) => *base = patch.clone(),
    }
}

/// [`all_off`] with `overrides` merged in.
#[must_use]
pub fn settings_with(overrides: &Value) -> Value {
    let mut settings = all_off();
    merge(&mut settings, overrides);
    settings
}

/// An id field as a string (ids are strings by contract; numbers are tolerated here).
#[must_use]
pub fn id_of(v: &Value) -> String {
    match &v["id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("no id in {v} (got {other})"),
    }
}

/// The array of a 200 answer.
///
/// # Panics
/// When the answer is not 200 with a JSON array.
#[track_caller]
#[must_use]
pub fn array(resp: Resp, what: &str) -> Vec<Value> {
    expect_status(&resp, StatusCode::OK, what);
    match resp.1 {
        Value::Array(items) => items,
        other => panic!("{what}: expected a JSON array, got {other}"),
    }
}

/// The test world.
pub struct Env {
    /// The server under test.
    pub server: Server,
    /// Admin client.
    pub admin: Api,
    /// The fake Graph API the channel sends to.
    pub graph: FakeGraph,
    /// The WhatsApp channel.
    pub channel_id: String,
    /// The channel as created.
    pub channel: Value,
    /// Employee, manager: olga.
    pub ivan: Person,
    /// Manager, manager: dmitry.
    pub olga: Person,
    /// Manager at the top of the chain.
    pub dmitry: Person,
    wamid: AtomicU64,
    sessions: Mutex<HashMap<String, Api>>,
}

impl Env {
    /// Starts a server and the fake, creates the employees and the channel, and
    /// applies [`all_off`] merged with `overrides` as the channel's settings.
    ///
    /// # Panics
    /// When any setup step fails.
    pub async fn start(overrides: &Value) -> Self {
        Self::start_with(ServerOpts::default(), overrides).await
    }

    /// [`Env::start`] with server options.
    ///
    /// # Panics
    /// When any setup step fails.
    pub async fn start_with(opts: ServerOpts, overrides: &Value) -> Self {
        let graph = FakeGraph::start().await;
        let server = Server::start(opts).await;
        let admin = server.admin().await;
        // Created concurrently (password hashing is the slow part), then chained:
        // ivan -> olga -> dmitry.
        let (dmitry, olga, ivan) = tokio::join!(
            create_person(&admin, "dmitry", "Дмитрий Соколов", "manager"),
            create_person(&admin, "olga", "Ольга Смирнова", "manager"),
            create_person(&admin, "ivan", "Иван Петров", "employee"),
        );
        for (who, manager) in [(&olga, &dmitry), (&ivan, &olga)] {
            let (status, body) = admin
                .patch_employee(&who.id, &json!({"manager_id": manager.id}))
                .await;
            assert!(
                status.is_success(),
                "set {}'s manager: {status} {body}",
                who.email
            );
            assert_eq!(
                body["manager_id"].as_str(),
                Some(manager.id.as_str()),
                "{body}"
            );
        }
        let (status, channel) = admin
            .create_channel(&json!({
                "kind": "whatsapp",
                "name": "Main",
                // The tests write first to clients (an open window or a template).
                "allow_write_first": true,
                "whatsapp": {
                    "phone_number_id": PHONE_NUMBER_ID,
                    "access_token": ACCESS_TOKEN,
                    "app_secret": APP_SECRET,
                    "verify_token": VERIFY_TOKEN,
                    "api_base_url": graph.base_url(),
                    "api_version": API_VERSION
                }
            }))
            .await;
        assert!(status.is_success(), "create channel: {status} {channel}");
        let channel_id = id_of(&channel);
        // Everyone works the channel: its unassigned chats are visible to them.
        let (status, body) = admin
            .put(
                &format!("/api/v1/channels/{channel_id}/members"),
                &json!({"employee_ids": [ivan.id, olga.id, dmitry.id]}),
            )
            .await;
        assert!(status.is_success(), "channel members: {status} {body}");
        let env = Self {
            server,
            admin,
            graph,
            channel_id,
            channel,
            ivan,
            olga,
            dmitry,
            wamid: AtomicU64::new(0),
            sessions: Mutex::default(),
        };
        env.put_settings(&settings_with(overrides)).await;
        env
    }

    /// PUTs `settings` (a subset is fine) and answers the full settings.
    ///
    /// # Panics
    /// When the server does not answer 200.
    pub async fn put_settings(&self, settings: &Value) -> Value {
        let resp = self.admin.put_settings(&self.channel_id, settings).await;
        expect_status(&resp, StatusCode::OK, "PUT settings");
        resp.1
    }

    /// `PATCH` the channel as the admin: its status and body.
    pub async fn patch_channel(&self, patch: &Value) -> Resp {
        self.admin
            .patch(&format!("/api/v1/channels/{}", self.channel_id), patch)
            .await
    }

    /// Kills and restarts the server on the same database; logs the admin in again.
    pub async fn restart(&mut self) {
        self.server.restart().await;
        self.admin = self.server.admin().await;
        self.sessions.lock().expect("sessions").clear();
    }

    /// A client logged in as `person`.
    pub async fn login(&self, person: &Person) -> Api {
        self.server
            .api()
            .logged_in(&person.email, &person.password)
            .await
    }

    /// A fresh provider message id.
    pub fn next_wamid(&self) -> String {
        format!(
            "wamid.e2e-{}",
            self.wamid.fetch_add(1, Ordering::SeqCst) + 1
        )
    }

    /// Unix seconds of the manual clock.
    #[must_use]
    pub fn now(&self) -> i64 {
        self.server.clock().unix()
    }

    /// A text message from `wa_id` stamped with the manual clock's now.
    #[must_use]
    pub fn text(&self, wa_id: &str, name: Option<&str>, body: &str) -> TextMessage {
        TextMessage {
            phone_number_id: PHONE_NUMBER_ID.to_owned(),
            wa_id: wa_id.to_owned(),
            name: name.map(str::to_owned),
            id: self.next_wamid(),
            timestamp: self.now(),
            body: body.to_owned(),
        }
    }

    /// POSTs a signed webhook body to this channel.
    pub async fn post_webhook(&self, body: &Value) -> Resp {
        self.admin
            .whatsapp_webhook(&self.channel_id, APP_SECRET, body)
            .await
    }

    /// The client `wa_id` writes `body`; asserts 200 and answers the provider id used.
    ///
    /// # Panics
    /// When the webhook is not answered 200.
    pub async fn client_says(&self, wa_id: &str, name: Option<&str>, body: &str) -> String {
        let msg = self.text(wa_id, name, body);
        let resp = self.post_webhook(&msg.to_webhook()).await;
        expect_status(&resp, StatusCode::OK, "inbound text webhook");
        msg.id
    }

    /// Every conversation (open and closed), by id.
    pub async fn all_conversations(&self) -> Vec<Value> {
        let mut all: Vec<Value> = Vec::new();
        for query in ["", "status=open", "status=closed"] {
            for conv in self.admin.conversations_all_pages(query).await {
                if !all.iter().any(|c| id_of(c) == id_of(&conv)) {
                    all.push(conv);
                }
            }
        }
        all
    }

    /// Conversations of the contact `wa_id` (compared by digits).
    pub async fn conversations_of(&self, wa_id: &str) -> Vec<Value> {
        let wa = digits(wa_id);
        self.all_conversations()
            .await
            .into_iter()
            .filter(|c| digits(c["contact"]["address"].as_str().unwrap_or_default()) == wa)
            .collect()
    }

    /// Waits until the contact `wa_id` has a conversation and answers the newest.
    ///
    /// # Panics
    /// When none shows up within the wait bound.
    pub async fn conversation_of(&self, wa_id: &str) -> Value {
        poll::until(
            &format!("a conversation with {wa_id}"),
            poll::WAIT,
            || async { self.conversations_of(wa_id).await.into_iter().last() },
        )
        .await
    }

    /// The conversation `id` as admin sees it.
    pub async fn conversation(&self, id: &str) -> Value {
        let resp = self.admin.conversation(id).await;
        expect_status(&resp, StatusCode::OK, "GET conversation");
        resp.1
    }

    /// Messages of a conversation, oldest first.
    pub async fn messages(&self, conversation_id: &str) -> Vec<Value> {
        array(self.admin.messages(conversation_id).await, "GET messages")
    }

    /// Waits until the conversation has at least `n` messages matching `pred`.
    ///
    /// # Panics
    /// When they do not show up within the wait bound.
    pub async fn wait_messages(
        &self,
        conversation_id: &str,
        what: &str,
        n: usize,
        pred: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let pred = &pred;
        poll::until(
            &format!("{n} {what} in conversation {conversation_id}"),
            poll::WAIT,
            || async move {
                let found: Vec<Value> = self
                    .messages(conversation_id)
                    .await
                    .into_iter()
                    .filter(|m| pred(m))
                    .collect();
                (found.len() >= n).then_some(found)
            },
        )
        .await
    }

    /// Messages of a given `kind`.
    pub async fn messages_of_kind(&self, conversation_id: &str, kind: &str) -> Vec<Value> {
        self.messages(conversation_id)
            .await
            .into_iter()
            .filter(|m| m["kind"] == kind)
            .collect()
    }

    /// Waits until a message of `kind` has `status`; answers it.
    ///
    /// # Panics
    /// When that does not happen within `timeout`.
    pub async fn wait_status(
        &self,
        conversation_id: &str,
        kind: &str,
        status: &str,
        timeout: Duration,
    ) -> Value {
        poll::until(
            &format!("a {kind} message with status {status}"),
            timeout,
            || async {
                self.messages_of_kind(conversation_id, kind)
                    .await
                    .into_iter()
                    .find(|m| m["status"] == status)
            },
        )
        .await
    }

    /// The conversation's timeline.
    pub async fn events(&self, conversation_id: &str) -> Vec<Value> {
        array(self.admin.events(conversation_id).await, "GET events")
    }

    /// Notifications of `person`.
    pub async fn notifications_of(&self, person: &Person) -> Vec<Value> {
        let api = self.login(person).await;
        array(api.notifications(false).await, "GET notifications")
    }

    /// Advances the manual clock.
    pub async fn advance(&self, seconds: i64) -> String {
        self.admin.advance(seconds).await
    }
}

/// Whether a timeline entry is a decision of a rule whose name contains one of
/// `names` (compared case-insensitively, so `"no_reply"` and `"R2"` both work)
/// with `outcome`.
#[must_use]
pub fn is_decision(event: &Value, names: &[&str], outcome: &str) -> bool {
    let rule = event["rule"].as_str().unwrap_or_default().to_lowercase();
    event["outcome"] == outcome && names.iter().any(|n| rule.contains(&n.to_lowercase()))
}

async fn create_person(admin: &Api, login: &str, name: &str, role: &str) -> Person {
    let email = format!("{login}@example.com");
    let password = format!("{login}-password-123");
    let (status, body) = admin
        .create_employee(&json!({
            "name": name,
            "email": email,
            "role": role,
            "password": password
        }))
        .await;
    assert!(
        status.is_success(),
        "create employee {login}: {status} {body}"
    );
    Person {
        id: id_of(&body),
        name: name.to_owned(),
        email,
        password,
    }
}
