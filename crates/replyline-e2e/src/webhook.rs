//! Builders and signing of WhatsApp Cloud API webhook bodies (shared/docs/channels.md §1).

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// `X-Hub-Signature-256` value for `body`: `sha256=<hex HMAC-SHA256(app_secret, body)>`.
///
/// # Panics
/// Never: HMAC accepts keys of any length.
#[must_use]
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("hmac key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A webhook body with one `changes[]` entry of field `messages` carrying `value`.
#[must_use]
pub fn envelope(value: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]
    })
}

/// The `metadata` object for `phone_number_id`.
#[must_use]
pub fn metadata(phone_number_id: &str) -> Value {
    json!({"display_phone_number": "15550001111", "phone_number_id": phone_number_id})
}

/// An inbound text message.
#[derive(Clone, Debug)]
pub struct TextMessage {
    /// `metadata.phone_number_id` the message was sent to.
    pub phone_number_id: String,
    /// The client's `wa_id` (digits, no `+`).
    pub wa_id: String,
    /// Profile name (`None` = no `contacts[]` profile name).
    pub name: Option<String>,
    /// Provider message id, `wamid.*`.
    pub id: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// `text.body`.
    pub body: String,
}

impl TextMessage {
    /// The full webhook body.
    #[must_use]
    pub fn to_webhook(&self) -> Value {
        let profile = match &self.name {
            Some(name) => json!({"name": name}),
            None => json!({}),
        };
        envelope(json!({
            "messaging_product": "whatsapp",
            "metadata": metadata(&self.phone_number_id),
            "contacts": [{"profile": profile, "wa_id": self.wa_id}],
            "messages": [{
                "from": self.wa_id,
                "id": self.id,
                "timestamp": self.timestamp.to_string(),
                "type": "text",
                "text": {"body": self.body}
            }]
        }))
    }
}

/// One entry of `value.statuses[]`.
#[derive(Clone, Debug)]
pub struct Status {
    /// The provider id of our outgoing message (`wamid.*`).
    pub id: String,
    /// sent, delivered, read, played or failed.
    pub status: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// The client's `wa_id`.
    pub recipient_id: String,
    /// Echo of the value we set on send, if any.
    pub biz_opaque_callback_data: Option<String>,
    /// `errors[]` (for `failed`).
    pub errors: Vec<Value>,
}

impl Status {
    /// A status without callback data or errors.
    #[must_use]
    pub fn new(id: &str, status: &str, timestamp: i64, recipient_id: &str) -> Self {
        Self {
            id: id.to_owned(),
            status: status.to_owned(),
            timestamp,
            recipient_id: recipient_id.to_owned(),
            biz_opaque_callback_data: None,
            errors: Vec::new(),
        }
    }

    /// The JSON object.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "status": self.status,
            "timestamp": self.timestamp.to_string(),
            "recipient_id": self.recipient_id,
        });
        if let Some(data) = &self.biz_opaque_callback_data {
            v["biz_opaque_callback_data"] = json!(data);
        }
        if !self.errors.is_empty() {
            v["errors"] = json!(self.errors);
        }
        v
    }
}

/// A status webhook body for `phone_number_id` with `statuses`.
#[must_use]
pub fn status_webhook(phone_number_id: &str, statuses: &[Status]) -> Value {
    envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(phone_number_id),
        "statuses": statuses.iter().map(Status::to_json).collect::<Vec<_>>()
    }))
}

/// The digits of a phone-like address (`+7 900…` and `7900…` compare equal).
#[must_use]
pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}
