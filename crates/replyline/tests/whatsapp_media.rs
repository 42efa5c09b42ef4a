//! Inbound WhatsApp media end to end: signed webhooks of every media type of
//! the pywa corpus, the media worker's downloads from the fake Graph API
//! (retries, giving up), `GET /api/v1/media/{id}` with its visibility and
//! headers, and the same on an S3 store (moto).

use std::collections::BTreeMap;
use std::path::PathBuf;

use replyline_e2e::s3::S3;
use replyline_e2e::setup::{PHONE_NUMBER_ID, id_of};
use replyline_e2e::webhook::{envelope, metadata};
use replyline_e2e::{Env, ServerOpts, StatusCode, poll};
use serde_json::{Value, json};

fn corpus_file(name: &str) -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("REPLYLINE_CORPUS_DIR").map_or_else(
        || {
            let shared = manifest.join("../../../shared/fixtures/whatsapp-pywa");
            if shared.is_dir() {
                shared
            } else {
                manifest.join("../replyline-whatsapp/tests/fixtures/whatsapp-pywa")
            }
        },
        PathBuf::from,
    );
    dir.join(name)
}

/// The corpus' `message.json` cases by name.
fn message_cases() -> BTreeMap<String, Value> {
    let path = corpus_file("message.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The only message of a corpus case.
fn message_of(body: &mut Value) -> &mut Value {
    &mut body["entry"][0]["changes"][0]["value"]["messages"][0]
}

/// A corpus media case made ours: its own message id, media id and client.
struct MediaCase {
    name: String,
    body: Value,
    media_id: String,
    mime_type: String,
    bytes: Vec<u8>,
    /// The attachment kind Replyline gives it.
    kind: &'static str,
    caption: String,
    filename: Option<String>,
}

const CLIENT: &str = "79001112233";

/// Every media case of the corpus (image, video, document, audio, voice,
/// stickers), each with its own ids and bytes registered in the fake.
fn media_cases(env: &Env) -> Vec<MediaCase> {
    let mut cases = Vec::new();
    for (name, mut body) in message_cases() {
        let message = message_of(&mut body);
        let kind = message["type"].as_str().unwrap_or_default().to_owned();
        if !["image", "video", "document", "audio", "sticker"].contains(&kind.as_str()) {
            continue;
        }
        let media_id = format!("media-{name}");
        message["id"] = json!(format!("wamid.media.{name}"));
        message["from"] = json!(CLIENT);
        message[&kind]["id"] = json!(media_id);
        let media = message[&kind].clone();
        body["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = json!(CLIENT);
        let mime_type = media["mime_type"].as_str().unwrap().to_owned();
        let bytes = format!("bytes of {name}: {}", "x".repeat(name.len() * 37)).into_bytes();
        let sha = env.graph.add_media(&media_id, &mime_type, &bytes);
        // The webhook's hash is the file's too (the corpus' are placeholders).
        body["entry"][0]["changes"][0]["value"]["messages"][0][&kind]["sha256"] = json!(sha);
        let voice = media["voice"].as_bool() == Some(true);
        cases.push(MediaCase {
            name,
            body,
            media_id,
            mime_type,
            bytes,
            kind: match kind.as_str() {
                "audio" if voice => "voice",
                "image" => "image",
                "video" => "video",
                "document" => "document",
                "audio" => "audio",
                _ => "sticker",
            },
            caption: media["caption"].as_str().unwrap_or_default().to_owned(),
            filename: media["filename"].as_str().map(str::to_owned),
        });
    }
    cases
}

/// A webhook with one media message from `wa_id`.
fn media_webhook(env: &Env, wa_id: &str, kind: &str, media: Value) -> (String, Value) {
    let id = env.next_wamid();
    let body = envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(PHONE_NUMBER_ID),
        "contacts": [{"profile": {"name": "Клиент"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": id, "timestamp": env.now().to_string(),
            "type": kind, kind: media}]
    }));
    (id, body)
}

/// The inbound messages of the contact's newest conversation.
async fn inbound(env: &Env, wa_id: &str) -> (String, Vec<Value>) {
    let conv = env.conversation_of(wa_id).await;
    let cid = id_of(&conv);
    let messages = env
        .messages(&cid)
        .await
        .into_iter()
        .filter(|m| m["direction"] == "in")
        .collect();
    (cid, messages)
}

/// Waits until the message `provider_id` of `wa_id` has an attachment whose
/// state is `state`; answers the message.
async fn wait_attachment(env: &Env, wa_id: &str, provider_id: &str, state: &str) -> Value {
    let what = format!("the attachment of {provider_id} {state}");
    wait_message(env, wa_id, provider_id, &what, |m| {
        m["attachments"][0]["state"] == state
    })
    .await
}

/// Waits until a download attempt of the message `provider_id` of `wa_id`
/// has failed (its attachment has an error); answers the message.
async fn wait_attachment_error(env: &Env, wa_id: &str, provider_id: &str) -> Value {
    let what = format!("a failed download of {provider_id}");
    wait_message(env, wa_id, provider_id, &what, |m| {
        m["attachments"][0]["error"].is_string()
    })
    .await
}

/// Waits until the inbound message `provider_id` of `wa_id` satisfies `ready`.
async fn wait_message(
    env: &Env,
    wa_id: &str,
    provider_id: &str,
    what: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    poll::until(what, poll::WAIT, || async {
        let (_, messages) = inbound(env, wa_id).await;
        messages
            .into_iter()
            .find(|m| m["provider_id"] == provider_id && ready(m))
    })
    .await
}

/// `GET url` with the token of `api`: status, headers and bytes.
async fn fetch(
    api: &replyline_e2e::Api,
    url: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = reqwest::Client::new().get(format!("{}{url}", api.base()));
    if let Some(token) = api.token() {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("GET media");
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_media_type_of_the_corpus_is_stored_once_and_served_with_its_type() {
    let env = Env::start(&json!({})).await;
    let cases = media_cases(&env);
    let kinds: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["audio", "document", "image", "sticker", "video", "voice"],
        "the corpus' media types"
    );
    for case in &cases {
        // Delivered twice, as Meta may: one message, one attachment, one download.
        for _ in 0..2 {
            let (status, body) = env.post_webhook(&case.body).await;
            assert_eq!(status, StatusCode::OK, "{}: {body}", case.name);
        }
    }
    let (cid, _) = inbound(&env, CLIENT).await;
    for case in &cases {
        let provider_id = format!("wamid.media.{}", case.name);
        let message = wait_attachment(&env, CLIENT, &provider_id, "stored").await;
        let attachments = message["attachments"].as_array().unwrap();
        assert_eq!(attachments.len(), 1, "{}: {message}", case.name);
        let a = &attachments[0];
        assert_eq!(a["kind"], case.kind, "{}: {a}", case.name);
        assert_eq!(
            a["mime_type"],
            case.mime_type.as_str(),
            "{}: {a}",
            case.name
        );
        assert_eq!(a["size"], case.bytes.len(), "{}: {a}", case.name);
        assert_eq!(a["file_name"].as_str(), case.filename.as_deref());
        assert_eq!(a["error"], Value::Null, "{}: {a}", case.name);
        assert_eq!(
            message["text"],
            case.caption.as_str(),
            "{}: caption",
            case.name
        );
        assert_eq!(message["kind"], "client");

        let url = a["url"].as_str().unwrap();
        assert_eq!(url, format!("/api/v1/media/{}", id_of(a)));
        let (status, headers, bytes) = fetch(&env.admin, url).await;
        assert_eq!(status, StatusCode::OK, "{}: {url}", case.name);
        assert_eq!(bytes, case.bytes, "{}: the bytes", case.name);
        assert_eq!(
            header(&headers, "content-type"),
            case.mime_type,
            "{}",
            case.name
        );
        assert_eq!(
            header(&headers, "content-length"),
            case.bytes.len().to_string()
        );
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(&headers, "content-security-policy"), "sandbox");
        assert_eq!(header(&headers, "cache-control"), "private, max-age=86400");
        let disposition = header(&headers, "content-disposition");
        // Every media type of the corpus is shown in place (the document is a PDF).
        assert!(
            disposition.starts_with("inline; filename*=UTF-8''"),
            "{}: {disposition}",
            case.name
        );
        if let Some(name) = &case.filename {
            assert!(disposition.ends_with(name.as_str()), "{disposition}");
        }
        assert_eq!(
            env.graph.downloads_of(&case.media_id),
            1,
            "{}: downloaded once",
            case.name
        );
    }
    let (_, messages) = inbound(&env, CLIENT).await;
    assert_eq!(messages.len(), cases.len(), "one message per case: {cid}");
}

#[tokio::test]
async fn a_document_that_is_not_shown_in_place_is_saved_with_its_name() {
    let env = Env::start(&json!({})).await;
    let bytes = b"PK\x03\x04 a zip";
    let sha = env.graph.add_media("zip-1", "application/zip", bytes);
    let (id, body) = media_webhook(
        &env,
        "79005550001",
        "document",
        json!({"id": "zip-1", "mime_type": "application/zip", "sha256": sha,
            "filename": "Отчёт за май.zip"}),
    );
    let (status, resp) = env.post_webhook(&body).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let message = wait_attachment(&env, "79005550001", &id, "stored").await;
    assert_eq!(message["text"], "", "no caption: empty text");
    let (status, headers, got) = fetch(
        &env.admin,
        message["attachments"][0]["url"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, bytes);
    assert_eq!(
        header(&headers, "content-disposition"),
        "attachment; filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%20%D0%B7%D0%B0%20%D0%BC%D0%B0%D0%B9.zip"
    );
}

#[tokio::test]
async fn location_and_contacts_keep_their_details() {
    let env = Env::start(&json!({})).await;
    let cases = message_cases();
    for (name, wa) in [
        ("chosen_location", "79007770001"),
        ("contacts", "79007770002"),
    ] {
        let mut body = cases[name].clone();
        let message = message_of(&mut body);
        message["id"] = json!(format!("wamid.details.{name}"));
        message["from"] = json!(wa);
        body["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = json!(wa);
        let (status, resp) = env.post_webhook(&body).await;
        assert_eq!(status, StatusCode::OK, "{name}: {resp}");
    }
    let location = env
        .wait_messages(
            &id_of(&env.conversation_of("79007770001").await),
            "the location",
            1,
            |m| m["direction"] == "in",
        )
        .await;
    let details = &location[0]["details"]["location"];
    assert_eq!(details["latitude"], 37.4611978, "{}", location[0]);
    assert_eq!(details["longitude"], -122.2164385);
    assert_eq!(details["name"], "Facebook HQ");
    assert_eq!(details["address"], "1 Hacker Way, Menlo Park, CA 94025");
    assert_eq!(location[0]["attachments"], json!([]));

    let contacts = env
        .wait_messages(
            &id_of(&env.conversation_of("79007770002").await),
            "the contacts",
            1,
            |m| m["direction"] == "in",
        )
        .await;
    let cards = contacts[0]["details"]["contacts"]
        .as_array()
        .expect("cards");
    assert_eq!(cards.len(), 3, "{}", contacts[0]);
    assert_eq!(cards[0]["name"], "Chandler Bing");
    assert!(
        cards[0]["phones"].to_string().contains("+1 555-555-5555"),
        "{}",
        cards[0]
    );
    assert_eq!(cards[1]["name"], "Monica");
    assert_eq!(cards[2]["name"], "Rachel Green");
}

#[tokio::test]
async fn a_download_that_fails_for_a_while_is_retried_and_then_stored() {
    let env = Env::start(&json!({})).await;
    let bytes = b"\xff\xd8\xff retried jpeg";
    let sha = env.graph.add_media("retry-1", "image/jpeg", bytes);
    env.graph.fail_downloads(2);
    let (id, body) = media_webhook(
        &env,
        "79001230001",
        "image",
        json!({"id": "retry-1", "mime_type": "image/jpeg", "sha256": sha, "caption": "фото"}),
    );
    let (status, resp) = env.post_webhook(&body).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    // The first attempt failed: still pending, with the reason, and not served.
    let pending = wait_attachment_error(&env, "79001230001", id.as_str()).await;
    let a = &pending["attachments"][0];
    assert_eq!(a["state"], "pending", "{a}");
    assert!(a["error"].as_str().unwrap().contains("500"), "{a}");
    assert_eq!(pending["text"], "фото");
    let (status, _, body) = fetch(&env.admin, a["url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["error"]["code"], "media_not_ready", "{error}");
    assert_eq!(env.graph.downloads_of("retry-1"), 0);

    // 2 s then 4 s later the next attempts: the second fails, the third works.
    env.advance(10).await;
    let stored = wait_attachment(&env, "79001230001", &id, "stored").await;
    assert_eq!(stored["attachments"][0]["error"], Value::Null, "{stored}");
    let (status, _, got) = fetch(
        &env.admin,
        stored["attachments"][0]["url"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, bytes);
    assert_eq!(env.graph.downloads_of("retry-1"), 1);
}

#[tokio::test]
async fn a_download_that_keeps_failing_or_cannot_heal_ends_failed() {
    let env = Env::start(&json!({})).await;
    let bytes = b"never arrives";
    let sha = env.graph.add_media("doomed-1", "image/png", bytes);
    env.graph.fail_downloads(1000);
    let (doomed, body) = media_webhook(
        &env,
        "79004440001",
        "image",
        json!({"id": "doomed-1", "mime_type": "image/png", "sha256": sha}),
    );
    let (status, resp) = env.post_webhook(&body).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    // An id Meta does not know: failed at once, without waiting.
    let (unknown, body) = media_webhook(
        &env,
        "79004440002",
        "video",
        json!({"id": "no-such-media", "mime_type": "video/mp4"}),
    );
    let (status, resp) = env.post_webhook(&body).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let gone = wait_attachment(&env, "79004440002", &unknown, "failed").await;
    let error = gone["attachments"][0]["error"].as_str().unwrap();
    assert!(error.contains("code 100"), "{error}");

    // 2+4+…+128 s of backoff: after the 8th attempt it is given up.
    let after_seven = wait_attachment_error(&env, "79004440001", doomed.as_str()).await;
    assert_eq!(after_seven["attachments"][0]["state"], "pending");
    env.advance(200).await;
    let (_, messages) = inbound(&env, "79004440001").await;
    let still = messages
        .iter()
        .find(|m| m["provider_id"] == doomed.as_str())
        .unwrap();
    assert_eq!(
        still["attachments"][0]["state"], "pending",
        "7 attempts by now: {still}"
    );
    env.advance(100).await;
    let failed = wait_attachment(&env, "79004440001", &doomed, "failed").await;
    let error = failed["attachments"][0]["error"].as_str().unwrap();
    assert!(error.contains("gave up after 8 attempts"), "{error}");
    let (status, _, body) = fetch(
        &env.admin,
        failed["attachments"][0]["url"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], "media_not_ready", "{body}");
    // Much later nothing more is tried.
    env.graph.fail_downloads(0);
    env.advance(3600).await;
    poll::settle().await;
    assert_eq!(env.graph.downloads_of("doomed-1"), 0);
}

#[tokio::test]
async fn a_file_is_served_only_to_who_may_see_its_chat() {
    let env = Env::start(&json!({})).await;
    let sha = env
        .graph
        .add_media("private-1", "image/jpeg", b"private photo");
    let (id, body) = media_webhook(
        &env,
        "79006660001",
        "image",
        json!({"id": "private-1", "mime_type": "image/jpeg", "sha256": sha}),
    );
    let (status, resp) = env.post_webhook(&body).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let message = wait_attachment(&env, "79006660001", &id, "stored").await;
    let url = message["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();

    // A member of the channel sees the unassigned chat and its file.
    let ivan = env.login(&env.ivan).await;
    let (status, _, bytes) = fetch(&ivan, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, b"private photo");

    // Someone outside the channel gets 404, as for the chat itself.
    let (status, body) = env
        .admin
        .create_employee(&json!({"name": "Пётр Чужой", "email": "petr@example.com",
            "role": "employee", "password": "petr-password-123"}))
        .await;
    assert!(status.is_success(), "{body}");
    let petr = env
        .server
        .api()
        .logged_in("petr@example.com", "petr-password-123")
        .await;
    let (status, _) = petr
        .conversation(message["conversation_id"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = fetch(&petr, &url).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    // Unknown and malformed ids are 404 too; no token is 401.
    for bad in ["/api/v1/media/999999", "/api/v1/media/abc"] {
        let (status, _, _) = fetch(&env.admin, bad).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }
    let anonymous = env.server.api();
    let (status, _, _) = fetch(&anonymous, &url).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn files_go_to_an_s3_bucket_when_media_url_says_so() {
    let s3 = S3::start("replyline-media").await;
    let opts = ServerOpts {
        extra_env: vec![("MEDIA_URL".into(), s3.media_url())],
        ..ServerOpts::default()
    };
    let env = Env::start_with(opts, &json!({})).await;
    assert!(
        env.server.output().contains("media: s3://replyline-media"),
        "the media location is printed at start:\n{}",
        env.server.output()
    );
    let bytes = b"OggS voice note in a bucket";
    let sha = env
        .graph
        .add_media("s3-voice", "audio/ogg; codecs=opus", bytes);
    let (id, body) = media_webhook(
        &env,
        "79008880001",
        "audio",
        json!({"id": "s3-voice", "mime_type": "audio/ogg; codecs=opus", "sha256": sha, "voice": true}),
    );
    let (status, resp) = env.post_webhook(&body).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let message = wait_attachment(&env, "79008880001", &id, "stored").await;
    let a = &message["attachments"][0];
    assert_eq!(a["kind"], "voice", "{a}");
    let key = format!(
        "in/{}/{}",
        message["conversation_id"].as_str().unwrap(),
        id_of(a)
    );
    assert_eq!(
        s3.object(&key).await.as_deref(),
        Some(&bytes[..]),
        "the object {key} is in the bucket"
    );
    let (status, headers, got) = fetch(&env.admin, a["url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, bytes);
    assert_eq!(header(&headers, "content-type"), "audio/ogg; codecs=opus");
}

#[tokio::test]
async fn a_file_whose_hash_does_not_match_is_never_served() {
    let env = Env::start(&json!({})).await;
    let wrong = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    env.graph
        .add_media_claiming("bad-hash", "image/jpeg", b"tampered bytes", wrong);
    let (id, body) = media_webhook(
        &env,
        "79003330001",
        "image",
        json!({"id": "bad-hash", "mime_type": "image/jpeg", "sha256": wrong}),
    );
    let (status, resp) = env.post_webhook(&body).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let first = wait_attachment_error(&env, "79003330001", id.as_str()).await;
    let error = first["attachments"][0]["error"].as_str().unwrap();
    assert!(error.contains("SHA-256"), "{error}");
    assert_eq!(first["attachments"][0]["state"], "pending");
    env.advance(600).await;
    let failed = wait_attachment(&env, "79003330001", &id, "failed").await;
    let error = failed["attachments"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("gave up after 8 attempts") && error.contains("SHA-256"),
        "{error}"
    );
    assert_eq!(env.graph.downloads_of("bad-hash"), 8);
    let (status, _, _) = fetch(
        &env.admin,
        failed["attachments"][0]["url"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_download_still_pending_at_a_restart_is_finished_after_it() {
    let mut env = Env::start(&json!({})).await;
    let bytes = b"survives a restart";
    let sha = env.graph.add_media("restart-1", "application/pdf", bytes);
    env.graph.fail_downloads(1);
    let (id, body) = media_webhook(
        &env,
        "79002220001",
        "document",
        json!({"id": "restart-1", "mime_type": "application/pdf", "sha256": sha,
            "filename": "act.pdf", "caption": "акт"}),
    );
    let (status, resp) = env.post_webhook(&body).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    wait_attachment_error(&env, "79002220001", id.as_str()).await;
    env.restart().await;
    env.advance(5).await;
    let stored = wait_attachment(&env, "79002220001", &id, "stored").await;
    assert_eq!(stored["text"], "акт");
    let (status, headers, got) = fetch(
        &env.admin,
        stored["attachments"][0]["url"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, bytes);
    assert_eq!(
        header(&headers, "content-disposition"),
        "inline; filename*=UTF-8''act.pdf"
    );
}
