//! The pywa webhook corpus end to end: every body answered 200, every message stored once, dedupe.

use std::path::PathBuf;
use std::time::Duration;

use replyline_e2e::setup::{PHONE_NUMBER_ID, id_of};
use replyline_e2e::{Env, StatusCode, poll};
use serde_json::{Value, json};

/// One webhook body of the corpus.
struct Case {
    name: String,
    body: Value,
    /// Messages in it that belong to our channel (field `messages`, our phone number id).
    our_messages: usize,
}

fn corpus_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("REPLYLINE_CORPUS_DIR") {
        return PathBuf::from(dir);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shared = manifest.join("../../../shared/fixtures/whatsapp-pywa");
    if shared.is_dir() {
        return shared;
    }
    let copy = manifest.join("../replyline-whatsapp/tests/fixtures/whatsapp-pywa");
    assert!(
        copy.is_dir(),
        "corpus not found at {} nor {}",
        shared.display(),
        copy.display()
    );
    copy
}

/// Loads every case; gives every message its own id (`wamid.corpus.FILE.CASE.N`).
fn load_corpus() -> Vec<Case> {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no JSON in {}", dir.display());
    let mut cases = Vec::new();
    for file in files {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        let Value::Object(map) = serde_json::from_str::<Value>(&text).unwrap() else {
            panic!("{} is not an object of cases", file.display());
        };
        for (case, mut body) in map {
            let mut our_messages = 0;
            let mut n = 0;
            for entry in body["entry"].as_array_mut().into_iter().flatten() {
                for change in entry["changes"].as_array_mut().into_iter().flatten() {
                    let ours = change["field"] == "messages"
                        && change["value"]["metadata"]["phone_number_id"] == PHONE_NUMBER_ID;
                    for message in change["value"]["messages"]
                        .as_array_mut()
                        .into_iter()
                        .flatten()
                    {
                        n += 1;
                        message["id"] = json!(format!("wamid.corpus.{stem}.{case}.{n}"));
                        if ours {
                            our_messages += 1;
                        }
                    }
                }
            }
            cases.push(Case {
                name: format!("{stem}/{case}"),
                body,
                our_messages,
            });
        }
    }
    cases
}

/// Every inbound message stored, across all conversations.
async fn inbound(env: &Env) -> Vec<Value> {
    let mut all = Vec::new();
    for conv in env.all_conversations().await {
        all.extend(
            env.messages(&id_of(&conv))
                .await
                .into_iter()
                .filter(|m| m["direction"] == "in"),
        );
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_body_is_accepted_and_every_message_stored_once() {
    let env = Env::start(&json!({})).await;
    let cases = load_corpus();
    let expected_total: usize = cases.iter().map(|c| c.our_messages).sum();
    assert!(
        expected_total >= 30,
        "corpus looks truncated: {expected_total} messages"
    );

    let mut failures = Vec::new();
    let mut stored = 0usize;
    for case in &cases {
        let (status, body) = env.post_webhook(&case.body).await;
        if status != StatusCode::OK {
            failures.push(format!("{}: answered {status} {body}", case.name));
            continue;
        }
        if case.our_messages == 0 {
            continue;
        }
        let want = stored + case.our_messages;
        let got = poll::within(Duration::from_secs(3), || async {
            let n = inbound(&env).await.len();
            (n >= want).then_some(n)
        })
        .await;
        match got {
            Some(n) if n == want => stored = n,
            Some(n) => {
                failures.push(format!(
                    "{}: stored {} messages, expected {}",
                    case.name,
                    n - stored,
                    case.our_messages
                ));
                stored = n;
            }
            None => {
                let n = inbound(&env).await.len();
                failures.push(format!(
                    "{}: stored {} messages, expected {}",
                    case.name,
                    n - stored,
                    case.our_messages
                ));
                stored = n;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "corpus failures:\n{}",
        failures.join("\n")
    );

    let messages = inbound(&env).await;
    assert_eq!(messages.len(), expected_total, "inbound messages stored");
    for m in &messages {
        // A file without a caption has empty text and its attachment instead.
        let text = m["text"].as_str().unwrap_or_default();
        let files = m["attachments"].as_array().map_or(0, Vec::len);
        assert!(
            !text.trim().is_empty() || files == 1,
            "an inbound message without readable text or a file: {m}"
        );
        assert_eq!(m["direction"], "in");
        assert_eq!(m["status"], "received", "inbound message status: {m}");
    }

    // The same corpus again: everything 200, nothing new.
    for case in &cases {
        let (status, body) = env.post_webhook(&case.body).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{} (second delivery): {body}",
            case.name
        );
    }
    // Barrier: one new message after the repeats must be the only addition.
    let barrier = env
        .client_says("79990000001", Some("Barrier"), "barrier")
        .await;
    env.conversation_of("79990000001").await;
    poll::until("the barrier message", poll::WAIT, || async {
        (inbound(&env).await.len() > expected_total).then_some(())
    })
    .await;
    poll::settle().await;
    let after = inbound(&env).await;
    assert_eq!(
        after.len(),
        expected_total + 1,
        "re-delivering the corpus stored duplicates (barrier {barrier})"
    );
}

#[tokio::test]
async fn text_message_from_the_corpus_keeps_its_body_and_contact_name() {
    let env = Env::start(&json!({})).await;
    let case = load_corpus()
        .into_iter()
        .find(|c| c.name == "message/text")
        .expect("message/text case");
    let (status, body) = env.post_webhook(&case.body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let conv = env.conversation_of("972987654321").await;
    assert_eq!(
        conv["contact"]["name"], "Test Name",
        "contact name from contacts[].profile.name: {conv}"
    );
    let msgs = env
        .wait_messages(&id_of(&conv), "client message", 1, |m| {
            m["direction"] == "in"
        })
        .await;
    assert_eq!(msgs[0]["text"], "Body Text");
    assert_eq!(msgs[0]["kind"], "client");
}

#[tokio::test]
async fn a_batched_body_with_many_entries_changes_and_messages_is_stored_whole() {
    let env = Env::start(&json!({})).await;
    let mut entries = Vec::new();
    let mut n = 0;
    for e in 0..2 {
        let mut changes = Vec::new();
        for c in 0..2 {
            let mut contacts = Vec::new();
            let mut messages = Vec::new();
            for m in 0..3 {
                n += 1;
                let wa = format!("7911000{e}{c}{m}00");
                contacts.push(json!({"profile": {"name": format!("Клиент {n}")}, "wa_id": wa}));
                messages.push(json!({"from": wa, "id": format!("wamid.batch-{n}"),
                    "timestamp": env.now().to_string(), "type": "text", "text": {"body": format!("текст {n}")}}));
            }
            changes.push(json!({"field": "messages", "value": {"messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID},
                "contacts": contacts, "messages": messages}}));
        }
        // A change of another field in the same entry is ignored.
        changes.push(json!({"field": "account_update", "value": {"event": "ACCOUNT_UPDATE"}}));
        entries.push(json!({"id": "102290129340398", "changes": changes}));
    }
    let body = json!({"object": "whatsapp_business_account", "entry": entries});
    let (status, resp) = env.post_webhook(&body).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    poll::until("all 12 batched messages", poll::WAIT, || async {
        (inbound(&env).await.len() == 12).then_some(())
    })
    .await;
    let texts: std::collections::BTreeSet<String> = inbound(&env)
        .await
        .iter()
        .filter_map(|m| m["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(texts.len(), 12, "{texts:?}");
    assert_eq!(env.all_conversations().await.len(), 12);
}
