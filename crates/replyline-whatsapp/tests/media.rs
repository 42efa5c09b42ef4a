//! The Graph media client (info, download, upload) against a local fake server.

use std::time::Duration;

use replyline_whatsapp::ErrorClass;
use replyline_whatsapp::media::{download, media_info, upload};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "media-token";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

#[tokio::test]
async fn info_then_download_returns_the_bytes_with_the_token() {
    let server = MockServer::start().await;
    let url = format!("{}/files/abc", server.uri());
    Mock::given(method("GET"))
        .and(path("/v21.0/4490709327384033"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp", "url": url, "mime_type": "image/jpeg",
            "sha256": "abcd", "file_size": "5", "id": "4490709327384033"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/abc"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"\xff\xd8JPG".to_vec()))
        .expect(1)
        .mount(&server)
        .await;

    let info = media_info(&http(), &server.uri(), "v21.0", "4490709327384033", TOKEN)
        .await
        .expect("info");
    assert_eq!(info.url, url);
    assert_eq!(info.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(info.sha256.as_deref(), Some("abcd"));
    assert_eq!(info.file_size, Some(5));
    let bytes = download(&http(), &info.url, TOKEN, 1000)
        .await
        .expect("download");
    assert_eq!(bytes.as_ref(), b"\xff\xd8JPG");
}

#[tokio::test]
async fn errors_are_transient_or_permanent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v21.0/gone"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Unsupported get request.", "type": "GraphMethodException", "code": 100}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v21.0/busy"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/missing"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/big"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![7u8; 2000]))
        .mount(&server)
        .await;

    let base = server.uri();
    let gone = media_info(&http(), &base, "v21.0", "gone", TOKEN)
        .await
        .unwrap_err();
    assert_eq!(gone.class, ErrorClass::Permanent, "{gone}");
    assert_eq!(gone.code, Some(100));
    assert!(gone.message.contains("Unsupported get request"), "{gone}");
    let busy = media_info(&http(), &base, "v21.0", "busy", TOKEN)
        .await
        .unwrap_err();
    assert_eq!(busy.class, ErrorClass::Transient, "{busy}");
    let missing = download(&http(), &format!("{base}/files/missing"), TOKEN, 10)
        .await
        .unwrap_err();
    assert_eq!(missing.class, ErrorClass::Permanent, "{missing}");
    let big = download(&http(), &format!("{base}/files/big"), TOKEN, 1000)
        .await
        .unwrap_err();
    assert_eq!(big.class, ErrorClass::Permanent, "{big}");
    assert!(big.message.contains("larger than 1000"), "{big}");
    // Nobody listening: a network error, worth retrying.
    let refused = media_info(&http(), "http://127.0.0.1:9", "v21.0", "x", TOKEN)
        .await
        .unwrap_err();
    assert_eq!(refused.class, ErrorClass::Transient, "{refused}");
    let bad_id = media_info(&http(), &base, "v21.0", "../x", TOKEN)
        .await
        .unwrap_err();
    assert_eq!(bad_id.class, ErrorClass::Permanent, "{bad_id}");
}

#[tokio::test]
async fn upload_sends_a_multipart_form_and_returns_the_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v21.0/1122334455667/media"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "media-up-1"})))
        .expect(1)
        .mount(&server)
        .await;
    let id = upload(
        &http(),
        &server.uri(),
        "v21.0",
        "1122334455667",
        TOKEN,
        bytes::Bytes::from_static(b"%PDF-1.4 body"),
        "application/pdf",
        "Счёт.pdf",
    )
    .await
    .expect("upload");
    assert_eq!(id, "media-up-1");

    let requests: Vec<Request> = server.received_requests().await.unwrap();
    let request = &requests[0];
    let content_type = request.headers["content-type"].to_str().unwrap();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .expect(content_type);
    let body = String::from_utf8_lossy(&request.body);
    for part in [
        "Content-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n",
        "Content-Disposition: form-data; name=\"type\"\r\n\r\napplication/pdf\r\n",
        "Content-Disposition: form-data; name=\"file\"; filename=\"Счёт.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 body\r\n",
    ] {
        assert!(body.contains(part), "missing {part:?} in {body}");
    }
    assert!(body.ends_with(&format!("--{boundary}--\r\n")), "{body}");
}

#[tokio::test]
async fn a_refused_upload_is_permanent_and_a_failing_one_transient() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v21.0/bad/media"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "(#131053) Media upload error", "code": 131053}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v21.0/down/media"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let try_upload = |phone: &'static str| {
        let base = server.uri();
        async move {
            upload(
                &http(),
                &base,
                "v21.0",
                phone,
                TOKEN,
                bytes::Bytes::from_static(b"x"),
                "image/png",
                "a.png",
            )
            .await
            .unwrap_err()
        }
    };
    let bad = try_upload("bad").await;
    assert_eq!(bad.class, ErrorClass::Permanent, "{bad}");
    assert_eq!(bad.code, Some(131053));
    let down = try_upload("down").await;
    assert_eq!(down.class, ErrorClass::Transient, "{down}");
}
