//! `replyline demo`: a server, a fake WhatsApp Graph API and a customer, all in one process.

use crate::auth::{hash_password, new_token, random_hex, token_hash};
use crate::config::{Config, Secret};
use crate::{Running, ServerError};
use axum::Router;
use axum::extract::Path;
use axum::routing::post;
use replyline_store::{Id, NewChannel, NewEmployee, NewRoutingRule, Store};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const APP_SECRET: &str = "demo-app-secret";
const PHONE_NUMBER_ID: &str = "100000000000001";
const CUSTOMER: &str = "79001234567";

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

/// A customer writes in through a real, signed webhook.
async fn customer_writes(base: &str, channel: Id, text: &str) -> Result<(), ServerError> {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "demo", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Анна"}, "wa_id": CUSTOMER}],
        "messages": [{"from": CUSTOMER, "id": format!("wamid.in.{}", random_hex(8)), "timestamp": "1764054000", "type": "text", "text": {"body": text}}]
    }}]}]})
    .to_string();
    let signature = replyline_whatsapp::sign(APP_SECRET.as_bytes(), body.as_bytes());
    let response = replyline_whatsapp::reqwest::Client::new()
        .post(format!("{base}/webhooks/whatsapp/{channel}"))
        .header(replyline_whatsapp::SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .map_err(setup)?;
    println!(
        "👤 customer Анна wrote {text:?} (webhook answered {})",
        response.status()
    );
    Ok(())
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

/// Runs the demo until the process is stopped.
pub async fn run() -> Result<(), ServerError> {
    let graph = fake_whatsapp().await?;
    let db = std::env::temp_dir().join(format!("replyline-demo-{}.db", random_hex(4)));
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
    let base = format!("http://{}", running.addr);
    let manager = person(
        store.as_ref(),
        "olga@demo.local",
        "Ольга Смирнова",
        "manager",
        None,
        "demo-password",
    )
    .await?;
    let employee = person(
        store.as_ref(),
        "ivan@demo.local",
        "Иван Петров",
        "employee",
        Some(manager),
        "demo-password",
    )
    .await?;
    let channel = store
        .create_channel(
            NewChannel {
                kind: "whatsapp".into(),
                name: "Demo WhatsApp".into(),
                config: json!({"phone_number_id": PHONE_NUMBER_ID, "access_token": "demo", "app_secret": APP_SECRET,
                               "verify_token": "demo", "api_base_url": graph}),
                settings: replyline_engine::Settings::from_partial(&demo_settings(manager))
                    .ok()
                    .and_then(|s| serde_json::to_value(s).ok())
                    .unwrap_or_default(),
            },
            running.state.clock.now(),
        )
        .await?
        .id;
    demo_routing(store.as_ref(), employee, running.state.clock.now()).await?;
    let admin = store
        .employee_by_email("admin@demo.local")
        .await?
        .ok_or_else(|| setup("admin missing"))?;
    let token = new_token();
    store
        .create_token(admin.id, &token_hash(&token), running.state.clock.now())
        .await?;
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
    customer_writes(&base, channel, "Здравствуйте! Где мой заказ?").await?;
    println!(
        "\nWatch the greeting now, the no-reply message in 20 s and the manager notification in 60 s. Try:"
    );
    println!("  curl -s -H 'Authorization: Bearer {token}' {base}/api/v1/conversations");
    println!("  curl -s -H 'Authorization: Bearer {token}' {base}/api/v1/conversations/1/messages");
    println!("  curl -s -H 'Authorization: Bearer {token}' {base}/api/v1/conversations/1/events");
    println!(
        "  curl -s -X POST -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' -d '{{\"text\":\"Добрый день!\"}}' {base}/api/v1/conversations/1/messages"
    );
    println!(
        "  curl -s -X POST -H 'Authorization: Bearer {token}' {base}/api/v1/conversations/1/close"
    );
    println!("  curl -s {base}/metrics\n");
    running.wait().await
}
