//! The SQLite implementation of [`crate::ChannelHealthStore`].

use crate::SqliteStore;
use crate::StoreResult;
use crate::channel_health::{
    CHANNEL_FAILING, ChannelHealthStore, HealthChange, OUTAGE_AFTER_FAILURES, SendHealth,
    failing_text,
};
use crate::model::{Id, NewNotification};
use crate::sqlite::ms;
use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::{Row, Sqlite, Transaction};

impl SqliteStore {
    /// A success: ends an outage; a write only when there was something to reset.
    async fn record_success(&self, channel_id: Id) -> StoreResult<HealthChange> {
        let row = sqlx::query("SELECT send_failures, failing_since FROM channels WHERE id = ?")
            .bind(channel_id)
            .fetch_optional(self.writer_pool())
            .await?;
        let Some(row) = row else {
            return Ok(HealthChange::None);
        };
        let failures: i64 = row.try_get("send_failures")?;
        let failing: Option<i64> = row.try_get("failing_since")?;
        if failures == 0 && failing.is_none() {
            return Ok(HealthChange::None);
        }
        let ended = sqlx::query(
            "UPDATE channels SET send_failures = 0, failing_since = NULL, failing_error = NULL \
             WHERE id = ? AND failing_since IS NOT NULL",
        )
        .bind(channel_id)
        .execute(self.writer_pool())
        .await?
        .rows_affected()
            > 0;
        if !ended {
            sqlx::query("UPDATE channels SET send_failures = 0 WHERE id = ?")
                .bind(channel_id)
                .execute(self.writer_pool())
                .await?;
        }
        Ok(if ended {
            HealthChange::OutageEnded
        } else {
            HealthChange::None
        })
    }

    /// A failure: counts it, and starts an outage (notifying the admins) when due.
    async fn record_failure(
        &self,
        channel_id: Id,
        conversation_id: Id,
        error: &str,
        halting: bool,
        now: Timestamp,
    ) -> StoreResult<HealthChange> {
        let mut tx = self.writer_pool().begin().await?;
        let row = sqlx::query(
            "UPDATE channels SET send_failures = send_failures + 1, failing_error = ? WHERE id = ? \
             RETURNING send_failures, failing_since, name",
        )
        .bind(error)
        .bind(channel_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(HealthChange::None);
        };
        let failures: i64 = row.try_get("send_failures")?;
        let failing: Option<i64> = row.try_get("failing_since")?;
        let name: String = row.try_get("name")?;
        let change = if failing.is_none() && (halting || failures >= OUTAGE_AFTER_FAILURES) {
            sqlx::query("UPDATE channels SET failing_since = ? WHERE id = ?")
                .bind(ms(now))
                .bind(channel_id)
                .execute(&mut *tx)
                .await?;
            let text = failing_text(&name, error);
            let notified = notify_admins(&mut tx, conversation_id, &text, now).await?;
            HealthChange::OutageStarted { notified }
        } else {
            HealthChange::None
        };
        tx.commit().await?;
        Ok(change)
    }
}

/// One `channel_failing` notification per active admin; their ids.
async fn notify_admins(
    tx: &mut Transaction<'_, Sqlite>,
    conversation_id: Id,
    text: &str,
    now: Timestamp,
) -> StoreResult<Vec<Id>> {
    let admins: Vec<Id> = sqlx::query_scalar(
        "SELECT id FROM employees WHERE role = 'admin' AND active = 1 ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await?;
    for &admin in &admins {
        let n = NewNotification {
            reason: CHANNEL_FAILING.to_owned(),
            employee_id: None,
            manager_id: admin,
            wait_started_at: now,
            waited_seconds: 0,
            text: Some(text.to_owned()),
        };
        let id: Id = sqlx::query_scalar(
            "INSERT INTO notifications (conversation_id, reason, employee_id, manager_id, wait_started_at, \
             waited_seconds, text, created_at) VALUES (?, ?, NULL, ?, ?, 0, ?, ?) RETURNING id",
        )
        .bind(conversation_id)
        .bind(&n.reason)
        .bind(admin)
        .bind(ms(now))
        .bind(text)
        .bind(ms(now))
        .fetch_one(&mut **tx)
        .await?;
        crate::sqlite_delivery::on_notification(tx, id, conversation_id, &n, now).await?;
    }
    Ok(admins)
}

#[async_trait]
impl ChannelHealthStore for SqliteStore {
    async fn record_send(
        &self,
        channel_id: Id,
        conversation_id: Id,
        health: &SendHealth,
        now: Timestamp,
    ) -> StoreResult<HealthChange> {
        match health {
            SendHealth::Ok => self.record_success(channel_id).await,
            SendHealth::Failed { error, halting } => {
                self.record_failure(channel_id, conversation_id, error, *halting, now)
                    .await
            }
        }
    }
}
