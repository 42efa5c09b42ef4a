//! Composing WhatsApp messages over HTTP: the channel's template list (cached,
//! refreshed, paged), templates with parameters outside the 24-hour window,
//! writing first to a new number, and files with captions (Meta's limits).

use replyline_e2e::fake_graph_templates::template;
use replyline_e2e::poll::WAIT;
use replyline_e2e::setup::{ACCESS_TOKEN, id_of};
use replyline_e2e::{Env, FormPart, Resp, StatusCode, expect_error, expect_status};
use serde_json::{Value, json};

const WA: &str = "79001234567";
const WABA: &str = "102290129340398";
const ORDER_READY: &str = "Здравствуйте, {{1}}! Заказ {{2}} готов. {{1}}, ждём вас.";

/// The WABA's templates: two approved (one with parameters), one pending, one rejected.
fn waba_templates() -> Vec<Value> {
    vec![
        template("order_ready", "ru", "APPROVED", ORDER_READY),
        template("hello", "ru", "APPROVED", "Здравствуйте! Это Ромашка."),
        template("promo", "ru", "PENDING", "Скидка {{percent}}%"),
        template("old_offer", "en_US", "REJECTED", "Offer {{1}}"),
        template("hello", "en_US", "APPROVED", "Hello from Romashka."),
    ]
}

/// A world whose channel has `WABA` and its templates.
async fn with_templates() -> Env {
    let env = Env::start(&json!({})).await;
    env.graph.set_templates(WABA, waba_templates());
    set_waba(&env, WABA).await;
    env
}

async fn set_waba(env: &Env, waba: &str) -> Value {
    let resp = env
        .patch_channel(&json!({"whatsapp": {"waba_id": waba}}))
        .await;
    expect_status(&resp, StatusCode::OK, "PATCH waba_id");
    resp.1
}

async fn templates(env: &Env, query: &str) -> Resp {
    env.admin
        .get(&format!(
            "/api/v1/channels/{}/templates{query}",
            env.channel_id
        ))
        .await
}

async fn open(env: &Env) -> String {
    env.client_says(WA, Some("Анна"), "Здравствуйте").await;
    id_of(&env.conversation_of(WA).await)
}

async fn send(env: &Env, conv: &str, body: &Value) -> Resp {
    env.admin
        .post(&format!("/api/v1/conversations/{conv}/messages"), body)
        .await
}

fn order_ready(parameters: &[&str]) -> Value {
    json!({"template": {"name": "order_ready", "language": "ru", "parameters": parameters}})
}

#[track_caller]
fn expect_field(resp: &Resp, status: StatusCode, code: &str, field: &str, what: &str) {
    let error = expect_error(resp, status, what);
    assert_eq!(error["code"], code, "{what}: {error}");
    assert_eq!(error["field"], field, "{what}: {error}");
}

#[tokio::test]
async fn the_template_list_is_cached_refreshed_and_read_page_by_page() {
    let env = Env::start(&json!({})).await;
    let resp = templates(&env, "").await;
    let error = expect_error(&resp, StatusCode::UNPROCESSABLE_ENTITY, "no waba_id");
    assert_eq!(error["code"], "waba_id_missing", "{error}");
    let resp = env
        .patch_channel(&json!({"whatsapp": {"waba_id": "not a number"}}))
        .await;
    expect_field(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "whatsapp.waba_id",
        "bad waba_id",
    );

    env.graph.set_template_page_size(2);
    env.graph.set_templates(WABA, waba_templates());
    let channel = set_waba(&env, WABA).await;
    assert_eq!(channel["whatsapp"]["waba_id"], WABA, "{channel}");
    assert_eq!(channel["allow_write_first"], true, "{channel}");

    let (status, rows) = templates(&env, "").await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    let rows = rows.as_array().expect("an array").clone();
    assert_eq!(rows.len(), 5, "every status is listed: {rows:#?}");
    let order = rows
        .iter()
        .find(|t| t["name"] == "order_ready")
        .expect("order_ready listed");
    assert_eq!(order["language"], "ru");
    assert_eq!(order["status"], "APPROVED");
    assert_eq!(order["category"], "UTILITY");
    assert_eq!(order["parameters"], 2, "{{1}} twice and {{2}}: {order}");
    assert_eq!(order["preview"], ORDER_READY);
    assert_eq!(order["components"][0]["type"], "BODY", "{order}");
    let promo = rows.iter().find(|t| t["name"] == "promo").expect("promo");
    assert_eq!(
        (promo["status"].clone(), promo["parameters"].clone()),
        (json!("PENDING"), json!(1))
    );
    let pages = env.graph.template_requests();
    assert_eq!(pages.len(), 3, "5 templates, 2 a page: {pages:#?}");
    assert!(
        pages
            .iter()
            .all(|p| p.authorization.as_deref() == Some(&format!("Bearer {ACCESS_TOKEN}")[..])),
        "{pages:#?}"
    );
    assert_eq!(env.graph.template_listings(), 1);

    // Cached: a member sees the same list without another read.
    let mut more = waba_templates();
    more.push(template("new_one", "ru", "APPROVED", "Новый"));
    env.graph.set_templates(WABA, more);
    let ivan = env.login(&env.ivan).await;
    let (status, cached) = ivan
        .get(&format!("/api/v1/channels/{}/templates", env.channel_id))
        .await;
    assert_eq!(status, StatusCode::OK, "{cached}");
    assert_eq!(cached.as_array().map(Vec::len), Some(5));
    assert_eq!(env.graph.template_listings(), 1, "served from the cache");

    let (_, refreshed) = templates(&env, "?refresh=true").await;
    assert_eq!(refreshed.as_array().map(Vec::len), Some(6), "{refreshed}");
    assert_eq!(env.graph.template_listings(), 2);
    expect_status(
        &templates(&env, "?refresh=maybe").await,
        StatusCode::BAD_REQUEST,
        "refresh=maybe",
    );

    // An hour later the cache is read again.
    env.advance(3601).await;
    expect_status(&templates(&env, "").await, StatusCode::OK, "after an hour");
    assert_eq!(
        env.graph.template_listings(),
        3,
        "a stale cache is read again"
    );

    // A Graph failure is a 502; the cache stays.
    set_waba(&env, "999").await;
    let resp = templates(&env, "?refresh=true").await;
    let error = expect_error(&resp, StatusCode::BAD_GATEWAY, "unknown WABA");
    assert_eq!(error["code"], "provider_error", "{error}");
    let (status, kept) = templates(&env, "").await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept.as_array().map(Vec::len), Some(6), "the cache is kept");

    // `null` removes the WABA: nothing to read the templates from.
    let resp = env
        .patch_channel(&json!({"whatsapp": {"waba_id": null}}))
        .await;
    expect_status(&resp, StatusCode::OK, "waba_id null");
    assert_eq!(resp.1["whatsapp"]["waba_id"], Value::Null, "{}", resp.1);
    let resp = templates(&env, "?refresh=true").await;
    let error = expect_error(&resp, StatusCode::UNPROCESSABLE_ENTITY, "waba removed");
    assert_eq!(error["code"], "waba_id_missing", "{error}");
}

#[tokio::test]
async fn a_template_with_parameters_is_sent_outside_the_window() {
    let env = with_templates().await;
    let conv = open(&env).await;
    env.advance(25 * 3600).await;
    let resp = send(&env, &conv, &json!({"text": "Ваш заказ готов"})).await;
    let error = expect_error(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "free text after 24 h",
    );
    assert_eq!(error["code"], "outside_24h_window", "{error}");

    // The list is read once (empty cache), then again once per miss.
    let unknown = json!({"template": {"name": "nope", "language": "ru", "parameters": []}});
    let resp = send(&env, &conv, &unknown).await;
    expect_field(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_template",
        "template.name",
        "unknown",
    );
    assert_eq!(env.graph.template_listings(), 1);
    let resp = send(&env, &conv, &unknown).await;
    expect_field(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_template",
        "template.name",
        "unknown again",
    );
    assert_eq!(
        env.graph.template_listings(),
        2,
        "a miss reads the list again"
    );
    let pending = json!({"template": {"name": "promo", "language": "ru", "parameters": ["10"]}});
    let resp = send(&env, &conv, &pending).await;
    expect_field(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_template",
        "template.name",
        "pending",
    );
    let wrong_language =
        json!({"template": {"name": "order_ready", "language": "en_US", "parameters": ["a", "b"]}});
    let resp = send(&env, &conv, &wrong_language).await;
    expect_field(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_template",
        "template.name",
        "language",
    );

    let resp = send(&env, &conv, &order_ready(&["Анна"])).await;
    expect_field(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "template.parameters",
        "one of two",
    );
    let resp = send(&env, &conv, &order_ready(&["Анна", "A\n17"])).await;
    expect_field(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "template.parameters[1]",
        "newline",
    );
    let resp = send(&env, &conv, &order_ready(&["", "A-17"])).await;
    expect_field(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "template.parameters[0]",
        "empty",
    );
    let mut both = order_ready(&["Анна", "A-17"]);
    both["text"] = json!("и текст");
    let resp = send(&env, &conv, &both).await;
    expect_error(&resp, StatusCode::UNPROCESSABLE_ENTITY, "text and template");
    assert!(env.graph.messages_to(WA).is_empty(), "nothing was sent yet");

    let (status, message) = send(&env, &conv, &order_ready(&["Анна", "A-17"])).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    assert_eq!(message["template"], "order_ready", "{message}");
    assert_eq!(message["template_language"], "ru", "{message}");
    assert_eq!(
        message["template_parameters"],
        json!(["Анна", "A-17"]),
        "{message}"
    );
    assert_eq!(
        message["text"], "Здравствуйте, Анна! Заказ A-17 готов. Анна, ждём вас.",
        "the filled BODY is the text: {message}"
    );
    let sent = env.graph.wait_for_to(WA, 1, WAIT).await;
    let body = &sent[0].body;
    assert_eq!(body["type"], "template", "{body}");
    assert_eq!(body["template"]["name"], "order_ready", "{body}");
    assert_eq!(body["template"]["language"]["code"], "ru", "{body}");
    assert_eq!(
        body["template"]["components"],
        json!([{"type": "body", "parameters": [
            {"type": "text", "text": "Анна"}, {"type": "text", "text": "A-17"}]}]),
        "{body}"
    );

    // A template with named parameters (added since the list was read: a miss
    // reads it again) sends each parameter with its name, as Meta requires.
    let mut templates = waba_templates();
    templates.push(template(
        "courier",
        "ru",
        "APPROVED",
        "{{client}}, курьер приедет {{when}}.",
    ));
    env.graph.set_templates(WABA, templates);
    let courier = json!({"template": {"name": "courier", "language": "ru",
        "parameters": ["Анна", "завтра"]}});
    let (status, message) = send(&env, &conv, &courier).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    let sent = env.graph.wait_for_to(WA, 2, WAIT).await;
    assert_eq!(
        sent[1].body["template"]["components"],
        json!([{"type": "body", "parameters": [
            {"type": "text", "parameter_name": "client", "text": "Анна"},
            {"type": "text", "parameter_name": "when", "text": "завтра"}]}]),
        "{}",
        sent[1].body
    );

    // A miss while the Graph API fails: still 422, saying why.
    set_waba(&env, "999").await;
    let resp = send(&env, &conv, &unknown).await;
    expect_field(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_template",
        "template.name",
        "the list cannot be read",
    );
    let message = resp.1["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("code 100"), "{message}");
}

#[tokio::test]
async fn writing_first_to_a_new_number_takes_a_template() {
    let env = with_templates().await;
    let ivan = env.login(&env.ivan).await;
    let open_with = |address: &str, body: Value| {
        let mut body = body;
        body["channel_id"] = json!(env.channel_id);
        body["contact_address"] = json!(address);
        let ivan = ivan.clone();
        async move { ivan.post("/api/v1/conversations", &body).await }
    };

    let resp = open_with("+7 (900) 555-00-11", json!({"text": "Здравствуйте!"})).await;
    let error = expect_error(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "free text to a new number",
    );
    assert_eq!(error["code"], "outside_24h_window", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("template"),
        "{error}"
    );
    for bad in [
        "12345",
        "+0 900 555 00 11",
        "+7 900 555 00 11 22 33 44",
        "7900abc0011",
    ] {
        let resp = open_with(bad, json!({"text": "x"})).await;
        expect_field(
            &resp,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "contact_address",
            bad,
        );
    }
    let hello =
        json!({"template": {"name": "order_ready", "language": "ru", "parameters": ["Борис"]}});
    let resp = open_with("+7 (900) 555-00-11", hello).await;
    expect_field(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "template.parameters",
        "count",
    );
    assert!(
        env.conversations_of("79005550011").await.is_empty(),
        "nothing was opened"
    );

    let (status, conv) = open_with(
        "+7 (900) 555-00-11",
        json!({"template": {"name": "order_ready", "language": "ru", "parameters": ["Борис", "B-2"]}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{conv}");
    assert_eq!(
        conv["contact"]["address"], "79005550011",
        "stored as digits: {conv}"
    );
    assert_eq!(
        conv["assignee_id"].as_str(),
        Some(env.ivan.id.as_str()),
        "{conv}"
    );
    let messages = env.messages(&id_of(&conv)).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(messages[0]["template"], "order_ready");
    assert_eq!(
        messages[0]["text"],
        "Здравствуйте, Борис! Заказ B-2 готов. Борис, ждём вас."
    );
    let sent = env.graph.wait_for_to("79005550011", 1, WAIT).await;
    assert_eq!(
        sent[0].template_name(),
        Some("order_ready"),
        "{:?}",
        sent[0].body
    );

    // An open chat with that client: 409.
    let again = json!({"template": {"name": "hello", "language": "ru", "parameters": []}});
    let resp = open_with("79005550011", again.clone()).await;
    expect_error(&resp, StatusCode::CONFLICT, "already open");

    // The channel stops allowing it: 403.
    let resp = env
        .patch_channel(&json!({"allow_write_first": false}))
        .await;
    expect_status(&resp, StatusCode::OK, "allow_write_first off");
    assert_eq!(resp.1["allow_write_first"], false, "{}", resp.1);
    let resp = open_with("+7 900 555-00-22", again).await;
    let error = expect_error(&resp, StatusCode::FORBIDDEN, "write first disabled");
    assert_eq!(error["code"], "write_first_disabled", "{error}");
    assert!(env.conversations_of("79005550022").await.is_empty());
}

/// POSTs `parts` as a form to the conversation's messages.
async fn send_form(env: &Env, conv: &str, parts: &[FormPart<'_>]) -> Resp {
    env.admin
        .post_form(&format!("/api/v1/conversations/{conv}/messages"), parts)
        .await
}

#[tokio::test]
async fn files_are_checked_against_meta_limits_and_stored() {
    let env = Env::start(&json!({})).await;
    let conv = open(&env).await;
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..2000u32).map(|i| (i % 251) as u8))
        .collect();

    let too_big = vec![0u8; 5 * 1024 * 1024 + 1];
    let resp = send_form(
        &env,
        &conv,
        &[("file", Some("big.png"), Some("image/png"), &too_big)],
    )
    .await;
    expect_field(
        &resp,
        StatusCode::PAYLOAD_TOO_LARGE,
        "file_too_large",
        "file",
        "a 5 MB + 1 image",
    );
    assert!(
        resp.1["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("5 MB"),
        "{}",
        resp.1
    );
    let resp = send_form(
        &env,
        &conv,
        &[("file", Some("a.gif"), Some("image/gif"), b"GIF89a")],
    )
    .await;
    expect_field(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unsupported_file_type",
        "file",
        "a gif",
    );
    let resp = send_form(
        &env,
        &conv,
        &[(
            "file",
            Some("run.exe"),
            Some("application/octet-stream"),
            b"MZ",
        )],
    )
    .await;
    expect_field(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unsupported_file_type",
        "file",
        "an exe",
    );
    let resp = send_form(
        &env,
        &conv,
        &[("text", None, None, "только подпись".as_bytes())],
    )
    .await;
    expect_field(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "file",
        "no file",
    );
    let long = "я".repeat(1025);
    let resp = send_form(
        &env,
        &conv,
        &[
            ("file", Some("p.png"), Some("image/png"), &png),
            ("text", None, None, long.as_bytes()),
        ],
    )
    .await;
    expect_field(
        &resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "text",
        "a long caption",
    );
    assert_eq!(
        env.messages(&conv).await.len(),
        1,
        "nothing but the client's message"
    );

    let (status, message) = send_form(
        &env,
        &conv,
        &[
            ("text", None, None, "Ваш чек".as_bytes()),
            ("file", Some("чек.png"), Some("image/png"), &png),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    assert_eq!(message["text"], "Ваш чек", "{message}");
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["kind"], "image", "{message}");
    assert_eq!(attachment["mime_type"], "image/png", "{message}");
    assert_eq!(attachment["file_name"], "чек.png", "{message}");
    assert_eq!(attachment["size"], png.len(), "{message}");
    assert_eq!(attachment["state"], "stored", "{message}");
    let url = attachment["url"]
        .as_str()
        .expect("an attachment url")
        .to_owned();
    let (status, _) = env.admin.get(&url).await;
    assert_eq!(status, StatusCode::OK, "GET {url}");
    let bytes = reqwest::Client::new()
        .get(format!("{}{url}", env.admin.base()))
        .bearer_auth(env.admin.token().expect("a token"))
        .send()
        .await
        .expect("GET the file")
        .bytes()
        .await
        .expect("the bytes");
    assert_eq!(
        bytes.as_ref(),
        png.as_slice(),
        "the stored file is served as sent"
    );

    // An octet-stream part is typed by its name: a PDF is a document.
    let (status, doc) = send_form(
        &env,
        &conv,
        &[(
            "file",
            Some("Договор.pdf"),
            Some("application/octet-stream"),
            b"%PDF-1.4 test",
        )],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    assert_eq!(doc["attachments"][0]["kind"], "document", "{doc}");
    assert_eq!(
        doc["attachments"][0]["mime_type"], "application/pdf",
        "{doc}"
    );
    assert_eq!(doc["text"], "", "no caption: {doc}");

    // Refused by the 24-hour window: the file stored for it is deleted again.
    let dir = env.server.data_dir().join(format!("media/out/{conv}"));
    let stored = || std::fs::read_dir(&dir).map_or(0, Iterator::count);
    assert_eq!(
        stored(),
        2,
        "the image and the PDF are in {}",
        dir.display()
    );
    env.advance(25 * 3600).await;
    let resp = send_form(
        &env,
        &conv,
        &[("file", Some("late.png"), Some("image/png"), &png)],
    )
    .await;
    let error = expect_error(&resp, StatusCode::UNPROCESSABLE_ENTITY, "a file after 24 h");
    assert_eq!(error["code"], "outside_24h_window", "{error}");
    assert_eq!(stored(), 2, "the refused file was deleted");
}
