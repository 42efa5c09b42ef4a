//! Operations endpoints: manual clock, health, metrics, the OpenAPI document,
//! and the demo's customer (`replyline demo` only).

use super::dto::{AdvanceRequest, HealthResponse, NowResponse};
use crate::auth::{Caller, Permission, authorize};
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

/// Moves the manual clock forward and processes everything that fell due before answering (admins only).
#[utoipa::path(post, path = "/api/v1/clock/advance", tag = "operations", security(("bearer" = [])), request_body = AdvanceRequest,
    responses((status = 200, body = NowResponse), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, description = "only admins may move the clock", body = crate::error::ErrorBody),
        (status = 404, description = "the clock is not manual", body = crate::error::ErrorBody),
        (status = 415, description = "the body is not application/json", body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn advance_clock(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<AdvanceRequest>,
) -> ApiResult<axum::Json<NowResponse>> {
    if !state.clock.is_manual() {
        return Err(ApiError::NotFound("the clock is not manual".into()));
    }
    // Time moves every conversation's deadlines (and ends sessions): an admin's call.
    authorize(&caller, Permission::Administer)?;
    if req.seconds > MAX_ADVANCE_SECONDS {
        return Err(ApiError::Validation {
            field: Some("seconds".into()),
            message: format!("at most {MAX_ADVANCE_SECONDS} (ten years) per call"),
        });
    }
    let target = crate::clock::after(state.clock.now(), req.seconds);
    let now = step_clock_to(&state, target).await;
    Ok(axum::Json(NowResponse {
        now: now.to_string(),
    }))
}

/// The longest single advance: ten years, far inside what the store can represent.
const MAX_ADVANCE_SECONDS: u64 = 10 * 366 * 24 * 3600;

/// Most instants one advance visits; a safety net, far above any real use.
const MAX_CLOCK_STEPS: usize = 100_000;

/// Moves the manual clock to `target` one due instant at a time (the next
/// deadline or outbox retry), processing each at its own time, so a long
/// advance stamps every firing as it would have happened in real time.
async fn step_clock_to(state: &AppState, target: jiff::Timestamp) -> jiff::Timestamp {
    // Webhooks already acknowledged are processed at the time they arrived.
    state.driver.run_due().await;
    for _ in 0..MAX_CLOCK_STEPS {
        let now = state.clock.now();
        let next = next_instant(state)
            .await
            .filter(|at| *at > now && *at < target);
        let step = next.unwrap_or(target);
        advance_and_record(state, step).await;
        state.driver.run_due().await;
        state.outbox.drain().await;
        state.downloads.drain().await;
        state.delivery.drain().await;
        if step >= target {
            break;
        }
    }
    advance_and_record(state, target).await;
    state.clock.now()
}

/// Moves the manual clock and records the instant, so a restart resumes from it.
async fn advance_and_record(state: &AppState, at: jiff::Timestamp) {
    if let Some(now) = state.clock.advance_to(at)
        && let Err(err) = state.store.save_manual_clock(now).await
    {
        tracing::error!(%err, "could not record the manual clock");
    }
}

/// The earliest pending deadline, outbox attempt or media download.
async fn next_instant(state: &AppState) -> Option<jiff::Timestamp> {
    let due = state.store.next_due_at().await.ok().flatten();
    let outbox = state.store.next_outbox_at(&[]).await.ok().flatten();
    let download = state.store.next_download_at().await.ok().flatten();
    due.into_iter().chain(outbox).chain(download).min()
}

/// Liveness and a proof that the database writer can commit: every check
/// commits a small write (503 when it fails, e.g. on a full disk).
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = HealthResponse), (status = 503, description = "the database cannot commit", body = HealthResponse)))]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, axum::Json<HealthResponse>) {
    match state.store.health().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(HealthResponse {
                status: "ok".into(),
            }),
        ),
        Err(err) => {
            let writer = state.store.writer_status();
            tracing::error!(%err, failures = writer.consecutive_failures, "health check failed: the database cannot commit");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(HealthResponse {
                    status: format!("database unavailable: writes fail ({err})"),
                }),
            )
        }
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let gauges = match state.store.gauges().await {
        Ok(g) => g,
        Err(err) => {
            tracing::error!(%err, "metrics gauges failed");
            replyline_store::Gauges::default()
        }
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(gauges),
    )
        .into_response()
}

/// This API's OpenAPI document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
pub async fn openapi() -> Response {
    match crate::openapi::ApiDoc::openapi().to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(err) => ApiError::Internal(err.to_string()).into_response(),
    }
}

/// `GET /api/v1/server`: what the workspace shows about this server's setup.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ServerInfo {
    /// `company_name` of the configuration (`{company_name}` in texts).
    pub company_name: String,
    /// Notifications can be delivered by e-mail (`smtp_url` is set).
    pub email_delivery: bool,
    /// Notifications can be delivered by Telegram (`telegram_bot_token` is set).
    pub telegram_delivery: bool,
    /// The clock is manual (a sandbox).
    pub manual_clock: bool,
}

/// This server's setup as the workspace needs it: the company name of previews and
/// which deliveries the profile's switches can use (any employee).
#[utoipa::path(get, path = "/api/v1/server", tag = "operations", security(("bearer" = [])),
    responses((status = 200, body = ServerInfo), (status = 401, body = crate::error::ErrorBody)))]
pub async fn server_info(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<axum::Json<ServerInfo>> {
    Ok(axum::Json(ServerInfo {
        company_name: state.company_name.to_string(),
        email_delivery: state.deliveries.email,
        telegram_delivery: state.deliveries.telegram,
        manual_clock: state.clock.is_manual(),
    }))
}

/// `GET /api/v1/demo`: the demo's customers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DemoInfo {
    pub customers: Vec<crate::demo::DemoCustomer>,
}

/// `POST /api/v1/demo/customer-message`: what the customer writes (default: a follow-up question).
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoMessageRequest {
    /// 1 to 4096 characters.
    pub text: Option<String>,
}

/// What the customer wrote, sent as a signed webhook.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DemoMessageResponse {
    pub customer: crate::demo::DemoCustomer,
    pub text: String,
}

/// The demo mode of `replyline demo`, or 404 on a real server.
fn demo_mode(state: &AppState) -> ApiResult<&crate::demo::DemoMode> {
    state
        .demo
        .get()
        .ok_or_else(|| ApiError::NotFound("not a demo server (replyline demo)".into()))
}

/// The demo's customers (any employee; 404 unless the server is `replyline demo`).
#[utoipa::path(get, path = "/api/v1/demo", tag = "operations", security(("bearer" = [])),
    responses((status = 200, body = DemoInfo), (status = 401, body = crate::error::ErrorBody),
        (status = 404, description = "not a demo server", body = crate::error::ErrorBody)))]
pub async fn demo_info(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<axum::Json<DemoInfo>> {
    let customers = demo_mode(&state)?.customers().to_vec();
    Ok(axum::Json(DemoInfo { customers }))
}

/// The demo customer writes again, through a real signed webhook (any employee;
/// 404 unless the server is `replyline demo`). The body is optional.
#[utoipa::path(post, path = "/api/v1/demo/customer-message", tag = "operations", security(("bearer" = [])),
    request_body(content = DemoMessageRequest, description = "optional"),
    responses((status = 202, body = DemoMessageResponse), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 404, description = "not a demo server", body = crate::error::ErrorBody),
        (status = 415, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn demo_customer_message(
    State(state): State<AppState>,
    _caller: Caller,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, axum::Json<DemoMessageResponse>)> {
    let demo = demo_mode(&state)?;
    let req: DemoMessageRequest = if body.trim_ascii().is_empty() {
        DemoMessageRequest::default()
    } else {
        crate::json::require_json(&headers)?;
        crate::json::parse(&body)?
    };
    let text = req
        .text
        .unwrap_or_else(|| crate::demo::DEFAULT_AGAIN_TEXT.to_owned());
    super::dto::check_text("text", &text)?;
    let customer = demo
        .customer_writes(&text, state.clock.now())
        .await
        .map_err(ApiError::Internal)?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(DemoMessageResponse { customer, text }),
    ))
}

/// Unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}
