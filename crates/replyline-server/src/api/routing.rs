//! User groups and routing rules (SPEC §3a): «группы пользователей» and «Правила маршрутизации сообщений».

use super::{audit, parse_id};
use crate::auth::Caller;
use crate::authz;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use replyline_store::{Group, Id, NewRoutingRule, RoutingRuleRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

/// Most routing rules; far above what a settings page can show.
const MAX_RULES: usize = 500;
/// Most keywords per rule.
const MAX_KEYWORDS: usize = 100;
/// Longest keyword or phrase, in characters.
const MAX_KEYWORD_CHARS: usize = 200;
/// Longest group name, in characters.
const MAX_GROUP_NAME_CHARS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/groups", get(list_groups).post(create_group))
        .route(
            "/api/v1/groups/{id}",
            get(read_group).patch(update_group).delete(delete_group),
        )
        .route("/api/v1/routing-rules", get(list_rules).put(replace_rules))
}

/// A user group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupDto {
    pub id: String,
    pub name: String,
    /// Members, by employee id.
    pub employee_ids: Vec<String>,
}

impl From<Group> for GroupDto {
    fn from(g: Group) -> Self {
        Self {
            id: g.id.to_string(),
            name: g.name,
            employee_ids: g.employee_ids.iter().map(Id::to_string).collect(),
        }
    }
}

/// `POST /api/v1/groups`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroupRequest {
    /// 1 to 200 characters, unique (case-insensitive).
    pub name: String,
    #[serde(default)]
    pub employee_ids: Vec<String>,
}

/// `PATCH /api/v1/groups/{id}`: the fields named change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchGroupRequest {
    pub name: Option<String>,
    pub employee_ids: Option<Vec<String>>,
}

/// A routing rule; its priority is its position in the list (first match wins).
#[derive(Debug, Serialize, ToSchema)]
pub struct RoutingRuleDto {
    pub id: String,
    /// 1-based priority.
    pub position: i64,
    /// Words or phrases matched case-insensitively at word starts («ё» = «е»).
    pub keywords: Vec<String>,
    /// The rule applies only to this channel («Учётная запись»); null = any.
    pub channel_id: Option<String>,
    /// The target: one employee ...
    pub employee_id: Option<String>,
    /// ... or a group (round robin among its online members).
    pub group_id: Option<String>,
}

impl From<RoutingRuleRecord> for RoutingRuleDto {
    fn from(r: RoutingRuleRecord) -> Self {
        let text = |id: Option<Id>| id.map(|id| id.to_string());
        Self {
            id: r.id.to_string(),
            position: r.position,
            keywords: r.rule.keywords,
            channel_id: text(r.rule.channel_id),
            employee_id: text(r.rule.employee_id),
            group_id: text(r.rule.group_id),
        }
    }
}

/// One rule of `PUT /api/v1/routing-rules`; exactly one of `employee_id` and `group_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingRuleRequest {
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub channel_id: Option<String>,
    #[serde(default)]
    pub employee_id: Option<String>,
    #[serde(default)]
    pub group_id: Option<String>,
}

/// A group as the audit log records it.
fn group_snapshot(g: &Group) -> Value {
    json!({"name": g.name, "employee_ids": g.employee_ids.iter().map(Id::to_string).collect::<Vec<_>>()})
}

/// The routing rules as the audit log records them, `{"rules": [..]}` in
/// priority order (ids change on every replace).
fn rules_snapshot(rules: &[RoutingRuleRecord]) -> Value {
    let text = |id: Option<Id>| id.map(|id| id.to_string());
    let rules: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({"keywords": r.rule.keywords, "channel_id": text(r.rule.channel_id),
                "employee_id": text(r.rule.employee_id), "group_id": text(r.rule.group_id)})
        })
        .collect();
    json!({ "rules": rules })
}

fn group_name(raw: &str) -> ApiResult<String> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_GROUP_NAME_CHARS || name.contains(char::is_control) {
        return Err(ApiError::validation(
            "name",
            format!("must be 1 to {MAX_GROUP_NAME_CHARS} characters without control characters"),
        ));
    }
    Ok(name.to_owned())
}

/// 409 when another group already has this name (case-insensitive, Cyrillic included).
async fn name_is_free(state: &AppState, name: &str, except: Option<Id>) -> ApiResult<()> {
    let lower = name.to_lowercase();
    let taken = state
        .store
        .groups()
        .await?
        .into_iter()
        .any(|g| Some(g.id) != except && g.name.to_lowercase() == lower);
    if taken {
        return Err(ApiError::Conflict(format!(
            "a group named {name:?} already exists"
        )));
    }
    Ok(())
}

/// Resolves employee ids (each must name an employee), without duplicates.
async fn employee_ids(state: &AppState, field: &str, raw: &[String]) -> ApiResult<Vec<Id>> {
    let mut ids = Vec::with_capacity(raw.len());
    for (index, value) in raw.iter().enumerate() {
        let id = existing_employee(state, &format!("{field}[{index}]"), value).await?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

async fn existing_employee(state: &AppState, field: &str, raw: &str) -> ApiResult<Id> {
    let found = match raw.trim().parse::<Id>() {
        Ok(id) => state.store.employee(id).await?,
        Err(_) => None,
    };
    found
        .map(|e| e.id)
        .ok_or_else(|| ApiError::validation(field, format!("no employee with id {raw:?}")))
}

/// Who may read groups: every signed-in employee (they are transfer targets).
#[utoipa::path(get, path = "/api/v1/groups", tag = "routing", security(("bearer" = [])),
    responses((status = 200, body = [GroupDto]), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list_groups(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<axum::Json<Vec<GroupDto>>> {
    let groups = state.store.groups().await?;
    Ok(axum::Json(groups.into_iter().map(GroupDto::from).collect()))
}

/// One group.
#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "routing", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = GroupDto), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read_group(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<GroupDto>> {
    let id = parse_id(&id, "group")?;
    let group = state
        .store
        .group(id)
        .await?
        .ok_or_else(|| ApiError::not_found("group"))?;
    Ok(axum::Json(group.into()))
}

/// Creates a group (admins).
#[utoipa::path(post, path = "/api/v1/groups", tag = "routing", security(("bearer" = [])), request_body = NewGroupRequest,
    responses((status = 201, body = GroupDto), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewGroupRequest>,
) -> ApiResult<(StatusCode, axum::Json<GroupDto>)> {
    authz::require_admin(&caller.0)?;
    let name = group_name(&req.name)?;
    name_is_free(&state, &name, None).await?;
    let members = employee_ids(&state, "employee_ids", &req.employee_ids).await?;
    let group = state
        .store
        .create_group(&name, &members, state.clock.now())
        .await?;
    let (id, snapshot) = (group.id.to_string(), group_snapshot(&group));
    audit::record_created(&state, &caller, "group", id, snapshot, &[]).await;
    Ok((StatusCode::CREATED, axum::Json(group.into())))
}

/// Renames a group or replaces its members (admins).
#[utoipa::path(patch, path = "/api/v1/groups/{id}", tag = "routing", security(("bearer" = [])), params(("id" = String, Path)), request_body = PatchGroupRequest,
    responses((status = 200, body = GroupDto), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn update_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<PatchGroupRequest>,
) -> ApiResult<axum::Json<GroupDto>> {
    authz::require_admin(&caller.0)?;
    let id = parse_id(&id, "group")?;
    let name = req.name.as_deref().map(group_name).transpose()?;
    if let Some(name) = &name {
        name_is_free(&state, name, Some(id)).await?;
    }
    let members = match &req.employee_ids {
        Some(raw) => Some(employee_ids(&state, "employee_ids", raw).await?),
        None => None,
    };
    let before = state.store.group(id).await?.as_ref().map(group_snapshot);
    let group = state
        .store
        .update_group(id, name.as_deref(), members.as_deref())
        .await
        .map_err(|err| match err {
            replyline_store::StoreError::NotFound => ApiError::not_found("group"),
            other => other.into(),
        })?;
    if let Some(before) = before {
        let entity = ("group", Some(id.to_string()));
        let change = (&before, &group_snapshot(&group));
        audit::record_changed(&state, &caller, entity, "update", change, &[]).await;
    }
    Ok(axum::Json(group.into()))
}

/// Deletes a group (admins); 409 while a routing rule sends chats to it.
#[utoipa::path(delete, path = "/api/v1/groups/{id}", tag = "routing", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    authz::require_admin(&caller.0)?;
    let id = parse_id(&id, "group")?;
    let before = state.store.group(id).await?;
    if state.store.delete_group(id).await? {
        if let Some(before) = before {
            let snapshot = group_snapshot(&before);
            audit::record_deleted(&state, &caller, "group", id.to_string(), snapshot, &[]).await;
        }
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("group"))
    }
}

/// The routing rules in priority order (admins).
#[utoipa::path(get, path = "/api/v1/routing-rules", tag = "routing", security(("bearer" = [])),
    responses((status = 200, body = [RoutingRuleDto]), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list_rules(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<RoutingRuleDto>>> {
    authz::require_admin(&caller.0)?;
    let rules = state.store.routing_rules().await?;
    Ok(axum::Json(
        rules.into_iter().map(RoutingRuleDto::from).collect(),
    ))
}

/// Replaces every routing rule with the list given, in priority order (admins).
#[utoipa::path(put, path = "/api/v1/routing-rules", tag = "routing", security(("bearer" = [])), request_body = [RoutingRuleRequest],
    responses((status = 200, body = [RoutingRuleDto]), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn replace_rules(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<Vec<RoutingRuleRequest>>,
) -> ApiResult<axum::Json<Vec<RoutingRuleDto>>> {
    authz::require_admin(&caller.0)?;
    if req.len() > MAX_RULES {
        return Err(ApiError::validation(
            "rules",
            format!("at most {MAX_RULES} rules"),
        ));
    }
    let mut rules = Vec::with_capacity(req.len());
    for (index, rule) in req.iter().enumerate() {
        rules.push(validate_rule(&state, index, rule).await?);
    }
    let before = rules_snapshot(&state.store.routing_rules().await?);
    let saved = state.store.replace_routing_rules(&rules).await?;
    state.driver.routing_changed();
    let change = (&before, &rules_snapshot(&saved));
    audit::record_changed(
        &state,
        &caller,
        ("routing_rules", None),
        "replace",
        change,
        &[],
    )
    .await;
    Ok(axum::Json(
        saved.into_iter().map(RoutingRuleDto::from).collect(),
    ))
}

async fn validate_rule(
    state: &AppState,
    index: usize,
    rule: &RoutingRuleRequest,
) -> ApiResult<NewRoutingRule> {
    let field = |name: &str| format!("[{index}].{name}");
    let keywords = keywords(&field("keywords"), &rule.keywords)?;
    let channel_id = match rule.channel_id.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(raw) => Some(existing_channel(state, &field("channel_id"), raw).await?),
        None => None,
    };
    let employee = rule.employee_id.as_deref().filter(|e| !e.trim().is_empty());
    let group = rule.group_id.as_deref().filter(|g| !g.trim().is_empty());
    let (employee_id, group_id) = match (employee, group) {
        (Some(raw), None) => (
            Some(existing_employee(state, &field("employee_id"), raw).await?),
            None,
        ),
        (None, Some(raw)) => (
            None,
            Some(existing_group(state, &field("group_id"), raw).await?),
        ),
        _ => {
            return Err(ApiError::validation(
                field("employee_id"),
                "name exactly one target: employee_id or group_id",
            ));
        }
    };
    Ok(NewRoutingRule {
        keywords,
        channel_id,
        employee_id,
        group_id,
    })
}

/// Trimmed keywords without empty ones or duplicates; at least one.
fn keywords(field: &str, raw: &[String]) -> ApiResult<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for keyword in raw {
        let keyword = keyword.split_whitespace().collect::<Vec<_>>().join(" ");
        if keyword.is_empty() || out.contains(&keyword) {
            continue;
        }
        if keyword.chars().count() > MAX_KEYWORD_CHARS || keyword.contains(char::is_control) {
            return Err(ApiError::validation(
                field,
                format!(
                    "each keyword must be at most {MAX_KEYWORD_CHARS} characters without control characters"
                ),
            ));
        }
        out.push(keyword);
    }
    if out.is_empty() || out.len() > MAX_KEYWORDS {
        return Err(ApiError::validation(
            field,
            format!("name 1 to {MAX_KEYWORDS} keywords"),
        ));
    }
    Ok(out)
}

async fn existing_channel(state: &AppState, field: &str, raw: &str) -> ApiResult<Id> {
    let found = match raw.trim().parse::<Id>() {
        Ok(id) => state.store.channel(id).await?,
        Err(_) => None,
    };
    found
        .map(|c| c.id)
        .ok_or_else(|| ApiError::validation(field, format!("no channel with id {raw:?}")))
}

async fn existing_group(state: &AppState, field: &str, raw: &str) -> ApiResult<Id> {
    let found = match raw.trim().parse::<Id>() {
        Ok(id) => state.store.group(id).await?,
        Err(_) => None,
    };
    found
        .map(|g| g.id)
        .ok_or_else(|| ApiError::validation(field, format!("no group with id {raw:?}")))
}
