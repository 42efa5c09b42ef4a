//! The web workspace and the messenger settings page in a real headless Chromium.
//!
//! Needs the `replyline` binary (`cargo build -p replyline`) and Chromium with chromedriver
//! (`apt-get install -y chromium chromium-driver`; `CHROMIUM_BIN` / `CHROMEDRIVER_BIN`
//! override the paths). Fails, never skips, when the browser cannot start.
//! `REPLYLINE_SCREENSHOTS=1` also writes `docs/screenshots/*.png`.

use std::time::{Duration, Instant};

use replyline_e2e::browser::{Browser, Driver, testid};
use replyline_e2e::setup::{CLOSING, Env, GREETING};
use replyline_e2e::{StatusCode, expect_status};
use serde_json::{Value, json};

const CLIENT: &str = "79001234567";
const CLIENT_NAME: &str = "Анна Кузнецова";
const SECOND_CLIENT: &str = "79007654321";

/// Every leaf path where `a` and `b` differ, as `group.field`.
fn changed(a: &Value, b: &Value, prefix: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                changed(
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    &p,
                    out,
                );
            }
        }
        (a, b) if a != b => out.push(prefix.to_owned()),
        _ => {}
    }
}

/// Is the element's checkbox checked?
async fn checked(b: &Browser, id: &str) -> bool {
    b.js(
        "const el = document.querySelector(arguments[0]); return !!(el && el.checked);",
        vec![json!(testid(id))],
    )
    .await
    .as_bool()
    .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_and_messenger_settings_in_chromium() {
    let env = Env::start(&json!({
        "closing": {"enabled": true},
        "notify_manager_first": {"enabled": true, "after_seconds": 600},
    }))
    .await;
    let base = env.server.base_url().to_owned();
    // Ivan works this channel (he sees its unassigned chats).
    let resp = env
        .admin
        .patch_employee(&env.ivan.id, &json!({"channel_ids": [env.channel_id]}))
        .await;
    expect_status(&resp, StatusCode::OK, "ivan joins the channel");

    let mut driver = Driver::start().await;

    // ---- the admin: login, then the exact menu path to the messenger settings -------------
    let admin = driver.session().await;
    admin.goto(&format!("{base}/")).await;
    admin.by_testid("login-submit").await;
    admin.screenshot("login").await;
    admin
        .login(
            &base,
            replyline_e2e::server::ADMIN_EMAIL,
            replyline_e2e::server::ADMIN_PASSWORD,
        )
        .await;

    let before = env.admin.settings(&env.channel_id).await;
    expect_status(&before, StatusCode::OK, "GET settings");
    let before = before.1;

    admin.click_text("nav a", "Звонки и сообщения").await;
    admin
        .click_text(&testid("messenger-settings"), "Настройки мессенджера")
        .await;
    admin.click_text(&testid("settings-channel"), "Main").await;
    admin
        .click_text(&testid("show-more-settings"), "Показать другие настройки")
        .await;
    for (group, title) in [
        ("group-automatic", "Автоматические действия"),
        ("group-control", "Контроль и уведомления"),
        ("group-appearance", "Вид исходящего сообщения"),
    ] {
        let heading = admin.text(group).await;
        assert!(
            heading.contains(title),
            "[{group}] shows {title:?}: {heading:?}"
        );
    }
    assert!(
        !checked(&admin, "greeting-enabled").await,
        "greeting starts off"
    );
    assert!(!checked(&admin, "sign-enabled").await, "signing starts off");
    admin.click("greeting-enabled").await;
    admin.click("sign-enabled").await;
    if replyline_e2e::browser::screenshots_enabled() {
        // A taller window shows the expanded groups in one picture.
        admin
            .client
            .set_window_size(1366, 1700)
            .await
            .expect("resize");
        admin
            .js(
                "document.querySelector(arguments[0]).scrollIntoView({block: 'start'}); window.scrollBy(0, -80);",
                vec![json!(testid("show-more-settings"))],
            )
            .await;
        admin.screenshot("messenger-settings").await;
        admin
            .client
            .set_window_size(1366, 900)
            .await
            .expect("resize");
    }
    admin.click("settings-save").await;
    admin
        .until("the settings saved (status text)", || async {
            let status = admin.text("settings-status").await;
            (!status.trim().is_empty()).then_some(())
        })
        .await;
    let after = admin
        .until("GET settings shows the change", || async {
            let (status, after) = env.admin.settings(&env.channel_id).await;
            (status == StatusCode::OK && after != before).then_some(after)
        })
        .await;
    let mut diff = Vec::new();
    changed(&before, &after, "", &mut diff);
    assert_eq!(
        diff,
        vec![
            "greeting.enabled".to_owned(),
            "sign_outgoing.enabled".to_owned()
        ],
        "saving changed exactly the two switches"
    );

    // The other admin pages, for the screenshots (and that they render).
    admin.click("menu-employees").await;
    admin.wait_testid_text("employee-list", "Иван Петров").await;
    admin.screenshot("employees").await;
    admin.click("menu-channels").await;
    admin.wait_testid_text("channel-list", "Main").await;
    admin.screenshot("channels").await;

    // ---- the employee sees a client message arrive live --------------------------------------
    let ivan = driver.session().await;
    ivan.login(&base, &env.ivan.email, &env.ivan.password).await;
    ivan.until("the live socket is connected", || async {
        let class = ivan
            .by_testid("live-status")
            .await
            .attr("class")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        class.split_whitespace().any(|c| c == "on").then_some(())
    })
    .await;
    assert_eq!(
        ivan.count(&testid("inbox-row")).await,
        0,
        "the inbox starts empty"
    );

    let sent_at = Instant::now();
    env.client_says(
        CLIENT,
        Some(CLIENT_NAME),
        "Здравствуйте! Где мой заказ 1042?",
    )
    .await;
    let row = ivan.wait_testid_text("inbox-row", "Анна Кузнецова").await;
    let live_after = sent_at.elapsed();
    assert!(
        live_after < Duration::from_secs(5),
        "the row appeared after {live_after:?}: that is the 10 s poll, not the live socket"
    );
    assert!(row.contains("Анна Кузнецова"), "{row}");
    // The greeting went out (enabled through the UI).
    let greeting = GREETING.replace("{client_name|клиент}", "Анна Кузнецова");
    env.graph
        .wait_for_matching(1, Duration::from_secs(10), "the greeting", |r| {
            r.text() == Some(greeting.as_str())
        })
        .await;
    ivan.screenshot("inbox").await;

    // ---- opens it, replies with Enter: signed with his name ------------------------------------
    ivan.click("inbox-row").await;
    ivan.wait_testid_text("message-text", "Где мой заказ 1042?")
        .await;
    let input = ivan.by_testid("reply-input").await;
    input
        .send_keys("Добрый день! Заказ уже в пути.")
        .await
        .expect("type the reply");
    input.send_keys("\u{E007}").await.expect("press Enter");
    let signed = "*Иван Петров*:\nДобрый день! Заказ уже в пути.";
    env.graph
        .wait_for_matching(1, Duration::from_secs(10), "the signed reply", |r| {
            r.text() == Some(signed)
        })
        .await;
    ivan.wait_testid_text("message-text", "Заказ уже в пути")
        .await;
    ivan.by_testid("timeline").await;
    ivan.wait_testid_text("timeline-item", "").await;
    ivan.screenshot("chat").await;

    // ---- ends the chat: the closing message goes out ------------------------------------------
    ivan.click_text(&testid("end-chat"), "Завершить чат").await;
    env.graph
        .wait_for_matching(1, Duration::from_secs(10), "the closing message", |r| {
            r.text() == Some(CLOSING)
        })
        .await;
    let conv = env.conversation_of(CLIENT).await;
    assert_eq!(conv["status"], "closed", "{conv}");

    // ---- the manager's bell when a wait passes its deadline -----------------------------------
    let olga = driver.session().await;
    olga.login(&base, &env.olga.email, &env.olga.password).await;
    let unread_before = env.notifications_of(&env.olga).await.len();
    assert_eq!(unread_before, 0);
    env.client_says(
        SECOND_CLIENT,
        Some("Борис"),
        "Подскажите, пожалуйста, часы работы",
    )
    .await;
    let second = ivan
        .until("the second conversation", || async {
            let all = env.conversations_of(SECOND_CLIENT).await;
            all.first().cloned()
        })
        .await;
    let second_id = second["id"].as_str().expect("id").to_owned();
    let resp = env.admin.assign(&second_id, Some(&env.ivan.id)).await;
    expect_status(&resp, StatusCode::OK, "assign to ivan");
    env.advance(601).await;
    olga.until("the bell count shows 1", || async {
        let badge = olga.js(
            "const b = document.querySelector(arguments[0]); return b && !b.hidden ? b.textContent : '';",
            vec![json!(testid("bell-count"))],
        )
        .await;
        (badge.as_str() == Some("1")).then_some(())
    })
    .await;
    olga.click("bell").await;
    olga.wait_testid_text("notification-item", "Борис").await;
    olga.screenshot("notifications").await;
    let conv = env.conversation(&second_id).await;
    assert_eq!(conv["sla_state"], "manager_notified", "{conv}");

    olga.close().await;
    ivan.close().await;
    admin.close().await;
}
