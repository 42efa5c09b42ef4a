//! Conformance test: every case of the pywa webhook corpus parses, with the expected content.

use std::collections::BTreeMap;
use std::path::PathBuf;

use replyline_whatsapp::{DeliveryStatus, MessageKind, Webhook, parse_webhook};
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/whatsapp-pywa")
}

/// Every case of every corpus file, as (file, case, raw body).
fn cases() -> Vec<(String, String, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("corpus directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 19, "corpus files");
    let mut out = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).expect("read corpus file");
        let cases: BTreeMap<String, Value> = serde_json::from_str(&text).expect("corpus JSON");
        for (case, body) in cases {
            out.push((
                name.clone(),
                case,
                serde_json::to_vec(&body).expect("serialize"),
            ));
        }
    }
    out
}

fn parse(file: &str, case: &str, body: &[u8]) -> Webhook {
    parse_webhook(body).unwrap_or_else(|e| panic!("{file}/{case}: {e}"))
}

/// The expected kind of the single message of a message case.
fn expected_kind(file: &str, case: &str) -> Option<MessageKind> {
    use MessageKind as K;
    Some(match (file, case) {
        ("message.json", "text" | "reply" | "forwarded" | "forwarded_many_times" | "referral") => {
            K::Text
        }
        ("message.json", "image" | "media_with_url") => K::Image,
        ("message.json", "video") => K::Video,
        ("message.json", "document") => K::Document,
        ("message.json", "audio") => K::Audio,
        ("message.json", "voice") => K::Voice,
        ("message.json", "static_sticker" | "animated_sticker") => K::Sticker,
        ("message.json", "reaction" | "unreaction_empty" | "unreaction_no_emoji") => K::Reaction,
        ("message.json", "current_location" | "chosen_location") => K::Location,
        ("message.json", "contacts") => K::Contacts,
        ("message.json", "order") => K::Order,
        ("message.json", "unsupported" | "unsupported_with_type") => K::Unknown,
        ("message.json", "interactive_message_with_err") => K::Interactive,
        ("callback_button.json", "button") => K::Interactive,
        ("callback_button.json", _) => K::Button,
        ("callback_selection.json" | "flow_completion.json" | "call_permission_update.json", _) => {
            K::Interactive
        }
        ("deleted_message.json" | "edited_message.json", _) => K::Unknown,
        ("system.json", _) => K::System,
        _ => return None,
    })
}

fn expected_status(case: &str) -> DeliveryStatus {
    match case {
        "sent" | "with_tracker" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" | "played" | "group" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed,
        other => panic!("unexpected status case {other}"),
    }
}

#[test]
fn every_case_parses_with_expected_content() {
    let cases = cases();
    assert_eq!(cases.len(), 74, "corpus cases");
    let (mut messages, mut statuses, mut ignored) = (0, 0, 0);
    for (file, case, body) in &cases {
        let webhook = parse(file, case, body);
        assert_eq!(webhook.changes.len(), 1, "{file}/{case}: changes");
        let change = &webhook.changes[0];
        let ctx = format!("{file}/{case}");

        if let Some(kind) = expected_kind(file, case) {
            assert_eq!(change.field, "messages", "{ctx}");
            assert!(change.phone_number_id.is_some(), "{ctx}: phone_number_id");
            assert_eq!(change.messages.len(), 1, "{ctx}: messages");
            assert!(change.statuses.is_empty(), "{ctx}: statuses");
            let m = &change.messages[0];
            assert_eq!(m.kind, kind, "{ctx}: kind");
            assert!(!m.text.trim().is_empty(), "{ctx}: text");
            assert!(!m.provider_id.is_empty(), "{ctx}: id");
            assert!(!m.contact_key.is_empty(), "{ctx}: contact key");
            assert!(m.timestamp > 1_600_000_000, "{ctx}: timestamp");
            assert!(!m.raw_type.is_empty(), "{ctx}: raw type");
            if kind != MessageKind::Text {
                assert!(m.text.starts_with('['), "{ctx}: placeholder {:?}", m.text);
            }
            messages += 1;
        } else if file == "message_status.json" {
            assert_eq!(change.field, "messages", "{ctx}");
            assert!(change.messages.is_empty(), "{ctx}: messages");
            assert_eq!(change.statuses.len(), 1, "{ctx}: statuses");
            let s = &change.statuses[0];
            assert_eq!(s.status, expected_status(case), "{ctx}: status");
            assert!(!s.provider_message_id.is_empty(), "{ctx}: id");
            assert!(s.timestamp > 1_600_000_000, "{ctx}: timestamp");
            assert!(s.recipient_id.is_some(), "{ctx}: recipient");
            statuses += 1;
        } else {
            // Templates, account, calls, user preferences, message echoes:
            // accepted, carried as a change with nothing to store.
            assert_ne!(change.field, "messages", "{ctx}: field");
            assert!(change.messages.is_empty(), "{ctx}: messages");
            assert!(change.statuses.is_empty(), "{ctx}: statuses");
            ignored += 1;
        }
    }
    assert_eq!((messages, statuses, ignored), (36, 7, 31));
}

fn single(file: &str, case: &str) -> Webhook {
    let (f, c, body) = cases()
        .into_iter()
        .find(|(f, c, _)| f == file && c == case)
        .unwrap_or_else(|| panic!("no case {file}/{case}"));
    parse(&f, &c, &body)
}

fn text_of(file: &str, case: &str) -> String {
    single(file, case).changes[0].messages[0].text.clone()
}

#[test]
fn readable_texts() {
    let expected = [
        ("message.json", "text", "Body Text"),
        ("message.json", "image", "[image]"),
        ("message.json", "video", "[video] caption"),
        (
            "message.json",
            "document",
            "[document: filename.pdf] caption",
        ),
        ("message.json", "audio", "[audio]"),
        ("message.json", "voice", "[voice message]"),
        ("message.json", "static_sticker", "[sticker]"),
        ("message.json", "reaction", "[reaction 😮 to wamid.yzxyzx=]"),
        (
            "message.json",
            "unreaction_empty",
            "[reaction removed from wamid.yzxyzx=]",
        ),
        (
            "message.json",
            "current_location",
            "[location: 12.25089, 43.90539]",
        ),
        (
            "message.json",
            "chosen_location",
            "[location: 37.4611978, -122.2164385 Facebook HQ, 1 Hacker Way, Menlo Park, CA 94025]",
        ),
        (
            "message.json",
            "contacts",
            "[contacts: Chandler Bing, Monica, Rachel Green]",
        ),
        ("message.json", "order", "[order: 3 items]"),
        ("message.json", "unsupported", "[unsupported message]"),
        (
            "message.json",
            "unsupported_with_type",
            "[unsupported message: pool]",
        ),
        (
            "message.json",
            "interactive_message_with_err",
            "[interactive message]",
        ),
        ("callback_button.json", "button", "[button: title]"),
        ("callback_button.json", "quick_reply", "[button: title]"),
        ("callback_selection.json", "description", "[list: title]"),
        (
            "call_permission_update.json",
            "accept",
            "[call permission: accept]",
        ),
        (
            "deleted_message.json",
            "revoke",
            "[deleted <ORIGINAL_WHATSAPP_MESSAGE_ID>]",
        ),
        (
            "system.json",
            "phone_number_change",
            "[system] User A changed from 972987654321 to 972912345678",
        ),
    ];
    for (file, case, text) in expected {
        assert_eq!(text_of(file, case), text, "{file}/{case}");
    }
    assert!(text_of("flow_completion.json", "completion").starts_with("[form reply] {"));
    assert!(text_of("edited_message.json", "image").ends_with("] [image] Updated image caption"));
}

#[test]
fn message_details() {
    let w = single("message.json", "image");
    let change = &w.changes[0];
    assert_eq!(change.phone_number_id.as_deref(), Some("1122334455667"));
    let m = &change.messages[0];
    assert_eq!(m.provider_id, "wamid.xyzxyz");
    assert_eq!(m.contact_key, "972987654321");
    assert_eq!(m.contact_name.as_deref(), Some("Test Name"));
    assert_eq!(m.timestamp, 1_697_043_379);
    assert_eq!(m.media_id.as_deref(), Some("65463453"));
    assert_eq!(m.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(m.raw_type, "image");
    assert_eq!(m.reply_to, None);

    let reply = &single("message.json", "reply").changes[0].messages[0];
    assert_eq!(reply.reply_to.as_deref(), Some("wamid.xyzxyz=="));

    let edit = &single("edited_message.json", "image").changes[0].messages[0];
    assert_eq!(edit.raw_type, "edit");
    assert_eq!(edit.media_id.as_deref(), Some("1234567890"));

    // No contacts[] at all: the key comes from `from`.
    let system = &single("system.json", "phone_number_change").changes[0].messages[0];
    assert_eq!(system.contact_key, "972987654321");
    assert_eq!(system.contact_name, None);
}

#[test]
fn status_details() {
    let failed = &single("message_status.json", "failed").changes[0].statuses[0];
    assert_eq!(failed.status, DeliveryStatus::Failed);
    assert_eq!(failed.errors.len(), 1);
    assert_eq!(failed.errors[0].code, 130_472);
    assert!(
        failed.errors[0]
            .details
            .as_deref()
            .unwrap_or("")
            .contains("experiment")
    );

    let tracked = &single("message_status.json", "with_tracker").changes[0].statuses[0];
    assert_eq!(tracked.callback_data.as_deref(), Some("some data"));
    assert_eq!(tracked.provider_message_id, "wamid.xyzxyz");
    assert_eq!(tracked.timestamp, 1_698_266_945);
    assert!(tracked.errors.is_empty());
}
