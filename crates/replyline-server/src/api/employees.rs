//! Employees: list, create, read, update, deactivate.

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

fn check_text(field: &str, value: &str) -> ApiResult<()> {
    if value.trim().is_empty() || value.chars().count() > 200 {
        return Err(ApiError::validation(field, "must be 1 to 200 characters"));
    }
    Ok(())
}

fn check_email(email: &str) -> ApiResult<()> {
    let ok = email.len() <= 254
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

async fn dto(state: &AppState, e: Employee) -> ApiResult<EmployeeDto> {
    let access = Access::load(state.store.as_ref()).await?;
    Ok(EmployeeDto::with_access(e, &access))
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

/// Every employee.
#[utoipa::path(get, path = "/api/v1/employees", tag = "employees", security(("bearer" = [])),
    responses((status = 200, body = Vec<EmployeeDto>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<EmployeeDto>>> {
    authorize(&caller, Permission::Converse)?;
    let access = Access::load(state.store.as_ref()).await?;
    Ok(axum::Json(
        state
            .store
            .employees()
            .await?
            .into_iter()
            .map(|e| EmployeeDto::with_access(e, &access))
            .collect(),
    ))
}

/// Creates an employee (admins only).
#[utoipa::path(post, path = "/api/v1/employees", tag = "employees", security(("bearer" = [])), request_body = NewEmployeeRequest,
    responses((status = 201, body = EmployeeDto), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewEmployeeRequest>,
) -> ApiResult<(StatusCode, axum::Json<EmployeeDto>)> {
    authorize(&caller, Permission::Administer)?;
    check_text("name", &req.name)?;
    check_email(req.email.trim())?;
    check_role(&req.role)?;
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
    Ok((
        StatusCode::CREATED,
        axum::Json(dto(&state, employee).await?),
    ))
}

/// One employee.
#[utoipa::path(get, path = "/api/v1/employees/{id}", tag = "employees", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = EmployeeDto), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<EmployeeDto>> {
    authorize(&caller, Permission::Converse)?;
    let e = find(&state, &id).await?;
    Ok(axum::Json(dto(&state, e).await?))
}

/// Changes any subset of an employee's fields (admins only).
#[utoipa::path(patch, path = "/api/v1/employees/{id}", tag = "employees", security(("bearer" = [])), params(("id" = String, Path)), request_body = PatchEmployeeRequest,
    responses((status = 200, body = EmployeeDto), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<PatchEmployeeRequest>,
) -> ApiResult<axum::Json<EmployeeDto>> {
    authorize(&caller, Permission::Administer)?;
    let employee = find(&state, &id).await?;
    if let Some(name) = &req.name {
        check_text("name", name)?;
    }
    if let Some(email) = &req.email {
        check_email(email.trim())?;
    }
    if let Some(role) = &req.role {
        check_role(role)?;
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
    let stops_being_admin =
        req.role.as_deref().is_some_and(|r| r != "admin") || req.active == Some(false);
    if stops_being_admin && employee.active && employee.role == "admin" {
        keep_an_admin(&state, employee.id).await?;
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
    let updated = state.store.update_employee(employee.id, patch).await?;
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
    Ok(axum::Json(dto(&state, updated).await?))
}

/// 409 unless another active admin remains besides `employee_id`: someone must
/// always be able to change settings, channels and people.
async fn keep_an_admin(state: &AppState, employee_id: replyline_store::Id) -> ApiResult<()> {
    let others = state
        .store
        .employees()
        .await?
        .into_iter()
        .any(|e| e.active && e.role == "admin" && e.id != employee_id);
    if others {
        Ok(())
    } else {
        Err(ApiError::Conflict(
            "the last active admin must stay an admin".into(),
        ))
    }
}

/// Deactivates an employee: history stays, tokens are revoked, open chats go back to the channel queue (admins only).
#[utoipa::path(delete, path = "/api/v1/employees/{id}", tag = "employees", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = EmployeeDto), (status = 404, body = crate::error::ErrorBody)))]
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
    let patch = EmployeePatch {
        active: Some(false),
        ..EmployeePatch::default()
    };
    let updated = state.store.update_employee(employee.id, patch).await?;
    state.driver.team_changed();
    state.driver.employee_deactivated(employee.id).await?;
    Ok(axum::Json(dto(&state, updated).await?))
}
