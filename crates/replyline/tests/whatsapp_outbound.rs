//! What the outbox sends and the failures a person can see: fallback
//! templates with rendered parameters, a retried send's error and next
//! attempt on the message, a channel's outage (admins told once), a send in
//! doubt after a crash healed by its status callback, and media with captions.

use std::time::Duration;

use replyline_e2e::poll::{self, WAIT, settle};
use replyline_e2e::server::COMPANY_NAME;
use replyline_e2e::setup::{PHONE_NUMBER_ID, id_of};
use replyline_e2e::webhook::{Status, status_webhook};
use replyline_e2e::{Api, Env, Failure, Outcome, Resp, StatusCode, expect_status};
use serde_json::{Value, json};

const WA: &str = "79001234567";

/// The template of the closing message, its parameters using the automatic messages' variables.
fn closing_template() -> Value {
    json!({"closing": {"enabled": true, "template": {
        "name": "chat_closed", "language": "ru",
        "parameters": ["{client_name|клиент}", "{company_name}"]
    }}})
}

/// The text parameters of a recorded template send's BODY component.
fn body_parameters(body: &Value) -> Vec<Value> {
    let components = body["template"]["components"]
        .as_array()
        .unwrap_or_else(|| panic!("no components in {body}"));
    assert_eq!(components.len(), 1, "{body}");
    assert_eq!(components[0]["type"], "body", "{body}");
    components[0]["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn text_parameters(texts: &[&str]) -> Vec<Value> {
    texts
        .iter()
        .map(|t| json!({"type": "text", "text": t}))
        .collect()
}

/// Advances the manual clock until `done` holds (retries wait on it).
async fn advance_until(env: &Env, what: &str, done: impl AsyncFn() -> bool) {
    for _ in 0..40 {
        if done().await {
            return;
        }
        env.advance(30).await;
        if poll::within(Duration::from_millis(300), || async {
            done().await.then_some(())
        })
        .await
        .is_some()
        {
            return;
        }
    }
    panic!("{what}: not reached while advancing the clock");
}

async fn message(env: &Env, conv: &str, kind: &str) -> Value {
    let all = env.messages_of_kind(conv, kind).await;
    assert_eq!(all.len(), 1, "one {kind} message: {all:#?}");
    all.into_iter().next().unwrap()
}

#[tokio::test]
async fn outside_the_window_the_fallback_template_carries_its_rendered_parameters() {
    let env = Env::start(&closing_template()).await;
    env.client_says(WA, Some("Анна"), "Здравствуйте").await;
    let conv = id_of(&env.conversation_of(WA).await);
    env.advance(25 * 3600).await;
    expect_status(&env.admin.close(&conv).await, StatusCode::OK, "close");
    let sent = env.graph.wait_for_to(WA, 1, WAIT).await;
    assert_eq!(sent[0].kind(), Some("template"), "{}", sent[0].body);
    assert_eq!(sent[0].template_name(), Some("chat_closed"));
    assert_eq!(
        body_parameters(&sent[0].body),
        text_parameters(&["Анна", COMPANY_NAME])
    );
    let closing = env.wait_status(&conv, "closing", "sent", WAIT).await;
    assert_eq!(
        closing["template_parameters"],
        json!(["Анна", COMPANY_NAME]),
        "{closing}"
    );
}

#[tokio::test]
async fn a_131047_answer_falls_back_to_the_template_with_rendered_parameters() {
    let env = Env::start(&closing_template()).await;
    // No name: the parameter takes its fallback «клиент».
    env.client_says(WA, None, "Здравствуйте").await;
    let conv = id_of(&env.conversation_of(WA).await);
    env.graph
        .fail_next_with_code(1, 131047, "Re-engagement message");
    expect_status(&env.admin.close(&conv).await, StatusCode::OK, "close");
    let sent = env.graph.wait_for_to(WA, 2, WAIT).await;
    assert_eq!(sent[0].kind(), Some("text"), "the free-form text first");
    assert_eq!(sent[1].kind(), Some("template"), "{}", sent[1].body);
    assert_eq!(
        body_parameters(&sent[1].body),
        text_parameters(&["клиент", COMPANY_NAME])
    );
    env.wait_status(&conv, "closing", "sent", WAIT).await;
}

#[tokio::test]
async fn a_retried_send_shows_its_error_and_next_attempt_until_it_goes_out() {
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    env.graph.fail_next(1, &Failure::Http500);
    env.client_says(WA, Some("Анна"), "Здравствуйте").await;
    let conv = id_of(&env.conversation_of(WA).await);
    env.graph.wait_for_to(WA, 1, WAIT).await;
    let failing = poll::until("the greeting shows its error", WAIT, || async {
        let m = message(&env, &conv, "greeting").await;
        (!m["retry_at"].is_null()).then_some(m)
    })
    .await;
    assert_eq!(failing["status"], "queued", "{failing}");
    let error = failing["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("(code 1)"),
        "the provider's error: {failing}"
    );
    let retry_at = jiff::Timestamp::from_second(0).unwrap();
    let retry_at = failing["retry_at"]
        .as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .unwrap_or(retry_at);
    assert!(
        retry_at.as_second() > env.now(),
        "the next attempt is ahead: {failing}"
    );

    advance_until(&env, "the greeting sent", async || {
        message(&env, &conv, "greeting").await["status"] == "sent"
    })
    .await;
    let sent = message(&env, &conv, "greeting").await;
    assert!(sent["error"].is_null(), "{sent}");
    assert!(sent["retry_at"].is_null(), "{sent}");
    assert_eq!(env.graph.messages_to(WA).len(), 2);
}

fn wa(i: usize) -> String {
    format!("7900555000{i}")
}

async fn channel_seen_by(api: &Api, channel_id: &str) -> Value {
    let (status, list) = api.channels().await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .and_then(|l| l.iter().find(|c| id_of(c) == channel_id))
        .cloned()
        .unwrap_or_else(|| panic!("channel {channel_id} not listed: {list}"))
}

async fn failing_notifications(api: &Api) -> Vec<Value> {
    let (status, list) = api.notifications(false).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .map(|l| {
            l.iter()
                .filter(|n| n["reason"] == "channel_failing")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn sends_that_keep_failing_start_one_outage_that_a_success_ends() {
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    let (status, second) = env
        .admin
        .create_employee(&json!({"name": "Вера", "email": "vera@example.com",
            "role": "admin", "password": "vera-password-123"}))
        .await;
    assert!(status.is_success(), "{status} {second}");
    let vera = env
        .server
        .api()
        .logged_in("vera@example.com", "vera-password-123")
        .await;
    let ivan = env.login(&env.ivan).await;
    // Two rounds of failures for three clients: six failed attempts in a row.
    env.graph
        .fail_next_with_code(6, 131000, "Something went wrong");
    for i in 0..3 {
        env.client_says(&wa(i), None, "Здравствуйте").await;
    }
    let outage = poll::until("the channel failing", WAIT, || async {
        let c = channel_seen_by(&env.admin, &env.channel_id).await;
        (!c["failing_since"].is_null()).then_some(c)
    })
    .await;
    assert!(
        outage["failing_error"]
            .as_str()
            .is_some_and(|e| e.contains("(code 131000)")),
        "{outage}"
    );
    // A member sees it in the channel list too.
    let seen = channel_seen_by(&ivan, &env.channel_id).await;
    assert_eq!(seen["failing_since"], outage["failing_since"], "{seen}");

    advance_until(&env, "every greeting sent", async || {
        let mut sent = 0;
        for i in 0..3 {
            let conv = id_of(&env.conversation_of(&wa(i)).await);
            sent += usize::from(message(&env, &conv, "greeting").await["status"] == "sent");
        }
        sent == 3
    })
    .await;
    let failed_attempts = env
        .graph
        .messages()
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
        .count();
    assert_eq!(failed_attempts, 6);
    let healed = poll::until("the outage over", WAIT, || async {
        let c = channel_seen_by(&env.admin, &env.channel_id).await;
        c["failing_since"].is_null().then_some(c)
    })
    .await;
    assert!(healed["failing_error"].is_null(), "{healed}");

    for (who, api) in [("admin", &env.admin), ("vera", &vera)] {
        let notes = failing_notifications(api).await;
        assert_eq!(
            notes.len(),
            1,
            "one notification per outage for {who}: {notes:#?}"
        );
        let text = notes[0]["text"].as_str().unwrap_or_default();
        assert!(
            text.starts_with("Канал «Main» не отправляет сообщения: ") && text.contains("131000"),
            "{text}"
        );
    }
    assert!(
        failing_notifications(&ivan).await.is_empty(),
        "only admins are told"
    );
}

#[tokio::test]
async fn a_send_in_flight_at_a_crash_is_unknown_until_its_status_heals_it() {
    let mut env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    env.graph.hang_for(WA, Duration::from_secs(120));
    env.client_says(WA, Some("Анна"), "Здравствуйте").await;
    let conv = id_of(&env.conversation_of(WA).await);
    let hung = env.graph.wait_for_to(WA, 1, WAIT).await.remove(0);
    env.graph.stop_hanging(WA);
    env.restart().await;

    let unknown = poll::until("the greeting recorded in doubt", WAIT, || async {
        let m = message(&env, &conv, "greeting").await;
        (m["delivery_unknown"] == true).then_some(m)
    })
    .await;
    assert_eq!(unknown["status"], "failed", "{unknown}");
    assert_eq!(unknown["error"], "delivery unknown", "{unknown}");

    let Outcome::Accepted(wamid) = &hung.outcome else {
        panic!("the fake did not accept the hung send")
    };
    let ours = hung.body["biz_opaque_callback_data"]
        .as_str()
        .expect("the send carries our id")
        .to_owned();
    assert_eq!(ours, id_of(&unknown));
    let mut delivered = Status::new(wamid, "delivered", env.now(), WA);
    delivered.biz_opaque_callback_data = Some(ours);
    let resp = env
        .post_webhook(&status_webhook(PHONE_NUMBER_ID, &[delivered]))
        .await;
    expect_status(&resp, StatusCode::OK, "status webhook");

    let healed = env.wait_status(&conv, "greeting", "delivered", WAIT).await;
    assert!(healed["error"].is_null(), "{healed}");
    assert_eq!(healed["delivery_unknown"], false, "{healed}");
    settle().await;
    assert_eq!(env.graph.messages_to(WA).len(), 1, "never sent twice");
}

/// A PNG-looking file of a couple of kilobytes.
fn png() -> Vec<u8> {
    b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..2000u32).map(|i| (i % 251) as u8))
        .collect()
}

/// POSTs an image with a caption as `multipart/form-data` to the conversation.
async fn send_image(env: &Env, conv: &str, caption: &str, bytes: &[u8]) -> Resp {
    env.admin
        .post_form(
            &format!("/api/v1/conversations/{conv}/messages"),
            &[
                ("text", None, None, caption.as_bytes()),
                ("file", Some("box.png"), Some("image/png"), bytes),
            ],
        )
        .await
}

#[tokio::test]
async fn an_image_is_uploaded_once_and_sent_by_id_with_its_caption_even_when_the_send_is_retried() {
    let env = Env::start(&json!({})).await;
    env.client_says(WA, Some("Анна"), "Пришлите фото").await;
    let conv = id_of(&env.conversation_of(WA).await);
    let bytes = png();
    env.graph.fail_next(1, &Failure::Http500);
    let (status, created) = send_image(&env, &conv, "Вот фото коробки", &bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    env.graph.wait_for_to(WA, 1, WAIT).await;
    advance_until(&env, "the image sent", async || {
        message(&env, &conv, "employee").await["status"] == "sent"
    })
    .await;

    let uploads = env.graph.uploads();
    assert_eq!(
        uploads.len(),
        1,
        "the retry does not upload again: {uploads:#?}"
    );
    let upload = &uploads[0];
    assert_eq!(upload.bytes, bytes);
    assert_eq!(upload.mime_type.as_deref(), Some("image/png"));
    assert_eq!(upload.file_name.as_deref(), Some("box.png"));
    assert_eq!(upload.messaging_product.as_deref(), Some("whatsapp"));
    let sends = env.graph.messages_to(WA);
    assert_eq!(sends.len(), 2, "one failure, one success: {sends:#?}");
    for send in &sends {
        assert_eq!(send.kind(), Some("image"), "{}", send.body);
        assert_eq!(
            send.body["image"],
            json!({"id": upload.id, "caption": "Вот фото коробки"}),
            "{}",
            send.body
        );
    }
}

#[tokio::test]
async fn a_failed_upload_is_visible_and_retried_before_anything_is_sent() {
    let env = Env::start(&json!({})).await;
    env.client_says(WA, Some("Анна"), "Пришлите фото").await;
    let conv = id_of(&env.conversation_of(WA).await);
    env.graph.fail_next_upload(500, 1);
    let (status, created) = send_image(&env, &conv, "Фото", &png()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let failing = poll::until("the failed upload shown on the message", WAIT, || async {
        let m = message(&env, &conv, "employee").await;
        (!m["retry_at"].is_null()).then_some(m)
    })
    .await;
    assert_eq!(failing["status"], "queued", "{failing}");
    assert!(failing["error"].is_string(), "{failing}");
    assert!(
        env.graph.messages_to(WA).is_empty(),
        "nothing sent without the upload"
    );

    advance_until(&env, "the image sent", async || {
        message(&env, &conv, "employee").await["status"] == "sent"
    })
    .await;
    let uploads = env.graph.uploads();
    assert_eq!(uploads.len(), 1, "{uploads:#?}");
    let sends = env.graph.messages_to(WA);
    assert_eq!(sends.len(), 1, "{sends:#?}");
    assert_eq!(sends[0].body["image"]["id"], uploads[0].id.as_str());
    let sent = message(&env, &conv, "employee").await;
    assert!(
        sent["error"].is_null() && sent["retry_at"].is_null(),
        "{sent}"
    );
}
