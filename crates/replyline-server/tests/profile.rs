//! The profile page's API: alert switches in the preferences (defaults, persistence, 422
//! naming the field), and `PATCH /api/v1/me` for one's own password (current password
//! required and checked), presence and Telegram link.

mod support;

use replyline_whatsapp::reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::Srv;

async fn put_prefs(s: &Srv, token: &str, body: Value) -> (StatusCode, Value) {
    s.call(
        Method::PUT,
        "/api/v1/me/preferences",
        Some(token),
        Some(body),
    )
    .await
}

async fn patch_me(s: &Srv, token: &str, body: Value) -> (StatusCode, Value) {
    s.call(Method::PATCH, "/api/v1/me", Some(token), Some(body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_switches_default_on_persist_and_validate() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    let prefs = s
        .ok(Method::GET, "/api/v1/me/preferences", &ivan.token, None)
        .await;
    for key in ["alert_sound", "alert_desktop", "alert_title"] {
        assert_eq!(prefs[key], true, "{key} defaults to true: {prefs}");
    }

    let (status, body) = put_prefs(
        &s,
        &ivan.token,
        json!({"alert_sound": false, "alert_title": false}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["alert_sound"], false);
    assert_eq!(
        body["alert_desktop"], true,
        "untouched switch keeps its value"
    );
    assert_eq!(body["alert_title"], false);
    // Other preferences are untouched by the alert switches, and vice versa.
    assert_eq!(body["email"], prefs["email"]);
    let (status, body) = put_prefs(&s, &ivan.token, json!({"language": "en"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["alert_sound"], false, "kept across other changes");

    let again = s
        .ok(Method::GET, "/api/v1/me/preferences", &ivan.token, None)
        .await;
    assert_eq!(again["alert_sound"], false);
    assert_eq!(again["alert_desktop"], true);
    assert_eq!(again["alert_title"], false);
    assert_eq!(again["language"], "en");

    for key in ["alert_sound", "alert_desktop", "alert_title"] {
        let (status, body) = put_prefs(&s, &ivan.token, json!({ key: "yes" })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{key}: {body}");
        assert_eq!(body["error"]["field"], key, "{body}");
        assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    }
    // A misspelt switch is refused, not ignored.
    let (status, body) = put_prefs(&s, &ivan.token, json!({"alert_sond": false})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("alert_sond")),
        "{body}"
    );
    // A refused request changes nothing.
    let after = s
        .ok(Method::GET, "/api/v1/me/preferences", &ivan.token, None)
        .await;
    assert_eq!(after, again);

    // Each person has their own switches; an admin reads them through the employee path.
    let olga = s.person("olga", "manager", None).await;
    let hers = s
        .ok(Method::GET, "/api/v1/me/preferences", &olga.token, None)
        .await;
    assert_eq!(hers["alert_sound"], true);
    let ivans = s
        .ok(
            Method::GET,
            &format!("/api/v1/employees/{}/preferences", ivan.id),
            &s.admin,
            None,
        )
        .await;
    assert_eq!(ivans["alert_sound"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_password_needs_the_current_one() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;

    // Missing current password: 422 naming it, nothing changes.
    let (status, body) = patch_me(&s, &ivan.token, json!({"password": "brand-new-pass"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "current_password", "{body}");
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");

    // A wrong one: its own code, still naming the field.
    let (status, body) = patch_me(
        &s,
        &ivan.token,
        json!({"password": "brand-new-pass", "current_password": "not-it"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "current_password", "{body}");
    assert_eq!(body["error"]["code"], "wrong_password", "{body}");

    // Too short a new one is named before the current one is checked.
    let (status, body) = patch_me(
        &s,
        &ivan.token,
        json!({"password": "short", "current_password": ivan.password}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "password", "{body}");

    // A current password alone is a mistake, not a silent no-op.
    let (status, body) =
        patch_me(&s, &ivan.token, json!({"current_password": ivan.password})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "password", "{body}");

    assert_eq!(s.login(&ivan.email, &ivan.password).await.0, StatusCode::OK);
    let (status, body) = patch_me(
        &s,
        &ivan.token,
        json!({"password": "brand-new-pass", "current_password": ivan.password}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        s.login(&ivan.email, &ivan.password).await.0,
        StatusCode::UNAUTHORIZED,
        "the old password no longer works"
    );
    assert_eq!(
        s.login(&ivan.email, "brand-new-pass").await.0,
        StatusCode::OK
    );
    // This session survives its own password change.
    assert_eq!(s.get("/api/v1/me", &ivan.token).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_and_telegram_link() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    let me = s.ok(Method::GET, "/api/v1/me", &ivan.token, None).await;
    assert_eq!(me["online"], true, "a login marks the person online");

    let (status, me) = patch_me(&s, &ivan.token, json!({"online": false})).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["online"], false);
    let row = s
        .ok(
            Method::GET,
            &format!("/api/v1/employees/{}", ivan.id),
            &s.admin,
            None,
        )
        .await;
    assert_eq!(row["online"], false, "the team sees the person away");

    let (status, me) = patch_me(&s, &ivan.token, json!({"telegram_chat_id": "123456789"})).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["telegram_chat_id"], "123456789");
    assert_eq!(
        s.ok(Method::GET, "/api/v1/me", &ivan.token, None).await["telegram_chat_id"],
        "123456789"
    );

    for bad in [json!(""), json!("12 34"), json!("x".repeat(65))] {
        let (status, body) = patch_me(&s, &ivan.token, json!({ "telegram_chat_id": bad })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["field"], "telegram_chat_id", "{body}");
    }
    let (status, body) = patch_me(&s, &ivan.token, json!({"telegram_chat_id": 42})).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a number is not a chat id string: {body}"
    );
    assert_eq!(
        s.ok(Method::GET, "/api/v1/me", &ivan.token, None).await["telegram_chat_id"],
        "123456789",
        "refused values change nothing"
    );

    let (status, me) = patch_me(&s, &ivan.token, json!({"telegram_chat_id": null})).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["telegram_chat_id"], Value::Null, "null unlinks Telegram");
}

#[tokio::test]
async fn server_info_names_the_company_and_the_configured_deliveries() {
    let s = Srv::start().await;
    let resp = s.raw(Method::GET, "/api/v1/server", None, None).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let employee = s.person("nina", "employee", None).await;
    let (status, info) = s.get("/api/v1/server", &employee.token).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["company_name"], "Replyline", "{info}");
    assert_eq!(info["email_delivery"], false, "{info}");
    assert_eq!(info["telegram_delivery"], false, "{info}");
    assert_eq!(info["manual_clock"], true, "{info}");
}
