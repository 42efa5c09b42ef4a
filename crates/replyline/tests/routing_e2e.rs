//! Groups and routing rules of SPEC §3a end to end: rules edited over the API,
//! opening messages through signed webhooks, the assignee and the `routed`
//! timeline entry read back.
//!
//! Presence matters for group targets and round robin: a login marks the
//! person online, so every test that depends on presence sets it explicitly
//! with `PATCH /api/v1/me` as that person, and never logs in anybody whose
//! presence it does not mean to set.

use replyline_e2e::poll::{WAIT, settle};
use replyline_e2e::setup::{API_VERSION, array, id_of};
use replyline_e2e::webhook::TextMessage;
use replyline_e2e::{Env, Person, Resp, StatusCode, expect_error, expect_status, poll};
use serde_json::{Value, json};

const WA: &str = "79001234567";

/// The second WhatsApp channel's number id and secrets.
const PHONE_NUMBER_ID_2: &str = "5566778899001";
const APP_SECRET_2: &str = "secret-two";

/// Opens a conversation by a client message on the main channel and answers it
/// (routing happens in the same step, so the assignee is already set).
async fn open(env: &Env, wa: &str, name: Option<&str>, text: &str) -> Value {
    env.client_says(wa, name, text).await;
    env.conversation_of(wa).await
}

/// Sets `person`'s presence as that person; answers their client.
async fn presence(env: &Env, person: &Person, online: bool) -> replyline_e2e::Api {
    let api = env.login(person).await;
    let resp = api.patch("/api/v1/me", &json!({"online": online})).await;
    expect_status(&resp, StatusCode::OK, "PATCH /me online");
    assert_eq!(resp.1["online"], online, "{}", resp.1);
    api
}

/// `PUT /api/v1/routing-rules` as admin; answers the saved rules.
async fn put_rules(env: &Env, rules: &Value) -> Vec<Value> {
    array(
        env.admin.put("/api/v1/routing-rules", rules).await,
        "PUT routing-rules",
    )
}

async fn get_rules(env: &Env) -> Vec<Value> {
    array(
        env.admin.get("/api/v1/routing-rules").await,
        "GET routing-rules",
    )
}

/// `POST /api/v1/groups` as admin; asserts 201.
async fn create_group(env: &Env, name: &str, members: &[&Person]) -> Value {
    let ids: Vec<&str> = members.iter().map(|p| p.id.as_str()).collect();
    let resp = env
        .admin
        .post(
            "/api/v1/groups",
            &json!({"name": name, "employee_ids": ids}),
        )
        .await;
    expect_status(&resp, StatusCode::CREATED, "POST groups");
    resp.1
}

/// The `data` of every `routed` entry on the conversation's timeline.
async fn routed(env: &Env, conversation_id: &str) -> Vec<Value> {
    env.events(conversation_id)
        .await
        .into_iter()
        .filter(|e| e["type"] == "routed")
        .map(|e| e["data"].clone())
        .collect()
}

fn assignee(conv: &Value) -> Option<String> {
    conv["assignee_id"].as_str().map(str::to_owned)
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("not a string: {s}"))
                .to_owned()
        })
        .collect()
}

fn numeric(id: &str) -> i64 {
    id.parse()
        .unwrap_or_else(|_| panic!("ids are numeric strings here: {id}"))
}

fn error_field(resp: &Resp, status: StatusCode, what: &str) -> (String, String) {
    let error = expect_error(resp, status, what);
    (
        error["field"].as_str().unwrap_or_default().to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Asserts a 422 `validation_failed` naming `field`; answers the message.
#[track_caller]
fn expect_invalid(resp: &Resp, field: &str, what: &str) -> String {
    let error = expect_error(resp, StatusCode::UNPROCESSABLE_ENTITY, what);
    assert_eq!(error["code"], "validation_failed", "{what}: {}", resp.1);
    assert_eq!(error["field"], field, "{what}: {}", resp.1);
    error["message"].as_str().unwrap_or_default().to_owned()
}

/// Asserts an error with `status` and `code`.
#[track_caller]
fn expect_code(resp: &Resp, status: StatusCode, code: &str, what: &str) {
    let error = expect_error(resp, status, what);
    assert_eq!(error["code"], code, "{what}: {}", resp.1);
}

/// Creates a second WhatsApp channel (same fake Graph, another number and secret).
async fn second_channel(env: &Env) -> String {
    let (status, channel) = env
        .admin
        .create_channel(&json!({
            "kind": "whatsapp",
            "name": "Second",
            "whatsapp": {
                "phone_number_id": PHONE_NUMBER_ID_2,
                "access_token": "tok-two",
                "app_secret": APP_SECRET_2,
                "verify_token": "verify-two",
                "api_base_url": env.graph.base_url(),
                "api_version": API_VERSION
            }
        }))
        .await;
    assert!(
        status.is_success(),
        "create second channel: {status} {channel}"
    );
    id_of(&channel)
}

/// The client `wa` writes `body` to the second channel.
async fn client_says_on_second(env: &Env, channel_id: &str, wa: &str, body: &str) {
    let msg = TextMessage {
        phone_number_id: PHONE_NUMBER_ID_2.to_owned(),
        wa_id: wa.to_owned(),
        name: Some("Пётр".to_owned()),
        id: env.next_wamid(),
        timestamp: env.now(),
        body: body.to_owned(),
    };
    let resp = env
        .admin
        .whatsapp_webhook(channel_id, APP_SECRET_2, &msg.to_webhook())
        .await;
    expect_status(&resp, StatusCode::OK, "webhook to the second channel");
}

async fn admin_id(env: &Env) -> String {
    let resp = env.admin.me().await;
    expect_status(&resp, StatusCode::OK, "GET /me as admin");
    id_of(&resp.1)
}

#[tokio::test]
async fn an_employee_rule_routes_the_opening_message_and_names_itself_on_the_timeline() {
    let env = Env::start(&json!({"reopen": {"enabled": true, "within_seconds": 3600}})).await;
    let saved = put_rules(
        &env,
        &json!([
            {"keywords": ["  доставка  ", "курьер   приехал", "доставка"], "employee_id": env.ivan.id},
            {"keywords": ["оплата"], "employee_id": env.olga.id}
        ]),
    )
    .await;
    assert_eq!(saved.len(), 2, "{saved:#?}");
    let rule_id = id_of(&saved[0]);
    assert_eq!(
        saved[0],
        json!({"id": rule_id, "position": 1, "keywords": ["доставка", "курьер приехал"],
               "channel_id": null, "employee_id": env.ivan.id, "group_id": null}),
        "keywords trimmed, whitespace collapsed, deduplicated"
    );
    assert_eq!(saved[1]["position"], 2, "{saved:#?}");
    assert_eq!(saved[1]["keywords"], json!(["оплата"]));
    assert_eq!(saved[1]["employee_id"], env.olga.id.as_str());
    assert_eq!(get_rules(&env).await, saved, "GET answers what PUT saved");

    // Ivan never logged in (offline): an employee target is assigned anyway.
    let conv = open(&env, WA, Some("Анна"), "Где моя доставка?").await;
    let conv_id = id_of(&conv);
    assert_eq!(
        assignee(&conv).as_deref(),
        Some(env.ivan.id.as_str()),
        "{conv}"
    );
    assert_eq!(
        routed(&env, &conv_id).await,
        vec![
            json!({"routing": "rule", "rule_id": rule_id, "rule_position": 1,
                    "keyword": "доставка", "group_id": null, "employee_id": env.ivan.id})
        ]
    );

    // A later message matching the other rule does not re-route the open conversation.
    env.client_says(WA, Some("Анна"), "Оплата тоже не прошла")
        .await;
    env.wait_messages(&conv_id, "client messages", 2, |m| m["direction"] == "in")
        .await;
    settle().await;
    assert_eq!(
        assignee(&env.conversation(&conv_id).await).as_deref(),
        Some(env.ivan.id.as_str())
    );
    // Not even when it is back in the queue.
    expect_status(
        &env.admin.assign(&conv_id, None).await,
        StatusCode::OK,
        "unassign",
    );
    env.client_says(WA, Some("Анна"), "оплата!").await;
    env.wait_messages(&conv_id, "client messages", 3, |m| m["direction"] == "in")
        .await;
    settle().await;
    assert_eq!(
        assignee(&env.conversation(&conv_id).await),
        None,
        "a later message was routed"
    );

    // A reopen is not an opening: no routing either.
    expect_status(&env.admin.close(&conv_id).await, StatusCode::OK, "close");
    env.advance(60).await;
    env.client_says(WA, Some("Анна"), "Оплата, снова я").await;
    let reopened = poll::until("the conversation reopened", WAIT, || async {
        let c = env.conversation(&conv_id).await;
        (c["status"] == "open").then_some(c)
    })
    .await;
    env.wait_messages(&conv_id, "client messages", 4, |m| m["direction"] == "in")
        .await;
    settle().await;
    assert_eq!(
        env.conversations_of(WA).await.len(),
        1,
        "reopened, not a new one"
    );
    let reopened = env.conversation(&id_of(&reopened)).await;
    assert_ne!(
        assignee(&reopened).as_deref(),
        Some(env.olga.id.as_str()),
        "the reopen was routed by rule 2: {reopened}"
    );
    assert_eq!(
        routed(&env, &conv_id).await.len(),
        1,
        "one routed entry per conversation"
    );
}

#[tokio::test]
async fn the_first_matching_rule_wins_and_reordering_changes_the_winner() {
    let env = Env::start(&json!({})).await;
    let saved = put_rules(
        &env,
        &json!([
            {"keywords": ["заказ"], "employee_id": env.ivan.id},
            {"keywords": ["возврат"], "employee_id": env.olga.id}
        ]),
    )
    .await;
    let first = open(&env, WA, Some("Анна"), "Возврат заказа №5").await;
    assert_eq!(
        assignee(&first).as_deref(),
        Some(env.ivan.id.as_str()),
        "{first}"
    );
    assert_eq!(
        routed(&env, &id_of(&first)).await,
        vec![
            json!({"routing": "rule", "rule_id": id_of(&saved[0]), "rule_position": 1,
                    "keyword": "заказ", "group_id": null, "employee_id": env.ivan.id})
        ]
    );

    // The same rules in the other order: the next new conversation goes to olga.
    let swapped = put_rules(
        &env,
        &json!([
            {"keywords": ["возврат"], "employee_id": env.olga.id},
            {"keywords": ["заказ"], "employee_id": env.ivan.id}
        ]),
    )
    .await;
    let got = get_rules(&env).await;
    assert_eq!(got, swapped);
    let order: Vec<(i64, Value, Value)> = got
        .iter()
        .map(|r| {
            (
                r["position"].as_i64().unwrap_or(-1),
                r["keywords"].clone(),
                r["employee_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            (1, json!(["возврат"]), json!(env.olga.id)),
            (2, json!(["заказ"]), json!(env.ivan.id))
        ]
    );
    let other = "79007654321";
    let second = open(&env, other, Some("Борис"), "Возврат заказа №6").await;
    assert_eq!(
        assignee(&second).as_deref(),
        Some(env.olga.id.as_str()),
        "{second}"
    );
    assert_eq!(
        routed(&env, &id_of(&second)).await,
        vec![
            json!({"routing": "rule", "rule_id": id_of(&swapped[0]), "rule_position": 1,
                    "keyword": "возврат", "group_id": null, "employee_id": env.olga.id})
        ]
    );
    // The earlier conversation keeps its assignee.
    assert_eq!(
        assignee(&env.conversation(&id_of(&first)).await).as_deref(),
        Some(env.ivan.id.as_str())
    );
}

#[tokio::test]
async fn keywords_match_case_insensitively_at_word_starts_with_yo_as_ye() {
    let env = Env::start(&json!({})).await;
    assert_eq!(env.channel["routing"], "manual", "{}", env.channel);
    let saved = put_rules(
        &env,
        &json!([
            {"keywords": ["доставк"], "employee_id": env.ivan.id},
            {"keywords": ["счет на оплату"], "employee_id": env.olga.id}
        ]),
    )
    .await;

    // Upper case, a prefix of the word.
    let a = open(&env, "79000000001", Some("Анна"), "Недоволен ДОСТАВКОЙ!").await;
    assert_eq!(assignee(&a).as_deref(), Some(env.ivan.id.as_str()), "{a}");
    assert_eq!(routed(&env, &id_of(&a)).await[0]["keyword"], "доставк");

    // «ё» in the text, «е» in the keyword; a phrase across extra spaces.
    let b = open(
        &env,
        "79000000002",
        Some("Борис"),
        "Пришлите СЧЁТ   на Оплату, пожалуйста",
    )
    .await;
    assert_eq!(assignee(&b).as_deref(), Some(env.olga.id.as_str()), "{b}");
    assert_eq!(
        routed(&env, &id_of(&b)).await,
        vec![
            json!({"routing": "rule", "rule_id": id_of(&saved[1]), "rule_position": 2,
                    "keyword": "счет на оплату", "group_id": null, "employee_id": env.olga.id})
        ]
    );

    // Inside a word is not a word start: the chat stays in the queue (manual mode).
    let c = open(&env, "79000000003", Some("Вера"), "Это передоставка товара").await;
    assert_eq!(assignee(&c), None, "{c}");
    assert_eq!(c["status"], "open");
    assert!(
        routed(&env, &id_of(&c)).await.is_empty(),
        "no rule matched, manual mode: nothing routed"
    );
}

#[tokio::test]
async fn a_channel_restricted_rule_applies_on_its_channel_only() {
    let env = Env::start(&json!({})).await;
    let second = second_channel(&env).await;
    let saved = put_rules(
        &env,
        &json!([
            {"keywords": ["доставка"], "channel_id": second, "employee_id": env.olga.id},
            {"keywords": ["доставка"], "channel_id": null, "employee_id": env.ivan.id},
            {"keywords": ["счет"], "channel_id": second, "employee_id": env.dmitry.id}
        ]),
    )
    .await;
    assert_eq!(saved[0]["channel_id"], second.as_str(), "{saved:#?}");
    assert_eq!(saved[1]["channel_id"], Value::Null, "{saved:#?}");

    // Main channel: rule 1 is skipped, rule 2 routes.
    let main = open(&env, "79000000011", Some("Анна"), "Доставка опаздывает").await;
    assert_eq!(main["channel_id"], env.channel_id.as_str());
    assert_eq!(
        assignee(&main).as_deref(),
        Some(env.ivan.id.as_str()),
        "{main}"
    );
    assert_eq!(
        routed(&env, &id_of(&main)).await,
        vec![
            json!({"routing": "rule", "rule_id": id_of(&saved[1]), "rule_position": 2,
                    "keyword": "доставка", "group_id": null, "employee_id": env.ivan.id})
        ]
    );
    // Only the restricted rule names «счет»: nothing on the main channel.
    let main_bill = open(&env, "79000000012", Some("Анна"), "Счет не пришёл").await;
    assert_eq!(assignee(&main_bill), None, "{main_bill}");
    assert!(routed(&env, &id_of(&main_bill)).await.is_empty());

    // Second channel: rule 1 applies.
    client_says_on_second(&env, &second, "79000000013", "Доставка опаздывает").await;
    let other = env.conversation_of("79000000013").await;
    assert_eq!(other["channel_id"], second.as_str(), "{other}");
    assert_eq!(
        assignee(&other).as_deref(),
        Some(env.olga.id.as_str()),
        "{other}"
    );
    assert_eq!(
        routed(&env, &id_of(&other)).await,
        vec![
            json!({"routing": "rule", "rule_id": id_of(&saved[0]), "rule_position": 1,
                    "keyword": "доставка", "group_id": null, "employee_id": env.olga.id})
        ]
    );
    client_says_on_second(&env, &second, "79000000014", "Счет не пришёл").await;
    let other_bill = env.conversation_of("79000000014").await;
    assert_eq!(
        assignee(&other_bill).as_deref(),
        Some(env.dmitry.id.as_str()),
        "{other_bill}"
    );
    assert_eq!(
        routed(&env, &id_of(&other_bill)).await[0]["rule_position"],
        3
    );
}

#[tokio::test]
async fn a_group_target_picks_the_least_loaded_online_member() {
    let env = Env::start(&json!({})).await;
    presence(&env, &env.ivan, true).await;
    presence(&env, &env.olga, true).await;
    presence(&env, &env.dmitry, false).await;
    let group = create_group(&env, "Отдел продаж", &[&env.ivan, &env.olga, &env.dmitry]).await;
    let group_id = id_of(&group);
    let saved = put_rules(&env, &json!([{"keywords": ["цена"], "group_id": group_id}])).await;
    assert_eq!(saved[0]["group_id"], group_id.as_str(), "{saved:#?}");
    assert_eq!(saved[0]["employee_id"], Value::Null, "{saved:#?}");
    let rule_id = id_of(&saved[0]);
    let expected = |employee: &str| {
        json!({"routing": "rule", "rule_id": rule_id, "rule_position": 1,
               "keyword": "цена", "group_id": group_id, "employee_id": employee})
    };

    // Nobody has chats yet and nobody was ever routed: the lowest id of the online ones.
    let (low, high) = if numeric(&env.ivan.id) < numeric(&env.olga.id) {
        (&env.ivan, &env.olga)
    } else {
        (&env.olga, &env.ivan)
    };
    let a = open(&env, "79000000021", Some("Анна"), "Какая цена?").await;
    assert_eq!(assignee(&a).as_deref(), Some(low.id.as_str()), "{a}");
    assert_eq!(routed(&env, &id_of(&a)).await, vec![expected(&low.id)]);

    // One open chat against none: the other online member (dmitry has none but is offline).
    env.advance(1).await;
    let b = open(&env, "79000000022", Some("Борис"), "Цена доставки?").await;
    assert_eq!(assignee(&b).as_deref(), Some(high.id.as_str()), "{b}");
    assert_eq!(routed(&env, &id_of(&b)).await, vec![expected(&high.id)]);

    // The load decides before the time of the last assignment: `high` was routed last,
    // but after its chat closes it has fewer open chats than `low`.
    expect_status(
        &env.admin.close(&id_of(&b)).await,
        StatusCode::OK,
        "close b",
    );
    env.advance(1).await;
    let c = open(&env, "79000000023", Some("Вера"), "цена?").await;
    assert_eq!(
        assignee(&c).as_deref(),
        Some(high.id.as_str()),
        "fewest open chats wins: {c}"
    );
    assert_eq!(routed(&env, &id_of(&c)).await, vec![expected(&high.id)]);

    // Equal load (one open chat each): the longest since the last assignment, `low`.
    env.advance(1).await;
    let d = open(&env, "79000000024", Some("Глеб"), "Цена").await;
    assert_eq!(assignee(&d).as_deref(), Some(low.id.as_str()), "{d}");
}

#[tokio::test]
async fn a_group_with_nobody_online_leaves_the_chat_in_the_queue() {
    let env = Env::start(&json!({})).await;
    presence(&env, &env.ivan, false).await;
    presence(&env, &env.olga, false).await;
    // Dmitry is online but not in the group.
    presence(&env, &env.dmitry, true).await;
    let group = create_group(&env, "Бухгалтерия", &[&env.ivan, &env.olga]).await;
    let group_id = id_of(&group);
    let saved = put_rules(&env, &json!([{"keywords": ["счёт"], "group_id": group_id}])).await;
    let rule_id = id_of(&saved[0]);

    let conv = open(&env, WA, Some("Анна"), "Нужен счет").await;
    assert_eq!(assignee(&conv), None, "{conv}");
    assert_eq!(conv["status"], "open");
    assert_eq!(
        routed(&env, &id_of(&conv)).await,
        vec![
            json!({"routing": "rule", "rule_id": rule_id, "rule_position": 1,
                    "keyword": "счёт", "group_id": group_id, "employee_id": null})
        ]
    );

    // Once a member is online, the next chat goes to them.
    presence(&env, &env.olga, true).await;
    let next = open(&env, "79000000031", Some("Борис"), "Счёт, пожалуйста").await;
    assert_eq!(
        assignee(&next).as_deref(),
        Some(env.olga.id.as_str()),
        "{next}"
    );
    assert_eq!(
        routed(&env, &id_of(&next)).await[0]["employee_id"],
        env.olga.id.as_str()
    );
}

#[tokio::test]
async fn without_a_matching_rule_the_channel_mode_round_robin_routes() {
    let env = Env::start(&json!({})).await;
    let (status, channel) = env.patch_channel(&json!({"routing": "round_robin"})).await;
    assert_eq!(status, StatusCode::OK, "{channel}");
    assert_eq!(channel["routing"], "round_robin", "{channel}");
    presence(&env, &env.ivan, true).await;
    presence(&env, &env.olga, true).await;
    presence(&env, &env.dmitry, false).await;
    let saved = put_rules(
        &env,
        &json!([{"keywords": ["доставка"], "employee_id": env.dmitry.id}]),
    )
    .await;

    let (low, high) = if numeric(&env.ivan.id) < numeric(&env.olga.id) {
        (&env.ivan, &env.olga)
    } else {
        (&env.olga, &env.ivan)
    };
    let a = open(&env, "79000000041", Some("Анна"), "Здравствуйте").await;
    assert_eq!(assignee(&a).as_deref(), Some(low.id.as_str()), "{a}");
    assert_eq!(
        routed(&env, &id_of(&a)).await,
        vec![json!({"routing": "round_robin", "employee_id": low.id})]
    );
    env.advance(1).await;
    let b = open(&env, "79000000042", Some("Борис"), "Добрый день").await;
    assert_eq!(assignee(&b).as_deref(), Some(high.id.as_str()), "{b}");
    assert_eq!(
        routed(&env, &id_of(&b)).await,
        vec![json!({"routing": "round_robin", "employee_id": high.id})]
    );
    // A matching rule beats the mode (its employee is offline: assigned anyway).
    let c = open(&env, "79000000043", Some("Вера"), "Где доставка?").await;
    assert_eq!(assignee(&c).as_deref(), Some(env.dmitry.id.as_str()), "{c}");
    assert_eq!(
        routed(&env, &id_of(&c)).await,
        vec![
            json!({"routing": "rule", "rule_id": id_of(&saved[0]), "rule_position": 1,
                    "keyword": "доставка", "group_id": null, "employee_id": env.dmitry.id})
        ]
    );
}

#[tokio::test]
async fn groups_crud_and_every_error() {
    let env = Env::start(&json!({})).await;
    let ivan = env.login(&env.ivan).await;
    let olga = env.login(&env.olga).await;
    assert!(array(env.admin.get("/api/v1/groups").await, "GET groups").is_empty());

    // Create.
    let (status, sales) = env
        .admin
        .post(
            "/api/v1/groups",
            &json!({"name": "Отдел продаж", "employee_ids": [env.ivan.id, env.olga.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sales}");
    let sales_id = id_of(&sales);
    assert_eq!(sales["name"], "Отдел продаж");
    assert_eq!(
        sorted(strings(&sales["employee_ids"])),
        sorted(vec![env.ivan.id.clone(), env.olga.id.clone()])
    );
    let (status, support) = env
        .admin
        .post(
            "/api/v1/groups",
            &json!({"name": "Поддержка", "employee_ids": []}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{support}");
    let support_id = id_of(&support);
    assert_eq!(support["employee_ids"], json!([]));

    // Reads: any signed-in user.
    let (status, read) = ivan.get(&format!("/api/v1/groups/{sales_id}")).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read, sales);
    let listed = array(olga.get("/api/v1/groups").await, "GET groups as manager");
    assert_eq!(listed.len(), 2, "{listed:#?}");
    expect_code(
        &env.server.api().get("/api/v1/groups").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "GET groups without a token",
    );

    // Names are unique case-insensitively, Cyrillic included.
    expect_code(
        &env.admin
            .post(
                "/api/v1/groups",
                &json!({"name": "ОТДЕЛ ПРОДАЖ", "employee_ids": []}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict",
        "duplicate name, other case",
    );
    expect_code(
        &env.admin
            .patch(
                &format!("/api/v1/groups/{support_id}"),
                &json!({"name": "отдел Продаж"}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict",
        "rename onto another group's name",
    );

    // 422 naming the field.
    expect_invalid(
        &env.admin
            .post("/api/v1/groups", &json!({"name": "", "employee_ids": []}))
            .await,
        "name",
        "empty name",
    );
    expect_invalid(
        &env.admin
            .post(
                "/api/v1/groups",
                &json!({"name": "   ", "employee_ids": []}),
            )
            .await,
        "name",
        "blank name",
    );
    let message = expect_invalid(
        &env.admin
            .post(
                "/api/v1/groups",
                &json!({"name": "Склад", "employee_ids": [env.ivan.id, "999999"]}),
            )
            .await,
        "employee_ids[1]",
        "unknown member",
    );
    assert!(message.contains("999999"), "{message}");
    expect_invalid(
        &env.admin
            .patch(
                &format!("/api/v1/groups/{sales_id}"),
                &json!({"employee_ids": ["999999"]}),
            )
            .await,
        "employee_ids[0]",
        "unknown member on PATCH",
    );
    expect_invalid(
        &env.admin
            .patch(&format!("/api/v1/groups/{sales_id}"), &json!({"name": ""}))
            .await,
        "name",
        "empty name on PATCH",
    );

    // Writes are admin-only.
    for (who, api) in [("employee", &ivan), ("manager", &olga)] {
        expect_code(
            &api.post(
                "/api/v1/groups",
                &json!({"name": "Склад", "employee_ids": []}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("POST groups as {who}"),
        );
        expect_code(
            &api.patch(
                &format!("/api/v1/groups/{sales_id}"),
                &json!({"name": "Захват"}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("PATCH group as {who}"),
        );
        expect_code(
            &api.delete(&format!("/api/v1/groups/{support_id}")).await,
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("DELETE group as {who}"),
        );
    }

    // Unknown ids.
    for resp in [
        env.admin.get("/api/v1/groups/999999").await,
        env.admin
            .patch("/api/v1/groups/999999", &json!({"name": "Новая"}))
            .await,
        env.admin.delete("/api/v1/groups/999999").await,
        env.admin.get("/api/v1/groups/not-an-id").await,
    ] {
        expect_code(&resp, StatusCode::NOT_FOUND, "not_found", "unknown group");
    }

    // Nothing of the failed calls was saved.
    let mut names: Vec<String> = array(env.admin.get("/api/v1/groups").await, "GET groups")
        .iter()
        .map(|g| g["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["Отдел продаж", "Поддержка"]);
    let (_, unchanged) = env.admin.get(&format!("/api/v1/groups/{sales_id}")).await;
    assert_eq!(unchanged, sales, "failed PATCHes changed the group");

    // PATCH: rename (its own name in another case is fine), then replace members.
    let (status, renamed) = env
        .admin
        .patch(
            &format!("/api/v1/groups/{sales_id}"),
            &json!({"name": "ОТДЕЛ ПРОДАЖ"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "ОТДЕЛ ПРОДАЖ");
    assert_eq!(renamed["employee_ids"], sales["employee_ids"]);
    let (status, moved) = env
        .admin
        .patch(
            &format!("/api/v1/groups/{sales_id}"),
            &json!({"employee_ids": [env.dmitry.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(
        moved,
        json!({"id": sales_id, "name": "ОТДЕЛ ПРОДАЖ", "employee_ids": [env.dmitry.id]})
    );
    let (_, read) = env.admin.get(&format!("/api/v1/groups/{sales_id}")).await;
    assert_eq!(read, moved);

    // DELETE: 409 while a routing rule targets the group, 204 after, then 404.
    put_rules(
        &env,
        &json!([
            {"keywords": ["a"], "employee_id": env.ivan.id},
            {"keywords": ["b"], "group_id": sales_id}
        ]),
    )
    .await;
    let (field, message) = error_field(
        &env.admin
            .delete(&format!("/api/v1/groups/{sales_id}"))
            .await,
        StatusCode::CONFLICT,
        "delete a group a rule targets",
    );
    assert!(field.is_empty(), "{field}");
    assert!(!message.is_empty());
    let (status, _) = env.admin.get(&format!("/api/v1/groups/{sales_id}")).await;
    assert_eq!(status, StatusCode::OK, "a refused delete removed the group");
    put_rules(
        &env,
        &json!([{"keywords": ["a"], "employee_id": env.ivan.id}]),
    )
    .await;
    let (status, body) = env
        .admin
        .delete(&format!("/api/v1/groups/{sales_id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    expect_code(
        &env.admin.get(&format!("/api/v1/groups/{sales_id}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "GET a deleted group",
    );
    expect_code(
        &env.admin
            .delete(&format!("/api/v1/groups/{sales_id}"))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        "DELETE a deleted group",
    );
    let left = array(env.admin.get("/api/v1/groups").await, "GET groups");
    assert_eq!(left.len(), 1, "{left:#?}");
    assert_eq!(id_of(&left[0]), support_id);
    // The freed name can be used again.
    let (status, again) = env
        .admin
        .post(
            "/api/v1/groups",
            &json!({"name": "отдел продаж", "employee_ids": []}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
}

#[tokio::test]
async fn routing_rules_validation_names_the_field_and_saves_nothing() {
    let env = Env::start(&json!({})).await;
    let group = create_group(&env, "Отдел продаж", &[&env.ivan]).await;
    let group_id = id_of(&group);
    let before = put_rules(
        &env,
        &json!([
            {"keywords": ["доставка"], "employee_id": env.ivan.id},
            {"keywords": ["цена"], "group_id": group_id, "channel_id": env.channel_id}
        ]),
    )
    .await;
    assert_eq!(before.len(), 2);
    assert_eq!(before[1]["channel_id"], env.channel_id.as_str());

    let valid = json!({"keywords": ["ok"], "employee_id": env.olga.id});
    let cases = [
        (
            json!([{"keywords": [], "employee_id": env.ivan.id}]),
            "[0].keywords",
        ),
        (
            json!([valid, {"keywords": ["  ", ""], "employee_id": env.ivan.id}]),
            "[1].keywords",
        ),
        (
            json!([{"keywords": ["a"], "employee_id": "999999"}]),
            "[0].employee_id",
        ),
        (json!([valid, {"keywords": ["a"]}]), "[1].employee_id"),
        (
            json!([{"keywords": ["a"], "employee_id": env.ivan.id, "group_id": group_id}]),
            "[0].employee_id",
        ),
        (
            json!([valid, valid, {"keywords": ["a"], "group_id": "999999"}]),
            "[2].group_id",
        ),
        (
            json!([{"keywords": ["a"], "employee_id": env.ivan.id, "channel_id": "999999"}]),
            "[0].channel_id",
        ),
    ];
    for (body, field) in &cases {
        let resp = env.admin.put("/api/v1/routing-rules", body).await;
        let message = expect_invalid(&resp, field, &format!("PUT {body}"));
        if body.to_string().contains("999999") {
            assert!(message.contains("999999"), "{field}: {message}");
        }
        assert_eq!(
            get_rules(&env).await,
            before,
            "a rejected PUT ({field}) changed the rules"
        );
    }

    // Admins only, reads too.
    let ivan = env.login(&env.ivan).await;
    let olga = env.login(&env.olga).await;
    for (who, api) in [("employee", &ivan), ("manager", &olga)] {
        expect_code(
            &api.get("/api/v1/routing-rules").await,
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("GET routing-rules as {who}"),
        );
        expect_code(
            &api.put("/api/v1/routing-rules", &json!([])).await,
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("PUT routing-rules as {who}"),
        );
    }
    assert_eq!(get_rules(&env).await, before);

    // An empty list clears them.
    assert!(put_rules(&env, &json!([])).await.is_empty());
    assert!(get_rules(&env).await.is_empty());
}

#[tokio::test]
async fn a_new_channel_queue_starts_with_every_active_employee() {
    let env = Env::start(&json!({})).await;
    let admin = admin_id(&env).await;
    let saved = put_rules(
        &env,
        &json!([{"keywords": ["доставка"], "employee_id": env.ivan.id}]),
    )
    .await;

    let (status, gone) = env
        .admin
        .delete(&format!("/api/v1/employees/{}", env.ivan.id))
        .await;
    assert_eq!(status, StatusCode::OK, "deactivate ivan: {gone}");
    assert_eq!(gone["active"], false, "{gone}");

    let second = second_channel(&env).await;
    let (status, members) = env
        .admin
        .get(&format!("/api/v1/channels/{second}/members"))
        .await;
    assert_eq!(status, StatusCode::OK, "{members}");
    assert_eq!(
        sorted(strings(&members["employee_ids"])),
        sorted(vec![admin, env.olga.id.clone(), env.dmitry.id.clone()]),
        "every active employee, ivan (deactivated) excluded"
    );

    // A rule whose employee is deactivated leaves the chat in the queue.
    let conv = open(&env, WA, Some("Анна"), "Доставка?").await;
    assert_eq!(assignee(&conv), None, "{conv}");
    assert_eq!(
        routed(&env, &id_of(&conv)).await,
        vec![
            json!({"routing": "rule", "rule_id": id_of(&saved[0]), "rule_position": 1,
                    "keyword": "доставка", "group_id": null, "employee_id": null})
        ]
    );
}
