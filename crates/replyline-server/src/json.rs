//! A JSON extractor whose rejections are [`ApiError`]s naming the offending field.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// Like `axum::Json`, but malformed bodies give 400 with the field path, and oversized ones 413.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::bad_request(None, rejection.body_text())
            }
        })?;
        parse(&bytes).map(Json)
    }
}

/// Parses a JSON body, naming the offending field on error.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let field = (path != ".").then_some(path);
        let message = match &field {
            Some(f) => format!("{f}: {}", err.inner()),
            None => format!("invalid JSON body: {}", err.inner()),
        };
        ApiError::bad_request(field, message)
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(None, format!("invalid JSON body: {e}")))?;
    Ok(value)
}
