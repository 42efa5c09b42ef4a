//! The audit log: `GET /api/v1/audit` (admins) and [`record`], which the
//! employee, channel, group and routing handlers call after a change.
//!
//! Entries say who changed what, old → new, with only the changed fields of an
//! update. Secrets never reach the log: [`mask`] replaces them with `"***"`
//! (a changed secret shows as `"***"` on both sides). Messenger settings
//! changes come from the settings history the driver writes, listed as entity
//! `settings` with only the changed groups.

use crate::auth::{Caller, Permission, authorize};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{AppendHeaders, IntoResponse};
use axum::routing::get;
use replyline_store::{AuditEntry, Id, NewAuditEntry, changed_groups};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Entries per page when `limit` is absent.
pub const DEFAULT_LIMIT: i64 = 50;
/// The most entries per page.
pub const MAX_LIMIT: i64 = 200;
/// What a secret looks like in the log.
pub const MASK: &str = "***";
/// The cursor of the next page, when there is one.
pub const NEXT_CURSOR: &str = "x-next-cursor";

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(list))
}

/// `GET /api/v1/audit` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries per page, 1 to 200 (default 50).
    #[param(pattern = r"^[0-9]*$")]
    pub limit: Option<String>,
    /// The previous page's `X-Next-Cursor` (its last entry's id); absent = the newest.
    pub before: Option<String>,
}

/// One change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditDto {
    pub id: String,
    pub at: String,
    /// Who made the change (`null`: the system).
    pub employee_id: Option<String>,
    /// `settings`, `channel`, `employee`, `group`, `routing_rules` or `members`.
    pub entity: String,
    pub entity_id: Option<String>,
    /// `create`, `update`, `delete` or `replace`.
    pub action: String,
    /// The changed fields before (`null` for a creation).
    #[schema(value_type = Option<Object>)]
    pub old: Option<Value>,
    /// The changed fields after (`null` for a deletion).
    #[schema(value_type = Option<Object>)]
    pub new: Option<Value>,
}

impl From<AuditEntry> for AuditDto {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id.to_string(),
            at: e.at.to_string(),
            employee_id: e.employee_id.map(|id| id.to_string()),
            entity: e.entity,
            entity_id: e.entity_id,
            action: e.action,
            old: e.old,
            new: e.new,
        }
    }
}

/// Replaces the values of `secrets` (top-level keys, or `a.b` one level down) with [`MASK`].
pub fn mask(value: &mut Value, secrets: &[&str]) {
    for path in secrets {
        let target = match path.split_once('.') {
            Some((outer, inner)) => value.get_mut(outer).and_then(|v| v.get_mut(inner)),
            None => value.get_mut(*path),
        };
        if let Some(v) = target
            && !v.is_null()
        {
            *v = Value::String(MASK.into());
        }
    }
}

/// The old and new values of the fields that differ, one level into nested
/// objects (e.g. `whatsapp`), compared before masking so a rotated secret
/// shows as changed, then masked.
pub fn diff(old: &Value, new: &Value, secrets: &[&str]) -> (Value, Value) {
    let (mut o, mut n) = changed_groups(old, new);
    if let (Some(om), Some(nm)) = (o.as_object_mut(), n.as_object_mut()) {
        for (key, ov) in om.iter_mut() {
            if let Some(nv) = nm.get_mut(key)
                && ov.is_object()
                && nv.is_object()
            {
                let (co, cn) = changed_groups(ov, nv);
                (*ov, *nv) = (co, cn);
            }
        }
    }
    mask(&mut o, secrets);
    mask(&mut n, secrets);
    (o, n)
}

/// What changed, for [`record`].
pub struct Change<'a> {
    pub entity: &'a str,
    pub entity_id: Option<String>,
    pub action: &'a str,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// Appends an audit entry by the caller. The change it describes is already
/// made, so a failing write is logged, not answered as an error.
pub async fn record(state: &AppState, caller: &Caller, change: Change<'_>) {
    let entry = NewAuditEntry {
        employee_id: Some(caller.id()),
        entity: change.entity.into(),
        entity_id: change.entity_id,
        action: change.action.into(),
        old: change.old,
        new: change.new,
    };
    if let Err(err) = state.store.append_audit(&entry, state.clock.now()).await {
        tracing::error!(%err, entity = change.entity, action = change.action, "could not write the audit log");
    }
}

/// Records a creation: `new` is the record's snapshot (masked here).
pub async fn record_created(
    state: &AppState,
    caller: &Caller,
    entity: &str,
    entity_id: String,
    mut new: Value,
    secrets: &[&str],
) {
    mask(&mut new, secrets);
    let change = Change {
        entity,
        entity_id: Some(entity_id),
        action: "create",
        old: None,
        new: Some(new),
    };
    record(state, caller, change).await;
}

/// Records a deletion: `old` is the record's snapshot (masked here).
pub async fn record_deleted(
    state: &AppState,
    caller: &Caller,
    entity: &str,
    entity_id: String,
    mut old: Value,
    secrets: &[&str],
) {
    mask(&mut old, secrets);
    let change = Change {
        entity,
        entity_id: Some(entity_id),
        action: "delete",
        old: Some(old),
        new: None,
    };
    record(state, caller, change).await;
}

/// Records `action` with only the changed fields of two snapshots (unmasked:
/// they are compared first, then masked); nothing when nothing changed.
pub async fn record_changed(
    state: &AppState,
    caller: &Caller,
    (entity, entity_id): (&str, Option<String>),
    action: &str,
    (old, new): (&Value, &Value),
    secrets: &[&str],
) {
    if old == new {
        return;
    }
    let (o, n) = diff(old, new, secrets);
    let change = Change {
        entity,
        entity_id,
        action,
        old: Some(o),
        new: Some(n),
    };
    record(state, caller, change).await;
}

fn check_limit(raw: Option<&str>) -> ApiResult<i64> {
    super::check_limit(raw, DEFAULT_LIMIT, MAX_LIMIT)
}

/// `before`: an entry id (the previous page's `X-Next-Cursor`); 422 naming it otherwise.
fn check_before(raw: Option<&str>) -> ApiResult<Option<Id>> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    match raw.parse::<Id>() {
        Ok(id) if id > 0 => Ok(Some(id)),
        _ => Err(ApiError::validation(
            "before",
            "must be the X-Next-Cursor of the previous page",
        )),
    }
}

/// Settings and team changes, newest first (admins). `X-Next-Cursor` when more exist.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = Vec<AuditDto>, headers(("X-Next-Cursor" = String, description = "pass as `before` for the next page"))),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AuditQuery>,
) -> ApiResult<impl IntoResponse> {
    authorize(&caller, Permission::Administer)?;
    let limit = check_limit(query.limit.as_deref())?;
    let before = check_before(query.before.as_deref())?;
    let mut rows = state.store.audit(limit + 1, before).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = more
        .then(|| {
            rows.last()
                .and_then(|e| HeaderValue::from_str(&e.id.to_string()).ok())
        })
        .flatten();
    let headers: Vec<(HeaderName, HeaderValue)> = next
        .map(|v| (HeaderName::from_static(NEXT_CURSOR), v))
        .into_iter()
        .collect();
    let body: Vec<AuditDto> = rows.into_iter().map(Into::into).collect();
    Ok((AppendHeaders(headers), axum::Json(body)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_rotated_secret_shows_as_changed_but_masked() {
        let old =
            json!({"name": "A", "whatsapp": {"access_token": "old-token", "phone_number_id": "1"}});
        let new =
            json!({"name": "A", "whatsapp": {"access_token": "new-token", "phone_number_id": "1"}});
        let (o, n) = diff(&old, &new, &["whatsapp.access_token"]);
        assert_eq!(o, json!({"whatsapp": {"access_token": "***"}}));
        assert_eq!(n, json!({"whatsapp": {"access_token": "***"}}));
        let text = format!("{o}{n}");
        assert!(!text.contains("old-token") && !text.contains("new-token"));
    }

    #[test]
    fn only_changed_fields_are_kept() {
        let (o, n) = diff(
            &json!({"name": "A", "role": "employee", "password": null}),
            &json!({"name": "B", "role": "employee", "password": "x"}),
            &["password"],
        );
        assert_eq!(o, json!({"name": "A", "password": null}));
        assert_eq!(n, json!({"name": "B", "password": "***"}));
    }
}
