//! Secrets at rest through the real binary (issue 9): the key file is created
//! next to the database, owner-only; the sealed tokens still sign webhooks and
//! authenticate sends after a restart; another key is a clear startup failure.

use replyline_e2e::ServerOpts;
use replyline_e2e::setup::{ACCESS_TOKEN, Env, GREETING};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_provider_secrets_survive_a_restart_and_a_wrong_key_stops_the_start() {
    let data = tempfile::tempdir().unwrap();
    let opts = ServerOpts {
        database_dir: Some(data.path().to_owned()),
        ..ServerOpts::default()
    };
    let mut env = Env::start_with(opts, &json!({"greeting": {"enabled": true}})).await;
    let key = data.path().join("replyline.key");
    assert!(key.exists(), "no key file next to the database");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");
    }
    let key_text = std::fs::read_to_string(&key).unwrap();

    // After a restart the sealed app secret still verifies the signature and the
    // sealed access token still authenticates the send.
    env.restart().await;
    env.client_says("79990000001", Some("Анна"), "Здравствуйте")
        .await;
    let sent = env
        .graph
        .wait_for_to("79990000001", 1, Duration::from_secs(10))
        .await;
    assert_eq!(
        sent[0].authorization.as_deref(),
        Some(format!("Bearer {ACCESS_TOKEN}").as_str())
    );
    assert!(sent[0].text().unwrap().starts_with(&GREETING[..10]));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), key_text, "key kept");

    // Started with another key, the server refuses to run rather than use garbage tokens.
    env.server.kill().await;
    let out = tokio::process::Command::new(replyline_e2e::server::binary_path())
        .arg("serve")
        .env("REPLYLINE__DATABASE_URL", env.server.database_url())
        .env("REPLYLINE__LISTEN", "127.0.0.1:0")
        .env("REPLYLINE__CLOCK", "manual")
        .env(
            "REPLYLINE__SECRET_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .output()
        .await
        .unwrap();
    assert!(!out.status.success(), "started with the wrong key");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another key"), "{stderr}");
}
