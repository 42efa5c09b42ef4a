//! Login, the caller's own record, and the caller's notifications.

use super::dto::{EmployeeDto, LoginRequest, LoginResponse, NotificationDto};
use super::parse_id;
use crate::auth::{
    Caller, clear_session_cookie, hash_password, new_token, session_cookie, token_hash,
    verify_login_password, verify_password,
};
use crate::authz::Access;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use replyline_store::EmployeePatch;
use serde::Deserialize;
use std::net::SocketAddr;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(me).patch(update_me))
        .route("/api/v1/notifications", get(notifications))
        .route("/api/v1/notifications/{id}/read", post(read_notification))
}

/// Exchanges an e-mail and password for a login session: a bearer token, also set as the web
/// session cookie `replyline_session` (HttpOnly, SameSite=Strict; Secure when `public_url` is
/// https). The session ends after `session_idle_timeout_seconds` without use and
/// `session_max_age_seconds` after the login, on a password change and on logout.
/// Five attempts per e-mail and client IP within 15 minutes (a successful one forgets them)
/// answer 429 `rate_limited` with `Retry-After`. The body must be `application/json` (415).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse, headers(("Set-Cookie" = String, description = "replyline_session=TOKEN; HttpOnly; SameSite=Strict; Path=/"))),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 415, description = "the body is not application/json", body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody, headers(("Retry-After" = u64, description = "seconds")))))]
pub async fn login(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Response> {
    let ip = peer
        .map(|Extension(ConnectInfo(addr))| addr.ip().to_string())
        .unwrap_or_default();
    let email = req.email.trim().to_owned();
    let now = state.clock.now();
    // Counted before the (slow) verification, so concurrent guesses cannot all pass the check.
    state
        .login_limiter
        .attempt(&email, &ip, now)
        .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
    let employee = state.store.employee_by_email(&email).await?;
    let employee = employee.filter(|e| e.active);
    let hash = employee.as_ref().and_then(|e| e.password_hash.clone());
    // Unknown, deactivated and password-less accounts verify against a dummy hash: same cost.
    let ok =
        tokio::task::spawn_blocking(move || verify_login_password(&req.password, hash.as_deref()))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    let Some(employee) = employee.filter(|_| ok) else {
        return Err(ApiError::Unauthorized);
    };
    state.login_limiter.succeeded(&email, &ip);
    let token = new_token();
    state
        .store
        .create_session_token(
            employee.id,
            &token_hash(&token),
            Some("login"),
            now,
            state.sessions.idle_timeout_seconds,
            state.sessions.max_age_seconds,
        )
        .await?;
    state.store.set_online(employee.id, true).await?;
    let employee = state
        .store
        .employee(employee.id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let access = Access::load(state.store.as_ref()).await?;
    let cookie = session_cookie(&token, secure_cookies(&state));
    let body = LoginResponse {
        token,
        employee: EmployeeDto::with_access(employee, &access),
    };
    Ok(([(header::SET_COOKIE, cookie)], axum::Json(body)).into_response())
}

fn secure_cookies(state: &AppState) -> bool {
    state.public_url.starts_with("https://")
}

/// Revokes the token (or session cookie) of this request, clears the cookie and marks the caller offline.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, headers(("Set-Cookie" = String, description = "clears replyline_session"))), (status = 401, body = crate::error::ErrorBody)))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    state.store.delete_token(caller.token_id()).await?;
    state.store.set_online(caller.id(), false).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            clear_session_cookie(secure_cookies(&state)),
        )],
    )
        .into_response())
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = EmployeeDto), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<EmployeeDto>> {
    let access = Access::load(state.store.as_ref()).await?;
    let me = state.store.employee(caller.id()).await?.unwrap_or(caller.0);
    Ok(axum::Json(EmployeeDto::with_access(me, &access)))
}

/// `PATCH /api/v1/me`: presence, own display name, own password, own Telegram link.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMeRequest {
    /// Online (receives routed chats) or away.
    pub online: Option<bool>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "super::dto::double")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    /// A new password (8 to 1024 characters); requires `current_password`.
    pub password: Option<String>,
    /// The caller's present password: required with `password` (422 `current_password`
    /// `validation_failed` when missing, `wrong_password` when it does not match).
    pub current_password: Option<String>,
    /// The Telegram chat that receives the caller's notifications; `null` unlinks it.
    #[serde(default, deserialize_with = "super::dto::double")]
    #[schema(value_type = Option<String>)]
    pub telegram_chat_id: Option<Option<String>>,
}

/// Changes the caller's presence, display name or password. A password change revokes
/// every other token of the caller (other sessions and API tokens); this session stays.
#[utoipa::path(patch, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), request_body = PatchMeRequest,
    responses((status = 200, body = EmployeeDto), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 415, description = "the body is not application/json", body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update_me(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<PatchMeRequest>,
) -> ApiResult<axum::Json<EmployeeDto>> {
    if let Some(Some(name)) = &req.display_name {
        super::employees::check_text("display_name", name)?;
    }
    if let Some(Some(chat)) = &req.telegram_chat_id {
        super::employees::check_telegram_chat_id(chat)?;
    }
    let password_hash = match req.password {
        Some(p) => Some(new_password_hash(&caller, p, req.current_password).await?),
        None if req.current_password.is_some() => {
            return Err(ApiError::validation(
                "password",
                "is required with current_password",
            ));
        }
        None => None,
    };
    let changes_team = req.display_name.is_some();
    if req.display_name.is_some() || password_hash.is_some() || req.telegram_chat_id.is_some() {
        let patch = EmployeePatch {
            display_name: req.display_name,
            password_hash,
            telegram_chat_id: req.telegram_chat_id,
            ..EmployeePatch::default()
        };
        state
            .store
            .update_employee_keeping_token(caller.id(), patch, Some(caller.token_id()))
            .await?;
    }
    if let Some(online) = req.online {
        state.store.set_online(caller.id(), online).await?;
    }
    if changes_team {
        state.driver.team_changed();
    }
    let access = Access::load(state.store.as_ref()).await?;
    let me = state
        .store
        .employee(caller.id())
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(axum::Json(EmployeeDto::with_access(me, &access)))
}

/// Checks a new password and the caller's current one; answers the new hash.
async fn new_password_hash(
    caller: &Caller,
    password: String,
    current: Option<String>,
) -> ApiResult<String> {
    if password.chars().count() < 8 || password.len() > 1024 {
        return Err(ApiError::validation(
            "password",
            "must be 8 to 1024 characters",
        ));
    }
    let Some(current) = current.filter(|c| !c.is_empty()) else {
        return Err(ApiError::validation(
            "current_password",
            "is required to change the password",
        ));
    };
    let stored = caller.0.password_hash.clone().unwrap_or_default();
    let (ok, hash) = tokio::task::spawn_blocking(move || {
        (verify_password(&current, &stored), hash_password(&password))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !ok {
        return Err(ApiError::UnprocessableField {
            code: "wrong_password",
            message: "current_password: does not match the current password".into(),
            field: "current_password",
        });
    }
    hash
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
    Ok(axum::Json(
        crate::delivery::with_deliveries(state.store.as_ref(), rows).await?,
    ))
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
