//! The batched pipeline, black box: rounds of many inbox rows (several
//! messages per conversation) under SIGKILL, the arrival instant as the
//! engine's time, and settings changes that reach past their first chunk.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use replyline_e2e::setup::{APP_SECRET, NO_REPLY, id_of};
use replyline_e2e::webhook::digits;
use replyline_e2e::{Env, StatusCode, poll};
use replyline_store::InboxAppend;
use serde_json::{Value, json};

const GREETING: &str = "Здравствуйте! Чем можем помочь?";

fn wa(i: usize) -> String {
    format!("7900{:07}", 2_000_000 + i)
}

/// Inbound texts per contact, in the order the conversation holds them, and
/// how many conversations each contact has.
async fn inbound_texts(env: &Env) -> BTreeMap<String, (Vec<String>, usize)> {
    let mut map: BTreeMap<String, (Vec<String>, usize)> = BTreeMap::new();
    for conv in env.all_conversations().await {
        let who = digits(conv["contact"]["address"].as_str().unwrap_or_default());
        let texts: Vec<String> = env
            .messages(&id_of(&conv))
            .await
            .into_iter()
            .filter(|m| m["direction"] == "in")
            .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
            .collect();
        let entry = map.entry(who).or_default();
        entry.0.extend(texts);
        entry.1 += 1;
    }
    map
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_with_rounds_in_flight_keeps_every_conversations_messages_once_and_in_order() {
    const CONTACTS: usize = 40;
    const MESSAGES: usize = 5;
    const KILL_AFTER_ACKS: usize = 90;
    let mut env = Env::start(&json!({"greeting": {"enabled": true, "text": GREETING}})).await;
    let bodies: Vec<Vec<Value>> = (0..CONTACTS)
        .map(|c| {
            (0..MESSAGES)
                .map(|m| {
                    env.text(&wa(c), Some("Клиент"), &format!("m{m}"))
                        .to_webhook()
                })
                .collect()
        })
        .collect();

    // Every contact writes its messages one after another; all contacts at
    // once, so each round holds several messages of one conversation.
    let api = env.server.api();
    let acks = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for contact in bodies.clone() {
        let (api, channel, acks) = (api.clone(), env.channel_id.clone(), acks.clone());
        tasks.push(tokio::spawn(async move {
            for body in contact {
                match api.try_whatsapp_webhook(&channel, APP_SECRET, &body).await {
                    Ok((StatusCode::OK, _)) => acks.fetch_add(1, Ordering::SeqCst),
                    _ => return,
                };
            }
        }));
    }
    poll::until(
        "enough acknowledged webhooks before the kill",
        Duration::from_secs(30),
        || async { (acks.load(Ordering::SeqCst) >= KILL_AFTER_ACKS).then_some(()) },
    )
    .await;
    env.server.kill().await;
    for task in tasks {
        task.await.expect("poster task");
    }
    let acked = acks.load(Ordering::SeqCst);
    eprintln!(
        "acknowledged before the kill: {acked} of {}",
        CONTACTS * MESSAGES
    );
    assert!(
        acked < CONTACTS * MESSAGES,
        "the kill came too late to test anything"
    );
    env.restart().await;

    // Meta re-delivers every message of every contact, in order.
    for contact in &bodies {
        for body in contact {
            let (status, resp) = env.post_webhook(body).await;
            assert_eq!(status, StatusCode::OK, "re-delivery after restart: {resp}");
        }
    }
    let expected: Vec<String> = (0..MESSAGES).map(|m| format!("m{m}")).collect();
    let stored = poll::until(
        "every message after re-delivery",
        Duration::from_secs(30),
        || async {
            let stored = inbound_texts(&env).await;
            (0..CONTACTS)
                .all(|c| stored.get(&wa(c)).is_some_and(|(t, _)| t.len() >= MESSAGES))
                .then_some(stored)
        },
    )
    .await;
    for c in 0..CONTACTS {
        let (texts, conversations) = &stored[&wa(c)];
        assert_eq!(texts, &expected, "{}: messages once each, in order", wa(c));
        assert_eq!(*conversations, 1, "{}: one conversation", wa(c));
    }
    // One greeting per conversation, never two (one in flight at the kill
    // may be recorded as delivery unknown instead).
    poll::settle().await;
    for c in 0..CONTACTS {
        let greetings = env
            .graph
            .messages_to(&wa(c))
            .iter()
            .filter(|r| r.text() == Some(GREETING))
            .count();
        assert!(greetings <= 1, "{}: {greetings} greetings", wa(c));
    }
}

#[tokio::test]
async fn a_message_processed_late_enters_the_engine_at_its_arrival() {
    let mut env = Env::start(&json!({"no_reply": {"enabled": true, "after_seconds": 300}})).await;
    let clock = env.server.clock();
    let arrival = clock.unix();
    env.server.kill().await;
    // A webhook acknowledged just before the crash and not processed yet: its
    // row is in the inbox, stamped with its arrival.
    let store = replyline_store::connect(&env.server.database_url())
        .await
        .expect("open the stopped server's database");
    let body = env
        .text("79001234567", Some("Анна"), "Здравствуйте")
        .to_webhook();
    store
        .append_inbox(&[InboxAppend {
            channel_id: env.channel_id.parse().expect("numeric channel id"),
            body: body.to_string().into_bytes(),
            received_at: jiff::Timestamp::from_second(arrival).expect("arrival"),
        }])
        .await
        .expect("inbox row");
    drop(store);
    // The server comes back ten minutes later.
    clock.set_unix(arrival + 600);
    env.restart().await;

    // The wait started at the arrival: its no-reply (300 s) was due long ago
    // and goes out at once, late; processing-time semantics would wait 300 s more.
    let sent = env
        .graph
        .wait_for_to("79001234567", 1, Duration::from_secs(15))
        .await;
    assert_eq!(sent[0].text(), Some(NO_REPLY));
    let conv = env.conversation_of("79001234567").await;
    let inbound: Vec<Value> = env
        .messages(&id_of(&conv))
        .await
        .into_iter()
        .filter(|m| m["direction"] == "in")
        .collect();
    let arrived = jiff::Timestamp::from_second(arrival).unwrap().to_string();
    assert_eq!(inbound.len(), 1);
    assert_eq!(
        inbound[0]["created_at"],
        arrived.as_str(),
        "dated at its arrival"
    );
    assert_eq!(conv["opened_at"], arrived.as_str(), "opened at its arrival");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_settings_change_reaches_every_open_conversation_past_its_first_chunk() {
    // More open conversations than one settings transaction takes (500).
    const CONTACTS: usize = 530;
    let env = Env::start(&json!({})).await;
    let api = env.server.api();
    let mut tasks = tokio::task::JoinSet::new();
    let gate = Arc::new(tokio::sync::Semaphore::new(32));
    for c in 0..CONTACTS {
        let body = env.text(&wa(c), None, "Здравствуйте").to_webhook();
        let (api, channel, gate) = (api.clone(), env.channel_id.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            api.try_whatsapp_webhook(&channel, APP_SECRET, &body).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        assert!(
            matches!(done.expect("poster"), Ok((StatusCode::OK, _))),
            "webhook not acknowledged"
        );
    }
    poll::until(
        "every conversation open",
        Duration::from_secs(60),
        || async { (env.all_conversations().await.len() == CONTACTS).then_some(()) },
    )
    .await;

    // No-reply switched on: every open conversation's wait gets its deadline.
    env.put_settings(&json!({"no_reply": {"enabled": true, "after_seconds": 60}}))
        .await;
    env.advance(61).await;
    env.graph
        .wait_for_matching(CONTACTS, Duration::from_secs(60), "no-replies", |r| {
            r.text() == Some(NO_REPLY)
        })
        .await;
    poll::settle().await;
    for c in 0..CONTACTS {
        let n = env
            .graph
            .messages_to(&wa(c))
            .iter()
            .filter(|r| r.text() == Some(NO_REPLY))
            .count();
        assert_eq!(n, 1, "{}: {n} no-replies", wa(c));
    }
}
