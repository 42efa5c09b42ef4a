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
    admin.login_admin(&base).await;

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
    ivan.wait_live().await;
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
    // «Завершить чат» asks first (a dialog, not window.confirm).
    ivan.click("end-chat-confirm-yes").await;
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

/// `[data-testid="ID"][data-employee-id="EMPLOYEE"]`.
fn of_employee(id: &str, employee: &str) -> String {
    format!("{}[data-employee-id=\"{employee}\"]", testid(id))
}

/// The trimmed visible texts of every element with `data-testid`.
async fn texts(b: &Browser, id: &str) -> Vec<String> {
    let v = b
        .js(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.innerText.trim());",
            vec![json!(testid(id))],
        )
        .await;
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Goes Звонки и сообщения → Настройки мессенджера (the page with the channels and the
/// team-wide entries).
async fn open_messenger_settings(admin: &Browser) {
    admin.click_text("nav a", "Звонки и сообщения").await;
    admin
        .click_text(&testid("messenger-settings"), "Настройки мессенджера")
        .await;
}

/// The custom notification text of the control rule in the test below.
const NOTIFY_TEXT: &str = "Срочно: {client_name|клиент} ждёт ответа {waited_minutes} мин. Ответственный: {employee_name|не назначен}. {company_name}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chosen_manager_gets_the_rules_own_notification_text_in_chromium() {
    let env = Env::start(&json!({})).await;
    let base = env.server.base_url().to_owned();
    let mut driver = Driver::start().await;

    // ---- the admin sets notify_manager_first through the UI ---------------------------------
    let admin = driver.session().await;
    admin.login_admin(&base).await;
    let before = env.admin.settings(&env.channel_id).await;
    expect_status(&before, StatusCode::OK, "GET settings");
    let before = before.1;
    open_messenger_settings(&admin).await;
    admin.click_text(&testid("settings-channel"), "Main").await;
    admin
        .click_text(&testid("show-more-settings"), "Показать другие настройки")
        .await;
    admin.click("notify-first-enabled").await;

    // The stored 600 s shows as the common value «10 минут»; «Другое…» takes 90 seconds.
    assert_eq!(admin.value_of(&testid("notify-first-delay")).await, "600");
    let delay = admin.by_testid("notify-first-delay").await;
    admin.choose(&delay, "other").await;
    admin.fill("notify-first-delay-value", "90").await;
    let unit = admin.by_testid("notify-first-delay-unit").await;
    admin.choose(&unit, "seconds").await;

    // «Руководитель»: empty means the employee's manager; choose Dmitry (Ivan's manager is Olga).
    assert!(
        admin
            .text("notify-first-managers-empty")
            .await
            .contains("Руководитель сотрудника")
    );
    admin.click("notify-first-managers-add").await;
    admin.fill("notify-first-managers-search", "Дмитр").await;
    admin
        .click_text(&testid("notify-first-managers-option"), "Дмитрий Соколов")
        .await;
    let chip = admin
        .visible(&of_employee("notify-first-managers-chip", &env.dmitry.id))
        .await;
    assert!(
        chip.text()
            .await
            .unwrap_or_default()
            .contains("Дмитрий Соколов")
    );
    admin.click("notify-first-managers-add").await; // «Готово» closes the search

    // «Текст уведомления»: an unknown variable is an error at the field, in Russian.
    admin
        .fill("notify-first-text", "Клиент {client_nmae} ждёт")
        .await;
    admin
        .wait_testid_text(
            "notify-first-text-error",
            "Неизвестная переменная {client_nmae}",
        )
        .await;
    admin.fill("notify-first-text", NOTIFY_TEXT).await;
    admin
        .until("the field error is gone", || async {
            let text = admin
                .js(
                    "return document.querySelector(arguments[0]).textContent",
                    vec![json!(testid("notify-first-text-error"))],
                )
                .await;
            (text == json!("")).then_some(())
        })
        .await;
    // The preview renders the sample values; {waited_minutes} is the rule's delay in whole minutes.
    admin
        .wait_testid_text(
            "notify-first-text-preview",
            // {company_name} is the server's (GET /api/v1/server), not a placeholder.
            "Срочно: Анна ждёт ответа 1 мин. Ответственный: Иван Петров. Ромашка",
        )
        .await;
    admin
        .screenshot_at("settings-control", "group-control", 1500)
        .await;

    admin.click("settings-save").await;
    admin
        .wait_testid_text("settings-status", "Настройки сохранены")
        .await;
    let after = admin
        .until("GET settings shows the change", || async {
            let (status, after) = env.admin.settings(&env.channel_id).await;
            (status == StatusCode::OK && after != before).then_some(after)
        })
        .await;
    assert_eq!(
        after["notify_manager_first"],
        json!({
            "enabled": true,
            "after_seconds": 90,
            "escalate_after_seconds": null,
            "manager_ids": [env.dmitry.id],
            "text": NOTIFY_TEXT,
        }),
        "{after}"
    );
    let mut diff = Vec::new();
    changed(&before, &after, "", &mut diff);
    assert_eq!(
        diff,
        [
            "notify_manager_first.after_seconds",
            "notify_manager_first.enabled",
            "notify_manager_first.manager_ids",
            "notify_manager_first.text",
        ],
        "only what was changed was sent"
    );
    // Save stays usable after a save; with nothing changed it says so.
    let disabled = admin
        .js(
            "return document.querySelector(arguments[0]).disabled",
            vec![json!(testid("settings-save"))],
        )
        .await;
    assert_eq!(disabled, json!(false), "Save is enabled again after saving");
    admin.click("settings-save").await;
    admin
        .wait_testid_text("settings-status", "Изменений нет")
        .await;

    // After a reload 90 s shows as «Другое…» 90 seconds, never as 1.5 minutes.
    admin.client.refresh().await.expect("reload");
    admin.click("show-more-settings").await;
    admin
        .visible(&of_employee("notify-first-managers-chip", &env.dmitry.id))
        .await;
    assert_eq!(admin.value_of(&testid("notify-first-delay")).await, "other");
    assert_eq!(
        admin.value_of(&testid("notify-first-delay-value")).await,
        "90"
    );
    assert_eq!(
        admin.value_of(&testid("notify-first-delay-unit")).await,
        "seconds"
    );
    // The same page in English.
    admin.switch_language().await;
    admin.click("show-more-settings").await;
    admin
        .wait_testid_text("group-control", "Notification text")
        .await;
    assert!(
        admin
            .text("group-control")
            .await
            .contains("Control and notifications")
    );
    admin
        .screenshot_at("settings-control-en", "group-control", 1500)
        .await;
    admin.switch_language().await;

    // ---- a client waits; past the delay the CHOSEN manager gets exactly that text -----------
    let dmitry = driver.session().await;
    dmitry
        .login(&base, &env.dmitry.email, &env.dmitry.password)
        .await;
    env.client_says(
        CLIENT,
        Some(CLIENT_NAME),
        "Добрый день! Когда привезут заказ?",
    )
    .await;
    let conv = admin
        .until("the conversation", || async {
            env.conversations_of(CLIENT).await.first().cloned()
        })
        .await;
    let conv_id = conv["id"].as_str().expect("id").to_owned();
    let resp = env.admin.assign(&conv_id, Some(&env.ivan.id)).await;
    expect_status(&resp, StatusCode::OK, "assign to ivan");
    env.advance(91).await;

    dmitry
        .until("the bell count shows 1", || async {
            let badge = dmitry.js(
                "const b = document.querySelector(arguments[0]); return b && !b.hidden ? b.textContent : '';",
                vec![json!(testid("bell-count"))],
            )
            .await;
            (badge.as_str() == Some("1")).then_some(())
        })
        .await;
    dmitry.click("bell").await;
    let expected = "Срочно: Анна Кузнецова ждёт ответа 1 мин. Ответственный: Иван Петров. Ромашка";
    dmitry.wait_testid_text("notification-text", "Срочно").await;
    assert_eq!(
        texts(&dmitry, "notification-text").await,
        [expected],
        "the notification's first line is the rule's text, rendered"
    );
    dmitry
        .wait_testid_text(
            "notification-reason",
            "Сотрудник не ответил на первое сообщение клиента",
        )
        .await;
    dmitry.screenshot("notifications-text").await;
    let notes = env.notifications_of(&env.dmitry).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["text"], expected, "{}", notes[0]);
    assert!(
        env.notifications_of(&env.olga).await.is_empty(),
        "the org-chart manager is not notified when managers are chosen"
    );

    dmitry.close().await;
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_rules_groups_and_the_queue_in_chromium() {
    let env = Env::start(&json!({})).await;
    let base = env.server.base_url().to_owned();
    let mut driver = Driver::start().await;
    let admin = driver.session().await;
    admin.login_admin(&base).await;

    // ---- Звонки и сообщения → Настройки мессенджера → Правила маршрутизации сообщений -------
    open_messenger_settings(&admin).await;
    admin
        .click_text(
            &testid("routing-rules-link"),
            "Правила маршрутизации сообщений",
        )
        .await;
    admin.by_testid("routing-rules-empty").await;

    // A user group, created through the UI.
    admin.fill("group-name", "Отдел продаж").await;
    admin
        .click_css(&of_employee("group-member", &env.dmitry.id))
        .await;
    admin.click("group-save").await;
    admin.wait_testid_text("group-row", "Отдел продаж").await;
    let groups = replyline_e2e::setup::array(env.admin.get("/api/v1/groups").await, "GET groups");
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0]["name"], "Отдел продаж");
    assert_eq!(groups[0]["employee_ids"], json!([env.dmitry.id]));
    let group_id = groups[0]["id"].as_str().expect("group id").to_owned();

    // Three rules; the first two both match the message below.
    for (n, keywords, target) in [
        (0, "заказ\u{E007}", format!("e:{}", env.ivan.id)),
        (1, "доставка\u{E007}", format!("e:{}", env.olga.id)),
        (2, "возврат, обмен\u{E007}", format!("g:{group_id}")),
    ] {
        admin.click("routing-rule-add").await;
        let input = admin.nth("routing-rule-keywords-input", n).await;
        input.send_keys(keywords).await.expect("type keywords");
        let select = admin.nth("routing-rule-target", n).await;
        admin.choose(&select, &target).await;
    }
    let channel = admin.nth("routing-rule-channel", 2).await;
    admin.choose(&channel, &env.channel_id).await;
    admin.click("routing-save").await;
    admin
        .wait_testid_text("routing-status", "Правила сохранены")
        .await;
    let rules = replyline_e2e::setup::array(
        env.admin.get("/api/v1/routing-rules").await,
        "GET routing-rules",
    );
    let summary = |rules: &[Value]| -> Vec<(Value, Value, Value, Value)> {
        rules
            .iter()
            .map(|r| {
                (
                    r["keywords"].clone(),
                    r["employee_id"].clone(),
                    r["group_id"].clone(),
                    r["channel_id"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(
        summary(&rules),
        [
            (
                json!(["заказ"]),
                json!(env.ivan.id),
                Value::Null,
                Value::Null
            ),
            (
                json!(["доставка"]),
                json!(env.olga.id),
                Value::Null,
                Value::Null
            ),
            (
                json!(["возврат", "обмен"]),
                Value::Null,
                json!(group_id),
                json!(env.channel_id)
            ),
        ]
    );

    // Drag rule 2 («доставка») above rule 1 by its handle, with a real pointer.
    let handle = admin.nth("routing-rule-handle", 1).await;
    let first = admin.nth("routing-rule", 0).await;
    let (_, _, _, height) = first.rectangle().await.expect("rect");
    #[allow(clippy::cast_possible_truncation)]
    let to_top = -(height / 2.0) as i64 + 6;
    admin.drag(&handle, &first, to_top).await;
    admin
        .until("«доставка» is rule 1", || async {
            let rows = texts(&admin, "routing-rule").await;
            rows.first()
                .is_some_and(|r| r.contains("доставка") && !r.contains("заказ"))
                .then_some(())
        })
        .await;
    assert_eq!(
        texts(&admin, "routing-rule-priority").await,
        ["1", "2", "3"]
    );
    admin
        .wait_testid_text("routing-status", "Есть несохранённые изменения")
        .await;
    admin
        .screenshot_at("routing-rules", "routing-rules", 1400)
        .await;
    admin.click("routing-save").await;
    admin
        .wait_testid_text("routing-status", "Правила сохранены")
        .await;
    let rules = replyline_e2e::setup::array(
        env.admin.get("/api/v1/routing-rules").await,
        "GET routing-rules",
    );
    let order: Vec<Value> = rules.iter().map(|r| r["keywords"][0].clone()).collect();
    assert_eq!(order, [json!("доставка"), json!("заказ"), json!("возврат")]);

    // A group a rule targets cannot be deleted: the 409 is said in Russian at its row.
    admin.click("group-delete").await;
    admin.click("group-delete-confirm").await;
    admin
        .wait_testid_text("group-row-error", "Группу нельзя удалить")
        .await;

    // ---- a new chat whose first message matches both: the winner is the dragged rule ---------
    env.client_says(
        CLIENT,
        Some(CLIENT_NAME),
        "Здравствуйте! Где мой заказ? Доставка задерживается",
    )
    .await;
    let conv = admin
        .until("the conversation is routed to Olga", || async {
            let conv = env.conversations_of(CLIENT).await.first().cloned()?;
            (conv["assignee_id"].as_str() == Some(env.olga.id.as_str())).then_some(conv)
        })
        .await;
    let conv_id = conv["id"].as_str().expect("id").to_owned();
    let routed: Vec<Value> = env
        .events(&conv_id)
        .await
        .into_iter()
        .filter(|e| e["type"] == "routed")
        .collect();
    assert_eq!(routed.len(), 1, "{routed:?}");
    assert_eq!(routed[0]["data"]["routing"], "rule", "{routed:?}");
    assert_eq!(routed[0]["data"]["rule_position"], 1, "{routed:?}");
    admin.click("menu-inbox").await;
    admin.click("inbox-row").await;
    admin
        .wait_testid_text(
            "timeline-item",
            "Направлен по правилу маршрутизации №1 («доставка») → Ольга Смирнова",
        )
        .await;
    admin.screenshot("chat-routed").await;

    // ---- the queue of the channel, edited on the channel page --------------------------------
    admin.click("menu-channels").await;
    admin.click("channel-queue-toggle").await;
    let dmitry_box = of_employee("channel-queue-member", &env.dmitry.id);
    admin
        .until("Dmitry is in the queue", || async {
            admin
                .js(
                    "const el = document.querySelector(arguments[0]); return !!(el && el.checked);",
                    vec![json!(dmitry_box)],
                )
                .await
                .as_bool()
                .unwrap_or(false)
                .then_some(())
        })
        .await;
    admin.click_css(&dmitry_box).await;
    admin.click("channel-queue-save").await;
    admin
        .wait_testid_text("channel-queue-status", "Очередь сохранена")
        .await;
    let members = |resp: replyline_e2e::api::Resp| -> std::collections::BTreeSet<String> {
        expect_status(&resp, StatusCode::OK, "GET members");
        resp.1["employee_ids"]
            .as_array()
            .expect("employee_ids")
            .iter()
            .map(|v| v.as_str().expect("id").to_owned())
            .collect()
    };
    let path = format!("/api/v1/channels/{}/members", env.channel_id);
    assert_eq!(
        members(env.admin.get(&path).await),
        [env.ivan.id.clone(), env.olga.id.clone()].into(),
        "the queue lost Dmitry"
    );
    admin
        .screenshot_at("channel-queue", "channel-list", 1000)
        .await;

    // ... and on the employee's page: Dmitry works the channel again.
    admin.click("menu-employees").await;
    admin
        .click_css(&format!(
            "{} {}",
            of_employee("employee-row", &env.dmitry.id),
            testid("employee-edit")
        ))
        .await;
    admin
        .click_css(&format!(
            "{}[data-channel-id=\"{}\"]",
            testid("employee-channel"),
            env.channel_id
        ))
        .await;
    admin.click("employee-save").await;
    admin
        .wait_testid_text("employee-status", "Изменения сохранены")
        .await;
    assert_eq!(
        members(env.admin.get(&path).await),
        [
            env.ivan.id.clone(),
            env.olga.id.clone(),
            env.dmitry.id.clone()
        ]
        .into(),
        "Dmitry is back in the queue"
    );

    // ---- the new pages in English --------------------------------------------------------------
    admin.switch_language().await;
    open_messenger_settings_en(&admin).await;
    admin
        .click_text(&testid("routing-rules-link"), "Message routing rules")
        .await;
    admin.wait_testid_text("routing-rule", "доставка").await;
    admin.wait_testid_text("groups", "User groups").await;
    admin
        .screenshot_at("routing-rules-en", "routing-rules", 1400)
        .await;
    admin.click("menu-channels").await;
    admin.click("channel-queue-toggle").await;
    admin
        .wait_testid_text("channel-queue", "Employee queue")
        .await;
    admin
        .screenshot_at("channel-queue-en", "channel-list", 1000)
        .await;
    admin.click("menu-inbox").await;
    admin.click("inbox-row").await;
    admin
        .wait_testid_text(
            "timeline-item",
            "Routed by routing rule #1 (“доставка”) → Ольга Смирнова",
        )
        .await;

    admin.close().await;
}

/// Calls and messages → Messenger settings, in English.
async fn open_messenger_settings_en(admin: &Browser) {
    admin.click_text("nav a", "Calls and messages").await;
    admin
        .click_text(&testid("messenger-settings"), "Messenger settings")
        .await;
}
