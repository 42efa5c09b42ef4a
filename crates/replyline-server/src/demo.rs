//! `replyline demo`: a server, a fake WhatsApp Graph API and a customer, all in
//! one process, on a temporary database removed again on Ctrl-C or SIGTERM.
//! The customer can be made to write again (`POST /api/v1/demo/customer-message`).

use crate::auth::{hash_password, new_token, random_hex, token_hash};
use crate::config::{Config, Secret};
use crate::{Running, ServerError};
use axum::Router;
use axum::extract::Path;
use axum::routing::post;
use replyline_store::{Id, NewChannel, NewEmployee, NewRoutingRule, Store};
use serde::Serialize;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use utoipa::ToSchema;

const APP_SECRET: &str = "demo-app-secret";
const PHONE_NUMBER_ID: &str = "100000000000001";
const CUSTOMER: &str = "79001234567";
const CUSTOMER_NAME: &str = "Анна";
/// What the customer writes again when no text is given.
pub const DEFAULT_AGAIN_TEXT: &str = "Здравствуйте! Пишу снова: есть новости по моему заказу?";

/// A demo customer: the WhatsApp profile name and number it writes from.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DemoCustomer {
    pub name: String,
    /// The WhatsApp number (`wa_id`), as the conversation's contact address shows it.
    pub address: String,
}

/// What `replyline demo` registers on its server once the channel exists.
#[derive(Clone, Debug)]
pub struct DemoMode {
    base_url: String,
    channel: Id,
    customers: Vec<DemoCustomer>,
}

impl DemoMode {
    /// The customers the demo can make write.
    pub fn customers(&self) -> &[DemoCustomer] {
        &self.customers
    }

    /// The first customer writes `text` through a real, signed webhook to this
    /// server, exactly as the demo's opening message; `Err` names what failed.
    pub async fn customer_writes(
        &self,
        text: &str,
        now: jiff::Timestamp,
    ) -> Result<DemoCustomer, String> {
        let customer = self.customers.first().ok_or("the demo has no customer")?;
        let status = signed_webhook(&self.base_url, self.channel, customer, text, now).await?;
        if !status.is_success() {
            return Err(format!("the webhook answered {status}"));
        }
        Ok(customer.clone())
    }
}

/// The demo's own folder under the system's temporary directory (owner-only),
/// removed when dropped.
struct DemoDir(PathBuf);

impl DemoDir {
    fn create() -> Result<Self, ServerError> {
        let path = std::env::temp_dir().join(format!("replyline-demo-{}", random_hex(4)));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&path)
            .map_err(|e| ServerError::Setup(format!("cannot create {}: {e}", path.display())))?;
        Ok(Self(path))
    }
}

impl Drop for DemoDir {
    fn drop(&mut self) {
        match std::fs::remove_dir_all(&self.0) {
            Ok(()) => println!("removed the demo database {}", self.0.display()),
            Err(err) => eprintln!("could not remove {}: {err}", self.0.display()),
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn setup(err: impl std::fmt::Display) -> ServerError {
    ServerError::Setup(err.to_string())
}

/// Starts a fake Graph API that prints what it "delivers"; returns its base URL.
async fn fake_whatsapp() -> Result<String, ServerError> {
    let counter = Arc::new(AtomicU64::new(0));
    let app = Router::new().route(
        "/{version}/{phone}/messages",
        post(move |Path((_v, _p)): Path<(String, String)>, body: axum::Json<Value>| {
            let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
            async move {
                let to = body["to"].as_str().unwrap_or("?");
                let what = body["text"]["body"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("[template {}]", body["template"]["name"]));
                println!("📱 fake WhatsApp delivered to {to}: {what:?}");
                axum::Json(json!({"messaging_product": "whatsapp", "messages": [{"id": format!("wamid.demo{n}")}]}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(setup)?;
    let addr = listener.local_addr().map_err(setup)?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

async fn person(
    store: &dyn Store,
    email: &str,
    name: &str,
    role: &str,
    manager: Option<Id>,
    password: &str,
) -> Result<Id, ServerError> {
    let new = NewEmployee {
        email: email.into(),
        name: name.into(),
        role: role.into(),
        manager_id: manager,
        password_hash: Some(hash_password(password).map_err(setup)?),
        ..NewEmployee::default()
    };
    Ok(store
        .create_employee(new, crate::clock::Clock::System.now())
        .await?
        .id)
}

/// The demo channel's automations; the manager supervises the channel, so
/// the unassigned demo chat's notification reaches her.
fn demo_settings(manager: Id) -> Value {
    json!({
        "supervisors": [manager.to_string()],
        "greeting": {"enabled": true},
        "no_reply": {"enabled": true, "after_seconds": 20},
        "closing": {"enabled": true},
        "notify_manager_first": {"enabled": true, "after_seconds": 60, "manager_ids": [manager.to_string()]},
        "notify_manager_next": {"enabled": true, "after_seconds": 60},
        "sign_outgoing": {"enabled": true}
    })
}

/// A group «Отдел продаж» with the employee, and a routing rule sending orders to it.
async fn demo_routing(
    store: &dyn Store,
    employee: Id,
    now: jiff::Timestamp,
) -> Result<(), ServerError> {
    store.set_online(employee, true).await?;
    let group = store.create_group("Отдел продаж", &[employee], now).await?;
    store
        .replace_routing_rules(&[NewRoutingRule {
            keywords: vec!["заказ".into(), "доставка".into()],
            channel_id: None,
            employee_id: None,
            group_id: Some(group.id),
        }])
        .await?;
    Ok(())
}

/// `customer` writes `text` through a real, signed webhook; the status it got.
async fn signed_webhook(
    base: &str,
    channel: Id,
    customer: &DemoCustomer,
    text: &str,
    now: jiff::Timestamp,
) -> Result<replyline_whatsapp::reqwest::StatusCode, String> {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "demo", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": customer.name}, "wa_id": customer.address}],
        "messages": [{"from": customer.address, "id": format!("wamid.in.{}", random_hex(8)),
                      "timestamp": now.as_second().to_string(), "type": "text", "text": {"body": text}}]
    }}]}]})
    .to_string();
    let signature = replyline_whatsapp::sign(APP_SECRET.as_bytes(), body.as_bytes());
    let response = replyline_whatsapp::reqwest::Client::new()
        .post(format!("{base}/webhooks/whatsapp/{channel}"))
        .header(replyline_whatsapp::SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("the webhook request failed: {e}"))?;
    let status = response.status();
    println!(
        "👤 customer {} wrote {text:?} (webhook answered {status})",
        customer.name
    );
    Ok(status)
}

/// Prints notifications for `manager` as they are created.
async fn watch_notifications(store: Arc<dyn Store>, manager: Id) {
    let mut seen = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Ok(list) = store.notifications(manager, false).await else {
            continue;
        };
        for n in list.iter().rev().skip(seen) {
            println!(
                "🔔 notification for the manager: {} in conversation {} (waited {} s): {}",
                n.reason,
                n.conversation_id,
                n.waited_seconds,
                n.text.as_deref().unwrap_or("")
            );
        }
        seen = list.len();
    }
}

/// The demo's manager and employee (password `demo-password`).
async fn demo_team(store: &dyn Store) -> Result<(Id, Id), ServerError> {
    let manager = person(
        store,
        "olga@demo.local",
        "Ольга Смирнова",
        "manager",
        None,
        "demo-password",
    )
    .await?;
    let employee = person(
        store,
        "ivan@demo.local",
        "Иван Петров",
        "employee",
        Some(manager),
        "demo-password",
    )
    .await?;
    Ok((manager, employee))
}

/// The demo's WhatsApp channel, pointed at the fake Graph API `graph`.
async fn demo_channel(
    store: &dyn Store,
    graph: &str,
    manager: Id,
    now: jiff::Timestamp,
) -> Result<Id, ServerError> {
    let settings = replyline_engine::Settings::from_partial(&demo_settings(manager))
        .ok()
        .and_then(|s| serde_json::to_value(s).ok())
        .unwrap_or_default();
    let new = NewChannel {
        kind: "whatsapp".into(),
        name: "Demo WhatsApp".into(),
        config: json!({"phone_number_id": PHONE_NUMBER_ID, "access_token": "demo", "app_secret": APP_SECRET,
                       "verify_token": "demo", "api_base_url": graph}),
        settings,
    };
    Ok(store.create_channel(new, now).await?.id)
}

/// A bearer token for the demo's admin, for the printed `curl` lines.
async fn admin_token(store: &dyn Store, now: jiff::Timestamp) -> Result<String, ServerError> {
    let admin = store
        .employee_by_email("admin@demo.local")
        .await?
        .ok_or_else(|| setup("admin missing"))?;
    let token = new_token();
    store
        .create_token(admin.id, &token_hash(&token), now)
        .await?;
    Ok(token)
}

/// The `curl` lines to explore the API with.
fn print_curl(base: &str, token: &str) {
    let auth = format!("-H 'Authorization: Bearer {token}'");
    let json = "-H 'Content-Type: application/json'";
    println!("  curl -s {auth} {base}/api/v1/conversations");
    println!("  curl -s {auth} {base}/api/v1/conversations/1/messages");
    println!("  curl -s {auth} {base}/api/v1/conversations/1/events");
    println!(
        "  curl -s -X POST {auth} {json} -d '{{\"text\":\"Добрый день!\"}}' {base}/api/v1/conversations/1/messages"
    );
    println!("  curl -s -X POST {auth} {base}/api/v1/conversations/1/close");
    println!("  curl -s {base}/metrics");
    println!("The customer writes again (a real signed webhook; «Клиент пишет снова» in the UI):");
    println!(
        "  curl -s -X POST {auth} {json} -d '{{\"text\":\"Я снова здесь\"}}' {base}/api/v1/demo/customer-message"
    );
    println!("Stop with Ctrl-C: the demo database is removed.\n");
}

/// Runs the demo until Ctrl-C or SIGTERM, then removes its temporary database.
pub async fn run() -> Result<(), ServerError> {
    let dir = DemoDir::create()?;
    let graph = fake_whatsapp().await?;
    let db = dir.0.join("replyline.db");
    let admin_password = random_hex(8);
    let config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}", db.display()),
        company_name: "Ромашка".into(),
        admin_email: Some("admin@demo.local".into()),
        admin_password: Some(Secret::new(admin_password.clone())),
        ..Config::default()
    };
    let running: Running = crate::start(config).await?;
    let store = running.state.store.clone();
    let now = running.state.clock.now();
    let base = format!("http://{}", running.addr);
    let (manager, employee) = demo_team(store.as_ref()).await?;
    let channel = demo_channel(store.as_ref(), &graph, manager, now).await?;
    demo_routing(store.as_ref(), employee, now).await?;
    let token = admin_token(store.as_ref(), now).await?;
    let demo = DemoMode {
        base_url: base.clone(),
        channel,
        customers: vec![DemoCustomer {
            name: CUSTOMER_NAME.into(),
            address: CUSTOMER.into(),
        }],
    };
    let _ = running.state.demo.set(demo.clone());
    println!("\nReplyline demo — database {}", db.display());
    println!("  web workspace: {base}/  (log in as any of these)");
    println!("  admin:    admin@demo.local / {admin_password}   (token {token})");
    println!("  manager:  olga@demo.local / demo-password");
    println!("  employee: ivan@demo.local / demo-password");
    println!(
        "  channel {channel}: greeting, no-reply after 20 s, manager notification after 60 s, signatures, closing"
    );
    println!("  routing rule 1: «заказ», «доставка» → group «Отдел продаж» (Иван Петров)\n");
    tokio::spawn(watch_notifications(store.clone(), manager));
    demo.customer_writes("Здравствуйте! Где мой заказ?", now)
        .await
        .map_err(setup)?;
    println!(
        "\nWatch the greeting now, the no-reply message in 20 s and the manager notification in 60 s. Try:"
    );
    print_curl(&base, &token);
    tokio::select! {
        result = running.wait() => result,
        () = stop_signal() => {
            println!("stopping the demo");
            Ok(())
        }
    }
}
