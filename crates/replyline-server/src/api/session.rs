//! Login, the caller's own record, and the caller's notifications.

use super::dto::{EmployeeDto, LoginRequest, LoginResponse, NotificationDto};
use super::parse_id;
use crate::auth::{Caller, new_token, token_hash, verify_password};
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/me", get(me))
        .route("/api/v1/notifications", get(notifications))
        .route("/api/v1/notifications/{id}/read", post(read_notification))
}

/// Exchanges an e-mail and password for a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Json(req): Json<LoginRequest>,
) -> ApiResult<axum::Json<LoginResponse>> {
    let employee = state.store.employee_by_email(req.email.trim()).await?;
    let Some(employee) = employee.filter(|e| e.active) else {
        return Err(ApiError::Unauthorized);
    };
    let hash = employee.password_hash.clone().unwrap_or_default();
    let ok = tokio::task::spawn_blocking(move || verify_password(&req.password, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !ok {
        return Err(ApiError::Unauthorized);
    }
    let token = new_token();
    state
        .store
        .create_token(employee.id, &token_hash(&token), state.clock.now())
        .await?;
    Ok(axum::Json(LoginResponse {
        token,
        employee: employee.into(),
    }))
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = EmployeeDto), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(caller: Caller) -> axum::Json<EmployeeDto> {
    axum::Json(caller.0.into())
}

/// `?unread=true` filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct NotificationQuery {
    pub unread: Option<String>,
}

/// Notifications addressed to the caller, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])), params(NotificationQuery),
    responses((status = 200, body = Vec<NotificationDto>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn notifications(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<NotificationQuery>,
) -> ApiResult<axum::Json<Vec<NotificationDto>>> {
    let unread = match q.unread.as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") | Some("") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                Some("unread".into()),
                format!("unread: expected true or false, got {other:?}"),
            ));
        }
    };
    let rows = state.store.notifications(caller.id(), unread).await?;
    Ok(axum::Json(rows.into_iter().map(Into::into).collect()))
}

/// Marks one of the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = NotificationDto), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read_notification(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<NotificationDto>> {
    let id = parse_id(&id, "notification")?;
    if !state
        .store
        .mark_notification_read(id, caller.id(), state.clock.now())
        .await?
    {
        return Err(ApiError::not_found("notification"));
    }
    let rows = state.store.notifications(caller.id(), false).await?;
    let row = rows
        .into_iter()
        .find(|n| n.id == id)
        .ok_or_else(|| ApiError::not_found("notification"))?;
    Ok(axum::Json(row.into()))
}
