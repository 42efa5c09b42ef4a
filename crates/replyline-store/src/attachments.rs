//! AttachmentStore: inbound downloads, media lookups and outbound uploads of message files (issue 11).

use crate::StoreResult;
use crate::model::{Attachment, Id};
use async_trait::async_trait;
use jiff::Timestamp;

/// What a download brought: the row becomes `stored`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    /// The key in the media store.
    pub storage_key: String,
    pub size: i64,
    /// The MIME type the provider gave for the bytes (kept when `None`).
    pub mime_type: Option<String>,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
}

/// Inbound downloads, media lookups and outbound uploads of message files (issue 11).
#[async_trait]
pub trait AttachmentStore: Send + Sync {
    /// Inbound attachments still to download whose `next_attempt_at` is due,
    /// the earliest first, at most `limit` (one download worker claims them).
    async fn due_downloads(&self, now: Timestamp, limit: i64) -> StoreResult<Vec<Attachment>>;

    /// The earliest `next_attempt_at` of a pending inbound attachment.
    async fn next_download_at(&self) -> StoreResult<Option<Timestamp>>;

    /// Records a finished download: `stored`, with its key, size, type and hash;
    /// counts the attempt and clears the error. `NotFound` for an unknown id.
    async fn attachment_stored(&self, id: Id, file: &StoredFile, now: Timestamp)
    -> StoreResult<()>;

    /// Records a failed download attempt with its `error`: tried again at
    /// `retry_at`, or `failed` for good when `None`.
    async fn attachment_attempt_failed(
        &self,
        id: Id,
        error: &str,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// One attachment (it carries its conversation and message ids).
    async fn attachment(&self, id: Id) -> StoreResult<Option<Attachment>>;

    /// Records the provider's id of an uploaded outbound attachment, so a
    /// retried send does not upload it again. `NotFound` for an unknown id.
    async fn set_attachment_provider_media(&self, id: Id, media_id: &str) -> StoreResult<()>;
}
