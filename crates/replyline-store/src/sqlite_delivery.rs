//! SQLite side of [`DeliveryStore`], and the rows a commit adds for notifications and CRM events.

use crate::delivery::*;
use crate::model::{ConversationWrite, Id, NewNotification, NotificationRecord};
use crate::sqlite::{ms, ms_ceil, opt_ts, ts};
use crate::{SqliteStore, StoreError, StoreResult};
use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

fn opt_json(v: Option<String>) -> StoreResult<Option<Value>> {
    v.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

const DELIVERY_COLS: &str = "id, channel, notification_id, recipient_id, webhook_id, event, conversation_id, \
     message_id, extra, body, status, attempts, next_attempt_at, last_error, response_code, created_at, updated_at";

fn delivery(row: &SqliteRow) -> StoreResult<Delivery> {
    Ok(Delivery {
        id: row.try_get("id")?,
        channel: row.try_get("channel")?,
        notification_id: row.try_get("notification_id")?,
        recipient_id: row.try_get("recipient_id")?,
        webhook_id: row.try_get("webhook_id")?,
        event: row.try_get("event")?,
        conversation_id: row.try_get("conversation_id")?,
        message_id: row.try_get("message_id")?,
        extra: opt_json(row.try_get("extra")?)?,
        body: opt_json(row.try_get("body")?)?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: opt_ts(row.try_get("next_attempt_at")?)?,
        last_error: row.try_get("last_error")?,
        response_code: row.try_get("response_code")?,
        created_at: ts(row.try_get("created_at")?)?,
        updated_at: ts(row.try_get("updated_at")?)?,
    })
}

fn webhook(row: &SqliteRow) -> StoreResult<Webhook> {
    let events: String = row.try_get("events")?;
    Ok(Webhook {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        events: serde_json::from_str(&events).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_at: ts(row.try_get("created_at")?)?,
    })
}

/// A CRM event to queue for every endpoint subscribed to it.
struct CrmEvent<'a> {
    event: &'a str,
    conversation_id: Id,
    message_id: Option<Id>,
    notification_id: Option<Id>,
    extra: Option<&'a Value>,
}

async fn queue_crm(
    tx: &mut Transaction<'_, Sqlite>,
    e: CrmEvent<'_>,
    now: Timestamp,
) -> StoreResult<()> {
    let hooks: Vec<(Id, String)> =
        sqlx::query_as("SELECT id, events FROM webhooks WHERE deleted = 0 ORDER BY id")
            .fetch_all(&mut **tx)
            .await?;
    for (hook_id, events) in hooks {
        let events: Vec<String> = serde_json::from_str(&events).unwrap_or_default();
        if !events.iter().any(|name| name == e.event) {
            continue;
        }
        sqlx::query(
            "INSERT INTO deliveries (channel, notification_id, webhook_id, event, conversation_id, message_id, \
             extra, status, next_attempt_at, created_at, updated_at) \
             VALUES ('webhook', ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
        )
        .bind(e.notification_id)
        .bind(hook_id)
        .bind(e.event)
        .bind(e.conversation_id)
        .bind(e.message_id)
        .bind(e.extra.map(Value::to_string))
        .bind(ms(now))
        .bind(ms(now))
        .bind(ms(now))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Delivery rows for a notification just inserted, in the same transaction:
/// `in_app` (delivered at once), `email` and `telegram` when the server has them
/// configured, the recipient has an address and has not turned them off, and one
/// `webhook` row per endpoint subscribed to `notification.created`.
pub(crate) async fn on_notification(
    tx: &mut Transaction<'_, Sqlite>,
    notification_id: Id,
    conversation_id: Id,
    n: &NewNotification,
    now: Timestamp,
) -> StoreResult<()> {
    let insert = "INSERT INTO deliveries (channel, notification_id, recipient_id, conversation_id, status, attempts, \
                  next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    sqlx::query(insert)
        .bind("in_app")
        .bind(notification_id)
        .bind(n.manager_id)
        .bind(conversation_id)
        .bind("delivered")
        .bind(1)
        .bind(None::<i64>)
        .bind(ms(now))
        .bind(ms(now))
        .execute(&mut **tx)
        .await?;
    let row = sqlx::query(
        "SELECT e.email AS address, e.telegram_chat_id, COALESCE(p.email, 1) AS want_email, \
         COALESCE(p.telegram, 1) AS want_telegram, c.email AS can_email, c.telegram AS can_telegram \
         FROM employees e LEFT JOIN employee_preferences p ON p.employee_id = e.id \
         JOIN delivery_config c ON c.id = 1 WHERE e.id = ?",
    )
    .bind(n.manager_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = row {
        let address: String = row.try_get("address")?;
        let chat: Option<String> = row.try_get("telegram_chat_id")?;
        let email = row.try_get::<bool, _>("can_email")?
            && row.try_get::<bool, _>("want_email")?
            && !address.trim().is_empty();
        let telegram = row.try_get::<bool, _>("can_telegram")?
            && row.try_get::<bool, _>("want_telegram")?
            && chat.is_some_and(|c| !c.trim().is_empty());
        for (channel, on) in [("email", email), ("telegram", telegram)] {
            if !on {
                continue;
            }
            sqlx::query(insert)
                .bind(channel)
                .bind(notification_id)
                .bind(n.manager_id)
                .bind(conversation_id)
                .bind("pending")
                .bind(0)
                .bind(ms(now))
                .bind(ms(now))
                .bind(ms(now))
                .execute(&mut **tx)
                .await?;
        }
    }
    queue_crm(
        tx,
        CrmEvent {
            event: "notification.created",
            conversation_id,
            message_id: None,
            notification_id: Some(notification_id),
            extra: None,
        },
        now,
    )
    .await
}

/// CRM events of a conversation write, in the same transaction: `message.received`
/// per inbound message, `conversation.opened` (opened or reopened),
/// `conversation.closed`, and `sla.breached` per manager-notification firing.
/// Whether any CRM webhook is configured (asked once per commit).
pub(crate) async fn crm_active(tx: &mut Transaction<'_, Sqlite>) -> StoreResult<bool> {
    let any: Option<i64> = sqlx::query_scalar("SELECT 1 FROM webhooks WHERE deleted = 0 LIMIT 1")
        .fetch_optional(&mut **tx)
        .await?;
    Ok(any.is_some())
}

pub(crate) async fn on_conversation_write(
    tx: &mut Transaction<'_, Sqlite>,
    conversation_id: Id,
    w: &ConversationWrite,
    message_ids: &[Id],
    now: Timestamp,
) -> StoreResult<()> {
    for e in &w.events {
        let event = match e.kind.as_str() {
            "opened" | "reopened" => "conversation.opened",
            "closed" => "conversation.closed",
            "notification" => "sla.breached",
            _ => continue,
        };
        queue_crm(
            tx,
            CrmEvent {
                event,
                conversation_id,
                message_id: None,
                notification_id: None,
                extra: e.data.as_ref(),
            },
            now,
        )
        .await?;
    }
    for (m, id) in w.messages.iter().zip(message_ids) {
        if m.direction == "in" {
            queue_crm(
                tx,
                CrmEvent {
                    event: "message.received",
                    conversation_id,
                    message_id: Some(*id),
                    notification_id: None,
                    extra: None,
                },
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// `message.sent` when the outbox records a successful send, in the same transaction.
pub(crate) async fn on_message_sent(
    tx: &mut Transaction<'_, Sqlite>,
    message_id: Id,
    now: Timestamp,
) -> StoreResult<()> {
    let conversation_id: Option<Id> =
        sqlx::query_scalar("SELECT conversation_id FROM messages WHERE id = ?")
            .bind(message_id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(conversation_id) = conversation_id else {
        return Ok(());
    };
    queue_crm(
        tx,
        CrmEvent {
            event: "message.sent",
            conversation_id,
            message_id: Some(message_id),
            notification_id: None,
            extra: None,
        },
        now,
    )
    .await
}

#[async_trait]
impl DeliveryStore for SqliteStore {
    async fn set_delivery_targets(&self, t: DeliveryTargets) -> StoreResult<()> {
        sqlx::query("UPDATE delivery_config SET email = ?, telegram = ? WHERE id = 1")
            .bind(t.email)
            .bind(t.telegram)
            .execute(self.writer_pool())
            .await?;
        Ok(())
    }

    async fn preferences(&self, employee_id: Id) -> StoreResult<Preferences> {
        let row = sqlx::query(
            "SELECT email, telegram, language, quiet_hours, alert_sound, alert_desktop, alert_title \
             FROM employee_preferences WHERE employee_id = ?",
        )
        .bind(employee_id)
        .fetch_optional(self.writer_pool())
        .await?;
        let Some(row) = row else {
            return Ok(Preferences::default());
        };
        Ok(Preferences {
            email: row.try_get("email")?,
            telegram: row.try_get("telegram")?,
            language: row.try_get("language")?,
            quiet_hours: opt_json(row.try_get("quiet_hours")?)?,
            alert_sound: row.try_get("alert_sound")?,
            alert_desktop: row.try_get("alert_desktop")?,
            alert_title: row.try_get("alert_title")?,
        })
    }

    async fn set_preferences(&self, employee_id: Id, p: &Preferences) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO employee_preferences (employee_id, email, telegram, language, quiet_hours, \
             alert_sound, alert_desktop, alert_title) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (employee_id) DO UPDATE SET email = excluded.email, telegram = excluded.telegram, \
             language = excluded.language, quiet_hours = excluded.quiet_hours, \
             alert_sound = excluded.alert_sound, alert_desktop = excluded.alert_desktop, \
             alert_title = excluded.alert_title",
        )
        .bind(employee_id)
        .bind(p.email)
        .bind(p.telegram)
        .bind(&p.language)
        .bind(p.quiet_hours.as_ref().map(Value::to_string))
        .bind(p.alert_sound)
        .bind(p.alert_desktop)
        .bind(p.alert_title)
        .execute(self.writer_pool())
        .await?;
        Ok(())
    }

    async fn create_webhook(&self, new: NewWebhook, now: Timestamp) -> StoreResult<Webhook> {
        let events = serde_json::to_string(&new.events).unwrap_or_else(|_| "[]".into());
        let id: Id = sqlx::query_scalar(
            "INSERT INTO webhooks (url, secret, events, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(&new.url)
        .bind(&new.secret)
        .bind(events)
        .bind(ms(now))
        .fetch_one(self.writer_pool())
        .await?;
        self.webhook(id).await?.ok_or(StoreError::NotFound)
    }

    async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        let rows = sqlx::query(
            "SELECT id, url, secret, events, created_at FROM webhooks WHERE deleted = 0 ORDER BY id",
        )
        .fetch_all(self.writer_pool())
        .await?;
        rows.iter().map(webhook).collect()
    }

    async fn webhook(&self, id: Id) -> StoreResult<Option<Webhook>> {
        let row = sqlx::query(
            "SELECT id, url, secret, events, created_at FROM webhooks WHERE id = ? AND deleted = 0",
        )
        .bind(id)
        .fetch_optional(self.writer_pool())
        .await?;
        row.as_ref().map(webhook).transpose()
    }

    async fn delete_webhook(&self, id: Id, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.writer_pool().begin().await?;
        let done = sqlx::query("UPDATE webhooks SET deleted = 1 WHERE id = ? AND deleted = 0")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE deliveries SET status = 'skipped', last_error = 'webhook deleted', updated_at = ? \
             WHERE webhook_id = ? AND status = 'pending'",
        )
        .bind(ms(now))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn webhook_deliveries(&self, webhook_id: Id, limit: i64) -> StoreResult<Vec<Delivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLS} FROM deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(webhook_id)
            .bind(limit)
            .fetch_all(self.writer_pool())
            .await?;
        rows.iter().map(delivery).collect()
    }

    async fn notification_deliveries(&self, ids: &[Id]) -> StoreResult<Vec<Delivery>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        let sql = format!(
            "SELECT {DELIVERY_COLS} FROM deliveries WHERE notification_id IN (SELECT value FROM json_each(?)) ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(list)
            .fetch_all(self.writer_pool())
            .await?;
        rows.iter().map(delivery).collect()
    }

    async fn notification(&self, id: Id) -> StoreResult<Option<NotificationRecord>> {
        let row = sqlx::query(
            "SELECT n.id, n.conversation_id, c.contact_id, n.reason, n.employee_id, n.manager_id, n.wait_started_at, \
             n.waited_seconds, n.text, n.created_at, n.read_at FROM notifications n JOIN conversations c ON c.id = n.conversation_id \
             WHERE n.id = ?",
        )
        .bind(id)
        .fetch_optional(self.writer_pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(NotificationRecord {
            id: row.try_get("id")?,
            conversation_id: row.try_get("conversation_id")?,
            contact_id: row.try_get("contact_id")?,
            reason: row.try_get("reason")?,
            employee_id: row.try_get("employee_id")?,
            manager_id: row.try_get("manager_id")?,
            wait_started_at: ts(row.try_get("wait_started_at")?)?,
            waited_seconds: row.try_get("waited_seconds")?,
            text: row.try_get("text")?,
            created_at: ts(row.try_get("created_at")?)?,
            read_at: opt_ts(row.try_get("read_at")?)?,
        }))
    }

    async fn recover_deliveries(&self) -> StoreResult<u64> {
        let done =
            sqlx::query("UPDATE deliveries SET status = 'pending' WHERE status = 'inflight'")
                .execute(self.writer_pool())
                .await?;
        Ok(done.rows_affected())
    }

    async fn claim_deliveries(&self, now: Timestamp, limit: i64) -> StoreResult<Vec<Delivery>> {
        let sql = format!(
            "UPDATE deliveries SET status = 'inflight' WHERE id IN (SELECT id FROM deliveries \
             WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?) \
             RETURNING {DELIVERY_COLS}"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .bind(limit)
            .fetch_all(self.writer_pool())
            .await?;
        let mut jobs = rows.iter().map(delivery).collect::<StoreResult<Vec<_>>>()?;
        jobs.sort_by_key(|d| (d.next_attempt_at, d.id));
        Ok(jobs)
    }

    async fn set_delivery_body(&self, id: Id, body: &Value) -> StoreResult<()> {
        sqlx::query("UPDATE deliveries SET body = ? WHERE id = ?")
            .bind(body.to_string())
            .bind(id)
            .execute(self.writer_pool())
            .await?;
        Ok(())
    }

    async fn finish_delivery(
        &self,
        id: Id,
        outcome: DeliveryOutcome,
        now: Timestamp,
    ) -> StoreResult<()> {
        let (status, attempt, next, error, code): (&str, i64, Option<i64>, Option<String>, _) =
            match outcome {
                DeliveryOutcome::Sent { response_code } => ("sent", 1, None, None, response_code),
                DeliveryOutcome::Retry {
                    at,
                    error,
                    response_code,
                } => ("pending", 1, Some(ms_ceil(at)), Some(error), response_code),
                DeliveryOutcome::Failed {
                    error,
                    response_code,
                } => ("failed", 1, None, Some(error), response_code),
                DeliveryOutcome::Defer { at } => ("pending", 0, Some(ms_ceil(at)), None, None),
                DeliveryOutcome::Skipped { reason } => ("skipped", 0, None, Some(reason), None),
            };
        sqlx::query(
            "UPDATE deliveries SET status = ?, attempts = attempts + ?, next_attempt_at = ?, \
             last_error = COALESCE(?, last_error), response_code = COALESCE(?, response_code), updated_at = ? \
             WHERE id = ?",
        )
        .bind(status)
        .bind(attempt)
        .bind(next)
        .bind(error)
        .bind(code)
        .bind(ms(now))
        .bind(id)
        .execute(self.writer_pool())
        .await?;
        Ok(())
    }

    async fn next_delivery_at(&self) -> StoreResult<Option<Timestamp>> {
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'",
        )
        .fetch_one(self.writer_pool())
        .await?;
        opt_ts(v)
    }
}
