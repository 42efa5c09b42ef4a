//! Conversations: list (paged, per-caller extras), open, read, messages, notes
//! with mentions, transfer, close, timeline; read marks, labels, observers
//! (`inbox`), and a contact's conversations.

pub mod inbox;
pub mod mentions;

use inbox::{contact_conversations, labels, leave, mark_read, set_labels};

use super::compose;
use super::dto::{
    AssignRequest, ConversationDto, EventDto, MessageDto, NoteRequest, OpenConversationRequest,
    TextRequest,
};
use super::parse_id;
use crate::auth::{Caller, Permission, authorize};
use crate::authz::{self, Access, Scope};
use crate::driver::{Act, Transfer, TransferTarget};
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use replyline_store::{ConversationCursor, ConversationQuery, ConversationRecord, Id};
use serde::Deserialize;

/// The response header carrying the cursor of the next page.
pub const NEXT_CURSOR_HEADER: &str = "x-next-cursor";
/// The default and largest page sizes of the listing.
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;
/// The longest `q` of the listing, in characters.
const MAX_QUERY_CHARS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conversations", get(list).post(open))
        .route("/api/v1/conversations/{id}", get(read))
        .route(
            "/api/v1/conversations/{id}/messages",
            // A file may be up to 100 MB: this route alone takes bodies that large.
            get(messages).merge(post(send).layer(DefaultBodyLimit::max(compose::MAX_MESSAGE_BODY))),
        )
        .route("/api/v1/conversations/{id}/notes", post(note))
        .route("/api/v1/conversations/{id}/assign", post(assign))
        .route("/api/v1/conversations/{id}/close", post(close))
        .route("/api/v1/conversations/{id}/events", get(events))
        .route("/api/v1/conversations/{id}/read", post(mark_read))
        .route("/api/v1/conversations/{id}/labels", put(set_labels))
        .route("/api/v1/conversations/{id}/leave", post(leave))
        .route("/api/v1/labels", get(labels))
        .route(
            "/api/v1/contacts/{id}/conversations",
            get(contact_conversations),
        )
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
    /// caller), `observing` (chats the caller observes) or `all` (default): always within
    /// what the caller may see.
    pub scope: Option<String>,
    /// Only chats with this label (case-insensitive).
    #[param(pattern = r"^[^\u0000-\u001f\u007f-\u009f]{0,200}$")]
    pub label: Option<String>,
    /// The contact's name or address: every word as a prefix (1–200 characters).
    #[param(pattern = r"^[^\u0000-\u001f\u007f-\u009f]{0,200}$")]
    pub q: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(pattern = r"^([1-9]|[1-9][0-9]|1[0-9][0-9]|200)?$")]
    pub limit: Option<String>,
    /// The `X-Next-Cursor` of the previous page (absent: the first page).
    #[param(pattern = r"^(-?[0-9]{1,18}\.[0-9]{1,18})?$")]
    pub before: Option<String>,
}

/// The page size: 1 to 200, default 50 (400 naming `limit` otherwise).
fn page_limit(raw: Option<&str>) -> ApiResult<i64> {
    super::parse_limit(raw, DEFAULT_LIMIT, MAX_LIMIT).ok_or_else(|| {
        ApiError::bad_request(
            Some("limit".into()),
            format!(
                "limit: expected 1 to {MAX_LIMIT}, got {:?}",
                raw.unwrap_or("")
            ),
        )
    })
}

/// The opaque cursor text of a row: its activity (ms) and id.
pub fn encode_cursor(c: ConversationCursor) -> String {
    format!("{}.{}", c.activity_ms, c.id)
}

/// Parses `before` (400 naming it when it is not a cursor this server gave).
fn decode_cursor(raw: Option<&str>) -> ApiResult<Option<ConversationCursor>> {
    let Some(raw) = raw.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let parsed = raw
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
    match parsed {
        Some((activity_ms, id)) => Ok(Some(ConversationCursor { activity_ms, id })),
        None => Err(ApiError::bad_request(
            Some("before".into()),
            format!("before: not a cursor from X-Next-Cursor: {raw:?}"),
        )),
    }
}

/// An optional non-empty text filter of at most 200 characters (400 naming `field`).
fn text_filter(field: &str, raw: Option<String>) -> ApiResult<Option<String>> {
    let Some(v) = raw.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > MAX_QUERY_CHARS || v.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            Some(field.into()),
            format!("{field}: at most {MAX_QUERY_CHARS} characters without control characters"),
        ));
    }
    Ok(Some(v))
}

/// The listing rows of `records` for the caller: each with its last message,
/// the caller's unread count and labels (one batched store call).
pub async fn rows(
    state: &AppState,
    caller: &Caller,
    access: &Access,
    records: Vec<ConversationRecord>,
) -> ApiResult<Vec<ConversationDto>> {
    let ids: Vec<Id> = records.iter().map(|r| r.id).collect();
    let mut extras = state.store.conversation_extras(&ids, caller.id()).await?;
    Ok(records
        .into_iter()
        .map(|r| {
            let extra = extras.remove(&r.id).unwrap_or_default();
            let can_manage = authz::can_manage_conversation(&caller.0, &r, access);
            let mut dto = ConversationDto::with_extras(r, extra);
            dto.can_manage = Some(can_manage);
            dto
        })
        .collect())
}

/// One conversation as the caller sees it in the list.
async fn row(
    state: &AppState,
    caller: &Caller,
    access: &Access,
    record: ConversationRecord,
) -> ApiResult<ConversationDto> {
    rows(state, caller, access, vec![record])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("conversation"))
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

/// Conversations the caller may see, by last activity (newest first), a page at a time:
/// `X-Next-Cursor` carries the `before` of the next page when more rows exist.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Vec<ConversationDto>,
        headers(("x-next-cursor" = String, description = "`before` of the next page; absent on the last page"))),
        (status = 400, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult<Response> {
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
                format!("scope: expected mine, unassigned, team, observing or all, got {raw:?}"),
            )
        })?,
    };
    let access = Access::load(state.store.as_ref()).await?;
    let mut query = ConversationQuery {
        visibility: authz::visibility(&caller.0, &access),
        status,
        channel_id: filter_id("channel_id", q.channel_id.as_deref())?,
        assignee_id: filter_id("assignee_id", q.assignee_id.as_deref())?,
        label: text_filter("label", q.label)?,
        q: text_filter("q", q.q)?,
        limit: Some(page_limit(q.limit.as_deref())?),
        after: decode_cursor(q.before.as_deref())?,
        ..ConversationQuery::default()
    };
    scope.apply(&caller.0, &access, &mut query);
    let page = state.store.list_conversations(&query).await?;
    let body = rows(&state, &caller, &access, page.rows).await?;
    let mut response = axum::Json(body).into_response();
    if let Some(next) = page.next
        && let Ok(value) = HeaderValue::from_str(&encode_cursor(next))
    {
        response.headers_mut().insert(NEXT_CURSOR_HEADER, value);
    }
    Ok(response)
}

/// Opens a conversation by writing first (the channel must allow it: 403
/// `write_first_disabled`); the caller becomes its assignee. `text` only while the
/// client's 24-hour window is open (422 `outside_24h_window`), else an approved `template`.
#[utoipa::path(post, path = "/api/v1/conversations", tag = "conversations", security(("bearer" = [])), request_body = OpenConversationRequest,
    responses((status = 201, body = ConversationDto), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn open(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<OpenConversationRequest>,
) -> ApiResult<(StatusCode, axum::Json<ConversationDto>)> {
    authorize(&caller, Permission::Converse)?;
    if req.text.is_some() && req.template.is_some() {
        return Err(ApiError::validation(
            "text",
            "give either text or template, not both",
        ));
    }
    if req.template.is_none() {
        check_message(req.text.as_deref().unwrap_or_default())?;
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
    let address = compose::e164_digits(&req.contact_address)?;
    let channel = super::templates::channel(&state, channel_id).await?;
    if !channel.allow_write_first {
        return Err(ApiError::Coded {
            status: StatusCode::FORBIDDEN,
            code: "write_first_disabled",
            message: "this channel does not allow writing to a client first (allow_write_first)"
                .into(),
            field: None,
        });
    }
    let opening = match req.template {
        Some(t) => {
            crate::driver::Opening::Template(compose::template_send(&state, &channel, t).await?)
        }
        None => crate::driver::Opening::Text(req.text.unwrap_or_default()),
    };
    let id = state
        .driver
        .open(channel_id, address, caller.id(), opening)
        .await
        .map_err(|e| match e {
            crate::driver::DriverError::OutsideWindow => ApiError::Unprocessable {
                code: "outside_24h_window",
                message: format!("{e}: write first with an approved template"),
            },
            other => other.into(),
        })?;
    let record = state
        .store
        .conversation(id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(row(&state, &caller, &access, record).await?),
    ))
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
    let (c, access) = find_visible(&state, &caller, &id).await?;
    Ok(axum::Json(row(&state, &caller, &access, c).await?))
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

/// Sends a message as the caller: JSON `{"text"}` (signed per settings) or
/// `{"template":{"name","language","parameters"}}` (an approved template, allowed outside
/// the 24-hour window), or `multipart/form-data` with a `file` and an optional caption
/// `text`. 422 `outside_24h_window`, `unknown_template`, `unsupported_file_type`;
/// 413 `file_too_large`; 409 when closed.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    request_body(content((TextRequest = "application/json"), (compose::FileMessageForm = "multipart/form-data"))),
    responses((status = 201, body = MessageDto), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 413, description = "`file_too_large` (field `file`): over WhatsApp's limit for the file's kind", body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn send(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    request: Request,
) -> ApiResult<(StatusCode, axum::Json<MessageDto>)> {
    authorize(&caller, Permission::Converse)?;
    let (c, access) = find_actionable(&state, &caller, &id).await?;
    // The first reply to a queued chat takes it (SPEC §3a): someone who only
    // observes it may not take it that way, as they may not transfer it.
    if c.assignee_id.is_none() && !authz::can_manage_conversation(&caller.0, &c, &access) {
        return Err(ApiError::Forbidden(
            "observers may not reply to a queued conversation: replying would take it".into(),
        ));
    }
    if c.status == "closed" {
        return Err(crate::driver::DriverError::Closed.into());
    }
    let compose::Composed { act, stored } =
        compose::compose(&state, caller.id(), c.id, c.channel_id, request).await?;
    let created = match state.driver.act(c.id, act).await {
        Ok(created) => created,
        Err(e) => {
            compose::discard(&state, stored.as_deref()).await;
            return Err(e.into());
        }
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(message(&state, created).await?),
    ))
}

/// Adds an internal note (never sent to the client). The employees it mentions
/// (`mentions` and `@Name` in the text) other than the assignee become observers and
/// are notified (`reason: "mention"`).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/notes", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)), request_body = NoteRequest,
    responses((status = 201, body = MessageDto), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn note(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<NoteRequest>,
) -> ApiResult<(StatusCode, axum::Json<MessageDto>)> {
    authorize(&caller, Permission::Converse)?;
    check_message(&req.text)?;
    let employees = state.store.employees().await?;
    let mut explicit = Vec::new();
    for (i, raw) in req.mentions.iter().flatten().enumerate() {
        let found = raw
            .trim()
            .parse::<Id>()
            .ok()
            .and_then(|id| employees.iter().find(|e| e.id == id && e.active));
        let e = found.ok_or_else(|| {
            ApiError::validation(format!("mentions[{i}]"), "no such active employee")
        })?;
        explicit.push(e.id);
    }
    let mentions = mentions::resolve(&req.text, &explicit, &employees);
    let employee = caller.id();
    write(
        &state,
        &caller,
        &id,
        Act::Note {
            employee,
            text: req.text,
            mentions,
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
    let (c, access) = find_actionable(state, caller, id).await?;
    // The first reply to a queued chat takes it (SPEC §3a): someone who only
    // observes it may not take it that way, as they may not transfer it.
    if matches!(act, Act::Message { .. })
        && c.assignee_id.is_none()
        && !authz::can_manage_conversation(&caller.0, &c, &access)
    {
        return Err(ApiError::Forbidden(
            "observers may not reply to a queued conversation: replying would take it".into(),
        ));
    }
    let created = state.driver.act(c.id, act).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(message(state, created).await?),
    ))
}

/// A conversation the caller may close or transfer: 404 when invisible, 403 for
/// someone who only observes it.
async fn find_manageable(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> ApiResult<(ConversationRecord, Access)> {
    let (c, access) = find_actionable(state, caller, id).await?;
    if !authz::can_manage_conversation(&caller.0, &c, &access) {
        return Err(ApiError::Forbidden(
            "observers may not close or transfer this conversation".into(),
        ));
    }
    Ok((c, access))
}

/// The employee a transfer names: active and allowed to take the chat (422 `employee_id`).
async fn transfer_employee(
    state: &AppState,
    c: &ConversationRecord,
    access: &Access,
    raw: &str,
) -> ApiResult<Id> {
    let id: Id = raw
        .trim()
        .parse()
        .map_err(|_| ApiError::validation("employee_id", "no such employee"))?;
    let e = state.store.employee(id).await?.filter(|e| e.active);
    let e = e.ok_or_else(|| ApiError::validation("employee_id", "no such active employee"))?;
    if !authz::can_be_assigned(e.id, c.channel_id, access) {
        return Err(ApiError::validation(
            "employee_id",
            "the assignee must be a member of the channel (or an admin or manager)",
        ));
    }
    Ok(e.id)
}

/// A group transfer: the group and those of its members who may take the chat
/// (422 `group_id` when there is no such group).
async fn transfer_group(
    state: &AppState,
    c: &ConversationRecord,
    access: &Access,
    raw: &str,
) -> ApiResult<TransferTarget> {
    let group = match raw.trim().parse::<Id>() {
        Ok(id) => state.store.group(id).await?,
        Err(_) => None,
    };
    let group = group.ok_or_else(|| ApiError::validation("group_id", "no such group"))?;
    let eligible = group
        .employee_ids
        .iter()
        .copied()
        .filter(|e| authz::can_be_assigned(*e, c.channel_id, access))
        .collect();
    Ok(TransferTarget::Group {
        group_id: group.id,
        eligible,
    })
}

/// Transfers the conversation: to `employee_id`, to a member of `group_id` (round robin
/// among its online members who may take it, else any of them), or back to the queue
/// (`{"employee_id": null}`). A `comment` becomes the caller's note, written in the same
/// step before the transfer; the timeline records `transferred`. Observers may not (403).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/assign", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)), request_body = AssignRequest,
    responses((status = 200, body = ConversationDto), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<AssignRequest>,
) -> ApiResult<axum::Json<ConversationDto>> {
    authorize(&caller, Permission::Converse)?;
    if let Some(comment) = &req.comment {
        super::dto::check_text("comment", comment)?;
    }
    let (c, access) = find_manageable(&state, &caller, &id).await?;
    let target = match (req.employee_id.as_deref(), req.group_id.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "group_id",
                "give either employee_id or group_id, not both",
            ));
        }
        (_, Some(group)) => transfer_group(&state, &c, &access, group).await?,
        (Some(raw), None) => {
            TransferTarget::Employee(Some(transfer_employee(&state, &c, &access, raw).await?))
        }
        (None, None) => TransferTarget::Employee(None),
    };
    let transfer = Transfer {
        by: caller.id(),
        target,
        comment: req.comment,
    };
    state.driver.act(c.id, Act::Transfer(transfer)).await?;
    let record = find(&state, &id).await?;
    Ok(axum::Json(row(&state, &caller, &access, record).await?))
}

/// Ends the chat (closing message per settings). Observers may not (403).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/close", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ConversationDto), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ConversationDto>> {
    authorize(&caller, Permission::Converse)?;
    let (c, access) = find_manageable(&state, &caller, &id).await?;
    state
        .driver
        .act(
            c.id,
            Act::Close {
                employee: caller.id(),
            },
        )
        .await?;
    let record = find(&state, &id).await?;
    Ok(axum::Json(row(&state, &caller, &access, record).await?))
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
