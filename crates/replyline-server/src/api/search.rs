//! Full-text search: `GET /api/v1/search?q=&limit=` over the messages and
//! contacts the caller may see (docs/workspace.md, "Search tokenizer").
//!
//! The caller's [`Visibility`](replyline_store::Visibility) is part of the SQL
//! query, so a limit never hides a visible result and nothing invisible is
//! found. Every word of `q` is quoted and matched as a word prefix by the
//! store: no search syntax from the user reaches the engine.

use super::contacts::{ContactCardDto, caller_visibility};
use crate::auth::{Caller, Permission, authorize};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use replyline_store::{ContactCard, Id, MessageHit, Visibility};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Results per list when `limit` is absent.
pub const DEFAULT_LIMIT: i64 = 20;
/// The most results per list.
pub const MAX_LIMIT: i64 = 100;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/search", get(search))
}

/// `GET /api/v1/search` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// 1 to 200 characters; each word matches as a word prefix, all words required.
    pub q: Option<String>,
    /// Results per list, 1 to 100 (default 20).
    #[param(pattern = r"^[0-9]*$")]
    pub limit: Option<String>,
}

/// A message found by search.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResultDto {
    pub id: String,
    pub conversation_id: String,
    pub contact: ContactCardDto,
    /// client, employee, note, greeting, no_reply, closing, out_of_hours.
    pub kind: String,
    pub text: String,
    /// Plain text (at most 160 characters) around the first match; the UI highlights the words.
    pub snippet: String,
    pub created_at: String,
}

/// What a search found, newest first in each list.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResultsDto {
    pub messages: Vec<MessageResultDto>,
    pub contacts: Vec<ContactCardDto>,
}

fn check_query(q: Option<&str>) -> ApiResult<&str> {
    let q = q.unwrap_or_default();
    let n = q.chars().count();
    if q.trim().is_empty() || n > MAX_QUERY_CHARS {
        return Err(ApiError::validation(
            "q",
            format!("must be 1 to {MAX_QUERY_CHARS} characters, got {n}"),
        ));
    }
    Ok(q)
}

fn check_limit(raw: Option<&str>) -> ApiResult<i64> {
    super::check_limit(raw, DEFAULT_LIMIT, MAX_LIMIT)
}

/// The cards of the contacts of `hits` (visible, since their messages are).
async fn cards_of(
    state: &AppState,
    hits: &[MessageHit],
    known: &[ContactCard],
    visibility: &Visibility,
) -> ApiResult<HashMap<Id, ContactCard>> {
    let mut cards: HashMap<Id, ContactCard> = known.iter().map(|c| (c.id, c.clone())).collect();
    for hit in hits {
        if cards.contains_key(&hit.contact_id) {
            continue;
        }
        if let Some(card) = state.store.contact_card(hit.contact_id, visibility).await? {
            cards.insert(card.id, card);
        }
    }
    Ok(cards)
}

/// Messages and contacts matching every word of `q`, within what the caller may see.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", security(("bearer" = [])), params(SearchQuery),
    responses((status = 200, body = SearchResultsDto), (status = 401, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<SearchQuery>,
) -> ApiResult<axum::Json<SearchResultsDto>> {
    authorize(&caller, Permission::Converse)?;
    let q = check_query(query.q.as_deref())?;
    let limit = check_limit(query.limit.as_deref())?;
    let visibility = caller_visibility(&state, &caller).await?;
    let found = state.store.search(q, &visibility, limit).await?;
    let cards = cards_of(&state, &found.messages, &found.contacts, &visibility).await?;
    let messages = found
        .messages
        .into_iter()
        .filter_map(|m| {
            let contact = cards.get(&m.contact_id)?.clone();
            Some(MessageResultDto {
                id: m.id.to_string(),
                conversation_id: m.conversation_id.to_string(),
                contact: contact.into(),
                kind: m.kind,
                text: m.text,
                snippet: m.snippet,
                created_at: m.created_at.to_string(),
            })
        })
        .collect();
    Ok(axum::Json(SearchResultsDto {
        messages,
        contacts: found.contacts.into_iter().map(Into::into).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_limit_bounds_name_their_field() {
        assert_eq!(check_query(Some("доставка")).unwrap(), "доставка");
        for bad in [None, Some(""), Some("   ")] {
            assert!(check_query(bad).is_err(), "{bad:?}");
        }
        assert!(check_query(Some(&"я".repeat(201))).is_err());
        assert!(check_query(Some(&"я".repeat(200))).is_ok());
        assert_eq!(check_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(check_limit(Some("100")).unwrap(), 100);
        for bad in ["0", "101", "x", "-1"] {
            match check_limit(Some(bad)) {
                Err(ApiError::Validation { field: Some(f), .. }) => assert_eq!(f, "limit"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
