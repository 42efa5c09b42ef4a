//! The SQLite implementation of [`crate::AttachmentStore`].

use crate::attachments::{AttachmentStore, StoredFile};
use crate::model::{Attachment, Id};
use crate::sqlite::{ATTACHMENT_COLS, attachment, ms, ms_ceil, opt_ts};
use crate::{SqliteStore, StoreError, StoreResult};
use async_trait::async_trait;
use jiff::Timestamp;

fn found(rows: u64) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

#[async_trait]
impl AttachmentStore for SqliteStore {
    async fn due_downloads(&self, now: Timestamp, limit: i64) -> StoreResult<Vec<Attachment>> {
        let sql = format!(
            "SELECT {ATTACHMENT_COLS} FROM attachments WHERE state = 'pending' AND direction = 'in' \
             AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .bind(limit)
            .fetch_all(self.writer_pool())
            .await?;
        rows.iter().map(attachment).collect()
    }

    async fn next_download_at(&self) -> StoreResult<Option<Timestamp>> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM attachments WHERE state = 'pending' AND direction = 'in'",
        )
        .fetch_one(self.writer_pool())
        .await?;
        opt_ts(at)
    }

    async fn attachment_stored(
        &self,
        id: Id,
        file: &StoredFile,
        now: Timestamp,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE attachments SET state = 'stored', storage_key = ?, size = ?, \
             mime_type = COALESCE(?, mime_type), sha256 = ?, attempts = attempts + 1, \
             next_attempt_at = NULL, error = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(&file.storage_key)
        .bind(file.size)
        .bind(&file.mime_type)
        .bind(&file.sha256)
        .bind(ms(now))
        .bind(id)
        .execute(self.writer_pool())
        .await?;
        found(done.rows_affected())
    }

    async fn attachment_attempt_failed(
        &self,
        id: Id,
        error: &str,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE attachments SET state = CASE WHEN ? IS NULL THEN 'failed' ELSE state END, \
             next_attempt_at = ?, attempts = attempts + 1, error = ?, updated_at = ? WHERE id = ?",
        )
        .bind(retry_at.map(ms_ceil))
        .bind(retry_at.map(ms_ceil))
        .bind(error)
        .bind(ms(now))
        .bind(id)
        .execute(self.writer_pool())
        .await?;
        found(done.rows_affected())
    }

    async fn attachment(&self, id: Id) -> StoreResult<Option<Attachment>> {
        let sql = format!("SELECT {ATTACHMENT_COLS} FROM attachments WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.writer_pool())
            .await?;
        row.as_ref().map(attachment).transpose()
    }

    async fn set_attachment_provider_media(&self, id: Id, media_id: &str) -> StoreResult<()> {
        let done = sqlx::query("UPDATE attachments SET provider_media_id = ? WHERE id = ?")
            .bind(media_id)
            .bind(id)
            .execute(self.writer_pool())
            .await?;
        found(done.rows_affected())
    }
}
