//! Hardening of the API surface (issue 9): connection credentials can never be
//! emptied, a signed reply never exceeds what WhatsApp accepts, control
//! characters and over-long channel names are refused, and provider secrets are
//! encrypted at rest.

mod support;

use replyline_whatsapp::reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{APP_SECRET, Srv, id};

/// The fields of a WhatsApp connection that must never be empty.
const CREDENTIALS: [&str; 4] = [
    "phone_number_id",
    "access_token",
    "app_secret",
    "verify_token",
];

fn assert_field(status: StatusCode, body: &Value, field: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    assert_eq!(body["error"]["field"], field, "{body}");
}

async fn webhook_status(srv: &Srv, channel: &str, secret: &str) -> StatusCode {
    let payload = json!({"object": "whatsapp_business_account", "entry": []}).to_string();
    let signature = replyline_whatsapp::sign(secret.as_bytes(), payload.as_bytes());
    srv.http
        .post(srv.url(&format!("/webhooks/whatsapp/{channel}")))
        .header("X-Hub-Signature-256", signature)
        .body(payload)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_credentials_are_refused_on_patch_and_post() {
    let srv = Srv::start().await;
    let channel = srv.channel("100", "manual", &[]).await;
    for field in CREDENTIALS {
        for empty in ["", "   ", "\t\n"] {
            let (status, body) = srv
                .call(
                    Method::PATCH,
                    &format!("/api/v1/channels/{channel}"),
                    Some(&srv.admin),
                    Some(json!({"whatsapp": {field: empty}})),
                )
                .await;
            assert_field(status, &body, &format!("whatsapp.{field}"));

            let mut whatsapp = json!({"phone_number_id": "200", "access_token": "t",
                "app_secret": "s", "verify_token": "v"});
            whatsapp[field] = json!(empty);
            let (status, body) = srv
                .post(
                    "/api/v1/channels",
                    &srv.admin,
                    json!({"kind": "whatsapp", "name": "Other", "whatsapp": whatsapp}),
                )
                .await;
            assert_field(status, &body, &format!("whatsapp.{field}"));
        }
    }
    // Nothing was changed: the real secret still signs, an empty one never does.
    assert_eq!(
        webhook_status(&srv, &channel, APP_SECRET).await,
        StatusCode::OK
    );
    assert_ne!(webhook_status(&srv, &channel, "").await, StatusCode::OK);
    let (_, list) = srv.get("/api/v1/channels", &srv.admin).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

    // A real new value is still accepted.
    let (status, body) = srv
        .call(
            Method::PATCH,
            &format!("/api/v1/channels/{channel}"),
            Some(&srv.admin),
            Some(json!({"whatsapp": {"app_secret": "new-secret"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        webhook_status(&srv, &channel, "new-secret").await,
        StatusCode::OK
    );
    assert_ne!(
        webhook_status(&srv, &channel, APP_SECRET).await,
        StatusCode::OK
    );
}

async fn sign_every_message(srv: &Srv, channel: &str) {
    srv.ok(
        Method::PUT,
        &format!("/api/v1/channels/{channel}/settings"),
        &srv.admin,
        Some(
            json!({"sign_outgoing": {"enabled": true, "format": "*{employee_name}*:\n{text}",
            "mode": "every_message"}}),
        ),
    )
    .await;
}

fn assert_too_long(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "text_too_long", "{body}");
    assert_eq!(body["error"]["field"], "text", "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("4096"),
        "{body}"
    );
}

/// "*Administrator*:\n" — the default signature of the first admin.
const SIGNATURE_CHARS: usize = 17;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_too_long_with_its_signature_is_refused_before_it_is_stored() {
    let srv = Srv::start().await;
    let channel = srv.channel("100", "manual", &[]).await;
    sign_every_message(&srv, &channel).await;
    let conversation = id(&srv.client_says(&channel, "100", "79990000001", "Hi").await);
    let messages = format!("/api/v1/conversations/{conversation}/messages");
    let (_, before) = srv.get(&messages, &srv.admin).await;

    let (status, body) = srv
        .post(&messages, &srv.admin, json!({"text": "я".repeat(4096)}))
        .await;
    assert_too_long(status, &body);
    let (_, after) = srv.get(&messages, &srv.admin).await;
    assert_eq!(before, after, "nothing was stored");
    let (_, c) = srv
        .get(&format!("/api/v1/conversations/{conversation}"), &srv.admin)
        .await;
    assert!(
        c["waiting_since"].is_string(),
        "the client still waits: {c}"
    );

    // Exactly 4096 characters with the signature goes out.
    let (status, body) = srv
        .post(
            &messages,
            &srv.admin,
            json!({"text": "я".repeat(4096 - SIGNATURE_CHARS)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["text"].as_str().unwrap().chars().count(), 4096);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writing_first_with_a_text_too_long_with_its_signature_opens_nothing() {
    let srv = Srv::start().await;
    let channel = srv.channel("100", "manual", &[]).await;
    sign_every_message(&srv, &channel).await;
    // A client who wrote recently (the window is open) but whose chat was closed.
    let conversation = id(&srv.client_says(&channel, "100", "79990000002", "Hi").await);
    srv.ok(
        Method::POST,
        &format!("/api/v1/conversations/{conversation}/close"),
        &srv.admin,
        None,
    )
    .await;
    let open = |text: String| json!({"channel_id": channel, "contact_address": "79990000002", "text": text});
    let (status, body) = srv
        .post("/api/v1/conversations", &srv.admin, open("a".repeat(4096)))
        .await;
    assert_too_long(status, &body);
    let (_, list) = srv
        .get(
            &format!("/api/v1/conversations?channel_id={channel}"),
            &srv.admin,
        )
        .await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "no new conversation: {list}"
    );

    let (status, body) = srv
        .post(
            "/api/v1/conversations",
            &srv.admin,
            open("a".repeat(4096 - SIGNATURE_CHARS)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn rename(srv: &Srv, channel: &str, name: &str) -> (StatusCode, Value) {
    srv.call(
        Method::PATCH,
        &format!("/api/v1/channels/{channel}"),
        Some(&srv.admin),
        Some(json!({ "name": name })),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_and_long_names_are_refused() {
    let srv = Srv::start().await;
    let channel = srv.channel("100", "manual", &[]).await;
    let conversation = id(&srv.client_says(&channel, "100", "79990000003", "Hi").await);
    for kind in ["messages", "notes"] {
        let path = format!("/api/v1/conversations/{conversation}/{kind}");
        for bad in ["a\u{0}b", "\u{1b}[31mred", "bell\u{7}", "\u{0}"] {
            let (status, body) = srv.post(&path, &srv.admin, json!({"text": bad})).await;
            assert_field(status, &body, "text");
        }
        let (status, body) = srv
            .post(&path, &srv.admin, json!({"text": "line one\r\nline\ttwo"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{kind}: {body}");
    }
    let (status, body) = srv
        .post(
            "/api/v1/conversations",
            &srv.admin,
            json!({"channel_id": channel, "contact_address": "79990000004", "text": "x\u{0}"}),
        )
        .await;
    assert_field(status, &body, "text");

    for bad in [
        "Sales\u{0}".to_owned(),
        "a\nb".to_owned(),
        "x".repeat(201),
        " ".into(),
    ] {
        let (status, body) = rename(&srv, &channel, &bad).await;
        assert_field(status, &body, "name");
        let (status, body) = srv
            .post(
                "/api/v1/channels",
                &srv.admin,
                json!({"kind": "whatsapp", "name": bad, "whatsapp": {"phone_number_id": "300",
                    "access_token": "t", "app_secret": "s", "verify_token": "v"}}),
            )
            .await;
        assert_field(status, &body, "name");
    }
    let (status, body) = rename(&srv, &channel, &"я".repeat(200)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// --- secrets at rest ---

use replyline_server::config::{ClockMode, Config, Secret};
use replyline_store::{NewChannel, NewWebhook};

fn config(dir: &std::path::Path) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}/data/r.db", dir.display()),
        clock: ClockMode::Manual,
        admin_email: Some("admin@example.com".into()),
        admin_password: Some(Secret::new("admin-password")),
        ..Config::default()
    }
}

/// Every byte the database keeps on disk (the file, its WAL and shared memory).
fn database_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir.join("data")).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("r.db")
        {
            all.extend(std::fs::read(path).unwrap());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn admin_token(base: &str) -> String {
    let http = replyline_whatsapp::reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "admin@example.com", "password": "admin-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    login["token"].as_str().unwrap().to_owned()
}

async fn signed_post(base: &str, channel: &str, secret: &str) -> StatusCode {
    let payload = json!({"object": "whatsapp_business_account", "entry": []}).to_string();
    replyline_whatsapp::reqwest::Client::new()
        .post(format!("{base}/webhooks/whatsapp/{channel}"))
        .header(
            "X-Hub-Signature-256",
            replyline_whatsapp::sign(secret.as_bytes(), payload.as_bytes()),
        )
        .body(payload)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_secrets_are_encrypted_in_the_database_with_an_owner_only_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let running = replyline_server::start(config(dir.path())).await.unwrap();
    let base = format!("http://{}", running.addr);
    let token = admin_token(&base).await;
    let http = replyline_whatsapp::reqwest::Client::new();
    let channel: Value = http
        .post(format!("{base}/api/v1/channels"))
        .bearer_auth(&token)
        .json(
            &json!({"kind": "whatsapp", "name": "Sales", "whatsapp": {"phone_number_id": "100",
            "access_token": "EAAG-access-token-plain", "app_secret": "app-secret-plain",
            "verify_token": "verify-token-plain"}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let channel = id(&channel);
    let hook = http
        .post(format!("{base}/api/v1/webhooks"))
        .bearer_auth(&token)
        .json(
            &json!({"url": "http://127.0.0.1:9/crm", "secret": "crm-secret-plain",
            "events": ["message.received"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), StatusCode::CREATED);

    let bytes = database_bytes(dir.path());
    for plain in [
        "EAAG-access-token-plain",
        "app-secret-plain",
        "verify-token-plain",
        "crm-secret-plain",
    ] {
        assert!(!contains(&bytes, plain), "{plain} is stored in plain text");
    }
    // The service still uses them: signatures verify, the handshake answers.
    assert_eq!(
        signed_post(&base, &channel, "app-secret-plain").await,
        StatusCode::OK
    );
    let handshake = http
        .get(format!(
            "{base}/webhooks/whatsapp/{channel}?hub.mode=subscribe&hub.verify_token=verify-token-plain&hub.challenge=42"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(handshake.status(), StatusCode::OK);
    assert_eq!(handshake.text().await.unwrap(), "42");

    let key = dir.path().join("data").join("replyline.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");
    }
    let store = replyline_store::connect(&config(dir.path()).database_url)
        .await
        .unwrap();
    let stored = store.stored_secrets().await.unwrap();
    let app_secret = stored.channels[0].1["app_secret"].as_str().unwrap();
    assert!(app_secret.starts_with("enc:v1:"), "{app_secret}");
    assert!(stored.webhooks[0].1.starts_with("enc:v1:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_rows_are_encrypted_on_start_and_a_wrong_key_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = config(dir.path()).database_url;
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    // A database written before encryption existed.
    let store = replyline_store::connect(&url).await.unwrap();
    let channel = store
        .create_channel(
            NewChannel {
                kind: "whatsapp".into(),
                name: "Old".into(),
                config: json!({"phone_number_id": "100", "access_token": "old-token",
                    "app_secret": "old-secret", "verify_token": "old-verify"}),
                settings: json!({}),
            },
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    store
        .create_webhook(
            NewWebhook {
                url: "http://127.0.0.1:9/crm".into(),
                secret: "old-crm-secret".into(),
                events: vec!["message.received".into()],
            },
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    drop(store);

    let key = replyline_server::secrets::SecretKey::generate().1;
    let keyed = Config {
        secret_key: Some(Secret::new(key.clone())),
        ..config(dir.path())
    };
    let running = replyline_server::start(keyed.clone()).await.unwrap();
    let base = format!("http://{}", running.addr);
    assert_eq!(
        signed_post(&base, &channel.id.to_string(), "old-secret").await,
        StatusCode::OK
    );
    let stored = running.state.store.stored_secrets().await.unwrap();
    for field in ["access_token", "app_secret", "verify_token"] {
        let v = stored.channels[0].1[field].as_str().unwrap();
        assert!(v.starts_with("enc:v1:"), "{field}: {v}");
    }
    assert!(stored.webhooks[0].1.starts_with("enc:v1:"));
    assert!(!dir.path().join("data").join("replyline.key").exists());

    // Idempotent: a second migration changes nothing and checks everything.
    let again = replyline_server::secrets::migrate(
        running.state.store.as_ref(),
        &replyline_server::secrets::SecretKey::from_base64(&key).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(again.encrypted, 0);
    assert_eq!(again.checked, 4);
    assert_eq!(running.state.store.stored_secrets().await.unwrap(), stored);

    // Another key is a clear startup error, not garbage tokens.
    let wrong = Config {
        secret_key: Some(Secret::new(
            replyline_server::secrets::SecretKey::generate().1,
        )),
        listen: "127.0.0.1:0".into(),
        ..config(dir.path())
    };
    let err = replyline_server::start(wrong).await.err().expect("refused");
    let message = err.to_string();
    assert!(message.contains("another key"), "{message}");
    assert!(message.contains("secret_key"), "{message}");
    // A key that is not 32 bytes of base64 too.
    let bad = Config {
        secret_key: Some(Secret::new("short")),
        ..config(dir.path())
    };
    let message = replyline_server::start(bad)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(message.contains("secret_key"), "{message}");
}

// --- 12. the OpenAPI document says what the server does ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_matches_the_server() {
    let srv = Srv::start().await;
    let (_, doc) = srv.call(Method::GET, "/api/openapi.json", None, None).await;
    let mut authenticated = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    let name = p["name"].as_str().unwrap();
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: {p}"
                    );
                }
            }
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                authenticated += 1;
                for status in ["400", "401"] {
                    assert!(
                        op["responses"][status].is_object(),
                        "{method} {path}: no {status}"
                    );
                }
            }
            if op["requestBody"]["content"]["application/json"].is_object() {
                for status in ["400", "415", "422"] {
                    assert!(
                        op["responses"][status].is_object(),
                        "{method} {path}: no {status}"
                    );
                }
            }
        }
    }
    assert!(authenticated > 40, "{authenticated}");
    for (path, name) in [
        ("/api/v1/notifications", "unread"),
        ("/api/v1/tokens", "employee_id"),
        ("/api/v1/conversations", "status"),
        ("/api/v1/conversations", "scope"),
        ("/api/v1/conversations", "channel_id"),
        ("/api/v1/conversations", "assignee_id"),
    ] {
        let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        let p = params.iter().find(|p| p["name"] == name).unwrap();
        assert_eq!(p["in"], "query", "{path} {name}");
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["NewEmployeeRequest"]["properties"]["role"]["enum"],
        json!(["admin", "manager", "employee"])
    );
    assert_eq!(
        schemas["NewChannelRequest"]["properties"]["routing"]["enum"],
        json!(["manual", "round_robin", "sticky", null])
    );
    assert_eq!(
        schemas["TextRequest"]["properties"]["text"]["maxLength"],
        4096
    );
    assert_eq!(
        schemas["NewChannelRequest"]["properties"]["name"]["maxLength"],
        200
    );
    let status = &doc["paths"]["/api/v1/conversations"]["get"]["parameters"][0]["schema"]["enum"];
    assert_eq!(*status, json!(["open", "closed", ""]));
}

/// What schemathesis found where the document was right and the server was not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_findings_stay_fixed() {
    let srv = Srv::start().await;
    // A struct body given as an array (serde reads fields by position) is malformed.
    for (method, path) in [
        (Method::POST, "/api/v1/tokens"),
        (Method::POST, "/api/v1/groups"),
        (Method::POST, "/api/v1/clock/advance"),
    ] {
        let (status, body) = srv
            .call(method, path, Some(&srv.admin), Some(json!([null, null])))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
    }
    // A list body still is one.
    let (status, body) = srv
        .call(
            Method::PUT,
            "/api/v1/routing-rules",
            Some(&srv.admin),
            Some(json!([])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // JSON Schema's integer includes 60.0.
    let (status, body) = srv
        .post(
            "/api/v1/clock/advance",
            &srv.admin,
            json!({"seconds": 60.0}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = srv
        .post("/api/v1/clock/advance", &srv.admin, json!({"seconds": 0.5}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // An id filter too large to be any row's id filters to nothing; a non-number is malformed.
    let (status, body) = srv
        .get(
            "/api/v1/conversations?channel_id=99999999999999999999",
            &srv.admin,
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!([])));
    let (status, _) = srv
        .get("/api/v1/conversations?channel_id=abc", &srv.admin)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A write-first address is a phone number.
    let channel = srv.channel("100", "manual", &[]).await;
    for bad in ["", "+", " 7999", "79 99", "+-1", &"1".repeat(21)] {
        let (status, body) = srv
            .post(
                "/api/v1/conversations",
                &srv.admin,
                json!({"channel_id": channel, "contact_address": bad, "text": "hi"}),
            )
            .await;
        assert_field(status, &body, "contact_address");
    }
}
