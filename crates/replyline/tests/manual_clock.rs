//! The manual clock is exact: one time precision end to end, and a restart
//! resumes from the latest instant it had reached (API.md `manual_clock_start`).

use replyline_e2e::server::parse_rfc3339;
use replyline_e2e::setup::{array, is_decision};
use replyline_e2e::{Env, ServerOpts, StatusCode};
use serde_json::{Value, json};

fn no_reply_on() -> Value {
    json!({"no_reply": {"enabled": true, "after_seconds": 300}})
}

async fn advance(env: &Env, seconds: i64) -> String {
    let (status, body) = env.admin.advance_raw(seconds).await;
    assert_eq!(status, StatusCode::OK, "advance {seconds}: {body}");
    body["now"].as_str().expect("now").to_owned()
}

async fn admin_notifications(env: &Env) -> Vec<Value> {
    array(env.admin.notifications(false).await, "GET notifications")
}

async fn no_replies(env: &Env, conversation_id: &str) -> usize {
    env.messages_of_kind(conversation_id, "no_reply")
        .await
        .len()
}

#[tokio::test]
async fn the_default_start_fires_a_rule_after_exactly_its_delay() {
    let opts = ServerOpts {
        default_clock_start: true,
        ..ServerOpts::default()
    };
    let env = Env::start_with(opts, &no_reply_on()).await;
    let start = advance(&env, 0).await;
    assert!(
        !start.contains('.') || start.split('.').nth(1).is_some_and(|f| f.len() <= 4),
        "the clock hands out whole milliseconds, got {start}"
    );
    env.client_says("79001110001", Some("Анна"), "Здравствуйте")
        .await;
    let conversation = env.conversation_of("79001110001").await;
    let id = conversation["id"].as_str().expect("id").to_owned();
    let opened_at = conversation["opened_at"].as_str().expect("opened_at");
    assert_eq!(
        opened_at, start,
        "the message was processed at the clock's instant"
    );

    let before = advance(&env, 299).await;
    assert_eq!(no_replies(&env, &id).await, 0, "nothing is due at {before}");
    let now = advance(&env, 1).await;
    assert_eq!(
        no_replies(&env, &id).await,
        1,
        "300 s after the wait started (at {now}) the no-reply is due"
    );
    let fired: Vec<Value> = env
        .events(&id)
        .await
        .into_iter()
        .filter(|e| is_decision(e, &["no_reply"], "fired"))
        .collect();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        parse_rfc3339(fired[0]["at"].as_str().expect("at")),
        parse_rfc3339(&start) + 300
    );
}

#[tokio::test]
async fn a_restart_resumes_the_manual_clock_and_deadlines_still_fire() {
    let env_settings = json!({
        "no_reply": {"enabled": true, "after_seconds": 300},
        "notify_manager_first": {"enabled": true, "after_seconds": 600}
    });
    let mut env = Env::start(&env_settings).await;
    let configured_start = env.now();
    env.client_says("79001110002", Some("Анна"), "Здравствуйте")
        .await;
    let id = env.conversation_of("79001110002").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let reached = parse_rfc3339(&advance(&env, 200).await);
    assert_eq!(reached, configured_start + 200);

    // The server is restarted with the configuration it was started with
    // (the same, now earlier, manual_clock_start).
    env.server.clock().set_unix(configured_start);
    env.restart().await;
    let resumed = parse_rfc3339(&advance(&env, 0).await);
    assert_eq!(
        resumed, reached,
        "the manual clock resumes from the latest instant it reached, never earlier"
    );

    assert_eq!(no_replies(&env, &id).await, 0);
    advance(&env, 100).await;
    assert_eq!(
        no_replies(&env, &id).await,
        1,
        "the no-reply deadline set before the restart fires 300 s after the wait started"
    );
    // Unassigned, no supervisors: the admins are notified (SPEC §3 "Which manager").
    advance(&env, 299).await;
    assert!(admin_notifications(&env).await.is_empty());
    advance(&env, 1).await;
    let notified = admin_notifications(&env).await;
    assert_eq!(notified.len(), 1, "{notified:?}");
    assert_eq!(notified[0]["waited_seconds"], 600);

    // A second restart with a later configured start moves the clock forward to it.
    let later = reached + 86_400;
    env.server.clock().set_unix(later);
    env.restart().await;
    assert_eq!(parse_rfc3339(&advance(&env, 0).await), later);
}
