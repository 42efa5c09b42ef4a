//! Webhook parsing: batching, leniency towards unknown content, and path-naming errors.

use replyline_whatsapp::{DeliveryStatus, MessageKind, parse_webhook};
use serde_json::json;

fn body(value: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&value).expect("serialize")
}

fn message(id: &str, kind: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut m = json!({"from": "79001234567", "id": id, "timestamp": "1764054000", "type": kind});
    if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(extra.clone());
    }
    m
}

#[test]
fn iterates_every_entry_change_message_and_status() {
    let value = |msgs: serde_json::Value, statuses: serde_json::Value| {
        json!({"messaging_product": "whatsapp",
               "metadata": {"display_phone_number": "15550001111", "phone_number_id": "100"},
               "contacts": [{"profile": {"name": "Анна"}, "wa_id": "79001234567"}],
               "messages": msgs, "statuses": statuses})
    };
    let raw = body(json!({"object": "whatsapp_business_account", "entry": [
        {"id": "W1", "changes": [
            {"field": "messages", "value": value(
                json!([message("wamid.1", "text", json!({"text": {"body": "Здравствуйте"}})),
                       message("wamid.2", "request_welcome", json!({}))]),
                json!([{"id": "wamid.OUT1", "status": "delivered", "timestamp": "1764054100"},
                       {"id": "wamid.OUT2", "status": "deleted", "timestamp": "1764054100"}]))},
            {"field": "message_template_status_update", "value": {"event": "APPROVED"}}]},
        {"id": "W2", "changes": [
            {"field": "messages", "value": value(
                json!([message("wamid.3", "brand_new_type", json!({"brand_new_type": {}}))]),
                json!([]))}]}]}));
    let w = parse_webhook(&raw).expect("parse");
    assert_eq!(w.changes.len(), 3);
    let first = &w.changes[0];
    assert_eq!(first.phone_number_id.as_deref(), Some("100"));
    assert_eq!(first.display_phone_number.as_deref(), Some("15550001111"));
    assert_eq!(first.messages.len(), 2);
    assert_eq!(first.messages[0].text, "Здравствуйте");
    assert_eq!(first.messages[0].contact_name.as_deref(), Some("Анна"));
    assert_eq!(first.messages[1].kind, MessageKind::RequestWelcome);
    // The unknown status string is skipped, not an error.
    assert_eq!(first.statuses.len(), 1);
    assert_eq!(first.statuses[0].status, DeliveryStatus::Delivered);
    assert_eq!(w.changes[1].field, "message_template_status_update");
    assert!(w.changes[1].messages.is_empty() && w.changes[1].statuses.is_empty());
    let unknown = &w.changes[2].messages[0];
    assert_eq!(unknown.kind, MessageKind::Unknown);
    assert_eq!(unknown.raw_type, "brand_new_type");
    assert_eq!(unknown.text, "[unsupported message: brand_new_type]");
}

#[test]
fn business_scoped_user_id_when_phone_is_absent() {
    let raw = body(
        json!({"entry": [{"changes": [{"field": "messages", "value": {
        "contacts": [{"profile": {"name": "U"}, "wa_id": "", "user_id": "US.42"}],
        "messages": [{"from": "", "from_user_id": "US.42", "id": "wamid.B",
                      "timestamp": 1764054000, "type": "text", "text": {"body": "hi"}}]}}]}]}),
    );
    let w = parse_webhook(&raw).expect("parse");
    let m = &w.changes[0].messages[0];
    assert_eq!(m.contact_key, "US.42");
    assert_eq!(m.contact_name.as_deref(), Some("U"));
    assert_eq!(m.timestamp, 1_764_054_000);
}

#[test]
fn errors_name_the_path() {
    let cases: [(&[u8], &str); 8] = [
        (b"{not json", "not valid JSON"),
        (b"[]", "body: expected an object"),
        (b"{}", "entry: missing"),
        (br#"{"entry": {}}"#, "entry: expected an array"),
        (br#"{"entry": [{"changes": 5}]}"#, "entry[0].changes: expected an array"),
        (
            br#"{"entry": [{"changes": [{"field": "messages", "value": {"messages": [{"from": "1", "timestamp": "1", "type": "text"}]}}]}]}"#,
            "entry[0].changes[0].value.messages[0].id: missing",
        ),
        (
            br#"{"entry": [{"changes": [{"field": "messages", "value": {"messages": [{"from": "1", "id": "x", "timestamp": "soon"}]}}]}]}"#,
            "entry[0].changes[0].value.messages[0].timestamp: expected unix seconds",
        ),
        (
            br#"{"entry": [{"changes": [{"field": "messages", "value": {"statuses": [{"id": "x", "status": "sent"}]}}]}]}"#,
            "entry[0].changes[0].value.statuses[0].timestamp: missing",
        ),
    ];
    for (raw, expected) in cases {
        let err = parse_webhook(raw).expect_err(expected);
        assert!(
            err.message.contains(expected),
            "{:?}: got {:?}",
            String::from_utf8_lossy(raw),
            err.message
        );
    }
}

#[test]
fn unknown_fields_are_not_errors() {
    let raw = br#"{"object": "something_new", "surprise": [1, 2], "entry": [{"changes": [
        {"field": "brand_new_field", "value": 42},
        {"field": "messages", "value": {"novel": true, "messages": [], "statuses": null}}]}]}"#;
    let w = parse_webhook(raw).expect("parse");
    assert_eq!(w.changes.len(), 2);
    assert!(
        w.changes
            .iter()
            .all(|c| c.messages.is_empty() && c.statuses.is_empty())
    );
}
