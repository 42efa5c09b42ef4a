//! A full disk must never cost data: while SQLite cannot write, webhooks and
//! API writes fail (5xx, never a 2xx for something not stored) and `/healthz`
//! answers 503; once space is freed everything works again without a restart;
//! whatever was acknowledged survives a restart; no automatic message is sent
//! twice. When writes keep failing the server exits non-zero so a supervisor
//! starts a clean process.
//!
//! The database lives on a small tmpfs the test mounts (root only); where
//! mounting is not permitted the test prints why and skips. CI runs as root.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use replyline_e2e::setup::{APP_SECRET, id_of};
use replyline_e2e::tmpfs::{Tmpfs, fill};
use replyline_e2e::webhook::digits;
use replyline_e2e::{Env, ServerOpts, poll};
use reqwest::Method;
use serde_json::{Value, json};

const GREETING: &str = "Здравствуйте! Чем можем помочь?";

fn wa(i: usize) -> String {
    format!("7911{:07}", 2_000_000 + i)
}

/// Everything the test saw the server accept.
#[derive(Default)]
struct Ledger {
    /// Contacts whose webhook was answered 200.
    acked: BTreeSet<usize>,
    /// Note texts answered 201.
    notes: BTreeSet<String>,
    /// Webhook answers while the disk was full: status -> count.
    full_webhooks: BTreeMap<u16, usize>,
    /// Note answers while the disk was full.
    full_notes: BTreeMap<u16, usize>,
}

async fn start(fs: &Tmpfs, extra_env: Vec<(String, String)>) -> Env {
    let opts = ServerOpts {
        database_dir: Some(fs.path().join("db")),
        extra_env,
        ..ServerOpts::default()
    };
    Env::start_with(
        opts,
        &json!({"greeting": {"enabled": true, "text": GREETING}}),
    )
    .await
}

/// Posts contact `i`'s webhook; the status, or 0 when the server is unreachable.
async fn post(env: &Env, bodies: &[Value], i: usize) -> u16 {
    match env
        .server
        .api()
        .try_whatsapp_webhook(&env.channel_id, APP_SECRET, &bodies[i])
        .await
    {
        Ok((status, _)) => status.as_u16(),
        Err(_) => 0,
    }
}

async fn note(env: &Env, conversation: &str, text: &str) -> u16 {
    let path = format!("/api/v1/conversations/{conversation}/notes");
    match env
        .admin
        .try_call(Method::POST, &path, Some(&json!({"text": text})))
        .await
    {
        Ok((status, _)) => status.as_u16(),
        Err(_) => 0,
    }
}

async fn healthz(env: &Env) -> u16 {
    match env
        .server
        .api()
        .try_call(Method::GET, "/healthz", None)
        .await
    {
        Ok((status, _)) => status.as_u16(),
        Err(_) => 0,
    }
}

/// Inbound messages and notes per contact, over every conversation.
async fn stored(env: &Env) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let (mut inbound, mut notes) = (BTreeMap::new(), BTreeMap::new());
    for conv in env.all_conversations().await {
        let who = digits(conv["contact"]["address"].as_str().unwrap_or_default());
        for m in env.messages(&id_of(&conv)).await {
            if m["direction"] == "in" {
                *inbound.entry(who.clone()).or_insert(0) += 1;
            } else if m["kind"] == "note" {
                let text = m["text"].as_str().unwrap_or_default().to_owned();
                *notes.entry(text).or_insert(0) += 1;
            }
        }
    }
    (inbound, notes)
}

/// After a restart: every acknowledged webhook and every 2xx note is stored
/// exactly once, and no greeting went out twice.
async fn check_nothing_lost_nothing_twice(env: &Env, ledger: &Ledger, contacts: usize) {
    let (inbound, notes) = poll::until(
        "every acknowledged message stored",
        Duration::from_secs(30),
        || async {
            let (inbound, notes) = stored(env).await;
            ledger
                .acked
                .iter()
                .all(|i| inbound.contains_key(&wa(*i)))
                .then_some((inbound, notes))
        },
    )
    .await;
    for i in &ledger.acked {
        assert_eq!(
            inbound[&wa(*i)],
            1,
            "acknowledged message of {} stored once",
            wa(*i)
        );
    }
    for text in &ledger.notes {
        assert_eq!(
            notes.get(text),
            Some(&1),
            "note {text:?} answered 201: stored once"
        );
    }
    let mut greetings: BTreeMap<String, usize> = BTreeMap::new();
    for r in env.graph.messages() {
        if r.text() == Some(GREETING) {
            *greetings.entry(r.to()).or_insert(0) += 1;
        }
    }
    let twice: Vec<_> = greetings.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "greetings sent more than once: {twice:?}");
    assert!(
        greetings.len() <= contacts,
        "greetings to unknown recipients: {greetings:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_fails_writes_cleanly_and_recovers_without_losing_anything() {
    let fs = match Tmpfs::mount("12m") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("SKIPPED disk-full e2e test: cannot mount a tmpfs ({why}); run as root");
            return;
        }
    };
    // The watchdog stays off here: this is recovery without a restart.
    let mut env = start(&fs, vec![("WRITER_EXIT_AFTER_SECONDS".into(), "0".into())]).await;
    const CONTACTS: usize = 90;
    let bodies: Vec<Value> = (0..CONTACTS)
        .map(|i| {
            env.text(&wa(i), Some("Клиент"), &format!("Сообщение {i}"))
                .to_webhook()
        })
        .collect();
    let mut ledger = Ledger::default();

    // Before: everything works; a conversation to write notes into.
    for i in 0..10 {
        assert_eq!(post(&env, &bodies, i).await, 200);
        ledger.acked.insert(i);
    }
    let conv = id_of(&env.conversation_of(&wa(0)).await);
    for n in 0..3 {
        let text = format!("заметка до {n}");
        assert_eq!(note(&env, &conv, &text).await, 201);
        ledger.notes.insert(text);
    }
    env.graph
        .wait_for_matching(10, poll::WAIT, "greetings before the fill", |r| {
            r.text() == Some(GREETING)
        })
        .await;

    // The disk fills up.
    let filler = fill(fs.path());
    let mut unhealthy = 0;
    for i in 10..60 {
        let status = post(&env, &bodies, i).await;
        *ledger.full_webhooks.entry(status).or_insert(0) += 1;
        if status == 200 {
            ledger.acked.insert(i);
        }
        let text = format!("заметка при полном диске {i}");
        let status = note(&env, &conv, &text).await;
        *ledger.full_notes.entry(status).or_insert(0) += 1;
        if (200..300).contains(&status) {
            ledger.notes.insert(text);
        }
        if healthz(&env).await == 503 {
            unhealthy += 1;
        }
    }
    eprintln!(
        "while full: webhooks {:?}, notes {:?}, healthz 503 x{unhealthy}",
        ledger.full_webhooks, ledger.full_notes
    );
    let webhook_5xx: usize = ledger
        .full_webhooks
        .iter()
        .filter(|(s, _)| (500..600).contains(*s))
        .map(|(_, n)| n)
        .sum();
    assert!(
        webhook_5xx > 0,
        "a full disk must make webhooks fail: {:?}",
        ledger.full_webhooks
    );
    assert!(
        ledger.full_notes.keys().any(|s| (500..600).contains(s)),
        "a full disk must make API writes fail: {:?}",
        ledger.full_notes
    );
    assert!(
        unhealthy > 0,
        "/healthz must answer 503 while nothing can be committed"
    );
    assert!(
        ledger
            .full_webhooks
            .keys()
            .all(|s| *s == 200 || (500..600).contains(s)),
        "{:?}",
        ledger.full_webhooks
    );

    // Space comes back: healthy again without a restart, writes work again.
    std::fs::remove_file(&filler).unwrap();
    let started = Instant::now();
    poll::until(
        "healthy after space is freed",
        Duration::from_secs(15),
        || async { (healthz(&env).await == 200).then_some(()) },
    )
    .await;
    eprintln!("healthy {:?} after space was freed", started.elapsed());
    // Meta re-delivers what was not acknowledged.
    for i in 10..CONTACTS {
        if ledger.acked.contains(&i) {
            continue;
        }
        assert_eq!(
            post(&env, &bodies, i).await,
            200,
            "webhook {i} after recovery"
        );
        ledger.acked.insert(i);
    }
    for n in 0..3 {
        let text = format!("заметка после {n}");
        assert_eq!(note(&env, &conv, &text).await, 201, "note after recovery");
        ledger.notes.insert(text);
    }
    // Greetings for everyone, no restart needed.
    env.graph
        .wait_for_matching(
            CONTACTS,
            Duration::from_secs(30),
            "a greeting per contact",
            |r| r.text() == Some(GREETING),
        )
        .await;
    check_nothing_lost_nothing_twice(&env, &ledger, CONTACTS).await;

    // And after a restart (SIGKILL): still all there, still nothing twice.
    env.restart().await;
    check_nothing_lost_nothing_twice(&env, &ledger, CONTACTS).await;
    poll::settle().await;
    check_nothing_lost_nothing_twice(&env, &ledger, CONTACTS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_writer_that_keeps_failing_exits_non_zero_for_a_supervisor_restart() {
    let fs = match Tmpfs::mount("12m") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!(
                "SKIPPED disk-full watchdog e2e test: cannot mount a tmpfs ({why}); run as root"
            );
            return;
        }
    };
    let mut env = start(&fs, vec![("WRITER_EXIT_AFTER_SECONDS".into(), "3".into())]).await;
    const CONTACTS: usize = 40;
    let bodies: Vec<Value> = (0..CONTACTS)
        .map(|i| {
            env.text(&wa(i), None, &format!("Сообщение {i}"))
                .to_webhook()
        })
        .collect();
    let mut ledger = Ledger::default();
    for i in 0..5 {
        assert_eq!(post(&env, &bodies, i).await, 200);
        ledger.acked.insert(i);
    }
    env.conversation_of(&wa(4)).await;

    let filler = fill(fs.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut next = 5;
    let status = loop {
        if next < CONTACTS {
            let status = post(&env, &bodies, next).await;
            if status == 200 {
                ledger.acked.insert(next);
            }
            next += 1;
        }
        let _ = healthz(&env).await;
        if let Some(status) = env.server.wait_exit(Duration::from_millis(200)).await {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server kept running on a writer that cannot commit"
        );
    };
    eprintln!("the server exited with {status:?}");
    assert_eq!(status.code(), Some(75), "EX_TEMPFAIL, for the supervisor");

    // The supervisor's restart, once space is back.
    std::fs::remove_file(&filler).unwrap();
    env.restart().await;
    assert_eq!(healthz(&env).await, 200);
    for i in 0..CONTACTS {
        if !ledger.acked.contains(&i) {
            assert_eq!(post(&env, &bodies, i).await, 200);
            ledger.acked.insert(i);
        }
    }
    check_nothing_lost_nothing_twice(&env, &ledger, CONTACTS).await;
    assert!(
        env.conversations_of(&wa(0)).await.len() == 1,
        "one conversation per contact"
    );
}
