//! The files of messages: `GET /api/v1/media/{id}` serves an attachment's
//! bytes from the media store to whoever may see its conversation.

use super::parse_id;
use crate::auth::{Caller, Permission, authorize};
use crate::authz::{self, Access};
use crate::error::{ApiError, ApiResult, ErrorBody, ErrorDetail};
use crate::media::MediaStream;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use replyline_store::Attachment;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/media/{id}", get(read))
}

/// An attachment's file. 404 when the caller may not see its conversation
/// (like the conversation itself); 409 `media_not_ready` while it is still
/// downloading or after its download failed.
#[utoipa::path(get, path = "/api/v1/media/{id}", tag = "conversations", security(("bearer" = [])), params(("id" = String, Path)),
    responses(
        (status = 200, description = "The file's bytes, with its stored MIME type", content_type = "application/octet-stream",
            headers(("content-disposition" = String, description = "`inline` for images, audio, video and PDF, else `attachment`; `filename*=UTF-8''…`"))),
        (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "`media_not_ready`: pending or failed", body = crate::error::ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    authorize(&caller, Permission::Converse)?;
    let id = parse_id(&id, "media")?;
    let attachment = state
        .store
        .attachment(id)
        .await?
        .ok_or_else(|| ApiError::not_found("media"))?;
    let conversation = state
        .store
        .conversation(attachment.conversation_id)
        .await?
        .ok_or_else(|| ApiError::not_found("media"))?;
    let access = Access::load(state.store.as_ref()).await?;
    if !authz::can_view_conversation(&caller.0, &conversation, &access) {
        return Err(ApiError::not_found("media"));
    }
    let key = match (&attachment.storage_key, attachment.state.as_str()) {
        (Some(key), "stored") => key,
        _ => return Ok(not_ready(&attachment)),
    };
    let (size, chunks) = state.media.stream(key).await.map_err(|e| {
        tracing::error!(attachment = attachment.id, %e, "a stored file cannot be read");
        ApiError::Internal(e.to_string())
    })?;
    Ok(file_response(&attachment, size, chunks))
}

/// 409 `media_not_ready`, saying why.
fn not_ready(attachment: &Attachment) -> Response {
    let message = match (attachment.state.as_str(), &attachment.error) {
        ("failed", Some(error)) => format!("the file could not be downloaded: {error}"),
        ("failed", None) => "the file could not be downloaded".to_owned(),
        _ => "the file is still being downloaded".to_owned(),
    };
    let body = ErrorBody {
        error: ErrorDetail {
            code: "media_not_ready".into(),
            message,
            field: None,
        },
    };
    (StatusCode::CONFLICT, axum::Json(body)).into_response()
}

/// The MIME type to serve: the stored one when it is a valid header value.
fn content_type(attachment: &Attachment) -> HeaderValue {
    attachment
        .mime_type
        .as_deref()
        .filter(|m| m.contains('/'))
        .and_then(|m| HeaderValue::from_str(m.trim()).ok())
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"))
}

/// Shown in the browser (images, audio, video, PDF) or saved (the rest).
fn shown_inline(mime: &str) -> bool {
    let mime = mime.trim().to_ascii_lowercase();
    ["image/", "audio/", "video/"]
        .iter()
        .any(|p| mime.starts_with(p))
        || mime.starts_with("application/pdf")
}

/// A name for a file that came without one: `image-42.jpg`.
fn default_name(attachment: &Attachment) -> String {
    let mime = attachment.mime_type.as_deref().unwrap_or_default();
    let essence = mime.split(';').next().unwrap_or_default().trim();
    let ext = match essence {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/mp4" => "m4a",
        "audio/aac" => "aac",
        "audio/amr" => "amr",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        _ => "bin",
    };
    format!("{}-{}.{ext}", attachment.kind, attachment.id)
}

/// RFC 5987 `filename*` value: UTF-8, percent-encoded.
fn encode_filename(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `inline; filename*=UTF-8''…` or `attachment; …`.
fn disposition(attachment: &Attachment, mime: &HeaderValue) -> HeaderValue {
    let name = attachment
        .file_name
        .as_deref()
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).trim())
        .filter(|n| !n.is_empty())
        .map_or_else(|| default_name(attachment), str::to_owned);
    let how = if shown_inline(mime.to_str().unwrap_or_default()) {
        "inline"
    } else {
        "attachment"
    };
    HeaderValue::from_str(&format!(
        "{how}; filename*=UTF-8''{}",
        encode_filename(&name)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// The file, streamed from the media store, with its headers.
fn file_response(attachment: &Attachment, size: u64, chunks: MediaStream) -> Response {
    let mime = content_type(attachment);
    let headers = [
        (header::CONTENT_LENGTH, HeaderValue::from(size)),
        (header::CONTENT_DISPOSITION, disposition(attachment, &mime)),
        (header::CONTENT_TYPE, mime),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox"),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=86400"),
        ),
    ];
    (headers, axum::body::Body::from_stream(chunks)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attachment(mime: Option<&str>, name: Option<&str>) -> Attachment {
        Attachment {
            id: 7,
            message_id: 1,
            conversation_id: 2,
            channel_id: 3,
            direction: "in".into(),
            kind: "image".into(),
            mime_type: mime.map(str::to_owned),
            file_name: name.map(str::to_owned),
            size: None,
            sha256: None,
            provider_media_id: None,
            storage_key: None,
            state: "stored".into(),
            attempts: 1,
            next_attempt_at: None,
            error: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    fn header_of(a: &Attachment) -> String {
        disposition(a, &content_type(a))
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn media_types_are_shown_inline_and_the_rest_saved() {
        assert_eq!(
            header_of(&attachment(Some("image/jpeg"), None)),
            "inline; filename*=UTF-8''image-7.jpg"
        );
        assert_eq!(
            header_of(&attachment(Some("application/pdf"), Some("Счёт 1.pdf"))),
            "inline; filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82%201.pdf"
        );
        assert_eq!(
            header_of(&attachment(Some("text/html"), Some("../x\".html"))),
            "attachment; filename*=UTF-8''x%22.html"
        );
        assert_eq!(
            content_type(&attachment(Some("bad\nvalue"), None)),
            "application/octet-stream"
        );
        assert_eq!(
            content_type(&attachment(Some("audio/ogg; codecs=opus"), None)),
            "audio/ogg; codecs=opus"
        );
    }
}
