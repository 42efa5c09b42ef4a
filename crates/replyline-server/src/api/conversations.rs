//! Conversations: list, open, read, messages, notes, assign, close, timeline.

use super::dto::{
    AssignRequest, ConversationDto, EventDto, MessageDto, OpenConversationRequest, TextRequest,
};
use super::parse_id;
use crate::auth::{Caller, Permission, authorize};
use crate::authz::{self, Access, Scope};
use crate::driver::Act;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use replyline_store::{ConversationFilter, ConversationRecord, Id};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conversations", get(list).post(open))
        .route("/api/v1/conversations/{id}", get(read))
        .route(
            "/api/v1/conversations/{id}/messages",
            get(messages).post(send),
        )
        .route("/api/v1/conversations/{id}/notes", post(note))
        .route("/api/v1/conversations/{id}/assign", post(assign))
        .route("/api/v1/conversations/{id}/close", post(close))
        .route("/api/v1/conversations/{id}/events", get(events))
}

/// List filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open` or `closed` (empty = both).
    pub status: Option<String>,
    #[param(pattern = r"^([+-]?[0-9]+)?$")]
    pub channel_id: Option<String>,
    #[param(pattern = r"^([+-]?[0-9]+)?$")]
    pub assignee_id: Option<String>,
    /// `mine` (assigned to the caller), `unassigned`, `team` (assigned to someone under the
    /// caller) or `all` (default): always within what the caller may see.
    pub scope: Option<String>,
}

/// A query filter id: a decimal integer (none when empty). One too large to be any row's
/// id filters to nothing, like any id that names nothing.
fn filter_id(field: &str, value: Option<&str>) -> ApiResult<Option<Id>> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request(
            Some(field.into()),
            format!("{field}: not an id: {v:?}"),
        ));
    }
    Ok(Some(v.parse().unwrap_or(Id::MIN)))
}

fn check_message(text: &str) -> ApiResult<()> {
    super::dto::check_text("text", text)
}

async fn find(state: &AppState, id: &str) -> ApiResult<ConversationRecord> {
    let id = parse_id(id, "conversation")?;
    state
        .store
        .conversation(id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))
}

/// A conversation the caller may see, with the team snapshot; 404 otherwise (existence is not leaked).
async fn find_visible(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> ApiResult<(ConversationRecord, Access)> {
    let c = find(state, id).await?;
    let access = Access::load(state.store.as_ref()).await?;
    if !authz::can_view_conversation(&caller.0, &c, &access) {
        return Err(ApiError::not_found("conversation"));
    }
    Ok((c, access))
}

/// A conversation the caller may act on: 404 when invisible, 403 when visible but not actionable.
async fn find_actionable(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> ApiResult<(ConversationRecord, Access)> {
    let (c, access) = find_visible(state, caller, id).await?;
    if !authz::can_act_on_conversation(&caller.0, &c, &access) {
        return Err(ApiError::Forbidden(
            "you may not act on this conversation".into(),
        ));
    }
    Ok((c, access))
}

async fn message(state: &AppState, id: Option<Id>) -> ApiResult<MessageDto> {
    let id = id.ok_or_else(|| ApiError::Internal("no message was created".into()))?;
    let m = state
        .store
        .message(id)
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    Ok(m.into())
}

/// Conversations, newest first.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Vec<ConversationDto>), (status = 400, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<Vec<ConversationDto>>> {
    authorize(&caller, Permission::Converse)?;
    let status = q.status.filter(|s| !s.is_empty());
    if let Some(s) = &status
        && s != "open"
        && s != "closed"
    {
        return Err(ApiError::bad_request(
            Some("status".into()),
            format!("status: expected open or closed, got {s:?}"),
        ));
    }
    let scope = match q.scope.as_deref() {
        None => Scope::All,
        Some(raw) => Scope::parse(raw).ok_or_else(|| {
            ApiError::bad_request(
                Some("scope".into()),
                format!("scope: expected mine, unassigned, team or all, got {raw:?}"),
            )
        })?,
    };
    let filter = ConversationFilter {
        status,
        channel_id: filter_id("channel_id", q.channel_id.as_deref())?,
        assignee_id: filter_id("assignee_id", q.assignee_id.as_deref())?,
    };
    let rows = state.store.conversations(&filter).await?;
    let access = Access::load(state.store.as_ref()).await?;
    Ok(axum::Json(
        rows.into_iter()
            .filter(|c| authz::can_view_conversation(&caller.0, c, &access))
            .filter(|c| scope.matches(&caller.0, c.assignee_id, &access))
            .map(Into::into)
            .collect(),
    ))
}

/// Opens a conversation by writing first; the caller becomes its assignee.
#[utoipa::path(post, path = "/api/v1/conversations", tag = "conversations", security(("bearer" = [])), request_body = OpenConversationRequest,
    responses((status = 201, body = ConversationDto), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn open(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<OpenConversationRequest>,
) -> ApiResult<(StatusCode, axum::Json<ConversationDto>)> {
    authorize(&caller, Permission::Converse)?;
    check_message(&req.text)?;
    // A WhatsApp number (E.164 digits), with or without its leading `+`.
    let address = req
        .contact_address
        .strip_prefix('+')
        .unwrap_or(&req.contact_address)
        .to_owned();
    if address.is_empty() || address.len() > 20 || !address.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation(
            "contact_address",
            "must be a phone number: 1 to 20 digits, optionally after a +",
        ));
    }
    let channel_id = parse_id(&req.channel_id, "channel")?;
    let access = Access::load(state.store.as_ref()).await?;
    if !authz::can_open_on_channel(&caller.0, channel_id, &access) {
        if authz::can_view_channel(&caller.0, channel_id, &access) {
            return Err(ApiError::Forbidden(
                "only members of the channel may open conversations on it".into(),
            ));
        }
        return Err(ApiError::not_found("channel"));
    }
    let id = state
        .driver
        .open(channel_id, address, caller.id(), req.text)
        .await?;
    let record = state
        .store
        .conversation(id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))?;
    Ok((StatusCode::CREATED, axum::Json(record.into())))
}

/// One conversation.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ConversationDto), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ConversationDto>> {
    authorize(&caller, Permission::Converse)?;
    Ok(axum::Json(
        find_visible(&state, &caller, &id).await?.0.into(),
    ))
}

/// The conversation's messages, oldest first.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<MessageDto>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn messages(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<MessageDto>>> {
    authorize(&caller, Permission::Converse)?;
    let (c, _) = find_visible(&state, &caller, &id).await?;
    Ok(axum::Json(
        state
            .store
            .messages(c.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Sends a message as the caller (signed per settings); 422 `outside_24h_window`, 409 when closed.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)), request_body = TextRequest,
    responses((status = 201, body = MessageDto), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn send(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<TextRequest>,
) -> ApiResult<(StatusCode, axum::Json<MessageDto>)> {
    let employee = caller.id();
    write(
        &state,
        &caller,
        &id,
        Act::Message {
            employee,
            text: req.text,
        },
    )
    .await
}

/// Adds an internal note (never sent to the client).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/notes", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)), request_body = TextRequest,
    responses((status = 201, body = MessageDto), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn note(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<TextRequest>,
) -> ApiResult<(StatusCode, axum::Json<MessageDto>)> {
    let employee = caller.id();
    write(
        &state,
        &caller,
        &id,
        Act::Note {
            employee,
            text: req.text,
        },
    )
    .await
}

/// Writes a message or note to a conversation the caller may act on; 201 with it.
async fn write(
    state: &AppState,
    caller: &Caller,
    id: &str,
    act: Act,
) -> ApiResult<(StatusCode, axum::Json<MessageDto>)> {
    authorize(caller, Permission::Converse)?;
    if let Act::Message { text, .. } | Act::Note { text, .. } = &act {
        check_message(text)?;
    }
    let (c, _) = find_actionable(state, caller, id).await?;
    let created = state.driver.act(c.id, act).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(message(state, created).await?),
    ))
}

/// Assigns the conversation (`null` unassigns).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/assign", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)), request_body = AssignRequest,
    responses((status = 200, body = ConversationDto), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<AssignRequest>,
) -> ApiResult<axum::Json<ConversationDto>> {
    authorize(&caller, Permission::Converse)?;
    let (c, access) = find_actionable(&state, &caller, &id).await?;
    let employee = match req.employee_id.as_deref() {
        Some(raw) => {
            let id: Id = raw
                .parse()
                .map_err(|_| ApiError::validation("employee_id", "no such employee"))?;
            let e = state.store.employee(id).await?.filter(|e| e.active);
            let e =
                e.ok_or_else(|| ApiError::validation("employee_id", "no such active employee"))?;
            if !authz::can_be_assigned(e.id, c.channel_id, &access) {
                return Err(ApiError::validation(
                    "employee_id",
                    "the assignee must be a member of the channel (or an admin or manager)",
                ));
            }
            Some(e.id)
        }
        None => None,
    };
    state.driver.act(c.id, Act::Assign { employee }).await?;
    Ok(axum::Json(find(&state, &id).await?.into()))
}

/// Ends the chat (closing message per settings).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/close", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ConversationDto), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ConversationDto>> {
    authorize(&caller, Permission::Converse)?;
    let (c, _) = find_actionable(&state, &caller, &id).await?;
    state
        .driver
        .act(
            c.id,
            Act::Close {
                employee: caller.id(),
            },
        )
        .await?;
    Ok(axum::Json(find(&state, &id).await?.into()))
}

/// The timeline: rule decisions and state changes, oldest first.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/events", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<EventDto>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<EventDto>>> {
    authorize(&caller, Permission::Converse)?;
    let (c, _) = find_visible(&state, &caller, &id).await?;
    Ok(axum::Json(
        state
            .store
            .events(c.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}
