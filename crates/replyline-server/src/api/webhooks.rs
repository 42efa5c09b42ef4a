//! Outgoing CRM webhooks (admins): endpoints, subscribed events, the delivery log.

use super::parse_id;
use crate::auth::Caller;
use crate::delivery::delivery_json;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use replyline_store::{NewWebhook, WEBHOOK_EVENTS, Webhook};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhooks", get(list).post(create))
        .route("/api/v1/webhooks/{id}", get(read).delete(remove))
        .route("/api/v1/webhooks/{id}/deliveries", get(deliveries))
}

/// A CRM endpoint (the secret is never returned).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: String,
    pub url: String,
    /// message.received, message.sent, conversation.opened, conversation.closed, sla.breached, notification.created.
    pub events: Vec<String>,
    pub created_at: String,
}

impl From<Webhook> for WebhookDto {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id.to_string(),
            url: w.url,
            events: w.events,
            created_at: w.created_at.to_string(),
        }
    }
}

/// `POST /api/v1/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookRequest {
    /// `http://` or `https://` URL receiving signed POSTs.
    pub url: String,
    /// HMAC-SHA256 key for `X-Replyline-Signature` (8 to 512 characters).
    pub secret: String,
    pub events: Vec<String>,
}

/// One attempt log entry of a webhook delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: String,
    /// `webhook` here; in_app, email, telegram or webhook on notifications.
    pub channel: String,
    pub event: Option<String>,
    /// pending, sent, delivered, failed, skipped.
    pub status: String,
    pub attempts: i64,
    /// The last error seen (kept after a later success).
    pub error: Option<String>,
    /// The HTTP status of the last failed attempt.
    pub response_code: Option<i64>,
    /// When a pending delivery is attempted next.
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn admin(caller: &Caller) -> ApiResult<()> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only admins may manage webhooks".into(),
        ))
    }
}

fn validate(req: &NewWebhookRequest) -> ApiResult<()> {
    let url = req.url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !host.contains(char::is_whitespace)
    });
    if !host_ok || url.len() > 2000 || url.contains(char::is_whitespace) {
        return Err(ApiError::validation(
            "url",
            "must be an http:// or https:// URL with a host",
        ));
    }
    let n = req.secret.chars().count();
    if !(8..=512).contains(&n) {
        return Err(ApiError::validation(
            "secret",
            "must be 8 to 512 characters",
        ));
    }
    if req.events.is_empty() {
        return Err(ApiError::validation("events", "name at least one event"));
    }
    for (i, e) in req.events.iter().enumerate() {
        if !WEBHOOK_EVENTS.contains(&e.as_str()) {
            return Err(ApiError::validation(
                format!("events[{i}]"),
                format!("unknown event {e:?}; one of {}", WEBHOOK_EVENTS.join(", ")),
            ));
        }
    }
    Ok(())
}

/// CRM endpoints.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = Vec<WebhookDto>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<WebhookDto>>> {
    admin(&caller)?;
    let hooks = state.store.webhooks().await?;
    Ok(axum::Json(hooks.into_iter().map(Into::into).collect()))
}

/// Adds a CRM endpoint; events from then on are delivered to it, signed with its secret.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])), request_body = NewWebhookRequest,
    responses((status = 201, body = WebhookDto), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewWebhookRequest>,
) -> ApiResult<(StatusCode, axum::Json<WebhookDto>)> {
    admin(&caller)?;
    validate(&req)?;
    let mut events = req.events.clone();
    events.dedup();
    let hook = state
        .store
        .create_webhook(
            NewWebhook {
                url: req.url.trim().to_owned(),
                secret: state
                    .secrets
                    .seal(crate::secrets::WEBHOOK_SECRET_FIELD, &req.secret),
                events,
            },
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(hook.into())))
}

/// One CRM endpoint.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = WebhookDto), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<WebhookDto>> {
    admin(&caller)?;
    let id = parse_id(&id, "webhook")?;
    let hook = state.store.webhook(id).await?;
    hook.map(|h| axum::Json(h.into()))
        .ok_or_else(|| ApiError::not_found("webhook"))
}

/// Removes a CRM endpoint; its pending deliveries are skipped.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    admin(&caller)?;
    let id = parse_id(&id, "webhook")?;
    if state.store.delete_webhook(id, state.clock.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("webhook"))
    }
}

/// The delivery log of an endpoint, newest first (at most 500).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<DeliveryDto>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<Value>>> {
    admin(&caller)?;
    let id = parse_id(&id, "webhook")?;
    if state.store.webhook(id).await?.is_none() {
        return Err(ApiError::not_found("webhook"));
    }
    let rows = state.store.webhook_deliveries(id, 500).await?;
    Ok(axum::Json(rows.iter().map(delivery_json).collect()))
}
