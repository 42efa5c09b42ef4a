//! WhatsApp webhooks in: handshake, signature check, and the group-commit inbox batcher.

use crate::channel::WhatsappConfig;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use replyline_store::{Channel, Id, InboxAppend, Store};
use replyline_whatsapp::{SIGNATURE_HEADER, SignatureError};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Webhook bodies up to this size are accepted (Meta sends up to 3 MB).
pub const MAX_WEBHOOK_BYTES: usize = 3 * 1024 * 1024;
/// How long the batcher waits for more appends before committing.
const BATCH_WINDOW: Duration = Duration::from_millis(3);
/// The most appends in one transaction.
const BATCH_MAX: usize = 128;

type Waiter = (InboxAppend, oneshot::Sender<Result<(), String>>);

/// Appends webhook bodies to the inbox through a group-commit batcher.
#[derive(Clone, Debug)]
pub struct InboxBatcher {
    tx: mpsc::Sender<Waiter>,
    /// WhatsApp channels by id, as webhooks need them (secret, phone number):
    /// read once, forgotten when the channel is changed or deleted.
    channels: Arc<std::sync::RwLock<HashMap<Id, Channel>>>,
}

impl InboxBatcher {
    /// Starts the batcher task; `on_commit` runs after every committed batch.
    pub fn start(store: Arc<dyn Store>, on_commit: impl Fn() + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(run_batcher(store, rx, on_commit));
        Self {
            tx,
            channels: Arc::default(),
        }
    }

    /// Forgets a channel's cached configuration (after a change or deletion).
    pub fn channel_changed(&self, id: Id) {
        self.channels
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
    }

    /// A channel for its webhooks, from the cache or the store.
    async fn channel(&self, store: &dyn Store, id: Id) -> ApiResult<Option<Channel>> {
        let cached = self
            .channels
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&id)
            .cloned();
        if let Some(channel) = cached {
            return Ok(Some(channel));
        }
        let channel = store.channel(id).await?;
        if let Some(channel) = &channel {
            self.channels
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(id, channel.clone());
        }
        Ok(channel)
    }

    /// Durably stores a body; returns once it is committed.
    pub async fn append(&self, item: InboxAppend) -> Result<(), ApiError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((item, reply))
            .await
            .map_err(|_| ApiError::Internal("inbox batcher stopped".into()))?;
        rx.await
            .map_err(|_| ApiError::Internal("inbox batcher stopped".into()))?
            .map_err(ApiError::Internal)
    }
}

async fn run_batcher(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Waiter>, on_commit: impl Fn()) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
        while batch.len() < BATCH_MAX {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(waiter)) => batch.push(waiter),
                _ => break,
            }
        }
        let (items, waiters): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let result = store.append_inbox(&items).await.map_err(|e| e.to_string());
        for waiter in waiters {
            let _ = waiter.send(result.clone());
        }
        if result.is_ok() {
            on_commit();
        }
    }
}

async fn whatsapp_channel(state: &AppState, id: &str) -> ApiResult<Channel> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("channel"))?;
    let channel = state
        .inbox
        .channel(state.store.as_ref(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("channel"))?;
    if channel.kind != "whatsapp" {
        return Err(ApiError::not_found("channel"));
    }
    Ok(channel)
}

/// `GET /webhooks/whatsapp/{channel_id}`: the verification handshake.
#[utoipa::path(get, path = "/webhooks/whatsapp/{channel_id}", tag = "webhooks",
    params(("channel_id" = String, Path), ("hub.mode" = Option<String>, Query), ("hub.verify_token" = Option<String>, Query), ("hub.challenge" = Option<String>, Query)),
    responses((status = 200, description = "the raw challenge", body = String), (status = 403, description = "wrong token"), (status = 404, description = "unknown channel")))]
pub async fn whatsapp_handshake(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let channel = whatsapp_channel(&state, &channel_id).await?;
    let cfg = WhatsappConfig::of(&channel);
    let get = |k: &str| query.get(k).map(String::as_str);
    match replyline_whatsapp::verify_subscription(
        get("hub.mode"),
        get("hub.verify_token"),
        get("hub.challenge"),
        &cfg.verify_token,
    ) {
        Ok(challenge) => Ok((StatusCode::OK, challenge).into_response()),
        Err(err) => Err(ApiError::Forbidden(err.to_string())),
    }
}

/// `POST /webhooks/whatsapp/{channel_id}`: checks the signature, stores the raw body durably, answers 200.
#[utoipa::path(post, path = "/webhooks/whatsapp/{channel_id}", tag = "webhooks",
    params(("channel_id" = String, Path), ("X-Hub-Signature-256" = String, Header, description = "sha256=HMAC of the raw body with the app secret")),
    request_body(content = Object, description = "a WhatsApp Business webhook body"),
    responses((status = 200, description = "stored"), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)))]
pub async fn whatsapp_post(
    State(state): State<AppState>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<StatusCode> {
    let started = Instant::now();
    let channel = whatsapp_channel(&state, &channel_id).await?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::bad_request(None, rejection.body_text())
        }
    })?;
    let cfg = WhatsappConfig::of(&channel);
    let header = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    replyline_whatsapp::verify_signature(cfg.app_secret.as_bytes(), &body, header).map_err(
        |err| match err {
            SignatureError::Missing | SignatureError::Malformed => ApiError::Unauthorized,
            SignatureError::Mismatch => ApiError::Forbidden(err.to_string()),
        },
    )?;
    replyline_whatsapp::parse_webhook(&body)
        .map_err(|err| ApiError::bad_request(None, err.to_string()))?;
    let now = state.clock.now();
    state
        .inbox
        .append(InboxAppend {
            channel_id: channel.id,
            body: body.to_vec(),
            received_at: now,
        })
        .await?;
    state.metrics.webhook_latency(started.elapsed());
    Ok(StatusCode::OK)
}
