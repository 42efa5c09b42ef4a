//! Failures a person can see, in the store: a retried send's error and next
//! attempt on the message, the channel's outages (admins told once), and a
//! send in doubt healed by a later status callback.

mod support;

use replyline_store::*;
use std::sync::Arc;
use support::{claim, open_conversation, store_with_channel, t};

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    channel: Id,
    contact: Id,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (store, channel) = store_with_channel(dir.path(), "health.db").await;
    let contact = store
        .upsert_contact(channel, "79001234567", Some("Анна"), Some(t(0)))
        .await
        .unwrap()
        .id;
    Fixture {
        _dir: dir,
        store,
        channel,
        contact,
    }
}

/// Commits a conversation with one queued automatic message; its id.
async fn queued_message(f: &Fixture) -> (Id, Id) {
    let mut c = Commit::new(t(1));
    c.conversations.push(open_conversation(
        f.channel,
        f.contact,
        vec![NewMessage {
            direction: "out".into(),
            kind: "greeting".into(),
            text: Some("hello".into()),
            status: "queued".into(),
            send: true,
            ..NewMessage::default()
        }],
    ));
    let r = f.store.commit(c).await.unwrap();
    (r.conversations[0].0, r.conversations[0].1[0])
}

async fn status(
    f: &Fixture,
    message_id: Option<Id>,
    provider_id: &str,
    status: &str,
    error: Option<&str>,
) {
    let mut c = Commit::new(t(100));
    c.statuses.push(StatusWrite {
        channel_id: f.channel,
        message_id,
        provider_id: provider_id.into(),
        status: status.into(),
        error: error.map(str::to_owned),
    });
    f.store.commit(c).await.unwrap();
}

async fn admin(store: &dyn Store, login: &str, active: bool) -> Id {
    let id = store
        .create_employee(
            NewEmployee {
                email: format!("{login}@example.com"),
                name: login.into(),
                role: "admin".into(),
                ..NewEmployee::default()
            },
            t(0),
        )
        .await
        .unwrap()
        .id;
    if !active {
        store
            .update_employee(
                id,
                EmployeePatch {
                    active: Some(false),
                    ..EmployeePatch::default()
                },
            )
            .await
            .unwrap();
    }
    id
}

#[tokio::test]
async fn a_retried_send_shows_its_error_and_next_attempt_until_it_is_sent() {
    let f = fixture().await;
    let (_, id) = queued_message(&f).await;
    let job = claim(f.store.as_ref(), t(1)).await.remove(0);
    let retry = OutboxOutcome::Retry {
        at: t(60),
        error: "Service unavailable (code 131000)".into(),
    };
    f.store.finish_outbox(job.id, retry, t(2)).await.unwrap();
    let m = f.store.message(id).await.unwrap().unwrap();
    assert_eq!(m.status, "queued");
    assert_eq!(
        m.error.as_deref(),
        Some("Service unavailable (code 131000)")
    );
    assert_eq!(m.retry_at, Some(t(60)));
    assert_eq!(job.contact_name.as_deref(), Some("Анна"));

    let job = claim(f.store.as_ref(), t(60)).await.remove(0);
    let sent = OutboxOutcome::Sent {
        provider_id: "wamid.1".into(),
        template: None,
    };
    f.store.finish_outbox(job.id, sent, t(61)).await.unwrap();
    let m = f.store.message(id).await.unwrap().unwrap();
    assert_eq!(m.status, "sent");
    assert_eq!(m.error, None);
    assert_eq!(m.retry_at, None);
}

#[tokio::test]
async fn a_send_in_doubt_is_healed_by_a_status_for_our_id() {
    let f = fixture().await;
    let (_, id) = queued_message(&f).await;
    claim(f.store.as_ref(), t(1)).await;
    assert_eq!(f.store.recover_inflight(t(2)).await.unwrap(), 1);
    let m = f.store.message(id).await.unwrap().unwrap();
    assert_eq!(m.status, "failed");
    assert!(m.delivery_unknown);
    assert_eq!(m.error.as_deref(), Some("delivery unknown"));

    // «delivered» ranks below «failed», yet it heals a message in doubt.
    status(&f, Some(id), "wamid.late", "delivered", None).await;
    let m = f.store.message(id).await.unwrap().unwrap();
    assert_eq!(m.status, "delivered");
    assert!(!m.delivery_unknown);
    assert_eq!(m.error, None);
    assert_eq!(m.provider_id.as_deref(), Some("wamid.late"));

    // Healed, it follows the usual never-downgrade rule again.
    status(&f, Some(id), "wamid.late", "sent", None).await;
    assert_eq!(
        f.store.message(id).await.unwrap().unwrap().status,
        "delivered"
    );
}

#[tokio::test]
async fn an_unknown_outcome_then_a_real_failure_stays_failed_with_the_providers_error() {
    let f = fixture().await;
    let (_, id) = queued_message(&f).await;
    let job = claim(f.store.as_ref(), t(1)).await.remove(0);
    let unknown = OutboxOutcome::Unknown {
        error: "delivery unknown".into(),
    };
    f.store.finish_outbox(job.id, unknown, t(2)).await.unwrap();
    assert!(f.store.message(id).await.unwrap().unwrap().delivery_unknown);
    status(
        &f,
        Some(id),
        "wamid.x",
        "failed",
        Some("Message undeliverable (code 131026)"),
    )
    .await;
    let m = f.store.message(id).await.unwrap().unwrap();
    assert_eq!(m.status, "failed");
    assert!(!m.delivery_unknown);
    assert_eq!(
        m.error.as_deref(),
        Some("Message undeliverable (code 131026)")
    );
    // Nothing is sent again for it.
    assert!(claim(f.store.as_ref(), t(1000)).await.is_empty());
}

fn failed(error: &str, halting: bool) -> SendHealth {
    SendHealth::Failed {
        error: error.into(),
        halting,
    }
}

#[tokio::test]
async fn three_failures_start_one_outage_and_a_success_ends_it() {
    let f = fixture().await;
    let (conversation, _) = queued_message(&f).await;
    let anna = admin(f.store.as_ref(), "anna", true).await;
    let boris = admin(f.store.as_ref(), "boris", true).await;
    let gone = admin(f.store.as_ref(), "gone", false).await;
    let record = |health: SendHealth, at: i64| {
        let store = f.store.clone();
        let channel = f.channel;
        async move {
            store
                .record_send(channel, conversation, &health, t(at))
                .await
                .unwrap()
        }
    };
    let err = "Service unavailable (code 131000)";
    assert_eq!(record(failed(err, false), 10).await, HealthChange::None);
    // A success in between starts the count again.
    assert_eq!(record(SendHealth::Ok, 11).await, HealthChange::None);
    assert_eq!(record(failed(err, false), 12).await, HealthChange::None);
    assert_eq!(record(failed(err, false), 13).await, HealthChange::None);
    assert_eq!(
        record(failed(err, false), 14).await,
        HealthChange::OutageStarted {
            notified: vec![anna, boris]
        }
    );
    for at in 15..20 {
        assert_eq!(record(failed(err, false), at).await, HealthChange::None);
    }
    let channel = f.store.channel(f.channel).await.unwrap().unwrap();
    assert_eq!(channel.failing_since, Some(t(14)));
    assert_eq!(channel.failing_error.as_deref(), Some(err));
    for who in [anna, boris] {
        let notes = f.store.notifications(who, false).await.unwrap();
        assert_eq!(notes.len(), 1, "one notification per outage: {notes:?}");
        assert_eq!(notes[0].reason, CHANNEL_FAILING);
        assert_eq!(notes[0].conversation_id, conversation);
        assert_eq!(
            notes[0].text.as_deref(),
            Some("Канал «wa» не отправляет сообщения: Service unavailable (code 131000)")
        );
    }
    assert!(f.store.notifications(gone, false).await.unwrap().is_empty());

    assert_eq!(record(SendHealth::Ok, 30).await, HealthChange::OutageEnded);
    assert_eq!(record(SendHealth::Ok, 31).await, HealthChange::None);
    let channel = f.store.channel(f.channel).await.unwrap().unwrap();
    assert_eq!(channel.failing_since, None);
    assert_eq!(channel.failing_error, None);

    // An auth error starts the next outage at once, with a new notification.
    assert!(matches!(
        record(failed("Invalid token (code 190)", true), 40).await,
        HealthChange::OutageStarted { .. }
    ));
    assert_eq!(f.store.notifications(anna, false).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_file_in_flight_but_not_uploaded_at_a_crash_is_sent_again_not_left_in_doubt() {
    let f = fixture().await;
    let mut c = Commit::new(t(1));
    let file = |key: &str| NewMessage {
        direction: "out".into(),
        kind: "employee".into(),
        text: Some(String::new()),
        status: "queued".into(),
        send: true,
        attachment: Some(NewAttachment {
            kind: "image".into(),
            mime_type: Some("image/png".into()),
            file_name: Some("a.png".into()),
            size: Some(3),
            sha256: None,
            provider_media_id: None,
            storage_key: Some(key.into()),
            state: "stored".into(),
        }),
        ..NewMessage::default()
    };
    c.conversations.push(open_conversation(
        f.channel,
        f.contact,
        vec![file("out/1/a")],
    ));
    let r = f.store.commit(c).await.unwrap();
    let id = r.conversations[0].1[0];
    let job = claim(f.store.as_ref(), t(1)).await.remove(0);
    // Crash before the upload finished: nothing went out.
    assert_eq!(f.store.recover_inflight(t(2)).await.unwrap(), 0);
    let m = f.store.message(id).await.unwrap().unwrap();
    assert_eq!(m.status, "queued");
    assert!(!m.delivery_unknown);
    let again = claim(f.store.as_ref(), t(2)).await;
    assert_eq!(again.len(), 1, "claimed again");
    assert_eq!(again[0].id, job.id);
    // Uploaded, then a crash: the send may have gone out.
    let attachment = again[0].message.attachments[0].id;
    f.store
        .set_attachment_provider_media(attachment, "media-1")
        .await
        .unwrap();
    assert_eq!(f.store.recover_inflight(t(3)).await.unwrap(), 1);
    let m = f.store.message(id).await.unwrap().unwrap();
    assert_eq!(m.status, "failed");
    assert!(m.delivery_unknown);
}
