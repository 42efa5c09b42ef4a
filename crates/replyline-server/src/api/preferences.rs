//! Per-employee notification preferences: channels, language, quiet hours, and the web
//! workspace's alert switches (sound, desktop notification, unread count in the tab title).

use super::parse_id;
use crate::auth::Caller;
use crate::delivery::quiet_hours;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use replyline_store::{Id, Preferences};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me/preferences", get(read_own).put(write_own))
        .route(
            "/api/v1/employees/{id}/preferences",
            get(read_any).put(write_any),
        )
}

/// Quiet hours: external deliveries (e-mail, Telegram) wait until `end`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuietHoursDto {
    /// Local `HH:MM`, e.g. `22:00`.
    pub start: String,
    /// Local `HH:MM`, e.g. `08:00`.
    pub end: String,
    /// IANA time zone, e.g. `Europe/Moscow`.
    pub timezone: String,
}

/// Notification preferences of one employee.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreferencesDto {
    /// Deliver notifications by e-mail (when the server has `smtp_url`).
    pub email: bool,
    /// Deliver notifications to the linked Telegram chat (when the server has a bot).
    pub telegram: bool,
    /// `ru` (default) or `en`: the language of e-mail and Telegram texts.
    pub language: String,
    /// `null` = no quiet hours.
    #[schema(value_type = Option<QuietHoursDto>)]
    pub quiet_hours: Option<Value>,
    /// The web workspace beeps when a client writes in one of the caller's chats (default true).
    pub alert_sound: bool,
    /// The web workspace shows a desktop notification then (default true; the browser asks once).
    pub alert_desktop: bool,
    /// The tab title shows the unread count, `(3) Replyline` (default true).
    pub alert_title: bool,
}

/// `PUT` body: any subset of the fields; omitted fields keep their value, unknown ones are a
/// 400 (a misspelt switch must not pass for saved).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesRequest {
    #[schema(value_type = Option<bool>)]
    pub email: Option<Value>,
    #[schema(value_type = Option<bool>)]
    pub telegram: Option<Value>,
    #[schema(value_type = Option<String>)]
    pub language: Option<Value>,
    #[serde(default, deserialize_with = "super::dto::double")]
    #[schema(value_type = Option<QuietHoursDto>)]
    pub quiet_hours: Option<Option<Value>>,
    #[schema(value_type = Option<bool>)]
    pub alert_sound: Option<Value>,
    #[schema(value_type = Option<bool>)]
    pub alert_desktop: Option<Value>,
    #[schema(value_type = Option<bool>)]
    pub alert_title: Option<Value>,
}

fn dto(p: Preferences) -> PreferencesDto {
    PreferencesDto {
        email: p.email,
        telegram: p.telegram,
        language: p.language,
        quiet_hours: p.quiet_hours,
        alert_sound: p.alert_sound,
        alert_desktop: p.alert_desktop,
        alert_title: p.alert_title,
    }
}

fn flag(field: &str, v: &Value) -> ApiResult<bool> {
    v.as_bool()
        .ok_or_else(|| ApiError::validation(field, "must be true or false"))
}

/// Applies a validated request to the current preferences.
fn apply(mut p: Preferences, req: PreferencesRequest) -> ApiResult<Preferences> {
    if let Some(v) = &req.email {
        p.email = flag("email", v)?;
    }
    if let Some(v) = &req.telegram {
        p.telegram = flag("telegram", v)?;
    }
    if let Some(v) = &req.alert_sound {
        p.alert_sound = flag("alert_sound", v)?;
    }
    if let Some(v) = &req.alert_desktop {
        p.alert_desktop = flag("alert_desktop", v)?;
    }
    if let Some(v) = &req.alert_title {
        p.alert_title = flag("alert_title", v)?;
    }
    if let Some(v) = &req.language {
        match v.as_str() {
            Some(lang @ ("ru" | "en")) => p.language = lang.into(),
            _ => return Err(ApiError::validation("language", "must be \"ru\" or \"en\"")),
        }
    }
    if let Some(q) = req.quiet_hours {
        p.quiet_hours = match q {
            None | Some(Value::Null) => None,
            Some(v) => {
                let Some(obj) = v.as_object() else {
                    return Err(ApiError::validation(
                        "quiet_hours",
                        "must be {\"start\",\"end\",\"timezone\"} or null",
                    ));
                };
                for key in ["start", "end", "timezone"] {
                    if !obj.get(key).is_some_and(Value::is_string) {
                        return Err(ApiError::validation(
                            format!("quiet_hours.{key}"),
                            "is required and must be a string",
                        ));
                    }
                }
                if let Some(unknown) = obj
                    .keys()
                    .find(|k| !["start", "end", "timezone"].contains(&k.as_str()))
                {
                    return Err(ApiError::validation(
                        format!("quiet_hours.{unknown}"),
                        "unknown field",
                    ));
                }
                let q = quiet_hours(&v).map_err(|e| {
                    let field = ["start", "end", "timezone"]
                        .into_iter()
                        .find(|k| e.contains(&format!("{k}:")))
                        .map_or("quiet_hours".to_owned(), |k| format!("quiet_hours.{k}"));
                    ApiError::validation(field, e)
                })?;
                Some(serde_json::to_value(q.config()).unwrap_or(Value::Null))
            }
        };
    }
    Ok(p)
}

async fn employee_exists(state: &AppState, id: Id) -> ApiResult<()> {
    state
        .store
        .employee(id)
        .await?
        .map(|_| ())
        .ok_or_else(|| ApiError::not_found("employee"))
}

fn admin_or_self(caller: &Caller, id: Id) -> ApiResult<()> {
    if caller.is_admin() || caller.id() == id {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only admins may read or change another employee's preferences".into(),
        ))
    }
}

/// The caller's notification preferences.
#[utoipa::path(get, path = "/api/v1/me/preferences", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = PreferencesDto), (status = 401, body = crate::error::ErrorBody)))]
pub async fn read_own(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<PreferencesDto>> {
    Ok(axum::Json(dto(state
        .store
        .preferences(caller.id())
        .await?)))
}

/// Changes the caller's notification preferences (any subset of fields).
#[utoipa::path(put, path = "/api/v1/me/preferences", tag = "notifications", security(("bearer" = [])),
    request_body = PreferencesRequest,
    responses((status = 200, body = PreferencesDto), (status = 422, description = "names the invalid field", body = crate::error::ErrorBody)))]
pub async fn write_own(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<PreferencesRequest>,
) -> ApiResult<axum::Json<PreferencesDto>> {
    let id = caller.id();
    let p = apply(state.store.preferences(id).await?, req)?;
    state.store.set_preferences(id, &p).await?;
    Ok(axum::Json(dto(p)))
}

/// An employee's notification preferences (admins, or the employee).
#[utoipa::path(get, path = "/api/v1/employees/{id}/preferences", tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = PreferencesDto), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read_any(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<PreferencesDto>> {
    let id = parse_id(&id, "employee")?;
    admin_or_self(&caller, id)?;
    employee_exists(&state, id).await?;
    Ok(axum::Json(dto(state.store.preferences(id).await?)))
}

/// Changes an employee's notification preferences (admins, or the employee).
#[utoipa::path(put, path = "/api/v1/employees/{id}/preferences", tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = PreferencesRequest,
    responses((status = 200, body = PreferencesDto), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn write_any(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<PreferencesRequest>,
) -> ApiResult<axum::Json<PreferencesDto>> {
    let id = parse_id(&id, "employee")?;
    admin_or_self(&caller, id)?;
    employee_exists(&state, id).await?;
    let p = apply(state.store.preferences(id).await?, req)?;
    state.store.set_preferences(id, &p).await?;
    Ok(axum::Json(dto(p)))
}
