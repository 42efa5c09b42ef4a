//! Request and response bodies of the HTTP API (the shapes of API.md).

use replyline_store::{
    Channel, ConversationExtras, ConversationRecord, Employee, Event, LastMessage, Message,
    NotificationRecord,
};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::channel::WhatsappConfig;
use crate::error::{ApiError, ApiResult};

/// The longest message or note text, in characters (WhatsApp's text body limit).
pub const MAX_TEXT_CHARS: usize = 4096;
/// The longest channel name, in characters.
pub const MAX_CHANNEL_NAME_CHARS: usize = 200;

/// The first C0 control character of `text` other than tab, newline and carriage return.
pub fn control_char(text: &str) -> Option<char> {
    text.chars()
        .find(|c| (*c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t'))
}

/// A message or note text: 1 to 4096 characters, not only whitespace, no NUL or other
/// control characters except tab and line breaks (422 naming `field`).
pub fn check_text(field: &str, text: &str) -> ApiResult<()> {
    let n = text.chars().count();
    if text.trim().is_empty() || n > MAX_TEXT_CHARS {
        return Err(ApiError::validation(
            field,
            format!("must be 1 to {MAX_TEXT_CHARS} characters, got {n}"),
        ));
    }
    if let Some(c) = control_char(text) {
        return Err(ApiError::validation(
            field,
            format!("must not contain the control character U+{:04X}", c as u32),
        ));
    }
    Ok(())
}

/// A channel name: 1 to 200 characters, not only whitespace, no control characters.
pub fn check_channel_name(name: &str) -> ApiResult<()> {
    let n = name.chars().count();
    if name.trim().is_empty() || n > MAX_CHANNEL_NAME_CHARS {
        return Err(ApiError::validation(
            "name",
            format!("must be 1 to {MAX_CHANNEL_NAME_CHARS} characters, got {n}"),
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(ApiError::validation(
            "name",
            format!("must not contain the control character U+{:04X}", c as u32),
        ));
    }
    Ok(())
}

/// A credential or identifier of a connection (`whatsapp.app_secret`, ...): not empty, not
/// only whitespace, no control characters (they would end up in HTTP headers or HMAC keys),
/// at most 4096 characters.
pub fn check_credential(field: &str, value: &str) -> ApiResult<()> {
    if value.trim().is_empty() {
        return Err(ApiError::validation(field, "must not be empty"));
    }
    if value.chars().count() > 4096 {
        return Err(ApiError::validation(
            field,
            "must be at most 4096 characters",
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::validation(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn double<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn time(t: jiff::Timestamp) -> String {
    t.to_string()
}

/// An employee.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmployeeDto {
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub email: String,
    /// admin, manager or employee.
    pub role: String,
    pub manager_id: Option<String>,
    pub telegram_chat_id: Option<String>,
    pub active: bool,
    pub online: bool,
    /// The last authenticated API call (updated at most once a minute).
    pub last_seen_at: Option<String>,
    /// Channels this employee is a member of.
    pub channel_ids: Vec<String>,
}

impl EmployeeDto {
    /// The employee with their channel memberships filled in.
    pub fn with_access(e: Employee, access: &crate::authz::Access) -> Self {
        let channels = access.channels_of(e.id);
        let mut dto = Self::from(e);
        dto.channel_ids = channels.into_iter().map(|c| c.to_string()).collect();
        dto
    }
}

impl From<Employee> for EmployeeDto {
    fn from(e: Employee) -> Self {
        Self {
            id: e.id.to_string(),
            name: e.name,
            display_name: e.display_name,
            email: e.email,
            role: e.role,
            manager_id: e.manager_id.map(|m| m.to_string()),
            telegram_chat_id: e.telegram_chat_id,
            active: e.active,
            online: e.online,
            last_seen_at: e.last_seen_at.map(time),
            channel_ids: Vec::new(),
        }
    }
}

/// `POST /api/v1/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// A new bearer token and its owner.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub employee: EmployeeDto,
}

/// `POST /api/v1/employees`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEmployeeRequest {
    pub name: String,
    pub display_name: Option<String>,
    pub email: String,
    pub role: String,
    pub manager_id: Option<String>,
    pub password: Option<String>,
    pub telegram_chat_id: Option<String>,
    /// Channels the employee works (replaces the membership).
    pub channel_ids: Option<Vec<String>>,
}

/// `PATCH /api/v1/employees/{id}`: any subset of fields; `null` clears nullable ones.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchEmployeeRequest {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    pub email: Option<String>,
    pub role: Option<String>,
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<String>)]
    pub manager_id: Option<Option<String>>,
    pub password: Option<String>,
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<String>)]
    pub telegram_chat_id: Option<Option<String>>,
    pub active: Option<bool>,
    /// Channels the employee works (replaces the membership).
    pub channel_ids: Option<Vec<String>>,
}

/// WhatsApp connection details (write-only secrets).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatsappInput {
    pub phone_number_id: String,
    pub access_token: String,
    pub app_secret: String,
    pub verify_token: String,
    pub api_base_url: Option<String>,
    pub api_version: Option<String>,
    /// The WhatsApp Business Account id (its message templates).
    pub waba_id: Option<String>,
    /// The number's throughput: sends per second at most, 1 to 1000 (default 80).
    pub messages_per_second: Option<u32>,
}

/// A partial WhatsApp connection update.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatsappPatch {
    pub phone_number_id: Option<String>,
    pub access_token: Option<String>,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub api_base_url: Option<String>,
    pub api_version: Option<String>,
    /// The WhatsApp Business Account id; `null` or `""` removes it.
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<String>)]
    pub waba_id: Option<Option<String>>,
    /// The number's throughput: sends per second at most, 1 to 1000; `null` restores the default (80).
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<u32>)]
    pub messages_per_second: Option<Option<u32>>,
}

/// `POST /api/v1/channels`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannelRequest {
    /// Only `whatsapp` for now.
    pub kind: String,
    pub name: String,
    pub whatsapp: Option<WhatsappInput>,
    /// Initial messenger settings (any subset, SPEC §2).
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
    /// `manual` (default), `round_robin` or `sticky`.
    pub routing: Option<String>,
    /// Whether employees may write first to a client (default false).
    pub allow_write_first: Option<bool>,
}

/// `PATCH /api/v1/channels/{id}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchChannelRequest {
    pub name: Option<String>,
    pub whatsapp: Option<WhatsappPatch>,
    /// `manual`, `round_robin` or `sticky`.
    pub routing: Option<String>,
    /// Whether employees may write first to a client.
    pub allow_write_first: Option<bool>,
}

/// Public WhatsApp connection details.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhatsappPublic {
    pub phone_number_id: String,
    pub api_base_url: String,
    pub api_version: String,
    /// The WhatsApp Business Account id (templates), if set.
    pub waba_id: Option<String>,
    /// Sends per second at most (the number's throughput).
    pub messages_per_second: u32,
}

/// A channel (secrets never included).
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelDto {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub webhook_url: String,
    /// `active`, `auth_failed` or `account_problem`.
    pub status: String,
    pub status_reason: Option<String>,
    pub last_webhook_at: Option<String>,
    pub created_at: String,
    pub whatsapp: Option<WhatsappPublic>,
    /// How new conversations are assigned: `manual`, `round_robin` or `sticky`.
    pub routing: String,
    /// Whether employees may write first to a client (`POST /api/v1/conversations`).
    pub allow_write_first: bool,
    /// Since when the channel's sends keep failing (an outage); `null` when healthy.
    pub failing_since: Option<String>,
    /// The last send error of the outage.
    pub failing_error: Option<String>,
}

impl ChannelDto {
    pub fn new(c: Channel, public_url: &str) -> Self {
        let cfg = WhatsappConfig::of(&c);
        let whatsapp = (c.kind == "whatsapp").then(|| WhatsappPublic {
            api_base_url: cfg.base_url().to_owned(),
            api_version: cfg.version().to_owned(),
            phone_number_id: cfg.phone_number_id.clone(),
            waba_id: cfg.waba_id.clone(),
            messages_per_second: cfg.messages_per_second(),
        });
        Self {
            webhook_url: format!("{public_url}/webhooks/{}/{}", c.kind, c.id),
            id: c.id.to_string(),
            kind: c.kind,
            name: c.name,
            status: c.status,
            status_reason: c.status_reason,
            last_webhook_at: c.last_webhook_at.map(time),
            created_at: time(c.created_at),
            whatsapp,
            routing: c.routing,
            allow_write_first: c.allow_write_first,
            failing_since: c.failing_since.map(time),
            failing_error: c.failing_error,
        }
    }
}

/// The contact of a conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactDto {
    pub id: String,
    pub name: Option<String>,
    /// WhatsApp `wa_id` (or business-scoped user id).
    pub address: String,
}

/// A conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationDto {
    pub id: String,
    pub channel_id: String,
    pub contact: ContactDto,
    /// `open` or `closed`.
    pub status: String,
    pub assignee_id: Option<String>,
    /// Start of the active wait, if a client is waiting.
    pub waiting_since: Option<String>,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub last_message_at: Option<String>,
    /// The reply clock of the active wait: `on_time` (nothing fired yet), `no_reply_sent`
    /// (the no-reply message went out), `manager_notified` (managers were notified);
    /// `null` when nobody is waiting.
    #[schema(value_type = Option<String>, example = "on_time")]
    pub sla_state: Option<&'static str>,
    /// When WhatsApp's 24-hour customer-service window closes (the client's last message
    /// + 24 h); free-form replies are refused after it. `null` before any client message.
    pub window_expires_at: Option<String>,
    /// The latest message (skipped automatic messages aside).
    pub last_message: Option<LastMessageDto>,
    /// Client messages after the caller's read mark.
    pub unread: i64,
    /// Labels, sorted case-insensitively.
    pub labels: Vec<String>,
    /// Employees observing the chat (mentioned in a note).
    pub observer_ids: Vec<String>,
    /// `queued` («в очереди»: open, unassigned), `in_progress` («в работе»: open, assigned)
    /// or `closed`.
    #[schema(value_type = String, example = "queued")]
    pub status_label: &'static str,
    /// Whether the caller may take, transfer and close it (false for someone who
    /// only observes it); absent outside a caller's view (CRM webhooks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_manage: Option<bool>,
}

/// The preview of a conversation's latest message.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastMessageDto {
    pub id: String,
    /// client, employee, note, greeting, no_reply, closing, out_of_hours.
    pub kind: String,
    /// `in` or `out`.
    pub direction: String,
    pub text: Option<String>,
    /// A client message's type (text, image, voice, location, …), so a media
    /// message without a caption can be previewed by its kind.
    pub content_type: Option<String>,
    pub created_at: String,
}

impl From<LastMessage> for LastMessageDto {
    fn from(m: LastMessage) -> Self {
        Self {
            id: m.id.to_string(),
            kind: m.kind,
            direction: m.direction,
            text: m.text,
            content_type: m.content_type,
            created_at: time(m.created_at),
        }
    }
}

/// `status_label` of a conversation.
pub fn status_label(status: &str, assignee_id: Option<replyline_store::Id>) -> &'static str {
    match (status, assignee_id) {
        ("closed", _) => "closed",
        (_, None) => "queued",
        (_, Some(_)) => "in_progress",
    }
}

impl ConversationDto {
    /// The conversation with what the listing adds for one reader.
    pub fn with_extras(c: ConversationRecord, extras: ConversationExtras) -> Self {
        let mut dto = Self::from(c);
        dto.last_message = extras.last_message.map(Into::into);
        dto.unread = extras.unread;
        dto.labels = extras.labels;
        dto
    }
}

/// `sla_state` and `window_expires_at` from the stored engine state.
fn reply_clock(state: &str) -> (Option<&'static str>, Option<String>) {
    let Ok(engine) = serde_json::from_str::<replyline_engine::Conversation>(state) else {
        return (None, None);
    };
    let sla = engine.waiting_since().map(|_| {
        if engine.manager_notified() {
            "manager_notified"
        } else if engine.no_reply_sent() {
            "no_reply_sent"
        } else {
            "on_time"
        }
    });
    // Every channel the service ingests today is WhatsApp, which has the 24-hour window.
    let window = engine.last_client_at().and_then(|at| {
        at.checked_add(jiff::SignedDuration::from_secs(
            replyline_engine::WHATSAPP_WINDOW_SECONDS,
        ))
        .ok()
        .map(time)
    });
    (sla, window)
}

impl From<ConversationRecord> for ConversationDto {
    fn from(c: ConversationRecord) -> Self {
        let (sla_state, window_expires_at) = reply_clock(&c.state);
        Self {
            sla_state,
            window_expires_at,
            last_message: None,
            unread: 0,
            labels: Vec::new(),
            observer_ids: c.observer_ids.iter().map(|e| e.to_string()).collect(),
            status_label: status_label(&c.status, c.assignee_id),
            can_manage: None,
            id: c.id.to_string(),
            channel_id: c.channel_id.to_string(),
            contact: ContactDto {
                id: c.contact.id.to_string(),
                name: c.contact.name,
                address: c.contact.address,
            },
            status: c.status,
            assignee_id: c.assignee_id.map(|a| a.to_string()),
            waiting_since: c.waiting_since.map(time),
            opened_at: time(c.opened_at),
            closed_at: c.closed_at.map(time),
            last_message_at: c.last_message_at.map(time),
        }
    }
}

/// A message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageDto {
    pub id: String,
    pub conversation_id: String,
    /// `in` or `out`.
    pub direction: String,
    /// client, employee, note, greeting, no_reply, closing, out_of_hours.
    pub kind: String,
    pub text: Option<String>,
    pub employee_id: Option<String>,
    /// received, queued, sent, delivered, read, failed, skipped.
    pub status: String,
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The template name when sent as a template.
    pub template: Option<String>,
    /// The provider's message id (`wamid...`).
    pub provider_id: Option<String>,
    /// Media id of non-text inbound messages.
    pub media_id: Option<String>,
    /// Inbound message type (text, image, location, ...).
    pub content_type: Option<String>,
    /// Employees a note mentions (empty for other messages).
    pub mentions: Vec<String>,
    /// The message's files; `url` serves the bytes once `state` is `stored`.
    pub attachments: Vec<AttachmentDto>,
    /// Location (`{"location":{latitude,longitude,name?,address?}}`) or contact
    /// cards (`{"contacts":[{name,phones}]}`) of a client's message.
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
    /// The template's language, when sent as a template.
    pub template_language: Option<String>,
    /// The template's body parameters, when sent as a template.
    pub template_parameters: Vec<String>,
    /// While a failing send is retried: when the next attempt is (with `error`).
    pub retry_at: Option<String>,
    /// The outcome of the send is unknown (crash or timeout while sending); a
    /// later delivery status heals it.
    pub delivery_unknown: bool,
}

/// A file of a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentDto {
    pub id: String,
    /// image, video, audio, voice, document, sticker.
    pub kind: String,
    pub mime_type: Option<String>,
    pub file_name: Option<String>,
    pub size: Option<i64>,
    /// pending (being downloaded), stored, failed.
    pub state: String,
    /// Why the download failed, when `state` is `failed`.
    pub error: Option<String>,
    /// `/api/v1/media/{id}`.
    pub url: String,
}

impl From<replyline_store::Attachment> for AttachmentDto {
    fn from(a: replyline_store::Attachment) -> Self {
        Self {
            url: format!("/api/v1/media/{}", a.id),
            id: a.id.to_string(),
            kind: a.kind,
            mime_type: a.mime_type,
            file_name: a.file_name,
            size: a.size,
            state: a.state,
            error: a.error,
        }
    }
}

impl From<Message> for MessageDto {
    fn from(m: Message) -> Self {
        Self {
            id: m.id.to_string(),
            conversation_id: m.conversation_id.to_string(),
            direction: m.direction,
            kind: m.kind,
            text: m.text,
            employee_id: m.employee_id.map(|e| e.to_string()),
            status: m.status,
            error: m.error,
            created_at: time(m.created_at),
            updated_at: time(m.updated_at),
            template: m.template,
            provider_id: m.provider_id,
            media_id: m.media_id,
            content_type: m.content_type,
            mentions: m.mentions.iter().map(|e| e.to_string()).collect(),
            attachments: m.attachments.into_iter().map(AttachmentDto::from).collect(),
            template_parameters: m
                .payload
                .as_ref()
                .and_then(|p| p["template"]["parameters"].as_array())
                .map(|ps| {
                    ps.iter()
                        .filter_map(|p| p.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            details: m.payload.filter(|p| p.get("template").is_none()),
            template_language: m.template_language,
            retry_at: m.retry_at.map(time),
            delivery_unknown: m.delivery_unknown,
        }
    }
}

/// A timeline entry: a rule decision (`type` = `decision`) or a state change / message event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDto {
    pub id: String,
    pub at: String,
    /// decision, opened, reopened, closed, assigned, wait_started, wait_ended, message, note, notification, settings_changed.
    #[serde(rename = "type")]
    pub kind: String,
    /// For decisions: greeting, no_reply, closing, notify_manager_first, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// For decisions: fired or suppressed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl From<Event> for EventDto {
    fn from(e: Event) -> Self {
        Self {
            id: e.id.to_string(),
            at: time(e.at),
            kind: e.kind,
            rule: e.rule,
            outcome: e.outcome,
            reason: e.reason,
            data: e.data,
        }
    }
}

/// A control notification for the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationDto {
    pub id: String,
    /// first_message, next_message, first_message_escalated, next_message_escalated, mention,
    /// or channel_failing (the conversation's channel stopped sending; admins only).
    pub reason: String,
    pub conversation_id: String,
    pub contact_id: String,
    pub employee_id: Option<String>,
    pub manager_id: String,
    pub wait_started_at: String,
    pub waited_seconds: i64,
    /// The rule's rendered «Текст уведомления» (SPEC §2), the first line of every delivery.
    pub text: Option<String>,
    pub created_at: String,
    pub read_at: Option<String>,
    /// Delivery attempts by e-mail/Telegram/webhook (none yet).
    #[schema(value_type = Vec<Object>)]
    pub deliveries: Vec<Value>,
}

impl From<NotificationRecord> for NotificationDto {
    fn from(n: NotificationRecord) -> Self {
        Self {
            id: n.id.to_string(),
            reason: n.reason,
            conversation_id: n.conversation_id.to_string(),
            contact_id: n.contact_id.to_string(),
            employee_id: n.employee_id.map(|e| e.to_string()),
            manager_id: n.manager_id.to_string(),
            wait_started_at: time(n.wait_started_at),
            waited_seconds: n.waited_seconds,
            text: n.text,
            created_at: time(n.created_at),
            read_at: n.read_at.map(time),
            deliveries: Vec::new(),
        }
    }
}

/// `POST /api/v1/conversations/{id}/messages` as JSON: `{"text"}` or
/// `{"template"}` (exactly one of them).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextRequest {
    pub text: Option<String>,
    pub template: Option<TemplateRequest>,
}

/// An approved WhatsApp template to send, with its BODY parameters.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    pub name: String,
    /// The language code, e.g. `ru`.
    pub language: String,
    /// One value per BODY parameter, in order (`{{1}}`, `{{2}}`, …).
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// `POST /api/v1/conversations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenConversationRequest {
    pub channel_id: String,
    /// The client's number in E.164 (`+` optional; spaces, dashes and brackets ignored).
    pub contact_address: String,
    /// Free text (only while the client's 24-hour window is open) …
    pub text: Option<String>,
    /// … or an approved template (exactly one of them).
    pub template: Option<TemplateRequest>,
}

/// `POST /api/v1/conversations/{id}/assign`: exactly one of `employee_id` and
/// `group_id`, or `{"employee_id": null}` (or `{}`) to return it to the queue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub employee_id: Option<String>,
    /// A group: round robin among its online members who may take the chat.
    pub group_id: Option<String>,
    /// Becomes a note by the caller, written before the transfer (≤ 4096 characters).
    pub comment: Option<String>,
}

/// `POST /api/v1/conversations/{id}/notes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    pub text: String,
    /// Employee ids mentioned besides the `@Name` tokens in the text.
    pub mentions: Option<Vec<String>>,
}

/// `POST /api/v1/conversations/{id}/read`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// The last message read (default: the latest message).
    pub message_id: Option<String>,
}

/// `PUT /api/v1/conversations/{id}/labels`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelsRequest {
    /// 1–32 characters each after trimming, no control characters, at most 20.
    pub labels: Vec<String>,
}

/// `POST /api/v1/clock/advance`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceRequest {
    /// Whole seconds (`60` or `60.0`).
    #[serde(deserialize_with = "whole_seconds")]
    pub seconds: u64,
}

/// A non-negative whole number, also written with a zero fraction (`60.0`): JSON has one
/// number type and JSON Schema's `integer` includes `60.0`.
fn whole_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(u) = n.as_u64() {
        return Ok(u);
    }
    match n.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64 => Ok(f as u64),
        _ => Err(serde::de::Error::custom(format!(
            "expected a whole number of seconds, got {n}"
        ))),
    }
}

/// The manual clock's new time.
#[derive(Debug, Serialize, ToSchema)]
pub struct NowResponse {
    pub now: String,
}

/// `GET /healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    pub status: String,
}
