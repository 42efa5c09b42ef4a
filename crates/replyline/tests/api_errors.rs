//! Bad input gets clear JSON errors with fitting statuses (API.md "Errors"), never a 500.

use replyline_e2e::poll::{WAIT, settle};
use replyline_e2e::server::{ADMIN_EMAIL, ADMIN_PASSWORD};
use replyline_e2e::setup::id_of;
use replyline_e2e::{Env, StatusCode, expect_error, expect_status};
use reqwest::Method;
use serde_json::json;

const WA: &str = "79001234567";

#[tokio::test]
async fn auth_errors() {
    let env = Env::start(&json!({})).await;
    let api = env.server.api();

    let resp = api.login(ADMIN_EMAIL, "wrong-password").await;
    expect_error(
        &resp,
        StatusCode::UNAUTHORIZED,
        "login with a wrong password",
    );
    assert!(resp.1.get("token").is_none(), "{}", resp.1);
    let resp = api.login("nobody@example.com", ADMIN_PASSWORD).await;
    expect_error(
        &resp,
        StatusCode::UNAUTHORIZED,
        "login of an unknown e-mail",
    );

    expect_error(
        &api.me().await,
        StatusCode::UNAUTHORIZED,
        "GET /me without a token",
    );
    expect_error(
        &api.conversations("").await,
        StatusCode::UNAUTHORIZED,
        "conversations without a token",
    );
    let bogus = api.with_token(Some("not-a-token".to_owned()));
    expect_error(
        &bogus.me().await,
        StatusCode::UNAUTHORIZED,
        "GET /me with a bogus token",
    );

    let (status, me) = env.admin.me().await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["role"], "admin");
    let (status, health) = api.healthz().await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn malformed_json_bodies_are_400_with_a_code() {
    let env = Env::start(&json!({})).await;
    let json_ct = [("content-type", "application/json".to_owned())];
    let resp = env
        .server
        .api()
        .raw(
            Method::POST,
            "/api/v1/auth/login",
            b"{\"email\": ".to_vec(),
            &json_ct,
        )
        .await
        .unwrap();
    expect_error(&resp, StatusCode::BAD_REQUEST, "malformed login body");
    let resp = env
        .admin
        .raw(
            Method::POST,
            "/api/v1/employees",
            b"{not json".to_vec(),
            &json_ct,
        )
        .await
        .unwrap();
    expect_error(&resp, StatusCode::BAD_REQUEST, "malformed employee body");
    let path = format!("/api/v1/channels/{}/settings", env.channel_id);
    let resp = env
        .admin
        .raw(Method::PUT, &path, b"[1, 2".to_vec(), &json_ct)
        .await
        .unwrap();
    expect_error(&resp, StatusCode::BAD_REQUEST, "malformed settings body");
    let resp = env
        .admin
        .post("/api/v1/clock/advance", &json!({"seconds": "soon"}))
        .await;
    assert!(
        resp.0 == StatusCode::BAD_REQUEST || resp.0 == StatusCode::UNPROCESSABLE_ENTITY,
        "clock advance with a string: {} {}",
        resp.0,
        resp.1
    );
    assert!(resp.1["error"]["code"].is_string(), "{}", resp.1);
}

#[tokio::test]
async fn invalid_settings_are_422_naming_the_field_and_nothing_is_saved() {
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    let (status, before) = env.admin.settings(&env.channel_id).await;
    assert_eq!(status, StatusCode::OK, "{before}");

    let cases = [
        (
            json!({"greeting": {"text": "Hi {client_nmae}"}}),
            "greeting.text",
        ),
        (json!({"greeting": {"text": ""}}), "greeting.text"),
        (
            json!({"no_reply": {"after_seconds": 0}}),
            "no_reply.after_seconds",
        ),
        (
            json!({"no_reply": {"after_seconds": 8 * 86400}}),
            "no_reply.after_seconds",
        ),
        (
            json!({"sign_outgoing": {"format": "*{employee_name}*"}}),
            "sign_outgoing.format",
        ),
        (
            json!({"working_hours": {"timezone": "Mars/Olympus"}}),
            "working_hours.timezone",
        ),
        (json!({"supervisors": ["no-such-employee"]}), "supervisors"),
    ];
    for (patch, field) in cases {
        let resp = env.admin.put_settings(&env.channel_id, &patch).await;
        let error = expect_error(
            &resp,
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("settings {patch}"),
        );
        let got = error["field"].as_str().unwrap_or_default();
        assert!(
            got.starts_with(field),
            "settings {patch}: field {got:?}, expected {field:?}: {error}"
        );
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{error}"
        );
    }
    // A combined update with one bad field saves nothing of it.
    let resp = env
        .admin
        .put_settings(
            &env.channel_id,
            &json!({"no_reply": {"after_seconds": 120}, "greeting": {"text": "Hi {client_nmae}"}}),
        )
        .await;
    expect_error(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "partly bad settings",
    );

    let (_, after) = env.admin.settings(&env.channel_id).await;
    assert_eq!(before, after, "a rejected update changed the settings");
    assert_eq!(after["no_reply"]["after_seconds"], 300);
}

#[tokio::test]
async fn settings_update_changes_only_named_fields() {
    let env = Env::start(&json!({"greeting": {"enabled": true}})).await;
    let (_, before) = env.admin.settings(&env.channel_id).await;
    let (status, after) = env
        .admin
        .put_settings(
            &env.channel_id,
            &json!({"no_reply": {"after_seconds": 120}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["no_reply"]["after_seconds"], 120);
    assert_eq!(after["no_reply"]["text"], before["no_reply"]["text"]);
    assert_eq!(after["greeting"], before["greeting"]);
    let (_, fetched) = env.admin.settings(&env.channel_id).await;
    assert_eq!(fetched, after, "PUT answer and GET differ");
}

#[tokio::test]
async fn not_found_and_forbidden() {
    let env = Env::start(&json!({})).await;
    for path in [
        "/api/v1/conversations/no-such-conversation",
        "/api/v1/conversations/999999999/messages",
        "/api/v1/channels/no-such-channel/settings",
        "/api/v1/employees/no-such-employee",
    ] {
        expect_error(&env.admin.get(path).await, StatusCode::NOT_FOUND, path);
    }
    let resp = env.admin.reply("no-such-conversation", "hello").await;
    expect_error(
        &resp,
        StatusCode::NOT_FOUND,
        "reply to an unknown conversation",
    );

    let ivan = env.login(&env.ivan).await;
    let (_, before) = env.admin.settings(&env.channel_id).await;
    let resp = ivan
        .put_settings(&env.channel_id, &json!({"greeting": {"enabled": true}}))
        .await;
    expect_error(&resp, StatusCode::FORBIDDEN, "employee PUT settings");
    let (_, after) = env.admin.settings(&env.channel_id).await;
    assert_eq!(before, after, "a forbidden update changed the settings");
    let resp = ivan.create_employee(&json!({"name": "X", "email": "x@example.com", "role": "admin", "password": "xxxxxxxx1"})).await;
    expect_error(&resp, StatusCode::FORBIDDEN, "employee creates an admin");
}

#[tokio::test]
async fn manager_cycle_is_rejected() {
    let env = Env::start(&json!({})).await;
    // ivan -> olga -> dmitry; dmitry -> ivan would close a cycle.
    let resp = env
        .admin
        .patch_employee(&env.dmitry.id, &json!({"manager_id": env.ivan.id}))
        .await;
    expect_error(&resp, StatusCode::UNPROCESSABLE_ENTITY, "manager cycle");
    let resp = env
        .admin
        .patch_employee(&env.ivan.id, &json!({"manager_id": env.ivan.id}))
        .await;
    expect_error(&resp, StatusCode::UNPROCESSABLE_ENTITY, "own manager");
}

#[tokio::test]
async fn employee_reply_outside_the_24h_window_is_refused_and_not_sent() {
    let env = Env::start(&json!({})).await;
    env.client_says(WA, Some("Анна"), "Здравствуйте").await;
    let conv = id_of(&env.conversation_of(WA).await);
    expect_status(
        &env.admin.assign(&conv, Some(&env.ivan.id)).await,
        StatusCode::OK,
        "assign",
    );
    env.advance(24 * 3600 + 60).await;

    let ivan = env.login(&env.ivan).await;
    let resp = ivan.reply(&conv, "Извините, что так долго").await;
    let error = expect_error(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reply outside the window",
    );
    assert_eq!(error["code"], "outside_24h_window", "{error}");
    settle().await;
    assert!(
        env.graph.messages().is_empty(),
        "a free-form message was sent outside the window"
    );

    // A new client message reopens the window.
    env.client_says(WA, Some("Анна"), "Вы тут?").await;
    env.wait_messages(&conv, "client messages", 2, |m| m["direction"] == "in")
        .await;
    let (status, msg) = ivan.reply(&conv, "Да!").await;
    assert_eq!(status, StatusCode::CREATED, "{msg}");
    env.graph.wait_for_to(WA, 1, WAIT).await;
}

#[tokio::test]
async fn clock_advance_rejects_bad_input_without_500() {
    let env = Env::start(&json!({})).await;
    for seconds in [json!(-5), json!(null), json!(1.5)] {
        let resp = env
            .admin
            .post("/api/v1/clock/advance", &json!({"seconds": seconds}))
            .await;
        assert!(
            resp.0.is_client_error(),
            "clock advance by {seconds}: {} {}",
            resp.0,
            resp.1
        );
    }
    let ivan = env.login(&env.ivan).await;
    let resp = ivan
        .post("/api/v1/clock/advance", &json!({"seconds": 10}))
        .await;
    assert!(resp.0 != StatusCode::INTERNAL_SERVER_ERROR, "{}", resp.1);
}

#[tokio::test]
async fn employee_cannot_open_a_whatsapp_conversation_with_a_contact_outside_the_window() {
    let env = Env::start(&json!({})).await;
    let resp = env
        .admin
        .open_conversation(&env.channel_id, "79009998877", "Здравствуйте, это Ромашка")
        .await;
    let error = expect_error(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "open with a never-seen contact",
    );
    assert_eq!(error["code"], "outside_24h_window", "{error}");
    settle().await;
    assert!(
        env.graph.messages().is_empty(),
        "a free-form message was sent"
    );
    let resp = env
        .admin
        .open_conversation("no-such-channel", "79009998877", "x")
        .await;
    assert!(
        resp.0 == StatusCode::NOT_FOUND || resp.0 == StatusCode::UNPROCESSABLE_ENTITY,
        "unknown channel: {} {}",
        resp.0,
        resp.1
    );
}
