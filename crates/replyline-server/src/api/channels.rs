//! Channels and their messenger settings.

use super::dto::{
    ChannelDto, NewChannelRequest, PatchChannelRequest, check_channel_name, check_credential,
};
use super::{audit, parse_id};
use crate::auth::{Caller, Permission, authorize};
use crate::authz::{self, Access};
use crate::channel::{MAX_MESSAGES_PER_SECOND, WhatsappConfig};
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use replyline_engine::{Policy, Settings};
use replyline_store::{Channel, ChannelPatch, Id, NewChannel};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/channels", get(list).post(create))
        .route(
            "/api/v1/channels/{id}",
            get(read).patch(update).delete(remove),
        )
        .route(
            "/api/v1/channels/{id}/settings",
            get(read_settings).put(write_settings),
        )
        .route(
            "/api/v1/channels/{id}/members",
            get(read_members).put(write_members),
        )
}

/// Routing modes of a channel.
pub const ROUTING: [&str; 3] = ["manual", "round_robin", "sticky"];

fn check_routing(routing: &str) -> ApiResult<()> {
    if ROUTING.contains(&routing) {
        Ok(())
    } else {
        Err(ApiError::validation(
            "routing",
            format!("must be manual, round_robin or sticky, got {routing:?}"),
        ))
    }
}

/// The connection secrets: compared to see a rotation, always masked in the log.
const AUDIT_SECRETS: &[&str] = &[
    "whatsapp.access_token",
    "whatsapp.app_secret",
    "whatsapp.verify_token",
];

/// A channel as the audit log records it (masked with [`AUDIT_SECRETS`]).
fn audit_snapshot(c: &Channel) -> Value {
    let wa = WhatsappConfig::of(c);
    json!({"name": c.name, "kind": c.kind, "routing": c.routing, "whatsapp": {
        "phone_number_id": wa.phone_number_id, "access_token": wa.access_token,
        "app_secret": wa.app_secret, "verify_token": wa.verify_token,
        "api_base_url": wa.api_base_url, "api_version": wa.api_version, "waba_id": wa.waba_id,
        "messages_per_second": wa.messages_per_second(),
    }, "allow_write_first": c.allow_write_first})
}

fn members_snapshot(ids: &[Id]) -> Value {
    json!({"employee_ids": ids.iter().map(Id::to_string).collect::<Vec<_>>()})
}

/// A channel the caller may see (404 otherwise, like a missing one).
async fn find_visible(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Channel> {
    let channel = find(state, id).await?;
    if !caller.is_admin() {
        let access = Access::load(state.store.as_ref()).await?;
        if !authz::can_view_channel(&caller.0, channel.id, &access) {
            return Err(ApiError::not_found("channel"));
        }
    }
    Ok(channel)
}

/// The members of a channel.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelMembers {
    pub employee_ids: Vec<String>,
}

/// Who works the channel (its queue and routing).
#[utoipa::path(get, path = "/api/v1/channels/{id}/members", tag = "channels", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ChannelMembers), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ChannelMembers>> {
    let channel = find_visible(&state, &caller, &id).await?;
    let access = Access::load(state.store.as_ref()).await?;
    Ok(axum::Json(ChannelMembers {
        employee_ids: access
            .members_of(channel.id)
            .into_iter()
            .map(|e| e.to_string())
            .collect(),
    }))
}

/// Replaces the members of a channel (admins only).
#[utoipa::path(put, path = "/api/v1/channels/{id}/members", tag = "channels", security(("bearer" = [])), params(("id" = String, Path)), request_body = ChannelMembers,
    responses((status = 200, body = ChannelMembers), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn write_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<ChannelMembers>,
) -> ApiResult<axum::Json<ChannelMembers>> {
    authz::require_admin(&caller.0)?;
    let channel = find(&state, &id).await?;
    let mut ids: Vec<Id> = Vec::with_capacity(req.employee_ids.len());
    for raw in &req.employee_ids {
        let e = match raw.trim().parse::<Id>() {
            Ok(id) => state.store.employee(id).await?,
            Err(_) => None,
        };
        let e = e.ok_or_else(|| {
            ApiError::validation("employee_ids", format!("no such employee {raw:?}"))
        })?;
        if !ids.contains(&e.id) {
            ids.push(e.id);
        }
    }
    let before = Access::load(state.store.as_ref())
        .await?
        .members_of(channel.id);
    state.store.set_channel_members(channel.id, &ids).await?;
    ids.sort_unstable();
    let entity = ("members", Some(channel.id.to_string()));
    let change = (&members_snapshot(&before), &members_snapshot(&ids));
    audit::record_changed(&state, &caller, entity, "replace", change, &[]).await;
    Ok(axum::Json(ChannelMembers {
        employee_ids: ids.into_iter().map(|e| e.to_string()).collect(),
    }))
}

async fn find(state: &AppState, id: &str) -> ApiResult<Channel> {
    let id = parse_id(id, "channel")?;
    state
        .store
        .channel(id)
        .await?
        .ok_or_else(|| ApiError::not_found("channel"))
}

fn check_url(field: &str, value: Option<&str>) -> ApiResult<()> {
    match value {
        Some(url)
            if !(url.starts_with("http://") || url.starts_with("https://"))
                || url.chars().count() > 2000
                || url.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Err(ApiError::validation(field, "must be an http(s) URL"))
        }
        _ => Ok(()),
    }
}

/// A Graph API version such as `v21.0`.
fn check_version(value: Option<&str>) -> ApiResult<()> {
    match value {
        Some(v)
            if v.is_empty()
                || v.len() > 20
                || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') =>
        {
            Err(ApiError::validation(
                "whatsapp.api_version",
                "must be a Graph API version such as v21.0",
            ))
        }
        _ => Ok(()),
    }
}

/// A WhatsApp Business Account id: 1 to 30 digits (`""` in a patch removes it).
fn check_waba_id(value: Option<&str>) -> ApiResult<Option<String>> {
    let Some(v) = value.map(str::trim) else {
        return Ok(None);
    };
    if v.is_empty() {
        return Ok(Some(String::new()));
    }
    if v.len() > 30 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation(
            "whatsapp.waba_id",
            "must be the WhatsApp Business Account id: 1 to 30 digits",
        ));
    }
    Ok(Some(v.to_owned()))
}

/// A number's throughput: 1 to [`MAX_MESSAGES_PER_SECOND`] sends per second.
fn check_messages_per_second(value: Option<u32>) -> ApiResult<Option<u32>> {
    match value {
        Some(n) if !(1..=MAX_MESSAGES_PER_SECOND).contains(&n) => Err(ApiError::validation(
            "whatsapp.messages_per_second",
            format!(
                "must be an integer from 1 to {MAX_MESSAGES_PER_SECOND}: the number's messages per second"
            ),
        )),
        other => Ok(other),
    }
}

/// Every channel.
#[utoipa::path(get, path = "/api/v1/channels", tag = "channels", security(("bearer" = [])),
    responses((status = 200, body = Vec<ChannelDto>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<ChannelDto>>> {
    authorize(&caller, Permission::Converse)?;
    let channels = state.store.channels().await?;
    let access = Access::load(state.store.as_ref()).await?;
    Ok(axum::Json(
        channels
            .into_iter()
            .filter(|c| authz::can_view_channel(&caller.0, c.id, &access))
            .map(|c| ChannelDto::new(c, &state.public_url))
            .collect(),
    ))
}

/// Connects a channel (admins only). Secrets are stored, never returned.
#[utoipa::path(post, path = "/api/v1/channels", tag = "channels", security(("bearer" = [])), request_body = NewChannelRequest,
    responses((status = 201, body = ChannelDto), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<NewChannelRequest>,
) -> ApiResult<(StatusCode, axum::Json<ChannelDto>)> {
    authorize(&caller, Permission::Administer)?;
    if req.kind != "whatsapp" {
        return Err(ApiError::validation(
            "kind",
            format!(
                "unsupported channel kind {:?} (supported: whatsapp)",
                req.kind
            ),
        ));
    }
    check_channel_name(&req.name)?;
    if let Some(r) = &req.routing {
        check_routing(r)?;
    }
    let wa = req
        .whatsapp
        .ok_or_else(|| ApiError::validation("whatsapp", "required for kind whatsapp"))?;
    check_credential("whatsapp.phone_number_id", &wa.phone_number_id)?;
    check_credential("whatsapp.access_token", &wa.access_token)?;
    check_credential("whatsapp.app_secret", &wa.app_secret)?;
    check_credential("whatsapp.verify_token", &wa.verify_token)?;
    check_url("whatsapp.api_base_url", wa.api_base_url.as_deref())?;
    check_version(wa.api_version.as_deref())?;
    let waba_id = check_waba_id(wa.waba_id.as_deref())?.filter(|w| !w.is_empty());
    let messages_per_second = check_messages_per_second(wa.messages_per_second)?;
    let settings = match &req.settings {
        Some(patch) => {
            let employees = state.store.employees().await?;
            let s = Settings::from_partial(patch)?;
            Policy::new(s.clone(), |id| {
                employees.iter().any(|e| e.id.to_string() == id.as_str())
            })?;
            s
        }
        None => Settings::default(),
    };
    let config = WhatsappConfig {
        phone_number_id: wa.phone_number_id.trim().to_owned(),
        access_token: wa.access_token,
        app_secret: wa.app_secret,
        verify_token: wa.verify_token,
        api_base_url: wa.api_base_url,
        api_version: wa.api_version,
        waba_id,
        messages_per_second,
    };
    let new = NewChannel {
        kind: req.kind,
        name: req.name,
        config: config.sealed(&state.secrets),
        settings: serde_json::to_value(settings).unwrap_or(Value::Null),
    };
    let mut channel = state.store.create_channel(new, state.clock.now()).await?;
    let routing = req.routing.filter(|r| *r != channel.routing);
    let allow_write_first = req
        .allow_write_first
        .filter(|a| *a != channel.allow_write_first);
    if routing.is_some() || allow_write_first.is_some() {
        let patch = ChannelPatch {
            routing,
            allow_write_first,
            ..ChannelPatch::default()
        };
        channel = state.store.update_channel(channel.id, patch).await?;
    }
    let (id, snapshot) = (channel.id.to_string(), audit_snapshot(&channel));
    audit::record_created(&state, &caller, "channel", id, snapshot, AUDIT_SECRETS).await;
    Ok((
        StatusCode::CREATED,
        axum::Json(ChannelDto::new(channel, &state.public_url)),
    ))
}

/// One channel.
#[utoipa::path(get, path = "/api/v1/channels/{id}", tag = "channels", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ChannelDto), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ChannelDto>> {
    authorize(&caller, Permission::Converse)?;
    Ok(axum::Json(ChannelDto::new(
        find_visible(&state, &caller, &id).await?,
        &state.public_url,
    )))
}

/// Renames a channel or changes its connection; new credentials re-activate a halted channel (admins only).
#[utoipa::path(patch, path = "/api/v1/channels/{id}", tag = "channels", security(("bearer" = [])), params(("id" = String, Path)), request_body = PatchChannelRequest,
    responses((status = 200, body = ChannelDto), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<PatchChannelRequest>,
) -> ApiResult<axum::Json<ChannelDto>> {
    authorize(&caller, Permission::Administer)?;
    let channel = find(&state, &id).await?;
    if let Some(name) = &req.name {
        check_channel_name(name)?;
    }
    if let Some(r) = &req.routing {
        check_routing(r)?;
    }
    let mut patch = ChannelPatch {
        name: req.name,
        routing: req.routing,
        allow_write_first: req.allow_write_first,
        ..ChannelPatch::default()
    };
    if let Some(wa) = req.whatsapp {
        // An empty secret would let anyone sign webhooks; an empty token or phone number id
        // would halt sending: each given value must be a real one.
        for (field, value) in [
            ("whatsapp.phone_number_id", &wa.phone_number_id),
            ("whatsapp.access_token", &wa.access_token),
            ("whatsapp.app_secret", &wa.app_secret),
            ("whatsapp.verify_token", &wa.verify_token),
        ] {
            if let Some(v) = value {
                check_credential(field, v)?;
            }
        }
        check_url("whatsapp.api_base_url", wa.api_base_url.as_deref())?;
        check_version(wa.api_version.as_deref())?;
        let waba_id = match &wa.waba_id {
            Some(given) => Some(check_waba_id(Some(given.as_deref().unwrap_or_default()))?),
            None => None,
        }
        .flatten();
        let messages_per_second = wa
            .messages_per_second
            .map(check_messages_per_second)
            .transpose()?;
        let mut cfg = WhatsappConfig::of(&channel);
        patch.reactivate = wa.access_token.is_some();
        if let Some(v) = wa.phone_number_id {
            cfg.phone_number_id = v.trim().to_owned();
        }
        if let Some(v) = wa.access_token {
            cfg.access_token = v;
        }
        if let Some(v) = wa.app_secret {
            cfg.app_secret = v;
        }
        if let Some(v) = wa.verify_token {
            cfg.verify_token = v;
        }
        if let Some(v) = wa.api_base_url {
            cfg.api_base_url = Some(v);
        }
        if let Some(v) = wa.api_version {
            cfg.api_version = Some(v);
        }
        if let Some(v) = waba_id {
            cfg.waba_id = Some(v).filter(|w| !w.is_empty());
        }
        if let Some(v) = messages_per_second {
            cfg.messages_per_second = v;
        }
        patch.config = Some(cfg.sealed(&state.secrets));
    }
    let updated = state.store.update_channel(channel.id, patch).await?;
    let entity = ("channel", Some(channel.id.to_string()));
    let change = (&audit_snapshot(&channel), &audit_snapshot(&updated));
    audit::record_changed(&state, &caller, entity, "update", change, AUDIT_SECRETS).await;
    state.inbox.channel_changed(channel.id);
    state.driver.channel_changed(channel.id).await;
    state.outbox.wake();
    Ok(axum::Json(ChannelDto::new(updated, &state.public_url)))
}

/// Disconnects a channel (admins only); its history stays.
#[utoipa::path(delete, path = "/api/v1/channels/{id}", tag = "channels", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    authorize(&caller, Permission::Administer)?;
    let channel = find(&state, &id).await?;
    state.store.delete_channel(channel.id).await?;
    let (id, snapshot) = (channel.id.to_string(), audit_snapshot(&channel));
    audit::record_deleted(&state, &caller, "channel", id, snapshot, AUDIT_SECRETS).await;
    state.driver.routing_changed();
    state.inbox.channel_changed(channel.id);
    state.driver.channel_changed(channel.id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The channel's full messenger settings (SPEC §2).
#[utoipa::path(get, path = "/api/v1/channels/{id}/settings", tag = "settings", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "full settings", body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read_settings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    authorize(&caller, Permission::Converse)?;
    let channel = find_visible(&state, &caller, &id).await?;
    let settings = Settings::from_partial(&channel.settings)?;
    Ok(axum::Json(
        serde_json::to_value(settings).unwrap_or(Value::Null),
    ))
}

/// Changes any subset of groups and fields; open conversations follow at once (admins only).
#[utoipa::path(put, path = "/api/v1/channels/{id}/settings", tag = "settings", security(("bearer" = [])), params(("id" = String, Path)),
    request_body(content = Object, description = "any subset of the SPEC §2 settings"),
    responses((status = 200, description = "full settings", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn write_settings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(patch): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    authorize(&caller, Permission::Administer)?;
    let channel = find(&state, &id).await?;
    let settings = state
        .driver
        .settings(channel.id, caller.id(), patch)
        .await?;
    Ok(axum::Json(settings))
}
