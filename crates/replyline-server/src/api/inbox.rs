//! The inbox dead-letter list: acknowledged webhook bodies whose processing
//! keeps failing. They are retried with backoff and never dropped; admins see
//! them here with their error and may retry one at once.

use super::parse_id;
use crate::auth::{Caller, Permission, authorize};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use replyline_store::FailedInboxItem;
use serde::Serialize;
use utoipa::ToSchema;

/// The most rows listed.
const LIST_LIMIT: i64 = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/inbox/failed", get(list))
        .route("/api/v1/inbox/failed/{id}/retry", post(retry))
}

/// An inbox row that keeps failing.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailedInboxDto {
    pub id: String,
    pub channel_id: String,
    /// When the webhook was acknowledged (RFC 3339).
    pub received_at: String,
    /// Failed processing attempts so far.
    pub attempts: i64,
    pub last_error: Option<String>,
    /// The next automatic retry; `null` = as soon as the server gets to it.
    pub next_attempt_at: Option<String>,
    /// When it first counted as failing (the alert was raised then).
    pub failing_since: Option<String>,
}

impl From<FailedInboxItem> for FailedInboxDto {
    fn from(item: FailedInboxItem) -> Self {
        Self {
            id: item.id.to_string(),
            channel_id: item.channel_id.to_string(),
            received_at: item.received_at.to_string(),
            attempts: item.attempts,
            last_error: item.last_error,
            next_attempt_at: item.next_attempt_at.map(|t| t.to_string()),
            failing_since: item.failing_since.map(|t| t.to_string()),
        }
    }
}

/// Acknowledged webhook bodies whose processing keeps failing, oldest first (admins only).
#[utoipa::path(get, path = "/api/v1/inbox/failed", tag = "operations", security(("bearer" = [])),
    responses((status = 200, body = Vec<FailedInboxDto>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<FailedInboxDto>>> {
    authorize(&caller, Permission::Administer)?;
    let rows = state.store.failed_inbox(LIST_LIMIT).await?;
    Ok(axum::Json(rows.into_iter().map(Into::into).collect()))
}

/// Retries a failing row now instead of at its next scheduled attempt (admins only).
#[utoipa::path(post, path = "/api/v1/inbox/failed/{id}/retry", tag = "operations", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 202, description = "queued for an attempt now", body = FailedInboxDto),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, description = "no such failing row", body = crate::error::ErrorBody)))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, axum::Json<FailedInboxDto>)> {
    authorize(&caller, Permission::Administer)?;
    let id = parse_id(&id, "failing inbox row")?;
    let row = state
        .store
        .failed_inbox(LIST_LIMIT)
        .await?
        .into_iter()
        .find(|row| row.id == id);
    let (Some(mut row), true) = (row, state.store.retry_inbox_now(id).await?) else {
        return Err(ApiError::not_found("failing inbox row"));
    };
    state.driver.inbox_ready();
    row.next_attempt_at = None;
    Ok((StatusCode::ACCEPTED, axum::Json(row.into())))
}
