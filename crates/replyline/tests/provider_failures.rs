//! Provider failures and callbacks: retries, the 24-hour window, permanent errors, statuses, duplicates.

use std::time::Duration;

use replyline_e2e::poll::{WAIT, settle};
use replyline_e2e::setup::{CLOSING, PHONE_NUMBER_ID, id_of, is_decision};
use replyline_e2e::webhook::{Status, status_webhook};
use replyline_e2e::{Env, Failure, Outcome, StatusCode, expect_status, poll};
use serde_json::{Value, json};

const WA: &str = "79001234567";

async fn open(env: &Env) -> String {
    env.client_says(WA, Some("Анна"), "Здравствуйте").await;
    id_of(&env.conversation_of(WA).await)
}

/// Advances the manual clock in steps until the fake has seen `n` requests to `WA`
/// (retries may be scheduled on the manual clock or on real time: both are covered).
async fn advance_until_requests(env: &Env, n: usize) {
    for _ in 0..60 {
        if env.graph.messages_to(WA).len() >= n {
            return;
        }
        env.advance(30).await;
        poll::within(Duration::from_millis(200), || async {
            (env.graph.messages_to(WA).len() >= n).then_some(())
        })
        .await;
    }
    env.graph.wait_for_to(WA, n, WAIT).await;
}

#[tokio::test]
async fn transient_500s_are_retried_and_the_message_is_sent_once() {
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    env.graph.fail_next(2, &Failure::Http500);
    let conv = open(&env).await;
    env.graph.wait_for_to(WA, 1, WAIT).await;
    advance_until_requests(&env, 3).await;
    let greeting = env.wait_status(&conv, "greeting", "sent", WAIT).await;
    settle().await;

    let requests = env.graph.messages_to(WA);
    assert_eq!(
        requests.len(),
        3,
        "two failures and one success: {requests:#?}"
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.accepted_id().is_some())
            .count(),
        1
    );
    assert!(
        requests.iter().all(|r| r.text() == requests[0].text()),
        "retries must resend the same text"
    );
    assert!(
        greeting["error"].is_null() || greeting["error"] == "",
        "sent message keeps an error: {greeting}"
    );
    assert_eq!(env.messages_of_kind(&conv, "greeting").await.len(), 1);
}

#[tokio::test]
async fn a_retried_message_keeps_the_recipients_later_messages_behind_it() {
    // The greeting fails once; the employee's reply, written meanwhile, must
    // not overtake it: the client reads them in the order they were written.
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    env.graph.fail_next(1, &Failure::Http500);
    let conv = open(&env).await;
    env.graph.wait_for_to(WA, 1, WAIT).await;
    let ivan = env.login(&env.ivan).await;
    expect_status(
        &ivan.reply(&conv, "Добрый день!").await,
        StatusCode::CREATED,
        "reply",
    );
    settle().await;
    assert_eq!(
        env.graph.messages_to(WA).len(),
        1,
        "the reply must wait for the greeting's retry"
    );
    advance_until_requests(&env, 3).await;
    let texts: Vec<_> = env
        .graph
        .messages_to(WA)
        .iter()
        .filter(|r| r.accepted_id().is_some())
        .filter_map(|r| r.text().map(str::to_owned))
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].starts_with("Здравствуйте"),
        "greeting first: {texts:?}"
    );
    assert!(
        texts[1].ends_with("Добрый день!"),
        "then the reply: {texts:?}"
    );
}

#[tokio::test]
async fn window_expired_131047_falls_back_to_the_configured_template() {
    let env = Env::start(&json!({
        "closing": {"enabled": true, "template": {"name": "chat_closed", "language": "ru"}}
    }))
    .await;
    let conv = open(&env).await;
    env.graph
        .fail_next_with_code(1, 131047, "Re-engagement message");
    expect_status(&env.admin.close(&conv).await, StatusCode::OK, "close");
    env.graph.wait_for_to(WA, 1, WAIT).await;
    advance_until_requests(&env, 2).await;

    let requests = env.graph.messages_to(WA);
    assert_eq!(
        requests[0].text(),
        Some(CLOSING),
        "first attempt is the free-form text"
    );
    let template = &requests[1];
    assert_eq!(template.kind(), Some("template"), "{:?}", template.body);
    assert_eq!(template.template_name(), Some("chat_closed"));
    assert_eq!(template.body["template"]["language"]["code"], "ru");
    env.wait_status(&conv, "closing", "sent", WAIT).await;
    settle().await;
    assert_eq!(
        env.graph.messages_to(WA).len(),
        2,
        "no free-form retry after 131047"
    );
}

#[tokio::test]
async fn window_expired_131047_without_template_is_skipped_and_not_retried() {
    let env = Env::start(&json!({"closing": {"enabled": true}})).await;
    let conv = open(&env).await;
    env.graph
        .fail_next_with_code(1, 131047, "Re-engagement message");
    expect_status(&env.admin.close(&conv).await, StatusCode::OK, "close");
    env.graph.wait_for_to(WA, 1, WAIT).await;
    let closing = env.wait_status(&conv, "closing", "skipped", WAIT).await;
    env.advance(600).await;
    settle().await;
    assert_eq!(
        env.graph.messages_to(WA).len(),
        1,
        "free text blindly retried after 131047"
    );
    assert!(
        !closing["error"].is_null(),
        "skipped message should say why: {closing}"
    );
}

#[tokio::test]
async fn outside_the_window_an_automatic_message_is_not_attempted_and_recorded_skipped() {
    let env = Env::start(&json!({"closing": {"enabled": true}})).await;
    let conv = open(&env).await;
    env.advance(25 * 3600).await;
    expect_status(&env.admin.close(&conv).await, StatusCode::OK, "close");
    env.wait_status(&conv, "closing", "skipped", WAIT).await;
    settle().await;
    assert!(
        env.graph.messages_to(WA).is_empty(),
        "a free-form message was attempted outside the window"
    );
    let events = env.events(&conv).await;
    assert!(
        events
            .iter()
            .any(|e| is_decision(e, &["closing", "r3"], "suppressed")
                && e["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("24h") || r.contains("window"))),
        "no suppressed closing decision with the window reason: {events:#?}"
    );
}

#[tokio::test]
async fn outside_the_window_an_automatic_message_uses_its_template() {
    let env = Env::start(&json!({
        "closing": {"enabled": true, "template": {"name": "chat_closed", "language": "ru"}}
    }))
    .await;
    let conv = open(&env).await;
    env.advance(25 * 3600).await;
    expect_status(&env.admin.close(&conv).await, StatusCode::OK, "close");
    let sent = env.graph.wait_for_to(WA, 1, WAIT).await;
    assert_eq!(sent[0].kind(), Some("template"), "{:?}", sent[0].body);
    assert_eq!(sent[0].template_name(), Some("chat_closed"));
    env.wait_status(&conv, "closing", "sent", WAIT).await;
}

#[tokio::test]
async fn permanent_131026_marks_the_message_failed_with_the_error() {
    let env = Env::start(&json!({})).await;
    let conv = open(&env).await;
    expect_status(
        &env.admin.assign(&conv, Some(&env.ivan.id)).await,
        StatusCode::OK,
        "assign",
    );
    env.graph
        .fail_next_with_code(1, 131026, "Message undeliverable");
    let ivan = env.login(&env.ivan).await;
    let (status, msg) = ivan.reply(&conv, "Добрый день!").await;
    assert_eq!(status, StatusCode::CREATED, "{msg}");
    env.graph.wait_for_to(WA, 1, WAIT).await;
    let failed = env.wait_status(&conv, "employee", "failed", WAIT).await;
    let error = &failed["error"];
    assert!(
        error.as_str().is_some_and(|s| !s.trim().is_empty()) || error.is_object(),
        "failed message must show its error: {failed}"
    );
    env.advance(600).await;
    settle().await;
    assert_eq!(
        env.graph.messages_to(WA).len(),
        1,
        "a permanent error was retried"
    );
}

#[tokio::test]
async fn out_of_order_statuses_never_downgrade() {
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    let conv = open(&env).await;
    let sent = env.graph.wait_for_to(WA, 1, WAIT).await;
    let Outcome::Accepted(wamid) = &sent[0].outcome else {
        panic!("fake did not accept")
    };
    let opaque = sent[0].body["biz_opaque_callback_data"]
        .as_str()
        .map(str::to_owned);
    env.wait_status(&conv, "greeting", "sent", WAIT).await;

    let status = |s: &str| {
        let mut st = Status::new(wamid, s, env.now(), WA);
        st.biz_opaque_callback_data.clone_from(&opaque);
        st
    };
    expect_status(
        &env.post_webhook(&status_webhook(PHONE_NUMBER_ID, &[status("read")]))
            .await,
        StatusCode::OK,
        "read status",
    );
    env.wait_status(&conv, "greeting", "read", WAIT).await;
    for s in ["delivered", "sent"] {
        expect_status(
            &env.post_webhook(&status_webhook(PHONE_NUMBER_ID, &[status(s)]))
                .await,
            StatusCode::OK,
            s,
        );
    }
    // Barrier: a later inbound message is processed after the stale statuses.
    env.client_says(WA, Some("Анна"), "Спасибо").await;
    env.wait_messages(&conv, "client messages", 2, |m| m["direction"] == "in")
        .await;
    settle().await;
    let greeting = env.messages_of_kind(&conv, "greeting").await;
    assert_eq!(
        greeting[0]["status"], "read",
        "status downgraded: {}",
        greeting[0]
    );
}

#[tokio::test]
async fn delivered_and_read_in_one_batch_end_as_read() {
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    let conv = open(&env).await;
    let sent = env.graph.wait_for_to(WA, 1, WAIT).await;
    let wamid = sent[0].accepted_id().expect("accepted").to_owned();
    env.wait_status(&conv, "greeting", "sent", WAIT).await;
    let body = status_webhook(
        PHONE_NUMBER_ID,
        &[
            Status::new(&wamid, "read", env.now(), WA),
            Status::new(&wamid, "delivered", env.now(), WA),
        ],
    );
    expect_status(
        &env.post_webhook(&body).await,
        StatusCode::OK,
        "batched statuses",
    );
    env.wait_status(&conv, "greeting", "read", WAIT).await;
}

#[tokio::test]
async fn duplicate_inbound_deliveries_are_stored_once() {
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    let msg = env.text(WA, Some("Анна"), "Здравствуйте");
    let body = msg.to_webhook();
    for _ in 0..3 {
        expect_status(&env.post_webhook(&body).await, StatusCode::OK, "delivery");
    }
    let (a, b, c, d) = tokio::join!(
        env.post_webhook(&body),
        env.post_webhook(&body),
        env.post_webhook(&body),
        env.post_webhook(&body)
    );
    for resp in [a, b, c, d] {
        expect_status(&resp, StatusCode::OK, "concurrent delivery");
    }
    let conv = id_of(&env.conversation_of(WA).await);
    env.graph.wait_for_to(WA, 1, WAIT).await;
    // Barrier: a distinct message is stored after the duplicates.
    env.client_says(WA, Some("Анна"), "Второе").await;
    env.wait_messages(&conv, "client messages", 2, |m| m["direction"] == "in")
        .await;
    settle().await;
    let inbound: Vec<Value> = env
        .messages(&conv)
        .await
        .into_iter()
        .filter(|m| m["direction"] == "in")
        .collect();
    assert_eq!(inbound.len(), 2, "duplicates stored: {inbound:#?}");
    assert_eq!(env.conversations_of(WA).await.len(), 1);
    assert_eq!(
        env.graph.messages_to(WA).len(),
        1,
        "greeting sent more than once"
    );
}

#[tokio::test]
async fn failed_status_callback_marks_the_message_failed_with_its_error() {
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    let conv = open(&env).await;
    let sent = env.graph.wait_for_to(WA, 1, WAIT).await;
    let wamid = sent[0].accepted_id().expect("accepted").to_owned();
    env.wait_status(&conv, "greeting", "sent", WAIT).await;
    let mut failed = Status::new(&wamid, "failed", env.now(), WA);
    failed.errors = vec![json!({"code": 131026, "title": "Message undeliverable",
        "error_data": {"details": "Message Undeliverable."}})];
    expect_status(
        &env.post_webhook(&status_webhook(PHONE_NUMBER_ID, &[failed]))
            .await,
        StatusCode::OK,
        "failed status",
    );
    let msg = env.wait_status(&conv, "greeting", "failed", WAIT).await;
    assert!(
        !msg["error"].is_null(),
        "failed status must show the error: {msg}"
    );
}

#[tokio::test]
async fn a_timed_out_send_is_recorded_and_not_blindly_resent() {
    // The fake answers after 25 s, longer than any sane client timeout.
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    env.graph
        .fail_next(1, &Failure::Delay(Duration::from_secs(25)));
    let conv = open(&env).await;
    env.graph.wait_for_to(WA, 1, WAIT).await;
    let greeting = poll::until(
        "the timed-out greeting leaves `queued`",
        Duration::from_secs(40),
        || async {
            env.messages_of_kind(&conv, "greeting")
                .await
                .into_iter()
                .find(|m| m["status"] != "queued")
        },
    )
    .await;
    env.advance(600).await;
    settle().await;
    assert_eq!(
        env.graph.messages_to(WA).len(),
        1,
        "an ambiguous (timed-out) send was resent blindly; message: {greeting}"
    );
    let greeting = env.messages_of_kind(&conv, "greeting").await.remove(0);
    assert!(
        greeting["status"] == "failed" && !greeting["error"].is_null()
            || greeting["status"] == "sent",
        "a timed-out send should be recorded as failed with its reason: {greeting}"
    );
}

#[tokio::test]
async fn auth_error_190_is_shown_and_not_retried_in_a_loop() {
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    env.graph
        .fail_next_with_code(5, 190, "Error validating access token");
    let conv = open(&env).await;
    env.graph.wait_for_to(WA, 1, WAIT).await;
    for _ in 0..10 {
        env.advance(60).await;
    }
    settle().await;
    let attempts = env.graph.messages_to(WA).len();
    assert!(
        attempts <= 3,
        "an auth failure (190) was retried {attempts} times"
    );
    let greeting = env.messages_of_kind(&conv, "greeting").await.remove(0);
    assert_ne!(greeting["status"], "sent", "{greeting}");
    assert!(
        !greeting["error"].is_null() || greeting["status"] == "queued",
        "the auth failure should be visible on the message: {greeting}"
    );
}
