//! Replyline storage: a narrow, use-case-shaped [`Store`] trait and its SQLite implementation.
//!
//! The trait speaks in the driver's and the HTTP layer's terms (commit an
//! engine step, claim outbox rows, list a conversation's timeline); SQL
//! dialect details stay inside the implementation modules, so another
//! backend (PostgreSQL) can be added without touching the callers.

mod attachments;
mod channel_health;
mod delivery;
mod model;
mod routing;
mod sqlite;
mod sqlite_attachments;
mod sqlite_channel_health;
mod sqlite_commit;
mod sqlite_conversations;
mod sqlite_delivery;
mod sqlite_routing;
mod sqlite_templates;
mod sqlite_workspace;
mod sqlite_writer;
mod stored_secrets;
mod templates;
mod visibility;
mod workspace;

pub use attachments::*;
pub use channel_health::*;
pub use delivery::*;
pub use model::*;
pub use routing::*;
pub use sqlite::SqliteStore;
pub use sqlite_writer::private_dir;
pub use stored_secrets::{SecretStore, StoredSecrets};
pub use templates::*;
pub use visibility::Visibility;
pub use workspace::*;

use async_trait::async_trait;
use jiff::Timestamp;
use std::sync::Arc;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated (e.g. an e-mail already taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The referenced row does not exist.
    #[error("not found")]
    NotFound,
    /// The database URL names a backend this build does not support.
    #[error("unsupported database url: {0}")]
    UnsupportedUrl(String),
    /// Stored data could not be decoded.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// Whether the storage itself failed (a full disk, an I/O error, a
    /// database that cannot be opened or is locked, a closed pool), as opposed
    /// to something wrong with what was written (a constraint, corrupt data).
    /// A storage failure says nothing about the row being written: retry it
    /// later without counting it against the row.
    pub fn is_storage_failure(&self) -> bool {
        let Self::Database(err) = self else {
            return false;
        };
        match err {
            sqlx::Error::Database(db) => db
                .code()
                .and_then(|code| code.parse::<i32>().ok())
                .is_some_and(|code| STORAGE_FAILURE_CODES.contains(&(code & 0xff))),
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            _ => false,
        }
    }
}

/// SQLite primary result codes of a failing storage: BUSY, LOCKED, NOMEM,
/// READONLY, IOERR, CORRUPT, FULL, CANTOPEN, PROTOCOL, NOTADB.
const STORAGE_FAILURE_CODES: [i32; 10] = [5, 6, 7, 8, 10, 11, 13, 14, 15, 26];

/// Opens the store named by `url` (`sqlite://PATH`, `sqlite::memory:`) and applies migrations.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}

/// Everything Replyline persists, shaped by its use cases.
#[async_trait]
pub trait Store:
    DeliveryStore
    + RoutingStore
    + WorkspaceStore
    + SecretStore
    + AttachmentStore
    + TemplateStore
    + ChannelHealthStore
    + Send
    + Sync
    + 'static
{
    /// Proves the writer can commit: a small write transaction (a probe row).
    async fn health(&self) -> StoreResult<()>;

    /// The writer's recent outcomes, for the health check and the watchdog
    /// that restarts a process whose writer cannot recover.
    fn writer_status(&self) -> WriterStatus {
        WriterStatus::default()
    }

    // --- employees and tokens ---
    async fn employee_count(&self) -> StoreResult<i64>;
    async fn create_employee(&self, new: NewEmployee, now: Timestamp) -> StoreResult<Employee>;
    async fn employee(&self, id: Id) -> StoreResult<Option<Employee>>;
    async fn employee_by_email(&self, email: &str) -> StoreResult<Option<Employee>>;
    async fn employees(&self) -> StoreResult<Vec<Employee>>;
    async fn update_employee(&self, id: Id, patch: EmployeePatch) -> StoreResult<Employee>;
    async fn create_token(
        &self,
        employee_id: Id,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// The active employee owning a token hash.
    async fn employee_by_token(&self, token_hash: &str) -> StoreResult<Option<Employee>>;

    // --- access control: tokens, presence, channel membership, routing ---
    /// Creates a labelled token; returns its metadata.
    async fn create_labeled_token(
        &self,
        employee_id: Id,
        token_hash: &str,
        label: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<TokenInfo>;
    /// The active employee owning a token hash, with the token's metadata. Does
    /// not look at session expiry: requests authenticate with [`Store::authenticate_at`].
    async fn authenticate(&self, token_hash: &str) -> StoreResult<Option<(Employee, TokenInfo)>>;
    /// Records use of a token: its `last_used_at` and its owner's `last_seen_at`.
    async fn touch_token(&self, token_id: Id, now: Timestamp) -> StoreResult<()>;
    /// An employee's tokens, oldest first.
    async fn tokens(&self, employee_id: Id) -> StoreResult<Vec<TokenInfo>>;
    async fn token(&self, id: Id) -> StoreResult<Option<TokenInfo>>;
    /// Revokes a token; false when there was none.
    async fn delete_token(&self, id: Id) -> StoreResult<bool>;
    async fn set_online(&self, employee_id: Id, online: bool) -> StoreResult<()>;
    /// Every (channel_id, employee_id) membership.
    async fn channel_memberships(&self) -> StoreResult<Vec<(Id, Id)>>;
    /// Replaces a channel's members.
    async fn set_channel_members(&self, channel_id: Id, employees: &[Id]) -> StoreResult<()>;
    /// Replaces an employee's channels.
    async fn set_employee_channels(&self, employee_id: Id, channels: &[Id]) -> StoreResult<()>;
    /// Active members of a channel with their load, for routing.
    async fn routing_candidates(&self, channel_id: Id) -> StoreResult<Vec<RoutingCandidate>>;
    /// The employee who wrote the latest employee message to a contact.
    async fn last_employee_of_contact(&self, contact_id: Id) -> StoreResult<Option<Id>>;
    /// Records that employees were just assigned a conversation (routing fairness).
    async fn mark_assigned(&self, employees: &[Id], now: Timestamp) -> StoreResult<()>;

    // --- channels ---
    /// Creates a channel whose queue (members) starts with every active employee.
    async fn create_channel(&self, new: NewChannel, now: Timestamp) -> StoreResult<Channel>;
    async fn channel(&self, id: Id) -> StoreResult<Option<Channel>>;
    async fn channels(&self) -> StoreResult<Vec<Channel>>;
    async fn update_channel(&self, id: Id, patch: ChannelPatch) -> StoreResult<Channel>;
    /// Deletes a channel (kept for history) and the routing rules restricted to it.
    async fn delete_channel(&self, id: Id) -> StoreResult<()>;
    async fn set_channel_status(
        &self,
        id: Id,
        status: &str,
        reason: Option<&str>,
    ) -> StoreResult<()>;

    // --- inbox (durable webhook bodies) ---
    /// Appends webhook bodies in one transaction (group commit).
    async fn append_inbox(&self, items: &[InboxAppend]) -> StoreResult<()>;
    /// Unprocessed bodies due for an attempt at `now`, oldest first.
    async fn pending_inbox(&self, now: Timestamp, limit: i64) -> StoreResult<Vec<InboxItem>>;
    /// Records a failed attempt at an unprocessed row: its error and when to
    /// retry it. The row stays unprocessed; it is never dropped.
    async fn inbox_attempt_failed(
        &self,
        id: Id,
        error: &str,
        retry_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<InboxFailure>;
    /// The earliest retry of an unprocessed row that is not due yet.
    async fn next_inbox_attempt_at(&self) -> StoreResult<Option<Timestamp>>;
    /// When the oldest unprocessed row never attempted yet arrived: no deadline
    /// at or after it may fire before that row's messages are processed.
    async fn oldest_unprocessed_inbox_at(&self) -> StoreResult<Option<Timestamp>>;
    /// Unprocessed rows that keep failing, oldest first.
    async fn failed_inbox(&self, limit: i64) -> StoreResult<Vec<FailedInboxItem>>;
    /// Makes a failing row due now; false when there is no such failing row.
    async fn retry_inbox_now(&self, id: Id) -> StoreResult<bool>;

    // --- contacts and conversations ---
    async fn upsert_contact(
        &self,
        channel_id: Id,
        address: &str,
        name: Option<&str>,
        inbound_at: Option<Timestamp>,
    ) -> StoreResult<Contact>;
    async fn contact_by_address(
        &self,
        channel_id: Id,
        address: &str,
    ) -> StoreResult<Option<Contact>>;
    async fn inbound_exists(&self, channel_id: Id, provider_id: &str) -> StoreResult<bool>;
    /// Which of `provider_ids` are already stored as inbound messages of the
    /// channel (an inbox round's deduplication, one query). This and the next
    /// two read committed data off the writer (the driver, their only writer,
    /// reads after its own commits).
    async fn inbound_existing(
        &self,
        channel_id: Id,
        provider_ids: &[String],
    ) -> StoreResult<Vec<String>>;
    /// The channel's contacts among `addresses` (one query).
    async fn contacts_by_address(
        &self,
        channel_id: Id,
        addresses: &[String],
    ) -> StoreResult<Vec<Contact>>;
    /// The channel's open conversations with an id above `after_id`, oldest
    /// first, at most `limit` (a settings backlog's next chunk).
    async fn open_conversations_after(
        &self,
        channel_id: Id,
        after_id: Id,
        limit: i64,
    ) -> StoreResult<Vec<ConversationRecord>>;
    /// Every settings change still being applied in chunks.
    async fn settling(&self) -> StoreResult<Vec<Settling>>;
    /// Each of `contact_ids`' newest conversation on the channel (one query).
    async fn latest_conversations(
        &self,
        channel_id: Id,
        contact_ids: &[Id],
    ) -> StoreResult<Vec<ConversationRecord>>;
    /// The contact's newest conversation on the channel.
    async fn latest_conversation(
        &self,
        channel_id: Id,
        contact_id: Id,
    ) -> StoreResult<Option<ConversationRecord>>;
    async fn conversation(&self, id: Id) -> StoreResult<Option<ConversationRecord>>;
    async fn conversations(
        &self,
        filter: &ConversationFilter,
    ) -> StoreResult<Vec<ConversationRecord>>;
    async fn open_conversations(&self, channel_id: Id) -> StoreResult<Vec<ConversationRecord>>;
    /// Conversations whose deadline is at or before `now`, earliest first.
    async fn due_conversations(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<ConversationRecord>>;
    /// The earliest pending deadline.
    async fn next_due_at(&self) -> StoreResult<Option<Timestamp>>;

    // --- the inbox: listing, read marks, labels, observers ---
    /// A page of the conversations `query` selects (visibility, filters, order
    /// and cursor inside the query), with their observers.
    async fn list_conversations(&self, query: &ConversationQuery) -> StoreResult<ConversationPage>;
    /// Last message, `reader`'s unread count and labels per conversation (batched).
    async fn conversation_extras(
        &self,
        ids: &[Id],
        reader: Id,
    ) -> StoreResult<std::collections::HashMap<Id, ConversationExtras>>;
    /// Moves `employee_id`'s read mark to `message_id` (default: the latest
    /// message), never backwards; the mark after it (`None`: no messages).
    async fn mark_read(
        &self,
        conversation_id: Id,
        employee_id: Id,
        message_id: Option<Id>,
    ) -> StoreResult<Option<Id>>;
    /// Replaces a conversation's labels (validated by the caller); the stored labels.
    async fn set_labels(&self, conversation_id: Id, labels: &[String]) -> StoreResult<Vec<String>>;
    /// Every label in use on a conversation `visibility` allows.
    async fn labels(&self, visibility: &Visibility) -> StoreResult<Vec<String>>;
    /// Stops an employee observing a conversation; false when they did not.
    async fn remove_observer(&self, conversation_id: Id, employee_id: Id) -> StoreResult<bool>;
    /// The conversations an employee observes.
    async fn observed_conversations(&self, employee_id: Id) -> StoreResult<Vec<Id>>;

    /// Writes one engine step (or batch) atomically.
    async fn commit(&self, commit: Commit) -> StoreResult<CommitResult>;

    // --- reads for the API ---
    async fn messages(&self, conversation_id: Id) -> StoreResult<Vec<Message>>;
    async fn message(&self, id: Id) -> StoreResult<Option<Message>>;
    async fn events(&self, conversation_id: Id) -> StoreResult<Vec<Event>>;
    async fn notifications(
        &self,
        manager_id: Id,
        unread_only: bool,
    ) -> StoreResult<Vec<NotificationRecord>>;
    /// Marks a notification of `manager_id` read; false when there is none.
    async fn mark_notification_read(
        &self,
        id: Id,
        manager_id: Id,
        now: Timestamp,
    ) -> StoreResult<bool>;

    // --- outbox ---
    /// Recovers rows left in flight by a crash: their outcome is unknown, so they are failed, never resent.
    async fn recover_inflight(&self, now: Timestamp) -> StoreResult<u64>;
    /// Claims up to `limit` due rows of active channels that `gate` admits
    /// and marks them in flight, in one transaction.
    async fn claim_outbox(
        &self,
        now: Timestamp,
        limit: i64,
        gate: &mut dyn SendGate,
    ) -> StoreResult<Vec<OutboxJob>>;
    /// Records the outcome of a claimed row.
    async fn finish_outbox(
        &self,
        outbox_id: Id,
        outcome: OutboxOutcome,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Records many claimed rows' outcomes in one transaction (group commit);
    /// per row, whether it still existed.
    async fn finish_outbox_many(
        &self,
        outcomes: &[(Id, OutboxOutcome)],
        now: Timestamp,
    ) -> StoreResult<Vec<bool>>;
    /// The earliest pending row's attempt time (active channels only, none of `closed`).
    async fn next_outbox_at(&self, closed: &[Id]) -> StoreResult<Option<Timestamp>>;

    /// Gauges for `/metrics`.
    async fn gauges(&self) -> StoreResult<Gauges>;

    // --- login sessions: expiring tokens, revocation ---
    /// Creates a login session token: it ends `max_age_seconds` after `now`, or
    /// earlier when unused for `idle_timeout_seconds`.
    async fn create_session_token(
        &self,
        employee_id: Id,
        token_hash: &str,
        label: Option<&str>,
        now: Timestamp,
        idle_timeout_seconds: i64,
        max_age_seconds: i64,
    ) -> StoreResult<TokenInfo>;
    /// The active employee owning a token hash, with the token's metadata,
    /// unless the token has expired at `now`.
    async fn authenticate_at(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<(Employee, TokenInfo)>>;
    /// Like [`Store::authenticate_at`], by token id (live sockets re-check their caller).
    async fn authenticate_token_id(
        &self,
        token_id: Id,
        now: Timestamp,
    ) -> StoreResult<Option<(Employee, TokenInfo)>>;
    /// [`Store::update_employee`], except that a password change keeps the
    /// employee's token `keep_token` (the session that changed it) while
    /// revoking their others. `update_employee` revokes all of them.
    async fn update_employee_keeping_token(
        &self,
        id: Id,
        patch: EmployeePatch,
        keep_token: Option<Id>,
    ) -> StoreResult<Employee>;
}
