//! The SQLite writer's safety net and the inbox retry bookkeeping.
//!
//! - **A writer connection is never reused in a bad state.** When a statement
//!   fails with `SQLITE_FULL` (or an I/O error) SQLite may roll the transaction
//!   back by itself; sqlx's own `ROLLBACK` then fails and its transaction depth
//!   stays at 1, so every later `begin` opens a savepoint and every "commit"
//!   only releases it: nothing reaches the disk again. Every time the writer
//!   connection goes back to the pool, [`writer_is_reusable`] proves SQLite is
//!   in autocommit mode and sqlx agrees; otherwise the pool closes the
//!   connection (SQLite rolls back whatever was open) and opens a fresh one.
//! - **Writer health** ([`WriterHealth`]): consecutive storage failures and
//!   since when, for `/healthz` and the watchdog that restarts a process whose
//!   writer cannot recover.
//! - **Owner-only files**: the database, its `-wal`/`-shm` and the directories
//!   the store creates are `0600`/`0700` whatever the umask.
//! - **Inbox retries**: failed rows keep their error, attempt count and next
//!   attempt; they are retried with backoff and never dropped.

use crate::model::{FailedInboxItem, INBOX_FAILING_AFTER, InboxFailure, InboxItem, WriterStatus};
use crate::sqlite::{ms, opt_ts, ts};
use crate::{StoreError, StoreResult};
use jiff::Timestamp;
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::{Connection as _, Row};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Instant;

/// A boxed future borrowing the connection (what sqlx's pool hooks return).
pub(crate) type HookFuture<'c> =
    Pin<Box<dyn Future<Output = Result<bool, sqlx::Error>> + Send + 'c>>;

/// The pool's `after_release` hook for the writer: keeps the connection only
/// when SQLite is in autocommit mode and sqlx tracks no open transaction.
pub(crate) fn writer_is_reusable(conn: &mut SqliteConnection) -> HookFuture<'_> {
    Box::pin(async move {
        // SQLite refuses to change the safety level inside a transaction (it
        // checks its autocommit flag, as sqlite3_get_autocommit does), so this
        // proves no transaction is open and, on the way, resets the level an
        // inbox append raised to FULL. It runs after any rollback a dropped
        // transaction queued, so it sees the final state.
        if let Err(err) = sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(&mut *conn)
            .await
        {
            tracing::warn!(%err, "writer connection discarded: still inside a transaction after an error");
            return Ok(false);
        }
        if conn.is_in_transaction() {
            tracing::warn!(
                "writer connection discarded: its transaction bookkeeping is out of step with SQLite after an error"
            );
            return Ok(false);
        }
        Ok(true)
    })
}

/// Consecutive storage failures of the writer since its last success.
#[derive(Debug, Default)]
pub(crate) struct WriterHealth {
    state: Mutex<HealthState>,
}

#[derive(Debug, Default)]
struct HealthState {
    consecutive_failures: u64,
    failing_since: Option<Instant>,
    last_error: Option<String>,
}

impl WriterHealth {
    /// Records the outcome of a write; errors that are not storage failures
    /// (a constraint, a missing row) say nothing about the writer.
    pub(crate) fn record<T>(&self, result: &StoreResult<T>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(_) => {
                if state.consecutive_failures > 0 {
                    tracing::info!(
                        failures = state.consecutive_failures,
                        "database writes succeed again"
                    );
                }
                *state = HealthState::default();
            }
            Err(err) if err.is_storage_failure() => {
                state.consecutive_failures += 1;
                state.failing_since.get_or_insert_with(Instant::now);
                state.last_error = Some(err.to_string());
            }
            Err(_) => {}
        }
    }

    /// A snapshot.
    pub(crate) fn status(&self) -> WriterStatus {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        WriterStatus {
            consecutive_failures: state.consecutive_failures,
            failing_for: state.failing_since.map(|since| since.elapsed()),
            last_error: state.last_error.clone(),
        }
    }
}

/// Bytes the health probe writes: a small transaction that needs real space.
const PROBE_PAD: i64 = 4096;

/// The health check's write: one probe row rewritten in a committed transaction.
pub(crate) async fn probe(writer: &SqlitePool) -> StoreResult<()> {
    let mut tx = writer.begin().await?;
    sqlx::query(
        "INSERT INTO writer_probe (id, n, pad) VALUES (1, 1, zeroblob(?1)) \
         ON CONFLICT (id) DO UPDATE SET n = n + 1, pad = zeroblob(?1)",
    )
    .bind(PROBE_PAD)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

fn io(err: std::io::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Io(err))
}

/// Creates the database's directory (`0700`) and an empty database file
/// (`0600`) before SQLite opens it, whatever the umask; tightens an existing
/// file that others could read (it holds provider tokens and app secrets).
pub(crate) fn prepare_database_file(path: &Path) -> StoreResult<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir).map_err(io)?;
    }
    create_private_file(path).map_err(io)?;
    tighten(path);
    Ok(())
}

/// Tightens the `-wal` and `-shm` files SQLite created next to the database.
pub(crate) fn tighten_sidecars(path: &Path) {
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        tighten(Path::new(&name));
    }
}

/// Creates `dir` and its missing parents owner-only (`0700`).
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err),
    }
}

/// Removes group and other permissions from an existing file.
#[cfg(unix)]
fn tighten(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let mode = meta.permissions().mode();
    if mode & 0o077 == 0 {
        return;
    }
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700)) {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            "database file was readable by others; made owner-only"
        ),
        Err(err) => {
            tracing::error!(%err, path = %path.display(), "cannot make the database file owner-only")
        }
    }
}

#[cfg(not(unix))]
fn tighten(_path: &Path) {}

/// Unprocessed rows due at `now`, oldest first.
pub(crate) async fn pending_inbox(
    writer: &SqlitePool,
    now: Timestamp,
    limit: i64,
) -> StoreResult<Vec<InboxItem>> {
    let rows = sqlx::query(
        "SELECT id, channel_id, body, received_at, attempts FROM inbox \
         WHERE processed_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?) \
         ORDER BY id LIMIT ?",
    )
    .bind(ms(now))
    .bind(limit)
    .fetch_all(writer)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(InboxItem {
                id: r.try_get("id")?,
                channel_id: r.try_get("channel_id")?,
                body: r.try_get("body")?,
                received_at: ts(r.try_get("received_at")?)?,
                attempts: r.try_get("attempts")?,
            })
        })
        .collect()
}

/// The longest error text kept per row.
const MAX_ERROR_CHARS: usize = 2000;

/// Counts a failed attempt, keeps the error and the next attempt.
pub(crate) async fn inbox_attempt_failed(
    writer: &SqlitePool,
    id: i64,
    error: &str,
    retry_at: Timestamp,
    now: Timestamp,
) -> StoreResult<InboxFailure> {
    let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
    let mut tx = writer.begin().await?;
    let was_failing: Option<i64> = sqlx::query_scalar(
        "SELECT failing_since IS NOT NULL FROM inbox WHERE id = ? AND processed_at IS NULL",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(was_failing) = was_failing else {
        return Err(StoreError::NotFound);
    };
    let row = sqlx::query(
        "UPDATE inbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, \
         failing_since = CASE WHEN failing_since IS NULL AND attempts + 1 >= ? THEN ? ELSE failing_since END \
         WHERE id = ? RETURNING attempts, failing_since IS NOT NULL AS failing",
    )
    .bind(&error)
    .bind(ms(retry_at))
    .bind(INBOX_FAILING_AFTER)
    .bind(ms(now))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let failing: bool = row.try_get("failing")?;
    Ok(InboxFailure {
        attempts: row.try_get("attempts")?,
        newly_failing: failing && was_failing == 0,
    })
}

/// The earliest scheduled retry of an unprocessed row.
pub(crate) async fn next_inbox_attempt_at(writer: &SqlitePool) -> StoreResult<Option<Timestamp>> {
    let at: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(next_attempt_at) FROM inbox WHERE processed_at IS NULL AND attempts > 0",
    )
    .fetch_one(writer)
    .await?;
    opt_ts(at)
}

/// The arrival of the oldest unprocessed row not attempted yet (index `inbox_unprocessed`).
pub(crate) async fn oldest_unprocessed_inbox_at(
    writer: &SqlitePool,
) -> StoreResult<Option<Timestamp>> {
    let at: Option<i64> = sqlx::query_scalar(
        "SELECT received_at FROM inbox WHERE processed_at IS NULL AND attempts = 0 ORDER BY id LIMIT 1",
    )
    .fetch_optional(writer)
    .await?;
    opt_ts(at)
}

/// Unprocessed rows that keep failing, oldest first.
pub(crate) async fn failed_inbox(
    reader: &SqlitePool,
    limit: i64,
) -> StoreResult<Vec<FailedInboxItem>> {
    let rows = sqlx::query(
        "SELECT id, channel_id, received_at, attempts, last_error, next_attempt_at, failing_since \
         FROM inbox WHERE processed_at IS NULL AND attempts >= ? ORDER BY id LIMIT ?",
    )
    .bind(INBOX_FAILING_AFTER)
    .bind(limit)
    .fetch_all(reader)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(FailedInboxItem {
                id: r.try_get("id")?,
                channel_id: r.try_get("channel_id")?,
                received_at: ts(r.try_get("received_at")?)?,
                attempts: r.try_get("attempts")?,
                last_error: r.try_get("last_error")?,
                next_attempt_at: opt_ts(r.try_get("next_attempt_at")?)?,
                failing_since: opt_ts(r.try_get("failing_since")?)?,
            })
        })
        .collect()
}

/// Makes a failing, unprocessed row due now.
pub(crate) async fn retry_inbox_now(writer: &SqlitePool, id: i64) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE inbox SET next_attempt_at = NULL WHERE id = ? AND processed_at IS NULL AND attempts >= ?",
    )
    .bind(id)
    .bind(INBOX_FAILING_AFTER)
    .execute(writer)
    .await?;
    Ok(done.rows_affected() > 0)
}
