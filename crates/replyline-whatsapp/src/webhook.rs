//! Parsing of webhook POST bodies into a normalized, storage-agnostic form.
//!
//! Every `entry[]`, `changes[]`, `messages[]` and `statuses[]` is visited.
//! Unknown fields, message types, `field` values and status strings are never
//! errors: new kinds of updates must not make us reject a body that Meta would
//! then retry for days. Only malformed JSON, a wrong shape (e.g. `entry` that
//! is not an array) or a message/status without its id or timestamp is a
//! [`ParseError`], whose message names the offending path.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a webhook body could not be parsed. The message names the path, e.g.
/// `entry[0].changes: expected an array`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid WhatsApp webhook: {message}")]
pub struct ParseError {
    /// What is wrong and where.
    pub message: String,
}

impl ParseError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// A parsed webhook body: one [`Change`] per `entry[].changes[]` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    /// Changes in body order.
    pub changes: Vec<Change>,
}

/// One `entry[].changes[]` item. Only `field == "messages"` carries messages
/// and statuses; other fields yield a `Change` with empty vectors, which the
/// caller records as ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The `field` value (`messages`, `message_template_status_update`, ...).
    pub field: String,
    /// `value.metadata.phone_number_id`: route the change by it.
    pub phone_number_id: Option<String>,
    /// `value.metadata.display_phone_number`.
    pub display_phone_number: Option<String>,
    /// Inbound messages from users.
    pub messages: Vec<InboundMessage>,
    /// Delivery status updates for messages we sent.
    pub statuses: Vec<StatusUpdate>,
}

/// An inbound message, of any type, reduced to what an inbox shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// The provider's message id (`wamid...`): deduplicate by it.
    pub provider_id: String,
    /// Who wrote: `from` (the wa_id), or the business-scoped `from_user_id`
    /// (or the contact's `user_id`) when the phone number is absent.
    pub contact_key: String,
    /// The sender's profile name from `value.contacts[]`, when given.
    pub contact_name: Option<String>,
    /// Unix seconds.
    pub timestamp: i64,
    /// The normalized type.
    pub kind: MessageKind,
    /// The text body, or a readable bracketed placeholder for other content,
    /// e.g. `[image] caption`, `[document: invoice.pdf]`,
    /// `[location: 55.75, 37.61 Kremlin]`, `[reaction 👍 to wamid.X]`,
    /// `[button: Yes]`, `[unsupported message]`. Never empty.
    pub text: String,
    /// The media id to download via `GET /<MEDIA_ID>`, for media types.
    pub media_id: Option<String>,
    /// The media MIME type, for media types.
    pub mime_type: Option<String>,
    /// The file of an image, video, audio/voice, document or sticker message
    /// (also inside an `edit`), to download via the Graph API.
    pub media: Option<InboundMedia>,
    /// Structured content a chat can show beyond text: `{"location":{latitude,
    /// longitude, name?, address?}}` or `{"contacts":[{name, phones:[..]}]}`.
    pub details: Option<Value>,
    /// `context.id`: the message this one replies to.
    pub reply_to: Option<String>,
    /// The provider's `type` string as received (`text`, `edit`, `revoke`, ...).
    pub raw_type: String,
}

/// The normalized type of an inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Plain text.
    Text,
    /// A picture.
    Image,
    /// A file.
    Document,
    /// An audio file.
    Audio,
    /// A voice note (`audio` with `voice: true`).
    Voice,
    /// A video.
    Video,
    /// A sticker.
    Sticker,
    /// A shared location.
    Location,
    /// Shared contact cards.
    Contacts,
    /// A reply to an interactive message (button, list, flow, call permission).
    Interactive,
    /// A template quick-reply button press.
    Button,
    /// A reaction (or its removal) to a message.
    Reaction,
    /// A catalog order.
    Order,
    /// A system notice (number or identity change).
    System,
    /// The user opened the chat for the first time.
    RequestWelcome,
    /// `unsupported`, `unknown`, `edit`, `revoke` or any type we do not know;
    /// see [`InboundMessage::raw_type`].
    Unknown,
}

impl MessageKind {
    /// A stable lowercase name, e.g. `"voice"`, `"request_welcome"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Image => "image",
            Self::Document => "document",
            Self::Audio => "audio",
            Self::Voice => "voice",
            Self::Video => "video",
            Self::Sticker => "sticker",
            Self::Location => "location",
            Self::Contacts => "contacts",
            Self::Interactive => "interactive",
            Self::Button => "button",
            Self::Reaction => "reaction",
            Self::Order => "order",
            Self::System => "system",
            Self::RequestWelcome => "request_welcome",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery status update for a message we sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusUpdate {
    /// The id returned when we sent the message.
    pub provider_message_id: String,
    /// The new status (`played` is reported as [`DeliveryStatus::Read`]).
    pub status: DeliveryStatus,
    /// Unix seconds.
    pub timestamp: i64,
    /// `recipient_id`.
    pub recipient_id: Option<String>,
    /// `biz_opaque_callback_data`: the value we set when sending.
    pub callback_data: Option<String>,
    /// Errors of a `failed` status.
    pub errors: Vec<ProviderError>,
}

/// An error object from a status update or a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderError {
    /// The Graph error code, e.g. 131047.
    pub code: i64,
    /// `title`.
    pub title: Option<String>,
    /// `message`.
    pub message: Option<String>,
    /// `error_data.details`.
    pub details: Option<String>,
}

/// Delivery status of an outgoing message.
///
/// Statuses arrive out of order, so they are ranked and a stored status is
/// only replaced by a higher-ranked one ([`DeliveryStatus::advances`]):
/// `queued < sent < delivered < failed < read`. Hence `failed` replaces
/// queued/sent/delivered, a late `delivered` after `failed` keeps `failed`,
/// and a `failed` after `read` does not downgrade (a read message evidently
/// reached the user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Written to our outbox, not yet accepted by the provider.
    Queued,
    /// Accepted and sent by WhatsApp.
    Sent,
    /// Delivered to the device.
    Delivered,
    /// Read (or, for voice notes, played).
    Read,
    /// Failed; see the errors.
    Failed,
}

impl DeliveryStatus {
    /// All statuses, in rank order.
    pub const ALL: [Self; 5] = [
        Self::Queued,
        Self::Sent,
        Self::Delivered,
        Self::Failed,
        Self::Read,
    ];

    /// The rank used to never downgrade: queued 0, sent 1, delivered 2,
    /// failed 3, read 4.
    pub fn rank(self) -> u8 {
        match self {
            Self::Queued => 0,
            Self::Sent => 1,
            Self::Delivered => 2,
            Self::Failed => 3,
            Self::Read => 4,
        }
    }

    /// Whether a stored status `self` should be replaced by `new`.
    pub fn advances(self, new: Self) -> bool {
        new.rank() > self.rank()
    }

    /// `"queued"`, `"sent"`, `"delivered"`, `"read"` or `"failed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }

    /// Maps a webhook `status` string; `played` is `Read`. Unknown strings
    /// (e.g. call statuses) give `None`.
    pub fn from_webhook(status: &str) -> Option<Self> {
        match status {
            "played" => Some(Self::Read),
            other => other.parse().ok(),
        }
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The string is not one of the five [`DeliveryStatus`] names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown delivery status {0:?}")]
pub struct UnknownDeliveryStatus(pub String);

impl FromStr for DeliveryStatus {
    type Err = UnknownDeliveryStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "queued" => Ok(Self::Queued),
            "sent" => Ok(Self::Sent),
            "delivered" => Ok(Self::Delivered),
            "read" => Ok(Self::Read),
            "failed" => Ok(Self::Failed),
            other => Err(UnknownDeliveryStatus(other.to_owned())),
        }
    }
}

/// Parses a webhook POST body (the raw bytes whose signature was checked).
pub fn parse_webhook(raw_body: &[u8]) -> Result<Webhook, ParseError> {
    let root: Value = serde_json::from_slice(raw_body)
        .map_err(|e| ParseError::new(format!("body is not valid JSON: {e}")))?;
    let root = object(&root, "body")?;
    let entries = match root.get("entry") {
        None => return Err(ParseError::new("entry: missing")),
        Some(_) => array(root, "entry", "")?,
    };
    let mut changes = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let path = format!("entry[{i}]");
        let entry = object(entry, &path)?;
        for (j, change) in array(entry, "changes", &path)?.iter().enumerate() {
            changes.push(parse_change(change, &format!("{path}.changes[{j}]"))?);
        }
    }
    Ok(Webhook { changes })
}

type Object = serde_json::Map<String, Value>;

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Object, ParseError> {
    v.as_object()
        .ok_or_else(|| ParseError::new(format!("{path}: expected an object")))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// An optional array: absent or null is empty, anything else but an array is an error.
fn array<'a>(obj: &'a Object, key: &str, path: &str) -> Result<&'a [Value], ParseError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(ParseError::new(format!(
            "{}: expected an array",
            join(path, key)
        ))),
    }
}

fn required_str<'a>(obj: &'a Object, key: &str, path: &str) -> Result<&'a str, ParseError> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(ParseError::new(format!("{}: missing", join(path, key))))
        }
        Some(_) => Err(ParseError::new(format!(
            "{}: expected a string",
            join(path, key)
        ))),
    }
}

/// A lenient optional non-empty string.
fn opt_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn opt_string(v: &Value, key: &str) -> Option<String> {
    opt_str(v, key).map(str::to_owned)
}

/// Unix seconds, sent as a string (numbers are accepted too).
fn timestamp(obj: &Object, path: &str) -> Result<i64, ParseError> {
    let path = join(path, "timestamp");
    match obj.get("timestamp") {
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| ParseError::new(format!("{path}: expected unix seconds, got {s:?}"))),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| ParseError::new(format!("{path}: expected unix seconds, got {n}"))),
        None | Some(Value::Null) => Err(ParseError::new(format!("{path}: missing"))),
        Some(_) => Err(ParseError::new(format!("{path}: expected unix seconds"))),
    }
}

fn parse_change(change: &Value, path: &str) -> Result<Change, ParseError> {
    let obj = object(change, path)?;
    let field = required_str(obj, "field", path)?.to_owned();
    let value = obj.get("value").unwrap_or(&Value::Null);
    let metadata = value.get("metadata").unwrap_or(&Value::Null);
    let mut out = Change {
        field,
        phone_number_id: opt_string(metadata, "phone_number_id"),
        display_phone_number: opt_string(metadata, "display_phone_number"),
        messages: Vec::new(),
        statuses: Vec::new(),
    };
    if out.field != "messages" {
        return Ok(out);
    }
    let value_path = format!("{path}.value");
    let value = object(value, &value_path)?;
    let contacts = array(value, "contacts", &value_path)?;
    for (k, message) in array(value, "messages", &value_path)?.iter().enumerate() {
        let path = format!("{value_path}.messages[{k}]");
        out.messages.push(parse_message(message, contacts, &path)?);
    }
    for (k, status) in array(value, "statuses", &value_path)?.iter().enumerate() {
        let path = format!("{value_path}.statuses[{k}]");
        if let Some(status) = parse_status(status, &path)? {
            out.statuses.push(status);
        }
    }
    Ok(out)
}

fn parse_message(
    message: &Value,
    contacts: &[Value],
    path: &str,
) -> Result<InboundMessage, ParseError> {
    let obj = object(message, path)?;
    let provider_id = required_str(obj, "id", path)?.to_owned();
    let timestamp = timestamp(obj, path)?;
    let from = opt_str(message, "from");
    let from_user_id = opt_str(message, "from_user_id");

    // The contact entry describing the sender: matched by wa_id or user_id,
    // else the only one given.
    let contact = contacts
        .iter()
        .find(|c| {
            (from.is_some() && opt_str(c, "wa_id") == from)
                || (from_user_id.is_some() && opt_str(c, "user_id") == from_user_id)
        })
        .or(match contacts {
            [only] => Some(only),
            _ => None,
        });
    let contact_key = from
        .or(from_user_id)
        .or_else(|| contact.and_then(|c| opt_str(c, "wa_id").or_else(|| opt_str(c, "user_id"))))
        .ok_or_else(|| ParseError::new(format!("{path}.from: missing")))?
        .to_owned();
    let contact_name = contact
        .and_then(|c| c.get("profile"))
        .and_then(|p| opt_string(p, "name"));

    let raw_type = opt_str(message, "type").unwrap_or("unknown").to_owned();
    let content = render(message, &raw_type, true);
    Ok(InboundMessage {
        provider_id,
        contact_key,
        contact_name,
        timestamp,
        kind: content.kind,
        text: content.text,
        media_id: content.media_id,
        mime_type: content.mime_type,
        media: inbound_media(message, &raw_type),
        details: details(message, &raw_type),
        reply_to: message.get("context").and_then(|c| opt_string(c, "id")),
        raw_type,
    })
}

/// A media attachment of an inbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMedia {
    /// The media id for `GET /<MEDIA_ID>`.
    pub id: String,
    /// `image`, `video`, `audio`, `voice`, `document` or `sticker`.
    pub kind: String,
    pub mime_type: Option<String>,
    /// Base64 or hex SHA-256 of the file, as the provider sent it.
    pub sha256: Option<String>,
    pub caption: Option<String>,
    /// A document's file name.
    pub filename: Option<String>,
}

/// The media of a media message (or of the message inside an `edit`).
fn inbound_media(message: &Value, raw_type: &str) -> Option<InboundMedia> {
    if raw_type == "edit" {
        let inner = message.get("edit")?.get("message")?;
        return inbound_media(inner, opt_str(inner, "type")?);
    }
    if !matches!(
        raw_type,
        "image" | "video" | "sticker" | "audio" | "document"
    ) {
        return None;
    }
    let body = message.get(raw_type)?;
    let voice = raw_type == "audio" && body.get("voice").and_then(Value::as_bool) == Some(true);
    Some(InboundMedia {
        id: opt_string(body, "id")?,
        kind: if voice { "voice" } else { raw_type }.to_owned(),
        mime_type: opt_string(body, "mime_type"),
        sha256: opt_string(body, "sha256"),
        caption: opt_string(body, "caption"),
        filename: opt_string(body, "filename"),
    })
}

/// Location and contact cards as structured JSON for the chat.
fn details(message: &Value, raw_type: &str) -> Option<Value> {
    match raw_type {
        "location" => {
            let body = message.get("location")?;
            let mut location = serde_json::Map::new();
            for key in ["latitude", "longitude"] {
                location.insert(key.into(), body.get(key).filter(|v| v.is_number())?.clone());
            }
            for key in ["name", "address", "url"] {
                if let Some(v) = opt_str(body, key) {
                    location.insert(key.into(), Value::from(v));
                }
            }
            Some(serde_json::json!({ "location": location }))
        }
        "contacts" => {
            let cards: Vec<Value> = message
                .get("contacts")?
                .as_array()?
                .iter()
                .map(|c| {
                    let name = c.get("name").and_then(|n| {
                        opt_str(n, "formatted_name").or_else(|| opt_str(n, "first_name"))
                    });
                    let phones: Vec<&str> = c
                        .get("phones")
                        .and_then(Value::as_array)
                        .map(|p| p.iter().filter_map(|p| opt_str(p, "phone")).collect())
                        .unwrap_or_default();
                    serde_json::json!({ "name": name, "phones": phones })
                })
                .collect();
            Some(serde_json::json!({ "contacts": cards }))
        }
        _ => None,
    }
}

struct Content {
    kind: MessageKind,
    text: String,
    media_id: Option<String>,
    mime_type: Option<String>,
}

impl Content {
    fn new(kind: MessageKind, text: String) -> Self {
        Self {
            kind,
            text,
            media_id: None,
            mime_type: None,
        }
    }
}

/// `[label]` or `[label] rest`.
fn bracket(label: &str, rest: Option<&str>) -> String {
    match rest {
        Some(rest) => format!("[{label}] {rest}"),
        None => format!("[{label}]"),
    }
}

/// Reduces a message (or the inner message of an `edit`) to kind and text.
fn render(message: &Value, raw_type: &str, allow_edit: bool) -> Content {
    use MessageKind as K;
    let body = message.get(raw_type).unwrap_or(&Value::Null);
    match raw_type {
        "text" => {
            let text =
                opt_str(body, "body").map_or_else(|| "[empty text]".to_owned(), str::to_owned);
            Content::new(K::Text, text)
        }
        "image" | "video" | "sticker" | "audio" | "document" => {
            let (kind, label) = match raw_type {
                "image" => (K::Image, "image".to_owned()),
                "video" => (K::Video, "video".to_owned()),
                "sticker" => (K::Sticker, "sticker".to_owned()),
                "audio" if body.get("voice").and_then(Value::as_bool) == Some(true) => {
                    (K::Voice, "voice message".to_owned())
                }
                "audio" => (K::Audio, "audio".to_owned()),
                _ => match opt_str(body, "filename") {
                    Some(name) => (K::Document, format!("document: {name}")),
                    None => (K::Document, "document".to_owned()),
                },
            };
            Content {
                kind,
                text: bracket(&label, opt_str(body, "caption")),
                media_id: opt_string(body, "id"),
                mime_type: opt_string(body, "mime_type"),
            }
        }
        "location" => {
            let coords = match (
                body.get("latitude").and_then(Value::as_f64),
                body.get("longitude").and_then(Value::as_f64),
            ) {
                (Some(lat), Some(lon)) => format!("{lat}, {lon}"),
                _ => String::new(),
            };
            let place: Vec<&str> = ["name", "address"]
                .iter()
                .filter_map(|k| opt_str(body, k))
                .collect();
            let details = [coords, place.join(", ")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let text = if details.is_empty() {
                "[location]".to_owned()
            } else {
                format!("[location: {details}]")
            };
            Content::new(K::Location, text)
        }
        "contacts" => {
            let names: Vec<&str> = message
                .get("contacts")
                .and_then(Value::as_array)
                .map(|cards| {
                    cards
                        .iter()
                        .filter_map(|c| c.get("name").and_then(|n| opt_str(n, "formatted_name")))
                        .collect()
                })
                .unwrap_or_default();
            let text = if names.is_empty() {
                "[contacts]".to_owned()
            } else {
                format!("[contacts: {}]", names.join(", "))
            };
            Content::new(K::Contacts, text)
        }
        "interactive" => Content::new(K::Interactive, render_interactive(body)),
        "button" => {
            let label = opt_str(body, "text").or_else(|| opt_str(body, "payload"));
            let text = label.map_or_else(|| "[button]".to_owned(), |l| format!("[button: {l}]"));
            Content::new(K::Button, text)
        }
        "reaction" => {
            let target = opt_str(body, "message_id").unwrap_or("a message");
            let text = match opt_str(body, "emoji") {
                Some(emoji) => format!("[reaction {emoji} to {target}]"),
                None => format!("[reaction removed from {target}]"),
            };
            Content::new(K::Reaction, text)
        }
        "order" => {
            let items = body
                .get("product_items")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let label = format!("order: {items} item{}", if items == 1 { "" } else { "s" });
            Content::new(K::Order, bracket(&label, opt_str(body, "text")))
        }
        "system" => Content::new(K::System, bracket("system", opt_str(body, "body"))),
        "request_welcome" => Content::new(K::RequestWelcome, "[chat opened]".to_owned()),
        "edit" if allow_edit => {
            let original = opt_str(body, "original_message_id").unwrap_or("a message");
            let inner = body.get("message").unwrap_or(&Value::Null);
            let inner_type = opt_str(inner, "type").unwrap_or("unknown");
            let inner = render(inner, inner_type, false);
            Content {
                kind: K::Unknown,
                text: format!("[edited {original}] {}", inner.text),
                media_id: inner.media_id,
                mime_type: inner.mime_type,
            }
        }
        "revoke" => {
            let original = opt_str(body, "original_message_id").unwrap_or("a message");
            Content::new(K::Unknown, format!("[deleted {original}]"))
        }
        "unsupported" | "unknown" => {
            let text = match opt_str(body, "type") {
                Some(t) => format!("[unsupported message: {t}]"),
                None => "[unsupported message]".to_owned(),
            };
            Content::new(K::Unknown, text)
        }
        other => Content::new(K::Unknown, format!("[unsupported message: {other}]")),
    }
}

fn render_interactive(body: &Value) -> String {
    let kind = opt_str(body, "type").unwrap_or("");
    let reply = body.get(kind).unwrap_or(&Value::Null);
    let title = opt_str(reply, "title");
    match kind {
        "button_reply" => title.map_or_else(|| "[button]".to_owned(), |t| format!("[button: {t}]")),
        "list_reply" => title.map_or_else(|| "[list]".to_owned(), |t| format!("[list: {t}]")),
        "nfm_reply" => bracket("form reply", opt_str(reply, "response_json")),
        "call_permission_reply" => match opt_str(reply, "response") {
            Some(r) => format!("[call permission: {r}]"),
            None => "[call permission]".to_owned(),
        },
        "" => "[interactive message]".to_owned(),
        other => format!("[interactive: {other}]"),
    }
}

fn parse_status(status: &Value, path: &str) -> Result<Option<StatusUpdate>, ParseError> {
    let obj = object(status, path)?;
    let Some(delivery) = opt_str(status, "status").and_then(DeliveryStatus::from_webhook) else {
        return Ok(None);
    };
    let mut errors = Vec::new();
    for (i, error) in array(obj, "errors", path)?.iter().enumerate() {
        errors.push(parse_provider_error(error, &format!("{path}.errors[{i}]"))?);
    }
    Ok(Some(StatusUpdate {
        provider_message_id: required_str(obj, "id", path)?.to_owned(),
        status: delivery,
        timestamp: timestamp(obj, path)?,
        recipient_id: opt_string(status, "recipient_id"),
        callback_data: opt_string(status, "biz_opaque_callback_data"),
        errors,
    }))
}

fn parse_provider_error(error: &Value, path: &str) -> Result<ProviderError, ParseError> {
    object(error, path)?;
    let code = error
        .get("code")
        .and_then(Value::as_i64)
        .ok_or_else(|| ParseError::new(format!("{path}.code: expected an integer")))?;
    Ok(ProviderError {
        code,
        title: opt_string(error, "title"),
        message: opt_string(error, "message"),
        details: error
            .get("error_data")
            .and_then(|d| opt_string(d, "details")),
    })
}
