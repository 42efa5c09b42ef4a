//! WhatsApp in full in a real headless Chromium (issue 11): a client's photo, voice note and
//! document reach the chat through signed webhooks (the fake Graph API serves their bytes); the
//! employee sees the photo's preview and opens it full size, plays the voice note, sees
//! «Файл загружается…» until a download that failed once is retried, sends a PDF through the
//! file input (the fake records the upload and the document send), and after the 24-hour
//! window closes sends an approved template with a parameter from the «Шаблон WhatsApp» dialog
//! (the fake receives it). The dialog is also checked in English; a failing channel shows its
//! banner.
//!
//! Needs Chromium and chromedriver (see `browser.rs`); fails, never skips.
//! `REPLYLINE_SCREENSHOTS=1` writes `docs/screenshots/chat-media.png`, `template-dialog.png`,
//! `template-dialog-en.png` and `channel-failing.png`.

use std::time::Duration;

use replyline_e2e::browser::{Browser, Driver, testid};
use replyline_e2e::fake_graph_templates::template;
use replyline_e2e::poll::until;
use replyline_e2e::setup::{Env, PHONE_NUMBER_ID, id_of};
use replyline_e2e::webhook::{envelope, metadata};
use replyline_e2e::{StatusCode, expect_status};
use serde_json::{Value, json};

const CLIENT: &str = "79001234567";
const CLIENT_NAME: &str = "Анна Кузнецова";
const WABA: &str = "102290129340398";
const WAIT: Duration = Duration::from_secs(15);

/// Two seconds of a 440 Hz tone as a 16-bit mono 8 kHz WAV.
fn tone_wav() -> Vec<u8> {
    let rate: u32 = 8000;
    let samples: Vec<i16> = (0..rate * 2)
        .map(|i| {
            let t = f64::from(i) / f64::from(rate);
            // the sample of a sine in -8000..8000 fits i16
            (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
        })
        .collect();
    let data_len = u32::try_from(samples.len() * 2).expect("small");
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// A signed webhook of one inbound message of `kind` with `payload`, from the client.
async fn client_sends(env: &Env, kind: &str, payload: Value) {
    let body = envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(PHONE_NUMBER_ID),
        "contacts": [{"profile": {"name": CLIENT_NAME}, "wa_id": CLIENT}],
        "messages": [{"from": CLIENT, "id": env.next_wamid(), "timestamp": env.now().to_string(),
                      "type": kind, kind: payload}]
    }));
    let resp = env.post_webhook(&body).await;
    expect_status(&resp, StatusCode::OK, "inbound media webhook");
}

/// The states of the conversation's attachments, in message order.
async fn attachment_states(env: &Env, conv: &str) -> Vec<String> {
    env.messages(conv)
        .await
        .iter()
        .flat_map(|m| m["attachments"].as_array().cloned().unwrap_or_default())
        .map(|a| a["state"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// Waits until the conversation's attachments have exactly `want` as states.
async fn wait_states(env: &Env, conv: &str, want: &[&str]) {
    until(&format!("attachments {want:?}"), WAIT, || async {
        env.advance(1).await;
        let have = attachment_states(env, conv).await;
        (have == want).then_some(())
    })
    .await;
}

/// Waits until no element with `data-testid` is left.
async fn gone(b: &Browser, id: &str) {
    b.until(&format!("[{id}] gone"), || async {
        (b.count(&testid(id)).await == 0).then_some(())
    })
    .await;
}

/// Whether an `<img>` of `selector` has loaded its picture; answers its natural width.
async fn image_width(b: &Browser, selector: &str) -> u64 {
    b.until(&format!("{selector} loaded"), || async {
        let w = b
            .js(
                "const i = document.querySelector(arguments[0]); return i && i.complete ? i.naturalWidth : 0;",
                vec![json!(selector)],
            )
            .await
            .as_u64()
            .unwrap_or(0);
        (w > 0).then_some(w)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_and_files_in_chromium() {
    let env = Env::start(&json!({})).await;
    let base = env.server.base_url().to_owned();
    let resp = env
        .patch_channel(&json!({"whatsapp": {"waba_id": WABA}, "allow_write_first": true}))
        .await;
    expect_status(&resp, StatusCode::OK, "waba id and write first");

    // ---- the client writes, then sends a photo and a voice note --------------------------
    let png = replyline_server::demo::demo_png();
    env.graph.add_media("m-photo", "image/png", &png);
    env.graph.add_media("m-voice", "audio/wav", &tone_wav());
    env.client_says(
        CLIENT,
        Some(CLIENT_NAME),
        "Здравствуйте! Посылка пришла мятая",
    )
    .await;
    let conv = id_of(&env.conversation_of(CLIENT).await);
    client_sends(
        &env,
        "image",
        json!({"id": "m-photo", "mime_type": "image/png", "caption": "Вот фото коробки"}),
    )
    .await;
    client_sends(
        &env,
        "audio",
        json!({"id": "m-voice", "mime_type": "audio/wav", "voice": true}),
    )
    .await;
    wait_states(&env, &conv, &["stored", "stored"]).await;
    client_sends(
        &env,
        "location",
        json!({"latitude": 55.75393, "longitude": 37.620795, "name": "Пункт выдачи", "address": "Москва, Красная площадь, 1"}),
    )
    .await;

    let mut driver = Driver::start().await;
    let ivan = driver.session().await;
    ivan.login(&base, &env.ivan.email, &env.ivan.password).await;
    ivan.goto(&format!("{base}/#/chat/{conv}")).await;
    ivan.wait_live().await;

    // the photo: a preview with its caption under it, full size in the lightbox
    let preview = format!("{} img", testid("attachment-open"));
    assert_eq!(image_width(&ivan, &preview).await, 160, "preview loaded");
    ivan.wait_text("Вот фото коробки").await;
    ivan.click("attachment-open").await;
    ivan.by_testid("lightbox").await;
    assert_eq!(
        image_width(&ivan, &testid("lightbox-image")).await,
        160,
        "full size"
    );
    ivan.click("lightbox-close").await;
    gone(&ivan, "lightbox").await;

    // the voice note: labelled, and it plays
    ivan.wait_text("Голосовое сообщение").await;
    let started = ivan
        .js_async(
            "const a = document.querySelector('[data-testid=attachment-audio]'); a.muted = true; await a.play(); return true;",
            vec![],
        )
        .await;
    assert_eq!(started, json!(true), "audio.play() resolves: {started}");
    ivan.until("the voice note plays", || async {
        let v = ivan
            .js(
                "const a = document.querySelector('[data-testid=attachment-audio]'); return a.readyState >= 2 && (a.currentTime > 0 || !a.paused);",
                vec![],
            )
            .await;
        (v == json!(true)).then_some(())
    })
    .await;

    // the location: a card with a link to OpenStreetMap
    let href = ivan
        .until("the location card", || async {
            let v = ivan
                .js(
                    "const a = document.querySelector('[data-testid=location-link]'); return a ? a.href : null;",
                    vec![],
                )
                .await;
            v.as_str().map(str::to_owned)
        })
        .await;
    assert!(
        href.starts_with("https://www.openstreetmap.org/?mlat=55.75393&mlon=37.620795#map=16/"),
        "{href}"
    );
    ivan.wait_text("Пункт выдачи").await;

    // a document whose first download fails: «Файл загружается…» until the retry
    env.graph
        .add_media("m-doc", "application/pdf", b"%PDF-1.4 invoice");
    env.graph.fail_downloads(1);
    client_sends(
        &env,
        "document",
        json!({"id": "m-doc", "mime_type": "application/pdf", "filename": "чек.pdf"}),
    )
    .await;
    ivan.wait_testid_text("attachment-pending", "Файл загружается…")
        .await;
    assert_eq!(
        attachment_states(&env, &conv).await,
        ["stored", "stored", "pending"]
    );
    env.advance(5).await;
    ivan.wait_testid_text("attachment-name", "чек.pdf").await;
    ivan.wait_testid_text("attachment-size", "16 Б").await;
    ivan.screenshot_at("chat-media", "chat", 1250).await;
    // on a phone the media fit the width
    ivan.client.set_window_size(390, 844).await.expect("resize");
    ivan.js(
        "document.querySelector('[data-testid=messages]').scrollIntoView({block: 'start'}); return true;",
        vec![],
    )
    .await;
    let sideways = ivan
        .js(
            "return Math.max(0, document.documentElement.scrollWidth - window.innerWidth);",
            vec![],
        )
        .await;
    assert_eq!(
        sideways,
        json!(0),
        "the chat with media scrolls sideways on a phone"
    );
    ivan.screenshot("chat-media-phone").await;
    ivan.client
        .set_window_size(1366, 900)
        .await
        .expect("resize");

    // ---- the employee sends a file through the file input ------------------------------------
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("накладная.pdf");
    std::fs::write(&pdf, b"%PDF-1.4\n% replyline test\n").expect("write pdf");
    ivan.choose_file("file-input", &pdf).await;
    ivan.wait_testid_text("file-preview-name", "накладная.pdf")
        .await;
    ivan.fill("reply-input", "Накладная во вложении").await;
    ivan.click("reply-send").await;
    let upload = until("the upload", WAIT, || async {
        env.graph.uploads().into_iter().next()
    })
    .await;
    assert_eq!(upload.file_name.as_deref(), Some("накладная.pdf"));
    assert_eq!(upload.bytes, b"%PDF-1.4\n% replyline test\n");
    let sent = env
        .graph
        .wait_for_matching(1, WAIT, "a document send", |r| r.kind() == Some("document"))
        .await;
    assert_eq!(
        sent[0].body["document"]["id"].as_str(),
        Some(upload.id.as_str())
    );
    assert_eq!(
        sent[0].body["document"]["caption"].as_str(),
        Some("Накладная во вложении")
    );
    gone(&ivan, "file-preview").await;

    // a send that fails for now: the reason and the next attempt, then it goes out
    env.graph
        .fail_next_with_code(1, 131_000, "Something went wrong");
    ivan.fill("reply-input", "Проверка связи").await;
    ivan.click("reply-send").await;
    let line = ivan
        .wait_testid_text(
            "message-error",
            "Не отправлено: Сбой на стороне WhatsApp (код 131000) · повтор в",
        )
        .await;
    assert!(
        !line.contains("Something"),
        "no English in the Russian UI: {line}"
    );
    ivan.screenshot_at("chat-retry", "chat", 1250).await;
    env.advance(120).await;
    env.graph
        .wait_for_matching(1, WAIT, "the retried text", |r| {
            r.text().is_some_and(|t| t.contains("Проверка связи")) && r.accepted_id().is_some()
        })
        .await;
    ivan.until("the retried message is sent", || async {
        let n = ivan
            .count(&format!("{}[data-status=queued]", testid("message")))
            .await;
        (n == 0).then_some(())
    })
    .await;

    // dropping a file on the chat and pasting one into the reply box choose it too
    for (how, name) in [("drop", "фото.png"), ("paste", "скрин.png")] {
        ivan.js(
            "const dt = new DataTransfer(); \
             dt.items.add(new File([new Uint8Array([137, 80, 78, 71])], arguments[1], {type: 'image/png'})); \
             if (arguments[0] === 'drop') { \
               const zone = document.querySelector('[data-testid=chat-drop]'); \
               zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true})); \
               zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true})); \
             } else { \
               document.querySelector('[data-testid=reply-input]').dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true})); \
             } return true;",
            vec![json!(how), json!(name)],
        )
        .await;
        ivan.wait_testid_text("file-preview-name", name).await;
        ivan.click("file-remove").await;
        gone(&ivan, "file-preview").await;
    }

    // a file over Meta's limit never leaves the browser
    let big = dir.path().join("большое.png");
    std::fs::write(&big, vec![0u8; 5 * 1024 * 1024 + 1]).expect("write png");
    ivan.choose_file("file-input", &big).await;
    ivan.wait_testid_text("reply-error", "не больше 5 МБ").await;

    ivan.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_after_the_window_closes_in_chromium() {
    let env = Env::start(&json!({})).await;
    let base = env.server.base_url().to_owned();
    let resp = env
        .patch_channel(&json!({"whatsapp": {"waba_id": WABA}, "allow_write_first": true}))
        .await;
    expect_status(&resp, StatusCode::OK, "waba id and write first");
    env.graph.set_templates(
        WABA,
        vec![
            template(
                "order_update",
                "ru",
                "APPROVED",
                "Здравствуйте, {{1}}! Ваш заказ {{2}} передан в доставку.",
            ),
            template(
                "spring_sale",
                "ru",
                "PENDING",
                "Скидка {{1}} до конца недели!",
            ),
        ],
    );
    env.client_says(CLIENT, Some(CLIENT_NAME), "Где мой заказ 1042?")
        .await;
    let conv = id_of(&env.conversation_of(CLIENT).await);

    let mut driver = Driver::start().await;
    let ivan = driver.session().await;
    ivan.login(&base, &env.ivan.email, &env.ivan.password).await;
    ivan.goto(&format!("{base}/#/chat/{conv}")).await;
    ivan.wait_testid_text("window-state", "Окно 24 часа открыто")
        .await;
    assert_eq!(
        ivan.count(&format!("{}:not([hidden])", testid("window-warning")))
            .await,
        0,
        "no template prompt while the window is open"
    );

    // ---- 24 hours later: only a template reaches the client ------------------------------------
    env.advance(25 * 3600).await;
    ivan.goto(&format!("{base}/#/inbox")).await;
    ivan.by_testid("inbox-list").await;
    ivan.goto(&format!("{base}/#/chat/{conv}")).await;
    ivan.wait_testid_text("window-warning", "Окно 24 часа закрыто")
        .await;
    ivan.click("window-template").await;
    ivan.by_testid("template-dialog").await;
    ivan.wait_testid_text("template-select", "order_update")
        .await;
    let pending_disabled = ivan
        .js(
            "return [...document.querySelectorAll('[data-testid=template-select] option')].filter(o => o.textContent.includes('spring_sale')).every(o => o.disabled);",
            vec![],
        )
        .await;
    assert_eq!(
        pending_disabled,
        json!(true),
        "a pending template cannot be chosen"
    );
    let select = ivan.by_testid("template-select").await;
    ivan.choose(&select, "order_update|ru").await;
    let params = ivan.at_least(&testid("template-param"), 1).await;
    params[0].send_keys("Анна").await.expect("type");
    params[1].send_keys("1042").await.expect("type");
    ivan.wait_testid_text(
        "template-preview-text",
        "Здравствуйте, Анна! Ваш заказ 1042 передан в доставку.",
    )
    .await;
    ivan.screenshot("template-dialog").await;
    ivan.click("template-send").await;
    let sent = env
        .graph
        .wait_for_matching(1, WAIT, "the template", |r| {
            r.template_name() == Some("order_update")
        })
        .await;
    let params = &sent[0].body["template"]["components"][0]["parameters"];
    assert_eq!(params[0]["text"], "Анна", "{params}");
    assert_eq!(params[1]["text"], "1042", "{params}");
    gone(&ivan, "template-dialog").await;
    ivan.wait_text("Шаблон WhatsApp «order_update»").await;

    // ---- the same dialog in English ------------------------------------------------------------
    ivan.switch_language().await;
    ivan.goto(&format!("{base}/#/chat/{conv}")).await;
    ivan.wait_testid_text("template-open", "WhatsApp template")
        .await;
    ivan.click("template-open").await;
    ivan.wait_testid_text("template-dialog", "WhatsApp template")
        .await;
    ivan.click("template-send").await;
    ivan.wait_testid_text("template-param-error", "Fill in the parameter")
        .await;
    ivan.wait_testid_text("template-select", "In review").await;
    ivan.screenshot("template-dialog-en").await;
    ivan.click("template-cancel").await;
    ivan.switch_language().await;

    // ---- writing first: a new client gets a template, not a text ------------------------------
    ivan.goto(&format!("{base}/#/inbox")).await;
    ivan.click("new-chat").await;
    ivan.fill("new-chat-address", "0123").await;
    ivan.fill("new-chat-text", "Добрый день!").await;
    ivan.click("new-chat-submit").await;
    ivan.wait_testid_text("new-chat-address-error", "международном формате")
        .await;
    ivan.fill("new-chat-address", "+7 (900) 765-43-21").await;
    ivan.click("new-chat-submit").await;
    ivan.wait_testid_text("new-chat-status", "выберите «Шаблон WhatsApp»")
        .await;
    ivan.click("new-chat-mode-template").await;
    ivan.wait_testid_text("new-chat-template-select", "order_update")
        .await;
    let params = ivan.at_least(&testid("new-chat-template-param"), 1).await;
    params[0].send_keys("Пётр").await.expect("type");
    params[1].send_keys("2001").await.expect("type");
    ivan.wait_testid_text(
        "new-chat-template-preview-text",
        "Здравствуйте, Пётр! Ваш заказ 2001 передан в доставку.",
    )
    .await;
    ivan.screenshot_at("write-first", "new-chat-box", 900).await;
    ivan.click("new-chat-submit").await;
    let sent = env
        .graph
        .wait_for_matching(1, WAIT, "the first message to a new client", |r| {
            r.to() == "79007654321" && r.template_name() == Some("order_update")
        })
        .await;
    assert_eq!(
        sent[0].body["template"]["components"][0]["parameters"][0]["text"],
        "Пётр"
    );
    ivan.wait_testid_text("chat-title", "79007654321").await;

    // ---- the admin picks a fallback template with a variable for the greeting ------------------
    let admin = driver.session().await;
    admin.login_admin(&base).await;
    admin
        .goto(&format!("{base}/#/calls/messenger/{}", env.channel_id))
        .await;
    admin.click("show-more-settings").await;
    admin
        .click_css(&format!("{} summary", testid("greeting-template")))
        .await;
    admin
        .wait_testid_text("greeting-template-pick", "order_update · ru")
        .await;
    let pick = admin.by_testid("greeting-template-pick").await;
    admin.choose(&pick, "order_update|ru").await;
    let params = admin.at_least(&testid("greeting-template-param"), 1).await;
    params[0].send_keys("{client_name}").await.expect("type");
    params[1].send_keys("—").await.expect("type");
    admin
        .wait_testid_text(
            "greeting-template-preview",
            "Здравствуйте, Анна! Ваш заказ —",
        )
        .await;
    admin.click("settings-save").await;
    admin
        .wait_testid_text("settings-status", "Настройки сохранены")
        .await;
    let (status, settings) = env.admin.settings(&env.channel_id).await;
    assert!(status.is_success(), "{settings}");
    assert_eq!(
        settings["greeting"]["template"],
        json!({"name": "order_update", "language": "ru", "parameters": ["{client_name}", "—"]}),
        "{settings}"
    );
    // the channel page shows the WABA id and the write-first switch, and saves the switch
    admin
        .goto(&format!("{base}/#/admin/channels/{}", env.channel_id))
        .await;
    let waba = admin
        .until("the WABA id", || async {
            let v = admin.value_of(&testid("channel-edit-waba-id")).await;
            (!v.is_empty()).then_some(v)
        })
        .await;
    assert_eq!(waba, WABA);
    // the number's throughput: WhatsApp's 80 by default, refused out of range in Russian
    assert_eq!(admin.value_of(&testid("channel-edit-rate")).await, "80");
    admin.fill("channel-edit-rate", "0").await;
    admin.click("channel-edit-save").await;
    admin
        .wait_testid_text("channel-edit-rate-error", "Целое число от 1 до 1000")
        .await;
    admin.fill("channel-edit-rate", "40").await;
    admin.click("channel-edit-write-first").await;
    admin.click("channel-edit-save").await;
    admin
        .wait_testid_text("channel-edit-status", "Канал сохранён")
        .await;
    let (_, channel) = env.admin.channel(&env.channel_id).await;
    assert_eq!(channel["allow_write_first"], json!(false), "{channel}");
    assert_eq!(
        channel["whatsapp"]["messages_per_second"],
        json!(40),
        "{channel}"
    );
    admin.close().await;

    // ---- a channel that stops sending gets a banner --------------------------------------------
    env.graph
        .fail_next_with_code(3, 190, "Error validating access token");
    let resp = env
        .admin
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            &json!({"template": {"name": "order_update", "language": "ru", "parameters": ["Анна", "1043"]}}),
        )
        .await;
    assert!(resp.0.is_success(), "{resp:?}");
    let banner = ivan
        .wait_testid_text("channel-health-text", "не отправляет сообщения")
        .await;
    assert!(banner.contains("«Main»"), "{banner}");
    assert!(banner.to_lowercase().contains("токен"), "{banner}");
    ivan.screenshot("channel-failing").await;
    ivan.close().await;
}

/// One of the errors as the real server gave it, `{request, status, code,
/// message, field}`, after checking its status is `want`.
fn error_row(request: &str, (status, body): &replyline_e2e::Resp, want: u16) -> Value {
    assert_eq!(status.as_u16(), want, "{request}: {body}");
    let e = &body["error"];
    json!({"request": request, "status": want, "code": e["code"], "message": e["message"], "field": e["field"]})
}

/// The errors as the real server gives them, each `{request, status, code, message, field}`.
async fn whatsapp_errors(env: &Env, conv: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut keep = |request: &str, resp: replyline_e2e::Resp, want: u16| {
        out.push(error_row(request, &resp, want));
    };
    let messages = format!("/api/v1/conversations/{conv}/messages");
    let big = vec![0u8; 5 * 1024 * 1024 + 10];
    keep(
        "a 5 MB + 10 B PNG",
        env.admin
            .post_form(
                &messages,
                &[("file", Some("big.png"), Some("image/png"), &big)],
            )
            .await,
        413,
    );
    keep(
        "an .exe",
        env.admin
            .post_form(
                &messages,
                &[(
                    "file",
                    Some("setup.exe"),
                    Some("application/x-msdownload"),
                    b"MZ",
                )],
            )
            .await,
        422,
    );
    let long = "я".repeat(1025);
    keep(
        "a caption over 1024 characters",
        env.admin
            .post_form(
                &messages,
                &[
                    ("file", Some("a.pdf"), Some("application/pdf"), b"%PDF-1.4"),
                    ("text", None, None, long.as_bytes()),
                ],
            )
            .await,
        422,
    );
    keep(
        "no file part",
        env.admin
            .post_form(&messages, &[("text", None, None, "подпись".as_bytes())])
            .await,
        422,
    );
    let template = |t: Value| {
        let api = env.admin.clone();
        let path = messages.clone();
        async move { api.post(&path, &t).await }
    };
    keep(
        "an unknown template",
        template(json!({"template": {"name": "no_such", "language": "ru", "parameters": []}}))
            .await,
        422,
    );
    keep(
        "one parameter of two",
        template(
            json!({"template": {"name": "order_update", "language": "ru", "parameters": ["Анна"]}}),
        )
        .await,
        422,
    );
    keep(
        "a parameter with a line break",
        template(json!({"template": {"name": "order_update", "language": "ru", "parameters": ["Анна\nКузнецова", "1"]}})).await,
        422,
    );
    keep(
        "text and template",
        template(json!({"text": "привет", "template": {"name": "order_update", "language": "ru", "parameters": ["a", "b"]}})).await,
        422,
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_errors_read_in_the_uis_language() {
    let env = Env::start(&json!({})).await;
    let base = env.server.base_url().to_owned();
    env.client_says(CLIENT, Some(CLIENT_NAME), "Здравствуйте")
        .await;
    let conv = id_of(&env.conversation_of(CLIENT).await);
    let mut errors = Vec::new();
    // before the WABA id and write-first are set
    let resp = env
        .admin
        .get(&format!("/api/v1/channels/{}/templates", env.channel_id))
        .await;
    errors.push(error_row("templates without a WABA id", &resp, 422));
    let first = |address: &str, body: Value| {
        let mut b = body;
        b["channel_id"] = json!(env.channel_id);
        b["contact_address"] = json!(address);
        let api = env.admin.clone();
        async move { api.post("/api/v1/conversations", &b).await }
    };
    let resp = env
        .patch_channel(&json!({"allow_write_first": false}))
        .await;
    expect_status(&resp, StatusCode::OK, "write first off");
    let resp = first(
        "+79007654321",
        json!({"template": {"name": "order_update", "language": "ru", "parameters": ["a", "b"]}}),
    )
    .await;
    errors.push(error_row("write first disabled", &resp, 403));
    let resp = env
        .patch_channel(&json!({"whatsapp": {"waba_id": WABA}, "allow_write_first": true}))
        .await;
    expect_status(&resp, StatusCode::OK, "waba id and write first");
    env.graph.set_templates(
        WABA,
        vec![template(
            "order_update",
            "ru",
            "APPROVED",
            "Здравствуйте, {{1}}! Ваш заказ {{2}} передан в доставку.",
        )],
    );
    for (request, address, body, want) in [
        (
            "a number with a leading 0",
            "0123456789",
            json!({"text": "Добрый день"}),
            422,
        ),
        (
            "text to a new client",
            "+7 900 765-43-21",
            json!({"text": "Добрый день"}),
            422,
        ),
    ] {
        let resp = first(address, body).await;
        errors.push(error_row(request, &resp, want));
    }
    errors.extend(whatsapp_errors(&env, &conv).await);

    let mut driver = Driver::start().await;
    let b = driver.session().await;
    b.login_admin(&base).await;
    let translate = "const done = arguments[arguments.length - 1]; \
        import('/assets/errors.js').then((m) => done(arguments[0].map((e) => { \
          const err = {status: e.status, code: e.code || '', message: e.message || '', field: e.field || ''}; \
          return [m.errorText(err), m.fieldErrorText(err)]; })));";
    let texts = b
        .client
        .execute_async(translate, vec![json!(errors)])
        .await
        .expect("errors.js in the page");
    let cyrillic = |s: &str| {
        s.chars()
            .any(|c| ('а'..='я').contains(&c) || ('А'..='Я').contains(&c))
    };
    let mut problems = Vec::new();
    for (e, pair) in errors.iter().zip(texts.as_array().expect("texts")) {
        let raw = e["message"].as_str().unwrap_or_default();
        eprintln!("{}: {raw:?} → {pair}", e["request"]);
        for text in [
            pair[0].as_str().unwrap_or(""),
            pair[1].as_str().unwrap_or(""),
        ] {
            if !cyrillic(text)
                || (!raw.is_empty() && text.contains(raw))
                || text.starts_with("Недопустимое значение")
                || text == "Что-то пошло не так"
            {
                problems.push(format!("{}: {raw:?} reads {text:?}", e["request"]));
            }
        }
    }
    assert!(problems.is_empty(), "in Russian:\n{}", problems.join("\n"));
    let first_text = texts[0][0].as_str().unwrap_or_default();
    assert!(
        first_text.contains("WhatsApp Business Account ID"),
        "{first_text}"
    );
    let e164 = texts[2][1].as_str().unwrap_or_default();
    assert!(e164.contains("международном формате"), "{e164}");
    let line_break = texts[10][1].as_str().unwrap_or_default();
    assert!(line_break.contains("без переводов строки"), "{line_break}");
    let too_big = &texts[4][0];
    assert!(
        too_big.as_str().unwrap_or_default().contains("5 МБ"),
        "the limit is named: {too_big}"
    );
    b.switch_language().await;
    let texts = b
        .client
        .execute_async(translate, vec![json!(errors)])
        .await
        .expect("errors.js in the page");
    for (e, pair) in errors.iter().zip(texts.as_array().expect("texts")) {
        let text = pair[0].as_str().unwrap_or_default();
        assert!(
            !cyrillic(text),
            "{}: English UI reads {text:?}",
            e["request"]
        );
    }
    b.close().await;
}
