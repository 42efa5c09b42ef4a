//! A support team's day in the web workspace, in a real headless Chromium (issue 10, "Done
//! when"): the admin creates two employees and gives them the channel's queue in the UI; a
//! client writes; the employee hears and sees the alert (desktop Notification and the title
//! count), opens the chat from the split view, inserts a quick reply with "/", labels the chat,
//! mentions a colleague (who then observes it), transfers it with a comment; the receiver ends
//! it after confirming; the client writes again and the earlier chat shows above; a search for a
//! word of the first chat finds it and opens it at that message.
//!
//! Needs Chromium with chromedriver (`apt-get install -y chromium chromium-driver`); fails, never
//! skips, when the browser cannot start. `REPLYLINE_SCREENSHOTS=1` writes the screenshots of the
//! split inbox, the chat with its contact card, search and quick replies at 1366×768 and 390×844
//! into `docs/screenshots/`.

use std::time::Duration;

use replyline_e2e::browser::{Browser, Driver, screenshots_enabled, testid};
use replyline_e2e::setup::{CLOSING, Env, Person, array, id_of};
use replyline_e2e::{StatusCode, expect_status};
use serde_json::{Value, json};

const CLIENT: &str = "79001234567";
const CLIENT_NAME: &str = "Анна Кузнецова";
const FIRST_TEXT: &str = "Здравствуйте! Где мой заказ 1042? Доставка задерживается";
const QUICK_REPLY: &str = "Здравствуйте, {client_name}! Ваш заказ уже в пути.";
const COMMENT: &str = "Клиент ждёт курьера, проверь, пожалуйста";

/// Replaces `window.Notification` and `AudioContext` with recorders: `window.__notes` gets
/// every desktop notification shown, `window.__beeps` counts the sounds.
const STUB_ALERTS: &str = r"
window.__notes = [];
window.__beeps = 0;
function FakeNotification(title, opts) { window.__notes.push({ title, body: (opts || {}).body || '' }); this.close = () => {}; }
FakeNotification.permission = 'granted';
FakeNotification.requestPermission = () => Promise.resolve('granted');
window.Notification = FakeNotification;
const node = () => ({ connect: (x) => x, start() {}, stop() {}, type: '', frequency: { value: 0 },
  gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} } });
window.AudioContext = function () { window.__beeps += 1; return { currentTime: 0, destination: {},
  createOscillator: node, createGain: node, close() {} }; };
return true;
";

/// The window sizes of the screenshots: a laptop and a phone.
const LAPTOP: (u32, u32) = (1366, 768);
const PHONE: (u32, u32) = (390, 844);

/// `NAME.png` at the laptop size and `NAME-phone.png` at the phone size (then back to the
/// harness's 1366×900), the page scrolled to the top and the chat history scrolled so that the
/// end of the earlier chats shows. Nothing without `REPLYLINE_SCREENSHOTS=1`.
async fn shots(b: &Browser, name: &str) {
    if !screenshots_enabled() {
        return;
    }
    for ((w, h), file) in [(LAPTOP, name.to_owned()), (PHONE, format!("{name}-phone"))] {
        b.client.set_window_size(w, h).await.expect("resize");
        b.js(
            "if (document.activeElement) document.activeElement.blur();
             window.scrollTo(0, 0);
             const box = document.querySelector('.messages');
             const earlier = document.querySelector('.earlier:not([hidden])');
             if (box && earlier) {
               const bottom = earlier.getBoundingClientRect().bottom - box.getBoundingClientRect().top + box.scrollTop;
               box.scrollTop = bottom - box.clientHeight / 2;
             } else if (box) { box.scrollTop = box.scrollHeight; }",
            vec![],
        )
        .await;
        b.screenshot(&file).await;
    }
    b.client.set_window_size(1366, 900).await.expect("resize");
}

/// The recorded desktop notifications.
async fn notes(b: &Browser) -> Vec<Value> {
    b.js("return window.__notes || [];", vec![])
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn title(b: &Browser) -> String {
    b.js("return document.title;", vec![])
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits until `n` desktop notifications were shown; answers them.
async fn wait_notes(b: &Browser, n: usize) -> Vec<Value> {
    b.until(&format!("{n} desktop notification(s)"), || async {
        let all = notes(b).await;
        (all.len() >= n).then_some(all)
    })
    .await
}

/// Creates an employee on the employees page; the form ticks every channel's
/// queue for a new employee, so they see the channel's chats from the start.
async fn create_in_ui(admin: &Browser, env: &Env, name: &str, login: &str) -> Person {
    let email = format!("{login}@example.com");
    let password = format!("{login}-password-123");
    admin.click("menu-employees").await;
    admin.fill("employee-name", name).await;
    admin.fill("employee-email", &email).await;
    admin.fill("employee-password", &password).await;
    let role = admin.by_testid("employee-role").await;
    admin.choose(&role, "employee").await;
    let queue_box = format!(
        "{}[data-channel-id=\"{}\"]",
        testid("employee-channel"),
        env.channel_id
    );
    assert!(
        js_bool(
            admin,
            "const b = document.querySelector(arguments[0]); return !!b && b.checked;",
            vec![json!(queue_box)],
        )
        .await,
        "a new employee's form ticks the channel's queue"
    );
    admin.click("employee-save").await;
    admin
        .wait_testid_text("employee-status", "Сотрудник добавлен")
        .await;
    admin.wait_testid_text("employee-list", name).await;
    let all = array(env.admin.employees().await, "GET employees");
    let row = all
        .iter()
        .find(|e| e["email"] == email.as_str())
        .unwrap_or_else(|| panic!("{email} was created: {all:?}"));
    Person {
        id: id_of(row),
        name: name.to_owned(),
        email,
        password,
    }
}

/// The boolean a script answers (false for anything else).
async fn js_bool(b: &Browser, script: &str, args: Vec<Value>) -> bool {
    b.js(script, args).await.as_bool().unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one day, told in order
async fn a_support_day_in_the_workspace_in_chromium() {
    let env = Env::start(&json!({"closing": {"enabled": true}})).await;
    let base = env.server.base_url().to_owned();
    let mut driver = Driver::start().await;

    // ---- the admin creates two employees and gives them the channel's queue --------------
    let admin = driver.session().await;
    admin.login_admin(&base).await;
    let maria = create_in_ui(&admin, &env, "Мария Волкова", "maria").await;
    let petr = create_in_ui(&admin, &env, "Пётр Сидоров", "petr").await;
    let members = env
        .admin
        .get(&format!("/api/v1/channels/{}/members", env.channel_id))
        .await;
    expect_status(&members, StatusCode::OK, "GET members");
    for p in [&maria, &petr] {
        assert!(
            members.1["employee_ids"]
                .as_array()
                .is_some_and(|ids| ids.iter().any(|i| i == p.id.as_str())),
            "{} works the channel's queue: {}",
            p.name,
            members.1
        );
    }
    admin.close().await;

    // ---- Maria: her own quick reply, on the «Шаблоны сообщений» page ------------------------
    let m = driver.session().await;
    m.login(&base, &maria.email, &maria.password).await;
    m.click("menu-quick-replies").await;
    m.by_testid("qr-empty").await;
    m.fill("qr-title", "Доставка").await;
    m.fill("qr-text", QUICK_REPLY).await;
    m.wait_testid_text("qr-preview", "Ваш заказ уже в пути")
        .await;
    m.click("qr-save").await;
    m.wait_testid_text("qr-item-title", "Доставка").await;
    assert!(m.text("qr-item-kind").await.contains("личный"));
    shots(&m, "quick-replies").await;
    m.click("menu-inbox").await;
    m.by_testid("inbox-list").await;
    assert!(js_bool(&m, STUB_ALERTS, vec![]).await, "stubs installed");
    m.wait_live().await;
    assert_eq!(m.count(&testid("inbox-row")).await, 0, "nothing yet");

    // ---- a client writes: Maria's queue alerts her ----------------------------------------
    env.client_says(CLIENT, Some(CLIENT_NAME), FIRST_TEXT).await;
    let shown = wait_notes(&m, 1).await;
    assert!(
        shown[0]["title"]
            .as_str()
            .is_some_and(|t| t.contains(CLIENT_NAME)),
        "the notification names the client: {shown:?}"
    );
    assert!(
        shown[0]["body"]
            .as_str()
            .is_some_and(|t| t.contains("Где мой заказ 1042")),
        "the notification shows the message: {shown:?}"
    );
    m.until("the tab title counts 1", || async {
        title(&m).await.starts_with("(1) ").then_some(())
    })
    .await;
    let beeps = m.js("return window.__beeps;", vec![]).await;
    assert!(beeps.as_u64().unwrap_or(0) >= 1, "a sound played: {beeps}");
    let row = m.wait_testid_text("inbox-row", CLIENT_NAME).await;
    assert!(row.contains("в очереди"), "status chip: {row}");
    assert!(row.contains("Где мой заказ 1042"), "preview: {row}");
    m.wait_testid_text("unread-count", "1").await;
    let conv = env.conversation_of(CLIENT).await;
    let first_id = id_of(&conv);
    shots(&m, "inbox-split").await;

    // ---- opens it in the split view: read, the title count goes away ----------------------
    m.click("inbox-row").await;
    m.wait_testid_text("message-text", "Где мой заказ 1042")
        .await;
    assert!(
        m.count(&testid("inbox-list")).await == 1,
        "the list stays beside the chat"
    );
    m.until("the title count is gone", || async {
        (!title(&m).await.starts_with('(')).then_some(())
    })
    .await;
    let maria_api = env.login(&maria).await;
    let unread = maria_api
        .until_unread(&first_id, 0)
        .await
        .expect("Maria's unread count drops to 0 after opening the chat");
    assert_eq!(unread, 0);

    // ---- a quick reply with "/": filled in and sent ---------------------------------------
    let input = m.by_testid("reply-input").await;
    input.send_keys("/Дост").await.expect("type /");
    m.wait_testid_text("quick-reply-popup-item", "Доставка")
        .await;
    m.screenshot("chat-quick-reply").await;
    input.send_keys("\u{E007}").await.expect("Enter picks");
    let expected = "Здравствуйте, Анна Кузнецова! Ваш заказ уже в пути.";
    m.until("the quick reply is inserted", || async {
        (m.value_of(&testid("reply-input")).await == expected).then_some(())
    })
    .await;
    input.send_keys("\u{E007}").await.expect("Enter sends");
    env.graph
        .wait_for_matching(1, Duration::from_secs(10), "the quick reply", |r| {
            r.text() == Some(expected)
        })
        .await;

    // ---- a label, with autocomplete from the labels in use ---------------------------------
    let label = m.by_testid("chat-label-input").await;
    label.send_keys("доставка\u{E007}").await.expect("label");
    m.wait_testid_text("chat-label", "доставка").await;
    let c = env.conversation(&first_id).await;
    assert_eq!(c["labels"], json!(["доставка"]), "{c}");

    // ---- a note mentioning Пётр: he is alerted and observes the chat ----------------------
    let p = driver.session().await;
    p.login(&base, &petr.email, &petr.password).await;
    assert!(js_bool(&p, STUB_ALERTS, vec![]).await, "stubs installed");
    p.wait_live().await;
    m.click("composer-note").await;
    let note = m.by_testid("note-input").await;
    note.send_keys("@Пёт").await.expect("type @");
    m.wait_testid_text("mention-popup-item", "Пётр Сидоров")
        .await;
    note.send_keys("\u{E007}").await.expect("Enter picks");
    note.send_keys("посмотри, пожалуйста\u{E007}")
        .await
        .expect("note");
    m.wait_testid_text("message-text", "@Пётр Сидоров посмотри")
        .await;
    let petr_api = env.login(&petr).await;
    let observing = array(
        petr_api.conversations("scope=observing").await,
        "Пётр's observing list",
    );
    assert!(
        observing.iter().any(|c| id_of(c) == first_id),
        "Пётр observes the chat after the mention: {observing:?}"
    );

    let shown = wait_notes(&p, 1).await;
    assert!(
        shown[0]["title"]
            .as_str()
            .is_some_and(|t| t.contains("Вас упомянули")),
        "{shown:?}"
    );
    assert!(
        shown[0]["body"]
            .as_str()
            .is_some_and(|t| t.contains("посмотри, пожалуйста")),
        "{shown:?}"
    );

    // ---- Пётр opens it under «Наблюдаю»: he may leave it, not close or transfer it ----------
    p.click("filter-observing").await;
    p.wait_testid_text("inbox-row", CLIENT_NAME).await;
    p.click("inbox-row").await;
    p.wait_testid_text("message-text", "@Пётр Сидоров").await;
    p.by_testid("observer-badge").await;
    p.by_testid("leave-chat").await;
    for hidden in ["end-chat", "transfer-open", "assign-me"] {
        assert!(
            !js_bool(
                &p,
                "const el = document.querySelector(arguments[0]); return !!el && el.offsetParent !== null;",
                vec![json!(testid(hidden))]
            )
            .await,
            "an observer has no [{hidden}]"
        );
    }
    p.click("leave-chat").await;
    p.until("Пётр no longer observes it", || async {
        let rows = array(petr_api.conversations("scope=observing").await, "observing");
        (!rows.iter().any(|c| id_of(c) == first_id)).then_some(())
    })
    .await;
    p.close().await;

    // ---- transfers it to Иван with a comment ------------------------------------------------
    m.click("transfer-open").await;
    let target = m.by_testid("transfer-target").await;
    m.choose(&target, &format!("e:{}", env.ivan.id)).await;
    m.fill("transfer-comment", COMMENT).await;
    m.screenshot("chat-transfer").await;
    m.click("transfer-submit").await;
    let c = m
        .until("the chat is Иван's", || async {
            let c = env.conversation(&first_id).await;
            (c["assignee_id"].as_str() == Some(env.ivan.id.as_str())).then_some(c)
        })
        .await;
    assert_eq!(c["status"], "open", "{c}");
    let messages = env.messages(&first_id).await;
    assert!(
        messages
            .iter()
            .any(|x| x["kind"] == "note" && x["text"] == COMMENT),
        "the comment is a note: {messages:?}"
    );

    // ---- Иван ends it after confirming; the reply box closes -------------------------------
    let ivan = driver.session().await;
    ivan.login(&base, &env.ivan.email, &env.ivan.password).await;
    ivan.click("filter-mine").await;
    ivan.wait_testid_text("inbox-row", CLIENT_NAME).await;
    ivan.click("inbox-row").await;
    ivan.wait_testid_text("message-text", COMMENT).await;
    ivan.wait_testid_text("timeline-item", "Чат передан → Иван Петров")
        .await;
    ivan.click("end-chat").await;
    ivan.by_testid("end-chat-confirm").await;
    assert_eq!(
        env.conversation(&first_id).await["status"],
        "open",
        "nothing closes before the confirmation"
    );
    ivan.click("end-chat-confirm-yes").await;
    ivan.wait_testid_text("reply-closed", "Чат завершён").await;
    assert!(
        js_bool(
            &ivan,
            "return document.querySelector(arguments[0]).disabled;",
            vec![json!(testid("reply-input"))]
        )
        .await,
        "the reply box is disabled"
    );
    env.graph
        .wait_for_matching(1, Duration::from_secs(10), "the closing message", |r| {
            r.text() == Some(CLOSING)
        })
        .await;
    assert_eq!(env.conversation(&first_id).await["status"], "closed");

    // ---- the client writes again: Maria's queue alerts her; Иван, who served the client,
    // takes the new chat from the queue and sees the earlier one above it (Maria may not see
    // Иван's closed chat: nobody sees what they may not).
    m.click("menu-inbox").await;
    env.client_says(CLIENT, Some(CLIENT_NAME), "Курьер так и не приехал")
        .await;
    wait_notes(&m, 2).await;
    m.until("the tab title counts 1 again", || async {
        title(&m).await.starts_with("(1) ").then_some(())
    })
    .await;
    // Maria turns desktop notifications off in her profile (sound and title stay on).
    m.click("me").await;
    m.click("alert-desktop").await;
    m.click("prefs-save").await;
    m.until("the preferences are saved", || async {
        (!m.text("prefs-status").await.trim().is_empty()).then_some(())
    })
    .await;
    let prefs = maria_api.get("/api/v1/me/preferences").await;
    expect_status(&prefs, StatusCode::OK, "GET preferences");
    assert_eq!(prefs.1["alert_desktop"], false, "{}", prefs.1);
    ivan.click("menu-inbox").await;
    ivan.click("filter-unassigned").await;
    ivan.click_text(&testid("inbox-row"), "Курьер так и не приехал")
        .await;
    ivan.wait_testid_text("message-text", "Курьер так и не приехал")
        .await;
    ivan.wait_testid_text("earlier-separator", "Предыдущий чат")
        .await;
    let order = ivan
        .js(
            "return [...document.querySelectorAll(arguments[0])].map((e) => [e.dataset.earlier === 'true', e.innerText]);",
            vec![json!(testid("message"))],
        )
        .await;
    let order = order.as_array().cloned().unwrap_or_default();
    let earlier_at = order.iter().position(|x| {
        x[0] == true
            && x[1]
                .as_str()
                .is_some_and(|t| t.contains("Где мой заказ 1042"))
    });
    let current_at = order.iter().position(|x| {
        x[0] == false
            && x[1]
                .as_str()
                .is_some_and(|t| t.contains("Курьер так и не приехал"))
    });
    assert!(
        matches!((earlier_at, current_at), (Some(a), Some(b)) if a < b),
        "the earlier chat is shown above the current one: {order:?}"
    );
    // The contact card: a note about the client, saved.
    ivan.fill("contact-note", "Постоянный клиент, заказы по вторникам")
        .await;
    ivan.click("contact-note-save").await;
    ivan.wait_testid_text("contact-status", "Сохранено").await;
    let contact_id = conv["contact"]["id"]
        .as_str()
        .expect("contact id")
        .to_owned();
    let contact = env
        .admin
        .get(&format!("/api/v1/contacts/{contact_id}"))
        .await;
    expect_status(&contact, StatusCode::OK, "GET contact");
    assert_eq!(contact.1["note"], "Постоянный клиент, заказы по вторникам");
    shots(&ivan, "chat-contact").await;

    // The client writes once more: Maria's title counts 2 and a sound plays, but no desktop
    // notification (switched off).
    let beeps_before = m
        .js("return window.__beeps;", vec![])
        .await
        .as_u64()
        .unwrap_or(0);
    env.client_says(CLIENT, Some(CLIENT_NAME), "Алло, вы здесь?")
        .await;
    m.until("the tab title counts 2", || async {
        title(&m).await.starts_with("(2) ").then_some(())
    })
    .await;
    m.until("a sound for the third message", || async {
        let now = m
            .js("return window.__beeps;", vec![])
            .await
            .as_u64()
            .unwrap_or(0);
        (now > beeps_before).then_some(())
    })
    .await;
    assert_eq!(
        notes(&m).await.len(),
        2,
        "no desktop notification once it is off"
    );

    // Иван's open chat shows the new message live, the client's name once for both messages.
    ivan.wait_testid_text("message-text", "Алло, вы здесь?")
        .await;
    let authors = ivan
        .js(
            "return [...document.querySelectorAll('[data-testid=message]:not([data-earlier])')].map((e) => { const a = e.querySelector('[data-testid=message-author]'); return a ? a.innerText : null; });",
            vec![],
        )
        .await;
    assert_eq!(
        authors,
        json!([CLIENT_NAME, null]),
        "consecutive messages of one author are grouped"
    );
    // The client's name, edited in place on the contact card.
    ivan.click("contact-edit-name").await;
    ivan.fill("contact-name-input", "Анна Кузнецова (VIP)")
        .await;
    ivan.click("contact-name-save").await;
    ivan.wait_testid_text("chat-title", "Анна Кузнецова (VIP)")
        .await;
    let contact = env
        .admin
        .get(&format!("/api/v1/contacts/{contact_id}"))
        .await;
    assert_eq!(contact.1["name"], "Анна Кузнецова (VIP)", "{}", contact.1);

    // Иван takes the chat: it leaves Maria's queue, and her title count with it.
    ivan.click("assign-me").await;
    m.until(
        "Maria's title count goes once Иван takes the chat",
        || async { (!title(&m).await.starts_with('(')).then_some(()) },
    )
    .await;

    // ---- Иван searches a word of the first chat: found, opened at the message ---------------
    ivan.click("menu-search").await;
    ivan.fill("search-input", "задерживается").await;
    ivan.click("search-submit").await;
    let hit = ivan
        .wait_testid_text("search-message", "задерживается")
        .await;
    assert!(hit.contains(CLIENT_NAME), "{hit}");
    let marked = ivan
        .js(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent.toLowerCase());",
            vec![json!(testid("search-mark"))],
        )
        .await;
    assert!(
        marked
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "задерживается")),
        "the word is highlighted: {marked}"
    );
    shots(&ivan, "search").await;
    ivan.click("search-message").await;
    let focused = ivan.visible("[data-focused=\"true\"]").await;
    assert!(
        focused
            .text()
            .await
            .unwrap_or_default()
            .contains("задерживается"),
        "the chat opens at the found message"
    );
    assert!(
        ivan.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
            .contains(&format!("/chat/{first_id}/m/")),
        "the address names the chat and the message"
    );

    // A client found by name opens their latest chat.
    ivan.click("menu-search").await;
    ivan.fill("search-input", "Кузнецова").await;
    ivan.click("search-submit").await;
    ivan.wait_testid_text("search-contact", CLIENT_NAME).await;
    ivan.click("search-contact").await;
    ivan.wait_testid_text("message-text", "Алло, вы здесь?")
        .await;

    // ---- Maria renames her quick reply, then deletes it (after confirming) --------------------
    m.click("menu-quick-replies").await;
    assert!(
        js_bool(
            &m,
            "return document.querySelector(arguments[0]).disabled;",
            vec![json!(testid("qr-shared"))]
        )
        .await,
        "an employee may not make a shared quick reply"
    );
    m.click("qr-edit").await;
    m.fill("qr-title", "Доставка: курьер в пути").await;
    m.click("qr-save").await;
    m.wait_testid_text("qr-item-title", "Доставка: курьер в пути")
        .await;
    let list = array(
        maria_api.get("/api/v1/quick-replies").await,
        "quick replies",
    );
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["title"], "Доставка: курьер в пути");
    assert_eq!(list[0]["text"], QUICK_REPLY);
    m.click("qr-delete").await;
    m.click("qr-delete-confirm-yes").await;
    m.by_testid("qr-empty").await;
    assert!(
        array(
            maria_api.get("/api/v1/quick-replies").await,
            "quick replies"
        )
        .is_empty(),
        "deleted"
    );

    ivan.close().await;
    m.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_pages_by_cursor_filters_by_label_and_finds_a_client_in_chromium() {
    let env = Env::start(&json!({})).await;
    let base = env.server.base_url().to_owned();
    // 55 clients write; Иван works the channel's queue, so he sees all of them.
    for i in 0..55 {
        let name = if i == 7 {
            "Зоя Белова".to_owned()
        } else {
            format!("Клиент {i}")
        };
        env.client_says(&format!("790010{i:05}"), Some(&name), "Добрый день")
            .await;
    }
    let zoya = env.conversation_of("79001000007").await;
    let resp = env
        .admin
        .put(
            &format!("/api/v1/conversations/{}/labels", id_of(&zoya)),
            &json!({"labels": ["vip"]}),
        )
        .await;
    expect_status(&resp, StatusCode::OK, "PUT labels");

    let mut driver = Driver::start().await;
    let ivan = driver.session().await;
    ivan.login(&base, &env.ivan.email, &env.ivan.password).await;
    ivan.click("filter-all").await;
    ivan.wait_testid_text("inbox-count", "Показано чатов: 50")
        .await;
    assert_eq!(ivan.count(&testid("inbox-row")).await, 50, "one page");
    ivan.click("inbox-more").await;
    ivan.wait_testid_text("inbox-count", "Чатов: 55").await;
    assert_eq!(ivan.count(&testid("inbox-row")).await, 55, "the next page");
    let ids = ivan
        .js(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.dataset.conversationId);",
            vec![json!(testid("inbox-row"))],
        )
        .await;
    let ids: std::collections::BTreeSet<String> = ids
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids.len(), 55, "no row twice across the pages");
    assert!(
        !js_bool(
            &ivan,
            "return document.querySelector(arguments[0]).offsetParent !== null;",
            vec![json!(testid("inbox-more"))]
        )
        .await,
        "no «Показать ещё» after the last page"
    );

    // The label filter, with the labels in use.
    let label = ivan.by_testid("filter-label").await;
    ivan.choose(&label, "vip").await;
    ivan.wait_testid_text("inbox-count", "Чатов: 1").await;
    ivan.wait_testid_text("inbox-row", "Зоя Белова").await;
    ivan.wait_testid_text("row-label", "vip").await;
    ivan.choose(&label, "").await;
    ivan.wait_testid_text("inbox-count", "Показано чатов: 50")
        .await;

    // The search box finds a client by name.
    ivan.fill("inbox-search", "Зоя").await;
    ivan.wait_testid_text("inbox-count", "Чатов: 1").await;
    ivan.wait_testid_text("inbox-row", "Зоя Белова").await;

    // On a phone: the list or the chat, with a way back.
    ivan.client
        .set_window_size(PHONE.0, PHONE.1)
        .await
        .expect("phone size");
    let displayed = |id: &'static str| {
        let ivan = &ivan;
        async move {
            js_bool(
                ivan,
                "const el = document.querySelector(arguments[0]); return !!el && el.offsetParent !== null;",
                vec![json!(testid(id))],
            )
            .await
        }
    };
    ivan.click("inbox-row").await;
    ivan.by_testid("reply-input").await;
    assert!(!displayed("inbox-list").await, "the chat alone on a phone");
    ivan.click("back-to-inbox").await;
    ivan.by_testid("inbox-list").await;
    assert!(!displayed("chat").await, "the list alone on a phone");
    ivan.client
        .set_window_size(1366, 900)
        .await
        .expect("resize");
    ivan.click("inbox-row").await;
    ivan.by_testid("reply-input").await;
    assert!(
        displayed("inbox-list").await,
        "list and chat side by side on a laptop"
    );

    // The same inbox in English.
    ivan.switch_language().await;
    ivan.wait_testid_text("filter-unassigned", "Queue").await;
    ivan.wait_testid_text("filter-observing", "Observing").await;
    ivan.wait_testid_text("transfer-open", "Transfer chat")
        .await;
    ivan.wait_testid_text("composer-reply", "Reply").await;
    ivan.close().await;
}

/// `replyline demo` running in `tmp`: its web address and the admin token it prints.
async fn start_demo(tmp: &std::path::Path) -> (tokio::process::Child, String, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut cmd = tokio::process::Command::new(replyline_e2e::server::binary_path());
    cmd.arg("demo")
        .env("TMPDIR", tmp)
        .current_dir(tmp)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("REPLYLINE__") {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd.spawn().expect("run replyline demo");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut base, mut token) = (None, None);
    let started = tokio::time::timeout(Duration::from_secs(60), async {
        while base.is_none() || token.is_none() {
            let line = lines
                .next_line()
                .await
                .ok()
                .flatten()
                .expect("the demo exited early");
            if let Some(rest) = line.split("web workspace: ").nth(1) {
                base = rest.split_whitespace().next().map(str::to_owned);
            }
            if let Some(rest) = line.split("(token ").nth(1) {
                token = rest.split(')').next().map(str::to_owned);
            }
        }
    })
    .await;
    assert!(
        started.is_ok(),
        "the demo did not print its address and token"
    );
    // Keep reading, so the demo never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let base = base.expect("base").trim_end_matches('/').to_owned();
    (child, base, token.expect("token"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_customer_writes_again_from_the_inbox_in_chromium() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (_demo, base, token) = start_demo(tmp.path()).await;
    let api = replyline_e2e::Api::new(&base, replyline_e2e::Clock::at("2026-01-01T00:00:00Z"))
        .with_token(Some(token.clone()));
    let client_messages = || async {
        let rows = array(api.conversations("").await, "GET conversations");
        let mut n = 0;
        for c in rows {
            n += array(api.messages(&id_of(&c)).await, "GET messages")
                .iter()
                .filter(|m| m["direction"] == "in")
                .count();
        }
        n
    };
    // The demo customer opens with a text, a photo and a location.
    let before = replyline_e2e::poll::until(
        "the demo's opening messages",
        Duration::from_secs(30),
        || async {
            let n = client_messages().await;
            (n >= 3).then_some(n)
        },
    )
    .await;

    let mut driver = Driver::start().await;
    let b = driver.session().await;
    b.goto(&format!("{base}/")).await;
    b.js(
        "sessionStorage.setItem('replyline.token', arguments[0]); return true;",
        vec![json!(token)],
    )
    .await;
    b.client.refresh().await.expect("reload with the token");
    b.wait_testid_text("demo-customer-message", "Клиент пишет снова")
        .await;
    b.click("demo-customer-message").await;
    b.wait_testid_text("inbox-tool-status", "Демо-клиент написал")
        .await;
    replyline_e2e::poll::until(
        "the customer's new message",
        Duration::from_secs(10),
        || async { (client_messages().await == before + 1).then_some(()) },
    )
    .await;
    b.close().await;
}

/// Polling helpers on the API client used above.
trait UnreadExt {
    async fn until_unread(&self, conversation_id: &str, want: i64) -> Option<i64>;
}

impl UnreadExt for replyline_e2e::api::Api {
    /// Waits until the caller's `unread` of the conversation (from the list) is `want`.
    async fn until_unread(&self, conversation_id: &str, want: i64) -> Option<i64> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let rows = array(self.conversations("status=open").await, "GET conversations");
            let unread = rows
                .iter()
                .find(|c| id_of(c) == conversation_id)
                .and_then(|c| c["unread"].as_i64());
            if unread == Some(want) {
                return unread;
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
