//! A full disk must never leave the writer connection inside a half-dead
//! transaction: after SQLite fails with `SQLITE_FULL`, writes fail cleanly
//! while the disk is full and work again, durably, once space is freed.
//!
//! The test mounts a small tmpfs (root only); where mounting is not permitted
//! it prints why and skips. CI runs as root, so it runs there.

mod support;
#[path = "../../replyline-e2e/src/tmpfs.rs"]
mod tmpfs;

use replyline_store::*;
use support::{open_conversation, t};
use tmpfs::{Tmpfs, fill};

fn inbox(channel: Id, i: usize, size: usize) -> InboxAppend {
    let mut body = format!("{{\"n\":{i},\"pad\":\"").into_bytes();
    body.resize(size, b'x');
    body.extend_from_slice(b"\"}");
    InboxAppend {
        channel_id: channel,
        body,
        received_at: t(i as i64),
    }
}

fn note(channel: Id, contact: Id, text: &str) -> Commit {
    let mut commit = Commit::new(t(1));
    commit.conversations.push(open_conversation(
        channel,
        contact,
        vec![NewMessage {
            direction: "out".into(),
            kind: "note".into(),
            text: Some(text.into()),
            status: "received".into(),
            ..NewMessage::default()
        }],
    ));
    commit
}

#[tokio::test]
async fn after_sqlite_full_the_writer_recovers_and_commits_durably() {
    let fs = match Tmpfs::mount("3m") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("SKIPPED disk-full store test: cannot mount a tmpfs ({why}); run as root");
            return;
        }
    };
    let (store, channel) = support::store_with_channel(fs.path(), "db/replyline.db").await;
    let contact = store
        .upsert_contact(channel, "79001234567", None, Some(t(0)))
        .await
        .unwrap()
        .id;
    store.append_inbox(&[inbox(channel, 0, 100)]).await.unwrap();
    store.health().await.unwrap();

    // Fill the disk, then write until SQLite reports the full disk.
    let filler = fill(fs.path());
    let mut failed = None;
    for i in 1..200 {
        if let Err(err) = store.append_inbox(&[inbox(channel, i, 8_000)]).await {
            failed = Some(err);
            break;
        }
    }
    let err = failed.expect("a full disk makes an inbox append fail");
    eprintln!("first failure on the full disk: {err}");
    assert!(
        store
            .commit(note(channel, contact, "while full"))
            .await
            .is_err(),
        "a commit on a full disk must fail, not pretend"
    );
    assert!(
        store.health().await.is_err(),
        "the health check must notice that the writer cannot commit"
    );

    let status = store.writer_status();
    assert!(
        status.consecutive_failures >= 2 && status.failing_for.is_some(),
        "the writer's failures are counted: {status:?}"
    );

    // Space comes back: every write works again, without a restart.
    std::fs::remove_file(&filler).unwrap();
    store
        .health()
        .await
        .expect("healthy again once space is freed");
    store
        .append_inbox(&[inbox(channel, 1000, 100)])
        .await
        .expect("inbox append after space is freed");
    store
        .commit(note(channel, contact, "after recovery"))
        .await
        .expect("commit after space is freed");
    assert_eq!(store.writer_status(), WriterStatus::default());
    let token_owner = store
        .create_employee(
            NewEmployee {
                email: "a@example.com".into(),
                name: "A".into(),
                role: "admin".into(),
                ..NewEmployee::default()
            },
            t(2),
        )
        .await
        .expect("a write outside a transaction after recovery");

    // What was acknowledged is on disk: a fresh open sees it.
    drop(store);
    let url = format!("sqlite://{}/db/replyline.db", fs.path().display());
    let store = connect(&url).await.unwrap();
    let bodies: Vec<String> = store
        .pending_inbox(t(10_000), 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|i| String::from_utf8_lossy(&i.body).chars().take(12).collect())
        .collect();
    assert!(
        bodies.iter().any(|b| b.starts_with("{\"n\":1000,")),
        "the inbox row appended after recovery is durable: {bodies:?}"
    );
    let conversations = store
        .conversations(&ConversationFilter::default())
        .await
        .unwrap();
    let mut notes = Vec::new();
    for c in &conversations {
        for m in store.messages(c.id).await.unwrap() {
            notes.extend(m.text);
        }
    }
    assert_eq!(
        notes,
        vec!["after recovery".to_owned()],
        "only the commit that succeeded is stored"
    );
    assert!(
        store.employee(token_owner.id).await.unwrap().is_some(),
        "the employee created after recovery is durable"
    );
}
