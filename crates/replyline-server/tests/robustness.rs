//! Bad input never damages the service: plain-text extractor errors come back
//! as JSON, the manual clock refuses absurd advances, the last admin stays one.

mod support;

use replyline_whatsapp::reqwest::{Method, StatusCode};
use serde_json::json;
use support::Srv;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extractor_errors_are_json() {
    let srv = Srv::start().await;
    for path in [
        "/api/v1/conversations?status=open&status=closed",
        "/api/v1/conversations/%FF",
    ] {
        let (status, body) = srv.get(path, &srv.admin).await;
        assert!(status.is_client_error(), "{path}: {status}");
        assert!(body["error"]["code"].is_string(), "{path}: {body}");
        assert!(body["error"]["message"].is_string(), "{path}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_clock_advance_is_refused_and_nothing_is_damaged() {
    let srv = Srv::start().await;
    let (status, body) = srv
        .post(
            "/api/v1/clock/advance",
            &srv.admin,
            json!({"seconds": u64::MAX}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "seconds");
    let (status, body) = srv
        .post(
            "/api/v1/clock/advance",
            &srv.admin,
            json!({"seconds": 3600}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = srv.get("/api/v1/conversations", &srv.admin).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_admin_cannot_stop_being_one() {
    let srv = Srv::start().await;
    let me = format!("/api/v1/employees/{}", srv.admin_id);
    let (status, body) = srv
        .call(
            Method::PATCH,
            &me,
            Some(&srv.admin),
            Some(json!({"role": "employee"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, still) = srv.get(&me, &srv.admin).await;
    assert_eq!(still["role"], "admin");

    // With a second admin, the first may step down.
    let (status, other) = srv
        .post(
            "/api/v1/employees",
            &srv.admin,
            json!({"name": "Second Admin", "email": "second@example.com", "role": "admin", "password": "second-password"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let (status, body) = srv
        .call(
            Method::PATCH,
            &me,
            Some(&srv.admin),
            Some(json!({"role": "manager"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
