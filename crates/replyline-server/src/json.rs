//! A JSON extractor whose rejections are [`ApiError`]s naming the offending field.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

/// Like `axum::Json`, but malformed bodies give 400 with the field path, and oversized ones 413.
/// The request must say `Content-Type: application/json` (parameters such as
/// `charset=utf-8` allowed), else 415 `unsupported_media_type`: a cross-site form
/// or `text/plain` request cannot smuggle a JSON body (login CSRF).
pub struct Json<T>(pub T);

/// 415 unless the request's content type is `application/json`.
pub fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let essence = value
        .as_deref()
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if essence.is_some_and(|e| e.eq_ignore_ascii_case("application/json")) {
        return Ok(());
    }
    Err(ApiError::UnsupportedMediaType(match value {
        Some(v) => format!("{:?}", v.chars().take(100).collect::<String>()),
        None => "no Content-Type".into(),
    }))
}

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json(req.headers())?;
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
    // serde reads a struct from a JSON array too (fields by position): a body is an
    // array only where the body type is a list, i.e. where `[]` is one of its values.
    if bytes.trim_ascii_start().first() == Some(&b'[')
        && serde_json::from_slice::<T>(b"[]").is_err()
    {
        return Err(ApiError::bad_request(
            None,
            "invalid JSON body: expected an object, got an array",
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        h
    }

    #[test]
    fn only_json_content_types_pass() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=UTF-8",
        ] {
            assert!(require_json(&with(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "text/plain",
            "text/plain; charset=utf-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonp",
            "",
        ] {
            let err = require_json(&with(bad)).unwrap_err();
            assert!(matches!(err, ApiError::UnsupportedMediaType(_)), "{bad}");
        }
        assert!(require_json(&HeaderMap::new()).is_err());
    }
}
