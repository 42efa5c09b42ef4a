//! Composing an employee's message from `POST /api/v1/conversations/{id}/messages`:
//! JSON `{"text"}` or `{"template"}`, or `multipart/form-data` with a `file`
//! and an optional caption `text` (checked against Meta's limits, then put in
//! the media store under `out/{conversation_id}/{uuid}`).

use super::dto::{TemplateRequest, TextRequest, check_text, control_char};
use super::templates;
use crate::driver::{Act, TemplateSend};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use replyline_store::{Channel, Id, NewAttachment};
use replyline_whatsapp::limits::{self, LimitError, MAX_CAPTION_CHARS, MAX_OUTBOUND_BYTES};
use replyline_whatsapp::templates::fill;
use sha2::{Digest, Sha256};

/// The largest JSON body of a message.
const MAX_JSON_BYTES: usize = 1024 * 1024;
/// The largest request of the route: the largest file plus the form's overhead.
pub const MAX_MESSAGE_BODY: usize = MAX_OUTBOUND_BYTES as usize + 1024 * 1024;
/// The longest template parameter, in characters.
const MAX_PARAMETER_CHARS: usize = 1024;
/// The longest template name or language code, in characters.
const MAX_TEMPLATE_NAME_CHARS: usize = 512;
/// The longest file name kept, in characters.
const MAX_FILE_NAME_CHARS: usize = 255;
/// The largest `text` part read (a caption is at most 1024 characters).
const MAX_CAPTION_BYTES: usize = 16 * 1024;

/// `multipart/form-data` of `POST …/messages` (for the OpenAPI document).
#[derive(Debug, utoipa::ToSchema)]
pub struct FileMessageForm {
    /// The file: image (jpeg, png ≤ 5 MB), video (mp4, 3gpp ≤ 16 MB), audio (aac, amr,
    /// mpeg, mp4, ogg ≤ 16 MB), sticker (webp ≤ 500 KB) or document (≤ 100 MB).
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// The caption (at most 1024 characters).
    pub text: Option<String>,
}

/// A composed message: the act for the driver and the file it stored, if any.
pub struct Composed {
    pub act: Act,
    /// The media store key of the stored file.
    pub stored: Option<String>,
}

/// After the driver refused a message with a stored file: the file has no
/// message, so it is deleted (a failure to delete is logged, the file left).
pub async fn discard(state: &AppState, stored: Option<&str>) {
    let Some(key) = stored else {
        return;
    };
    if let Err(err) = state.media.delete(key).await {
        tracing::warn!(key, %err, "message refused: its stored file could not be deleted");
    }
}

/// The digits of an E.164 number (`+` optional; spaces, dashes, dots and
/// brackets ignored): 8 to 15 digits, not starting with 0 (422 `contact_address`).
pub fn e164_digits(raw: &str) -> ApiResult<String> {
    let trimmed = raw.trim();
    let rest = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let digits: String = rest
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let valid = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if !valid {
        return Err(ApiError::validation(
            "contact_address",
            "must be a phone number in international format (E.164): 8 to 15 digits with the country code, e.g. +7 900 123-45-67",
        ));
    }
    Ok(digits)
}

/// The act a request asks for, by its content type.
pub async fn compose(
    state: &AppState,
    employee: Id,
    conversation_id: Id,
    channel_id: Id,
    request: Request,
) -> ApiResult<Composed> {
    if is_multipart(&request) {
        return compose_file(state, employee, conversation_id, request).await;
    }
    crate::json::require_json(request.headers())?;
    let bytes = axum::body::to_bytes(request.into_body(), MAX_JSON_BYTES)
        .await
        .map_err(|_| ApiError::TooLarge)?;
    let req: TextRequest = crate::json::parse(&bytes)?;
    let act = match (req.text, req.template) {
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "text",
                "give either text or template, not both",
            ));
        }
        (_, Some(template)) => {
            let channel = templates::channel(state, channel_id).await?;
            Act::Template {
                employee,
                template: template_send(state, &channel, template).await?,
            }
        }
        (text, None) => {
            let text = text.unwrap_or_default();
            check_text("text", &text)?;
            Act::Message {
                employee,
                text,
                attachment: None,
            }
        }
    };
    Ok(Composed { act, stored: None })
}

fn is_multipart(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// The template to send: the parameters checked, the template approved on the
/// channel with as many parameters, its BODY filled in as the text.
pub async fn template_send(
    state: &AppState,
    channel: &Channel,
    req: TemplateRequest,
) -> ApiResult<TemplateSend> {
    check_template_name("template.name", &req.name)?;
    check_template_name("template.language", &req.language)?;
    check_parameters(&req.parameters)?;
    let found = templates::sendable(state, channel, &req.name, &req.language).await?;
    let expected = usize::try_from(found.parameters).unwrap_or(usize::MAX);
    if req.parameters.len() != expected {
        return Err(ApiError::validation(
            "template.parameters",
            format!(
                "template {:?} takes {expected} parameters, got {}",
                req.name,
                req.parameters.len()
            ),
        ));
    }
    let preview = Some(fill(&found.preview, &req.parameters)).filter(|p| !p.trim().is_empty());
    Ok(TemplateSend {
        name: found.name,
        language: found.language,
        parameters: req.parameters,
        preview,
    })
}

fn check_template_name(field: &str, value: &str) -> ApiResult<()> {
    let n = value.chars().count();
    if value.trim().is_empty() || n > MAX_TEMPLATE_NAME_CHARS || value.chars().any(char::is_control)
    {
        return Err(ApiError::validation(
            field,
            format!("must be 1 to {MAX_TEMPLATE_NAME_CHARS} characters without control characters"),
        ));
    }
    Ok(())
}

/// Each parameter 1–1024 characters, not only spaces, without newlines, tabs
/// or other control characters (WhatsApp refuses them).
fn check_parameters(parameters: &[String]) -> ApiResult<()> {
    for (i, p) in parameters.iter().enumerate() {
        let n = p.chars().count();
        if p.trim().is_empty() || n > MAX_PARAMETER_CHARS || p.chars().any(char::is_control) {
            return Err(ApiError::validation(
                format!("template.parameters[{i}]"),
                format!(
                    "must be 1 to {MAX_PARAMETER_CHARS} characters without newlines, tabs or control characters"
                ),
            ));
        }
    }
    Ok(())
}

/// A file read from the form, checked against the limits.
struct Upload {
    kind: &'static str,
    mime_type: String,
    file_name: Option<String>,
    bytes: Bytes,
    sha256: String,
}

async fn compose_file(
    state: &AppState,
    employee: Id,
    conversation_id: Id,
    request: Request,
) -> ApiResult<Composed> {
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::bad_request(None, e.body_text()))?;
    let mut caption: Option<String> = None;
    let mut upload: Option<Upload> = None;
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        match field.name().unwrap_or_default() {
            "text" => caption = Some(read_caption(field).await?),
            "file" if upload.is_some() => {
                return Err(ApiError::validation("file", "send one file per message"));
            }
            "file" => upload = Some(read_file(field).await?),
            other => {
                let name: String = other.chars().take(100).collect();
                return Err(ApiError::validation(
                    name.clone(),
                    "unknown form field: expected file and text",
                ));
            }
        }
    }
    let upload = upload.ok_or_else(|| ApiError::validation("file", "required"))?;
    let caption = caption.unwrap_or_default();
    let key = format!("out/{conversation_id}/{}", uuid::Uuid::new_v4());
    let size = i64::try_from(upload.bytes.len()).unwrap_or(i64::MAX);
    state
        .media
        .put(&key, upload.bytes)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let attachment = NewAttachment {
        kind: upload.kind.to_owned(),
        mime_type: Some(upload.mime_type),
        file_name: upload.file_name,
        size: Some(size),
        sha256: Some(upload.sha256),
        provider_media_id: None,
        storage_key: Some(key.clone()),
        state: "stored".into(),
    };
    Ok(Composed {
        act: Act::Message {
            employee,
            text: caption,
            attachment: Some(attachment),
        },
        stored: Some(key),
    })
}

/// A form that could not be read; over the route's limit it is a file too large.
fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large(&LimitError::TooLarge {
            kind: "document",
            limit: MAX_OUTBOUND_BYTES,
            size: MAX_OUTBOUND_BYTES + 1,
        });
    }
    ApiError::bad_request(None, format!("malformed multipart body: {}", e.body_text()))
}

fn too_large(e: &LimitError) -> ApiError {
    ApiError::Coded {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "file_too_large",
        message: format!("file: {e}"),
        field: Some("file"),
    }
}

fn limit_error(e: &LimitError) -> ApiError {
    match e {
        LimitError::TooLarge { .. } => too_large(e),
        LimitError::UnsupportedType(_) => ApiError::UnprocessableField {
            code: "unsupported_file_type",
            message: format!(
                "file: {e}; send an image (jpeg, png), video (mp4, 3gpp), audio (aac, amr, mpeg, mp4, ogg), sticker (webp) or document (pdf, txt, csv, zip, Office)"
            ),
            field: "file",
        },
    }
}

async fn read_caption(mut field: Field<'_>) -> ApiResult<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_CAPTION_BYTES {
            return Err(caption_too_long());
        }
    }
    let text =
        String::from_utf8(bytes).map_err(|_| ApiError::validation("text", "must be UTF-8 text"))?;
    if text.chars().count() > MAX_CAPTION_CHARS {
        return Err(caption_too_long());
    }
    if let Some(c) = control_char(&text) {
        return Err(ApiError::validation(
            "text",
            format!("must not contain the control character U+{:04X}", c as u32),
        ));
    }
    Ok(text)
}

fn caption_too_long() -> ApiError {
    ApiError::validation(
        "text",
        format!("a caption may be at most {MAX_CAPTION_CHARS} characters"),
    )
}

/// The file's type: the part's, or guessed from its name when the part says
/// nothing better than `application/octet-stream`.
fn mime_type(declared: Option<&str>, file_name: Option<&str>) -> String {
    let declared = declared
        .and_then(|m| m.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty() && m != "application/octet-stream");
    declared
        .or_else(|| {
            file_name
                .and_then(|n| mime_guess::from_path(n).first())
                .map(|m| m.essence_str().to_owned())
        })
        .unwrap_or_else(|| "application/octet-stream".into())
}

/// The file name without any directory, at most 255 characters, no control characters.
fn clean_file_name(raw: Option<&str>) -> Option<String> {
    let base = raw?.rsplit(['/', '\\']).next()?.trim();
    let name: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILE_NAME_CHARS)
        .collect();
    Some(name).filter(|n| !n.is_empty())
}

/// Reads the file part, stopping as soon as it is over its kind's limit.
async fn read_file(mut field: Field<'_>) -> ApiResult<Upload> {
    let file_name = clean_file_name(field.file_name());
    let mime = mime_type(field.content_type(), file_name.as_deref());
    let kind = limits::classify_outbound(&mime, 0).map_err(|e| limit_error(&e))?;
    let mut bytes = Vec::new();
    let mut hash = Sha256::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        hash.update(&chunk);
        bytes.extend_from_slice(&chunk);
        let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        limits::classify_outbound(&mime, size).map_err(|e| limit_error(&e))?;
    }
    if bytes.is_empty() {
        return Err(ApiError::validation("file", "the file is empty"));
    }
    Ok(Upload {
        kind: kind.kind,
        mime_type: mime,
        file_name,
        bytes: Bytes::from(bytes),
        sha256: hex::encode(hash.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_comes_from_the_part_or_the_name() {
        assert_eq!(mime_type(Some("image/PNG"), Some("a.jpg")), "image/png");
        assert_eq!(
            mime_type(Some("application/octet-stream"), Some("scan.pdf")),
            "application/pdf"
        );
        assert_eq!(mime_type(None, Some("photo.JPG")), "image/jpeg");
        assert_eq!(mime_type(None, None), "application/octet-stream");
        assert_eq!(mime_type(None, Some("noext")), "application/octet-stream");
    }

    #[test]
    fn file_names_lose_their_directories() {
        assert_eq!(
            clean_file_name(Some("C:\\Users\\a\\Договор.pdf")).as_deref(),
            Some("Договор.pdf")
        );
        assert_eq!(
            clean_file_name(Some("../../etc/passwd")).as_deref(),
            Some("passwd")
        );
        assert_eq!(clean_file_name(Some("dir/")), None);
        assert_eq!(clean_file_name(None), None);
        assert_eq!(
            clean_file_name(Some(&"x".repeat(300))).map(|n| n.len()),
            Some(255)
        );
    }

    #[test]
    fn numbers_are_e164_digits() {
        for (raw, digits) in [
            ("+7 (900) 123-45-67", "79001234567"),
            ("79001234567", "79001234567"),
            (" +1.650.555.0100 ", "16505550100"),
            ("49301234", "49301234"),
        ] {
            assert_eq!(e164_digits(raw).unwrap(), digits, "{raw}");
        }
        for bad in [
            "",
            "+",
            "1234567",
            "0790012345",
            "7900123456789012",
            "+7 900 abc",
            "++79001234567",
            "7900+1234567",
        ] {
            assert!(e164_digits(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parameters_are_single_line_and_not_empty() {
        assert!(check_parameters(&["Анна".into(), "A-17".into()]).is_ok());
        for bad in ["", "  ", "two\nlines", "tab\there", &"x".repeat(1025)] {
            let err = check_parameters(&["ok".into(), bad.into()]).unwrap_err();
            assert!(
                matches!(&err, ApiError::Validation { field: Some(f), .. } if f == "template.parameters[1]"),
                "{bad:?}: {err:?}"
            );
        }
    }
}
