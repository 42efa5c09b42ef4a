//! The chosen «Руководитель» and «Текст уведомления» of each control rule
//! (SPEC §2 `manager_ids` / `text`, R4, R5, R9) end to end: signed webhooks in,
//! the manual clock, notifications read back as each recipient.

use replyline_e2e::poll::{WAIT, settle};
use replyline_e2e::setup::{array, id_of};
use replyline_e2e::{Env, Person, Resp, StatusCode, expect_error, expect_status, poll};
use serde_json::{Value, json};

const WA: &str = "79001234567";

async fn open(env: &Env, wa: &str, name: Option<&str>, text: &str) -> String {
    env.client_says(wa, name, text).await;
    id_of(&env.conversation_of(wa).await)
}

async fn assign(env: &Env, conv: &str, person: &Person) {
    let resp = env.admin.assign(conv, Some(&person.id)).await;
    expect_status(&resp, StatusCode::OK, "assign");
}

async fn admin_notifications(env: &Env) -> Vec<Value> {
    array(
        env.admin.notifications(false).await,
        "GET notifications as admin",
    )
}

async fn admin_id(env: &Env) -> String {
    let resp = env.admin.me().await;
    expect_status(&resp, StatusCode::OK, "GET /me as admin");
    id_of(&resp.1)
}

/// Waits until `person` has `n` notifications; answers them.
async fn wait_n(env: &Env, person: &Person, n: usize) -> Vec<Value> {
    poll::until(
        &format!("{n} notification(s) for {}", person.name),
        WAIT,
        || async {
            let all = env.notifications_of(person).await;
            (all.len() >= n).then_some(all)
        },
    )
    .await
}

/// The `data` of the timeline's `notification` entries.
async fn notification_events(env: &Env, conv: &str) -> Vec<Value> {
    env.events(conv)
        .await
        .into_iter()
        .filter(|e| e["type"] == "notification")
        .map(|e| e["data"].clone())
        .collect()
}

#[track_caller]
fn expect_invalid(resp: &Resp, field: &str, what: &str) -> String {
    let error = expect_error(resp, StatusCode::UNPROCESSABLE_ENTITY, what);
    assert_eq!(error["code"], "validation_failed", "{what}: {}", resp.1);
    assert_eq!(error["field"], field, "{what}: {}", resp.1);
    error["message"].as_str().unwrap_or_default().to_owned()
}

const FIRST_DEFAULT: &str = "Клиент {client_name|без имени} ждёт первого ответа {waited_minutes} мин. Ответственный: {employee_name|не назначен}.";
const NEXT_DEFAULT: &str = "Клиент {client_name|без имени} ждёт ответа {waited_minutes} мин. Ответственный: {employee_name|не назначен}.";

#[tokio::test]
async fn a_chosen_manager_alone_is_notified_with_the_rendered_default_text() {
    let env =
        Env::start(&json!({"notify_manager_first": {"enabled": true, "after_seconds": 600}})).await;
    let settings = env
        .put_settings(&json!({"notify_manager_first": {"manager_ids": [env.dmitry.id]}}))
        .await;
    assert_eq!(
        settings["notify_manager_first"]["manager_ids"],
        json!([env.dmitry.id])
    );
    assert_eq!(settings["notify_manager_first"]["text"], FIRST_DEFAULT);
    assert_eq!(settings["notify_manager_next"]["manager_ids"], json!([]));
    assert_eq!(settings["notify_manager_next"]["text"], NEXT_DEFAULT);

    // Ivan's org-chart manager is olga; dmitry is the chosen one.
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign(&env, &conv, &env.ivan).await;
    env.advance(599).await;
    assert!(env.notifications_of(&env.dmitry).await.is_empty(), "early");
    env.advance(1).await;
    let got = wait_n(&env, &env.dmitry, 1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    let n = &got[0];
    assert_eq!(n["reason"], "first_message", "{n}");
    assert_eq!(n["conversation_id"], conv.as_str(), "{n}");
    assert_eq!(n["employee_id"], env.ivan.id.as_str(), "{n}");
    assert_eq!(n["manager_id"], env.dmitry.id.as_str(), "{n}");
    assert_eq!(
        n["text"], "Клиент Анна ждёт первого ответа 10 мин. Ответственный: Иван Петров.",
        "{n}"
    );

    env.advance(3000).await;
    assert_eq!(env.notifications_of(&env.dmitry).await.len(), 1);
    assert!(
        env.notifications_of(&env.olga).await.is_empty(),
        "the org-chart manager was notified although a manager is chosen"
    );
    assert!(env.notifications_of(&env.ivan).await.is_empty());
    assert!(admin_notifications(&env).await.is_empty());

    let events = notification_events(&env, &conv).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["reason"], "first_message");
    assert_eq!(events[0]["managers"], json!([env.dmitry.id]));
    assert_eq!(
        events[0]["text"],
        "Клиент Анна ждёт первого ответа 10 мин. Ответственный: Иван Петров."
    );
}

#[tokio::test]
async fn an_unassigned_chat_goes_to_the_chosen_manager_with_the_fallbacks() {
    let env =
        Env::start(&json!({"notify_manager_first": {"enabled": true, "after_seconds": 600}})).await;
    // Without a choice this would go to the admins (no assignee, no supervisors).
    env.put_settings(&json!({"notify_manager_first": {"manager_ids": [env.olga.id]}}))
        .await;
    let conv = open(&env, WA, None, "Есть кто?").await;
    env.advance(650).await;
    let got = wait_n(&env, &env.olga, 1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["conversation_id"], conv.as_str());
    assert_eq!(got[0]["employee_id"], Value::Null, "{}", got[0]);
    assert_eq!(got[0]["manager_id"], env.olga.id.as_str());
    assert_eq!(
        got[0]["text"], "Клиент без имени ждёт первого ответа 10 мин. Ответственный: не назначен.",
        "whole minutes at the firing instant (600 s), fallbacks for the unknown name and assignee"
    );
    settle().await;
    assert!(
        admin_notifications(&env).await.is_empty(),
        "admins notified although a manager is chosen"
    );
    assert!(env.notifications_of(&env.dmitry).await.is_empty());
}

#[tokio::test]
async fn several_chosen_managers_each_get_one_notification() {
    let env =
        Env::start(&json!({"notify_manager_first": {"enabled": true, "after_seconds": 600}})).await;
    let admin = admin_id(&env).await;
    env.put_settings(
        &json!({"notify_manager_first": {"manager_ids": [env.olga.id, env.dmitry.id, admin]}}),
    )
    .await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign(&env, &conv, &env.ivan).await;
    env.advance(600).await;
    let text = "Клиент Анна ждёт первого ответа 10 мин. Ответственный: Иван Петров.";
    for person in [&env.olga, &env.dmitry] {
        let got = wait_n(&env, person, 1).await;
        assert_eq!(got.len(), 1, "{}: {got:#?}", person.name);
        assert_eq!(got[0]["manager_id"], person.id.as_str());
        assert_eq!(got[0]["text"], text);
    }
    let got = admin_notifications(&env).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["manager_id"], admin.as_str());
    assert_eq!(got[0]["text"], text);
    env.advance(3000).await;
    settle().await;
    assert_eq!(env.notifications_of(&env.olga).await.len(), 1);
    assert_eq!(env.notifications_of(&env.dmitry).await.len(), 1);
    assert_eq!(admin_notifications(&env).await.len(), 1);
    assert!(env.notifications_of(&env.ivan).await.is_empty());
    let events = notification_events(&env, &conv).await;
    assert_eq!(
        events.len(),
        1,
        "one notification to three people: {events:#?}"
    );
    let mut managers: Vec<String> = events[0]["managers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    managers.sort();
    let mut want = vec![env.olga.id.clone(), env.dmitry.id.clone(), admin];
    want.sort();
    assert_eq!(managers, want);
}

#[tokio::test]
async fn a_custom_text_renders_company_name_and_the_full_name() {
    let env = Env::start(&json!({})).await;
    // Clients see the display name; managers get the full name.
    let (status, body) = env
        .admin
        .patch_employee(&env.ivan.id, &json!({"display_name": "Ваня"}))
        .await;
    assert!(status.is_success(), "{status} {body}");
    let text = "{company_name}: {client_name|клиент} ждёт {waited_minutes} мин, отвечает {employee_name|никто}";
    let settings = env
        .put_settings(&json!({"notify_manager_first": {
            "enabled": true, "after_seconds": 90, "manager_ids": [env.dmitry.id], "text": text}}))
        .await;
    assert_eq!(settings["notify_manager_first"]["text"], text);
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign(&env, &conv, &env.ivan).await;
    env.advance(90).await;
    let got = wait_n(&env, &env.dmitry, 1).await;
    assert_eq!(
        got[0]["text"], "Ромашка: Анна ждёт 1 мин, отвечает Иван Петров",
        "{}",
        got[0]
    );
    assert_eq!(
        notification_events(&env, &conv).await[0]["text"],
        "Ромашка: Анна ждёт 1 мин, отвечает Иван Петров"
    );
}

#[tokio::test]
async fn escalation_from_a_chosen_manager_goes_to_the_admins_when_they_have_no_manager() {
    let env = Env::start(&json!({"notify_manager_first": {
        "enabled": true, "after_seconds": 600, "escalate_after_seconds": 300}}))
    .await;
    // Dmitry has no manager of his own.
    env.put_settings(&json!({"notify_manager_first": {"manager_ids": [env.dmitry.id]}}))
        .await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign(&env, &conv, &env.ivan).await;
    env.advance(600).await;
    wait_n(&env, &env.dmitry, 1).await;
    env.advance(299).await;
    assert!(
        admin_notifications(&env).await.is_empty(),
        "escalated early"
    );
    env.advance(1).await;
    let got = poll::until("the admin's escalation", WAIT, || async {
        admin_notifications(&env).await.into_iter().next()
    })
    .await;
    assert_eq!(got["reason"], "first_message_escalated", "{got}");
    assert_eq!(got["conversation_id"], conv.as_str());
    assert_eq!(got["employee_id"], env.ivan.id.as_str());
    assert_eq!(
        got["text"], "Клиент Анна ждёт первого ответа 15 мин. Ответственный: Иван Петров.",
        "{got}"
    );
    env.advance(3000).await;
    settle().await;
    assert_eq!(admin_notifications(&env).await.len(), 1);
    assert_eq!(env.notifications_of(&env.dmitry).await.len(), 1);
    assert!(
        env.notifications_of(&env.olga).await.is_empty(),
        "the org chart (ivan -> olga) was used"
    );
}

#[tokio::test]
async fn escalation_from_a_chosen_manager_goes_to_that_managers_manager() {
    let env = Env::start(&json!({"notify_manager_first": {
        "enabled": true, "after_seconds": 600, "escalate_after_seconds": 300}}))
    .await;
    // Olga (manager dmitry) is chosen; the chat is unassigned.
    env.put_settings(&json!({"notify_manager_first": {"manager_ids": [env.olga.id]}}))
        .await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    env.advance(600).await;
    let first = wait_n(&env, &env.olga, 1).await;
    assert_eq!(first[0]["reason"], "first_message");
    env.advance(300).await;
    let got = wait_n(&env, &env.dmitry, 1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["reason"], "first_message_escalated");
    assert_eq!(got[0]["conversation_id"], conv.as_str());
    assert_eq!(got[0]["manager_id"], env.dmitry.id.as_str());
    assert_eq!(
        got[0]["text"],
        "Клиент Анна ждёт первого ответа 15 мин. Ответственный: не назначен."
    );
    settle().await;
    assert!(admin_notifications(&env).await.is_empty());
    assert_eq!(env.notifications_of(&env.olga).await.len(), 1);
}

#[tokio::test]
async fn notify_manager_next_has_its_own_chosen_manager_and_text() {
    let env = Env::start(&json!({})).await;
    env.put_settings(&json!({
        "notify_manager_first": {"enabled": true, "after_seconds": 600,
                                 "manager_ids": [env.olga.id], "text": "Первое: {client_name}, {waited_minutes} мин"},
        "notify_manager_next": {"enabled": true, "after_seconds": 900,
                                "manager_ids": [env.dmitry.id],
                                "text": "Повторное ожидание: {client_name} ждёт {waited_minutes} мин ({company_name}), {employee_name}"}
    }))
    .await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign(&env, &conv, &env.ivan).await;

    // R4 to olga with the first rule's text.
    env.advance(600).await;
    let first = wait_n(&env, &env.olga, 1).await;
    assert_eq!(first[0]["reason"], "first_message");
    assert_eq!(first[0]["text"], "Первое: Анна, 10 мин");
    let ivan = env.login(&env.ivan).await;
    expect_status(
        &ivan.reply(&conv, "Извините за ожидание").await,
        StatusCode::CREATED,
        "reply",
    );
    env.advance(60).await;
    env.client_says(WA, Some("Анна"), "Ещё вопрос").await;
    env.wait_messages(&conv, "client messages", 2, |m| m["direction"] == "in")
        .await;

    // R5 to dmitry with the next rule's text, counted from the later wait.
    env.advance(899).await;
    assert!(env.notifications_of(&env.dmitry).await.is_empty(), "early");
    env.advance(1).await;
    let next = wait_n(&env, &env.dmitry, 1).await;
    assert_eq!(next.len(), 1, "{next:#?}");
    assert_eq!(next[0]["reason"], "next_message");
    assert_eq!(next[0]["manager_id"], env.dmitry.id.as_str());
    assert_eq!(
        next[0]["text"],
        "Повторное ожидание: Анна ждёт 15 мин (Ромашка), Иван Петров"
    );
    env.advance(3000).await;
    settle().await;
    assert_eq!(
        env.notifications_of(&env.olga).await.len(),
        1,
        "olga is chosen for the first wait only"
    );
    assert_eq!(env.notifications_of(&env.dmitry).await.len(), 1);
    assert!(admin_notifications(&env).await.is_empty());
    let texts: Vec<Value> = notification_events(&env, &conv)
        .await
        .iter()
        .map(|d| d["text"].clone())
        .collect();
    assert_eq!(
        texts,
        vec![
            json!("Первое: Анна, 10 мин"),
            json!("Повторное ожидание: Анна ждёт 15 мин (Ромашка), Иван Петров")
        ]
    );
}

#[tokio::test]
async fn notify_manager_next_default_text_for_a_later_wait() {
    let env =
        Env::start(&json!({"notify_manager_next": {"enabled": true, "after_seconds": 900}})).await;
    env.put_settings(&json!({"notify_manager_next": {"manager_ids": [env.dmitry.id]}}))
        .await;
    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    assign(&env, &conv, &env.ivan).await;
    let ivan = env.login(&env.ivan).await;
    expect_status(
        &ivan.reply(&conv, "Добрый день").await,
        StatusCode::CREATED,
        "reply",
    );
    env.advance(10).await;
    env.client_says(WA, Some("Анна"), "Ещё вопрос").await;
    env.wait_messages(&conv, "client messages", 2, |m| m["direction"] == "in")
        .await;
    env.advance(1000).await;
    let got = wait_n(&env, &env.dmitry, 1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(
        got[0]["text"], "Клиент Анна ждёт ответа 15 мин. Ответственный: Иван Петров.",
        "{}",
        got[0]
    );
    assert!(env.notifications_of(&env.olga).await.is_empty());
}

#[tokio::test]
async fn validation_errors_name_the_field_and_save_nothing() {
    let env = Env::start(&json!({})).await;
    let saved = env
        .put_settings(&json!({"notify_manager_first": {
            "manager_ids": [env.olga.id], "text": "Ждёт {client_name}"}}))
        .await;
    let read = |env: &Env| {
        let api = env.admin.clone();
        let channel = env.channel_id.clone();
        async move {
            let resp = api.settings(&channel).await;
            expect_status(&resp, StatusCode::OK, "GET settings");
            resp.1
        }
    };
    assert_eq!(read(&env).await, saved);

    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"notify_manager_first": {"manager_ids": [env.olga.id, "999999"]}}),
            "notify_manager_first.manager_ids[1]",
            "999999",
        ),
        (
            json!({"notify_manager_next": {"manager_ids": ["999999"]}}),
            "notify_manager_next.manager_ids[0]",
            "999999",
        ),
        (
            json!({"notify_manager_first": {"text": "Клиент {client_nmae} ждёт"}}),
            "notify_manager_first.text",
            "client_nmae",
        ),
        (
            json!({"notify_manager_next": {"text": "{waited_minutes} мин, {unknown_var}"}}),
            "notify_manager_next.text",
            "unknown_var",
        ),
        (
            json!({"notify_manager_first": {"text": ""}}),
            "notify_manager_first.text",
            "",
        ),
        (
            // A valid change next to an invalid one: neither is saved.
            json!({"greeting": {"enabled": true, "text": "Привет"},
                   "notify_manager_first": {"enabled": true, "manager_ids": ["999999"]}}),
            "notify_manager_first.manager_ids[0]",
            "999999",
        ),
    ];
    for (patch, field, named) in &cases {
        let resp = env.admin.put_settings(&env.channel_id, patch).await;
        let message = expect_invalid(&resp, field, &format!("PUT settings {patch}"));
        assert!(
            message.contains(named),
            "{field}: the message should name {named:?}: {message}"
        );
        assert_eq!(
            read(&env).await,
            saved,
            "a rejected PUT ({field}) changed the settings"
        );
    }
}

#[tokio::test]
async fn a_deactivated_chosen_manager_is_skipped() {
    let env =
        Env::start(&json!({"notify_manager_first": {"enabled": true, "after_seconds": 600}})).await;
    env.put_settings(
        &json!({"notify_manager_first": {"manager_ids": [env.olga.id, env.dmitry.id]}}),
    )
    .await;
    let (status, gone) = env
        .admin
        .delete(&format!("/api/v1/employees/{}", env.olga.id))
        .await;
    assert_eq!(status, StatusCode::OK, "deactivate olga: {gone}");
    assert_eq!(gone["active"], false, "{gone}");

    let conv = open(&env, WA, Some("Анна"), "Здравствуйте").await;
    env.advance(600).await;
    let got = wait_n(&env, &env.dmitry, 1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(
        got[0]["text"],
        "Клиент Анна ждёт первого ответа 10 мин. Ответственный: не назначен."
    );
    settle().await;
    // Olga cannot log in any more; the timeline names who was notified.
    let events = notification_events(&env, &conv).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["managers"], json!([env.dmitry.id]));
    assert!(
        admin_notifications(&env).await.is_empty(),
        "fell back to the admins although an active chosen manager remains"
    );
}
