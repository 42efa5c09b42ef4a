//! Building send requests and the Graph API HTTP client, with error classification.
//!
//! `POST {base}/{version}/{phone_number_id}/messages` with a bearer token.
//! WhatsApp has no idempotency key: a send whose outcome is unknown (a timeout
//! after the request went out, an unreadable success body) is reported as
//! [`ErrorClass::Ambiguous`], and the caller must record it as such rather
//! than blindly resend.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::webhook::ProviderError;

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The recipient: a phone number (a leading `+` is added when it is all
    /// digits) or another contact key, sent as is.
    pub to: String,
    /// Echoed back as `biz_opaque_callback_data` in status updates.
    pub callback_data: Option<String>,
    /// What to send.
    pub body: OutgoingBody,
}

/// The content of an [`OutgoingMessage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutgoingBody {
    /// Free-form text; allowed only inside the 24-hour window. At most 4096 chars.
    Text {
        /// The text.
        body: String,
    },
    /// An approved template; allowed at any time.
    Template {
        /// The template name.
        name: String,
        /// The language code, e.g. `ru`.
        language: String,
        /// The BODY's parameters in order (none: no `components`).
        parameters: Vec<String>,
        /// The BODY's placeholder names when the template's parameters are
        /// named (`{{first_name}}`): each parameter then carries its
        /// `parameter_name`, as Meta requires. Empty for numbered ones.
        parameter_names: Vec<String>,
    },
    /// A file already uploaded to the provider.
    Media {
        /// `image`, `video`, `audio`, `document` or `sticker` (`voice` is sent as `audio`).
        kind: String,
        /// The id the upload returned.
        media_id: String,
        /// The caption (not for audio or stickers).
        caption: Option<String>,
        /// The file name shown to the client (documents only).
        filename: Option<String>,
    },
}

/// The JSON of a template: `components` only when there are parameters,
/// each with its `parameter_name` when `names` are given.
fn template_json(name: &str, language: &str, parameters: &[String], names: &[String]) -> Value {
    let mut template = json!({ "name": name, "language": { "code": language } });
    if !parameters.is_empty() {
        let parameters: Vec<Value> = parameters
            .iter()
            .enumerate()
            .map(|(i, text)| match names.get(i) {
                Some(name) => json!({ "type": "text", "parameter_name": name, "text": text }),
                None => json!({ "type": "text", "text": text }),
            })
            .collect();
        template["components"] = json!([{ "type": "body", "parameters": parameters }]);
    }
    template
}

/// The JSON of a media message's object: `{"id", "caption"?, "filename"?}`.
fn media_json(kind: &str, media_id: &str, caption: Option<&str>, filename: Option<&str>) -> Value {
    let mut media = json!({ "id": media_id });
    let captioned = !matches!(kind, "audio" | "sticker");
    if let Some(caption) = caption.filter(|c| captioned && !c.is_empty()) {
        media["caption"] = json!(caption);
    }
    if let Some(filename) = filename.filter(|f| kind == "document" && !f.is_empty()) {
        media["filename"] = json!(filename);
    }
    media
}

/// The Graph message type of an attachment kind (a voice note goes as audio).
fn media_type(kind: &str) -> &str {
    if kind == "voice" { "audio" } else { kind }
}

/// A message the provider accepted (not yet delivered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The provider's id (`wamid...`); status updates refer to it.
    pub provider_id: String,
}

/// How the caller should react to a failed send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Rate limit or provider trouble: retry with backoff.
    Transient,
    /// Too many messages to the same recipient (131056): back off for that
    /// recipient only (4^n seconds).
    PairRateLimit,
    /// The 24-hour customer service window is closed (131047): fall back to a
    /// template; never blindly retry free text.
    WindowClosed,
    /// This message can never be sent: fail it and show the reason.
    Permanent,
    /// Token or permission problem: flag the channel for re-auth, stop sending.
    Auth,
    /// Business account problem: halt the channel and alert admins.
    Account,
    /// The request may or may not have been accepted: record it as ambiguous,
    /// do not blindly resend (there is no idempotency key).
    Ambiguous,
}

impl ErrorClass {
    /// A stable lowercase name, e.g. `"window_closed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::PairRateLimit => "pair_rate_limit",
            Self::WindowClosed => "window_closed",
            Self::Permanent => "permanent",
            Self::Auth => "auth",
            Self::Account => "account",
            Self::Ambiguous => "ambiguous",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("WhatsApp send failed ({class}{}): {message}", code.map(|c| format!(", code {c}")).unwrap_or_default())]
pub struct SendError {
    /// What to do about it.
    pub class: ErrorClass,
    /// The Graph error code, when the provider gave one.
    pub code: Option<i64>,
    /// A human-readable reason.
    pub message: String,
    /// The `Retry-After` the provider asked for, if any.
    pub retry_after: Option<Duration>,
}

impl SendError {
    fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self {
            class,
            code: None,
            message: message.into(),
            retry_after: None,
        }
    }
}

fn known_class(code: i64) -> Option<ErrorClass> {
    use ErrorClass as C;
    Some(match code {
        130429 | 4 | 80007 | 1 | 2 | 131000 | 131016 | 131057 => C::Transient,
        131056 => C::PairRateLimit,
        131047 => C::WindowClosed,
        131026 | 131050 | 130403 | 100 | 131008 | 131009 | 131021 | 131051 => C::Permanent,
        132000..=132999 => C::Permanent,
        0 | 190 | 3 | 10 | 200..=299 => C::Auth,
        131042 | 131031 | 368 | 131045 | 33 | 131048 | 131064 => C::Account,
        _ => return None,
    })
}

/// Classifies a Graph error code by the table in `docs/channels.md`; codes
/// not in the table are [`ErrorClass::Permanent`].
pub fn classify(code: i64) -> ErrorClass {
    known_class(code).unwrap_or(ErrorClass::Permanent)
}

/// Classifies the errors of a `failed` status update: the first error with a
/// known code decides (131047 gives [`ErrorClass::WindowClosed`]); otherwise
/// the message failed permanently.
pub fn classify_status_errors(errors: &[ProviderError]) -> ErrorClass {
    errors
        .iter()
        .find_map(|e| known_class(e.code))
        .unwrap_or(ErrorClass::Permanent)
}

/// The recipient as Graph wants it: `+` and country code for phone numbers.
fn recipient(to: &str) -> String {
    let to = to.trim();
    if !to.is_empty() && to.bytes().all(|b| b.is_ascii_digit()) {
        format!("+{to}")
    } else {
        to.to_owned()
    }
}

/// The JSON body of `POST /{phone_number_id}/messages` for `msg`.
pub fn request_body(msg: &OutgoingMessage) -> Value {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient(&msg.to),
    });
    match &msg.body {
        OutgoingBody::Text { body: text } => {
            body["type"] = json!("text");
            body["text"] = json!({ "preview_url": false, "body": text });
        }
        OutgoingBody::Template {
            name,
            language,
            parameters,
            parameter_names,
        } => {
            body["type"] = json!("template");
            body["template"] = template_json(name, language, parameters, parameter_names);
        }
        OutgoingBody::Media {
            kind,
            media_id,
            caption,
            filename,
        } => {
            let kind = media_type(kind);
            body["type"] = json!(kind);
            body[kind] = media_json(kind, media_id, caption.as_deref(), filename.as_deref());
        }
    }
    if let Some(data) = &msg.callback_data {
        body["biz_opaque_callback_data"] = json!(data);
    }
    body
}

/// The messages endpoint URL.
pub fn messages_url(api_base_url: &str, api_version: &str, phone_number_id: &str) -> String {
    format!(
        "{}/{}/{}/messages",
        api_base_url.trim_end_matches('/'),
        api_version.trim_matches('/'),
        phone_number_id
    )
}

/// The Graph API client. Timeouts are those of the given `reqwest::Client`:
/// build it with `.timeout(...)` and `.connect_timeout(...)`.
#[derive(Debug, Clone)]
pub struct GraphClient {
    http: reqwest::Client,
}

impl GraphClient {
    /// Wraps an HTTP client (share one per process).
    pub fn new(http: reqwest::Client) -> Self {
        Self { http }
    }

    /// Sends `msg` from `phone_number_id`. Success means accepted, not delivered.
    pub async fn send(
        &self,
        api_base_url: &str,
        api_version: &str,
        phone_number_id: &str,
        access_token: &str,
        msg: &OutgoingMessage,
    ) -> Result<SentMessage, SendError> {
        let url = messages_url(api_base_url, api_version, phone_number_id);
        let response = self
            .http
            .post(&url)
            .bearer_auth(access_token)
            .json(&request_body(msg))
            .send()
            .await
            .map_err(transport_error)?;

        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response.bytes().await;

        if status.is_success() {
            let bytes = bytes.map_err(|e| {
                SendError::new(
                    ErrorClass::Ambiguous,
                    format!("HTTP {status} but reading the body failed: {e}"),
                )
            })?;
            return success_id(&bytes).map(|provider_id| SentMessage { provider_id });
        }

        let body: Value = bytes
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        let error = body.get("error").unwrap_or(&Value::Null);
        let code = error.get("code").and_then(Value::as_i64);
        let mut message = error
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| format!("HTTP {status}"), str::to_owned);
        if let Some(details) = error
            .get("error_data")
            .and_then(|d| d.get("details"))
            .and_then(Value::as_str)
        {
            message = format!("{message}: {details}");
        }
        let class = code
            .and_then(known_class)
            .unwrap_or_else(|| class_for_http_status(status));
        Err(SendError {
            class,
            code,
            message,
            retry_after,
        })
    }
}

fn class_for_http_status(status: StatusCode) -> ErrorClass {
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        ErrorClass::Transient
    } else if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        ErrorClass::Auth
    } else {
        ErrorClass::Permanent
    }
}

fn transport_error(e: reqwest::Error) -> SendError {
    if e.is_connect() {
        // The request never reached the provider: safe to retry.
        SendError::new(ErrorClass::Transient, format!("connect failed: {e}"))
    } else if e.is_builder() {
        SendError::new(ErrorClass::Permanent, format!("invalid request: {e}"))
    } else if e.is_timeout() {
        SendError::new(
            ErrorClass::Ambiguous,
            format!("timed out after sending, outcome unknown: {e}"),
        )
    } else {
        SendError::new(
            ErrorClass::Ambiguous,
            format!("request failed, outcome unknown: {e}"),
        )
    }
}

fn success_id(bytes: &[u8]) -> Result<String, SendError> {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .as_ref()
        .and_then(|v| v.get("messages")?.get(0)?.get("id")?.as_str())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            SendError::new(
                ErrorClass::Ambiguous,
                format!(
                    "accepted but the response has no message id: {}",
                    String::from_utf8_lossy(bytes)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: OutgoingBody) -> OutgoingMessage {
        OutgoingMessage {
            to: "79001234567".into(),
            callback_data: Some("42".into()),
            body,
        }
    }

    #[test]
    fn a_template_without_parameters_has_no_components() {
        let body = request_body(&message(OutgoingBody::Template {
            name: "hello".into(),
            language: "ru".into(),
            parameters: vec![],
            parameter_names: vec![],
        }));
        assert_eq!(body["type"], "template");
        assert_eq!(
            body["template"],
            json!({"name": "hello", "language": {"code": "ru"}})
        );
        assert_eq!(body["to"], "+79001234567");
        assert_eq!(body["biz_opaque_callback_data"], "42");
    }

    #[test]
    fn template_parameters_go_into_the_body_component_in_order() {
        let body = request_body(&message(OutgoingBody::Template {
            name: "order".into(),
            language: "en_US".into(),
            parameters: vec!["Анна".into(), "#17".into()],
            parameter_names: vec![],
        }));
        assert_eq!(
            body["template"]["components"],
            json!([{"type": "body", "parameters": [
                {"type": "text", "text": "Анна"},
                {"type": "text", "text": "#17"}
            ]}])
        );
    }

    #[test]
    fn named_template_parameters_carry_their_names() {
        let body = request_body(&message(OutgoingBody::Template {
            name: "order".into(),
            language: "ru".into(),
            parameters: vec!["Анна".into(), "#17".into()],
            parameter_names: vec!["client".into(), "order_id".into()],
        }));
        assert_eq!(
            body["template"]["components"],
            json!([{"type": "body", "parameters": [
                {"type": "text", "parameter_name": "client", "text": "Анна"},
                {"type": "text", "parameter_name": "order_id", "text": "#17"}
            ]}])
        );
    }

    fn media(kind: &str) -> Value {
        request_body(&message(OutgoingBody::Media {
            kind: kind.into(),
            media_id: "m1".into(),
            caption: Some("see".into()),
            filename: Some("a.pdf".into()),
        }))
    }

    #[test]
    fn an_image_carries_its_caption_but_no_filename() {
        let body = media("image");
        assert_eq!(body["type"], "image");
        assert_eq!(body["image"], json!({"id": "m1", "caption": "see"}));
    }

    #[test]
    fn a_document_carries_caption_and_filename() {
        let body = media("document");
        assert_eq!(
            body["document"],
            json!({"id": "m1", "caption": "see", "filename": "a.pdf"})
        );
    }

    #[test]
    fn audio_stickers_and_voice_notes_have_no_caption() {
        assert_eq!(media("audio")["audio"], json!({"id": "m1"}));
        assert_eq!(media("sticker")["sticker"], json!({"id": "m1"}));
        let voice = media("voice");
        assert_eq!(voice["type"], "audio");
        assert_eq!(voice["audio"], json!({"id": "m1"}));
    }

    #[test]
    fn an_empty_caption_is_left_out() {
        let body = request_body(&message(OutgoingBody::Media {
            kind: "video".into(),
            media_id: "v".into(),
            caption: Some(String::new()),
            filename: None,
        }));
        assert_eq!(body["video"], json!({"id": "v"}));
    }
}
