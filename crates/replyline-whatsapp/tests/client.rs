//! The Graph send client against a local fake server.

use std::time::Duration;

use replyline_whatsapp::{
    ErrorClass, GraphClient, OutgoingBody, OutgoingMessage, ProviderError, SendError, SentMessage,
    classify, classify_status_errors, request_body,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PHONE_ID: &str = "1122334455667";
const TOKEN: &str = "test-token";

fn text(to: &str, body: &str) -> OutgoingMessage {
    OutgoingMessage {
        to: to.to_owned(),
        callback_data: Some("out-42".to_owned()),
        body: OutgoingBody::Text {
            body: body.to_owned(),
        },
    }
}

fn client(timeout: Duration) -> GraphClient {
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    GraphClient::new(http)
}

async fn send_to(base: &str, msg: &OutgoingMessage) -> Result<SentMessage, SendError> {
    client(Duration::from_secs(5))
        .send(base, "v21.0", PHONE_ID, TOKEN, msg)
        .await
}

/// A server answering every POST with `status` and `body`.
async fn answering(status: u16, body: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    server
}

fn graph_error(code: i64) -> Value {
    json!({"error": {"message": "(#{code}) something", "type": "OAuthException", "code": code,
                     "error_data": {"details": "details here"}, "fbtrace_id": "AbC"}})
}

#[tokio::test]
async fn success_returns_the_wamid_and_sends_the_exact_request() {
    let server = MockServer::start().await;
    let expected = json!({"messaging_product": "whatsapp", "recipient_type": "individual",
        "to": "+79001234567", "type": "text",
        "text": {"preview_url": false, "body": "Здравствуйте"},
        "biz_opaque_callback_data": "out-42"});
    Mock::given(method("POST"))
        .and(path(format!("/v21.0/{PHONE_ID}/messages")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(&expected))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "+79001234567", "wa_id": "79001234567"}],
            "messages": [{"id": "wamid.OUT1"}]})))
        .expect(1)
        .mount(&server)
        .await;

    // A trailing slash on the base URL is tolerated.
    let base = format!("{}/", server.uri());
    let sent = send_to(&base, &text("79001234567", "Здравствуйте"))
        .await
        .expect("send");
    assert_eq!(sent.provider_id, "wamid.OUT1");

    let requests = server.received_requests().await.expect("recording");
    assert_eq!(requests.len(), 1);
    let seen: Value = serde_json::from_slice(&requests[0].body).expect("JSON body");
    assert_eq!(seen, expected);
    assert_eq!(
        requests[0]
            .headers
            .get("authorization")
            .map(|v| v.as_bytes()),
        Some(format!("Bearer {TOKEN}").as_bytes())
    );
    assert_eq!(
        requests[0]
            .headers
            .get("content-type")
            .map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
}

#[tokio::test]
async fn template_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_json(json!({"messaging_product": "whatsapp",
            "recipient_type": "individual", "to": "+79001234567", "type": "template",
            "template": {"name": "follow_up", "language": {"code": "ru"}}})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"messages": [{"id": "wamid.T"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let msg = OutgoingMessage {
        to: "+79001234567".to_owned(),
        callback_data: None,
        body: OutgoingBody::Template {
            name: "follow_up".to_owned(),
            language: "ru".to_owned(),
            parameters: vec![],
            parameter_names: vec![],
        },
    };
    let sent = send_to(&server.uri(), &msg).await.expect("send");
    assert_eq!(sent.provider_id, "wamid.T");
}

#[test]
fn recipient_normalization() {
    assert_eq!(
        request_body(&text("79001234567", "x"))["to"],
        "+79001234567"
    );
    assert_eq!(
        request_body(&text("+79001234567", "x"))["to"],
        "+79001234567"
    );
    assert_eq!(request_body(&text("US.42", "x"))["to"], "US.42");
}

async fn error_class(status: u16, body: Value) -> SendError {
    let server = answering(status, body).await;
    send_to(&server.uri(), &text("79001234567", "hi"))
        .await
        .expect_err("should fail")
}

#[tokio::test]
async fn server_error_is_transient() {
    let err = error_class(500, json!({})).await;
    assert_eq!(err.class, ErrorClass::Transient);
    assert_eq!(err.code, None);
    let err = error_class(429, Value::Null).await;
    assert_eq!(err.class, ErrorClass::Transient);
}

#[tokio::test]
async fn window_closed() {
    let err = error_class(400, graph_error(131_047)).await;
    assert_eq!(err.class, ErrorClass::WindowClosed);
    assert_eq!(err.code, Some(131_047));
    assert!(err.message.contains("details here"), "{}", err.message);
}

#[tokio::test]
async fn rate_limit_is_transient() {
    let err = error_class(400, graph_error(130_429)).await;
    assert_eq!(
        (err.class, err.code),
        (ErrorClass::Transient, Some(130_429))
    );
}

#[tokio::test]
async fn invalid_token_is_auth() {
    let err = error_class(401, graph_error(190)).await;
    assert_eq!((err.class, err.code), (ErrorClass::Auth, Some(190)));
}

#[tokio::test]
async fn undeliverable_is_permanent() {
    let err = error_class(400, graph_error(131_026)).await;
    assert_eq!(
        (err.class, err.code),
        (ErrorClass::Permanent, Some(131_026))
    );
}

#[tokio::test]
async fn retry_after_header_is_reported() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "7"))
        .mount(&server)
        .await;
    let err = send_to(&server.uri(), &text("1", "hi"))
        .await
        .expect_err("429");
    assert_eq!(err.class, ErrorClass::Transient);
    assert_eq!(err.retry_after, Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn undecodable_success_body_is_ambiguous() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>ok</html>"))
        .mount(&server)
        .await;
    let err = send_to(&server.uri(), &text("1", "hi"))
        .await
        .expect_err("ambiguous");
    assert_eq!(err.class, ErrorClass::Ambiguous);
    let err = error_class(200, json!({"messages": []})).await;
    assert_eq!(err.class, ErrorClass::Ambiguous);
}

#[tokio::test]
async fn timeout_after_sending_is_ambiguous() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"messages": [{"id": "wamid.LATE"}]}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let err = client(Duration::from_millis(300))
        .send(&server.uri(), "v21.0", PHONE_ID, TOKEN, &text("1", "hi"))
        .await
        .expect_err("timeout");
    assert_eq!(err.class, ErrorClass::Ambiguous, "{err}");
    // The request did reach the server.
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(1));
}

#[tokio::test]
async fn connection_refused_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let err = send_to(&format!("http://127.0.0.1:{port}"), &text("1", "hi"))
        .await
        .expect_err("refused");
    assert_eq!(err.class, ErrorClass::Transient, "{err}");
}

#[test]
fn classification_table() {
    use ErrorClass as C;
    let table: &[(&[i64], ErrorClass)] = &[
        (
            &[130_429, 4, 80_007, 1, 2, 131_000, 131_016, 131_057],
            C::Transient,
        ),
        (&[131_056], C::PairRateLimit),
        (&[131_047], C::WindowClosed),
        (
            &[
                131_026, 131_050, 130_403, 100, 131_008, 131_009, 131_021, 131_051, 132_000,
                132_015,
            ],
            C::Permanent,
        ),
        (&[0, 190, 3, 10, 200, 250, 299], C::Auth),
        (
            &[131_042, 131_031, 368, 131_045, 33, 131_048, 131_064],
            C::Account,
        ),
        (&[130_472, 999_999], C::Permanent),
    ];
    for (codes, class) in table {
        for code in *codes {
            assert_eq!(classify(*code), *class, "code {code}");
        }
    }
}

#[test]
fn status_errors() {
    let err = |code| ProviderError {
        code,
        title: None,
        message: None,
        details: None,
    };
    assert_eq!(
        classify_status_errors(&[err(131_047)]),
        ErrorClass::WindowClosed
    );
    assert_eq!(
        classify_status_errors(&[err(130_472)]),
        ErrorClass::Permanent
    );
    assert_eq!(
        classify_status_errors(&[err(424_242), err(131_056)]),
        ErrorClass::PairRateLimit
    );
    assert_eq!(classify_status_errors(&[]), ErrorClass::Permanent);
}
