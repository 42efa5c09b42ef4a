//! One hanging Graph send must not hold back other recipients' messages:
//! every claimed row is sent on its own and finished when its answer comes,
//! while one recipient's messages still go out one at a time, in order.

use std::time::{Duration, Instant};

use replyline_e2e::setup::id_of;
use replyline_e2e::{Env, StatusCode, expect_status, poll};
use serde_json::json;

const GREETING: &str = "Здравствуйте! Чем можем помочь?";
const SLOW: &str = "79005550001";
const FAST: &str = "79005550002";
/// How long the fake keeps the slow recipient's sends hanging.
const HANG: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_send_holds_back_only_its_own_recipient() {
    let env = Env::start(&json!({"greeting": {"enabled": true, "text": GREETING}})).await;
    env.graph.hang_for(SLOW, HANG);

    // The slow recipient's greeting goes out first and hangs.
    env.client_says(SLOW, Some("Медленный"), "Здравствуйте")
        .await;
    let slow = env.graph.wait_for_to(SLOW, 1, poll::WAIT).await;
    let slow_started = slow[0].at;
    let slow_conv = id_of(&env.conversation_of(SLOW).await);
    // An employee writes to the slow recipient too: it must wait its turn.
    let resp = env.admin.reply(&slow_conv, "Ответ сотрудника").await;
    expect_status(&resp, StatusCode::CREATED, "reply to the slow recipient");

    // Meanwhile another client writes: the greeting is not held back.
    let asked = Instant::now();
    env.client_says(FAST, Some("Быстрый"), "Добрый день").await;
    let fast = env.graph.wait_for_to(FAST, 1, Duration::from_secs(4)).await;
    let waited = fast[0].at.duration_since(asked);
    eprintln!("the other recipient's greeting went out after {waited:?}");
    assert_eq!(fast[0].text(), Some(GREETING));
    assert!(
        fast[0].at < slow_started + HANG,
        "the other recipient waited for the hanging send ({waited:?})"
    );
    assert!(
        waited < Duration::from_secs(3),
        "the other recipient's greeting took {waited:?}"
    );

    // One message per recipient in flight: the reply follows the greeting only
    // after the greeting's answer arrived, in order.
    let to_slow = env
        .graph
        .wait_for_to(SLOW, 2, Duration::from_secs(20))
        .await;
    assert_eq!(to_slow[0].text(), Some(GREETING));
    assert!(
        to_slow[1]
            .text()
            .is_some_and(|t| t.contains("Ответ сотрудника")),
        "{:?}",
        to_slow[1].body
    );
    assert!(
        to_slow[1].at >= slow_started + HANG,
        "the second message to the slow recipient left while the first was in flight"
    );
    let greeting = env
        .wait_status(&slow_conv, "greeting", "sent", Duration::from_secs(10))
        .await;
    assert!(greeting["error"].is_null(), "{greeting}");
    env.graph.stop_hanging(SLOW);
    poll::settle().await;
    assert_eq!(env.graph.messages_to(SLOW).len(), 2, "nothing sent twice");
    assert_eq!(env.graph.messages_to(FAST).len(), 1, "nothing sent twice");
}
