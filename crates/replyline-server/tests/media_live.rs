//! A client's file, downloaded by the media worker, reaches the workspace live:
//! `message.status` carries the message's attachment once it is stored.

mod support;

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use futures_util::StreamExt;
use replyline_whatsapp::reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use support::Srv;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

const BYTES: &[u8] = b"\x89PNG live";

/// A Graph API with one media id, `m1`, whose bytes need the bearer token.
async fn fake_graph() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let url = format!("{base}/file/m1");
    let authorized = |h: &HeaderMap| {
        h.get("authorization")
            .is_some_and(|v| v == "Bearer live-token")
    };
    let app = axum::Router::new()
        .route(
            "/v21.0/{id}",
            get(move |Path(id): Path<String>, h: HeaderMap| async move {
                if id != "m1" || !authorized(&h) {
                    return (
                        StatusCode::BAD_REQUEST,
                        axum::Json(json!({"error": {"code": 100}})),
                    );
                }
                (
                    StatusCode::OK,
                    axum::Json(
                        json!({"url": url, "mime_type": "image/png", "file_size": BYTES.len()}),
                    ),
                )
            }),
        )
        .route(
            "/file/m1",
            get(move |h: HeaderMap| async move {
                if authorized(&h) {
                    (StatusCode::OK, BYTES.to_vec())
                } else {
                    (StatusCode::UNAUTHORIZED, Vec::new())
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test]
async fn a_stored_download_is_published_with_its_attachment() {
    let srv = Srv::start().await;
    let graph = fake_graph().await;
    let channel = srv
        .ok(
            Method::POST,
            "/api/v1/channels",
            &srv.admin,
            Some(json!({"kind": "whatsapp", "name": "live-media",
                "whatsapp": {"phone_number_id": "live-media", "access_token": "live-token",
                    "app_secret": support::APP_SECRET, "verify_token": "v", "api_base_url": graph}})),
        )
        .await;
    let channel = support::id(&channel);
    let url = format!(
        "{}/api/v1/events/ws?token={}",
        srv.base.replacen("http://", "ws://", 1),
        srv.admin
    );
    let (mut socket, _) = connect_async(url).await.expect("websocket");

    let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "x", "changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": "live-media"}, "contacts": [{"profile": {"name": "Client"}, "wa_id": "79001234567"}],
        "messages": [{"from": "79001234567", "id": "wamid.live.1", "timestamp": "1764054000", "type": "image",
            "image": {"id": "m1", "mime_type": "image/png", "caption": "смотрите"}}]}}]}]});
    srv.post_webhook(&channel, payload.to_string()).await;

    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let stored = loop {
        let next = tokio::time::timeout_at(deadline, socket.next()).await;
        let Ok(Some(Ok(message))) = next else {
            panic!("no message.status with a stored attachment; got {seen:?}");
        };
        let Message::Text(text) = message else {
            continue;
        };
        let event: Value = serde_json::from_str(text.as_str()).unwrap();
        if event["type"] == "message.status" && event["data"]["attachments"][0]["state"] == "stored"
        {
            break event;
        }
        seen.push(event);
    };
    assert!(
        seen.iter().any(|e| e["type"] == "message.created"),
        "message.created before the download finished: {seen:?}"
    );
    let a = &stored["data"]["attachments"][0];
    assert_eq!(a["size"], BYTES.len(), "{stored}");
    assert_eq!(a["mime_type"], "image/png");
    let served = srv
        .http
        .get(srv.url(a["url"].as_str().unwrap()))
        .bearer_auth(&srv.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.unwrap().as_ref(), BYTES);
}
