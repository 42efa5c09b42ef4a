//! Self-tests of the support library that need no server: signing, builders, the fake Graph.

use std::time::Duration;

use replyline_e2e::setup::{all_off, merge, settings_with};
use replyline_e2e::webhook::{Status, TextMessage, digits, sign, status_webhook};
use replyline_e2e::{Failure, FakeGraph, Outcome};
use serde_json::{Value, json};

#[test]
fn signature_matches_the_rfc_4231_style_vector() {
    assert_eq!(
        sign("key", b"The quick brown fox jumps over the lazy dog"),
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    );
}

#[test]
fn builders_follow_the_cloud_api_shapes() {
    let msg = TextMessage {
        phone_number_id: "1122334455667".into(),
        wa_id: "79001234567".into(),
        name: Some("Анна".into()),
        id: "wamid.A".into(),
        timestamp: 1_764_054_000,
        body: "Здравствуйте".into(),
    }
    .to_webhook();
    let change = &msg["entry"][0]["changes"][0];
    assert_eq!(change["field"], "messages");
    assert_eq!(
        change["value"]["metadata"]["phone_number_id"],
        "1122334455667"
    );
    assert_eq!(change["value"]["messages"][0]["timestamp"], "1764054000");
    assert_eq!(change["value"]["contacts"][0]["profile"]["name"], "Анна");

    let mut st = Status::new("wamid.OUT", "read", 5, "79001234567");
    st.biz_opaque_callback_data = Some("out-1".into());
    let body = status_webhook("1122334455667", &[st]);
    let s = &body["entry"][0]["changes"][0]["value"]["statuses"][0];
    assert_eq!(s["status"], "read");
    assert_eq!(s["biz_opaque_callback_data"], "out-1");
    assert!(s.get("errors").is_none());
    assert_eq!(digits("+7 (900) 123-45-67"), "79001234567");
}

#[test]
fn settings_merge_is_deep() {
    let s = settings_with(&json!({"no_reply": {"enabled": true, "after_seconds": 60}}));
    assert_eq!(s["no_reply"]["enabled"], true);
    assert_eq!(s["no_reply"]["after_seconds"], 60);
    assert_eq!(s["no_reply"]["text"], all_off()["no_reply"]["text"]);
    let mut v = json!({"a": {"b": 1}});
    merge(&mut v, &json!({"a": {"c": [1]}, "d": null}));
    assert_eq!(v, json!({"a": {"b": 1, "c": [1]}, "d": null}));
}

async fn send(fake: &FakeGraph, body: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/v21.0/1122334455667/messages", fake.base_url()))
        .bearer_auth("tok")
        .json(body)
        .timeout(Duration::from_secs(1))
        .send()
        .await;
    match resp {
        Ok(resp) => (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        ),
        Err(e) => {
            assert!(e.is_timeout(), "{e}");
            (0, Value::Null)
        }
    }
}

#[tokio::test]
async fn fake_graph_records_answers_and_fails_on_demand() {
    let fake = FakeGraph::start().await;
    let text = json!({"messaging_product": "whatsapp", "to": "+79001234567", "type": "text", "text": {"body": "hi"}});

    let (status, body) = send(&fake, &text).await;
    assert_eq!(status, 200);
    assert_eq!(body["messages"][0]["id"], "wamid.fake-1");
    assert_eq!(body["contacts"][0]["wa_id"], "79001234567");

    fake.fail_next(1, &Failure::Http500);
    fake.fail_next_with_code(1, 131047, "Re-engagement message");
    assert_eq!(send(&fake, &text).await.0, 500);
    let (status, body) = send(&fake, &text).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 131047);
    assert_eq!(body["error"]["type"], "OAuthException");

    fake.fail_next(1, &Failure::Delay(Duration::from_secs(3)));
    assert_eq!(
        send(&fake, &text).await.0,
        0,
        "delayed answer must time the client out"
    );

    let read = json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"});
    assert_eq!(send(&fake, &read).await.0, 200);

    let recorded = fake.requests();
    assert_eq!(recorded.len(), 5);
    assert_eq!(recorded[0].authorization.as_deref(), Some("Bearer tok"));
    assert_eq!(recorded[0].path, "/v21.0/1122334455667/messages");
    assert_eq!(recorded[0].phone_number_id, "1122334455667");
    assert_eq!(recorded[0].version, "v21.0");
    assert_eq!(recorded[1].outcome, Outcome::Failed(Failure::Http500));
    assert_eq!(fake.messages().len(), 4, "mark-as-read is not a message");
    assert_eq!(fake.messages_to("79001234567").len(), 4);
    assert_eq!(fake.wait_for(4, Duration::from_secs(1)).await.len(), 4);
}
