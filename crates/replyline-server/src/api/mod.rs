//! The HTTP API: one router per resource, merged here.

pub mod audit;
pub mod channels;
pub mod compose;
pub mod contacts;
pub mod conversations;
pub mod dto;
pub mod employees;
pub mod inbox;
pub mod media;
pub mod ops;
pub mod preferences;
pub mod quick_replies;
pub mod routing;
pub mod search;
pub mod session;
pub mod templates;
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

/// `?limit=`: absent or empty gives `default`; else an integer from 1 to `max`
/// (`None` otherwise: the caller says how that is an error).
pub fn parse_limit(raw: Option<&str>, default: i64, max: i64) -> Option<i64> {
    match raw.filter(|r| !r.is_empty()) {
        None => Some(default),
        Some(raw) => raw.parse::<i64>().ok().filter(|n| (1..=max).contains(n)),
    }
}

/// `?limit=` of a listing that answers 422 naming `limit` when it is out of range.
pub fn check_limit(raw: Option<&str>, default: i64, max: i64) -> Result<i64, ApiError> {
    parse_limit(raw, default, max)
        .ok_or_else(|| ApiError::validation("limit", format!("must be an integer from 1 to {max}")))
}

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
            DriverError::TextTooLong => ApiError::UnprocessableField {
                code: "text_too_long",
                message: err.to_string(),
                field: "text",
            },
            DriverError::Validation(v) => v.into(),
            DriverError::Store(s) => s.into(),
            DriverError::Corrupt(_) | DriverError::Stopped => ApiError::Internal(err.to_string()),
        }
    }
}

/// Rewrites a client error that an extractor answered in plain text (a bad
/// query string, an undecodable path) into the JSON error body every API error has.
async fn json_client_errors(response: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !status.is_client_error() || is_json || status == axum::http::StatusCode::SWITCHING_PROTOCOLS
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        parts
            .status
            .canonical_reason()
            .unwrap_or("bad request")
            .to_owned()
    } else {
        text
    };
    let error = match parts.status {
        axum::http::StatusCode::NOT_FOUND => ApiError::NotFound(message),
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge,
        axum::http::StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
        _ => ApiError::BadRequest {
            message,
            field: None,
        },
    };
    let mut rewritten = error.into_response();
    *rewritten.status_mut() = parts.status;
    rewritten
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
        .merge(templates::router())
        .merge(conversations::router())
        .merge(preferences::router())
        .merge(webhooks::router())
        .merge(routing::router())
        .merge(inbox::router())
        .merge(media::router())
        .merge(contacts::router())
        .merge(search::router())
        .merge(quick_replies::router())
        .merge(audit::router())
        .route("/api/v1/clock/advance", post(ops::advance_clock))
        .route("/api/v1/server", get(ops::server_info))
        .route("/api/v1/demo", get(ops::demo_info))
        .route(
            "/api/v1/demo/customer-message",
            post(ops::demo_customer_message),
        )
        .route("/api/v1/events/ws", get(crate::live::events_ws))
        .layer(DefaultBodyLimit::max(MAX_API_BODY))
        .layer(axum::middleware::map_response(json_client_errors))
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
