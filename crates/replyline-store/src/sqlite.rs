//! The SQLite implementation of [`Store`]: WAL, one writer connection, embedded migrations.

use crate::model::*;
use crate::sqlite_writer::WriterHealth;
use crate::{Store, StoreError, StoreResult};
use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Embedded migrations, applied in order on open.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_initial.sql")),
    (2, include_str!("../migrations/0002_access.sql")),
    (3, include_str!("../migrations/0003_delivery.sql")),
    (4, include_str!("../migrations/0004_routing.sql")),
    (6, include_str!("../migrations/0006_inbox_retry.sql")),
    (5, include_str!("../migrations/0005_sessions.sql")),
    (7, include_str!("../migrations/0007_workspace.sql")),
    (9, include_str!("../migrations/0009_search_and_audit.sql")),
    (8, include_str!("../migrations/0008_alert_preferences.sql")),
    (10, include_str!("../migrations/0010_mentions.sql")),
    (11, include_str!("../migrations/0011_inbox_indexes.sql")),
    (12, include_str!("../migrations/0012_whatsapp_full.sql")),
    (13, include_str!("../migrations/0013_throughput.sql")),
];

/// SQLite store: a single-connection writer pool (serializing writes) and a reader pool.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    writer_health: Arc<WriterHealth>,
}

/// Only a recipient's oldest unfinished outbox row may be sent: one message
/// per recipient is in flight at a time (so a crash leaves at most that one in
/// doubt) and a retry keeps the recipient's later messages waiting behind it.
const OUTBOX_HEAD_OF_LINE: &str = "NOT EXISTS (SELECT 1 FROM outbox o2 \
    WHERE o2.contact_id = o.contact_id AND o2.id < o.id AND o2.state IN ('pending', 'inflight'))";

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// Milliseconds rounded up, so a deadline never looks due early.
pub(crate) fn ms_ceil(t: Timestamp) -> i64 {
    let m = t.as_millisecond();
    match Timestamp::from_millisecond(m) {
        Ok(floor) if floor < t => m + 1,
        _ => m,
    }
}

pub(crate) fn ts(v: i64) -> StoreResult<Timestamp> {
    Timestamp::from_millisecond(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn opt_ts(v: Option<i64>) -> StoreResult<Option<Timestamp>> {
    v.map(ts).transpose()
}

fn json(text: &str) -> StoreResult<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn conflict(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        _ => StoreError::Database(err),
    }
}

impl SqliteStore {
    /// Replaces every membership whose `column` (`channel_id` or `employee_id`)
    /// equals `key` with `pairs` of (channel, employee), in one transaction.
    async fn replace_memberships(
        &self,
        column: &'static str,
        key: Id,
        pairs: &[(Id, Id)],
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(&format!("DELETE FROM channel_members WHERE {column} = ?"))
            .bind(key)
            .execute(&mut *tx)
            .await?;
        for (channel_id, employee_id) in pairs {
            sqlx::query(
                "INSERT OR IGNORE INTO channel_members (channel_id, employee_id) VALUES (?, ?)",
            )
            .bind(channel_id)
            .bind(employee_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Opens (creating if missing) the database at `url` and migrates it.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let store_is_memory = url.contains(":memory:");
        let path = options.get_filename().to_owned();
        if !store_is_memory {
            crate::sqlite_writer::prepare_database_file(&path)?;
        }
        // A writer connection left in a bad state by an error is closed, never
        // reused; the pool opens a fresh one (see `sqlite_writer`).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .after_release(|conn, _| crate::sqlite_writer::writer_is_reusable(conn))
            .connect_with(options.clone())
            .await?;
        let reader = if store_is_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await?
        };
        let store = Self {
            writer,
            reader,
            writer_health: Arc::default(),
        };
        store.migrate().await?;
        if !store_is_memory {
            crate::sqlite_writer::tighten_sidecars(&path);
        }
        Ok(store)
    }

    /// Runs a write and records its outcome in the writer's health.
    async fn tracked<T>(&self, write: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        self.tracked_when(write, |_| true).await
    }

    /// Like [`Self::tracked`], but a success counts only when `wrote` says the
    /// transaction wrote something (an empty claim proves nothing).
    async fn tracked_when<T>(
        &self,
        write: impl Future<Output = StoreResult<T>>,
        wrote: impl Fn(&T) -> bool,
    ) -> StoreResult<T> {
        let result = write.await;
        if result.as_ref().map_or(true, &wrote) {
            self.writer_health.record(&result);
        }
        result
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
            .execute(&mut *tx)
            .await?;
        // Each version is applied once, by its own number (not "above the maximum"),
        // so migrations merged out of order are still picked up.
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await?;
        for (version, sql) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, CAST(strftime('%s', 'now') AS INTEGER) * 1000)")
                .bind(version)
                .execute(&mut *tx)
                .await?;
            tracing::info!(version, "applied migration");
        }
        tx.commit().await?;
        Ok(())
    }
}

const EMPLOYEE_COLS: &str = "id, email, name, display_name, role, manager_id, password_hash, telegram_chat_id, active, online, last_seen_at";

fn employee(row: &SqliteRow) -> StoreResult<Employee> {
    Ok(Employee {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        role: row.try_get("role")?,
        manager_id: row.try_get("manager_id")?,
        password_hash: row.try_get("password_hash")?,
        telegram_chat_id: row.try_get("telegram_chat_id")?,
        active: row.try_get("active")?,
        online: row.try_get("online")?,
        last_seen_at: opt_ts(row.try_get("last_seen_at")?)?,
    })
}

const CHANNEL_COLS: &str = "id, kind, name, config, settings, status, status_reason, last_webhook_at, created_at, routing, \
     allow_write_first, failing_since, failing_error";

fn channel(row: &SqliteRow) -> StoreResult<Channel> {
    Ok(Channel {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        name: row.try_get("name")?,
        config: json(row.try_get("config")?)?,
        settings: json(row.try_get("settings")?)?,
        status: row.try_get("status")?,
        status_reason: row.try_get("status_reason")?,
        last_webhook_at: opt_ts(row.try_get("last_webhook_at")?)?,
        created_at: ts(row.try_get("created_at")?)?,
        routing: row.try_get("routing")?,
        allow_write_first: row.try_get::<i64, _>("allow_write_first")? != 0,
        failing_since: opt_ts(row.try_get("failing_since")?)?,
        failing_error: row.try_get("failing_error")?,
    })
}

const TOKEN_COLS: &str = "id, employee_id, label, created_at, last_used_at";

fn token_info(row: &SqliteRow) -> StoreResult<TokenInfo> {
    Ok(TokenInfo {
        id: row.try_get("id")?,
        employee_id: row.try_get("employee_id")?,
        label: row.try_get("label")?,
        created_at: ts(row.try_get("created_at")?)?,
        last_used_at: opt_ts(row.try_get("last_used_at")?)?,
    })
}

fn contact(row: &SqliteRow, prefix: &str) -> StoreResult<Contact> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(Contact {
        id: row.try_get(col("id").as_str())?,
        channel_id: row.try_get(col("channel_id").as_str())?,
        address: row.try_get(col("address").as_str())?,
        name: row.try_get(col("name").as_str())?,
        last_inbound_at: opt_ts(row.try_get(col("last_inbound_at").as_str())?)?,
    })
}

pub(crate) const CONVERSATION_SELECT: &str = "SELECT c.id, c.channel_id, c.status, c.assignee_id, c.waiting_since, c.opened_at, \
     c.closed_at, c.last_message_at, c.state, c.due_at, k.id AS k_id, k.channel_id AS k_channel_id, \
     k.address AS k_address, k.name AS k_name, k.last_inbound_at AS k_last_inbound_at \
     FROM conversations c JOIN contacts k ON k.id = c.contact_id";

pub(crate) fn conversation(row: &SqliteRow) -> StoreResult<ConversationRecord> {
    Ok(ConversationRecord {
        id: row.try_get("id")?,
        channel_id: row.try_get("channel_id")?,
        contact: contact(row, "k_")?,
        status: row.try_get("status")?,
        assignee_id: row.try_get("assignee_id")?,
        waiting_since: opt_ts(row.try_get("waiting_since")?)?,
        opened_at: ts(row.try_get("opened_at")?)?,
        closed_at: opt_ts(row.try_get("closed_at")?)?,
        last_message_at: opt_ts(row.try_get("last_message_at")?)?,
        state: row.try_get("state")?,
        due_at: opt_ts(row.try_get("due_at")?)?,
        observer_ids: Vec::new(),
    })
}

const MESSAGE_COLS: &str = "id, conversation_id, channel_id, direction, kind, text, template, template_language, employee_id, status, error, provider_id, media_id, content_type, created_at, updated_at, mentions, payload, retry_at, delivery_unknown";

fn message(row: &SqliteRow) -> StoreResult<Message> {
    Ok(Message {
        id: row.try_get("id")?,
        conversation_id: row.try_get("conversation_id")?,
        channel_id: row.try_get("channel_id")?,
        direction: row.try_get("direction")?,
        kind: row.try_get("kind")?,
        text: row.try_get("text")?,
        template: row.try_get("template")?,
        template_language: row.try_get("template_language")?,
        employee_id: row.try_get("employee_id")?,
        status: row.try_get("status")?,
        error: row.try_get("error")?,
        provider_id: row.try_get("provider_id")?,
        media_id: row.try_get("media_id")?,
        content_type: row.try_get("content_type")?,
        created_at: ts(row.try_get("created_at")?)?,
        updated_at: ts(row.try_get("updated_at")?)?,
        mentions: mentions(row.try_get("mentions")?)?,
        payload: row
            .try_get::<Option<String>, _>("payload")?
            .as_deref()
            .map(json)
            .transpose()?,
        retry_at: opt_ts(row.try_get("retry_at")?)?,
        delivery_unknown: row.try_get::<i64, _>("delivery_unknown")? != 0,
        attachments: Vec::new(),
    })
}

pub(crate) const ATTACHMENT_COLS: &str = "id, message_id, conversation_id, channel_id, direction, kind, mime_type, \
     file_name, size, sha256, provider_media_id, storage_key, state, attempts, next_attempt_at, error, created_at, updated_at";

pub(crate) fn attachment(row: &SqliteRow) -> StoreResult<Attachment> {
    Ok(Attachment {
        id: row.try_get("id")?,
        message_id: row.try_get("message_id")?,
        conversation_id: row.try_get("conversation_id")?,
        channel_id: row.try_get("channel_id")?,
        direction: row.try_get("direction")?,
        kind: row.try_get("kind")?,
        mime_type: row.try_get("mime_type")?,
        file_name: row.try_get("file_name")?,
        size: row.try_get("size")?,
        sha256: row.try_get("sha256")?,
        provider_media_id: row.try_get("provider_media_id")?,
        storage_key: row.try_get("storage_key")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: opt_ts(row.try_get("next_attempt_at")?)?,
        error: row.try_get("error")?,
        created_at: ts(row.try_get("created_at")?)?,
        updated_at: ts(row.try_get("updated_at")?)?,
    })
}

/// Fills `messages[i].attachments` from the rows `sql` selects (bound to `key`).
async fn attach<'e, E: sqlx::SqliteExecutor<'e>>(
    executor: E,
    messages: &mut [Message],
    sql: &str,
    key: Id,
) -> StoreResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let rows = sqlx::query(sql).bind(key).fetch_all(executor).await?;
    for row in &rows {
        let a = attachment(row)?;
        if let Some(m) = messages.iter_mut().find(|m| m.id == a.message_id) {
            m.attachments.push(a);
        }
    }
    Ok(())
}

/// Like [`attach`], for the messages whose ids `sql` takes as one JSON array.
async fn attach_json<'e, E: sqlx::SqliteExecutor<'e>>(
    executor: E,
    messages: &mut [Message],
    sql: &str,
    ids_json: &str,
) -> StoreResult<()> {
    let rows = sqlx::query(sql).bind(ids_json).fetch_all(executor).await?;
    for row in &rows {
        let a = attachment(row)?;
        if let Some(m) = messages.iter_mut().find(|m| m.id == a.message_id) {
            m.attachments.push(a);
        }
    }
    Ok(())
}

/// The `mentions` column: a JSON array of employee ids, NULL for none.
fn mentions(column: Option<String>) -> StoreResult<Vec<Id>> {
    match column {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(e.to_string())),
    }
}

fn event(row: &SqliteRow) -> StoreResult<Event> {
    let data: Option<String> = row.try_get("data")?;
    Ok(Event {
        id: row.try_get("id")?,
        conversation_id: row.try_get("conversation_id")?,
        at: ts(row.try_get("at")?)?,
        kind: row.try_get("type")?,
        rule: row.try_get("rule")?,
        outcome: row.try_get("outcome")?,
        reason: row.try_get("reason")?,
        data: data.as_deref().map(json).transpose()?,
    })
}

fn notification(row: &SqliteRow) -> StoreResult<NotificationRecord> {
    Ok(NotificationRecord {
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
    })
}

type Tx<'a> = Transaction<'a, Sqlite>;

/// Creates or updates a contact: an edited name is kept, the last inbound
/// instant only moves forward.
async fn upsert_contact<'e>(
    executor: impl sqlx::SqliteExecutor<'e>,
    channel_id: Id,
    upsert: &ContactUpsert,
) -> StoreResult<Contact> {
    let row = sqlx::query(
        "INSERT INTO contacts (channel_id, address, name, last_inbound_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (channel_id, address) DO UPDATE SET name = CASE WHEN contacts.name_edited = 1 \
         THEN contacts.name ELSE COALESCE(excluded.name, contacts.name) END, \
         last_inbound_at = MAX(COALESCE(contacts.last_inbound_at, 0), COALESCE(excluded.last_inbound_at, 0)) \
         RETURNING id, channel_id, address, name, last_inbound_at",
    )
    .bind(channel_id)
    .bind(&upsert.address)
    .bind(&upsert.name)
    .bind(upsert.inbound_at.map(ms))
    .fetch_one(executor)
    .await?;
    let mut c = contact(&row, "")?;
    if c.last_inbound_at == Some(Timestamp::UNIX_EPOCH) {
        c.last_inbound_at = None;
    }
    Ok(c)
}

pub(crate) async fn insert_attachment(
    tx: &mut Tx<'_>,
    a: &NewAttachment,
    message_id: Id,
    conversation_id: Id,
    w: &ConversationWrite,
    direction: &str,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO attachments (message_id, conversation_id, channel_id, direction, kind, mime_type, file_name, \
         size, sha256, provider_media_id, storage_key, state, next_attempt_at, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(message_id)
    .bind(conversation_id)
    .bind(w.channel_id)
    .bind(direction)
    .bind(&a.kind)
    .bind(&a.mime_type)
    .bind(&a.file_name)
    .bind(a.size)
    .bind(&a.sha256)
    .bind(&a.provider_media_id)
    .bind(&a.storage_key)
    .bind(&a.state)
    .bind((a.state == "pending").then(|| ms(now)))
    .bind(ms(now))
    .bind(ms(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves or ends a channel's settings backlog.
async fn write_settling(tx: &mut Tx<'_>, s: &SettlingWrite) -> StoreResult<()> {
    match s.after_id {
        Some(after_id) => {
            sqlx::query(
                "INSERT INTO settings_backlog (channel_id, after_id, changed_at, employee_id) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (channel_id) DO UPDATE SET after_id = excluded.after_id, \
                 changed_at = excluded.changed_at, employee_id = excluded.employee_id",
            )
            .bind(s.channel_id)
            .bind(after_id)
            .bind(ms(s.changed_at))
            .bind(s.employee_id)
            .execute(&mut **tx)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM settings_backlog WHERE channel_id = ?")
                .bind(s.channel_id)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Records one claimed outbox row's outcome; false when the row is gone.
async fn finish_one(
    tx: &mut Tx<'_>,
    outbox_id: Id,
    outcome: &OutboxOutcome,
    now: Timestamp,
) -> StoreResult<bool> {
    let Some(message_id): Option<Id> =
        sqlx::query_scalar("SELECT message_id FROM outbox WHERE id = ?")
            .bind(outbox_id)
            .fetch_optional(&mut **tx)
            .await?
    else {
        return Ok(false);
    };
    match outcome {
        OutboxOutcome::Sent {
            provider_id,
            template,
        } => {
            sqlx::query("UPDATE outbox SET state = 'done' WHERE id = ?")
                .bind(outbox_id)
                .execute(&mut **tx)
                .await?;
            if let Some(t) = template {
                let payload = serde_json::json!({"template": {
                    "name": t.name, "language": t.language, "parameters": t.parameters}});
                sqlx::query(
                    "UPDATE messages SET template = ?, template_language = ?, payload = ? WHERE id = ?",
                )
                .bind(&t.name)
                .bind(&t.language)
                .bind(payload.to_string())
                .bind(message_id)
                .execute(&mut **tx)
                .await?;
            }
            // A status webhook may have arrived first: never downgrade.
            sqlx::query(
                "UPDATE messages SET provider_id = ?, status = CASE WHEN status = 'queued' THEN 'sent' ELSE status END, \
                 error = CASE WHEN status = 'failed' THEN error END, retry_at = NULL, delivery_unknown = 0, \
                 updated_at = ? WHERE id = ?",
            )
            .bind(provider_id)
            .bind(ms(now))
            .bind(message_id)
            .execute(&mut **tx)
            .await?;
            crate::sqlite_delivery::on_message_sent(tx, message_id, now).await?;
        }
        OutboxOutcome::Retry { at, error } => {
            sqlx::query("UPDATE outbox SET state = 'pending', next_attempt_at = ?, last_error = ? WHERE id = ?")
                .bind(ms_ceil(*at))
                .bind(error)
                .bind(outbox_id)
                .execute(&mut **tx)
                .await?;
            // Visible at once: the last attempt's error and when the next one is.
            sqlx::query("UPDATE messages SET error = ?, retry_at = ?, updated_at = ? WHERE id = ?")
                .bind(error)
                .bind(ms_ceil(*at))
                .bind(ms(now))
                .bind(message_id)
                .execute(&mut **tx)
                .await?;
        }
        OutboxOutcome::Failed { error } => {
            sqlx::query("UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ?")
                .bind(error)
                .bind(outbox_id)
                .execute(&mut **tx)
                .await?;
            sqlx::query(
                "UPDATE messages SET status = 'failed', error = ?, retry_at = NULL, updated_at = ? WHERE id = ?",
            )
            .bind(error)
            .bind(ms(now))
            .bind(message_id)
            .execute(&mut **tx)
            .await?;
        }
        OutboxOutcome::Unknown { error } => {
            sqlx::query("UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ?")
                .bind(error)
                .bind(outbox_id)
                .execute(&mut **tx)
                .await?;
            // Healable: a later status callback for it says what happened.
            sqlx::query(
                "UPDATE messages SET status = 'failed', error = ?, retry_at = NULL, delivery_unknown = 1, \
                 updated_at = ? WHERE id = ? AND status = 'queued'",
            )
            .bind(error)
            .bind(ms(now))
            .bind(message_id)
            .execute(&mut **tx)
            .await?;
        }
        OutboxOutcome::Skipped { reason } => {
            sqlx::query("UPDATE outbox SET state = 'skipped', last_error = ? WHERE id = ?")
                .bind(reason)
                .bind(outbox_id)
                .execute(&mut **tx)
                .await?;
            sqlx::query("UPDATE messages SET status = 'skipped', error = ?, retry_at = NULL, updated_at = ? WHERE id = ?")
                .bind(reason)
                .bind(ms(now))
                .bind(message_id)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(true)
}

/// Applies a delivery status, never downgrading; true when the message changed.
async fn apply_status(tx: &mut Tx<'_>, s: &StatusWrite, now: Timestamp) -> StoreResult<bool> {
    let by_ours = match s.message_id {
        Some(id) => sqlx::query(
            "SELECT id, status, delivery_unknown FROM messages WHERE id = ? AND channel_id = ? AND direction = 'out'",
        )
        .bind(id)
        .bind(s.channel_id)
        .fetch_optional(&mut **tx)
        .await?,
        None => None,
    };
    let row = match by_ours {
        Some(row) => Some(row),
        None => sqlx::query("SELECT id, status, delivery_unknown FROM messages WHERE provider_id = ? AND channel_id = ? AND direction = 'out' ORDER BY id LIMIT 1")
            .bind(&s.provider_id)
            .bind(s.channel_id)
            .fetch_optional(&mut **tx)
            .await?,
    };
    let Some(row) = row else { return Ok(false) };
    let id: Id = row.try_get("id")?;
    let current: String = row.try_get("status")?;
    sqlx::query(
        "INSERT OR IGNORE INTO status_events (message_id, status, at, error) VALUES (?, ?, ?, ?)",
    )
    .bind(id)
    .bind(&s.status)
    .bind(ms(now))
    .bind(&s.error)
    .execute(&mut **tx)
    .await?;
    if row.try_get::<i64, _>("delivery_unknown")? != 0 {
        return heal_unknown(tx, id, s, now).await;
    }
    let updatable = matches!(
        current.as_str(),
        "queued" | "sent" | "delivered" | "failed" | "read"
    );
    if !updatable || status_rank(&s.status) <= status_rank(&current) {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE messages SET status = ?, error = COALESCE(?, error), provider_id = COALESCE(provider_id, ?), \
         updated_at = ? WHERE id = ?",
    )
    .bind(&s.status)
    .bind(&s.error)
    .bind(&s.provider_id)
    .bind(ms(now))
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// A status callback for a message whose send was in doubt: `sent`,
/// `delivered` or `read` heal it to that status (error cleared, provider id
/// recorded); `failed` keeps it failed with the provider's error.
async fn heal_unknown(
    tx: &mut Tx<'_>,
    id: Id,
    s: &StatusWrite,
    now: Timestamp,
) -> StoreResult<bool> {
    let sql = match s.status.as_str() {
        "sent" | "delivered" | "read" => {
            "UPDATE messages SET status = ?, error = NULL, provider_id = ?, delivery_unknown = 0, \
             updated_at = ? WHERE id = ?"
        }
        "failed" => {
            "UPDATE messages SET status = ?, error = COALESCE(?, error), delivery_unknown = 0, \
             updated_at = ? WHERE id = ?"
        }
        _ => return Ok(false),
    };
    let value = if s.status == "failed" {
        s.error.clone()
    } else {
        Some(s.provider_id.clone())
    };
    sqlx::query(sql)
        .bind(&s.status)
        .bind(value)
        .bind(ms(now))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if s.status != "failed" {
        // It went out after all: the CRM hears of it as of any send.
        crate::sqlite_delivery::on_message_sent(tx, id, now).await?;
    }
    Ok(true)
}

#[async_trait]
impl Store for SqliteStore {
    async fn health(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        self.tracked(crate::sqlite_writer::probe(&self.writer))
            .await
    }

    fn writer_status(&self) -> WriterStatus {
        self.writer_health.status()
    }

    async fn employee_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM employees")
            .fetch_one(&self.reader)
            .await?)
    }

    async fn create_employee(&self, new: NewEmployee, now: Timestamp) -> StoreResult<Employee> {
        let id: Id = sqlx::query_scalar(
            "INSERT INTO employees (email, name, display_name, role, manager_id, password_hash, telegram_chat_id, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&new.email)
        .bind(&new.name)
        .bind(&new.display_name)
        .bind(&new.role)
        .bind(new.manager_id)
        .bind(&new.password_hash)
        .bind(&new.telegram_chat_id)
        .bind(ms(now))
        .fetch_one(&self.writer)
        .await
        .map_err(conflict)?;
        self.employee_on(&self.writer, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn employee(&self, id: Id) -> StoreResult<Option<Employee>> {
        self.employee_on(&self.reader, id).await
    }

    async fn employee_by_email(&self, email: &str) -> StoreResult<Option<Employee>> {
        let sql = format!("SELECT {EMPLOYEE_COLS} FROM employees WHERE email = ?");
        let row = sqlx::query(&sql)
            .bind(email)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(employee).transpose()
    }

    async fn employees(&self) -> StoreResult<Vec<Employee>> {
        let sql = format!("SELECT {EMPLOYEE_COLS} FROM employees ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.reader).await?;
        rows.iter().map(employee).collect()
    }

    async fn update_employee(&self, id: Id, p: EmployeePatch) -> StoreResult<Employee> {
        self.write_employee(id, p, None).await
    }

    async fn create_token(
        &self,
        employee_id: Id,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO tokens (hash, employee_id, created_at) VALUES (?, ?, ?)")
            .bind(token_hash)
            .bind(employee_id)
            .bind(ms(now))
            .execute(&self.writer)
            .await
            .map_err(conflict)?;
        Ok(())
    }

    async fn employee_by_token(&self, token_hash: &str) -> StoreResult<Option<Employee>> {
        let sql = format!(
            "SELECT {} FROM employees e JOIN tokens t ON t.employee_id = e.id WHERE t.hash = ? AND e.active = 1",
            EMPLOYEE_COLS
                .split(", ")
                .map(|c| format!("e.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let row = sqlx::query(&sql)
            .bind(token_hash)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(employee).transpose()
    }

    async fn create_labeled_token(
        &self,
        employee_id: Id,
        token_hash: &str,
        label: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<TokenInfo> {
        self.access_create_token(employee_id, token_hash, label, now)
            .await
    }

    async fn authenticate(&self, token_hash: &str) -> StoreResult<Option<(Employee, TokenInfo)>> {
        let row = sqlx::query(&authenticate_sql("t.hash = ?", false))
            .bind(token_hash)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(authenticated).transpose()
    }

    async fn touch_token(&self, token_id: Id, now: Timestamp) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("UPDATE tokens SET last_used_at = ? WHERE id = ?")
            .bind(ms(now))
            .bind(token_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE employees SET last_seen_at = ? WHERE id = (SELECT employee_id FROM tokens WHERE id = ?)",
        )
        .bind(ms(now))
        .bind(token_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn tokens(&self, employee_id: Id) -> StoreResult<Vec<TokenInfo>> {
        let sql = format!("SELECT {TOKEN_COLS} FROM tokens WHERE employee_id = ? ORDER BY id");
        let rows = sqlx::query(&sql)
            .bind(employee_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(token_info).collect()
    }

    async fn token(&self, id: Id) -> StoreResult<Option<TokenInfo>> {
        let sql = format!("SELECT {TOKEN_COLS} FROM tokens WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.writer)
            .await?;
        row.as_ref().map(token_info).transpose()
    }

    async fn delete_token(&self, id: Id) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM tokens WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_online(&self, employee_id: Id, online: bool) -> StoreResult<()> {
        sqlx::query("UPDATE employees SET online = ? WHERE id = ?")
            .bind(online)
            .bind(employee_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn channel_memberships(&self) -> StoreResult<Vec<(Id, Id)>> {
        let rows: Vec<(Id, Id)> = sqlx::query_as(
            "SELECT channel_id, employee_id FROM channel_members ORDER BY channel_id, employee_id",
        )
        .fetch_all(&self.reader)
        .await?;
        Ok(rows)
    }

    async fn set_channel_members(&self, channel_id: Id, employees: &[Id]) -> StoreResult<()> {
        let pairs: Vec<(Id, Id)> = employees.iter().map(|e| (channel_id, *e)).collect();
        self.replace_memberships("channel_id", channel_id, &pairs)
            .await
    }

    async fn set_employee_channels(&self, employee_id: Id, channels: &[Id]) -> StoreResult<()> {
        let pairs: Vec<(Id, Id)> = channels.iter().map(|c| (*c, employee_id)).collect();
        self.replace_memberships("employee_id", employee_id, &pairs)
            .await
    }

    async fn routing_candidates(&self, channel_id: Id) -> StoreResult<Vec<RoutingCandidate>> {
        let rows = sqlx::query(
            "SELECT e.id, e.online, e.last_assigned_at, \
             (SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = e.id AND c.status = 'open') AS open_chats \
             FROM channel_members m JOIN employees e ON e.id = m.employee_id \
             WHERE m.channel_id = ? AND e.active = 1 ORDER BY e.id",
        )
        .bind(channel_id)
        .fetch_all(&self.writer)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RoutingCandidate {
                    employee_id: row.try_get("id")?,
                    online: row.try_get("online")?,
                    open_chats: row.try_get("open_chats")?,
                    last_assigned_at: opt_ts(row.try_get("last_assigned_at")?)?,
                })
            })
            .collect()
    }

    async fn last_employee_of_contact(&self, contact_id: Id) -> StoreResult<Option<Id>> {
        let id: Option<Option<Id>> = sqlx::query_scalar(
            "SELECT m.employee_id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE c.contact_id = ? AND m.kind = 'employee' AND m.employee_id IS NOT NULL \
             ORDER BY m.id DESC LIMIT 1",
        )
        .bind(contact_id)
        .fetch_optional(&self.writer)
        .await?;
        Ok(id.flatten())
    }

    async fn mark_assigned(&self, employees: &[Id], now: Timestamp) -> StoreResult<()> {
        for e in employees {
            sqlx::query("UPDATE employees SET last_assigned_at = ? WHERE id = ?")
                .bind(ms(now))
                .bind(e)
                .execute(&self.writer)
                .await?;
        }
        Ok(())
    }

    async fn create_channel(&self, new: NewChannel, now: Timestamp) -> StoreResult<Channel> {
        let mut tx = self.writer.begin().await?;
        let id: Id = sqlx::query_scalar(
            "INSERT INTO channels (kind, name, config, settings, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&new.kind)
        .bind(&new.name)
        .bind(new.config.to_string())
        .bind(new.settings.to_string())
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict)?;
        sqlx::query(
            "INSERT INTO channel_members (channel_id, employee_id) SELECT ?, id FROM employees WHERE active = 1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.channel_on(&self.writer, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn channel(&self, id: Id) -> StoreResult<Option<Channel>> {
        self.channel_on(&self.reader, id).await
    }

    async fn channels(&self) -> StoreResult<Vec<Channel>> {
        let sql = format!("SELECT {CHANNEL_COLS} FROM channels WHERE deleted = 0 ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.reader).await?;
        rows.iter().map(channel).collect()
    }

    async fn update_channel(&self, id: Id, patch: ChannelPatch) -> StoreResult<Channel> {
        let done = sqlx::query(
            "UPDATE channels SET name = COALESCE(?, name), config = COALESCE(?, config), \
             routing = COALESCE(?, routing), allow_write_first = COALESCE(?, allow_write_first), \
             status = CASE WHEN ? THEN 'active' ELSE status END, \
             status_reason = CASE WHEN ? THEN NULL ELSE status_reason END WHERE id = ? AND deleted = 0",
        )
        .bind(&patch.name)
        .bind(patch.config.as_ref().map(Value::to_string))
        .bind(&patch.routing)
        .bind(patch.allow_write_first.map(i64::from))
        .bind(patch.reactivate)
        .bind(patch.reactivate)
        .bind(id)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.channel_on(&self.writer, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn delete_channel(&self, id: Id) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("UPDATE channels SET deleted = 1 WHERE id = ? AND deleted = 0")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        // Rules restricted to the channel can never match again.
        sqlx::query("DELETE FROM routing_rules WHERE channel_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE routing_rules SET position = \
             (SELECT COUNT(*) FROM routing_rules r2 WHERE r2.position <= routing_rules.position)",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_channel_status(
        &self,
        id: Id,
        status: &str,
        reason: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE channels SET status = ?, status_reason = ? WHERE id = ?")
            .bind(status)
            .bind(reason)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn append_inbox(&self, items: &[InboxAppend]) -> StoreResult<()> {
        // The webhook is acknowledged after this commit and never redelivered,
        // so this commit is synced to disk (synchronous = FULL): it survives a
        // power loss, not only a process crash. Other commits run with NORMAL;
        // WAL order makes this sync cover them too, and an engine step lost
        // with the power is redone from the inbox.
        self.tracked(async {
            let mut conn = self.writer.acquire().await?;
            sqlx::query("PRAGMA synchronous = FULL")
                .execute(&mut *conn)
                .await?;
            let appended = append_inbox_rows(&mut conn, items).await;
            // Rows that committed stay acknowledged even if this reset fails:
            // the pool's release check resets the level or drops the connection.
            if let Err(err) = sqlx::query("PRAGMA synchronous = NORMAL")
                .execute(&mut *conn)
                .await
            {
                tracing::warn!(%err, "could not reset the writer's synchronous level");
            }
            appended
        })
        .await
    }

    async fn pending_inbox(&self, now: Timestamp, limit: i64) -> StoreResult<Vec<InboxItem>> {
        crate::sqlite_writer::pending_inbox(&self.writer, now, limit).await
    }

    async fn inbox_attempt_failed(
        &self,
        id: Id,
        error: &str,
        retry_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<InboxFailure> {
        self.tracked(crate::sqlite_writer::inbox_attempt_failed(
            &self.writer,
            id,
            error,
            retry_at,
            now,
        ))
        .await
    }

    async fn oldest_unprocessed_inbox_at(&self) -> StoreResult<Option<Timestamp>> {
        crate::sqlite_writer::oldest_unprocessed_inbox_at(&self.writer).await
    }

    async fn next_inbox_attempt_at(&self) -> StoreResult<Option<Timestamp>> {
        crate::sqlite_writer::next_inbox_attempt_at(&self.writer).await
    }

    async fn failed_inbox(&self, limit: i64) -> StoreResult<Vec<FailedInboxItem>> {
        crate::sqlite_writer::failed_inbox(&self.reader, limit).await
    }

    async fn retry_inbox_now(&self, id: Id) -> StoreResult<bool> {
        crate::sqlite_writer::retry_inbox_now(&self.writer, id).await
    }

    async fn upsert_contact(
        &self,
        channel_id: Id,
        address: &str,
        name: Option<&str>,
        inbound_at: Option<Timestamp>,
    ) -> StoreResult<Contact> {
        let upsert = ContactUpsert {
            address: address.to_owned(),
            name: name.map(str::to_owned),
            inbound_at,
        };
        upsert_contact(&self.writer, channel_id, &upsert).await
    }

    async fn contact_by_address(
        &self,
        channel_id: Id,
        address: &str,
    ) -> StoreResult<Option<Contact>> {
        let row = sqlx::query("SELECT id, channel_id, address, name, NULLIF(last_inbound_at, 0) AS last_inbound_at FROM contacts WHERE channel_id = ? AND address = ?")
            .bind(channel_id)
            .bind(address)
            .fetch_optional(&self.writer)
            .await?;
        row.as_ref().map(|r| contact(r, "")).transpose()
    }

    async fn inbound_exists(&self, channel_id: Id, provider_id: &str) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM messages WHERE channel_id = ? AND provider_id = ? AND direction = 'in'",
        )
        .bind(channel_id)
        .bind(provider_id)
        .fetch_optional(&self.writer)
        .await?;
        Ok(found.is_some())
    }

    async fn inbound_existing(
        &self,
        channel_id: Id,
        provider_ids: &[String],
    ) -> StoreResult<Vec<String>> {
        if provider_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_scalar(
            "SELECT provider_id FROM messages WHERE channel_id = ? AND direction = 'in' \
             AND provider_id IN (SELECT value FROM json_each(?))",
        )
        .bind(channel_id)
        .bind(Value::from(provider_ids.to_vec()).to_string())
        .fetch_all(&self.reader)
        .await?)
    }

    async fn contacts_by_address(
        &self,
        channel_id: Id,
        addresses: &[String],
    ) -> StoreResult<Vec<Contact>> {
        if addresses.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT id, channel_id, address, name, NULLIF(last_inbound_at, 0) AS last_inbound_at FROM contacts \
             WHERE channel_id = ? AND address IN (SELECT value FROM json_each(?))",
        )
        .bind(channel_id)
        .bind(Value::from(addresses.to_vec()).to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(|r| contact(r, "")).collect()
    }

    async fn open_conversations_after(
        &self,
        channel_id: Id,
        after_id: Id,
        limit: i64,
    ) -> StoreResult<Vec<ConversationRecord>> {
        let sql = format!(
            "{CONVERSATION_SELECT} WHERE c.channel_id = ? AND c.status = 'open' AND c.id > ? ORDER BY c.id LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(channel_id)
            .bind(after_id)
            .bind(limit)
            .fetch_all(&self.writer)
            .await?;
        self.with_observers(&self.writer, &rows).await
    }

    async fn settling(&self) -> StoreResult<Vec<Settling>> {
        let rows = sqlx::query(
            "SELECT channel_id, after_id, changed_at, employee_id FROM settings_backlog ORDER BY channel_id",
        )
        .fetch_all(&self.writer)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Settling {
                    channel_id: r.try_get("channel_id")?,
                    after_id: r.try_get("after_id")?,
                    changed_at: ts(r.try_get("changed_at")?)?,
                    employee_id: r.try_get("employee_id")?,
                })
            })
            .collect()
    }

    async fn latest_conversations(
        &self,
        channel_id: Id,
        contact_ids: &[Id],
    ) -> StoreResult<Vec<ConversationRecord>> {
        if contact_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{CONVERSATION_SELECT} WHERE c.id IN (SELECT MAX(id) FROM conversations WHERE channel_id = ? \
             AND contact_id IN (SELECT value FROM json_each(?)) GROUP BY contact_id)"
        );
        let rows = sqlx::query(&sql)
            .bind(channel_id)
            .bind(Value::from(contact_ids.to_vec()).to_string())
            .fetch_all(&self.reader)
            .await?;
        self.with_observers(&self.reader, &rows).await
    }

    async fn latest_conversation(
        &self,
        channel_id: Id,
        contact_id: Id,
    ) -> StoreResult<Option<ConversationRecord>> {
        let sql = format!(
            "{CONVERSATION_SELECT} WHERE c.channel_id = ? AND c.contact_id = ? ORDER BY c.id DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(channel_id)
            .bind(contact_id)
            .fetch_optional(&self.writer)
            .await?;
        self.one_with_observers(row).await
    }

    async fn conversation(&self, id: Id) -> StoreResult<Option<ConversationRecord>> {
        let sql = format!("{CONVERSATION_SELECT} WHERE c.id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.writer)
            .await?;
        self.one_with_observers(row).await
    }

    async fn conversations(&self, f: &ConversationFilter) -> StoreResult<Vec<ConversationRecord>> {
        let sql = format!(
            "{CONVERSATION_SELECT} WHERE (?1 IS NULL OR c.status = ?1) AND (?2 IS NULL OR c.channel_id = ?2) \
             AND (?3 IS NULL OR c.assignee_id = ?3) ORDER BY c.id DESC LIMIT 1000"
        );
        let rows = sqlx::query(&sql)
            .bind(&f.status)
            .bind(f.channel_id)
            .bind(f.assignee_id)
            .fetch_all(&self.reader)
            .await?;
        self.with_observers(&self.reader, &rows).await
    }

    async fn open_conversations(&self, channel_id: Id) -> StoreResult<Vec<ConversationRecord>> {
        let sql = format!(
            "{CONVERSATION_SELECT} WHERE c.channel_id = ? AND c.status = 'open' ORDER BY c.id"
        );
        let rows = sqlx::query(&sql)
            .bind(channel_id)
            .fetch_all(&self.writer)
            .await?;
        self.with_observers(&self.writer, &rows).await
    }

    async fn due_conversations(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<ConversationRecord>> {
        let sql = format!(
            "{CONVERSATION_SELECT} WHERE c.due_at IS NOT NULL AND c.due_at <= ? ORDER BY c.due_at, c.id LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .bind(limit)
            .fetch_all(&self.writer)
            .await?;
        self.with_observers(&self.writer, &rows).await
    }

    async fn next_due_at(&self) -> StoreResult<Option<Timestamp>> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT MIN(due_at) FROM conversations WHERE due_at IS NOT NULL")
                .fetch_one(&self.writer)
                .await?;
        opt_ts(v)
    }

    async fn list_conversations(&self, query: &ConversationQuery) -> StoreResult<ConversationPage> {
        crate::sqlite_conversations::list(&self.reader, query).await
    }

    async fn conversation_extras(
        &self,
        ids: &[Id],
        reader: Id,
    ) -> StoreResult<std::collections::HashMap<Id, ConversationExtras>> {
        crate::sqlite_conversations::extras(&self.reader, ids, reader).await
    }

    async fn mark_read(
        &self,
        conversation_id: Id,
        employee_id: Id,
        message_id: Option<Id>,
    ) -> StoreResult<Option<Id>> {
        crate::sqlite_conversations::mark_read(
            &self.writer,
            conversation_id,
            employee_id,
            message_id,
        )
        .await
    }

    async fn set_labels(&self, conversation_id: Id, labels: &[String]) -> StoreResult<Vec<String>> {
        crate::sqlite_conversations::set_labels(&self.writer, conversation_id, labels).await
    }

    async fn labels(&self, visibility: &crate::Visibility) -> StoreResult<Vec<String>> {
        crate::sqlite_conversations::labels(&self.reader, visibility).await
    }

    async fn remove_observer(&self, conversation_id: Id, employee_id: Id) -> StoreResult<bool> {
        crate::sqlite_conversations::remove_observer(&self.writer, conversation_id, employee_id)
            .await
    }

    async fn observed_conversations(&self, employee_id: Id) -> StoreResult<Vec<Id>> {
        crate::sqlite_conversations::observed(&self.reader, employee_id).await
    }

    async fn commit(&self, commit: Commit) -> StoreResult<CommitResult> {
        self.tracked(async move {
            let now = commit.now;
            let mut tx = self.writer.begin().await?;
            let mut result = CommitResult::default();
            if let Some(s) = &commit.settings {
                sqlx::query("UPDATE channels SET settings = ? WHERE id = ?")
                    .bind(s.new.to_string())
                    .bind(s.channel_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO settings_changes (channel_id, employee_id, at, old, new) VALUES (?, ?, ?, ?, ?)")
                    .bind(s.channel_id)
                    .bind(s.employee_id)
                    .bind(ms(now))
                    .bind(s.old.to_string())
                    .bind(s.new.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            let crm = !commit.conversations.is_empty()
                && crate::sqlite_delivery::crm_active(&mut tx).await?;
            let written =
                crate::sqlite_commit::write_conversations(&mut tx, &commit.conversations, now, crm)
                    .await?;
            result.conversations = written.conversations;
            result.queued = written.queued;
            crate::sqlite_conversations::write_observers(&mut tx, &commit.observers, now).await?;
            for s in &commit.statuses {
                if apply_status(&mut tx, s, now).await? {
                    result.statuses_applied += 1;
                }
            }
            for (id, note) in &commit.inbox_done {
                sqlx::query("UPDATE inbox SET processed_at = ?, result = ? WHERE id = ?")
                    .bind(ms(now))
                    .bind(note)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(s) = &commit.settling {
                write_settling(&mut tx, s).await?;
            }
            for employee in &commit.assigned {
                sqlx::query("UPDATE employees SET last_assigned_at = ? WHERE id = ?")
                    .bind(ms(now))
                    .bind(employee)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(result)
        })
        .await
    }

    async fn messages(&self, conversation_id: Id) -> StoreResult<Vec<Message>> {
        let sql =
            format!("SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ? ORDER BY id");
        let rows = sqlx::query(&sql)
            .bind(conversation_id)
            .fetch_all(&self.reader)
            .await?;
        let mut messages = rows.iter().map(message).collect::<StoreResult<Vec<_>>>()?;
        let sql = format!(
            "SELECT {ATTACHMENT_COLS} FROM attachments WHERE conversation_id = ? ORDER BY id"
        );
        attach(&self.reader, &mut messages, &sql, conversation_id).await?;
        Ok(messages)
    }

    async fn message(&self, id: Id) -> StoreResult<Option<Message>> {
        let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.writer)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut messages = [message(&row)?];
        let sql =
            format!("SELECT {ATTACHMENT_COLS} FROM attachments WHERE message_id = ? ORDER BY id");
        attach(&self.writer, &mut messages, &sql, id).await?;
        let [m] = messages;
        Ok(Some(m))
    }

    async fn events(&self, conversation_id: Id) -> StoreResult<Vec<Event>> {
        let rows = sqlx::query("SELECT id, conversation_id, at, type, rule, outcome, reason, data FROM events WHERE conversation_id = ? ORDER BY id")
            .bind(conversation_id)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(event).collect()
    }

    async fn notifications(
        &self,
        manager_id: Id,
        unread_only: bool,
    ) -> StoreResult<Vec<NotificationRecord>> {
        let rows = sqlx::query(
            "SELECT n.id, n.conversation_id, c.contact_id, n.reason, n.employee_id, n.manager_id, n.wait_started_at, \
             n.waited_seconds, n.text, n.created_at, n.read_at FROM notifications n JOIN conversations c ON c.id = n.conversation_id \
             WHERE n.manager_id = ? AND (? = 0 OR n.read_at IS NULL) ORDER BY n.id DESC LIMIT 1000",
        )
        .bind(manager_id)
        .bind(unread_only)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(notification).collect()
    }

    async fn mark_notification_read(
        &self,
        id: Id,
        manager_id: Id,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE notifications SET read_at = COALESCE(read_at, ?) WHERE id = ? AND manager_id = ?")
            .bind(ms(now))
            .bind(id)
            .bind(manager_id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn recover_inflight(&self, now: Timestamp) -> StoreResult<u64> {
        self.tracked_when(async move {
            let mut tx = self.writer.begin().await?;
            let error = "delivery unknown";
            // An outbound file not uploaded yet: the send never started, so it is safe to send.
            sqlx::query(
                "UPDATE outbox SET state = 'pending' WHERE state = 'inflight' AND EXISTS (SELECT 1 FROM attachments a \
                 WHERE a.message_id = outbox.message_id AND a.direction = 'out' AND a.provider_media_id IS NULL)",
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE messages SET status = 'failed', error = ?, retry_at = NULL, delivery_unknown = 1, updated_at = ? \
                         WHERE id IN (SELECT message_id FROM outbox WHERE state = 'inflight') AND status = 'queued'")
                .bind(error)
                .bind(ms(now))
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query(
                "UPDATE outbox SET state = 'failed', last_error = ? WHERE state = 'inflight'",
            )
            .bind(error)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(done.rows_affected())
        }, |rows| *rows > 0)
        .await
    }

    async fn claim_outbox(
        &self,
        now: Timestamp,
        limit: i64,
        gate: &mut dyn SendGate,
    ) -> StoreResult<Vec<OutboxJob>> {
        let closed = Value::from(gate.closed()).to_string();
        self.tracked_when(async move {
            let mut tx = self.writer.begin().await?;
            let rows = sqlx::query(
                &format!(
                    "SELECT o.id AS outbox_id, o.message_id, o.channel_id, o.attempts, k.address, k.name AS contact_name FROM outbox o \
                     JOIN channels ch ON ch.id = o.channel_id JOIN messages m ON m.id = o.message_id \
                     JOIN conversations c ON c.id = m.conversation_id JOIN contacts k ON k.id = c.contact_id \
                     WHERE o.state = 'pending' AND o.next_attempt_at <= ? AND ch.status = 'active' AND ch.deleted = 0 \
                     AND o.channel_id NOT IN (SELECT value FROM json_each(?)) AND {OUTBOX_HEAD_OF_LINE} \
                     ORDER BY o.next_attempt_at, o.id LIMIT ?"
                ),
            )
            .bind(ms(now))
            .bind(&closed)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            // The candidates' channels, then the rows the gate admits, in due order.
            let mut channel_ids: Vec<Id> = rows.iter().map(|r| r.try_get("channel_id")).collect::<Result<_, _>>()?;
            channel_ids.sort_unstable();
            channel_ids.dedup();
            let sql = format!("SELECT {CHANNEL_COLS} FROM channels WHERE id IN (SELECT value FROM json_each(?))");
            let channels: std::collections::HashMap<Id, Channel> = sqlx::query(&sql)
                .bind(Value::from(channel_ids).to_string())
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| channel(r).map(|c| (c.id, c)))
                .collect::<StoreResult<_>>()?;
            let mut admitted = Vec::with_capacity(rows.len());
            for row in rows {
                let channel_id: Id = row.try_get("channel_id")?;
                let ch = channels.get(&channel_id).ok_or(StoreError::NotFound)?;
                if gate.admit(ch) {
                    admitted.push(row);
                }
            }
            if admitted.is_empty() {
                return Ok(Vec::new());
            }
            // The claimed rows and their messages (with attachments): one statement each.
            let ids: Vec<Id> = admitted.iter().map(|r| r.try_get("outbox_id")).collect::<Result<_, _>>()?;
            let message_ids: Vec<Id> = admitted.iter().map(|r| r.try_get("message_id")).collect::<Result<_, _>>()?;
            let ids_json = Value::from(ids).to_string();
            let message_ids_json = Value::from(message_ids).to_string();
            sqlx::query(
                "UPDATE outbox SET state = 'inflight', attempts = attempts + 1 WHERE id IN (SELECT value FROM json_each(?))",
            )
            .bind(&ids_json)
            .execute(&mut *tx)
            .await?;
            let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE id IN (SELECT value FROM json_each(?))");
            let mut messages = sqlx::query(&sql)
                .bind(&message_ids_json)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(message)
                .collect::<StoreResult<Vec<_>>>()?;
            let sql = format!(
                "SELECT {ATTACHMENT_COLS} FROM attachments WHERE message_id IN (SELECT value FROM json_each(?)) ORDER BY id"
            );
            attach_json(&mut *tx, &mut messages, &sql, &message_ids_json).await?;
            let mut by_id: std::collections::HashMap<Id, Message> =
                messages.into_iter().map(|m| (m.id, m)).collect();
            let mut jobs = Vec::with_capacity(admitted.len());
            for row in admitted {
                let message_id: Id = row.try_get("message_id")?;
                let channel_id: Id = row.try_get("channel_id")?;
                jobs.push(OutboxJob {
                    id: row.try_get("outbox_id")?,
                    attempts: row.try_get("attempts")?,
                    message: by_id.remove(&message_id).ok_or(StoreError::NotFound)?,
                    channel: channels.get(&channel_id).cloned().ok_or(StoreError::NotFound)?,
                    contact_address: row.try_get("address")?,
                    contact_name: row.try_get("contact_name")?,
                });
            }
            tx.commit().await?;
            Ok(jobs)
        }, |jobs| !jobs.is_empty())
        .await
    }

    async fn finish_outbox(
        &self,
        outbox_id: Id,
        outcome: OutboxOutcome,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.tracked(async move {
            let mut tx = self.writer.begin().await?;
            if !finish_one(&mut tx, outbox_id, &outcome, now).await? {
                return Err(StoreError::NotFound);
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn finish_outbox_many(
        &self,
        outcomes: &[(Id, OutboxOutcome)],
        now: Timestamp,
    ) -> StoreResult<Vec<bool>> {
        self.tracked(async move {
            let mut tx = self.writer.begin().await?;
            let mut found = Vec::with_capacity(outcomes.len());
            for (outbox_id, outcome) in outcomes {
                found.push(finish_one(&mut tx, *outbox_id, outcome, now).await?);
            }
            tx.commit().await?;
            Ok(found)
        })
        .await
    }

    async fn next_outbox_at(&self, closed: &[Id]) -> StoreResult<Option<Timestamp>> {
        let v: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT o.next_attempt_at FROM outbox o JOIN channels ch ON ch.id = o.channel_id \
                 WHERE o.state = 'pending' AND ch.status = 'active' AND ch.deleted = 0 \
                 AND o.channel_id NOT IN (SELECT value FROM json_each(?)) \
                 AND {OUTBOX_HEAD_OF_LINE} ORDER BY o.next_attempt_at LIMIT 1"
        ))
        .bind(Value::from(closed.to_vec()).to_string())
        .fetch_optional(&self.writer)
        .await?;
        opt_ts(v)
    }

    async fn gauges(&self) -> StoreResult<Gauges> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'inflight')) AS outbox_depth, \
             (SELECT COUNT(*) FROM conversations WHERE due_at IS NOT NULL) AS pending_deadlines, \
             (SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL) AS inbox_pending, \
             (SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL AND attempts >= ?) AS inbox_failed",
        )
        .bind(INBOX_FAILING_AFTER)
        .fetch_one(&self.reader)
        .await?;
        Ok(Gauges {
            outbox_depth: row.try_get("outbox_depth")?,
            pending_deadlines: row.try_get("pending_deadlines")?,
            inbox_pending: row.try_get("inbox_pending")?,
            inbox_failed: row.try_get("inbox_failed")?,
        })
    }

    async fn create_session_token(
        &self,
        employee_id: Id,
        token_hash: &str,
        label: Option<&str>,
        now: Timestamp,
        idle_timeout_seconds: i64,
        max_age_seconds: i64,
    ) -> StoreResult<TokenInfo> {
        let sql = format!(
            "INSERT INTO tokens (hash, employee_id, label, created_at, expires_at, idle_timeout_ms) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING {TOKEN_COLS}"
        );
        let row = sqlx::query(&sql)
            .bind(token_hash)
            .bind(employee_id)
            .bind(label)
            .bind(ms(now))
            .bind(ms(now).saturating_add(max_age_seconds.saturating_mul(1000)))
            .bind(idle_timeout_seconds.saturating_mul(1000))
            .fetch_one(&self.writer)
            .await
            .map_err(conflict)?;
        token_info(&row)
    }

    async fn authenticate_at(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<(Employee, TokenInfo)>> {
        let row = sqlx::query(&authenticate_sql("t.hash = ?", true))
            .bind(token_hash)
            .bind(ms(now))
            .bind(ms(now))
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(authenticated).transpose()
    }

    async fn authenticate_token_id(
        &self,
        token_id: Id,
        now: Timestamp,
    ) -> StoreResult<Option<(Employee, TokenInfo)>> {
        let row = sqlx::query(&authenticate_sql("t.id = ?", true))
            .bind(token_id)
            .bind(ms(now))
            .bind(ms(now))
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(authenticated).transpose()
    }

    async fn update_employee_keeping_token(
        &self,
        id: Id,
        patch: EmployeePatch,
        keep_token: Option<Id>,
    ) -> StoreResult<Employee> {
        self.write_employee(id, patch, keep_token).await
    }
}

impl SqliteStore {
    async fn access_create_token(
        &self,
        employee_id: Id,
        token_hash: &str,
        label: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<TokenInfo> {
        let sql = format!(
            "INSERT INTO tokens (hash, employee_id, label, created_at) VALUES (?, ?, ?, ?) RETURNING {TOKEN_COLS}"
        );
        let row = sqlx::query(&sql)
            .bind(token_hash)
            .bind(employee_id)
            .bind(label)
            .bind(ms(now))
            .fetch_one(&self.writer)
            .await
            .map_err(conflict)?;
        token_info(&row)
    }

    async fn employee_on(&self, pool: &SqlitePool, id: Id) -> StoreResult<Option<Employee>> {
        let sql = format!("SELECT {EMPLOYEE_COLS} FROM employees WHERE id = ?");
        let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
        row.as_ref().map(employee).transpose()
    }

    async fn channel_on(&self, pool: &SqlitePool, id: Id) -> StoreResult<Option<Channel>> {
        let sql = format!("SELECT {CHANNEL_COLS} FROM channels WHERE id = ? AND deleted = 0");
        let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
        row.as_ref().map(channel).transpose()
    }
}

/// The `SELECT` of [`Store::authenticate`] and its siblings: the active employee
/// and the token matching `key` (`t.hash = ?` or `t.id = ?`); with `alive`, only
/// a token that has not expired at the two bound instants ([`TOKEN_ALIVE`]).
fn authenticate_sql(key: &str, alive: bool) -> String {
    let cols = EMPLOYEE_COLS
        .split(", ")
        .map(|c| format!("e.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let alive = if alive {
        format!(" AND {TOKEN_ALIVE}")
    } else {
        String::new()
    };
    format!(
        "SELECT {cols}, t.id AS t_id, t.label AS t_label, t.created_at AS t_created_at, t.last_used_at AS t_last_used_at \
         FROM employees e JOIN tokens t ON t.employee_id = e.id WHERE {key} AND e.active = 1{alive}"
    )
}

/// A token is usable at `now` (bound twice) until its absolute end and while
/// its last use (else its creation) is within its idle timeout; NULL is never.
const TOKEN_ALIVE: &str = "(t.expires_at IS NULL OR t.expires_at > ?) \
    AND (t.idle_timeout_ms IS NULL OR COALESCE(t.last_used_at, t.created_at) + t.idle_timeout_ms > ?)";

/// Decodes a row of [`authenticate_sql`].
fn authenticated(row: &SqliteRow) -> StoreResult<(Employee, TokenInfo)> {
    let e = employee(row)?;
    let t = TokenInfo {
        id: row.try_get("t_id")?,
        employee_id: e.id,
        label: row.try_get("t_label")?,
        created_at: ts(row.try_get("t_created_at")?)?,
        last_used_at: opt_ts(row.try_get("t_last_used_at")?)?,
    };
    Ok((e, t))
}

/// The guard of the last admin, as a condition on the employee row being
/// updated (its values before the update) with the new role and active flag
/// bound: the update may not turn the only active admin into anything else.
/// Checked by the `UPDATE` itself, so two concurrent demotions cannot both pass.
const KEEPS_AN_ADMIN: &str = "NOT (role = 'admin' AND active = 1 AND NOT (? = 'admin' AND ? = 1) \
    AND (SELECT COUNT(*) FROM employees WHERE role = 'admin' AND active = 1) <= 1)";

/// Why [`KEEPS_AN_ADMIN`] refused an update.
const LAST_ADMIN: &str = "the last active admin must stay an admin";

/// Applies the set fields of a patch.
fn apply_employee_patch(e: &mut Employee, p: EmployeePatch) {
    if let Some(v) = p.email {
        e.email = v;
    }
    if let Some(v) = p.name {
        e.name = v;
    }
    if let Some(v) = p.display_name {
        e.display_name = v;
    }
    if let Some(v) = p.role {
        e.role = v;
    }
    if let Some(v) = p.manager_id {
        e.manager_id = v;
    }
    if let Some(v) = p.password_hash {
        e.password_hash = Some(v);
    }
    if let Some(v) = p.telegram_chat_id {
        e.telegram_chat_id = v;
    }
    if let Some(v) = p.active {
        e.active = v;
    }
}

impl SqliteStore {
    /// Updates an employee in one transaction: refuses to leave no active admin
    /// (409), revokes every token of a deactivated employee, and on a password
    /// change every token but `keep_token`.
    async fn write_employee(
        &self,
        id: Id,
        p: EmployeePatch,
        keep_token: Option<Id>,
    ) -> StoreResult<Employee> {
        let mut tx = self.writer.begin().await?;
        let sql = format!("SELECT {EMPLOYEE_COLS} FROM employees WHERE id = ?");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *tx).await?;
        let mut e = row
            .as_ref()
            .map(employee)
            .transpose()?
            .ok_or(StoreError::NotFound)?;
        let password_changed = p.password_hash.is_some();
        apply_employee_patch(&mut e, p);
        let sql = format!(
            "UPDATE employees SET email = ?, name = ?, display_name = ?, role = ?, manager_id = ?, password_hash = ?, \
             telegram_chat_id = ?, active = ? WHERE id = ? AND {KEEPS_AN_ADMIN}"
        );
        let done = sqlx::query(&sql)
            .bind(&e.email)
            .bind(&e.name)
            .bind(&e.display_name)
            .bind(&e.role)
            .bind(e.manager_id)
            .bind(&e.password_hash)
            .bind(&e.telegram_chat_id)
            .bind(e.active)
            .bind(id)
            .bind(&e.role)
            .bind(e.active)
            .execute(&mut *tx)
            .await
            .map_err(conflict)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(LAST_ADMIN.into()));
        }
        if !e.active || password_changed {
            let keep = if e.active { keep_token } else { None };
            sqlx::query("DELETE FROM tokens WHERE employee_id = ? AND id IS NOT ?")
                .bind(id)
                .bind(keep)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(e)
    }
}

impl SqliteStore {
    /// Decodes conversation rows and loads their observers (one more query).
    async fn with_observers(
        &self,
        pool: &SqlitePool,
        rows: &[SqliteRow],
    ) -> StoreResult<Vec<ConversationRecord>> {
        let mut records = rows
            .iter()
            .map(conversation)
            .collect::<StoreResult<Vec<_>>>()?;
        crate::sqlite_conversations::fill_observers(pool, &mut records).await?;
        Ok(records)
    }

    /// Decodes an optional conversation row with its observers (read on the writer).
    async fn one_with_observers(
        &self,
        row: Option<SqliteRow>,
    ) -> StoreResult<Option<ConversationRecord>> {
        let rows: Vec<SqliteRow> = row.into_iter().collect();
        Ok(self.with_observers(&self.writer, &rows).await?.pop())
    }

    /// The single-connection writer pool (delivery queries read their own writes).
    pub(crate) fn writer_pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// The reader pool (WAL readers see every committed write): listings and searches.
    pub(crate) fn reader_pool(&self) -> &SqlitePool {
        &self.reader
    }
}

/// Inserts webhook bodies in one transaction and notes each channel's last webhook.
async fn append_inbox_rows(
    conn: &mut sqlx::SqliteConnection,
    items: &[InboxAppend],
) -> StoreResult<()> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    for chunk in items.chunks(256) {
        let mut insert =
            sqlx::QueryBuilder::<Sqlite>::new("INSERT INTO inbox (channel_id, body, received_at) ");
        insert.push_values(chunk, |mut row, item| {
            row.push_bind(item.channel_id)
                .push_bind(&item.body)
                .push_bind(ms(item.received_at));
        });
        insert.build().execute(&mut *tx).await?;
    }
    let mut latest: Vec<(Id, Timestamp)> = Vec::new();
    for item in items {
        match latest.iter_mut().find(|(id, _)| *id == item.channel_id) {
            Some((_, at)) => *at = (*at).max(item.received_at),
            None => latest.push((item.channel_id, item.received_at)),
        }
    }
    for (channel_id, at) in latest {
        sqlx::query("UPDATE channels SET last_webhook_at = MAX(COALESCE(last_webhook_at, 0), ?) WHERE id = ?")
            .bind(ms(at))
            .bind(channel_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
