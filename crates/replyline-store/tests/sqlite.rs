//! Store contract tests against a real temporary SQLite file.

mod support;

use jiff::Timestamp;
use replyline_store::*;
use serde_json::json;
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
    let (store, channel) = store_with_channel(dir.path(), "sub/test.db").await;
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

fn conversation(
    f: &Fixture,
    id: Option<Id>,
    due: Option<Timestamp>,
    messages: Vec<NewMessage>,
) -> ConversationWrite {
    ConversationWrite {
        id,
        due_at: due,
        ..open_conversation(f.channel, f.contact, messages)
    }
}

fn inbound(provider_id: &str) -> NewMessage {
    NewMessage {
        direction: "in".into(),
        kind: "client".into(),
        text: Some("hi".into()),
        status: "received".into(),
        provider_id: Some(provider_id.into()),
        ..NewMessage::default()
    }
}

fn outbound() -> NewMessage {
    NewMessage {
        direction: "out".into(),
        kind: "greeting".into(),
        text: Some("hello".into()),
        status: "queued".into(),
        send: true,
        ..NewMessage::default()
    }
}

async fn commit(f: &Fixture, w: ConversationWrite, now: Timestamp) -> CommitResult {
    let mut c = Commit::new(now);
    c.conversations.push(w);
    f.store.commit(c).await.unwrap()
}

#[tokio::test]
async fn inbound_messages_are_deduplicated_by_provider_id() {
    let f = fixture().await;
    commit(
        &f,
        conversation(&f, None, None, vec![inbound("wamid.1")]),
        t(1),
    )
    .await;
    assert!(f.store.inbound_exists(f.channel, "wamid.1").await.unwrap());
    let mut c = Commit::new(t(2));
    c.conversations
        .push(conversation(&f, None, None, vec![inbound("wamid.1")]));
    assert!(matches!(
        f.store.commit(c).await,
        Err(StoreError::Conflict(_))
    ));
}

#[tokio::test]
async fn statuses_never_downgrade() {
    let f = fixture().await;
    let r = commit(&f, conversation(&f, None, None, vec![outbound()]), t(1)).await;
    let id = r.conversations[0].1[0];
    let job = claim(f.store.as_ref(), t(1)).await.remove(0);
    f.store
        .finish_outbox(
            job.id,
            OutboxOutcome::Sent {
                provider_id: "wamid.out".into(),
                template: None,
            },
            t(2),
        )
        .await
        .unwrap();
    for (status, expected) in [
        ("read", "read"),
        ("delivered", "read"),
        ("failed", "read"),
        ("sent", "read"),
    ] {
        let mut c = Commit::new(t(3));
        c.statuses.push(StatusWrite {
            channel_id: f.channel,
            message_id: None,
            provider_id: "wamid.out".into(),
            status: status.into(),
            error: None,
        });
        f.store.commit(c).await.unwrap();
        assert_eq!(f.store.message(id).await.unwrap().unwrap().status, expected);
    }
}

#[tokio::test]
async fn due_conversations_come_earliest_first() {
    let f = fixture().await;
    let late = commit(&f, conversation(&f, None, Some(t(30)), vec![]), t(0))
        .await
        .conversations[0]
        .0;
    let early = commit(&f, conversation(&f, None, Some(t(10)), vec![]), t(0))
        .await
        .conversations[0]
        .0;
    commit(&f, conversation(&f, None, Some(t(99)), vec![]), t(0)).await;
    assert_eq!(f.store.next_due_at().await.unwrap(), Some(t(10)));
    let due: Vec<Id> = f
        .store
        .due_conversations(t(50), 10)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(due, vec![early, late]);
    let cleared = conversation(&f, Some(early), None, vec![]);
    commit(&f, cleared, t(50)).await;
    assert_eq!(f.store.next_due_at().await.unwrap(), Some(t(30)));
}

#[tokio::test]
async fn outbox_rows_are_claimed_once_in_order_and_inflight_rows_are_never_resent() {
    let f = fixture().await;
    commit(
        &f,
        conversation(&f, None, None, vec![outbound(), outbound()]),
        t(1),
    )
    .await;
    // One message per recipient is in flight at a time, oldest first.
    let first = claim(f.store.as_ref(), t(1)).await;
    assert_eq!(first.len(), 1);
    assert!(claim(f.store.as_ref(), t(1)).await.is_empty());
    f.store
        .finish_outbox(
            first[0].id,
            OutboxOutcome::Retry {
                at: t(60),
                error: "503".into(),
            },
            t(2),
        )
        .await
        .unwrap();
    // The second message waits behind the first one's retry.
    assert!(claim(f.store.as_ref(), t(59)).await.is_empty());
    assert_eq!(f.store.next_outbox_at(&[]).await.unwrap(), Some(t(60)));
    let retried = claim(f.store.as_ref(), t(60)).await;
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].id, first[0].id);
    f.store
        .finish_outbox(
            first[0].id,
            OutboxOutcome::Sent {
                provider_id: "wamid.1".into(),
                template: None,
            },
            t(60),
        )
        .await
        .unwrap();
    let second = claim(f.store.as_ref(), t(60)).await;
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].id, first[0].id);
    // The second is in flight: a restart marks it failed instead of resending.
    assert_eq!(f.store.recover_inflight(t(61)).await.unwrap(), 1);
    assert!(claim(f.store.as_ref(), t(1000)).await.is_empty());
    let statuses: Vec<String> = f
        .store
        .messages(second[0].message.conversation_id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.status)
        .collect();
    assert!(statuses.contains(&"sent".to_owned()), "{statuses:?}");
    assert!(statuses.contains(&"failed".to_owned()), "{statuses:?}");
}

async fn employee(store: &dyn Store, login: &str) -> Id {
    let new = NewEmployee {
        email: format!("{login}@example.com"),
        name: login.into(),
        role: "employee".into(),
        ..NewEmployee::default()
    };
    store.create_employee(new, t(0)).await.unwrap().id
}

fn whatsapp(name: &str) -> NewChannel {
    NewChannel {
        kind: "whatsapp".into(),
        name: name.into(),
        config: json!({}),
        settings: json!({}),
    }
}

#[tokio::test]
async fn a_new_channel_queue_starts_with_every_active_employee() {
    let f = fixture().await;
    let ivan = employee(f.store.as_ref(), "ivan").await;
    let olga = employee(f.store.as_ref(), "olga").await;
    let gone = employee(f.store.as_ref(), "gone").await;
    f.store
        .update_employee(
            gone,
            EmployeePatch {
                active: Some(false),
                ..EmployeePatch::default()
            },
        )
        .await
        .unwrap();
    let second = f
        .store
        .create_channel(whatsapp("second"), t(1))
        .await
        .unwrap()
        .id;
    let members: Vec<Id> = f
        .store
        .channel_memberships()
        .await
        .unwrap()
        .into_iter()
        .filter(|(c, _)| *c == second)
        .map(|(_, e)| e)
        .collect();
    assert_eq!(members, vec![ivan, olga]);
    // The fixture's channel was created before anyone existed: its queue is empty.
    assert!(
        f.store
            .channel_memberships()
            .await
            .unwrap()
            .iter()
            .all(|(c, _)| *c != f.channel)
    );
}

#[tokio::test]
async fn groups_and_routing_rules_round_trip() {
    let f = fixture().await;
    let ivan = employee(f.store.as_ref(), "ivan").await;
    let olga = employee(f.store.as_ref(), "olga").await;
    let sales = f
        .store
        .create_group("Отдел продаж", &[olga, ivan, ivan], t(1))
        .await
        .unwrap();
    assert_eq!(sales.employee_ids, vec![ivan, olga]);
    let support = f.store.create_group("Поддержка", &[], t(1)).await.unwrap();
    assert!(matches!(
        f.store.create_group("Поддержка", &[], t(1)).await,
        Err(StoreError::Conflict(_))
    ));
    let renamed = f
        .store
        .update_group(support.id, Some("Сервис"), Some(&[olga]))
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.employee_ids.clone()),
        ("Сервис", vec![olga])
    );
    assert!(matches!(
        f.store.update_group(9999, Some("x"), None).await,
        Err(StoreError::NotFound)
    ));
    let names: Vec<String> = f
        .store
        .groups()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, vec!["Отдел продаж", "Сервис"]);

    let rules = [
        NewRoutingRule {
            keywords: vec!["доставка".into(), "курьер".into()],
            channel_id: Some(f.channel),
            employee_id: None,
            group_id: Some(sales.id),
        },
        NewRoutingRule {
            keywords: vec!["счёт".into()],
            channel_id: None,
            employee_id: Some(ivan),
            group_id: None,
        },
    ];
    let saved = f.store.replace_routing_rules(&rules).await.unwrap();
    assert_eq!(
        saved.iter().map(|r| r.position).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(
        saved.iter().map(|r| r.rule.clone()).collect::<Vec<_>>(),
        rules.to_vec()
    );
    // A group a rule sends chats to cannot be deleted; once the rule is gone it can.
    assert!(matches!(
        f.store.delete_group(sales.id).await,
        Err(StoreError::Conflict(_))
    ));
    let reordered = f
        .store
        .replace_routing_rules(&[rules[1].clone()])
        .await
        .unwrap();
    assert_eq!(reordered.len(), 1);
    assert_eq!(f.store.routing_rules().await.unwrap(), reordered);
    assert!(f.store.delete_group(sales.id).await.unwrap());
    assert!(!f.store.delete_group(sales.id).await.unwrap());
    f.store.set_online(olga, true).await.unwrap();
    let candidates = f.store.group_candidates(renamed.id).await.unwrap();
    assert_eq!(candidates.len(), 1);
    assert_eq!(
        (candidates[0].employee_id, candidates[0].online),
        (olga, true)
    );
}

#[tokio::test]
async fn the_manual_clock_mark_only_moves_forward() {
    let f = fixture().await;
    assert_eq!(f.store.manual_clock().await.unwrap(), None);
    f.store.save_manual_clock(t(100)).await.unwrap();
    f.store.save_manual_clock(t(50)).await.unwrap();
    assert_eq!(f.store.manual_clock().await.unwrap(), Some(t(100)));
    f.store.save_manual_clock(t(101)).await.unwrap();
    assert_eq!(f.store.manual_clock().await.unwrap(), Some(t(101)));
}

#[tokio::test]
async fn deleting_a_channel_drops_the_rules_restricted_to_it() {
    let f = fixture().await;
    let ivan = employee(f.store.as_ref(), "ivan").await;
    let second = f
        .store
        .create_channel(whatsapp("second"), t(1))
        .await
        .unwrap()
        .id;
    let rule = |channel_id: Option<Id>, keyword: &str| NewRoutingRule {
        keywords: vec![keyword.into()],
        channel_id,
        employee_id: Some(ivan),
        group_id: None,
    };
    f.store
        .replace_routing_rules(&[
            rule(None, "a"),
            rule(Some(second), "b"),
            rule(Some(f.channel), "c"),
        ])
        .await
        .unwrap();
    f.store.delete_channel(second).await.unwrap();
    let left: Vec<(i64, String)> = f
        .store
        .routing_rules()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.position, r.rule.keywords[0].clone()))
        .collect();
    assert_eq!(left, vec![(1, "a".to_owned()), (2, "c".to_owned())]);
}

/// A gate with a fixed number of slots per channel.
struct Slots(std::collections::HashMap<Id, usize>);

impl SendGate for Slots {
    fn closed(&self) -> Vec<Id> {
        self.0
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(id, _)| *id)
            .collect()
    }

    fn admit(&mut self, channel: &Channel) -> bool {
        let slots = self.0.entry(channel.id).or_insert(usize::MAX);
        let free = *slots > 0;
        *slots = slots.saturating_sub(1);
        free
    }
}

#[tokio::test]
async fn a_claim_takes_only_what_the_send_gate_admits_and_skips_closed_channels() {
    let f = fixture().await;
    let other = f
        .store
        .create_channel(whatsapp("second"), t(0))
        .await
        .unwrap()
        .id;
    // Three recipients on the first channel, one on the second, all due now.
    for (channel, address) in [
        (f.channel, "79000000001"),
        (f.channel, "79000000002"),
        (f.channel, "79000000003"),
        (other, "79000000004"),
    ] {
        let contact = f
            .store
            .upsert_contact(channel, address, None, Some(t(0)))
            .await
            .unwrap()
            .id;
        let mut c = Commit::new(t(1));
        c.conversations
            .push(open_conversation(channel, contact, vec![outbound()]));
        f.store.commit(c).await.unwrap();
    }
    // The first channel has one slot: one of its rows, and the second channel's row.
    let mut gate = Slots([(f.channel, 1)].into());
    let claimed = f.store.claim_outbox(t(1), 10, &mut gate).await.unwrap();
    let channels: Vec<Id> = claimed.iter().map(|j| j.channel.id).collect();
    assert_eq!(channels, vec![f.channel, other]);
    assert_eq!(claimed[0].contact_address, "79000000001");
    // Closed now: its rows are neither claimed nor the next instant to wait for.
    assert!(
        f.store
            .claim_outbox(t(1), 10, &mut gate)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(f.store.next_outbox_at(&[f.channel]).await.unwrap(), None);
    assert_eq!(f.store.next_outbox_at(&[]).await.unwrap(), Some(t(1)));
    // Open again: the rest, oldest first, each once.
    let rest = claim(f.store.as_ref(), t(1)).await;
    let addresses: Vec<&str> = rest.iter().map(|j| j.contact_address.as_str()).collect();
    assert_eq!(addresses, vec!["79000000002", "79000000003"]);
}
