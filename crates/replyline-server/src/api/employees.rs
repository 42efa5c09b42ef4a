//! Employees: list, create, read, update, deactivate.
//!
//! Contact details (`email`, `telegram_chat_id`) of a colleague are `null`
//! unless the caller is an admin, the employee themself or above them in the
//! manager chain (who is notified about their chats). Names, roles, managers,
//! presence and channels stay visible: they are needed to transfer chats.

use super::audit;
use super::dto::{EmployeeDto, NewEmployeeRequest, PatchEmployeeRequest};
use super::parse_id;
use crate::auth::{Caller, Permission, authorize, hash_password};
use crate::authz::Access;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use replyline_store::{Employee, EmployeePatch, Id, NewEmployee, Store};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/employees", get(list).post(create))
        .route(
            "/api/v1/employees/{id}",
            get(read).patch(update).delete(deactivate),
        )
}

const ROLES: [&str; 3] = ["admin", "manager", "employee"];

fn check_role(role: &str) -> ApiResult<()> {
    if ROLES.contains(&role) {
        Ok(())
    } else {
        Err(ApiError::validation(
            "role",
            format!("must be admin, manager or employee, got {role:?}"),
        ))
    }
}

/// A name: 1 to 200 characters, no control characters (NUL, line breaks).
pub(crate) fn check_text(field: &str, value: &str) -> ApiResult<()> {
    if value.trim().is_empty() || value.chars().count() > 200 {
        return Err(ApiError::validation(field, "must be 1 to 200 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::validation(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// The longest `telegram_chat_id` (Telegram's ids are 64-bit integers or `@usernames`).
const MAX_TELEGRAM_CHAT_ID_CHARS: usize = 64;

pub(crate) fn check_telegram_chat_id(value: &str) -> ApiResult<()> {
    let ok = !value.is_empty()
        && value.chars().count() <= MAX_TELEGRAM_CHAT_ID_CHARS
        && !value.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(
            "telegram_chat_id",
            format!(
                "must be 1 to {MAX_TELEGRAM_CHAT_ID_CHARS} characters without spaces or control characters"
            ),
        ))
    }
}

fn check_email(email: &str) -> ApiResult<()> {
    let ok = email.len() <= 254
        && !email.chars().any(char::is_control)
        && email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && !host.is_empty());
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation("email", "must be an e-mail address"))
    }
}

fn check_password(password: &str) -> ApiResult<()> {
    if password.chars().count() < 8 || password.len() > 1024 {
        return Err(ApiError::validation(
            "password",
            "must be 8 to 1024 characters",
        ));
    }
    Ok(())
}

/// Resolves a manager id and refuses chains that would loop back to `employee`.
async fn check_manager(store: &dyn Store, employee: Option<Id>, manager: &str) -> ApiResult<Id> {
    let manager_id: Id = manager
        .parse()
        .map_err(|_| ApiError::validation("manager_id", "no such employee"))?;
    let mut seen = 0;
    let mut next = Some(manager_id);
    while let Some(id) = next {
        if Some(id) == employee {
            return Err(ApiError::validation(
                "manager_id",
                "the manager chain would form a cycle",
            ));
        }
        let e = store
            .employee(id)
            .await?
            .ok_or_else(|| ApiError::validation("manager_id", "no such employee"))?;
        next = e.manager_id;
        seen += 1;
        if seen > 1000 {
            return Err(ApiError::validation(
                "manager_id",
                "the manager chain is too long",
            ));
        }
    }
    Ok(manager_id)
}

/// Resolves `channel_ids` (each must name a channel) — 422 otherwise.
pub(crate) async fn check_channels(store: &dyn Store, ids: &[String]) -> ApiResult<Vec<Id>> {
    let mut out = Vec::with_capacity(ids.len());
    for raw in ids {
        let id: Id = raw
            .trim()
            .parse()
            .map_err(|_| ApiError::validation("channel_ids", format!("no such channel {raw:?}")))?;
        if store.channel(id).await?.is_none() {
            return Err(ApiError::validation(
                "channel_ids",
                format!("no such channel {raw:?}"),
            ));
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// The password hash: compared to see a change, always masked in the log.
const AUDIT_SECRETS: &[&str] = &["password"];

/// An employee as the audit log records them (masked with [`AUDIT_SECRETS`]).
async fn audit_snapshot(state: &AppState, e: &Employee) -> ApiResult<Value> {
    let access = Access::load(state.store.as_ref()).await?;
    let channel_ids: Vec<String> = access.channels_of(e.id).iter().map(Id::to_string).collect();
    Ok(json!({
        "name": e.name, "display_name": e.display_name, "email": e.email, "role": e.role,
        "manager_id": e.manager_id.map(|m| m.to_string()), "telegram_chat_id": e.telegram_chat_id,
        "active": e.active, "channel_ids": channel_ids, "password": e.password_hash,
    }))
}

/// Records a change of `before` into `after` (`update` or `delete`).
async fn audit_change(
    state: &AppState,
    caller: &Caller,
    action: &str,
    before: &Value,
    after: &Employee,
) -> ApiResult<()> {
    let after_snapshot = audit_snapshot(state, after).await?;
    let entity = ("employee", Some(after.id.to_string()));
    audit::record_changed(
        state,
        caller,
        entity,
        action,
        (before, &after_snapshot),
        AUDIT_SECRETS,
    )
    .await;
    Ok(())
}

async fn dto(state: &AppState, e: Employee) -> ApiResult<EmployeeDto> {
    let access = Access::load(state.store.as_ref()).await?;
    Ok(EmployeeDto::with_access(e, &access))
}

/// An employee as the caller may see them: [`EmployeeDto`] whose `email` and
/// `telegram_chat_id` are `null` for a colleague the caller is neither admin of,
/// nor the same person as, nor above in the manager chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmployeeView {
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    /// `null` when the caller may not see it.
    pub email: Option<String>,
    /// admin, manager or employee.
    pub role: String,
    pub manager_id: Option<String>,
    /// `null` when unset or the caller may not see it.
    pub telegram_chat_id: Option<String>,
    pub active: bool,
    pub online: bool,
    /// The last authenticated API call (updated at most once a minute).
    pub last_seen_at: Option<String>,
    /// Channels this employee is a member of.
    pub channel_ids: Vec<String>,
}

/// Whether `caller` may see `employee`'s contact details.
fn sees_contact_details(caller: &Caller, employee: Id, access: &Access) -> bool {
    caller.is_admin() || caller.id() == employee || access.is_under(employee, caller.id())
}

impl EmployeeView {
    fn new(e: Employee, caller: &Caller, access: &Access) -> Self {
        let shown = sees_contact_details(caller, e.id, access);
        let EmployeeDto {
            id,
            name,
            display_name,
            email,
            role,
            manager_id,
            telegram_chat_id,
            active,
            online,
            last_seen_at,
            channel_ids,
        } = EmployeeDto::with_access(e, access);
        Self {
            id,
            name,
            display_name,
            email: shown.then_some(email),
            role,
            manager_id,
            telegram_chat_id: telegram_chat_id.filter(|_| shown),
            active,
            online,
            last_seen_at,
            channel_ids,
        }
    }
}

async fn hash(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}

async fn find(state: &AppState, id: &str) -> ApiResult<Employee> {
    let id = parse_id(id, "employee")?;
    state
        .store
        .employee(id)
        .await?
        .ok_or_else(|| ApiError::not_found("employee"))
}

/// Every employee; colleagues' contact details only for admins and managers above them.
#[utoipa::path(get, path = "/api/v1/employees", tag = "employees", security(("bearer" = [])),
    responses((status = 200, body = Vec<EmployeeView>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<EmployeeView>>> {
    authorize(&caller, Permission::Converse)?;
    let access = Access::load(state.store.as_ref()).await?;
    Ok(axum::Json(
        state
            .store
            .employees()
            .await?
            .into_iter()
            .map(|e| EmployeeView::new(e, &caller, &access))
            .collect(),
    ))
}

/// Creates an employee (admins only).
#[utoipa::path(post, path = "/api/v1/employees", tag = "employees", security(("bearer" = [])), request_body = NewEmployeeRequest,
    responses((status = 201, body = EmployeeDto), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 415, description = "the body is not application/json", body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewEmployeeRequest>,
) -> ApiResult<(StatusCode, axum::Json<EmployeeDto>)> {
    authorize(&caller, Permission::Administer)?;
    check_text("name", &req.name)?;
    if let Some(display_name) = &req.display_name {
        check_text("display_name", display_name)?;
    }
    check_email(req.email.trim())?;
    check_role(&req.role)?;
    if let Some(chat) = &req.telegram_chat_id {
        check_telegram_chat_id(chat)?;
    }
    let manager_id = match &req.manager_id {
        Some(m) => Some(check_manager(state.store.as_ref(), None, m).await?),
        None => None,
    };
    let channels = match &req.channel_ids {
        Some(ids) => Some(check_channels(state.store.as_ref(), ids).await?),
        None => None,
    };
    let password_hash = match req.password {
        Some(p) => {
            check_password(&p)?;
            Some(hash(p).await?)
        }
        None => None,
    };
    let new = NewEmployee {
        email: req.email.trim().to_owned(),
        name: req.name,
        display_name: req.display_name,
        role: req.role,
        manager_id,
        password_hash,
        telegram_chat_id: req.telegram_chat_id,
    };
    let employee = state
        .store
        .create_employee(new, state.clock.now())
        .await
        .map_err(|e| match e {
            replyline_store::StoreError::Conflict(_) => {
                ApiError::Conflict("an employee with this e-mail exists".into())
            }
            other => other.into(),
        })?;
    if let Some(channels) = channels {
        state
            .store
            .set_employee_channels(employee.id, &channels)
            .await?;
    }
    state.driver.team_changed();
    let snapshot = audit_snapshot(&state, &employee).await?;
    audit::record_created(
        &state,
        &caller,
        "employee",
        employee.id.to_string(),
        snapshot,
        AUDIT_SECRETS,
    )
    .await;
    Ok((
        StatusCode::CREATED,
        axum::Json(dto(&state, employee).await?),
    ))
}

/// One employee; a colleague's contact details only for admins and managers above them.
#[utoipa::path(get, path = "/api/v1/employees/{id}", tag = "employees", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = EmployeeView), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<EmployeeView>> {
    authorize(&caller, Permission::Converse)?;
    let e = find(&state, &id).await?;
    let access = Access::load(state.store.as_ref()).await?;
    Ok(axum::Json(EmployeeView::new(e, &caller, &access)))
}

/// Changes any subset of an employee's fields (admins only). A new password revokes every
/// token of the employee (all their sessions and API tokens; when admins reset their own,
/// the session doing it stays). 409 when it would leave no active admin.
#[utoipa::path(patch, path = "/api/v1/employees/{id}", tag = "employees", security(("bearer" = [])), params(("id" = String, Path)), request_body = PatchEmployeeRequest,
    responses((status = 200, body = EmployeeDto), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, description = "an e-mail taken, or the last active admin would stop being one", body = crate::error::ErrorBody),
        (status = 415, description = "the body is not application/json", body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<PatchEmployeeRequest>,
) -> ApiResult<axum::Json<EmployeeDto>> {
    authorize(&caller, Permission::Administer)?;
    let employee = find(&state, &id).await?;
    let before = audit_snapshot(&state, &employee).await?;
    if let Some(name) = &req.name {
        check_text("name", name)?;
    }
    if let Some(Some(display_name)) = &req.display_name {
        check_text("display_name", display_name)?;
    }
    if let Some(email) = &req.email {
        check_email(email.trim())?;
    }
    if let Some(role) = &req.role {
        check_role(role)?;
    }
    if let Some(Some(chat)) = &req.telegram_chat_id {
        check_telegram_chat_id(chat)?;
    }
    let manager_id = match &req.manager_id {
        Some(Some(m)) => Some(Some(
            check_manager(state.store.as_ref(), Some(employee.id), m).await?,
        )),
        Some(None) => Some(None),
        None => None,
    };
    if req.active == Some(false) && employee.id == caller.id() {
        return Err(ApiError::Conflict("you cannot deactivate yourself".into()));
    }
    let channels = match &req.channel_ids {
        Some(ids) => Some(check_channels(state.store.as_ref(), ids).await?),
        None => None,
    };
    let password_hash = match req.password {
        Some(p) => {
            check_password(&p)?;
            Some(hash(p).await?)
        }
        None => None,
    };
    let patch = EmployeePatch {
        email: req.email.map(|e| e.trim().to_owned()),
        name: req.name,
        display_name: req.display_name,
        role: req.role,
        manager_id,
        password_hash,
        telegram_chat_id: req.telegram_chat_id,
        active: req.active,
    };
    // The store refuses (409) an update leaving no active admin, atomically with
    // the write; a password change revokes the employee's tokens there too.
    let keep = (employee.id == caller.id()).then(|| caller.token_id());
    let updated = state
        .store
        .update_employee_keeping_token(employee.id, patch, keep)
        .await?;
    if let Some(channels) = channels {
        state
            .store
            .set_employee_channels(employee.id, &channels)
            .await?;
    }
    state.driver.team_changed();
    if employee.active && !updated.active {
        state.driver.employee_deactivated(employee.id).await?;
    }
    audit_change(&state, &caller, "update", &before, &updated).await?;
    Ok(axum::Json(dto(&state, updated).await?))
}

/// Deactivates an employee: history stays, tokens are revoked, open chats go back to the channel queue (admins only).
/// 409 for oneself and for the last active admin.
#[utoipa::path(delete, path = "/api/v1/employees/{id}", tag = "employees", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = EmployeeDto), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<EmployeeDto>> {
    authorize(&caller, Permission::Administer)?;
    let employee = find(&state, &id).await?;
    if employee.id == caller.id() {
        return Err(ApiError::Conflict("you cannot deactivate yourself".into()));
    }
    let before = audit_snapshot(&state, &employee).await?;
    let patch = EmployeePatch {
        active: Some(false),
        ..EmployeePatch::default()
    };
    let updated = state.store.update_employee(employee.id, patch).await?;
    state.driver.team_changed();
    state.driver.employee_deactivated(employee.id).await?;
    audit_change(&state, &caller, "delete", &before, &updated).await?;
    Ok(axum::Json(dto(&state, updated).await?))
}
