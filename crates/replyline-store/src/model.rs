//! The rows the store reads and the writes it accepts, free of SQL types.

use jiff::Timestamp;
use serde_json::Value;

/// Row ids; the API shows them as strings.
pub type Id = i64;

/// An employee (any role).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Employee {
    pub id: Id,
    pub email: String,
    pub name: String,
    pub display_name: Option<String>,
    /// `admin`, `manager` or `employee`.
    pub role: String,
    pub manager_id: Option<Id>,
    pub password_hash: Option<String>,
    pub telegram_chat_id: Option<String>,
    pub active: bool,
    /// Presence chosen by the employee (`PATCH /api/v1/me`); routing only picks online members.
    pub online: bool,
    /// The last authenticated API call (throttled to about once a minute).
    pub last_seen_at: Option<Timestamp>,
}

/// A new employee.
#[derive(Clone, Debug, Default)]
pub struct NewEmployee {
    pub email: String,
    pub name: String,
    pub display_name: Option<String>,
    pub role: String,
    pub manager_id: Option<Id>,
    pub password_hash: Option<String>,
    pub telegram_chat_id: Option<String>,
}

/// A partial employee update: `None` keeps the field.
#[derive(Clone, Debug, Default)]
pub struct EmployeePatch {
    pub email: Option<String>,
    pub name: Option<String>,
    pub display_name: Option<Option<String>>,
    pub role: Option<String>,
    pub manager_id: Option<Option<Id>>,
    pub password_hash: Option<String>,
    pub telegram_chat_id: Option<Option<String>>,
    pub active: Option<bool>,
}

/// A connected messenger account.
#[derive(Clone, Debug, PartialEq)]
pub struct Channel {
    pub id: Id,
    pub kind: String,
    pub name: String,
    /// Connection details, secrets included (never shown by the API).
    pub config: Value,
    /// Messenger settings (SPEC §2 canonical JSON).
    pub settings: Value,
    /// `active`, or why sending is halted (`auth_failed`, `account_problem`).
    pub status: String,
    pub status_reason: Option<String>,
    pub last_webhook_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// How new conversations are assigned: `manual`, `round_robin` or `sticky`.
    pub routing: String,
    /// «Разрешить отправлять сообщение первым»: employees may open a chat with
    /// a client who has not written.
    pub allow_write_first: bool,
    /// Since when this channel's sends keep failing (`None` = healthy).
    pub failing_since: Option<Timestamp>,
    /// The last send error while failing.
    pub failing_error: Option<String>,
}

/// A new channel.
#[derive(Clone, Debug)]
pub struct NewChannel {
    pub kind: String,
    pub name: String,
    pub config: Value,
    pub settings: Value,
}

/// A partial channel update.
#[derive(Clone, Debug, Default)]
pub struct ChannelPatch {
    pub name: Option<String>,
    pub config: Option<Value>,
    /// Sets the status back to `active` (e.g. after new credentials).
    pub reactivate: bool,
    /// `manual`, `round_robin` or `sticky`.
    pub routing: Option<String>,
    pub allow_write_first: Option<bool>,
}

/// A webhook body to append to the inbox.
#[derive(Clone, Debug)]
pub struct InboxAppend {
    pub channel_id: Id,
    pub body: Vec<u8>,
    pub received_at: Timestamp,
}

/// A stored, unprocessed webhook body.
#[derive(Clone, Debug)]
pub struct InboxItem {
    pub id: Id,
    pub channel_id: Id,
    pub body: Vec<u8>,
    pub received_at: Timestamp,
    /// Failed processing attempts so far.
    pub attempts: i64,
}

/// After this many failed attempts an inbox row counts as failing: it is
/// listed for admins, counted by the `replyline_inbox_failed` gauge and
/// alerted once. It keeps being retried; it is never dropped.
pub const INBOX_FAILING_AFTER: i64 = 3;

/// An inbox row that keeps failing (the admins' dead-letter list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedInboxItem {
    pub id: Id,
    pub channel_id: Id,
    pub received_at: Timestamp,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// The next retry (`None`: as soon as the driver gets to it).
    pub next_attempt_at: Option<Timestamp>,
    /// When it first counted as failing.
    pub failing_since: Option<Timestamp>,
}

/// What recording a failed inbox attempt did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboxFailure {
    /// Failed attempts so far, this one included.
    pub attempts: i64,
    /// This attempt made the row failing (it was not before): alert once.
    pub newly_failing: bool,
}

/// The writer connection's recent outcomes (storage failures only: a full
/// disk, an I/O error, a database that cannot be opened; not constraint
/// violations).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriterStatus {
    /// Writes that failed in a row since the last success.
    pub consecutive_failures: u64,
    /// How long writes have been failing (since the first failure after the last success).
    pub failing_for: Option<std::time::Duration>,
    /// The latest failure.
    pub last_error: Option<String>,
}

/// A customer on one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub id: Id,
    pub channel_id: Id,
    pub address: String,
    pub name: Option<String>,
    pub last_inbound_at: Option<Timestamp>,
}

/// A conversation row with its contact and serialized engine state.
#[derive(Clone, Debug)]
pub struct ConversationRecord {
    pub id: Id,
    pub channel_id: Id,
    pub contact: Contact,
    /// `open` or `closed`.
    pub status: String,
    pub assignee_id: Option<Id>,
    pub waiting_since: Option<Timestamp>,
    pub opened_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub last_message_at: Option<Timestamp>,
    /// The engine's state as JSON.
    pub state: String,
    pub due_at: Option<Timestamp>,
    /// Employees observing the chat (mentioned in a note), sorted.
    pub observer_ids: Vec<Id>,
}

impl ConversationRecord {
    /// The listing's order key: the last message's time, else the opening time.
    pub fn activity(&self) -> Timestamp {
        self.last_message_at.unwrap_or(self.opened_at)
    }

    /// The cursor that resumes a listing after this row.
    pub fn cursor(&self) -> ConversationCursor {
        ConversationCursor {
            activity_ms: self.activity().as_millisecond(),
            id: self.id,
        }
    }
}

/// Where a conversation listing resumes: the last row of the previous page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConversationCursor {
    /// [`ConversationRecord::activity`] in Unix milliseconds.
    pub activity_ms: i64,
    pub id: Id,
}

/// A page of the conversation listing: visibility, filters and order run in SQL.
#[derive(Clone, Debug, Default)]
pub struct ConversationQuery {
    /// What the caller may see (ANDed into the query).
    pub visibility: crate::Visibility,
    /// `open` or `closed`.
    pub status: Option<String>,
    pub channel_id: Option<Id>,
    pub assignee_id: Option<Id>,
    /// Only chats assigned to one of these (scopes `mine`, `team`).
    pub assignee_in: Option<Vec<Id>>,
    /// Only unassigned chats (scope `unassigned`).
    pub unassigned: bool,
    /// Only chats this employee observes (scope `observing`).
    pub observed_by: Option<Id>,
    pub contact_id: Option<Id>,
    /// Only chats with this label (compared case-insensitively).
    pub label: Option<String>,
    /// Contact name or address, word prefixes.
    pub q: Option<String>,
    /// Page size; `None` returns every row.
    pub limit: Option<i64>,
    /// Resume after this row (in the listing's order).
    pub after: Option<ConversationCursor>,
    /// Oldest activity first (a contact's history) instead of newest first.
    pub oldest_first: bool,
}

/// One page of conversations and where the next one starts.
#[derive(Clone, Debug, Default)]
pub struct ConversationPage {
    pub rows: Vec<ConversationRecord>,
    /// Set when more rows follow.
    pub next: Option<ConversationCursor>,
}

/// The preview of a conversation's latest message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastMessage {
    pub id: Id,
    pub kind: String,
    pub direction: String,
    pub text: Option<String>,
    /// A client message's type (text, image, …).
    pub content_type: Option<String>,
    pub created_at: Timestamp,
}

/// What a listing row shows besides the conversation, for one reader.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationExtras {
    /// The latest message that was not skipped.
    pub last_message: Option<LastMessage>,
    /// Client messages after the reader's read mark.
    pub unread: i64,
    /// Sorted case-insensitively.
    pub labels: Vec<String>,
}

/// An employee who starts observing a conversation (a mention).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObserverWrite {
    pub conversation_id: Id,
    pub employee_id: Id,
    pub added_by: Option<Id>,
}

/// Filters for listing conversations.
#[derive(Clone, Debug, Default)]
pub struct ConversationFilter {
    pub status: Option<String>,
    pub channel_id: Option<Id>,
    pub assignee_id: Option<Id>,
}

/// A stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: Id,
    pub conversation_id: Id,
    pub channel_id: Id,
    /// `in` or `out`.
    pub direction: String,
    /// client, employee, note, greeting, no_reply, closing, out_of_hours.
    pub kind: String,
    pub text: Option<String>,
    /// The template name, when sent as a template.
    pub template: Option<String>,
    pub template_language: Option<String>,
    pub employee_id: Option<Id>,
    /// received, queued, sent, delivered, read, failed, skipped.
    pub status: String,
    pub error: Option<String>,
    pub provider_id: Option<String>,
    pub media_id: Option<String>,
    pub content_type: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Employees a note mentions.
    pub mentions: Vec<Id>,
    /// Structured content: `{"location":{..}}`, `{"contacts":[..]}` or
    /// `{"template":{"name","language","parameters":[..]}}`.
    pub payload: Option<Value>,
    /// When a failing send is tried again (set while the outbox retries).
    pub retry_at: Option<Timestamp>,
    /// The send's outcome is unknown (crash or timeout mid-send); a status
    /// callback heals it.
    pub delivery_unknown: bool,
    /// The message's files (at most one today), oldest first.
    pub attachments: Vec<Attachment>,
}

/// A file of a message, stored in the media store (`storage_key`) once
/// downloaded (inbound) or attached (outbound).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub id: Id,
    pub message_id: Id,
    pub conversation_id: Id,
    pub channel_id: Id,
    /// `in` or `out`.
    pub direction: String,
    /// image, video, audio, voice, document, sticker.
    pub kind: String,
    pub mime_type: Option<String>,
    pub file_name: Option<String>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    /// Inbound: the WhatsApp media id to download; outbound: the id it was uploaded as.
    pub provider_media_id: Option<String>,
    /// The key in the media store, once stored.
    pub storage_key: Option<String>,
    /// pending, stored or failed.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<Timestamp>,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A file to store with a new message.
#[derive(Clone, Debug, Default)]
pub struct NewAttachment {
    pub kind: String,
    pub mime_type: Option<String>,
    pub file_name: Option<String>,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub provider_media_id: Option<String>,
    /// Set when the bytes are already in the media store (outbound).
    pub storage_key: Option<String>,
    /// `pending` (to download) or `stored`.
    pub state: String,
}

/// A new message; `send` also queues it in the outbox.
#[derive(Clone, Debug, Default)]
pub struct NewMessage {
    pub direction: String,
    pub kind: String,
    pub text: Option<String>,
    pub template: Option<String>,
    pub template_language: Option<String>,
    pub employee_id: Option<Id>,
    pub status: String,
    pub error: Option<String>,
    pub provider_id: Option<String>,
    pub media_id: Option<String>,
    pub content_type: Option<String>,
    pub send: bool,
    /// Employees a note mentions.
    pub mentions: Vec<Id>,
    /// Structured content (see [`Message::payload`]).
    pub payload: Option<Value>,
    /// A file stored with the message.
    pub attachment: Option<NewAttachment>,
    /// When it happened, if not at the commit's instant (a client message's arrival).
    pub at: Option<Timestamp>,
}

/// One timeline entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: Id,
    pub conversation_id: Id,
    pub at: Timestamp,
    /// `decision`, or a state change / message event name.
    pub kind: String,
    pub rule: Option<String>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub data: Option<Value>,
}

/// A new timeline entry.
#[derive(Clone, Debug, Default)]
pub struct NewEvent {
    /// When it happened, if not at the commit's instant.
    pub at: Option<Timestamp>,
    pub kind: String,
    pub rule: Option<String>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub data: Option<Value>,
}

/// A stored notification for one manager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRecord {
    pub id: Id,
    pub conversation_id: Id,
    pub contact_id: Id,
    pub reason: String,
    pub employee_id: Option<Id>,
    pub manager_id: Id,
    pub wait_started_at: Timestamp,
    pub waited_seconds: i64,
    /// The rule's rendered «Текст уведомления» (absent on rows older than the field).
    pub text: Option<String>,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// A new notification for one manager.
#[derive(Clone, Debug)]
pub struct NewNotification {
    pub reason: String,
    pub employee_id: Option<Id>,
    pub manager_id: Id,
    pub wait_started_at: Timestamp,
    pub waited_seconds: i64,
    /// The rule's rendered notification text: the first line of every delivery.
    pub text: Option<String>,
}

/// A conversation's new state and everything its engine step produced.
#[derive(Clone, Debug)]
pub struct ConversationWrite {
    /// `None` creates the conversation.
    pub id: Option<Id>,
    pub channel_id: Id,
    /// Ignored when `contact` is set.
    pub contact_id: Id,
    /// Creates or updates the contact in the same transaction and uses its id.
    pub contact: Option<ContactUpsert>,
    pub status: String,
    pub assignee_id: Option<Id>,
    pub waiting_since: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// Set when a message was written in this step.
    pub last_message_at: Option<Timestamp>,
    pub state: String,
    pub due_at: Option<Timestamp>,
    pub messages: Vec<NewMessage>,
    pub events: Vec<NewEvent>,
    pub notifications: Vec<NewNotification>,
}

/// A settings change still being applied to a channel's open conversations:
/// those with an id above `after_id` are still to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settling {
    pub channel_id: Id,
    pub after_id: Id,
    pub changed_at: Timestamp,
    pub employee_id: Option<Id>,
}

/// A settings backlog's progress, committed with the chunk it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlingWrite {
    pub channel_id: Id,
    /// The last conversation done; `None` when the backlog is finished.
    pub after_id: Option<Id>,
    pub changed_at: Timestamp,
    pub employee_id: Option<Id>,
}

/// A contact as a client message names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactUpsert {
    pub address: String,
    /// The messenger profile's name; an edited name is kept.
    pub name: Option<String>,
    /// The message's arrival; the stored instant only moves forward.
    pub inbound_at: Option<Timestamp>,
}

/// A delivery status reported by the provider.
#[derive(Clone, Debug)]
pub struct StatusWrite {
    pub channel_id: Id,
    /// Our message id echoed back (`biz_opaque_callback_data`).
    pub message_id: Option<Id>,
    pub provider_id: String,
    /// queued, sent, delivered, read or failed.
    pub status: String,
    pub error: Option<String>,
}

/// A settings change, recorded with who made it.
#[derive(Clone, Debug)]
pub struct SettingsWrite {
    pub channel_id: Id,
    pub employee_id: Option<Id>,
    pub old: Value,
    pub new: Value,
}

/// Everything one engine step (or batch) writes, atomically.
#[derive(Clone, Debug)]
pub struct Commit {
    pub now: Timestamp,
    pub conversations: Vec<ConversationWrite>,
    pub statuses: Vec<StatusWrite>,
    pub settings: Option<SettingsWrite>,
    /// Inbox rows marked processed, each with a short result note.
    pub inbox_done: Vec<(Id, String)>,
    /// Employees handed a new conversation by routing (round robin's turn).
    pub assigned: Vec<Id>,
    /// Moves (or, with `after_id: None`, ends) a channel's settings backlog.
    pub settling: Option<SettlingWrite>,
    /// Employees who start observing existing conversations.
    pub observers: Vec<ObserverWrite>,
}

impl Commit {
    /// An empty commit at `now`.
    pub fn new(now: Timestamp) -> Self {
        Self {
            now,
            conversations: Vec::new(),
            statuses: Vec::new(),
            settings: None,
            inbox_done: Vec::new(),
            assigned: Vec::new(),
            settling: None,
            observers: Vec::new(),
        }
    }
}

/// Ids assigned by a commit.
#[derive(Clone, Debug, Default)]
pub struct CommitResult {
    /// Per written conversation, in order: its id and its new message ids.
    pub conversations: Vec<(Id, Vec<Id>)>,
    /// How many statuses changed a message.
    pub statuses_applied: usize,
    /// How many outbox rows were queued.
    pub queued: usize,
}

/// A claimed outbox row with what is needed to send it.
#[derive(Clone, Debug)]
pub struct OutboxJob {
    pub id: Id,
    pub attempts: i64,
    pub message: Message,
    pub channel: Channel,
    pub contact_address: String,
    /// The contact's name, for the variables of a fallback template's parameters.
    pub contact_name: Option<String>,
}

/// Decides, inside a claim, which due outbox rows may be sent now: a
/// provider's rate limit per channel. The store asks it row by row, in due
/// order, so a channel that is full never holds back another one.
pub trait SendGate: Send {
    /// Channels that may send nothing now: their rows are not even read.
    fn closed(&self) -> Vec<Id>;
    /// Whether one more row of `channel` may be claimed now; `true` takes its slot.
    fn admit(&mut self, channel: &Channel) -> bool;
}

/// A gate that admits everything (tools and tests without a rate limit).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSendLimit;

impl SendGate for NoSendLimit {
    fn closed(&self) -> Vec<Id> {
        Vec::new()
    }

    fn admit(&mut self, _channel: &Channel) -> bool {
        true
    }
}

/// The template sent in place of an automatic message's text (the 24-hour window had closed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentTemplate {
    pub name: String,
    pub language: String,
    /// The BODY parameters as sent (rendered).
    pub parameters: Vec<String>,
}

/// What happened to a claimed outbox row.
#[derive(Clone, Debug)]
pub enum OutboxOutcome {
    /// The provider accepted it; `template` is set when a template was sent instead of text.
    Sent {
        provider_id: String,
        template: Option<SentTemplate>,
    },
    /// Try again at `at`.
    Retry { at: Timestamp, error: String },
    /// Given up: the message is failed with `error`.
    Failed { error: String },
    /// The send's outcome is unknown (a timeout after the request went out):
    /// failed with «delivery unknown», healable by a later status callback.
    Unknown { error: String },
    /// Not sent on purpose (e.g. outside the 24-hour window).
    Skipped { reason: String },
}

/// Database-derived gauges.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gauges {
    pub outbox_depth: i64,
    pub pending_deadlines: i64,
    pub inbox_pending: i64,
    /// Inbox rows that keep failing (see [`INBOX_FAILING_AFTER`]).
    pub inbox_failed: i64,
}

/// The never-downgrade rank of a delivery status: queued < sent < delivered < failed < read.
pub fn status_rank(status: &str) -> u8 {
    match status {
        "queued" => 0,
        "sent" => 1,
        "delivered" => 2,
        "failed" => 3,
        "read" => 4,
        _ => 0,
    }
}

/// A bearer token's metadata (the token itself is never stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: Id,
    pub employee_id: Id,
    pub label: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// A channel member as routing sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingCandidate {
    pub employee_id: Id,
    pub online: bool,
    /// Open conversations assigned to this employee (all channels).
    pub open_chats: i64,
    pub last_assigned_at: Option<Timestamp>,
}
