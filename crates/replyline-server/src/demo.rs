//! `replyline demo`: a server, a fake WhatsApp Graph API and a customer, all in
//! one process, on a temporary database removed again on Ctrl-C or SIGTERM.
//! The customer can be made to write again (`POST /api/v1/demo/customer-message`).
//! The fake Graph API also serves media (info, bytes, uploads) and two approved
//! templates, so files, templates and writing first work in the demo; the
//! customer sends a photo (a PNG made here) and a location after the first text.

use crate::auth::{hash_password, new_token, random_hex, token_hash};
use crate::config::{Config, Secret};
use crate::{Running, ServerError};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use replyline_store::{ChannelPatch, Id, NewChannel, NewEmployee, NewRoutingRule, Store};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use utoipa::ToSchema;

const APP_SECRET: &str = "demo-app-secret";
const PHONE_NUMBER_ID: &str = "100000000000001";
const CUSTOMER: &str = "79001234567";
const CUSTOMER_NAME: &str = "Анна";
const WABA_ID: &str = "200000000000002";
/// The media id of the customer's photo on the fake Graph API.
const PHOTO_ID: &str = "demo-photo-1";
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
        self.customer_sends(json!({"type": "text", "text": {"body": text}}), now)
            .await
    }

    /// The first customer sends one WhatsApp message `content` (`{"type", TYPE: {..}}`)
    /// through a real, signed webhook.
    pub async fn customer_sends(
        &self,
        content: Value,
        now: jiff::Timestamp,
    ) -> Result<DemoCustomer, String> {
        let customer = self.customers.first().ok_or("the demo has no customer")?;
        let status = signed_webhook(&self.base_url, self.channel, customer, content, now).await?;
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

/// What the fake Graph API prints for a sent message: the text, the template or the file.
fn delivered(body: &Value) -> String {
    if let Some(text) = body["text"]["body"].as_str() {
        return format!("{text:?}");
    }
    if body["template"].is_object() {
        let params: Vec<&str> = body["template"]["components"][0]["parameters"]
            .as_array()
            .map(|p| p.iter().filter_map(|x| x["text"].as_str()).collect())
            .unwrap_or_default();
        return format!("[template {} {params:?}]", body["template"]["name"]);
    }
    let kind = body["type"].as_str().unwrap_or("?");
    format!(
        "[{kind} {} {:?}]",
        body[kind]["id"],
        body[kind]["caption"].as_str().unwrap_or("")
    )
}

/// Starts a fake Graph API that prints what it "delivers", serves the customer's
/// photo, takes uploads and lists two approved templates; returns its base URL.
async fn fake_whatsapp() -> Result<String, ServerError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(setup)?;
    let addr = listener.local_addr().map_err(setup)?;
    let base = format!("http://{addr}");
    let counter = Arc::new(AtomicU64::new(0));
    let uploads = Arc::new(AtomicU64::new(0));
    let info_base = base.clone();
    let app = Router::new()
        .route(
            "/{version}/{phone}/messages",
            post(move |Path((_v, _p)): Path<(String, String)>, body: axum::Json<Value>| {
                let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
                async move {
                    let to = body["to"].as_str().unwrap_or("?");
                    println!("📱 fake WhatsApp delivered to {to}: {}", delivered(&body));
                    axum::Json(json!({"messaging_product": "whatsapp", "messages": [{"id": format!("wamid.demo{n}")}]}))
                }
            }),
        )
        .route(
            "/{version}/{phone}/media",
            post(move |body: axum::body::Bytes| {
                let n = uploads.fetch_add(1, Ordering::Relaxed) + 1;
                async move {
                    println!("📎 fake WhatsApp took an upload of {} bytes", body.len());
                    axum::Json(json!({"id": format!("demo-upload-{n}")}))
                }
            }),
        )
        .route(
            "/{version}/{media_id}",
            get(move |Path((_v, id)): Path<(String, String)>| {
                let base = info_base.clone();
                async move { media_info(&base, &id) }
            }),
        )
        .route("/demo-media/{media_id}", get(media_bytes))
        .route("/{version}/{waba}/message_templates", get(templates))
        .layer(DefaultBodyLimit::max(128 * 1024 * 1024));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}

/// `GET /{version}/{MEDIA_ID}`: the photo's URL, type, size and SHA-256.
fn media_info(base: &str, id: &str) -> axum::response::Response {
    if id != PHOTO_ID {
        return graph_not_found();
    }
    let png = demo_png();
    let sha = Sha256::digest(&png)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    axum::Json(
        json!({"messaging_product": "whatsapp", "url": format!("{base}/demo-media/{id}"),
                      "mime_type": "image/png", "sha256": sha, "file_size": png.len(), "id": id}),
    )
    .into_response()
}

/// The bytes behind a media URL.
async fn media_bytes(Path(id): Path<String>) -> axum::response::Response {
    if id != PHOTO_ID {
        return graph_not_found();
    }
    ([(header::CONTENT_TYPE, "image/png")], demo_png()).into_response()
}

fn graph_not_found() -> axum::response::Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": {"message": "Unsupported get request", "type": "GraphMethodException", "code": 100}})),
    )
        .into_response()
}

/// `GET /{version}/{WABA_ID}/message_templates`: two approved templates and one in review.
async fn templates() -> axum::Json<Value> {
    let body = |text: &str| json!([{"type": "BODY", "text": text}]);
    axum::Json(json!({"data": [
        {"name": "order_update", "language": "ru", "status": "APPROVED", "category": "UTILITY", "id": "t1",
         "components": body("Здравствуйте, {{1}}! Ваш заказ {{2}} передан в доставку.")},
        {"name": "follow_up", "language": "ru", "status": "APPROVED", "category": "UTILITY", "id": "t2",
         "components": body("{{1}}, мы ответили на ваш вопрос в чате поддержки. Напишите нам, если нужна помощь.")},
        {"name": "spring_sale", "language": "ru", "status": "PENDING", "category": "MARKETING", "id": "t3",
         "components": body("Весенняя распродажа: скидка {{1}} до конца недели!")}
    ], "paging": {"cursors": {"before": "a", "after": "b"}}}))
}

/// A small PNG (a parcel on a blue-to-green gradient) made here, so the demo needs no files.
pub fn demo_png() -> Vec<u8> {
    const W: u32 = 160;
    const H: u32 = 120;
    let mut raw = Vec::with_capacity(((W * 3 + 1) * H) as usize);
    for y in 0..H {
        raw.push(0); // filter: none
        for x in 0..W {
            let parcel = (50..110).contains(&x) && (35..95).contains(&y);
            let tape = parcel && ((76..84).contains(&x) || (61..69).contains(&y));
            let rgb = if tape {
                [222, 184, 96]
            } else if parcel {
                [176, 124, 70]
            } else {
                [40, (90 + y) as u8, (200 - x / 2) as u8]
            };
            raw.extend_from_slice(&rgb);
        }
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&W.to_be_bytes());
    ihdr.extend_from_slice(&H.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    png_chunk(&mut png, b"IEND", &[]);
    png
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of uncompressed ("stored") deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
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
    content: Value,
    now: jiff::Timestamp,
) -> Result<replyline_whatsapp::reqwest::StatusCode, String> {
    let what = content["text"]["body"]
        .as_str()
        .map(|t| format!("{t:?}"))
        .unwrap_or_else(|| format!("a {}", content["type"].as_str().unwrap_or("message")));
    let mut message = json!({"from": customer.address, "id": format!("wamid.in.{}", random_hex(8)),
                             "timestamp": now.as_second().to_string()});
    if let (Some(m), Some(c)) = (message.as_object_mut(), content.as_object()) {
        m.extend(c.clone());
    }
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "demo", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": customer.name}, "wa_id": customer.address}],
        "messages": [message]
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
        "👤 customer {} sent {what} (webhook answered {status})",
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
                       "verify_token": "demo", "api_base_url": graph, "waba_id": WABA_ID}),
        settings,
    };
    let id = store.create_channel(new, now).await?.id;
    let write_first = ChannelPatch {
        allow_write_first: Some(true),
        ..ChannelPatch::default()
    };
    store.update_channel(id, write_first).await?;
    Ok(id)
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
    println!("  routing rule 1: «заказ», «доставка» → group «Отдел продаж» (Иван Петров)");
    println!(
        "  WhatsApp templates: order_update, follow_up (approved); writing first is allowed\n"
    );
    tokio::spawn(watch_notifications(store.clone(), manager));
    demo.customer_writes("Здравствуйте! Где мой заказ?", now)
        .await
        .map_err(setup)?;
    demo.customer_sends(
        json!({"type": "image", "image": {"id": PHOTO_ID, "mime_type": "image/png",
               "caption": "Вот фото посылки: коробка помята"}}),
        now,
    )
    .await
    .map_err(setup)?;
    demo.customer_sends(
        json!({"type": "location", "location": {"latitude": 55.753_93, "longitude": 37.620_795,
               "name": "Пункт выдачи «Ромашка»", "address": "Москва, Красная площадь, 1"}}),
        now,
    )
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
