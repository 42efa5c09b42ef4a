//! The HTTP API: one router per resource, merged here.

pub mod channels;
pub mod conversations;
pub mod dto;
pub mod employees;
pub mod ops;
pub mod preferences;
pub mod session;
pub mod tokens;
pub mod webhooks;

use crate::driver::DriverError;
use crate::error::ApiError;
use crate::ingest;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

/// Largest API request body.
const MAX_API_BODY: usize = 1024 * 1024;

/// Parses a path or body id; anything else names nothing, so 404.
pub fn parse_id(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.trim().parse().map_err(|_| ApiError::not_found(what))
}

impl From<DriverError> for ApiError {
    fn from(err: DriverError) -> Self {
        match err {
            DriverError::NotFound(what) => ApiError::not_found(what),
            DriverError::Closed => ApiError::Conflict(err.to_string()),
            DriverError::Conflict(message) => ApiError::Conflict(message),
            DriverError::OutsideWindow => ApiError::Unprocessable {
                code: "outside_24h_window",
                message: err.to_string(),
            },
            DriverError::Validation(v) => v.into(),
            DriverError::Store(s) => s.into(),
            DriverError::Corrupt(_) | DriverError::Stopped => ApiError::Internal(err.to_string()),
        }
    }
}

/// Every route of the service.
pub fn router(state: AppState) -> Router {
    let webhooks = Router::new()
        .route(
            "/webhooks/whatsapp/{channel_id}",
            get(ingest::whatsapp_handshake).post(ingest::whatsapp_post),
        )
        .layer(DefaultBodyLimit::max(ingest::MAX_WEBHOOK_BYTES));
    let api = Router::new()
        .merge(session::router())
        .merge(tokens::router())
        .merge(employees::router())
        .merge(channels::router())
        .merge(conversations::router())
        .merge(preferences::router())
        .merge(webhooks::router())
        .route("/api/v1/clock/advance", post(ops::advance_clock))
        .route("/api/v1/events/ws", get(crate::live::events_ws))
        .layer(DefaultBodyLimit::max(MAX_API_BODY))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            crate::live::server_now_header,
        ));
    Router::new()
        .merge(webhooks)
        .merge(api)
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/api/openapi.json", get(ops::openapi))
        .fallback(ops::not_found)
        .with_state(state)
        .merge(replyline_web::router())
}
