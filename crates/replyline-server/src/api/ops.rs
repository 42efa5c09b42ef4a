//! Operations endpoints: manual clock, health, metrics, the OpenAPI document.

use super::dto::{AdvanceRequest, HealthResponse, NowResponse};
use crate::auth::{Caller, Permission, authorize};
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

/// Moves the manual clock forward and processes everything that fell due before answering.
#[utoipa::path(post, path = "/api/v1/clock/advance", tag = "operations", security(("bearer" = [])), request_body = AdvanceRequest,
    responses((status = 200, body = NowResponse), (status = 404, description = "the clock is not manual", body = crate::error::ErrorBody)))]
pub async fn advance_clock(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<AdvanceRequest>,
) -> ApiResult<axum::Json<NowResponse>> {
    authorize(&caller, Permission::Converse)?;
    let now = state
        .clock
        .advance(req.seconds)
        .ok_or_else(|| ApiError::NotFound("the clock is not manual".into()))?;
    state.driver.run_due().await;
    state.outbox.drain().await;
    state.delivery.drain().await;
    Ok(axum::Json(NowResponse {
        now: now.to_string(),
    }))
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = HealthResponse), (status = 503, body = HealthResponse)))]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, axum::Json<HealthResponse>) {
    match state.store.health().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(HealthResponse {
                status: "ok".into(),
            }),
        ),
        Err(err) => {
            tracing::error!(%err, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(HealthResponse {
                    status: "database unavailable".into(),
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

/// Unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}
