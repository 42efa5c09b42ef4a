//! A channel whose sends keep failing tells the workspace live: `channel.updated`
//! with `failing_since` reaches the channel's members, never other employees.

mod support;

use futures_util::StreamExt;
use replyline_whatsapp::reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use support::Srv;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(srv: &Srv, token: &str) -> Socket {
    let url = format!(
        "{}/api/v1/events/ws?token={token}",
        srv.base.replacen("http://", "ws://", 1)
    );
    connect_async(url).await.expect("websocket").0
}

/// The first event of `kind` (others are collected in `seen`).
async fn first_of(socket: &mut Socket, kinds: &[&str], seen: &mut Vec<Value>) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next()).await;
        let Ok(Some(Ok(message))) = next else {
            panic!("no {kinds:?} event; got {seen:?}");
        };
        let Message::Text(text) = message else {
            continue;
        };
        let event: Value = serde_json::from_str(text.as_str()).unwrap();
        if kinds.iter().any(|k| event["type"] == *k) {
            return event;
        }
        seen.push(event);
    }
}

#[tokio::test]
async fn an_outage_reaches_the_channels_members_and_nobody_else() {
    let srv = Srv::start().await;
    let member = srv.person("member", "employee", None).await;
    let outsider = srv.person("outsider", "employee", None).await;
    // The channel's Graph API is unreachable: every send fails (connect refused).
    let failing = srv.channel("failing", "manual", &[&member]).await;
    let other = srv.channel("other", "manual", &[&outsider]).await;
    let mut member_socket = socket(&srv, &member.token).await;
    let mut outsider_socket = socket(&srv, &outsider.token).await;

    for i in 0..3 {
        let conv = srv
            .client_says(
                &failing,
                "failing",
                &format!("7900111000{i}"),
                "Здравствуйте",
            )
            .await;
        srv.ok(
            Method::POST,
            &format!("/api/v1/conversations/{}/messages", support::id(&conv)),
            &srv.admin,
            Some(json!({"text": "Добрый день!"})),
        )
        .await;
    }
    let mut seen = Vec::new();
    let event = first_of(&mut member_socket, &["channel.updated"], &mut seen).await;
    let data = &event["data"];
    assert_eq!(data["id"], failing.as_str(), "{event}");
    assert!(data["failing_since"].is_string(), "{event}");
    assert!(
        data["failing_error"]
            .as_str()
            .is_some_and(|e| e.contains("connect")),
        "{event}"
    );

    // Published after the outage: the outsider's first event of either kind
    // must be the other channel's message, not the failing channel's health.
    srv.client_says(&other, "other", "79002220000", "Привет")
        .await;
    let mut seen = Vec::new();
    let first = first_of(
        &mut outsider_socket,
        &["channel.updated", "message.created"],
        &mut seen,
    )
    .await;
    assert_eq!(first["type"], "message.created", "{first}");
}
