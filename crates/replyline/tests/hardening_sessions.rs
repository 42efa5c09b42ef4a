//! Issue 9 through the real binary: configured login-session lifetimes on the manual
//! clock (API tokens unaffected), a too short `admin_password` refused at startup,
//! and a login body that is not JSON refused (login CSRF).

use replyline_e2e::server::{ADMIN_EMAIL, ADMIN_PASSWORD, binary_path};
use replyline_e2e::{Api, Server, ServerOpts, StatusCode, expect_error, expect_status};
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;

/// Idle timeout and absolute lifetime of login sessions in these tests.
const IDLE: i64 = 600;
const MAX_AGE: i64 = 3600;

async fn short_sessions() -> Server {
    Server::start(ServerOpts {
        extra_env: vec![
            ("SESSION_IDLE_TIMEOUT_SECONDS".into(), IDLE.to_string()),
            ("SESSION_MAX_AGE_SECONDS".into(), MAX_AGE.to_string()),
        ],
        ..ServerOpts::default()
    })
    .await
}

/// An admin client on an API token (`POST /api/v1/tokens`), which never expires.
async fn admin_with_api_token(server: &Server) -> Api {
    let admin = server.admin().await;
    let resp = admin
        .post("/api/v1/tokens", &json!({"label": "tests"}))
        .await;
    expect_status(&resp, StatusCode::CREATED, "create an API token");
    let token = resp.1["token"].as_str().expect("token").to_owned();
    admin.with_token(Some(token))
}

async fn me(api: &Api) -> StatusCode {
    api.me().await.0
}

#[tokio::test]
async fn a_login_session_ends_when_idle_and_at_its_max_age_an_api_token_does_not() {
    let server = short_sessions().await;
    let admin = admin_with_api_token(&server).await;
    let resp = admin
        .create_employee(&json!({"name": "Иван", "email": "ivan@example.com", "role": "employee", "password": "ivan-password"}))
        .await;
    expect_status(&resp, StatusCode::CREATED, "create ivan");

    // Used every 9 minutes, a session lives on, but not past an hour.
    let ivan = server
        .api()
        .logged_in("ivan@example.com", "ivan-password")
        .await;
    let mut elapsed = 0;
    while elapsed + 540 < MAX_AGE {
        admin.advance(540).await;
        elapsed += 540;
        assert_eq!(me(&ivan).await, StatusCode::OK, "in use after {elapsed} s");
    }
    admin.advance(MAX_AGE - elapsed).await;
    let resp = ivan.me().await;
    expect_error(
        &resp,
        StatusCode::UNAUTHORIZED,
        "a session past its max age",
    );

    // Unused for the idle timeout, a fresh session ends.
    let ivan = server
        .api()
        .logged_in("ivan@example.com", "ivan-password")
        .await;
    admin.advance(IDLE - 1).await;
    assert_eq!(
        me(&ivan).await,
        StatusCode::OK,
        "one second before idling out"
    );
    admin.advance(IDLE).await;
    assert_eq!(me(&ivan).await, StatusCode::UNAUTHORIZED, "idle");

    // The API token outlived every session: it ends only when revoked.
    assert_eq!(me(&admin).await, StatusCode::OK);
    assert_eq!(me(&server.admin().await).await, StatusCode::OK);
}

#[tokio::test]
async fn a_login_body_that_is_not_json_is_415() {
    let server = Server::start_default().await;
    let body = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        .to_string()
        .into_bytes();
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let resp = server
            .api()
            .raw(
                reqwest::Method::POST,
                "/api/v1/auth/login",
                body.clone(),
                &[("content-type", content_type.to_owned())],
            )
            .await
            .expect("login request");
        let error = expect_error(&resp, StatusCode::UNSUPPORTED_MEDIA_TYPE, content_type);
        assert_eq!(error["code"], "unsupported_media_type", "{error}");
    }
}

#[tokio::test]
async fn a_short_admin_password_is_refused_at_startup() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = tokio::process::Command::new(binary_path());
    cmd.arg("serve")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("REPLYLINE__") {
            cmd.env_remove(key);
        }
    }
    let db = format!("sqlite://{}", dir.path().join("r.db").display());
    cmd.env("REPLYLINE__LISTEN", "127.0.0.1:0")
        .env("REPLYLINE__DATABASE_URL", &db)
        .env("REPLYLINE__ADMIN_EMAIL", ADMIN_EMAIL)
        .env("REPLYLINE__ADMIN_PASSWORD", "x");
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .expect("serve exits within 30 s")
        .expect("serve runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "serve started: {stdout} {stderr}");
    assert!(
        stderr.contains("admin_password"),
        "the error names the key: {stderr}"
    );
    assert!(!stdout.contains("listening on"), "{stdout}");
}
