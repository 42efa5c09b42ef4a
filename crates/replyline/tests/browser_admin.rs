//! Admin pages that can be trusted, and the profile, in a real headless Chromium against the
//! real binary: the messenger settings save twice in a row, show the server's validation error
//! in Russian at its field, take holidays as ДД.ММ.ГГГГ and ask before unsaved edits are left;
//! a channel's tokens are replaced and a new verify token generated (the webhook handshake and
//! signature agree); the profile changes the password, presence and the alert switches (kept);
//! the audit page lists a change old → new; a fresh install shows the first-run checklist.
//!
//! Needs Chromium and chromedriver (see `browser.rs`); fails, never skips.

use replyline_e2e::browser::{Browser, Driver, testid};
use replyline_e2e::server::{ADMIN_EMAIL, Server, ServerOpts};
use replyline_e2e::setup::{APP_SECRET, Env, VERIFY_TOKEN};
use replyline_e2e::{StatusCode, expect_status};
use serde_json::{Value, json};

/// Is the checkbox with `data-testid` checked?
async fn checked(b: &Browser, id: &str) -> bool {
    b.js(
        "const el = document.querySelector(arguments[0]); return !!(el && el.checked);",
        vec![json!(testid(id))],
    )
    .await
    .as_bool()
    .unwrap_or(false)
}

/// The text of the field error next to the control with `data-testid` (its wrapper's).
async fn field_error(b: &Browser, id: &str) -> String {
    b.js(
        "const el = document.querySelector(arguments[0]); const w = el && el.closest('.field'); \
         const e = w && w.querySelector('.field-error'); return e ? e.textContent : '';",
        vec![json!(testid(id))],
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Waits until the field error at `id` contains `needle`; answers the whole text.
async fn wait_field_error(b: &Browser, id: &str, needle: &str) -> String {
    b.until(
        &format!("the error at [{id}] containing {needle:?}"),
        || async {
            let text = field_error(b, id).await;
            text.contains(needle).then_some(text)
        },
    )
    .await
}

/// Has the text Latin letters only (an untranslated English server message)?
fn looks_english(text: &str) -> bool {
    let latin = text.chars().filter(char::is_ascii_alphabetic).count();
    let cyrillic = text
        .chars()
        .filter(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(*c)))
        .count();
    latin > 0 && cyrillic == 0
}

async fn admin_session(driver: &mut Driver, base: &str) -> Browser {
    let b = driver.session().await;
    b.login_admin(base).await;
    b
}

async fn wait_status(b: &Browser, id: &str, needle: &str) {
    b.wait_testid_text(id, needle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_save_twice_translate_errors_and_guard_unsaved_edits() {
    let env = Env::start(&json!({})).await;
    let base = env.server.base_url().to_owned();
    let mut driver = Driver::start().await;
    let admin = admin_session(&mut driver, &base).await;
    admin
        .goto(&format!("{base}/#/calls/messenger/{}", env.channel_id))
        .await;
    admin.click("show-more-settings").await;

    // First save.
    admin.click("greeting-enabled").await;
    admin.click("settings-save").await;
    wait_status(&admin, "settings-status", "Настройки сохранены").await;
    let (_, s) = env.admin.settings(&env.channel_id).await;
    assert_eq!(s["greeting"]["enabled"], true, "{s}");

    // Second save right after: the button is usable and the change lands.
    admin.click("sign-enabled").await;
    wait_status(&admin, "settings-status", "Есть несохранённые изменения").await;
    admin.click("settings-save").await;
    wait_status(&admin, "settings-status", "Настройки сохранены").await;
    let (_, s) = env.admin.settings(&env.channel_id).await;
    assert_eq!(s["sign_outgoing"]["enabled"], true, "second save: {s}");

    // A value only the server refuses: its error is Russian, at the field.
    admin.fill("working-hours-timezone", "Mars/Olympus").await;
    admin.click("settings-save").await;
    let error = wait_field_error(&admin, "working-hours-timezone", "Mars/Olympus").await;
    admin
        .screenshot_at("settings-server-error", "group-working-hours", 900)
        .await;
    assert!(
        error.contains("Неизвестный часовой пояс"),
        "the server's 422 in Russian at the field: {error:?}"
    );
    assert!(!error.contains("unknown IANA"), "no raw English: {error:?}");
    wait_status(&admin, "settings-status", "не сохранены").await;
    let (_, s) = env.admin.settings(&env.channel_id).await;
    assert_eq!(
        s["working_hours"]["timezone"], "Europe/Moscow",
        "nothing saved"
    );

    // Editing the field clears its server error; holidays typed as ДД.ММ.ГГГГ.
    admin.fill("working-hours-timezone", "Europe/Samara").await;
    assert_eq!(field_error(&admin, "working-hours-timezone").await, "");
    admin.fill("working-hours-holidays", "31.02.2027").await;
    admin.click("settings-save").await;
    let error = wait_field_error(&admin, "working-hours-holidays", "ДД.ММ.ГГГГ").await;
    assert!(
        error.contains("31.02.2027"),
        "an impossible date: {error:?}"
    );
    admin
        .fill("working-hours-holidays", "31.12.2026\n8.3.2027")
        .await;
    admin.click("settings-save").await;
    wait_status(&admin, "settings-status", "Настройки сохранены").await;
    assert_eq!(field_error(&admin, "working-hours-holidays").await, "");
    let (_, s) = env.admin.settings(&env.channel_id).await;
    assert_eq!(s["working_hours"]["timezone"], "Europe/Samara", "{s}");
    assert_eq!(
        s["working_hours"]["holidays"],
        json!(["2026-12-31", "2027-03-08"]),
        "sent as ISO dates"
    );
    admin.client.refresh().await.expect("reload");
    admin.click("show-more-settings").await;
    admin
        .until("the holidays shown as ДД.ММ.ГГГГ", || async {
            let v = admin.value_of(&testid("working-hours-holidays")).await;
            (v == "31.12.2026\n08.03.2027").then_some(())
        })
        .await;

    // Unsaved edits: an in-app link asks first; «Остаться» keeps the page and the edit.
    admin.click("closing-enabled").await;
    admin.click("menu-employees").await;
    admin.by_testid("unsaved-dialog").await;
    admin.screenshot("unsaved-dialog").await;
    admin.click("unsaved-dialog-cancel").await;
    assert!(
        checked(&admin, "closing-enabled").await,
        "the edit is still there"
    );
    let url = admin.client.current_url().await.expect("url").to_string();
    assert!(url.contains("/calls/messenger/"), "stayed: {url}");
    admin.click("menu-employees").await;
    admin.click("unsaved-dialog-confirm").await;
    admin.by_testid("employee-list").await;
    let (_, s) = env.admin.settings(&env.channel_id).await;
    assert_eq!(s["closing"]["enabled"], false, "left without saving");
    // The browser's own warning is armed too (beforeunload is cancelled while dirty).
    admin
        .goto(&format!("{base}/#/calls/messenger/{}", env.channel_id))
        .await;
    admin.click("show-more-settings").await;
    admin.click("closing-enabled").await;
    let cancelled = admin
        .js(
            "const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented;",
            vec![],
        )
        .await;
    assert_eq!(cancelled, json!(true), "beforeunload warns about the edit");

    // Switching the language redraws the page: with the edit pending it asks first.
    admin.click("lang-switch").await;
    admin.click("unsaved-dialog-cancel").await;
    let lang = admin
        .js("return document.documentElement.lang", vec![])
        .await;
    assert_eq!(lang, json!("ru"), "stayed in Russian with the edit");
    assert!(checked(&admin, "closing-enabled").await, "the edit is kept");
    admin.click("lang-switch").await;
    admin.click("unsaved-dialog-confirm").await;
    admin
        .until("the English UI", || async {
            let lang = admin
                .js("return document.documentElement.lang", vec![])
                .await;
            (lang == json!("en")).then_some(())
        })
        .await;

    // The English UI shows the same server error in English.
    admin.click("show-more-settings").await;
    admin.fill("working-hours-timezone", "Mars/Olympus").await;
    admin.click("settings-save").await;
    let error = wait_field_error(&admin, "working-hours-timezone", "Mars/Olympus").await;
    assert!(error.contains("Unknown time zone"), "{error:?}");
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_tokens_are_replaced_and_a_verify_token_generated() {
    let env = Env::start(&json!({})).await;
    let base = env.server.base_url().to_owned();
    let mut driver = Driver::start().await;
    let admin = admin_session(&mut driver, &base).await;
    admin.click("menu-channels").await;
    admin.click("channel-open").await;
    admin.wait_testid_text("channel-page", "Канал «Main»").await;
    let values = admin
        .js(
            "return [...document.querySelectorAll('[data-testid=channel-secrets] input')].map((i) => i.value).join('')",
            vec![],
        )
        .await;
    assert_eq!(values, json!(""), "stored secrets are never filled in");
    for id in [
        "channel-access-token-set",
        "channel-app-secret-set",
        "channel-verify-token-set",
    ] {
        assert_eq!(admin.text(id).await, "задан");
    }

    // An empty replacement is refused at the field, in Russian.
    admin.click("channel-replace-app-secret").await;
    wait_field_error(&admin, "channel-new-app-secret", "Обязательное поле").await;

    // Replace the app secret: webhooks signed with the old one are refused, the new one works.
    admin
        .fill("channel-new-app-secret", "a-brand-new-app-secret")
        .await;
    admin.click("channel-replace-app-secret").await;
    wait_status(&admin, "channel-secret-status", "заменён").await;
    let body = env
        .text("79001112233", Some("Пётр"), "Добрый день")
        .to_webhook();
    let old = env
        .admin
        .whatsapp_webhook(&env.channel_id, APP_SECRET, &body)
        .await;
    assert!(
        old.0.is_client_error(),
        "the old secret no longer signs: {}",
        old.0
    );
    let new = env
        .admin
        .whatsapp_webhook(&env.channel_id, "a-brand-new-app-secret", &body)
        .await;
    expect_status(&new, StatusCode::OK, "signed with the new secret");

    // Generate a verify token: shown once, and the webhook handshake takes it.
    admin.click("channel-generate-verify-token").await;
    let token = admin.text("channel-verify-token-value").await;
    assert_eq!(token.len(), 32, "{token:?}");
    let (status, challenge) = env
        .admin
        .whatsapp_verify(&env.channel_id, "subscribe", &token, "42")
        .await;
    assert_eq!((status, challenge.as_str()), (StatusCode::OK, "42"));
    let (status, _) = env
        .admin
        .whatsapp_verify(&env.channel_id, "subscribe", VERIFY_TOKEN, "42")
        .await;
    assert!(status.is_client_error(), "the old verify token is refused");

    // Rename and routing mode from the same page.
    admin.fill("channel-edit-name", "Основной номер").await;
    let routing = admin.by_testid("channel-edit-routing").await;
    admin.choose(&routing, "round_robin").await;
    admin.click("channel-edit-save").await;
    wait_status(&admin, "channel-edit-status", "Канал сохранён").await;
    let (_, ch) = env.admin.channel(&env.channel_id).await;
    assert_eq!(ch["name"], "Основной номер");
    assert_eq!(ch["routing"], "round_robin");
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_password_presence_telegram_and_alerts() {
    let env = Env::start(&json!({})).await;
    let base = env.server.base_url().to_owned();
    let mut driver = Driver::start().await;
    let ivan = driver.session().await;
    ivan.login(&base, &env.ivan.email, &env.ivan.password).await;
    ivan.click("me").await;
    ivan.by_testid("profile-page").await;
    ivan.wait_testid_text("profile-identity", &env.ivan.email)
        .await;
    // The test server has neither smtp_url nor a Telegram bot: the profile says so.
    ivan.wait_testid_text("profile-page", "На этом сервере почта не настроена")
        .await;
    ivan.wait_testid_text("profile-page", "На этом сервере не настроен Telegram-бот")
        .await;
    for id in ["alert-sound", "alert-desktop", "alert-title"] {
        ivan.until(&format!("{id} on by default"), || async {
            checked(&ivan, id).await.then_some(())
        })
        .await;
    }

    // Alert switches: off, saved, still off after a reload.
    ivan.click("alert-sound").await;
    ivan.click("alert-title").await;
    ivan.click("prefs-save").await;
    wait_status(&ivan, "prefs-status", "Сохранено").await;
    let api = env.login(&env.ivan).await;
    let (_, prefs) = api.get("/api/v1/me/preferences").await;
    assert_eq!(
        (
            &prefs["alert_sound"],
            &prefs["alert_desktop"],
            &prefs["alert_title"]
        ),
        (&json!(false), &json!(true), &json!(false)),
        "{prefs}"
    );
    ivan.client.refresh().await.expect("reload");
    ivan.by_testid("profile-page").await;
    ivan.until("the switches as saved", || async {
        let ok = !checked(&ivan, "alert-sound").await
            && checked(&ivan, "alert-desktop").await
            && !checked(&ivan, "alert-title").await;
        ok.then_some(())
    })
    .await;
    assert!(
        !admin_visible_text(&ivan).await.contains("alert_sound"),
        "no raw field names on the page"
    );

    // Quiet hours typed wrong: a Russian error at the field, nothing saved.
    ivan.click("pref-quiet-enabled").await;
    ivan.fill("pref-quiet-start", "25:00").await;
    ivan.click("prefs-save").await;
    wait_field_error(&ivan, "pref-quiet-start", "ЧЧ:ММ").await;
    ivan.fill("pref-quiet-start", "22:30").await;
    ivan.fill("pref-quiet-end", "07:00").await;
    ivan.fill("pref-quiet-timezone", "Europe/Moscow").await;
    ivan.click("prefs-save").await;
    wait_status(&ivan, "prefs-status", "Сохранено").await;
    let (_, prefs) = api.get("/api/v1/me/preferences").await;
    assert_eq!(
        prefs["quiet_hours"],
        json!({"start": "22:30", "end": "07:00", "timezone": "Europe/Moscow"})
    );

    // Password: a wrong current one is the server's error, in Russian, at the field.
    ivan.fill("profile-current-password", "not-my-password")
        .await;
    ivan.fill("profile-new-password", "a-new-password-1").await;
    ivan.fill("profile-repeat-password", "a-new-password-1")
        .await;
    ivan.click("profile-password-save").await;
    let error = wait_field_error(&ivan, "profile-current-password", "неверно").await;
    assert!(!looks_english(&error), "{error:?}");
    let status = ivan.text("profile-password-status").await;
    assert!(
        !looks_english(&status),
        "the status line is Russian: {status:?}"
    );
    ivan.fill("profile-current-password", &env.ivan.password)
        .await;
    ivan.click("profile-password-save").await;
    wait_status(&ivan, "profile-password-status", "Пароль изменён").await;
    assert_eq!(
        env.server
            .api()
            .login(&env.ivan.email, "a-new-password-1")
            .await
            .0,
        StatusCode::OK,
        "the new password works"
    );

    // Away, then online again; the API agrees each time.
    ivan.click("profile-online").await;
    wait_status(&ivan, "profile-presence-status", "отошли").await;
    let (_, me) = env
        .admin
        .get(&format!("/api/v1/employees/{}", env.ivan.id))
        .await;
    assert_eq!(me["online"], false, "{me}");

    // Telegram: a chat id with a space is refused in Russian; a good one links.
    ivan.fill("profile-telegram-chat-id", "12 34").await;
    ivan.click("profile-telegram-save").await;
    let error = wait_field_error(&ivan, "profile-telegram-chat-id", "без пробелов").await;
    assert!(!looks_english(&error), "{error:?}");
    ivan.fill("profile-telegram-chat-id", "123456789").await;
    ivan.click("profile-telegram-save").await;
    wait_status(&ivan, "profile-telegram-status", "Telegram привязан").await;
    let (_, me) = env
        .admin
        .get(&format!("/api/v1/employees/{}", env.ivan.id))
        .await;
    assert_eq!(me["telegram_chat_id"], "123456789");
    ivan.close().await;
}

async fn admin_visible_text(b: &Browser) -> String {
    b.js("return document.body.innerText", vec![])
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_page_lists_a_settings_change() {
    let env = Env::start(&json!({})).await;
    let base = env.server.base_url().to_owned();
    // More than a page (50) of older changes, then the one to find at the top.
    for i in 0..55 {
        env.put_settings(&json!({"no_reply": {"after_seconds": 300 + i}}))
            .await;
    }
    env.put_settings(&json!({"greeting": {"enabled": true}}))
        .await;
    let (status, all) = env.admin.get("/api/v1/audit?limit=200").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let total = all.as_array().map_or(0, Vec::len);
    assert!(total > 56, "every change is logged: {total}");
    let mut driver = Driver::start().await;
    let admin = admin_session(&mut driver, &base).await;
    admin.click("menu-audit").await;
    admin.by_testid("audit-page").await;
    let entry = admin
        .wait_testid_text("audit-entry", "Настройки мессенджера")
        .await;
    assert!(entry.contains("«Main»"), "names the channel: {entry}");
    let change = admin
        .wait_testid_text("audit-change", "Приветствие → Включено")
        .await;
    assert!(change.contains("нет → да"), "old → new: {change}");
    assert!(
        !admin_visible_text(&admin)
            .await
            .contains("greeting.enabled"),
        "field names are translated"
    );

    // «Показать ещё» pages back with the cursor until everything is listed, once each.
    assert_eq!(admin.count(&testid("audit-entry")).await, 50, "one page");
    while admin.count(&testid("audit-entry")).await < total {
        let before = admin.count(&testid("audit-entry")).await;
        admin.click("audit-more").await;
        admin
            .until("the next page", || async {
                (admin.count(&testid("audit-entry")).await > before).then_some(())
            })
            .await;
    }
    assert_eq!(admin.count(&testid("audit-entry")).await, total);
    let more_hidden = admin
        .js(
            "return document.querySelector(arguments[0]).hidden",
            vec![json!(testid("audit-more"))],
        )
        .await;
    assert_eq!(more_hidden, json!(true), "no more pages");
    let delay = admin
        .wait_testid_text("audit-change", "Если сотрудники не отвечают → Задержка")
        .await;
    assert!(
        delay.contains("353 секунды → 354 секунды"),
        "delays read exactly: {delay}"
    );
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_checklist_on_a_fresh_install() {
    let server = Server::start(ServerOpts::default()).await;
    let base = server.base_url().to_owned();
    let mut driver = Driver::start().await;
    let admin = admin_session(&mut driver, &base).await;
    let banner = admin.wait_testid_text("firstrun", "С чего начать").await;
    for step in [
        "Подключите номер WhatsApp",
        "Добавьте сотрудников",
        "Настройте приветствие",
        "демо",
    ] {
        assert!(banner.contains(step), "{step:?} in {banner:?}");
    }
    let done = |b: &Browser, step: &'static str| {
        let b = b.client.clone();
        async move {
            b.execute(
                "const el = document.querySelector(arguments[0]); return el ? el.dataset.done : null;",
                vec![json!(testid(&format!("firstrun-step-{step}")))],
            )
            .await
            .unwrap_or(Value::Null)
        }
    };
    assert_eq!(done(&admin, "whatsapp").await, json!("false"));

    // Connect a channel through the linked page: the step is ticked.
    admin
        .click_css("[data-testid=\"firstrun-step-whatsapp\"] a")
        .await;
    admin.fill("channel-name", "Main").await;
    admin.fill("channel-phone-number-id", "1122334455").await;
    admin.fill("channel-access-token", "tok").await;
    admin.fill("channel-app-secret", "secret").await;
    admin.fill("channel-verify-token", "verify").await;
    admin.click("channel-create").await;
    admin.by_testid("channel-created").await;
    admin.click("menu-employees").await;
    admin
        .until("the WhatsApp step ticked", || async {
            (done(&admin, "whatsapp").await == json!("true")).then_some(())
        })
        .await;
    assert_eq!(done(&admin, "employees").await, json!("false"));
    admin.wait_testid_text("firstrun-progress", "1 из 4").await;

    // Hidden for good in this browser.
    admin.click("firstrun-hide").await;
    admin.client.refresh().await.expect("reload");
    admin.by_testid("employee-list").await;
    admin.visible("#main[data-firstrun]").await;
    assert_eq!(admin.count(&testid("firstrun")).await, 0, "stays hidden");

    // An install with a channel and a team shows nothing (another admin browser).
    let api = server.admin().await;
    let (status, e) = api
        .create_employee(&json!({"name": "Иван Петров", "email": "ivan@example.com", "role": "employee", "password": "ivan-password-1"}))
        .await;
    assert!(status.is_success(), "{e}");
    let other = admin_session(&mut driver, &base).await;
    other.visible("#main[data-firstrun]").await;
    assert_eq!(
        other.count(&testid("firstrun")).await,
        0,
        "not shown once there is a channel and a colleague"
    );
    admin.close().await;
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_errors_are_russian_including_the_rate_limit() {
    let server = Server::start(ServerOpts::default()).await;
    let base = server.base_url().to_owned();
    let mut driver = Driver::start().await;
    let b = driver.session().await;
    b.goto(&format!("{base}/")).await;
    let mut last = String::new();
    for attempt in 1..=6 {
        b.fill("login-email", ADMIN_EMAIL).await;
        b.fill("login-password", &format!("wrong-{attempt}")).await;
        // The previous answer is wiped first, so the wait sees this attempt's own.
        b.js(
            "document.querySelector(arguments[0]).textContent = '';",
            vec![json!(testid("login-error"))],
        )
        .await;
        b.click("login-submit").await;
        last = b
            .until(&format!("the error of attempt {attempt}"), || async {
                let text = b
                    .js(
                        "return document.querySelector(arguments[0]).textContent;",
                        vec![json!(testid("login-error"))],
                    )
                    .await;
                text.as_str().filter(|t| !t.is_empty()).map(str::to_owned)
            })
            .await;
        assert!(!looks_english(&last), "attempt {attempt}: {last:?}");
        if attempt < 6 {
            assert_eq!(last, "Неверная электронная почта или пароль");
        }
    }
    assert!(
        last.starts_with("Слишком много попыток, попробуйте через ") && last.ends_with(" с"),
        "the 429 with its Retry-After in Russian: {last:?}"
    );
    b.close().await;
}

/// Provokes one error of every kind the admin pages and the profile can meet, from the real
/// server, and answers the error bodies (`{"code","message","field"}` plus the status).
async fn real_server_errors(env: &Env) -> Vec<Value> {
    let ch = &env.channel_id;
    let settings = format!("/api/v1/channels/{ch}/settings");
    let ivan = env.login(&env.ivan).await;
    let requests: Vec<(&replyline_e2e::api::Api, &str, String, Value)> = vec![
        (
            &env.admin,
            "PUT",
            settings.clone(),
            json!({"greeting": {"text": "Привет, {foo}!"}}),
        ),
        (
            &env.admin,
            "PUT",
            settings.clone(),
            json!({"greeting": {"text": "Привет, {client_name"}}),
        ),
        (
            &env.admin,
            "PUT",
            settings.clone(),
            json!({"greeting": {"text": ""}}),
        ),
        (
            &env.admin,
            "PUT",
            settings.clone(),
            json!({"greeting": {"enabled": "yes"}}),
        ),
        (
            &env.admin,
            "PUT",
            settings.clone(),
            json!({"greeting": {"colour": "red"}}),
        ),
        (
            &env.admin,
            "PUT",
            settings.clone(),
            json!({"sign_outgoing": {"format": "*{employee_name}*"}}),
        ),
        (
            &env.admin,
            "PUT",
            settings.clone(),
            json!({"no_reply": {"after_seconds": 0}}),
        ),
        (
            &env.admin,
            "PUT",
            settings.clone(),
            json!({"working_hours": {"timezone": "Mars/Olympus"}}),
        ),
        (
            &env.admin,
            "PUT",
            settings.clone(),
            json!({"working_hours": {"holidays": ["31.12.2026"]}}),
        ),
        (
            &env.admin,
            "PUT",
            settings.clone(),
            json!({"working_hours": {"week": {"mon": ["18:00-09:00"]}}}),
        ),
        (
            &env.admin,
            "PUT",
            settings.clone(),
            json!({"working_hours": {"week": {"mon": ["09:00-13:00", "12:00-18:00"]}}}),
        ),
        (
            &env.admin,
            "PUT",
            settings.clone(),
            json!({"notify_manager_first": {"manager_ids": ["999"]}}),
        ),
        (
            &env.admin,
            "PUT",
            settings.clone(),
            json!({"supervisors": ["999"]}),
        ),
        (
            &env.admin,
            "PATCH",
            format!("/api/v1/employees/{}", env.ivan.id),
            json!({"role": "boss"}),
        ),
        (
            &env.admin,
            "PATCH",
            format!("/api/v1/employees/{}", env.ivan.id),
            json!({"email": "not-an-address"}),
        ),
        (
            &env.admin,
            "PATCH",
            format!("/api/v1/employees/{}", env.dmitry.id),
            json!({"manager_id": env.ivan.id}),
        ),
        (
            &env.admin,
            "PATCH",
            format!("/api/v1/employees/{}", env.ivan.id),
            json!({"password": "short"}),
        ),
        (
            &env.admin,
            "PATCH",
            format!("/api/v1/employees/{}", env.ivan.id),
            json!({"name": ""}),
        ),
        (
            &env.admin,
            "POST",
            "/api/v1/employees".into(),
            json!({"name": "Иван", "email": env.ivan.email, "role": "employee", "password": "long-enough-1"}),
        ),
        (
            &env.admin,
            "PATCH",
            format!("/api/v1/channels/{ch}"),
            json!({"routing": "random"}),
        ),
        (
            &env.admin,
            "PATCH",
            format!("/api/v1/channels/{ch}"),
            json!({"whatsapp": {"api_base_url": "ftp://x"}}),
        ),
        (
            &env.admin,
            "PATCH",
            format!("/api/v1/channels/{ch}"),
            json!({"whatsapp": {"api_version": "v21/0"}}),
        ),
        (
            &env.admin,
            "POST",
            "/api/v1/channels".into(),
            json!({"kind": "viber", "name": "V"}),
        ),
        (
            &env.admin,
            "PUT",
            "/api/v1/routing-rules".into(),
            json!([{"keywords": [], "employee_id": env.ivan.id}]),
        ),
        (
            &env.admin,
            "PUT",
            "/api/v1/routing-rules".into(),
            json!([{"keywords": ["заказ"], "employee_id": env.ivan.id, "group_id": "1"}]),
        ),
        (
            &env.admin,
            "PUT",
            "/api/v1/routing-rules".into(),
            json!([{"keywords": ["заказ"], "employee_id": "999"}]),
        ),
        (
            &ivan,
            "PATCH",
            "/api/v1/me".into(),
            json!({"password": "a-new-password-1", "current_password": "wrong"}),
        ),
        (
            &ivan,
            "PATCH",
            "/api/v1/me".into(),
            json!({"password": "a-new-password-1"}),
        ),
        (
            &ivan,
            "PATCH",
            "/api/v1/me".into(),
            json!({"telegram_chat_id": "12 34"}),
        ),
        (
            &ivan,
            "PUT",
            "/api/v1/me/preferences".into(),
            json!({"alert_sound": "yes"}),
        ),
        (
            &ivan,
            "PUT",
            "/api/v1/me/preferences".into(),
            json!({"language": "de"}),
        ),
        (
            &ivan,
            "PUT",
            "/api/v1/me/preferences".into(),
            json!({"quiet_hours": {"start": "25:00", "end": "08:00", "timezone": "Europe/Moscow"}}),
        ),
        (
            &ivan,
            "PUT",
            settings.clone(),
            json!({"greeting": {"enabled": true}}),
        ),
        (&ivan, "GET", "/api/v1/audit".into(), Value::Null),
        (&ivan, "GET", "/api/v1/search?q=".into(), Value::Null),
        (
            &ivan,
            "POST",
            "/api/v1/quick-replies".into(),
            json!({"title": "", "text": "x"}),
        ),
        (
            &ivan,
            "POST",
            "/api/v1/quick-replies".into(),
            json!({"title": "Общий", "text": "x", "shared": true}),
        ),
    ];
    let mut out = Vec::new();
    for (api, method, path, body) in requests {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let body = (!body.is_null()).then_some(&body);
        let (status, answer) = api.call(method.clone(), &path, body).await;
        assert!(
            status.is_client_error(),
            "{method} {path} {body:?} should fail: {status} {answer}"
        );
        let mut e = answer["error"].clone();
        assert!(e["code"].is_string(), "{method} {path}: {answer}");
        e["status"] = json!(status.as_u16());
        e["request"] = json!(format!("{method} {path}"));
        out.push(e);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_error_reads_in_the_uis_language() {
    let env = Env::start(&json!({})).await;
    let base = env.server.base_url().to_owned();
    let errors = real_server_errors(&env).await;
    let mut driver = Driver::start().await;
    let admin = admin_session(&mut driver, &base).await;
    let translate = "const done = arguments[arguments.length - 1]; \
        import('/assets/errors.js').then((m) => done(arguments[0].map((e) => { \
          const err = {status: e.status, code: e.code, message: e.message, field: e.field || ''}; \
          return [m.errorText(err), m.fieldErrorText(err)]; })));";
    let texts = admin
        .client
        .execute_async(translate, vec![json!(errors)])
        .await
        .expect("errors.js in the page");
    let texts = texts.as_array().expect("texts").clone();
    let mut generic = Vec::new();
    for (e, pair) in errors.iter().zip(&texts) {
        let (banner, at_field) = (
            pair[0].as_str().unwrap_or_default(),
            pair[1].as_str().unwrap_or_default(),
        );
        let raw = e["message"].as_str().unwrap_or_default();
        for text in [banner, at_field] {
            assert!(
                text.chars()
                    .any(|c| ('а'..='я').contains(&c) || ('А'..='Я').contains(&c)),
                "{}: {raw:?} reads {text:?} in the Russian UI",
                e["request"]
            );
            assert!(!text.contains(raw), "the raw message shows: {text:?}");
        }
        let parts: Vec<&str> = banner.split(": ").collect();
        assert!(
            parts.len() < 3 || parts[0] != parts[1],
            "the field is named twice: {banner:?}"
        );
        if at_field == "Недопустимое значение" {
            generic.push(format!("{} {raw}", e["request"]));
        }
    }
    // Every error above has its own sentence, none falls back to the generic one.
    assert!(
        generic.is_empty(),
        "generic texts for:\n{}",
        generic.join("\n")
    );

    // English UI: the same errors in English.
    admin.switch_language().await;
    let texts = admin
        .client
        .execute_async(translate, vec![json!(errors)])
        .await
        .expect("errors.js in the page");
    for (e, pair) in errors.iter().zip(texts.as_array().expect("texts")) {
        let banner = pair[0].as_str().unwrap_or_default();
        assert!(
            !banner
                .chars()
                .any(|c| ('а'..='я').contains(&c) || ('А'..='Я').contains(&c)),
            "{}: English UI reads {banner:?}",
            e["request"]
        );
    }
    admin.close().await;
}

/// Clicks the menu entry `menu` with an edit pending: the leave dialog shows; «Остаться» keeps
/// the page (its `page` element still there), «Уйти без сохранения» follows the link.
async fn leave_asks(b: &Browser, menu: &str, page: &str, arrived: &str) {
    b.click(menu).await;
    b.by_testid("unsaved-dialog").await;
    b.click("unsaved-dialog-cancel").await;
    b.by_testid(page).await;
    b.click(menu).await;
    b.click("unsaved-dialog-confirm").await;
    b.by_testid(arrived).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn employee_form_channel_page_and_profile_guard_unsaved_edits() {
    let env = Env::start(&json!({})).await;
    let base = env.server.base_url().to_owned();
    let mut driver = Driver::start().await;
    let admin = admin_session(&mut driver, &base).await;

    // Nothing typed: the menu just works.
    admin.click("menu-employees").await;
    admin.by_testid("employee-row").await;
    admin.click("menu-channels").await;
    admin.by_testid("channel-row").await;

    // A new employee half typed.
    admin.click("menu-employees").await;
    admin.fill("employee-name", "Мария Иванова").await;
    leave_asks(&admin, "menu-channels", "employee-list", "channel-list").await;

    // A replacement token typed on the channel page.
    admin.click("channel-open").await;
    admin.fill("channel-new-access-token", "a-new-token").await;
    leave_asks(&admin, "menu-employees", "channel-secrets", "employee-list").await;
    let (_, ch) = env.admin.channel(&env.channel_id).await;
    assert_eq!(ch["status"], "active", "nothing was sent: {ch}");

    // An alert switch changed on the profile but not saved; a saved one leaves freely.
    admin.click("me").await;
    admin.by_testid("profile-page").await;
    admin
        .until("the preferences loaded", || async {
            checked(&admin, "alert-sound").await.then_some(())
        })
        .await;
    admin.click("alert-sound").await;
    leave_asks(&admin, "menu-employees", "profile-page", "employee-list").await;
    admin.click("me").await;
    admin
        .until("the preferences loaded", || async {
            checked(&admin, "alert-sound").await.then_some(())
        })
        .await;
    admin.click("alert-sound").await;
    admin.click("prefs-save").await;
    wait_status(&admin, "prefs-status", "Сохранено").await;
    admin.click("menu-employees").await;
    admin.by_testid("employee-list").await;
    assert_eq!(admin.count(&testid("unsaved-dialog")).await, 0);
    admin.close().await;
}
