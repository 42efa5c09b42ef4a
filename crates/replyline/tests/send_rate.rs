//! A number's throughput (`whatsapp.messages_per_second`, WhatsApp's 80 by
//! default): the outbox starts at most that many sends per second on the
//! channel, and a channel at its limit never holds back another channel.

use std::time::{Duration, Instant};

use replyline_e2e::setup::{API_VERSION, GREETING, id_of, settings_with};
use replyline_e2e::webhook::TextMessage;
use replyline_e2e::{Env, StatusCode, expect_error, expect_status};
use serde_json::json;

/// The first channel's limit in the test.
const LIMIT: usize = 5;
/// Greetings queued on the first channel at once.
const BURST: usize = 25;
const SECOND_PHONE: &str = "2233445566778";
const SECOND_SECRET: &str = "second-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_sends_at_most_its_rate_and_never_holds_back_another_number() {
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    let (_, channel) = env.admin.channel(&env.channel_id).await;
    assert_eq!(
        channel["whatsapp"]["messages_per_second"],
        json!(80),
        "{channel}"
    );

    // Out-of-range or mistyped limits are refused, naming the field; nothing changes.
    for bad in [json!(0), json!(1001), json!(-1), json!("fast"), json!(2.5)] {
        let resp = env
            .patch_channel(&json!({"whatsapp": {"messages_per_second": bad}}))
            .await;
        assert!(resp.0.is_client_error(), "{bad}: {resp:?}");
        let error = expect_error(&resp, resp.0, &format!("messages_per_second {bad}"));
        assert!(
            error["field"]
                .as_str()
                .is_some_and(|f| f.contains("messages_per_second"))
                || error["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("messages_per_second")),
            "{bad}: {error}"
        );
    }
    let resp = env
        .patch_channel(&json!({"whatsapp": {"messages_per_second": LIMIT}}))
        .await;
    expect_status(&resp, StatusCode::OK, "PATCH messages_per_second");
    assert_eq!(resp.1["whatsapp"]["messages_per_second"], json!(LIMIT));

    // A second number with the default limit, on the same fake Graph API.
    let (status, second) = env
        .admin
        .create_channel(&json!({
            "kind": "whatsapp", "name": "Second",
            "whatsapp": {"phone_number_id": SECOND_PHONE, "access_token": "tok2",
                "app_secret": SECOND_SECRET, "verify_token": "verify2",
                "api_base_url": env.graph.base_url(), "api_version": API_VERSION},
            "settings": settings_with(&json!({"greeting": {"enabled": true}})),
        }))
        .await;
    assert!(status.is_success(), "second channel: {status} {second}");
    let second_id = id_of(&second);

    // A burst of new clients on the limited number: greetings queue at once.
    for i in 0..BURST {
        env.client_says(&format!("7900111{i:04}"), None, "Здравствуйте")
            .await;
    }
    // Meanwhile a client writes to the other number: its greeting is not queued behind.
    let asked = Instant::now();
    let message = TextMessage {
        phone_number_id: SECOND_PHONE.into(),
        wa_id: "79002220001".into(),
        name: None,
        id: env.next_wamid(),
        timestamp: env.now(),
        body: "Добрый день".into(),
    };
    let resp = env
        .admin
        .whatsapp_webhook(&second_id, SECOND_SECRET, &message.to_webhook())
        .await;
    expect_status(&resp, StatusCode::OK, "webhook to the second number");
    let other = env
        .graph
        .wait_for_to("79002220001", 1, Duration::from_secs(10))
        .await;
    let waited = other[0].at.duration_since(asked);
    eprintln!("the other number's greeting went out after {waited:?}");
    assert_eq!(other[0].phone_number_id, SECOND_PHONE);
    assert!(
        waited < Duration::from_secs(2),
        "the other number waited behind the limited one: {waited:?}"
    );

    // Every greeting of the limited number goes out, each once, LIMIT per second at most.
    let started = Instant::now();
    let mut sent = Vec::new();
    while sent.len() < BURST && started.elapsed() < Duration::from_secs(30) {
        sent = env
            .graph
            .messages()
            .into_iter()
            .filter(|r| r.phone_number_id == replyline_e2e::setup::PHONE_NUMBER_ID)
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent.len(), BURST, "greetings of the limited number");
    let mut recipients: Vec<String> = sent.iter().map(|r| r.to()).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), BURST, "one greeting per client");
    assert!(sent.iter().all(|r| r.text() == Some(&*expected_greeting())));
    let at: Vec<Instant> = sent.iter().map(|r| r.at).collect();
    for (i, window) in at.windows(LIMIT + 1).enumerate() {
        let spread = window[LIMIT].duration_since(window[0]);
        // One second minus what loopback jitter may take off a window.
        assert!(
            spread >= Duration::from_millis(900),
            "sends {i}..={}: {} within {spread:?}",
            i + LIMIT,
            LIMIT + 1
        );
    }
    let total = at[BURST - 1].duration_since(at[0]);
    eprintln!("{BURST} greetings at {LIMIT}/s took {total:?}");
}

/// The greeting a client without a profile name gets.
fn expected_greeting() -> String {
    GREETING.replace("{client_name|клиент}", "клиент")
}
