//! The Graph API's media endpoints: a media id's URL and hash
//! (`GET /{version}/{MEDIA_ID}`), its bytes (`GET url` with the same bearer
//! token) and uploads (`POST /{version}/{phone_number_id}/media`).
//!
//! Errors are [`SendError`]s classified for the caller: network trouble, 5xx
//! and 429 are [`ErrorClass::Transient`]; 401/403 are [`ErrorClass::Auth`];
//! a 4xx that cannot heal (an unknown or expired media id, a bad upload) is
//! [`ErrorClass::Permanent`]. These requests are safe to repeat, so a timeout
//! is transient here, never ambiguous.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::send::{ErrorClass, SendError, classify};

/// What `GET /{version}/{MEDIA_ID}` says about a media id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MediaInfo {
    /// Where the bytes are (valid for a few minutes; needs the bearer token).
    pub url: String,
    #[serde(default)]
    pub mime_type: Option<String>,
    /// The SHA-256 of the bytes, hex or base64.
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    pub file_size: Option<u64>,
}

/// `file_size` comes as a number or as a string of digits.
fn number_or_text<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<Value>::deserialize(de)? {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

fn error(class: ErrorClass, message: impl Into<String>) -> SendError {
    SendError {
        class,
        code: None,
        message: message.into(),
        retry_after: None,
    }
}

/// `{base}/{version}/{tail}`.
fn graph_url(api_base_url: &str, api_version: &str, tail: &str) -> String {
    format!(
        "{}/{}/{}",
        api_base_url.trim_end_matches('/'),
        api_version.trim_matches('/'),
        tail
    )
}

/// A failed request: every transport error may be retried.
fn transport_error(e: &reqwest::Error) -> SendError {
    if e.is_builder() {
        error(ErrorClass::Permanent, format!("invalid request: {e}"))
    } else {
        error(ErrorClass::Transient, format!("request failed: {e}"))
    }
}

/// The class of an HTTP error answer with its Graph error `code`, if any.
fn class_of(status: StatusCode, code: Option<i64>) -> ErrorClass {
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        ErrorClass::Transient
    } else if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        ErrorClass::Auth
    } else if let Some(code) = code {
        // A 4xx with a retryable code (rate limits) stays retryable.
        match classify(code) {
            ErrorClass::Transient | ErrorClass::Auth => classify(code),
            _ => ErrorClass::Permanent,
        }
    } else {
        ErrorClass::Permanent
    }
}

/// Turns a non-success answer into its error (the Graph error's message and code).
async fn http_error(response: reqwest::Response) -> SendError {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body: Value = response
        .bytes()
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let graph = body.get("error").unwrap_or(&Value::Null);
    let code = graph.get("code").and_then(Value::as_i64);
    let message = graph.get("message").and_then(Value::as_str).map_or_else(
        || format!("HTTP {status}"),
        |m| format!("HTTP {status}: {m}"),
    );
    SendError {
        class: class_of(status, code),
        code,
        message,
        retry_after,
    }
}

/// Looks up a media id: `GET {base}/{version}/{media_id}` with the channel's token.
pub async fn media_info(
    http: &reqwest::Client,
    api_base_url: &str,
    api_version: &str,
    media_id: &str,
    access_token: &str,
) -> Result<MediaInfo, SendError> {
    if media_id.is_empty() || media_id.contains(['/', '?', '#']) {
        return Err(error(
            ErrorClass::Permanent,
            format!("invalid media id {media_id:?}"),
        ));
    }
    let response = http
        .get(graph_url(api_base_url, api_version, media_id))
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|e| transport_error(&e))?;
    if !response.status().is_success() {
        return Err(http_error(response).await);
    }
    let bytes = response.bytes().await.map_err(|e| transport_error(&e))?;
    let info: MediaInfo = serde_json::from_slice(&bytes)
        .map_err(|e| error(ErrorClass::Transient, format!("unreadable media info: {e}")))?;
    if info.url.is_empty() {
        return Err(error(ErrorClass::Transient, "media info without a url"));
    }
    Ok(info)
}

/// Downloads the bytes at `url` (from [`media_info`]) with the channel's token;
/// more than `max_bytes` is a permanent error.
pub async fn download(
    http: &reqwest::Client,
    url: &str,
    access_token: &str,
    max_bytes: u64,
) -> Result<Bytes, SendError> {
    let too_big = || {
        error(
            ErrorClass::Permanent,
            format!("the file is larger than {max_bytes} bytes"),
        )
    };
    let mut response = http
        .get(url)
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|e| transport_error(&e))?;
    if !response.status().is_success() {
        return Err(http_error(response).await);
    }
    if response.content_length().is_some_and(|n| n > max_bytes) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(&e))? {
        if (body.len() + chunk.len()) as u64 > max_bytes {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// Uploads a file for sending: `POST {base}/{version}/{phone_number_id}/media`
/// as `multipart/form-data` with `messaging_product=whatsapp`, `type` (the MIME
/// type) and `file`; returns the media id to send (`{"id": "..."}`).
#[allow(clippy::too_many_arguments)]
pub async fn upload(
    http: &reqwest::Client,
    api_base_url: &str,
    api_version: &str,
    phone_number_id: &str,
    access_token: &str,
    bytes: Bytes,
    mime_type: &str,
    file_name: &str,
) -> Result<String, SendError> {
    let boundary = format!("replyline-{:016x}", rand_u64());
    let body = multipart_body(&boundary, bytes, mime_type, file_name);
    let response = http
        .post(graph_url(
            api_base_url,
            api_version,
            &format!("{phone_number_id}/media"),
        ))
        .bearer_auth(access_token)
        .header(
            reqwest::header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| transport_error(&e))?;
    if !response.status().is_success() {
        return Err(http_error(response).await);
    }
    let bytes = response.bytes().await.map_err(|e| transport_error(&e))?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get("id")?.as_str().map(str::to_owned))
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            error(
                ErrorClass::Transient,
                format!(
                    "upload answered without an id: {}",
                    String::from_utf8_lossy(&bytes)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ),
            )
        })
}

/// A boundary that differs between uploads (not a secret).
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

/// A header parameter value: quotes, backslashes and line breaks cannot break out.
fn quoted(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\r' | '\n' => '_',
            c => c,
        })
        .collect()
}

/// The `multipart/form-data` body of an upload.
fn multipart_body(boundary: &str, bytes: Bytes, mime_type: &str, file_name: &str) -> Vec<u8> {
    let mime = quoted(mime_type);
    let mut body = Vec::with_capacity(bytes.len() + 512);
    for (name, value) in [("messaging_product", "whatsapp"), ("type", mime.as_str())] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\n\
             Content-Type: {mime}\r\n\r\n",
            quoted(file_name)
        )
        .as_bytes(),
    );
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

/// Whether `bytes` have the SHA-256 `expected`, given as hex or as base64
/// (standard or URL-safe, padded or not), as the provider writes it.
pub fn sha256_matches(expected: &str, bytes: &[u8]) -> bool {
    let digest = Sha256::digest(bytes);
    let expected = expected.trim();
    if hex::decode(expected).is_ok_and(|d| d.as_slice() == digest.as_slice()) {
        return true;
    }
    let unpadded = expected.trim_end_matches('=');
    [
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ]
    .iter()
    .any(|engine| {
        engine
            .decode(unpadded)
            .is_ok_and(|d| d.as_slice() == digest.as_slice())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_matches_as_hex_or_base64() {
        let digest = Sha256::digest(b"hello");
        let hex = hex::encode(digest);
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        for form in [hex.as_str(), &hex.to_uppercase(), &b64, &url] {
            assert!(sha256_matches(form, b"hello"), "{form}");
            assert!(!sha256_matches(form, b"hellO"), "{form}");
        }
        assert!(!sha256_matches("4654+8g=", b"hello"));
    }

    #[test]
    fn statuses_are_classified_for_retrying() {
        assert_eq!(
            class_of(StatusCode::INTERNAL_SERVER_ERROR, Some(1)),
            ErrorClass::Transient
        );
        assert_eq!(
            class_of(StatusCode::TOO_MANY_REQUESTS, None),
            ErrorClass::Transient
        );
        assert_eq!(class_of(StatusCode::NOT_FOUND, None), ErrorClass::Permanent);
        assert_eq!(
            class_of(StatusCode::BAD_REQUEST, Some(100)),
            ErrorClass::Permanent
        );
        assert_eq!(
            class_of(StatusCode::BAD_REQUEST, Some(4)),
            ErrorClass::Transient
        );
        assert_eq!(
            class_of(StatusCode::UNAUTHORIZED, Some(190)),
            ErrorClass::Auth
        );
    }

    #[test]
    fn header_values_cannot_break_out_of_the_multipart_part() {
        let body = multipart_body("b", Bytes::from_static(b"x"), "image/png", "a\"\r\nb.png");
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("filename=\"a___b.png\""), "{text}");
        assert!(text.ends_with("\r\n--b--\r\n"));
    }
}
