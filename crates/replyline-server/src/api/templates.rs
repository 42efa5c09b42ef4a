//! A channel's WhatsApp message templates: `GET /api/v1/channels/{id}/templates`,
//! served from the cache (`TemplateStore`) and read again from the Graph API
//! when the cache is empty, older than an hour, or `?refresh=true`.

use crate::auth::{Caller, Permission, authorize};
use crate::authz::{self, Access};
use crate::channel::WhatsappConfig;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use jiff::SignedDuration;
use replyline_store::{CachedTemplate, Channel, Id};
use replyline_whatsapp::reqwest;
use replyline_whatsapp::templates::{Template, list_templates};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::OnceLock;
use std::time::Duration;

/// How long a read of the templates is used before it is read again.
const CACHE_TTL: SignedDuration = SignedDuration::from_hours(1);

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/channels/{id}/templates", get(list))
}

/// One template of the channel's WhatsApp Business Account.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateDto {
    pub name: String,
    /// The language code, e.g. `ru` or `en_US`.
    pub language: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, …: only `APPROVED` can be sent.
    pub status: String,
    /// How many parameters the BODY takes (its distinct `{{n}}`/`{{name}}`).
    pub parameters: i64,
    /// The BODY text.
    pub preview: String,
    /// The components as the Graph API gives them.
    #[schema(value_type = Object)]
    pub components: Value,
}

impl From<CachedTemplate> for TemplateDto {
    fn from(t: CachedTemplate) -> Self {
        Self {
            name: t.name,
            language: t.language,
            category: t.category,
            status: t.status,
            parameters: t.parameters,
            preview: t.preview,
            components: t.components,
        }
    }
}

/// `?refresh=true` reads the templates from the Graph API now.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplatesQuery {
    /// `true` or `false` (default).
    #[param(pattern = "^(true|false)?$")]
    pub refresh: Option<String>,
}

fn refresh_flag(raw: Option<&str>) -> ApiResult<bool> {
    match raw.unwrap_or_default() {
        "" | "false" => Ok(false),
        "true" => Ok(true),
        other => Err(ApiError::bad_request(
            Some("refresh".into()),
            format!("refresh: expected true or false, got {other:?}"),
        )),
    }
}

/// The channel's templates, every status (cached; read again when the cache
/// is empty, over an hour old, or `refresh=true`). Whoever may see the channel.
#[utoipa::path(get, path = "/api/v1/channels/{id}/templates", tag = "channels", security(("bearer" = [])),
    params(("id" = String, Path), TemplatesQuery),
    responses((status = 200, body = Vec<TemplateDto>), (status = 404, body = crate::error::ErrorBody),
        (status = 422, description = "`waba_id_missing`: the channel has no `whatsapp.waba_id`", body = crate::error::ErrorBody),
        (status = 502, description = "`provider_error`: the Graph API failed (the cache is kept)", body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<TemplatesQuery>,
) -> ApiResult<axum::Json<Vec<TemplateDto>>> {
    authorize(&caller, Permission::Converse)?;
    let refresh = refresh_flag(q.refresh.as_deref())?;
    let channel = visible_channel(&state, &caller, &id).await?;
    let templates = current(&state, &channel, refresh).await?;
    Ok(axum::Json(templates.into_iter().map(Into::into).collect()))
}

/// A channel the caller may see (404 otherwise, like a missing one).
async fn visible_channel(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Channel> {
    let id = super::parse_id(id, "channel")?;
    let channel = state
        .store
        .channel(id)
        .await?
        .ok_or_else(|| ApiError::not_found("channel"))?;
    let access = Access::load(state.store.as_ref()).await?;
    if !authz::can_view_channel(&caller.0, channel.id, &access) {
        return Err(ApiError::not_found("channel"));
    }
    Ok(channel)
}

/// The cached templates, read again first when `refresh`, or when the cache
/// is empty or stale.
async fn current(
    state: &AppState,
    channel: &Channel,
    refresh: bool,
) -> ApiResult<Vec<CachedTemplate>> {
    let cache = state.store.templates(channel.id).await?;
    let fresh = cache
        .fetched_at
        .is_some_and(|at| state.clock.now().duration_since(at) < CACHE_TTL);
    if refresh || !fresh || cache.templates.is_empty() {
        return fetch(state, channel).await;
    }
    Ok(cache.templates)
}

/// Reads the templates from the Graph API and replaces the cache with them;
/// on failure the cache stays as it was (422 `waba_id_missing`, 502 `provider_error`).
pub async fn fetch(state: &AppState, channel: &Channel) -> ApiResult<Vec<CachedTemplate>> {
    let cfg = WhatsappConfig::of(channel);
    let waba_id = cfg
        .waba_id
        .as_deref()
        .filter(|w| !w.is_empty())
        .ok_or_else(|| ApiError::UnprocessableField {
            code: "waba_id_missing",
            message: "the channel has no WhatsApp Business Account id: set whatsapp.waba_id to use templates".into(),
            field: "whatsapp.waba_id",
        })?;
    let listed = list_templates(
        http(),
        cfg.base_url(),
        cfg.version(),
        waba_id,
        &cfg.access_token,
    )
    .await
    .map_err(|e| ApiError::Coded {
        status: StatusCode::BAD_GATEWAY,
        code: "provider_error",
        message: format!(
            "the WhatsApp API did not list the templates: {}{}",
            e.message,
            e.code.map(|c| format!(" (code {c})")).unwrap_or_default()
        ),
        field: None,
    })?;
    let templates: Vec<CachedTemplate> = listed.iter().map(cached).collect();
    state
        .store
        .replace_templates(channel.id, &templates, state.clock.now())
        .await?;
    Ok(state.store.templates(channel.id).await?.templates)
}

fn cached(t: &Template) -> CachedTemplate {
    CachedTemplate {
        name: t.name.clone(),
        language: t.language.clone(),
        category: t.category.clone(),
        status: t.status.clone(),
        parameters: i64::try_from(t.parameter_count()).unwrap_or(i64::MAX),
        preview: t.body().to_owned(),
        components: t.components.clone(),
    }
}

/// The approved template `name` in `language` of the channel: from the cache,
/// read again once when it is not there (422 `unknown_template` on `template.name`).
pub async fn sendable(
    state: &AppState,
    channel: &Channel,
    name: &str,
    language: &str,
) -> ApiResult<CachedTemplate> {
    let unknown = |why: &str| ApiError::UnprocessableField {
        code: "unknown_template",
        message: format!(
            "template.name: no approved template {name:?} in language {language:?} on this channel{why}"
        ),
        field: "template.name",
    };
    let approved = |t: &CachedTemplate| t.status.eq_ignore_ascii_case("APPROVED");
    if let Some(t) = state.store.template(channel.id, name, language).await?
        && approved(&t)
    {
        return Ok(t);
    }
    // A miss (or a template not approved when last read): read the list again, once.
    let listed = match fetch(state, channel).await {
        Ok(listed) => listed,
        Err(ApiError::Coded { message, .. }) => return Err(unknown(&format!(" ({message})"))),
        Err(other) => return Err(other),
    };
    listed
        .into_iter()
        .find(|t| t.name == name && t.language == language && approved(t))
        .ok_or_else(|| unknown(""))
}

/// The client for the Graph API's template listing.
fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap_or_default()
    })
}

/// The channel a template is sent on, by id (for composing a message).
pub async fn channel(state: &AppState, id: Id) -> ApiResult<Channel> {
    state
        .store
        .channel(id)
        .await?
        .ok_or_else(|| ApiError::not_found("channel"))
}
