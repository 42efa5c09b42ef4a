//! The inbox around a conversation: the caller's read mark, labels, leaving a
//! chat one observes, the labels in use, and a contact's conversations.

use super::{find_actionable, find_visible, row, rows};
use crate::api::dto::{ConversationDto, LabelsRequest, ReadRequest, control_char};
use crate::api::parse_id;
use crate::auth::{Caller, Permission, authorize};
use crate::authz::{self, Access};
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::live::LiveEvent;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use replyline_store::{ConversationQuery, ConversationRecord, Id};
use serde_json::json;

/// The most labels one conversation carries.
pub const MAX_LABELS: usize = 20;
/// The longest label, in characters (after trimming).
pub const MAX_LABEL_CHARS: usize = 32;

/// Tells live clients that a conversation changed (labels, observers).
fn publish_updated(state: &AppState, c: &ConversationRecord, labels: Option<&[String]>) {
    let cid = c.id.to_string();
    let mut data = json!({
        "id": cid,
        "conversation_id": cid,
        "status": c.status,
        "assignee_id": c.assignee_id.map(|a| a.to_string()),
    });
    if let Some(labels) = labels {
        data["labels"] = json!(labels);
    }
    state.live.publish(LiveEvent {
        kind: "conversation.updated",
        conversation_id: Some(c.id),
        channel_id: Some(c.channel_id),
        assignee_id: Some(c.assignee_id),
        manager_id: None,
        data,
    });
}

/// Moves the caller's read mark to `message_id` (default: the latest message); never
/// backwards. The body is optional.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/read", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)), request_body(content = Option<ReadRequest>),
    responses((status = 204, description = "read mark moved"), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn mark_read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    authorize(&caller, Permission::Converse)?;
    let req: ReadRequest = if body.trim_ascii().is_empty() {
        ReadRequest::default()
    } else {
        crate::json::require_json(&headers)?;
        // `null` is the optional body left out, like an empty one.
        crate::json::parse::<Option<ReadRequest>>(&body)?.unwrap_or_default()
    };
    let (c, _) = find_actionable(&state, &caller, &id).await?;
    let message_id = match req.message_id.as_deref() {
        None => None,
        Some(raw) => {
            let found = match raw.trim().parse::<Id>() {
                Ok(mid) => state.store.message(mid).await?,
                Err(_) => None,
            };
            let m = found.filter(|m| m.conversation_id == c.id).ok_or_else(|| {
                ApiError::validation("message_id", "no such message in this conversation")
            })?;
            Some(m.id)
        }
    };
    state.store.mark_read(c.id, caller.id(), message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Labels after validation: 1–32 characters after trimming, no control characters,
/// at most 20 (422 naming `labels` or `labels[i]`).
pub fn check_labels(labels: &[String]) -> ApiResult<Vec<String>> {
    let mut checked = labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let field = format!("labels[{i}]");
            let trimmed = label.trim();
            let n = trimmed.chars().count();
            if n == 0 || n > MAX_LABEL_CHARS {
                return Err(ApiError::validation(
                    field,
                    format!("must be 1 to {MAX_LABEL_CHARS} characters, got {n}"),
                ));
            }
            if let Some(c) =
                control_char(trimmed).or_else(|| trimmed.chars().find(|c| c.is_control()))
            {
                return Err(ApiError::validation(
                    field,
                    format!("must not contain the control character U+{:04X}", c as u32),
                ));
            }
            Ok(trimmed.to_owned())
        })
        .collect::<ApiResult<Vec<String>>>()?;
    // The limit counts distinct labels: spellings differing in case are one label.
    let mut seen = std::collections::HashSet::new();
    checked.retain(|l| seen.insert(replyline_store::fold_key(l)));
    if checked.len() > MAX_LABELS {
        return Err(ApiError::validation(
            "labels",
            format!("at most {MAX_LABELS} labels, got {}", checked.len()),
        ));
    }
    Ok(checked)
}

/// Replaces the conversation's labels (compared case-insensitively: a label in use
/// keeps its spelling); answers the conversation.
#[utoipa::path(put, path = "/api/v1/conversations/{id}/labels", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)), request_body = LabelsRequest,
    responses((status = 200, body = ConversationDto), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn set_labels(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<LabelsRequest>,
) -> ApiResult<axum::Json<ConversationDto>> {
    authorize(&caller, Permission::Converse)?;
    let labels = check_labels(&req.labels)?;
    let (c, access) = find_actionable(&state, &caller, &id).await?;
    let stored = state.store.set_labels(c.id, &labels).await?;
    publish_updated(&state, &c, Some(&stored));
    Ok(axum::Json(row(&state, &caller, &access, c).await?))
}

/// Every label in use on a conversation the caller may see (for filters and autocomplete).
#[utoipa::path(get, path = "/api/v1/labels", tag = "conversations", security(("bearer" = [])),
    responses((status = 200, body = Vec<String>)))]
pub async fn labels(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<String>>> {
    authorize(&caller, Permission::Converse)?;
    let access = Access::load(state.store.as_ref()).await?;
    let visibility = authz::visibility(&caller.0, &access);
    Ok(axum::Json(state.store.labels(&visibility).await?))
}

/// The caller stops observing the conversation (404 when they do not observe it).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/leave", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "no longer observing"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn leave(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    authorize(&caller, Permission::Converse)?;
    let (c, _) = find_visible(&state, &caller, &id).await?;
    if !c.observer_ids.contains(&caller.id())
        || !state.store.remove_observer(c.id, caller.id()).await?
    {
        return Err(ApiError::NotFound(
            "you do not observe this conversation".into(),
        ));
    }
    publish_updated(&state, &c, None);
    Ok(StatusCode::NO_CONTENT)
}

/// Every conversation with the contact that the caller may see, oldest first (the
/// listing's JSON); 404 when none is visible.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/conversations", tag = "contacts", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<ConversationDto>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn contact_conversations(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<ConversationDto>>> {
    authorize(&caller, Permission::Converse)?;
    let contact_id = parse_id(&id, "contact")?;
    let access = Access::load(state.store.as_ref()).await?;
    let query = ConversationQuery {
        visibility: authz::visibility(&caller.0, &access),
        contact_id: Some(contact_id),
        oldest_first: true,
        ..ConversationQuery::default()
    };
    let page = state.store.list_conversations(&query).await?;
    if page.rows.is_empty() {
        return Err(ApiError::not_found("contact"));
    }
    Ok(axum::Json(rows(&state, &caller, &access, page.rows).await?))
}
