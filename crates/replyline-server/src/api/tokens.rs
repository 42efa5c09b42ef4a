//! Bearer tokens: list, create (shown once), revoke. Admins may manage anyone's via `?employee_id=`.

use super::parse_id;
use crate::auth::{Caller, new_token, token_hash};
use crate::authz::can_manage_tokens_of;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use replyline_store::{Id, TokenInfo};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tokens", get(list).post(create))
        .route("/api/v1/tokens/{id}", delete(revoke))
}

/// A token's metadata (the secret is shown only when created).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDto {
    pub id: String,
    pub employee_id: String,
    pub label: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    /// The token this request authenticated with.
    pub current: bool,
}

impl TokenDto {
    fn new(t: TokenInfo, current: Id) -> Self {
        Self {
            id: t.id.to_string(),
            employee_id: t.employee_id.to_string(),
            label: t.label,
            created_at: t.created_at.to_string(),
            last_used_at: t.last_used_at.map(|t| t.to_string()),
            current: t.id == current,
        }
    }
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// What the token is for, e.g. `CRM integration`.
    pub label: Option<String>,
    /// Admins only: create the token for another employee.
    pub employee_id: Option<String>,
}

/// A new token: `token` is shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewTokenResponse {
    pub token: String,
    #[serde(flatten)]
    pub info: TokenDto,
}

/// `?employee_id=` (admins only).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TokenQuery {
    pub employee_id: Option<String>,
}

async fn owner(state: &AppState, caller: &Caller, raw: Option<&str>) -> ApiResult<Id> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(caller.id());
    };
    let id = parse_id(raw, "employee")?;
    if !can_manage_tokens_of(&caller.0, id) {
        return Err(ApiError::Forbidden(
            "only admins may manage other people's tokens".into(),
        ));
    }
    state
        .store
        .employee(id)
        .await?
        .ok_or_else(|| ApiError::not_found("employee"))?;
    Ok(id)
}

/// The caller's tokens (or, for admins, `employee_id`'s), oldest first.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", security(("bearer" = [])), params(TokenQuery),
    responses((status = 200, body = Vec<TokenDto>), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<TokenQuery>,
) -> ApiResult<axum::Json<Vec<TokenDto>>> {
    let owner = owner(&state, &caller, q.employee_id.as_deref()).await?;
    let rows = state.store.tokens(owner).await?;
    Ok(axum::Json(
        rows.into_iter()
            .map(|t| TokenDto::new(t, caller.token_id()))
            .collect(),
    ))
}

/// Creates a bearer token; the token is in the answer only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", security(("bearer" = [])), request_body = NewTokenRequest,
    responses((status = 201, body = NewTokenResponse), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewTokenRequest>,
) -> ApiResult<(StatusCode, axum::Json<NewTokenResponse>)> {
    let owner = owner(&state, &caller, req.employee_id.as_deref()).await?;
    let label = req.label.map(|l| l.trim().to_owned());
    if let Some(l) = &label
        && (l.is_empty() || l.chars().count() > 200)
    {
        return Err(ApiError::validation("label", "must be 1 to 200 characters"));
    }
    let token = new_token();
    let info = state
        .store
        .create_labeled_token(
            owner,
            &token_hash(&token),
            label.as_deref(),
            state.clock.now(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(NewTokenResponse {
            token,
            info: TokenDto::new(info, caller.token_id()),
        }),
    ))
}

/// Revokes a token: the caller's own, or anyone's for admins. Others' tokens are 404.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "token")?;
    let token = state
        .store
        .token(id)
        .await?
        .filter(|t| can_manage_tokens_of(&caller.0, t.employee_id))
        .ok_or_else(|| ApiError::not_found("token"))?;
    state.store.delete_token(token.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
