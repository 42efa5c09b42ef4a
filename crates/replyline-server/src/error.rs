//! The HTTP error type: one enum mapped to `{"error":{"code","message","field"?}}` with a fitting status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use replyline_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Every way an API call fails.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        message: String,
        field: Option<String>,
    },
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("request body too large")]
    TooLarge,
    #[error("{message}")]
    Validation {
        message: String,
        field: Option<String>,
    },
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// A 422 with its own code that names the offending field (e.g. `text_too_long` on `text`).
    #[error("{message}")]
    UnprocessableField {
        code: &'static str,
        message: String,
        field: &'static str,
    },
    #[error("internal error")]
    Internal(String),
    /// A cookie-authenticated unsafe request without `X-Requested-With: replyline` (403 `csrf`).
    #[error("missing X-Requested-With: replyline header on a cookie-authenticated request")]
    Csrf,
    /// Too many attempts (429 `rate_limited` with `Retry-After`).
    #[error("too many attempts; retry in {retry_after} seconds")]
    RateLimited { retry_after: u64 },
    /// A body that is not `Content-Type: application/json` where JSON is expected (415).
    #[error("expected Content-Type: application/json, got {0}")]
    UnsupportedMediaType(String),
    /// Any status with its own code, optionally naming a field (e.g. 413
    /// `file_too_large` on `file`, 403 `write_first_disabled`, 502 `provider_error`).
    #[error("{message}")]
    Coded {
        status: StatusCode,
        code: &'static str,
        message: String,
        field: Option<&'static str>,
    },
}

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// Details of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub code: String,
    pub message: String,
    /// The offending field, e.g. `greeting.text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// A 422 naming `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        Self::Validation {
            message: format!("{field}: {}", message.into()),
            field: Some(field),
        }
    }

    /// A 400 naming `field`.
    pub fn bad_request(field: Option<String>, message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            field,
        }
    }

    /// A 404 for a missing resource.
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    fn parts(&self) -> (StatusCode, &'static str, Option<String>) {
        match self {
            Self::BadRequest { field, .. } => {
                (StatusCode::BAD_REQUEST, "bad_request", field.clone())
            }
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", None),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", None),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict", None),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None),
            Self::Validation { field, .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                field.clone(),
            ),
            Self::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code, None),
            Self::UnprocessableField { code, field, .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                Some((*field).to_owned()),
            ),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
            Self::Csrf => (StatusCode::FORBIDDEN, "csrf", None),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", None),
            Self::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                None,
            ),
            Self::Coded {
                status,
                code,
                field,
                ..
            } => (*status, code, field.map(str::to_owned)),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::NotFound("not found".into()),
            StoreError::Conflict(message) => Self::Conflict(message),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<replyline_engine::ValidationError> for ApiError {
    fn from(err: replyline_engine::ValidationError) -> Self {
        Self::Validation {
            message: err.to_string(),
            field: Some(err.field),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, field) = self.parts();
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: self.to_string(),
                field,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Self::RateLimited { retry_after } = &self
            && let Ok(v) = axum::http::HeaderValue::from_str(&retry_after.to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        response
    }
}

/// Handler results.
pub type ApiResult<T> = Result<T, ApiError>;
