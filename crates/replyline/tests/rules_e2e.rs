//! Rules R1–R10 of SPEC §3 observed end to end: real webhooks in, the fake Graph out, the manual clock.

use replyline_e2e::poll::{WAIT, settle};
use replyline_e2e::server::parse_rfc3339;
use replyline_e2e::setup::{
    API_VERSION, APP_SECRET, CLOSING, NO_REPLY, OUT_OF_HOURS, PHONE_NUMBER_ID, id_of, is_decision,
};
use replyline_e2e::{Env, StatusCode, expect_status, poll};
use serde_json::{Value, json};

const WA: &str = "79001234567";

/// Texts the fake received for `WA`, in order.
fn texts_to(env: &Env, to: &str) -> Vec<String> {
    env.graph
        .messages_to(to)
        .iter()
        .map(|r| {
            r.text()
                .or(r.template_name())
                .unwrap_or("<no text>")
                .to_owned()
        })
        .collect()
}

/// Opens a conversation by a client message and answers its id.
async fn open(env: &Env, wa: &str, name: Option<&str>, text: &str) -> String {
    env.client_says(wa, name, text).await;
    id_of(&env.conversation_of(wa).await)
}

async fn assign_ivan(env: &Env, conv: &str) {
    let resp = env.admin.assign(conv, Some(&env.ivan.id)).await;
    expect_status(&resp, StatusCode::OK, "assign to ivan");
}

/// Notifications of `person` with `reason`.
async fn notifications(env: &Env, person: &replyline_e2e::Person, reason: &str) -> Vec<Value> {
    env.notifications_of(person)
        .await
        .into_iter()
        .filter(|n| n["reason"] == reason)
        .collect()
}

async fn wait_notification(env: &Env, person: &replyline_e2e::Person, reason: &str) -> Value {
    poll::until(
        &format!("a {reason} notification for {}", person.name),
        WAIT,
        || async { notifications(env, person, reason).await.into_iter().next() },
    )
    .await
}

async fn assert_fired(env: &Env, conv: &str, names: &[&str]) -> Value {
    let events = env.events(conv).await;
    events
        .iter()
        .find(|e| is_decision(e, names, "fired"))
        .cloned()
        .unwrap_or_else(|| panic!("no fired {names:?} decision on the timeline: {events:#?}"))
}

#[tokio::test]
async fn r1_greeting_is_sent_once_when_a_client_opens_a_conversation() {
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;

    let sent = env.graph.wait_for_to(WA, 1, WAIT).await;
    let greeting = &sent[0];
    assert_eq!(
        greeting.text(),
        Some("Здравствуйте, Анна! Чем можем помочь?"),
        "{:?}",
        greeting.body
    );
    assert_eq!(greeting.kind(), Some("text"));
    assert_eq!(
        greeting.path,
        format!("/{API_VERSION}/{PHONE_NUMBER_ID}/messages")
    );
    assert_eq!(greeting.authorization.as_deref(), Some("Bearer tok"));
    assert_eq!(greeting.body["messaging_product"], "whatsapp");
    env.wait_status(&conv, "greeting", "sent", WAIT).await;

    // A second client message in the same conversation gets no greeting.
    env.client_says(WA, Some("Анна"), "Ещё вопрос").await;
    env.wait_messages(&conv, "client messages", 2, |m| m["direction"] == "in")
        .await;
    settle().await;
    assert_eq!(env.messages_of_kind(&conv, "greeting").await.len(), 1);
    assert_eq!(
        texts_to(&env, WA).len(),
        1,
        "sent: {:?}",
        texts_to(&env, WA)
    );
    assert_fired(&env, &conv, &["greeting", "r1"]).await;

    // Unknown name: the fallback of {client_name|клиент}.
    let other = "79005550000";
    open(&env, other, None, "Добрый день").await;
    let sent = env.graph.wait_for_to(other, 1, WAIT).await;
    assert_eq!(
        sent[0].text(),
        Some("Здравствуйте, клиент! Чем можем помочь?")
    );
}

#[tokio::test]
async fn r2_no_reply_fires_once_per_wait_at_the_deadline() {
    let env = Env::start(&json!({"no_reply": {"enabled": true, "after_seconds": 300}})).await;
    let start = env.now();
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;

    env.advance(299).await;
    settle().await;
    assert!(
        texts_to(&env, WA).is_empty(),
        "sent before the deadline: {:?}",
        texts_to(&env, WA)
    );

    env.advance(1).await;
    let sent = env.graph.wait_for_to(WA, 1, WAIT).await;
    assert_eq!(sent[0].text(), Some(NO_REPLY));
    env.wait_status(&conv, "no_reply", "sent", WAIT).await;

    // A later client message during the same wait does not restart it.
    env.advance(10).await;
    env.client_says(WA, Some("Анна"), "Алло?").await;
    env.wait_messages(&conv, "client messages", 2, |m| m["direction"] == "in")
        .await;
    env.advance(600).await;
    settle().await;
    assert_eq!(
        texts_to(&env, WA),
        vec![NO_REPLY.to_owned()],
        "no-reply must fire once per wait"
    );

    let fired = assert_fired(&env, &conv, &["no_reply", "r2"]).await;
    if let Some(at) = fired["at"].as_str() {
        assert_eq!(
            parse_rfc3339(at),
            start + 300,
            "no-reply decision time: {fired}"
        );
    }
}

#[tokio::test]
async fn r2_r6_an_employee_reply_in_time_is_signed_and_prevents_the_no_reply() {
    let env = Env::start(&json!({
        "no_reply": {"enabled": true, "after_seconds": 300},
        "sign_outgoing": {"enabled": true}
    }))
    .await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign_ivan(&env, &conv).await;
    env.advance(100).await;

    let ivan = env.login(&env.ivan).await;
    let (status, msg) = ivan.reply(&conv, "Добрый день!").await;
    assert_eq!(status, StatusCode::CREATED, "ivan's reply: {msg}");
    assert_eq!(msg["direction"], "out", "{msg}");
    assert_eq!(msg["kind"], "employee", "{msg}");
    assert_eq!(
        msg["employee_id"].as_str(),
        Some(env.ivan.id.as_str()),
        "{msg}"
    );

    let sent = env.graph.wait_for_to(WA, 1, WAIT).await;
    assert_eq!(sent[0].text(), Some("*Иван Петров*:\nДобрый день!"));
    env.wait_status(&conv, "employee", "sent", WAIT).await;

    // Past the original deadline: no no-reply, the wait ended at 100 s.
    env.advance(300).await;
    settle().await;
    assert_eq!(
        texts_to(&env, WA),
        vec!["*Иван Петров*:\nДобрый день!".to_owned()]
    );

    // A note does not end a wait and is never sent.
    env.client_says(WA, Some("Анна"), "Ещё вопрос").await;
    env.wait_messages(&conv, "client messages", 2, |m| m["direction"] == "in")
        .await;
    let (status, note) = ivan.note(&conv, "внутренняя заметка").await;
    assert_eq!(status, StatusCode::CREATED, "note: {note}");
    assert_eq!(note["kind"], "note");
    env.advance(300).await;
    let sent = env.graph.wait_for_to(WA, 2, WAIT).await;
    assert_eq!(
        sent[1].text(),
        Some(NO_REPLY),
        "the note must not end the wait"
    );
    assert!(
        env.graph
            .messages()
            .iter()
            .all(|r| r.text() != Some("внутренняя заметка")),
        "a note was sent to the client"
    );
    // Oldest first, every kind as stored.
    env.wait_status(&conv, "no_reply", "sent", WAIT).await;
    let msgs = env.messages(&conv).await;
    let kinds: Vec<&str> = msgs
        .iter()
        .map(|m| m["kind"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        kinds,
        ["client", "employee", "client", "note", "no_reply"],
        "{msgs:#?}"
    );
    let times: Vec<i64> = msgs
        .iter()
        .map(|m| parse_rfc3339(m["created_at"].as_str().unwrap_or("1970-01-01T00:00:00Z")))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "not oldest first: {times:?}"
    );
}

#[tokio::test]
async fn r3_closing_message_on_close_and_nothing_pending_fires_afterwards() {
    let env = Env::start(&json!({
        "closing": {"enabled": true},
        "no_reply": {"enabled": true, "after_seconds": 300},
        "notify_manager_first": {"enabled": true, "after_seconds": 600}
    }))
    .await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign_ivan(&env, &conv).await;
    env.advance(60).await;

    let (status, closed) = env.admin.close(&conv).await;
    assert_eq!(status, StatusCode::OK, "close: {closed}");
    assert_eq!(closed["status"], "closed", "{closed}");
    assert!(closed["closed_at"].is_string(), "closed_at: {closed}");

    let sent = env.graph.wait_for_to(WA, 1, WAIT).await;
    assert_eq!(sent[0].text(), Some(CLOSING));
    env.wait_status(&conv, "closing", "sent", WAIT).await;
    assert_fired(&env, &conv, &["closing", "r3"]).await;

    // Closing cancels the no-reply and the manager notification.
    env.advance(1000).await;
    settle().await;
    assert_eq!(texts_to(&env, WA), vec![CLOSING.to_owned()]);
    assert!(
        env.notifications_of(&env.olga).await.is_empty(),
        "notified after close"
    );
    assert_eq!(env.conversation(&conv).await["status"], "closed");
}

#[tokio::test]
async fn r4_first_message_manager_notification_at_the_deadline_once() {
    let env =
        Env::start(&json!({"notify_manager_first": {"enabled": true, "after_seconds": 600}})).await;
    let start = env.now();
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign_ivan(&env, &conv).await;

    env.advance(599).await;
    assert!(
        env.notifications_of(&env.olga).await.is_empty(),
        "olga notified before the deadline"
    );

    env.advance(1).await;
    let n = wait_notification(&env, &env.olga, "first_message").await;
    assert_eq!(n["conversation_id"].as_str(), Some(conv.as_str()), "{n}");
    assert_eq!(n["employee_id"].as_str(), Some(env.ivan.id.as_str()), "{n}");
    assert_eq!(n["manager_id"].as_str(), Some(env.olga.id.as_str()), "{n}");
    assert_eq!(
        n["wait_started_at"].as_str().map(parse_rfc3339),
        Some(start),
        "{n}"
    );
    assert!(n["read_at"].is_null(), "{n}");

    // Unread list, and marking it read.
    let olga = env.login(&env.olga).await;
    let (status, unread) = olga.notifications(true).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unread.as_array().map(Vec::len), Some(1), "{unread}");
    let (status, body) = olga.read_notification(&id_of(&n)).await;
    assert!(status.is_success(), "mark read: {status} {body}");
    let (_, unread) = olga.notifications(true).await;
    assert_eq!(unread.as_array().map(Vec::len), Some(0), "{unread}");

    // Once per conversation; nobody else is notified.
    env.advance(3000).await;
    assert_eq!(env.notifications_of(&env.olga).await.len(), 1);
    assert!(
        env.notifications_of(&env.ivan).await.is_empty(),
        "ivan notified"
    );
    assert!(
        env.notifications_of(&env.dmitry).await.is_empty(),
        "dmitry notified"
    );
    assert_fired(&env, &conv, &["first", "r4"]).await;
    assert!(
        texts_to(&env, WA).is_empty(),
        "a notification was sent to the client"
    );
}

#[tokio::test]
async fn r5_subsequent_message_manager_notification() {
    let env = Env::start(&json!({
        "notify_manager_first": {"enabled": true, "after_seconds": 600},
        "notify_manager_next": {"enabled": true, "after_seconds": 900}
    }))
    .await;
    let start = env.now();
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign_ivan(&env, &conv).await;
    env.advance(100).await;
    let ivan = env.login(&env.ivan).await;
    expect_status(
        &ivan.reply(&conv, "Добрый день!").await,
        StatusCode::CREATED,
        "reply",
    );
    env.advance(100).await;
    env.client_says(WA, Some("Анна"), "Ещё вопрос").await;
    env.wait_messages(&conv, "client messages", 2, |m| m["direction"] == "in")
        .await;

    env.advance(899).await;
    assert!(
        env.notifications_of(&env.olga).await.is_empty(),
        "notified too early"
    );
    env.advance(1).await;
    let n = wait_notification(&env, &env.olga, "next_message").await;
    assert_eq!(n["conversation_id"].as_str(), Some(conv.as_str()), "{n}");
    assert_eq!(n["employee_id"].as_str(), Some(env.ivan.id.as_str()), "{n}");
    assert_eq!(
        n["wait_started_at"].as_str().map(parse_rfc3339),
        Some(start + 200),
        "{n}"
    );
    env.advance(2000).await;
    let all = env.notifications_of(&env.olga).await;
    assert_eq!(
        all.len(),
        1,
        "exactly one notification (first wait was answered): {all:#?}"
    );
}

#[tokio::test]
async fn r7_out_of_hours_replaces_the_greeting_once_per_period() {
    // 2026-11-25 10:00 Moscow is outside 12:00-18:00.
    let hours = json!(["12:00-18:00"]);
    let env = Env::start(&json!({
        "greeting": {"enabled": true},
        "out_of_hours": {"enabled": true},
        "working_hours": {"enabled": true, "timezone": "Europe/Moscow", "holidays": [],
            "week": {"mon": hours, "tue": hours, "wed": hours, "thu": hours, "fri": hours, "sat": hours, "sun": hours}}
    }))
    .await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    let sent = env.graph.wait_for_to(WA, 1, WAIT).await;
    assert_eq!(sent[0].text(), Some(OUT_OF_HOURS));
    env.wait_status(&conv, "out_of_hours", "sent", WAIT).await;

    env.advance(60).await;
    env.client_says(WA, Some("Анна"), "Алло?").await;
    env.wait_messages(&conv, "client messages", 2, |m| m["direction"] == "in")
        .await;
    settle().await;
    assert_eq!(
        texts_to(&env, WA),
        vec![OUT_OF_HOURS.to_owned()],
        "once per non-working period, no greeting"
    );
    assert!(
        env.messages_of_kind(&conv, "greeting").await.is_empty(),
        "greeting stored too"
    );
    assert_fired(&env, &conv, &["out_of_hours", "r7"]).await;
}

#[tokio::test]
async fn r8_auto_close_after_the_last_employee_message() {
    let env = Env::start(&json!({
        "auto_close": {"enabled": true, "after_seconds": 3600},
        "closing": {"enabled": true, "on_auto_close": true}
    }))
    .await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign_ivan(&env, &conv).await;
    env.advance(10).await;
    let ivan = env.login(&env.ivan).await;
    expect_status(
        &ivan.reply(&conv, "Готово!").await,
        StatusCode::CREATED,
        "reply",
    );
    env.graph.wait_for_to(WA, 1, WAIT).await;

    env.advance(3599).await;
    assert_eq!(
        env.conversation(&conv).await["status"],
        "open",
        "closed too early"
    );
    env.advance(1).await;
    poll::until("auto-close", WAIT, || async {
        (env.conversation(&conv).await["status"] == "closed").then_some(())
    })
    .await;
    let sent = env.graph.wait_for_to(WA, 2, WAIT).await;
    assert_eq!(sent[1].text(), Some(CLOSING), "closing on auto-close");
    env.advance(7200).await;
    settle().await;
    assert_eq!(env.graph.messages_to(WA).len(), 2, "auto-close fires once");
}

#[tokio::test]
async fn r8_a_new_wait_cancels_auto_close() {
    let env = Env::start(&json!({"auto_close": {"enabled": true, "after_seconds": 3600}})).await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign_ivan(&env, &conv).await;
    let ivan = env.login(&env.ivan).await;
    expect_status(
        &ivan.reply(&conv, "Готово!").await,
        StatusCode::CREATED,
        "reply",
    );
    env.advance(1800).await;
    env.client_says(WA, Some("Анна"), "Ещё вопрос").await;
    env.wait_messages(&conv, "client messages", 2, |m| m["direction"] == "in")
        .await;
    env.advance(3600).await;
    assert_eq!(
        env.conversation(&conv).await["status"],
        "open",
        "auto-closed during a wait"
    );
}

#[tokio::test]
async fn r9_escalation_along_the_manager_chain() {
    let env = Env::start(&json!({
        "notify_manager_first": {"enabled": true, "after_seconds": 600, "escalate_after_seconds": 300}
    }))
    .await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign_ivan(&env, &conv).await;

    env.advance(600).await;
    wait_notification(&env, &env.olga, "first_message").await;
    env.advance(299).await;
    assert!(
        env.notifications_of(&env.dmitry).await.is_empty(),
        "escalated too early"
    );
    env.advance(1).await;
    let n = wait_notification(&env, &env.dmitry, "first_message_escalated").await;
    assert_eq!(n["conversation_id"].as_str(), Some(conv.as_str()), "{n}");
    assert_eq!(
        n["manager_id"].as_str(),
        Some(env.dmitry.id.as_str()),
        "{n}"
    );

    env.advance(3000).await;
    assert_eq!(
        env.notifications_of(&env.dmitry).await.len(),
        1,
        "escalation once per notification"
    );
    assert_eq!(env.notifications_of(&env.olga).await.len(), 1);
    let admin = array_of(env.admin.notifications(false).await);
    assert!(
        admin.is_empty(),
        "admin notified although dmitry exists: {admin:#?}"
    );
}

fn array_of(resp: replyline_e2e::Resp) -> Vec<Value> {
    replyline_e2e::setup::array(resp, "GET notifications")
}

#[tokio::test]
async fn r9_no_escalation_when_the_wait_ends_in_time() {
    let env = Env::start(&json!({
        "notify_manager_first": {"enabled": true, "after_seconds": 600, "escalate_after_seconds": 300}
    }))
    .await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign_ivan(&env, &conv).await;
    env.advance(600).await;
    wait_notification(&env, &env.olga, "first_message").await;
    env.advance(100).await;
    let ivan = env.login(&env.ivan).await;
    expect_status(
        &ivan.reply(&conv, "Извините за ожидание").await,
        StatusCode::CREATED,
        "reply",
    );
    env.advance(1000).await;
    assert!(
        env.notifications_of(&env.dmitry).await.is_empty(),
        "escalated after the wait ended"
    );
}

#[tokio::test]
async fn r10_reopen_within_the_window_keeps_the_conversation_without_greeting() {
    let env = Env::start(&json!({
        "greeting": {"enabled": true},
        "reopen": {"enabled": true, "within_seconds": 3600},
        "notify_manager_next": {"enabled": true, "after_seconds": 900}
    }))
    .await;
    env.put_settings(&json!({"supervisors": [env.olga.id]}))
        .await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    env.graph.wait_for_to(WA, 1, WAIT).await;
    env.advance(10).await;
    expect_status(&env.admin.close(&conv).await, StatusCode::OK, "close");

    env.advance(100).await;
    env.client_says(WA, Some("Анна"), "Забыла спросить").await;
    let reopened = poll::until("the conversation reopened", WAIT, || async {
        let c = env.conversation(&conv).await;
        (c["status"] == "open").then_some(c)
    })
    .await;
    assert!(
        reopened["closed_at"].is_null(),
        "reopened conversation keeps closed_at: {reopened}"
    );
    let convs = env.conversations_of(WA).await;
    assert_eq!(
        convs.len(),
        1,
        "reopen must not create a new conversation: {convs:#?}"
    );
    env.wait_messages(&conv, "client messages", 2, |m| m["direction"] == "in")
        .await;
    settle().await;
    assert_eq!(
        env.messages_of_kind(&conv, "greeting").await.len(),
        1,
        "no greeting on reopen"
    );

    // Its wait is a subsequent-message wait.
    env.advance(900).await;
    let n = wait_notification(&env, &env.olga, "next_message").await;
    assert_eq!(n["conversation_id"].as_str(), Some(conv.as_str()));
    assert!(
        notifications(&env, &env.olga, "first_message")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn r10_after_the_reopen_window_a_new_conversation_opens_with_a_greeting() {
    let env = Env::start(&json!({
        "greeting": {"enabled": true},
        "reopen": {"enabled": true, "within_seconds": 3600}
    }))
    .await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    env.graph.wait_for_to(WA, 1, WAIT).await;
    expect_status(&env.admin.close(&conv).await, StatusCode::OK, "close");
    env.advance(3601).await;
    env.client_says(WA, Some("Анна"), "Снова я").await;
    let convs = poll::until("a second conversation", WAIT, || async {
        let convs = env.conversations_of(WA).await;
        (convs.len() == 2).then_some(convs)
    })
    .await;
    assert!(
        convs
            .iter()
            .any(|c| id_of(c) != conv && c["status"] == "open"),
        "{convs:#?}"
    );
    assert_eq!(env.conversation(&conv).await["status"], "closed");
    env.graph.wait_for_to(WA, 2, WAIT).await;
}

#[tokio::test]
async fn one_long_clock_advance_fires_chained_deadlines() {
    // One advance of 1000 s processes every deadline that falls due in it,
    // including one that the first creates: R4 at +600, then R9 at +900.
    let env = Env::start(&json!({
        "notify_manager_first": {"enabled": true, "after_seconds": 600, "escalate_after_seconds": 300}
    }))
    .await;
    let start = env.now();
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign_ivan(&env, &conv).await;
    env.advance(1000).await;
    let n = wait_notification(&env, &env.olga, "first_message").await;
    let escalated = notifications(&env, &env.dmitry, "first_message_escalated").await;
    assert_eq!(
        escalated.len(),
        1,
        "escalation due at +900 must fire within one advance to +1000: {escalated:#?}"
    );
    // The manual clock steps through each due instant, so every firing is
    // stamped when it would have happened in real time.
    let created = n["created_at"].as_str().map_or(0, parse_rfc3339) - start;
    assert_eq!(created, 600, "R4 notification stamped at its deadline: {n}");
    let escalated_at = escalated[0]["created_at"].as_str().map_or(0, parse_rfc3339) - start;
    assert_eq!(
        escalated_at, 900,
        "R9 stamped at its deadline: {escalated:#?}"
    );
}

#[tokio::test]
async fn settings_changes_apply_to_open_conversations() {
    let env = Env::start(&json!({"no_reply": {"enabled": true, "after_seconds": 300}})).await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    env.advance(100).await;
    // A shorter delay that is already past fires at once (no clock advance needed).
    env.put_settings(&json!({"no_reply": {"after_seconds": 60}}))
        .await;
    let sent = env.graph.wait_for_to(WA, 1, WAIT).await;
    assert_eq!(sent[0].text(), Some(NO_REPLY));

    // A disabled rule cancels its pending deadline.
    let other = "79005550000";
    env.put_settings(&json!({"no_reply": {"after_seconds": 300}}))
        .await;
    open(&env, other, None, "Добрый день").await;
    env.advance(100).await;
    env.put_settings(&json!({"no_reply": {"enabled": false}}))
        .await;
    env.advance(400).await;
    settle().await;
    assert!(
        texts_to(&env, other).is_empty(),
        "disabled no-reply fired: {:?}",
        texts_to(&env, other)
    );
    assert_eq!(env.messages_of_kind(&conv, "no_reply").await.len(), 1);
}

#[tokio::test]
async fn which_manager_assignee_at_firing_then_supervisors_then_admins() {
    let env =
        Env::start(&json!({"notify_manager_first": {"enabled": true, "after_seconds": 600}})).await;

    // Reassigned mid-wait: the deadline is not restarted, and the manager of the
    // assignee at the moment of firing (olga -> dmitry) is notified.
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign_ivan(&env, &conv).await;
    env.advance(300).await;
    expect_status(
        &env.admin.assign(&conv, Some(&env.olga.id)).await,
        StatusCode::OK,
        "reassign",
    );
    env.advance(300).await;
    let n = wait_notification(&env, &env.dmitry, "first_message").await;
    assert_eq!(n["conversation_id"].as_str(), Some(conv.as_str()), "{n}");
    assert!(
        notifications(&env, &env.olga, "first_message")
            .await
            .is_empty(),
        "olga notified for her own wait"
    );

    // No assignee, no supervisors: every admin.
    let unassigned = open(&env, "79005550001", None, "Есть кто?").await;
    env.advance(600).await;
    let admin_notes = poll::until("an admin notification", WAIT, || async {
        let all = replyline_e2e::setup::array(
            env.admin.notifications(false).await,
            "admin notifications",
        );
        all.into_iter()
            .find(|n| n["conversation_id"].as_str() == Some(unassigned.as_str()))
    })
    .await;
    assert_eq!(admin_notes["reason"], "first_message");

    // No assignee, supervisors set: the supervisors.
    env.put_settings(&json!({"supervisors": [env.olga.id]}))
        .await;
    let supervised = open(&env, "79005550002", None, "Алло").await;
    env.advance(600).await;
    let n = wait_notification(&env, &env.olga, "first_message").await;
    assert_eq!(
        n["conversation_id"].as_str(),
        Some(supervised.as_str()),
        "{n}"
    );
}

#[tokio::test]
async fn r6_on_change_signs_only_when_the_sender_changes() {
    let env = Env::start(&json!({"sign_outgoing": {"enabled": true, "mode": "on_change"}})).await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign_ivan(&env, &conv).await;
    let ivan = env.login(&env.ivan).await;
    let olga = env.login(&env.olga).await;
    expect_status(
        &ivan.reply(&conv, "Раз").await,
        StatusCode::CREATED,
        "reply 1",
    );
    env.graph.wait_for_to(WA, 1, WAIT).await;
    expect_status(
        &ivan.reply(&conv, "Два").await,
        StatusCode::CREATED,
        "reply 2",
    );
    env.graph.wait_for_to(WA, 2, WAIT).await;
    expect_status(
        &olga.reply(&conv, "Три").await,
        StatusCode::CREATED,
        "reply 3",
    );
    env.graph.wait_for_to(WA, 3, WAIT).await;
    assert_eq!(
        texts_to(&env, WA),
        vec![
            "*Иван Петров*:\nРаз".to_owned(),
            "Два".to_owned(),
            "*Ольга Смирнова*:\nТри".to_owned()
        ]
    );
}

#[tokio::test]
async fn delays_count_working_time_only() {
    // Friday 2026-11-27 17:58 Moscow; 5 minutes of working time end Monday 09:03.
    let opts = replyline_e2e::ServerOpts {
        clock_start: "2026-11-27T14:58:00Z".to_owned(),
        ..Default::default()
    };
    let env = Env::start_with(
        opts,
        &json!({
            // Monday is past the 24-hour window: the no-reply goes out as its template.
            "no_reply": {"enabled": true, "after_seconds": 300,
                         "template": {"name": "busy", "language": "ru"}},
            "working_hours": {"enabled": true, "holidays": [], "count_working_time_only": true}
        }),
    )
    .await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    let to_monday_0903 = parse_rfc3339("2026-11-30T06:03:00Z") - env.now();
    env.advance(to_monday_0903 - 1).await;
    settle().await;
    assert!(
        texts_to(&env, WA).is_empty(),
        "fired outside working time: {:?}",
        texts_to(&env, WA)
    );
    env.advance(1).await;
    let sent = env.graph.wait_for_to(WA, 1, WAIT).await;
    assert_eq!(sent[0].template_name(), Some("busy"), "{:?}", sent[0].body);
    let fired = assert_fired(&env, &conv, &["no_reply", "r2"]).await;
    assert_eq!(
        fired["at"].as_str().map(parse_rfc3339),
        Some(parse_rfc3339("2026-11-30T06:03:00Z"))
    );
}

#[tokio::test]
async fn r1_an_employee_opened_conversation_gets_no_greeting() {
    let env =
        Env::start(&json!({"greeting": {"enabled": true}, "sign_outgoing": {"enabled": true}}))
            .await;
    // The client wrote before (window open); that conversation is closed.
    let first = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    env.graph.wait_for_to(WA, 1, WAIT).await;
    expect_status(&env.admin.close(&first).await, StatusCode::OK, "close");

    let ivan = env.login(&env.ivan).await;
    let (status, conv) = ivan
        .open_conversation(&env.channel_id, WA, "Анна, ваш заказ готов")
        .await;
    assert!(
        status.is_success(),
        "employee opens a conversation: {status} {conv}"
    );
    assert_eq!(
        conv["assignee_id"].as_str(),
        Some(env.ivan.id.as_str()),
        "{conv}"
    );
    let conv_id = id_of(&conv);
    assert_ne!(conv_id, first);
    let sent = env.graph.wait_for_to(WA, 2, WAIT).await;
    assert_eq!(
        sent[1].text(),
        Some("*Иван Петров*:\nАнна, ваш заказ готов")
    );

    env.client_says(WA, Some("Анна"), "Спасибо!").await;
    env.wait_messages(&conv_id, "client messages", 1, |m| m["direction"] == "in")
        .await;
    settle().await;
    assert_eq!(
        env.graph.messages_to(WA).len(),
        2,
        "greeting sent into an employee-opened conversation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r1_concurrent_first_messages_open_one_conversation_with_one_greeting() {
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    let bodies: Vec<Value> = (0..8)
        .map(|i| {
            env.text(WA, Some("Анна"), &format!("Сообщение {i}"))
                .to_webhook()
        })
        .collect();
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let (api, channel) = (env.admin.clone(), env.channel_id.clone());
            tokio::spawn(async move { api.whatsapp_webhook(&channel, APP_SECRET, &body).await })
        })
        .collect();
    for task in tasks {
        let resp = task.await.expect("poster");
        expect_status(&resp, StatusCode::OK, "concurrent first messages");
    }
    let conv = open_id(&env).await;
    env.wait_messages(&conv, "client messages", 8, |m| m["direction"] == "in")
        .await;
    settle().await;
    let convs = env.conversations_of(WA).await;
    assert_eq!(
        convs.len(),
        1,
        "at most one open conversation per contact: {convs:#?}"
    );
    assert_eq!(env.messages_of_kind(&conv, "greeting").await.len(), 1);
    assert_eq!(
        env.graph.messages_to(WA).len(),
        1,
        "one greeting at the provider"
    );
}

async fn open_id(env: &Env) -> String {
    id_of(&env.conversation_of(WA).await)
}

#[tokio::test]
async fn r7_out_of_hours_again_in_the_next_non_working_period() {
    let hours = json!(["12:00-18:00"]);
    let env = Env::start(&json!({
        "out_of_hours": {"enabled": true},
        "working_hours": {"enabled": true, "timezone": "Europe/Moscow", "holidays": [],
            "week": {"mon": hours, "tue": hours, "wed": hours, "thu": hours, "fri": hours, "sat": hours, "sun": hours}}
    }))
    .await;
    // 10:00: before hours.
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    env.graph.wait_for_to(WA, 1, WAIT).await;
    // 13:00: working hours, no out-of-hours message.
    env.advance(3 * 3600).await;
    env.client_says(WA, Some("Анна"), "Днём").await;
    env.wait_messages(&conv, "client messages", 2, |m| m["direction"] == "in")
        .await;
    settle().await;
    assert_eq!(
        env.graph.messages_to(WA).len(),
        1,
        "out-of-hours sent during working hours"
    );
    // 19:00: a new non-working period.
    env.advance(6 * 3600).await;
    env.client_says(WA, Some("Анна"), "Вечером").await;
    let sent = env.graph.wait_for_to(WA, 2, WAIT).await;
    assert_eq!(sent[1].text(), Some(OUT_OF_HOURS));
}

#[tokio::test]
async fn texts_render_company_name_and_display_name() {
    let env = Env::start(&json!({
        "greeting": {"enabled": true, "text": "{company_name}: здравствуйте, {client_name|клиент}!"},
        "sign_outgoing": {"enabled": true}
    }))
    .await;
    let (status, body) = env
        .admin
        .patch_employee(&env.ivan.id, &json!({"display_name": "Ваня"}))
        .await;
    assert!(status.is_success(), "{status} {body}");
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    let sent = env.graph.wait_for_to(WA, 1, WAIT).await;
    assert_eq!(sent[0].text(), Some("Ромашка: здравствуйте, Анна!"));
    assign_ivan(&env, &conv).await;
    let ivan = env.login(&env.ivan).await;
    expect_status(
        &ivan.reply(&conv, "Слушаю").await,
        StatusCode::CREATED,
        "reply",
    );
    let sent = env.graph.wait_for_to(WA, 2, WAIT).await;
    assert_eq!(
        sent[1].text(),
        Some("*Ваня*:\nСлушаю"),
        "display_name is used when set"
    );
}

#[tokio::test]
async fn conversation_list_filters_and_assignment() {
    let env = Env::start(&json!({})).await;
    let a = open(&env, WA, Some("Анна"), "Первый").await;
    let b = open(&env, "79005550000", Some("Борис"), "Второй").await;
    assign_ivan(&env, &a).await;
    expect_status(&env.admin.close(&b).await, StatusCode::OK, "close");
    let ids = |resp: replyline_e2e::Resp| -> Vec<String> {
        replyline_e2e::setup::array(resp, "list")
            .iter()
            .map(id_of)
            .collect()
    };
    assert_eq!(
        ids(env.admin.conversations("status=open").await),
        vec![a.clone()]
    );
    assert_eq!(
        ids(env.admin.conversations("status=closed").await),
        vec![b.clone()]
    );
    assert_eq!(
        ids(env
            .admin
            .conversations(&format!("assignee_id={}", env.ivan.id))
            .await),
        vec![a.clone()]
    );
    let mut all = ids(env
        .admin
        .conversations(&format!("channel_id={}", env.channel_id))
        .await);
    all.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(all, want);
    let conv = env.conversation(&a).await;
    assert_eq!(conv["assignee_id"].as_str(), Some(env.ivan.id.as_str()));
    assert_eq!(conv["contact"]["name"], "Анна");
    assert!(conv["waiting_since"].is_string(), "a client waits: {conv}");
    let (status, body) = env.admin.assign(&a, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(env.conversation(&a).await["assignee_id"].is_null());
}

#[tokio::test]
async fn r5_fires_once_for_each_subsequent_wait() {
    let env =
        Env::start(&json!({"notify_manager_next": {"enabled": true, "after_seconds": 900}})).await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign_ivan(&env, &conv).await;
    let ivan = env.login(&env.ivan).await;
    for round in 0..2 {
        expect_status(
            &ivan.reply(&conv, "Ответ").await,
            StatusCode::CREATED,
            "reply",
        );
        env.advance(10).await;
        env.client_says(WA, Some("Анна"), &format!("Вопрос {round}"))
            .await;
        env.wait_messages(&conv, "client messages", round + 2, |m| {
            m["direction"] == "in"
        })
        .await;
        env.advance(900).await;
        let n = poll::until("next_message notifications", WAIT, || async {
            let all = notifications(&env, &env.olga, "next_message").await;
            (all.len() > round).then_some(all)
        })
        .await;
        assert_eq!(n.len(), round + 1, "{n:#?}");
    }
}

#[tokio::test]
async fn r7_holidays_are_non_working() {
    let env = Env::start(&json!({
        "out_of_hours": {"enabled": true},
        "working_hours": {"enabled": true, "holidays": ["2026-11-25"]}
    }))
    .await;
    open(&env, WA, Some("Анна"), "Здравствуйте").await;
    let sent = env.graph.wait_for_to(WA, 1, WAIT).await;
    assert_eq!(
        sent[0].text(),
        Some(OUT_OF_HOURS),
        "Wednesday 10:00 on a holiday"
    );
}

#[tokio::test]
async fn r8_auto_close_without_closing_message_when_not_configured() {
    let env = Env::start(&json!({
        "auto_close": {"enabled": true, "after_seconds": 3600},
        "closing": {"enabled": true, "on_auto_close": false}
    }))
    .await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign_ivan(&env, &conv).await;
    let ivan = env.login(&env.ivan).await;
    expect_status(
        &ivan.reply(&conv, "Готово!").await,
        StatusCode::CREATED,
        "reply",
    );
    env.graph.wait_for_to(WA, 1, WAIT).await;
    env.advance(3600).await;
    poll::until("auto-close", WAIT, || async {
        (env.conversation(&conv).await["status"] == "closed").then_some(())
    })
    .await;
    settle().await;
    assert_eq!(
        texts_to(&env, WA).len(),
        1,
        "closing sent on auto-close: {:?}",
        texts_to(&env, WA)
    );
}
