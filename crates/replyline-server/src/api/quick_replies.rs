//! Quick replies («Шаблоны сообщений»): personal and shared saved texts.
//!
//! Everyone sees the shared ones and their own; another person's personal
//! reply does not exist for them (404). Shared replies are created, edited and
//! deleted by admins and managers only (403); personal ones by their owner.
//! `{client_name}`, `{employee_name}` and `{company_name}` (with `|fallback`)
//! are filled in by `…/render` with the engine's template renderer.

use super::parse_id;
use crate::auth::{Caller, Permission, authorize};
use crate::authz::{self, Access};
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use replyline_engine::{Template, Var, Vars};
use replyline_store::{NewQuickReply, QuickReply, QuickReplyPatch};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// The variables a quick reply may use (SPEC §2).
const VARS: &[Var] = &[Var::ClientName, Var::EmployeeName, Var::CompanyName];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/quick-replies", get(list).post(create))
        .route(
            "/api/v1/quick-replies/{id}",
            get(read).patch(update).delete(remove),
        )
        .route("/api/v1/quick-replies/{id}/render", get(render))
}

/// A quick reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuickReplyDto {
    pub id: String,
    pub title: String,
    /// The text with its `{variables}` unfilled.
    pub text: String,
    /// Seen by everyone (edited by admins and managers); otherwise by its owner only.
    pub shared: bool,
    pub owner_id: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<QuickReply> for QuickReplyDto {
    fn from(q: QuickReply) -> Self {
        Self {
            id: q.id.to_string(),
            title: q.title,
            text: q.text,
            shared: q.shared,
            owner_id: q.owner_id.to_string(),
            created_at: q.created_at.to_string(),
            updated_at: q.updated_at.to_string(),
        }
    }
}

/// `POST /api/v1/quick-replies`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewQuickReplyRequest {
    /// 1 to 100 characters.
    pub title: String,
    /// 1 to 4096 characters; may use `{client_name}`, `{employee_name}`, `{company_name}`.
    pub text: String,
    /// Shared with everyone (admins and managers only); default false.
    #[serde(default)]
    pub shared: bool,
}

/// `PATCH /api/v1/quick-replies/{id}`: the fields given change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchQuickReplyRequest {
    pub title: Option<String>,
    pub text: Option<String>,
    pub shared: Option<bool>,
}

/// `GET /api/v1/quick-replies/{id}/render` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RenderQuery {
    /// The chat whose contact fills `{client_name}`.
    #[param(pattern = r"^[0-9]+$")]
    pub conversation_id: Option<String>,
}

/// A quick reply with its variables filled in.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenderedDto {
    pub text: String,
}

/// Admins and managers keep the shared replies.
fn may_share(caller: &Caller) -> bool {
    matches!(caller.0.role.as_str(), "admin" | "manager")
}

fn visible(q: &QuickReply, caller: &Caller) -> bool {
    q.shared || q.owner_id == caller.id()
}

/// 403 unless the caller may change `q` (already visible to them).
fn check_editable(q: &QuickReply, caller: &Caller) -> ApiResult<()> {
    let ok = if q.shared {
        may_share(caller)
    } else {
        q.owner_id == caller.id()
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only admins and managers may change shared quick replies".into(),
        ))
    }
}

fn check_shared(shared: bool, caller: &Caller) -> ApiResult<()> {
    if shared && !may_share(caller) {
        return Err(ApiError::Forbidden(
            "only admins and managers may share quick replies".into(),
        ));
    }
    Ok(())
}

fn check_title(raw: &str) -> ApiResult<String> {
    let title = raw.trim();
    let n = title.chars().count();
    if n == 0 || n > MAX_TITLE_CHARS {
        return Err(ApiError::validation(
            "title",
            format!("must be 1 to {MAX_TITLE_CHARS} characters, got {n}"),
        ));
    }
    if title.chars().any(char::is_control) {
        return Err(ApiError::validation(
            "title",
            "must not contain control characters",
        ));
    }
    Ok(title.to_owned())
}

/// A message text whose variables are known ones.
fn check_body(text: &str) -> ApiResult<()> {
    super::dto::check_text("text", text)?;
    Template::parse(text, VARS).map_err(|err| ApiError::validation("text", err))?;
    Ok(())
}

/// A quick reply the caller may see; 404 otherwise.
async fn find_visible(state: &AppState, caller: &Caller, id: &str) -> ApiResult<QuickReply> {
    let id = parse_id(id, "quick reply")?;
    state
        .store
        .quick_reply(id)
        .await?
        .filter(|q| visible(q, caller))
        .ok_or_else(|| ApiError::not_found("quick reply"))
}

/// The shared quick replies and the caller's own, by title.
#[utoipa::path(get, path = "/api/v1/quick-replies", tag = "quick-replies", security(("bearer" = [])),
    responses((status = 200, body = Vec<QuickReplyDto>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<QuickReplyDto>>> {
    authorize(&caller, Permission::Converse)?;
    let list = state.store.quick_replies(caller.id()).await?;
    Ok(axum::Json(list.into_iter().map(Into::into).collect()))
}

/// Saves a quick reply; a shared one by admins and managers only.
#[utoipa::path(post, path = "/api/v1/quick-replies", tag = "quick-replies", security(("bearer" = [])), request_body = NewQuickReplyRequest,
    responses((status = 201, body = QuickReplyDto), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewQuickReplyRequest>,
) -> ApiResult<(StatusCode, axum::Json<QuickReplyDto>)> {
    authorize(&caller, Permission::Converse)?;
    let title = check_title(&req.title)?;
    check_body(&req.text)?;
    check_shared(req.shared, &caller)?;
    let new = NewQuickReply {
        owner_id: caller.id(),
        shared: req.shared,
        title,
        text: req.text,
    };
    let saved = state
        .store
        .create_quick_reply(&new, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(saved.into())))
}

/// One quick reply.
#[utoipa::path(get, path = "/api/v1/quick-replies/{id}", tag = "quick-replies", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = QuickReplyDto), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<QuickReplyDto>> {
    authorize(&caller, Permission::Converse)?;
    Ok(axum::Json(find_visible(&state, &caller, &id).await?.into()))
}

/// Changes a quick reply: one's own personal ones; shared ones (and sharing) admins and managers only.
#[utoipa::path(patch, path = "/api/v1/quick-replies/{id}", tag = "quick-replies", security(("bearer" = [])), params(("id" = String, Path)), request_body = PatchQuickReplyRequest,
    responses((status = 200, body = QuickReplyDto), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<PatchQuickReplyRequest>,
) -> ApiResult<axum::Json<QuickReplyDto>> {
    authorize(&caller, Permission::Converse)?;
    let current = find_visible(&state, &caller, &id).await?;
    check_editable(&current, &caller)?;
    let title = req.title.as_deref().map(check_title).transpose()?;
    if let Some(text) = &req.text {
        check_body(text)?;
    }
    if let Some(shared) = req.shared {
        check_shared(shared, &caller)?;
    }
    let patch = QuickReplyPatch {
        title,
        text: req.text,
        shared: req.shared,
    };
    let saved = state
        .store
        .update_quick_reply(current.id, &patch, state.clock.now())
        .await
        .map_err(|err| match err {
            replyline_store::StoreError::NotFound => ApiError::not_found("quick reply"),
            other => other.into(),
        })?;
    Ok(axum::Json(saved.into()))
}

/// Deletes a quick reply (the same rights as changing it).
#[utoipa::path(delete, path = "/api/v1/quick-replies/{id}", tag = "quick-replies", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    authorize(&caller, Permission::Converse)?;
    let current = find_visible(&state, &caller, &id).await?;
    check_editable(&current, &caller)?;
    if state.store.delete_quick_reply(current.id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("quick reply"))
    }
}

/// The text with `{client_name}` (the chat's contact), `{employee_name}` (the
/// caller's display name, else name) and `{company_name}` filled in.
#[utoipa::path(get, path = "/api/v1/quick-replies/{id}/render", tag = "quick-replies", security(("bearer" = [])), params(("id" = String, Path), RenderQuery),
    responses((status = 200, body = RenderedDto), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn render(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<RenderQuery>,
) -> ApiResult<axum::Json<RenderedDto>> {
    authorize(&caller, Permission::Converse)?;
    let reply = find_visible(&state, &caller, &id).await?;
    let raw = query
        .conversation_id
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ApiError::validation("conversation_id", "required"))?;
    let client_name = conversation_contact_name(&state, &caller, &raw).await?;
    let employee = &caller.0;
    let vars = Vars {
        client_name: client_name.as_deref(),
        employee_name: Some(employee.display_name.as_deref().unwrap_or(&employee.name)),
        company_name: Some(&state.company_name),
        text: None,
        waited_minutes: None,
    };
    let text = match Template::parse(&reply.text, VARS) {
        Ok(template) => template.render(&vars),
        // Stored before variables were checked: shown as written.
        Err(_) => reply.text,
    };
    Ok(axum::Json(RenderedDto { text }))
}

/// The contact name of a conversation the caller may see; 404 otherwise.
async fn conversation_contact_name(
    state: &AppState,
    caller: &Caller,
    raw: &str,
) -> ApiResult<Option<String>> {
    let id = parse_id(raw, "conversation")?;
    let conversation = state
        .store
        .conversation(id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))?;
    let access = Access::load(state.store.as_ref()).await?;
    if !authz::can_view_conversation(&caller.0, &conversation, &access) {
        return Err(ApiError::not_found("conversation"));
    }
    Ok(conversation.contact.name)
}
