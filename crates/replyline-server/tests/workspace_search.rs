//! Search, contact cards, quick replies and the audit log through HTTP on port 0
//! (real SQLite, manual clock): nobody finds what they may not see, limits do
//! not hide visible results, Russian words match in any case, as prefixes and
//! with «ё» = «е», search syntax in `q` is only text; quick replies are
//! personal or shared (admins and managers); an edited contact name survives
//! the messenger's profile name; the audit log says who changed what, old →
//! new, secrets masked, admins only.

mod support;

use replyline_whatsapp::reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::{Person, Srv, id};

static WAMID: AtomicU64 = AtomicU64::new(0);

/// A client message with its own profile name, through the signed webhook;
/// waits until it is stored and returns its conversation.
async fn says(
    s: &Srv,
    (channel, name): (&str, &str),
    wa_id: &str,
    profile: &str,
    text: &str,
) -> Value {
    let n = WAMID.fetch_add(1, Ordering::Relaxed);
    let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "x", "changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": name}, "contacts": [{"profile": {"name": profile}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": format!("wamid.ws.{channel}.{n}"), "timestamp": "1764054000", "type": "text", "text": {"body": text}}]}}]}]})
    .to_string();
    s.post_webhook(channel, payload).await;
    let probe: String = text.chars().take(100).collect();
    for _ in 0..400 {
        let (_, found) = s
            .get(
                &format!("/api/v1/search?q={}&limit=100", enc(&probe)),
                &s.admin,
            )
            .await;
        let hit = found["messages"].as_array().and_then(|m| {
            m.iter()
                .find(|m| m["text"] == text && m["contact"]["address"] == wa_id)
                .cloned()
        });
        if let Some(hit) = hit {
            let path = format!(
                "/api/v1/conversations/{}",
                hit["conversation_id"].as_str().unwrap()
            );
            return s.get(&path, &s.admin).await.1;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{text:?} from {wa_id} was not stored");
}

fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn search(s: &Srv, token: &str, q: &str) -> Value {
    let (status, v) = s.get(&format!("/api/v1/search?q={}", enc(q)), token).await;
    assert_eq!(status, StatusCode::OK, "{q:?}: {v}");
    v
}

/// The texts of the messages found, sorted.
fn texts(found: &Value) -> Vec<String> {
    let mut t: Vec<String> = found["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    t.sort();
    t
}

fn addresses(found: &Value) -> Vec<String> {
    let mut a: Vec<String> = found["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap().to_owned())
        .collect();
    a.sort();
    a
}

fn field_error(v: &Value) -> (&str, &str) {
    (
        v["error"]["code"].as_str().unwrap_or_default(),
        v["error"]["field"].as_str().unwrap_or_default(),
    )
}

/// The channels' names (and phone number ids).
const WS1: &str = "ws1";
const WS2: &str = "ws2";
const ANNA_TEXT: &str = "Когда будет доставка заказа? Ёлка зелёная нужна к пятнице";
const BORIS_TEXT: &str = "Доставка в Зеленоград возможна?";

/// Anna works channel 1, Boris channel 2; Mila manages Anna; a chat on each.
struct Team {
    s: Srv,
    anna: Person,
    boris: Person,
    mila: Person,
    chat1: Value,
    chat2: Value,
}

async fn team() -> Team {
    let s = Srv::start().await;
    let mila = s.person("mila", "manager", None).await;
    let anna = s.person("anna", "employee", Some(&mila.id)).await;
    let boris = s.person("boris", "employee", None).await;
    let ch1 = s.channel(WS1, "manual", &[&anna]).await;
    let ch2 = s.channel(WS2, "manual", &[&boris]).await;
    let chat1 = says(&s, (&ch1, WS1), "79990000001", "Client One", ANNA_TEXT).await;
    let chat2 = says(&s, (&ch2, WS2), "79990000002", "Client Two", BORIS_TEXT).await;
    Team {
        s,
        anna,
        boris,
        mila,
        chat1,
        chat2,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_only_what_the_caller_may_see() {
    let t = team().await;
    let s = &t.s;
    // Queue chats: each member sees their channel's; the manager sees neither yet.
    assert_eq!(
        texts(&search(s, &t.anna.token, "доставка").await),
        [ANNA_TEXT]
    );
    assert_eq!(
        texts(&search(s, &t.boris.token, "доставка").await),
        [BORIS_TEXT]
    );
    assert!(texts(&search(s, &t.mila.token, "доставка").await).is_empty());
    let mut both = vec![ANNA_TEXT.to_owned(), BORIS_TEXT.to_owned()];
    both.sort();
    assert_eq!(texts(&search(s, &s.admin, "доставка").await), both);
    // Contacts (by address prefix): the same rule.
    assert_eq!(
        addresses(&search(s, &t.anna.token, "7999").await),
        ["79990000001"]
    );
    assert_eq!(
        addresses(&search(s, &t.boris.token, "7999").await),
        ["79990000002"]
    );
    assert!(addresses(&search(s, &t.mila.token, "7999").await).is_empty());
    assert_eq!(
        addresses(&search(s, &s.admin, "7999").await),
        ["79990000001", "79990000002"]
    );

    // Assigned to Anna: her manager now finds it too; Boris still does not.
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{}/assign", id(&t.chat1)),
        &s.admin,
        Some(json!({"employee_id": t.anna.id})),
    )
    .await;
    assert_eq!(
        texts(&search(s, &t.mila.token, "доставка").await),
        [ANNA_TEXT]
    );
    assert_eq!(
        addresses(&search(s, &t.mila.token, "7999").await),
        ["79990000001"]
    );
    assert_eq!(
        texts(&search(s, &t.boris.token, "доставка").await),
        [BORIS_TEXT]
    );

    // Mentioned in a note, Boris observes Anna's chat and finds it; after leaving, not.
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{}/notes", id(&t.chat1)),
        &t.anna.token,
        Some(json!({"text": "Посмотри, пожалуйста", "mentions": [t.boris.id]})),
    )
    .await;
    let mut seen = vec![ANNA_TEXT.to_owned(), BORIS_TEXT.to_owned()];
    seen.sort();
    assert_eq!(texts(&search(s, &t.boris.token, "доставка").await), seen);
    assert_eq!(
        addresses(&search(s, &t.boris.token, "7999").await),
        ["79990000001", "79990000002"]
    );
    assert_eq!(
        texts(&search(s, &t.boris.token, "посмотри").await),
        ["Посмотри, пожалуйста"]
    );
    let (status, _) = s
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{}/leave", id(&t.chat1)),
            Some(&t.boris.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        texts(&search(s, &t.boris.token, "доставка").await),
        [BORIS_TEXT]
    );
    assert!(texts(&search(s, &t.boris.token, "посмотри").await).is_empty());

    // A message result carries its chat and contact.
    let found = search(s, &t.anna.token, "доставка").await;
    let hit = &found["messages"][0];
    assert_eq!(hit["conversation_id"], t.chat1["id"]);
    assert_eq!(hit["contact"]["address"], "79990000001");
    assert_eq!(hit["contact"]["name"], "Client One");
    assert_eq!(hit["kind"], "client");
    assert_eq!(hit["snippet"], ANNA_TEXT);

    // Newer invisible matches do not crowd Anna's result out of a small limit.
    let ch2 = t.chat2["channel_id"].as_str().unwrap().to_owned();
    for i in 0..3 {
        says(
            s,
            (&ch2, WS2),
            "79990000002",
            "Client Two",
            &format!("доставка номер {i}"),
        )
        .await;
    }
    let (_, one) = s
        .get(
            "/api/v1/search?q=%D0%B4%D0%BE%D1%81%D1%82%D0%B0%D0%B2%D0%BA%D0%B0&limit=1",
            &t.anna.token,
        )
        .await;
    assert_eq!(texts(&one), [ANNA_TEXT]);
    let (_, one) = s
        .get(
            "/api/v1/search?q=%D0%B4%D0%BE%D1%81%D1%82%D0%B0%D0%B2%D0%BA%D0%B0&limit=1",
            &s.admin,
        )
        .await;
    assert_eq!(texts(&one), ["доставка номер 2"]);
    // Nothing of the other chat leaks through the contact either.
    let found = search(s, &t.anna.token, "номер").await;
    assert!(texts(&found).is_empty(), "{found}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn russian_words_match_in_any_case_as_prefixes_and_yo_is_ye() {
    let t = team().await;
    let s = &t.s;
    let anna = &t.anna.token;
    for q in [
        "ДОСТАВКА",
        "Доставк",
        "достав заказ",
        "елка",
        "ЁЛКА",
        "зеленая",
        "зелён",
        "пятниц",
    ] {
        assert_eq!(texts(&search(s, anna, q).await), [ANNA_TEXT], "{q}");
    }
    // Every word is required.
    assert!(texts(&search(s, anna, "доставка москва").await).is_empty());
    // «Зеленоград» (Boris's) is not Anna's.
    assert!(texts(&search(s, anna, "зеленоград").await).is_empty());
    // A word inside another word is not a prefix.
    assert!(texts(&search(s, anna, "ставка").await).is_empty());

    // Search syntax is only text: no error, no operator.
    for q in [
        "\"",
        "*",
        "OR",
        "(",
        ")",
        "доставка OR москва",
        "\"доставка",
        "доставка*",
        "NEAR(доставка заказа)",
        "text:доставка",
        "-доставка",
        "^доставка",
        "{a b}",
        "a AND NOT b",
        "'; DROP TABLE messages; --",
    ] {
        let found = search(s, anna, q).await;
        assert!(found["messages"].is_array(), "{q}: {found}");
    }
    assert!(texts(&search(s, anna, "доставка OR москва").await).is_empty());
    assert_eq!(texts(&search(s, anna, "\"доставка").await), [ANNA_TEXT]);

    // q is 1 to 200 characters (422 naming it); limit 1 to 100.
    for path in [
        "/api/v1/search".to_owned(),
        "/api/v1/search?q=".to_owned(),
        "/api/v1/search?q=%20%20".to_owned(),
        format!("/api/v1/search?q={}", "a".repeat(201)),
    ] {
        let (status, v) = s.get(&path, anna).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {v}");
        assert_eq!(field_error(&v), ("validation_failed", "q"), "{path}");
    }
    let (status, v) = s.get("/api/v1/search?q=a&limit=0", anna).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&v).1, "limit");
    let (status, _) = s.call(Method::GET, "/api/v1/search?q=a", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snippet_is_plain_text_around_the_first_match() {
    let t = team().await;
    let s = &t.s;
    let ch1 = t.chat1["channel_id"].as_str().unwrap().to_owned();
    let long = format!(
        "{} Самовывоз завтра. {}",
        "начало ".repeat(40),
        "конец ".repeat(40)
    );
    says(s, (&ch1, WS1), "79990000001", "Client One", &long).await;
    let found = search(s, &t.anna.token, "самовывоз").await;
    let snippet = found["messages"][0]["snippet"].as_str().unwrap();
    assert!(snippet.chars().count() <= 160, "{snippet}");
    assert!(snippet.contains("Самовывоз завтра."), "{snippet}");
    assert!(
        snippet.starts_with('…') && snippet.ends_with('…'),
        "{snippet}"
    );
    assert_eq!(found["messages"][0]["text"], long);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_replies_are_personal_or_shared_by_admins_and_managers() {
    let t = team().await;
    let s = &t.s;
    let base = "/api/v1/quick-replies";
    let (status, own) = s
        .post(
            base,
            &t.anna.token,
            json!({"title": "Привет", "text": "Здравствуйте, {client_name|клиент}! Я {employee_name}, {company_name}."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    assert_eq!(own["shared"], false);
    assert_eq!(own["owner_id"], t.anna.id.as_str());
    let own_path = format!("{base}/{}", id(&own));

    // Personal: nobody else sees or touches it.
    let (_, list) = s.get(base, &t.boris.token).await;
    assert!(list.as_array().unwrap().is_empty(), "{list}");
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"title": "x"}))),
        (Method::DELETE, None),
    ] {
        let (status, _) = s
            .call(method.clone(), &own_path, Some(&t.boris.token), body)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}");
    }
    // Even admins do not see someone's personal replies.
    let (_, list) = s.get(base, &s.admin).await;
    assert!(list.as_array().unwrap().is_empty(), "{list}");

    // Shared: admins and managers only.
    let (status, v) = s
        .post(
            base,
            &t.anna.token,
            json!({"title": "Адрес", "text": "ул. Ленина, 1", "shared": true}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    let (status, v) = s
        .call(
            Method::PATCH,
            &own_path,
            Some(&t.anna.token),
            Some(json!({"shared": true})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    let (status, shared) = s
        .post(
            base,
            &t.mila.token,
            json!({"title": "Адрес", "text": "ул. Ленина, 1", "shared": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{shared}");
    let shared_path = format!("{base}/{}", id(&shared));
    let (_, list) = s.get(base, &t.anna.token).await;
    let titles: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Адрес", "Привет"]);
    let (_, list) = s.get(base, &t.boris.token).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    for (method, body) in [
        (Method::PATCH, Some(json!({"text": "другой адрес"}))),
        (Method::DELETE, None),
    ] {
        let (status, _) = s
            .call(method.clone(), &shared_path, Some(&t.anna.token), body)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method}");
    }
    let (status, edited) = s
        .call(
            Method::PATCH,
            &shared_path,
            Some(&s.admin),
            Some(json!({"text": "ул. Мира, 2"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        (edited["title"].as_str(), edited["text"].as_str()),
        (Some("Адрес"), Some("ул. Мира, 2"))
    );

    // The owner edits their own.
    let (status, edited) = s
        .call(
            Method::PATCH,
            &own_path,
            Some(&t.anna.token),
            Some(json!({"title": "Приветствие"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["title"], "Приветствие");

    // Validation names the field.
    for (body, field) in [
        (json!({"title": "", "text": "x"}), "title"),
        (json!({"title": "я".repeat(101), "text": "x"}), "title"),
        (json!({"title": "t", "text": "  "}), "text"),
        (json!({"title": "t", "text": "я".repeat(4097)}), "text"),
        (json!({"title": "t", "text": "Hi {client_nmae}"}), "text"),
    ] {
        let (status, v) = s.post(base, &t.anna.token, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(field_error(&v), ("validation_failed", field), "{body}");
    }
    let (status, v) = s
        .call(
            Method::PATCH,
            &own_path,
            Some(&t.anna.token),
            Some(json!({"title": " "})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&v).1, "title");

    // Variables filled in from the chat's contact and the caller.
    let render =
        |path: &str, conversation: &str| format!("{path}/render?conversation_id={conversation}");
    let (status, r) = s
        .get(&render(&own_path, &id(&t.chat1)), &t.anna.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["text"], "Здравствуйте, Client One! Я anna, Replyline.");
    // Not Anna's chat: 404; no chat: 422.
    let (status, _) = s
        .get(&render(&own_path, &id(&t.chat2)), &t.anna.token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, v) = s.get(&format!("{own_path}/render"), &t.anna.token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&v).1, "conversation_id");

    // Deleting.
    let (status, _) = s
        .call(Method::DELETE, &own_path, Some(&t.anna.token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call(Method::GET, &own_path, Some(&t.anna.token), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .call(Method::DELETE, &shared_path, Some(&t.mila.token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_contact_name_survives_a_new_profile_name() {
    let t = team().await;
    let s = &t.s;
    let contact = t.chat1["contact"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/contacts/{contact}");
    let (status, card) = s.get(&path, &t.anna.token).await;
    assert_eq!(status, StatusCode::OK, "{card}");
    assert_eq!(card["name"], "Client One");
    assert_eq!(card["address"], "79990000001");
    assert_eq!(card["conversations_count"], 1);
    assert_eq!(card["note"], Value::Null);
    assert!(card["last_seen_at"].is_string(), "{card}");
    // Not visible to Boris or the manager (the chat is in Anna's queue).
    for token in [&t.boris.token, &t.mila.token] {
        let (status, _) = s.get(&path, token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = s
            .call(
                Method::PATCH,
                &path,
                Some(token),
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _) = s.get("/api/v1/contacts/999999", &s.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, card) = s
        .call(
            Method::PATCH,
            &path,
            Some(&t.anna.token),
            Some(json!({"name": "Анна Иванова", "note": "Постоянный клиент, любит ёлки"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{card}");
    assert_eq!(card["name"], "Анна Иванова");
    assert_eq!(card["note"], "Постоянный клиент, любит ёлки");
    assert_eq!(card["name_edited"], true);

    // The messenger brings another profile name: the edited one stays.
    let ch1 = t.chat1["channel_id"].as_str().unwrap().to_owned();
    says(
        s,
        (&ch1, WS1),
        "79990000001",
        "Совсем Другое Имя",
        "ещё вопрос",
    )
    .await;
    let (_, card) = s.get(&path, &t.anna.token).await;
    assert_eq!(card["name"], "Анна Иванова");
    let (_, chat) = s
        .get(
            &format!("/api/v1/conversations/{}", id(&t.chat1)),
            &t.anna.token,
        )
        .await;
    assert_eq!(chat["contact"]["name"], "Анна Иванова");
    // The card is searchable by its new name and its note.
    assert_eq!(
        addresses(&search(s, &t.anna.token, "иванов").await),
        ["79990000001"]
    );
    assert_eq!(
        addresses(&search(s, &t.anna.token, "елки").await),
        ["79990000001"]
    );
    assert!(addresses(&search(s, &t.boris.token, "иванов").await).is_empty());

    // Validation names the field; null clears the note.
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "я".repeat(201)}), "name"),
        (json!({"note": "я".repeat(4097)}), "note"),
    ] {
        let (status, v) = s
            .call(
                Method::PATCH,
                &path,
                Some(&t.anna.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(field_error(&v), ("validation_failed", field), "{body}");
    }
    let (status, v) = s
        .call(
            Method::PATCH,
            &path,
            Some(&t.anna.token),
            Some(json!({"nickname": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (_, card) = s
        .call(
            Method::PATCH,
            &path,
            Some(&t.anna.token),
            Some(json!({"note": null})),
        )
        .await;
    assert_eq!(card["note"], Value::Null);
    assert_eq!(card["name"], "Анна Иванова");
}

/// The audit entries of `entity`, newest first.
async fn audit_of(s: &Srv, entity: &str) -> Vec<Value> {
    let (status, list) = s.get("/api/v1/audit?limit=200", &s.admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entity"] == entity)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_says_who_changed_what_with_secrets_masked() {
    let s = Srv::start().await;
    let anna = s.person("anna", "employee", None).await;
    // An employee update: only the changed fields, the password masked.
    s.ok(
        Method::PATCH,
        &format!("/api/v1/employees/{}", anna.id),
        &s.admin,
        Some(json!({"name": "Анна", "role": "manager", "password": "a-new-password"})),
    )
    .await;
    let employees = audit_of(&s, "employee").await;
    let update = &employees[0];
    assert_eq!(update["action"], "update");
    assert_eq!(update["entity_id"], anna.id.as_str());
    assert_eq!(update["employee_id"], s.admin_id.as_str());
    assert_eq!(
        update["old"],
        json!({"name": "anna", "role": "employee", "password": "***"})
    );
    assert_eq!(
        update["new"],
        json!({"name": "Анна", "role": "manager", "password": "***"})
    );
    let create = &employees[1];
    assert_eq!(create["action"], "create");
    assert_eq!(create["old"], Value::Null);
    assert_eq!(create["new"]["email"], "anna@example.com");
    assert_eq!(create["new"]["password"], "***");

    // A channel with secrets; its members; a rotated token.
    let (status, channel) = s
        .post(
            "/api/v1/channels",
            &s.admin,
            json!({"kind": "whatsapp", "name": "Аудит", "whatsapp": {"phone_number_id": "555",
                "access_token": "first-token-SECRET", "app_secret": "app-secret-SECRET",
                "verify_token": "verify-SECRET", "api_base_url": "http://127.0.0.1:9"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    let ch = id(&channel);
    s.ok(
        Method::PATCH,
        &format!("/api/v1/channels/{ch}"),
        &s.admin,
        Some(json!({"name": "Аудит 2", "whatsapp": {"access_token": "second-token-SECRET"}})),
    )
    .await;
    s.ok(
        Method::PUT,
        &format!("/api/v1/channels/{ch}/members"),
        &s.admin,
        Some(json!({"employee_ids": [anna.id]})),
    )
    .await;
    let channels = audit_of(&s, "channel").await;
    assert_eq!(channels[0]["action"], "update");
    assert_eq!(
        channels[0]["old"],
        json!({"name": "Аудит", "whatsapp": {"access_token": "***"}})
    );
    assert_eq!(
        channels[0]["new"],
        json!({"name": "Аудит 2", "whatsapp": {"access_token": "***"}})
    );
    assert_eq!(channels[1]["action"], "create");
    assert_eq!(channels[1]["new"]["whatsapp"]["app_secret"], "***");
    assert_eq!(channels[1]["new"]["whatsapp"]["phone_number_id"], "555");
    let members = audit_of(&s, "members").await;
    assert_eq!(members[0]["action"], "replace");
    assert_eq!(members[0]["entity_id"], ch.as_str());
    assert_eq!(members[0]["new"], json!({"employee_ids": [anna.id]}));

    // A settings change (written by the driver's settings history).
    s.ok(
        Method::PUT,
        &format!("/api/v1/channels/{ch}/settings"),
        &s.admin,
        Some(json!({"greeting": {"enabled": true, "text": "Добрый день!"}})),
    )
    .await;
    let settings = audit_of(&s, "settings").await;
    assert_eq!(settings.len(), 1, "{settings:?}");
    assert_eq!(settings[0]["entity_id"], ch.as_str());
    assert_eq!(settings[0]["employee_id"], s.admin_id.as_str());
    assert_eq!(settings[0]["action"], "update");
    assert_eq!(settings[0]["old"]["greeting"]["enabled"], false);
    assert_eq!(settings[0]["new"]["greeting"]["enabled"], true);
    assert_eq!(settings[0]["new"]["greeting"]["text"], "Добрый день!");
    // Only the changed groups.
    let groups: Vec<&String> = settings[0]["new"].as_object().unwrap().keys().collect();
    assert_eq!(groups, ["greeting"]);

    // Groups and routing rules.
    let (_, group) = s
        .post(
            "/api/v1/groups",
            &s.admin,
            json!({"name": "Продажи", "employee_ids": [anna.id]}),
        )
        .await;
    s.ok(
        Method::PUT,
        "/api/v1/routing-rules",
        &s.admin,
        Some(json!([{"keywords": ["доставка"], "group_id": id(&group)}])),
    )
    .await;
    let rules = audit_of(&s, "routing_rules").await;
    assert_eq!(rules[0]["action"], "replace");
    assert_eq!(rules[0]["old"], json!({"rules": []}));
    assert_eq!(rules[0]["new"]["rules"][0]["keywords"], json!(["доставка"]));
    assert_eq!(audit_of(&s, "group").await[0]["new"]["name"], "Продажи");

    // Secrets never appear anywhere in the log.
    let resp = s
        .raw(Method::GET, "/api/v1/audit?limit=200", Some(&s.admin), None)
        .await;
    let text = resp.text().await.unwrap();
    assert!(!text.contains("SECRET"), "{text}");
    assert!(!text.contains("$argon2"), "{text}");

    // Newest first, paged by the cursor.
    let resp = s
        .raw(Method::GET, "/api/v1/audit?limit=2", Some(&s.admin), None)
        .await;
    let cursor = resp.headers()["x-next-cursor"].to_str().unwrap().to_owned();
    let first: Value = resp.json().await.unwrap();
    assert_eq!(first[0]["entity"], "routing_rules");
    assert_eq!(first[1]["entity"], "group");
    assert_eq!(first[1]["id"], cursor.as_str());
    let (_, next) = s
        .get(&format!("/api/v1/audit?limit=2&before={cursor}"), &s.admin)
        .await;
    assert_eq!(next[0]["entity"], "settings");
    let (status, v) = s.get("/api/v1/audit?limit=0", &s.admin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&v).1, "limit");

    // Deletions: a group's whole record; a deactivation's changed fields; a channel.
    let (_, spare) = s
        .post("/api/v1/groups", &s.admin, json!({"name": "Временная"}))
        .await;
    s.ok(
        Method::PATCH,
        &format!("/api/v1/groups/{}", id(&spare)),
        &s.admin,
        Some(json!({"name": "Склад"})),
    )
    .await;
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/groups/{}", id(&spare)),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let groups = audit_of(&s, "group").await;
    assert_eq!(groups[0]["action"], "delete");
    assert_eq!(
        groups[0]["old"],
        json!({"name": "Склад", "employee_ids": []})
    );
    assert_eq!(groups[0]["new"], Value::Null);
    assert_eq!(groups[1]["action"], "update");
    assert_eq!(
        (&groups[1]["old"], &groups[1]["new"]),
        (&json!({"name": "Временная"}), &json!({"name": "Склад"}))
    );
    s.ok(
        Method::DELETE,
        &format!("/api/v1/employees/{}", anna.id),
        &s.admin,
        None,
    )
    .await;
    let deactivated = &audit_of(&s, "employee").await[0];
    assert_eq!(deactivated["action"], "delete");
    assert_eq!(
        (&deactivated["old"], &deactivated["new"]),
        (&json!({"active": true}), &json!({"active": false}))
    );
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/channels/{ch}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let removed = &audit_of(&s, "channel").await[0];
    assert_eq!(removed["action"], "delete");
    assert_eq!(removed["old"]["name"], "Аудит 2");
    assert_eq!(removed["old"]["whatsapp"]["access_token"], "***");
    let text = s
        .raw(Method::GET, "/api/v1/audit?limit=200", Some(&s.admin), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(!text.contains("SECRET"), "{text}");

    // Admins only (Anna's password change revoked her token; Boris asks).
    let boris = s.person("boris", "manager", None).await;
    let (status, _) = s.get("/api/v1/audit", &boris.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
