//! Live events: a broadcast hub fed by the driver and the outbox worker after each commit, and
//! the `GET /api/v1/events/ws` WebSocket that forwards to each caller what it may see.
//!
//! Events are hints, not a log: a client that lags behind gets `{"type":"resync"}` and
//! refetches what it shows; the web UI also polls every 10 s as a fallback.
//!
//! An open socket re-checks its caller every [`RECHECK_EVERY`] and before each event it
//! forwards: when the token is revoked or expired, or the employee deactivated, it closes
//! (code 1008); a changed role takes effect on the next event. A cookie-authenticated
//! upgrade must come from the service's own origin (403 otherwise): browsers attach the
//! cookie to cross-site WebSocket requests too.

use crate::auth::Caller;
use crate::authz::{self, Access};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use replyline_store::Id;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::broadcast;

/// Events buffered per receiver before it lags (and gets a resync).
const CAPACITY: usize = 1024;
/// How often the server pings an idle socket.
const PING_EVERY: Duration = Duration::from_secs(25);
/// A socket that has not answered (any frame) for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// How often an open socket re-checks that its token and employee are still valid.
const RECHECK_EVERY: Duration = Duration::from_secs(2);

/// One live event: `{"type": kind, "data": data}` on the wire.
#[derive(Clone, Debug)]
pub struct LiveEvent {
    /// `message.created`, `message.status`, `conversation.updated`, `notification.created`,
    /// `channel.updated` (a channel's sending health changed).
    pub kind: &'static str,
    /// The conversation it concerns, for the visibility check.
    pub conversation_id: Option<Id>,
    /// Its channel, when known at publish time.
    pub channel_id: Option<Id>,
    /// The conversation's assignee when known at publish time (saves a lookup).
    pub assignee_id: Option<Option<Id>>,
    /// For notifications: the manager it is addressed to (only they and admins see it).
    pub manager_id: Option<Id>,
    /// The event's payload (always carries `conversation_id` when there is one).
    pub data: Value,
}

impl LiveEvent {
    /// The JSON text sent on the socket.
    pub fn to_wire(&self) -> String {
        json!({"type": self.kind, "data": self.data}).to_string()
    }
}

/// The broadcast hub; cheap to clone.
#[derive(Clone, Debug)]
pub struct LiveHub {
    tx: broadcast::Sender<LiveEvent>,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveHub {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        Self { tx }
    }

    /// Publishes an event; nobody listening is fine.
    pub fn publish(&self, event: LiveEvent) {
        let _ = self.tx.send(event);
    }

    /// Whether any socket is connected (publishers may skip lookups when not).
    pub fn has_subscribers(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.tx.subscribe()
    }
}

/// The header carrying the service clock's now on every API response, so the web UI's waiting
/// timers agree with the server (which may run a manual clock far from the browser's).
pub const NOW_HEADER: &str = "x-replyline-now";

/// Adds [`NOW_HEADER`] to an API response.
pub async fn server_now_header(State(state): State<AppState>, mut response: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(&state.clock.now().to_string()) {
        response.headers_mut().insert(NOW_HEADER, value);
    }
    response
}

/// `?token=` on the WebSocket URL (browsers cannot set headers on a WebSocket).
#[derive(Debug, Deserialize)]
pub struct WsQuery {
    pub token: Option<String>,
}

/// Authenticates exactly like every other API call, through the [`Caller`] extractor (Bearer
/// header or session cookie); `?token=` is treated as a Bearer header when none is present.
/// 401 before any upgrade.
async fn authenticate(
    parts: &mut Parts,
    state: &AppState,
    token: Option<&str>,
) -> Result<Caller, ApiError> {
    if let Some(token) = token.map(str::trim).filter(|t| !t.is_empty())
        && !parts.headers.contains_key(header::AUTHORIZATION)
    {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ApiError::Unauthorized)?;
        parts.headers.insert(header::AUTHORIZATION, value);
    }
    Caller::from_request_parts(parts, state).await
}

/// `GET /api/v1/events/ws`: live events for the caller.
#[utoipa::path(get, path = "/api/v1/events/ws", tag = "live",
    params(("token" = Option<String>, Query, description = "bearer token (browsers cannot set headers on a WebSocket); a Bearer header or the session cookie work too")),
    responses(
        (status = 101, description = "WebSocket; text messages `{\"type\": \"message.created\" | \"message.status\" | \"conversation.updated\" | \"notification.created\" | \"resync\", \"data\": {...}}`"),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, description = "a session cookie from another origin", body = crate::error::ErrorBody)))]
pub async fn events_ws(
    State(state): State<AppState>,
    Query(q): Query<WsQuery>,
    request: axum::extract::Request,
) -> Response {
    let (mut parts, _body) = request.into_parts();
    let caller = match authenticate(&mut parts, &state, q.token.as_deref()).await {
        Ok(caller) => caller,
        Err(err) => return err.into_response(),
    };
    if caller.1.via_cookie && !same_origin(&parts.headers, &state.public_url) {
        return ApiError::Forbidden(
            "a WebSocket with the session cookie must come from this site's origin".into(),
        )
        .into_response();
    }
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let rx = state.live.subscribe();
    upgrade
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| forward(socket, state, caller, rx))
}

/// `scheme://host[:port]` of a URL, lower case.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}").to_ascii_lowercase())
}

/// Whether the request's `Origin` is the service's: that of `public_url`, or
/// `http(s)://` + the request's `Host`. A missing `Origin` is not.
fn same_origin(headers: &axum::http::HeaderMap, public_url: &str) -> bool {
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .and_then(origin_of)
    else {
        return false;
    };
    if origin_of(public_url).is_some_and(|own| own == origin) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    host.is_some_and(|host| {
        origin == format!("http://{host}") || origin == format!("https://{host}")
    })
}

/// The caller as the store knows them now: `None` when their token was revoked
/// or expired or they were deactivated (or the check failed: the socket closes
/// and the client reconnects, authenticating again).
async fn current(state: &AppState, caller: &Caller) -> Option<Caller> {
    match state
        .store
        .authenticate_token_id(caller.token_id(), state.clock.now())
        .await
    {
        Ok(found) => found.map(|(employee, _)| Caller(employee, caller.1.clone())),
        Err(err) => {
            tracing::warn!(%err, "live: re-checking the caller failed; closing");
            None
        }
    }
}

/// Closes the socket because its session ended.
async fn close_ended(mut socket: WebSocket) {
    let frame = CloseFrame {
        code: close_code::POLICY,
        reason: "session ended".into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// How long a socket reuses its snapshot of the team for visibility checks.
const ACCESS_TTL: Duration = Duration::from_secs(5);

/// The team snapshot a socket checks visibility against, reloaded every [`ACCESS_TTL`],
/// and the conversations the caller observes (reloaded as often, and at once when a
/// mention makes them observe another).
#[derive(Default)]
struct AccessCache {
    loaded: Option<(tokio::time::Instant, Access)>,
    observed: Option<(tokio::time::Instant, HashSet<Id>)>,
}

impl AccessCache {
    /// Whether `employee` observes `conversation_id` (false when the lookup fails).
    async fn observes(&mut self, state: &AppState, employee: Id, conversation_id: Id) -> bool {
        let fresh = self
            .observed
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < ACCESS_TTL);
        if !fresh {
            match state.store.observed_conversations(employee).await {
                Ok(ids) => {
                    self.observed = Some((tokio::time::Instant::now(), ids.into_iter().collect()));
                }
                Err(err) => {
                    tracing::warn!(%err, "live: loading observed conversations failed");
                    self.observed = None;
                }
            }
        }
        self.observed
            .as_ref()
            .is_some_and(|(_, ids)| ids.contains(&conversation_id))
    }

    async fn get(&mut self, state: &AppState) -> Option<&Access> {
        let fresh = self
            .loaded
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < ACCESS_TTL);
        if !fresh {
            match Access::load(state.store.as_ref()).await {
                Ok(access) => self.loaded = Some((tokio::time::Instant::now(), access)),
                Err(err) => {
                    tracing::warn!(%err, "live: loading the team for visibility failed");
                    self.loaded = None;
                }
            }
        }
        self.loaded.as_ref().map(|(_, access)| access)
    }
}

/// Whether `caller` receives `event`: notifications only their addressee (and admins);
/// conversation and message events whoever may view the conversation ([`authz::can_view`]
/// or observing it, the same rules as the REST API).
async fn visible(
    state: &AppState,
    caller: &Caller,
    cache: &mut AccessCache,
    event: &LiveEvent,
) -> bool {
    if caller.is_admin() {
        return true;
    }
    if event.kind == "notification.created" {
        let mine = event.manager_id == Some(caller.id());
        if mine && event.data["reason"] == "mention" {
            // The caller observes a chat now: its events follow at once.
            cache.observed = None;
        }
        return mine;
    }
    if event.kind == "channel.updated" {
        // Whoever works in or supervises the channel sees its health.
        return match (event.channel_id, cache.get(state).await) {
            (Some(channel), Some(access)) => authz::can_view_channel(&caller.0, channel, access),
            _ => false,
        };
    }
    let Some(conversation_id) = event.conversation_id else {
        return false;
    };
    let (channel_id, assignee_id) = match (event.channel_id, event.assignee_id) {
        (Some(channel), Some(assignee)) => (channel, assignee),
        _ => match state.store.conversation(conversation_id).await {
            Ok(Some(record)) => (record.channel_id, record.assignee_id),
            _ => return false,
        },
    };
    let by_rule = match cache.get(state).await {
        Some(access) => authz::can_view(&caller.0, channel_id, assignee_id, access),
        None => false,
    };
    by_rule || cache.observes(state, caller.id(), conversation_id).await
}

/// Whether `event` goes to the caller, with the caller re-checked first: an event
/// the caller would see is sent only if their session is still valid, and with
/// visibility recomputed when their role changed meanwhile. `Err` when the
/// session ended.
async fn deliverable(
    state: &AppState,
    caller: &mut Caller,
    cache: &mut AccessCache,
    event: &LiveEvent,
) -> Result<bool, ()> {
    if !visible(state, caller, cache, event).await {
        return Ok(false);
    }
    let fresh = current(state, caller).await.ok_or(())?;
    let role_changed = fresh.0.role != caller.0.role;
    *caller = fresh;
    if role_changed {
        return Ok(visible(state, caller, cache, event).await);
    }
    Ok(true)
}

async fn forward(
    mut socket: WebSocket,
    state: AppState,
    mut caller: Caller,
    mut rx: broadcast::Receiver<LiveEvent>,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut recheck = tokio::time::interval(RECHECK_EVERY);
    recheck.tick().await;
    let mut last_seen = tokio::time::Instant::now();
    let mut cache = AccessCache::default();
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                Ok(event) => match deliverable(&state, &mut caller, &mut cache, &event).await {
                    Err(()) => return close_ended(socket).await,
                    Ok(true) => {
                        if socket.send(Message::text(event.to_wire())).await.is_err() {
                            return;
                        }
                    }
                    Ok(false) => {}
                },
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::debug!(skipped, employee = caller.id(), "live socket lagged; resync");
                    let resync = json!({"type": "resync", "data": {"skipped": skipped}}).to_string();
                    if socket.send(Message::text(resync)).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(Message::Ping(payload))) => {
                    last_seen = tokio::time::Instant::now();
                    if socket.send(Message::Pong(payload)).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Text(text))) => {
                    last_seen = tokio::time::Instant::now();
                    // Application-level ping for clients that cannot send ping frames.
                    if text.as_str().contains("\"ping\"")
                        && socket.send(Message::text(json!({"type": "pong"}).to_string())).await.is_err()
                    {
                        return;
                    }
                }
                Some(Ok(_)) => last_seen = tokio::time::Instant::now(),
            },
            _ = recheck.tick() => match current(&state, &caller).await {
                Some(fresh) => caller = fresh,
                None => return close_ended(socket).await,
            },
            _ = ping.tick() => {
                if last_seen.elapsed() > IDLE_TIMEOUT {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_and_lag() {
        let hub = LiveHub::new();
        assert!(!hub.has_subscribers());
        let mut rx = hub.subscribe();
        let event = LiveEvent {
            kind: "message.created",
            conversation_id: Some(3),
            channel_id: None,
            assignee_id: None,
            manager_id: None,
            data: json!({"id": "7", "conversation_id": "3"}),
        };
        assert_eq!(
            serde_json::from_str::<Value>(&event.to_wire()).unwrap(),
            json!({"type": "message.created", "data": {"id": "7", "conversation_id": "3"}})
        );
        for _ in 0..CAPACITY + 5 {
            hub.publish(event.clone());
        }
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(5))
        ));
    }

    #[test]
    fn origins() {
        let headers = |origin: Option<&str>, host: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert(header::HOST, host.parse().unwrap());
            if let Some(o) = origin {
                h.insert(header::ORIGIN, o.parse().unwrap());
            }
            h
        };
        let public = "https://inbox.example.com/";
        assert!(same_origin(
            &headers(Some("https://inbox.example.com"), "10.0.0.5:8080"),
            public
        ));
        assert!(same_origin(
            &headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"),
            public
        ));
        assert!(!same_origin(
            &headers(Some("https://evil.example"), "127.0.0.1:8080"),
            public
        ));
        assert!(!same_origin(
            &headers(Some("http://127.0.0.1:9999"), "127.0.0.1:8080"),
            public
        ));
        assert!(!same_origin(
            &headers(Some("null"), "127.0.0.1:8080"),
            public
        ));
        assert!(!same_origin(&headers(None, "127.0.0.1:8080"), public));
        assert_eq!(
            origin_of("HTTP://Example.com:80/x?y").as_deref(),
            Some("http://example.com:80")
        );
    }
}
