//! WhatsApp webhook security: verification handshake, signatures, malformed and oversized bodies.

use replyline_e2e::setup::{APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN, id_of};
use replyline_e2e::webhook::{TextMessage, sign};
use replyline_e2e::{Env, StatusCode, expect_error, expect_status};
use serde_json::json;

fn sample(env: &Env) -> TextMessage {
    env.text("79001234567", Some("Анна"), "Здравствуйте")
}

#[tokio::test]
async fn handshake_answers_raw_challenge_only_for_the_right_token() {
    let env = Env::start(&json!({})).await;
    let api = env.server.api();

    let (status, body) = api
        .whatsapp_verify(&env.channel_id, "subscribe", VERIFY_TOKEN, "1158201444")
        .await;
    assert_eq!(status, StatusCode::OK, "right verify token: body {body:?}");
    assert_eq!(body, "1158201444", "the body must be the raw challenge");

    let (status, body) = api
        .whatsapp_verify(&env.channel_id, "subscribe", "wrong-token", "1158201444")
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "wrong verify token: body {body:?}"
    );
    assert!(
        !body.contains("1158201444"),
        "the challenge must not be echoed on 403"
    );

    let (status, _) = api
        .whatsapp_verify(&env.channel_id, "unsubscribe", VERIFY_TOKEN, "1158201444")
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "hub.mode other than subscribe"
    );

    // The app secret is not the verify token.
    let (status, _) = api
        .whatsapp_verify(&env.channel_id, "subscribe", APP_SECRET, "1158201444")
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the app secret used as verify token"
    );

    let (status, _) = api
        .whatsapp_verify("no-such-channel", "subscribe", VERIFY_TOKEN, "1")
        .await;
    assert!(
        status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
        "handshake on an unknown channel: {status}"
    );
}

#[tokio::test]
async fn unsigned_badly_signed_malformed_oversized_and_misrouted_posts_are_rejected_and_store_nothing()
 {
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    let api = env.server.api();
    let body = serde_json::to_vec(&sample(&env).to_webhook()).unwrap();

    // Missing signature.
    let resp = api
        .whatsapp_webhook_raw(&env.channel_id, body.clone(), None)
        .await
        .unwrap();
    assert_eq!(
        resp.0,
        StatusCode::UNAUTHORIZED,
        "missing signature: {}",
        resp.1
    );

    // Signed with another secret.
    let resp = api
        .whatsapp_webhook_raw(
            &env.channel_id,
            body.clone(),
            Some(sign("not-the-secret", &body)),
        )
        .await
        .unwrap();
    assert!(
        resp.0 == StatusCode::UNAUTHORIZED || resp.0 == StatusCode::FORBIDDEN,
        "wrong signature: {} {}",
        resp.0,
        resp.1
    );

    // Signature of other bytes (re-serialised JSON must not be what is checked).
    let mut pretty = serde_json::to_vec_pretty(&sample(&env).to_webhook()).unwrap();
    let signature = sign(APP_SECRET, &pretty);
    pretty.push(b' ');
    let resp = api
        .whatsapp_webhook_raw(&env.channel_id, pretty, Some(signature))
        .await
        .unwrap();
    assert!(
        resp.0 == StatusCode::UNAUTHORIZED || resp.0 == StatusCode::FORBIDDEN,
        "signature over different bytes: {} {}",
        resp.0,
        resp.1
    );

    // Garbage signature header formats.
    for header in [
        "sha256=",
        "sha256=zz",
        "md5=abc",
        "",
        "sha1=0123456789abcdef",
    ] {
        let resp = api
            .whatsapp_webhook_raw(&env.channel_id, body.clone(), Some(header.to_owned()))
            .await
            .unwrap();
        assert!(
            resp.0 == StatusCode::UNAUTHORIZED || resp.0 == StatusCode::FORBIDDEN,
            "signature header {header:?}: {} {}",
            resp.0,
            resp.1
        );
    }

    // Malformed JSON, correctly signed.
    for bad in [
        &b"{\"object\": \"whatsapp_business_account\", \"entry\": ["[..],
        b"not json at all",
        b"",
    ] {
        let resp = api
            .whatsapp_webhook_raw(&env.channel_id, bad.to_vec(), Some(sign(APP_SECRET, bad)))
            .await
            .unwrap();
        expect_error(
            &resp,
            StatusCode::BAD_REQUEST,
            &format!("signed malformed JSON {:?}", String::from_utf8_lossy(bad)),
        );
    }

    // Oversized: valid JSON, correctly signed, over 3 MB.
    let mut big = sample(&env).to_webhook();
    big["padding"] = json!("x".repeat(3 * 1024 * 1024 + 100_000));
    let big = serde_json::to_vec(&big).unwrap();
    let signature = sign(APP_SECRET, &big);
    match api
        .whatsapp_webhook_raw(&env.channel_id, big, Some(signature))
        .await
    {
        Ok(resp) => assert_eq!(
            resp.0,
            StatusCode::PAYLOAD_TOO_LARGE,
            "oversized body: {}",
            resp.1
        ),
        Err(e) => panic!("oversized body: expected 413, the connection failed instead: {e}"),
    }

    // Unknown channel (correctly signed with the real secret).
    for channel in [
        "no-such-channel",
        "999999999",
        "00000000-0000-0000-0000-000000000000",
    ] {
        let resp = api
            .whatsapp_webhook_raw(channel, body.clone(), Some(sign(APP_SECRET, &body)))
            .await
            .unwrap();
        assert_eq!(
            resp.0,
            StatusCode::NOT_FOUND,
            "unknown channel {channel}: {}",
            resp.1
        );
    }

    // Nothing of the above was stored, and nothing was sent.
    let conversations = env.all_conversations().await;
    assert!(
        conversations.is_empty(),
        "rejected webhooks stored conversations: {conversations:#?}"
    );
    replyline_e2e::poll::settle().await;
    assert!(
        env.graph.messages().is_empty(),
        "rejected webhooks caused sends"
    );

    // Control: the same body, correctly signed, is accepted and stored once.
    let resp = api
        .whatsapp_webhook_raw(&env.channel_id, body.clone(), Some(sign(APP_SECRET, &body)))
        .await
        .unwrap();
    expect_status(&resp, StatusCode::OK, "correctly signed webhook");
    let conv = env.conversation_of("79001234567").await;
    let msgs = env
        .wait_messages(&id_of(&conv), "client messages", 1, |m| {
            m["direction"] == "in"
        })
        .await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["text"], "Здравствуйте");
    assert_eq!(msgs[0]["kind"], "client");
    assert_eq!(
        conv["channel_id"].as_str().map(str::to_owned),
        Some(env.channel_id.clone())
    );
}

#[tokio::test]
async fn webhook_for_another_phone_number_is_acknowledged_and_ignored() {
    let env = Env::start(&json!({})).await;
    let mut msg = sample(&env);
    msg.phone_number_id = "999000999000".to_owned();
    let resp = env.post_webhook(&msg.to_webhook()).await;
    expect_status(&resp, StatusCode::OK, "webhook for another phone_number_id");
    // Barrier: a message for our number is stored; the foreign one is not.
    let mut ours = sample(&env);
    ours.wa_id = "79007654321".to_owned();
    expect_status(
        &env.post_webhook(&ours.to_webhook()).await,
        StatusCode::OK,
        "our webhook",
    );
    env.conversation_of("79007654321").await;
    replyline_e2e::poll::settle().await;
    assert!(
        env.conversations_of("79001234567").await.is_empty(),
        "a message for phone_number_id 999000999000 was stored on channel {PHONE_NUMBER_ID}"
    );
}

#[tokio::test]
async fn channel_secrets_are_never_returned_and_each_channel_checks_its_own_secret() {
    let env = Env::start(&json!({})).await;
    let (status, channel) = env
        .admin
        .create_channel(&json!({
            "kind": "whatsapp",
            "name": "Second",
            "whatsapp": {
                "phone_number_id": "5550001112223",
                "access_token": "EAAG-very-secret-access-token",
                "app_secret": "second-app-secret-value",
                "verify_token": "second-verify-token-value",
                "api_base_url": env.graph.base_url(),
                "api_version": "v21.0"
            }
        }))
        .await;
    assert!(status.is_success(), "{status} {channel}");
    let second = id_of(&channel);
    assert!(
        channel["webhook_url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/webhooks/whatsapp/{second}"))),
        "webhook_url: {channel}"
    );
    let secrets = [
        "EAAG-very-secret-access-token",
        "second-app-secret-value",
        "second-verify-token-value",
    ];
    for (what, resp) in [
        ("POST /channels", channel.clone()),
        ("GET /channels/{id}", env.admin.channel(&second).await.1),
        ("GET /channels", env.admin.channels().await.1),
    ] {
        let text = resp.to_string();
        for secret in secrets {
            assert!(!text.contains(secret), "{what} returned a secret: {text}");
        }
    }

    // A body signed with the first channel's secret is refused by the second.
    let mut msg = sample(&env);
    msg.phone_number_id = "5550001112223".to_owned();
    let body = serde_json::to_vec(&msg.to_webhook()).unwrap();
    let api = env.server.api();
    let resp = api
        .whatsapp_webhook_raw(&second, body.clone(), Some(sign(APP_SECRET, &body)))
        .await
        .unwrap();
    assert!(
        resp.0 == StatusCode::UNAUTHORIZED || resp.0 == StatusCode::FORBIDDEN,
        "another channel's secret: {} {}",
        resp.0,
        resp.1
    );
    let resp = api
        .whatsapp_webhook_raw(
            &second,
            body.clone(),
            Some(sign("second-app-secret-value", &body)),
        )
        .await
        .unwrap();
    expect_status(&resp, StatusCode::OK, "own secret");
    let conv = env.conversation_of("79001234567").await;
    assert_eq!(conv["channel_id"].as_str(), Some(second.as_str()), "{conv}");
    let (status, _) = api
        .whatsapp_verify(&second, "subscribe", VERIFY_TOKEN, "42")
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "first channel's verify token on the second"
    );
}
