//! Contact cards: `GET/PATCH /api/v1/contacts/{id}` (docs/workspace.md).
//!
//! A contact is visible when one of its conversations is visible to the
//! caller (checked inside the store's query); otherwise it does not exist for
//! them (404). Whoever sees it may rename it and write its note: acting
//! follows seeing for conversations too (observers included).

use super::dto::MAX_TEXT_CHARS;
use super::parse_id;
use crate::auth::{Caller, Permission, authorize};
use crate::authz::{self, Access};
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use replyline_store::{ContactCard, ContactPatch, Id, Visibility};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// The longest contact name, in characters.
pub const MAX_CONTACT_NAME_CHARS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/contacts/{id}", get(read).patch(update))
}

/// A contact card.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactCardDto {
    pub id: String,
    pub channel_id: String,
    /// The name employees gave, else the messenger profile name.
    pub name: Option<String>,
    /// WhatsApp `wa_id` (or business-scoped user id).
    pub address: String,
    pub note: Option<String>,
    /// Labels of its conversations the caller may see.
    pub labels: Vec<String>,
    /// Its conversations the caller may see.
    pub conversations_count: i64,
    /// The client's latest message.
    pub last_seen_at: Option<String>,
    /// An employee named the contact: the profile name no longer overwrites it.
    pub name_edited: bool,
}

impl From<ContactCard> for ContactCardDto {
    fn from(c: ContactCard) -> Self {
        Self {
            id: c.id.to_string(),
            channel_id: c.channel_id.to_string(),
            name: c.name,
            address: c.address,
            note: c.note,
            labels: c.labels,
            conversations_count: c.conversations_count,
            last_seen_at: c.last_seen_at.map(|t| t.to_string()),
            name_edited: c.name_edited,
        }
    }
}

/// Tells an absent field (keep) from `null` (clear).
fn present<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// `PATCH /api/v1/contacts/{id}`: the fields given change; `null` clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchContactRequest {
    /// 1 to 200 characters; `null` gives the name back to the messenger profile.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    /// At most 4096 characters; `null` or empty clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Option<String>>,
}

/// The caller's visibility, as the store filters with it.
pub(crate) async fn caller_visibility(state: &AppState, caller: &Caller) -> ApiResult<Visibility> {
    if caller.is_admin() {
        return Ok(Visibility::everything());
    }
    let access = Access::load(state.store.as_ref()).await?;
    Ok(authz::visibility(&caller.0, &access))
}

/// A contact card as the caller sees it; 404 when it is not visible.
pub(crate) async fn visible_card(
    state: &AppState,
    id: Id,
    visibility: &Visibility,
) -> ApiResult<ContactCard> {
    state
        .store
        .contact_card(id, visibility)
        .await?
        .ok_or_else(|| ApiError::not_found("contact"))
}

fn check_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > MAX_CONTACT_NAME_CHARS {
        return Err(ApiError::validation(
            "name",
            format!("must be 1 to {MAX_CONTACT_NAME_CHARS} characters, got {n}"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::validation(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

fn check_note(note: &str) -> ApiResult<Option<String>> {
    let n = note.chars().count();
    if n > MAX_TEXT_CHARS {
        return Err(ApiError::validation(
            "note",
            format!("must be at most {MAX_TEXT_CHARS} characters, got {n}"),
        ));
    }
    if let Some(c) = super::dto::control_char(note) {
        return Err(ApiError::validation(
            "note",
            format!("must not contain the control character U+{:04X}", c as u32),
        ));
    }
    Ok((!note.trim().is_empty()).then(|| note.to_owned()))
}

fn contact_patch(req: PatchContactRequest) -> ApiResult<ContactPatch> {
    let name = match req.name {
        Some(Some(name)) => Some(Some(check_name(&name)?)),
        Some(None) => Some(None),
        None => None,
    };
    let note = match req.note {
        Some(Some(note)) => Some(check_note(&note)?),
        Some(None) => Some(None),
        None => None,
    };
    Ok(ContactPatch { name, note })
}

/// A contact card: name, address, note, the labels and count of its visible conversations.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ContactCardDto), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ContactCardDto>> {
    authorize(&caller, Permission::Converse)?;
    let id = parse_id(&id, "contact")?;
    let visibility = caller_visibility(&state, &caller).await?;
    Ok(axum::Json(
        visible_card(&state, id, &visibility).await?.into(),
    ))
}

/// Renames a contact (the messenger profile name no longer overwrites it) or writes its note.
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", security(("bearer" = [])), params(("id" = String, Path)), request_body = PatchContactRequest,
    responses((status = 200, body = ContactCardDto), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<PatchContactRequest>,
) -> ApiResult<axum::Json<ContactCardDto>> {
    authorize(&caller, Permission::Converse)?;
    let id = parse_id(&id, "contact")?;
    let visibility = caller_visibility(&state, &caller).await?;
    visible_card(&state, id, &visibility).await?;
    let patch = contact_patch(req)?;
    state.store.patch_contact(id, &patch).await?;
    Ok(axum::Json(
        visible_card(&state, id, &visibility).await?.into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(body: &str) -> ApiResult<ContactPatch> {
        contact_patch(crate::json::parse(body.as_bytes())?)
    }

    #[test]
    fn absent_keeps_null_clears_and_limits_name_the_field() {
        assert_eq!(patch("{}").unwrap(), ContactPatch::default());
        let p = patch(r#"{"name": " Анна ", "note": null}"#).unwrap();
        assert_eq!(p.name, Some(Some("Анна".into())));
        assert_eq!(p.note, Some(None));
        assert_eq!(patch(r#"{"note": "  "}"#).unwrap().note, Some(None));
        for (body, field) in [
            (r#"{"name": ""}"#.to_owned(), "name"),
            (format!(r#"{{"name": "{}"}}"#, "я".repeat(201)), "name"),
            (r#"{"name": "a\u0000b"}"#.to_owned(), "name"),
            (format!(r#"{{"note": "{}"}}"#, "я".repeat(4097)), "note"),
        ] {
            match patch(&body) {
                Err(ApiError::Validation { field: Some(f), .. }) => assert_eq!(f, field, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }
}
