//! Durability contracts of the SQLite store: failed inbox rows are retried and
//! listed, never dropped; the health check writes; files are owner-only.

mod support;

use replyline_store::*;
use support::t;

async fn store_with_channel(dir: &std::path::Path) -> (std::sync::Arc<dyn Store>, Id) {
    support::store_with_channel(dir, "data/replyline.db").await
}

fn body(channel: Id, text: &str) -> InboxAppend {
    InboxAppend {
        channel_id: channel,
        body: text.as_bytes().to_vec(),
        received_at: t(0),
    }
}

#[tokio::test]
async fn a_failing_inbox_row_is_retried_with_backoff_listed_and_never_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (store, channel) = store_with_channel(dir.path()).await;
    store
        .append_inbox(&[body(channel, "a"), body(channel, "b")])
        .await
        .unwrap();
    let rows = store.pending_inbox(t(0), 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    let (a, b) = (rows[0].id, rows[1].id);

    // Attempts 1 and 2: retried later, not failing yet.
    for (n, retry) in [(1, 1), (2, 3)] {
        let failure = store
            .inbox_attempt_failed(a, "FOREIGN KEY constraint failed", t(retry), t(retry - 1))
            .await
            .unwrap();
        assert_eq!(
            failure,
            InboxFailure {
                attempts: n,
                newly_failing: false
            }
        );
    }
    let due: Vec<Id> = store
        .pending_inbox(t(2), 10)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(
        due,
        vec![b],
        "a row waits for its retry; the rows behind it go on"
    );
    assert_eq!(store.next_inbox_attempt_at().await.unwrap(), Some(t(3)));
    assert!(store.failed_inbox(10).await.unwrap().is_empty());

    // The third failure makes it failing: once.
    let third = store
        .inbox_attempt_failed(a, "FOREIGN KEY constraint failed", t(60), t(3))
        .await
        .unwrap();
    assert!(third.newly_failing);
    let fourth = store
        .inbox_attempt_failed(a, "still failing", t(600), t(60))
        .await
        .unwrap();
    assert_eq!(fourth.attempts, 4);
    assert!(!fourth.newly_failing, "the alert is raised once per row");
    let failed = store.failed_inbox(10).await.unwrap();
    assert_eq!(
        failed,
        vec![FailedInboxItem {
            id: a,
            channel_id: channel,
            received_at: t(0),
            attempts: 4,
            last_error: Some("still failing".into()),
            next_attempt_at: Some(t(600)),
            failing_since: Some(t(3)),
        }]
    );
    assert_eq!(store.gauges().await.unwrap().inbox_failed, 1);
    let pending = store.pending_inbox(t(600), 10).await.unwrap();
    assert_eq!(pending[0].id, a, "still retried, never dropped");
    assert_eq!(pending[0].attempts, 4);

    // Retry now: due at once; unknown or healthy rows answer false.
    assert!(store.pending_inbox(t(100), 10).await.unwrap()[0].id != a);
    assert!(store.retry_inbox_now(a).await.unwrap());
    assert_eq!(store.pending_inbox(t(100), 10).await.unwrap()[0].id, a);
    assert!(!store.retry_inbox_now(b).await.unwrap());
    assert!(!store.retry_inbox_now(9999).await.unwrap());

    // Success at last: processed, no longer listed.
    let mut done = Commit::new(t(101));
    done.inbox_done = vec![(a, "stored 1".into())];
    store.commit(done).await.unwrap();
    assert!(store.failed_inbox(10).await.unwrap().is_empty());
    assert_eq!(store.gauges().await.unwrap().inbox_failed, 0);
    assert!(matches!(
        store.inbox_attempt_failed(a, "late", t(200), t(101)).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn the_health_check_commits_and_the_writer_status_starts_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_channel(dir.path()).await;
    for _ in 0..3 {
        store.health().await.unwrap();
    }
    assert_eq!(store.writer_status(), WriterStatus::default());
}

#[cfg(unix)]
#[tokio::test]
async fn database_files_and_directories_are_created_owner_only_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    // A permissive directory above: only what the store creates is tightened.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (store, channel) = store_with_channel(dir.path()).await;
    store.append_inbox(&[body(channel, "x")]).await.unwrap();
    let data = dir.path().join("data");
    assert_eq!(mode(&data), 0o700, "the database directory");
    for name in ["replyline.db", "replyline.db-wal", "replyline.db-shm"] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }
    assert_eq!(
        mode(dir.path()),
        0o755,
        "an existing directory is left alone"
    );

    // A database file left readable by an older version is tightened on open.
    drop(store);
    let db = data.join("replyline.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _store = connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    assert_eq!(mode(&db), 0o600);

    let media = dir.path().join("media/a/b");
    private_dir(&media).unwrap();
    assert_eq!(mode(&media), 0o700);
    assert_eq!(mode(&dir.path().join("media")), 0o700);
}

#[tokio::test]
async fn rows_set_aside_by_an_older_version_are_put_back_by_the_migration() {
    use sqlx::Connection as _;
    // A database as version 4 left it: one row "set aside" after three failures.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let url = format!("sqlite://{}", path.display());
    {
        let options = url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .unwrap()
            .create_if_missing(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        for (version, sql) in [
            (1, include_str!("../migrations/0001_initial.sql")),
            (2, include_str!("../migrations/0002_access.sql")),
            (3, include_str!("../migrations/0003_delivery.sql")),
            (4, include_str!("../migrations/0004_routing.sql")),
        ] {
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
            sqlx::query("INSERT INTO schema_migrations VALUES (?, 0)")
                .bind(version)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        sqlx::raw_sql(
            "INSERT INTO channels (id, kind, name, config, settings, created_at) VALUES (1, 'whatsapp', 'wa', '{}', '{}', 0); \
             INSERT INTO inbox (id, channel_id, body, received_at, processed_at, result) VALUES \
               (1, 1, x'7b7d', 5, 6, 'stored 1, duplicates 0, ignored changes 0, statuses 0'), \
               (2, 1, x'7b7d', 7, 8, 'failed: FOREIGN KEY constraint failed')",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    let store = connect(&url).await.unwrap();
    let pending = store.pending_inbox(t(0), 10).await.unwrap();
    assert_eq!(pending.iter().map(|i| i.id).collect::<Vec<_>>(), vec![2]);
    let failed = store.failed_inbox(10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, 2);
    assert_eq!(failed[0].attempts, 3);
    assert_eq!(
        failed[0].last_error.as_deref(),
        Some("FOREIGN KEY constraint failed")
    );
}
