//! The inbox of issue 10 over HTTP on port 0 (real SQLite, manual clock): cursor
//! paging with visibility in SQL, per-person unread counts, labels, observers made
//! by mentions (what they may and may not do, their live events), transfers to a
//! group with a comment, a contact's conversations.

mod support;

use futures_util::StreamExt;
use replyline_whatsapp::reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;
use support::{Person, Srv, id};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

/// One signed webhook carrying a first message from each of `wa_ids`.
async fn many_clients_write(s: &Srv, channel: &str, channel_name: &str, wa_ids: &[String]) {
    let messages: Vec<Value> = wa_ids
        .iter()
        .map(|wa| json!({"from": wa, "id": format!("wamid.batch.{channel}.{wa}"), "timestamp": "1764054000", "type": "text", "text": {"body": "Здравствуйте"}}))
        .collect();
    let contacts: Vec<Value> = wa_ids
        .iter()
        .map(|wa| json!({"profile": {"name": format!("Клиент {wa}")}, "wa_id": wa}))
        .collect();
    let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "x", "changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": channel_name}, "contacts": contacts, "messages": messages}}]}]})
    .to_string();
    s.post_webhook(channel, payload).await;
    for _ in 0..400 {
        let (_, list) = s
            .get(
                &format!("/api/v1/conversations?channel_id={channel}&limit=200"),
                &s.admin,
            )
            .await;
        if list.as_array().map_or(0, Vec::len) >= wa_ids.len() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the batch of {} clients was not ingested", wa_ids.len());
}

/// Every page of `path` (which has a `?`) for `token`: the rows of each page.
async fn pages(s: &Srv, path: &str, token: &str) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let url = match &before {
            Some(c) => format!("{path}&before={c}"),
            None => path.to_owned(),
        };
        let resp = s.raw(Method::GET, &url, Some(token), None).await;
        assert_eq!(resp.status(), StatusCode::OK, "{url}");
        let next = resp
            .headers()
            .get("x-next-cursor")
            .map(|v| v.to_str().unwrap().to_owned());
        let rows: Vec<Value> = resp.json().await.unwrap();
        out.push(rows);
        match next {
            Some(c) => before = Some(c),
            None => return out,
        }
        assert!(out.len() < 20, "paging does not end");
    }
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter().map(id).collect()
}

async fn conversation_of(s: &Srv, channel: &str, wa_id: &str) -> Value {
    let (_, list) = s
        .get(
            &format!("/api/v1/conversations?channel_id={channel}&limit=200"),
            &s.admin,
        )
        .await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["contact"]["address"] == wa_id)
        .cloned()
        .unwrap_or_else(|| panic!("no conversation with {wa_id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_returns_every_visible_row_once_and_nothing_else() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    let a = s.channel("pa", "manual", &[&ivan]).await;
    let b = s.channel("pb", "manual", &[]).await;
    let on_a: Vec<String> = (0..80).map(|i| format!("7900000{i:04}")).collect();
    let on_b: Vec<String> = (0..40).map(|i| format!("7911000{i:04}")).collect();
    many_clients_write(&s, &a, "pa", &on_a).await;
    many_clients_write(&s, &b, "pb", &on_b).await;

    // The admin sees all 120, in pages of 50, 50 and 20, each row once, newest first.
    let admin_pages = pages(&s, "/api/v1/conversations?limit=50", &s.admin).await;
    let sizes: Vec<usize> = admin_pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![50, 50, 20]);
    let all: Vec<Value> = admin_pages.concat();
    let unique: HashSet<String> = ids(&all).into_iter().collect();
    assert_eq!(unique.len(), 120);
    let keys: Vec<(String, i64)> = all
        .iter()
        .map(|c| {
            (
                c["last_message_at"].as_str().unwrap().to_owned(),
                id(c).parse().unwrap(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|x, y| y.cmp(x));
    assert_eq!(keys, sorted, "newest activity first, then highest id");

    // Ivan works channel A only: its 80 queued chats, never one of channel B.
    let ivan_pages = pages(&s, "/api/v1/conversations?limit=50", &ivan.token).await;
    assert_eq!(
        ivan_pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![50, 30]
    );
    let seen = ivan_pages.concat();
    assert!(
        seen.iter().all(|c| c["channel_id"] == a.as_str()),
        "only channel A"
    );
    let unique: HashSet<String> = ids(&seen).into_iter().collect();
    assert_eq!(unique.len(), 80);
    let wanted: HashSet<String> = on_a.iter().cloned().collect();
    let got: HashSet<String> = seen
        .iter()
        .map(|c| c["contact"]["address"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, wanted);
    assert!(seen.iter().all(|c| c["status_label"] == "queued"));
    // Asking for channel B by id still shows ivan nothing.
    let (_, list) = s
        .get(
            &format!("/api/v1/conversations?channel_id={b}"),
            &ivan.token,
        )
        .await;
    assert_eq!(list, json!([]));
    // Each row carries its preview and the caller's unread count.
    let first = &seen[0];
    assert_eq!(first["last_message"]["text"], "Здравствуйте");
    assert_eq!(first["last_message"]["direction"], "in");
    assert_eq!(first["unread"], 1);
    // q finds contacts by name or address prefix.
    let (_, found) = s
        .get("/api/v1/conversations?q=79000000012", &ivan.token)
        .await;
    assert_eq!(ids(found.as_array().unwrap()).len(), 1, "{found}");
    let (_, found) = s
        .get(
            "/api/v1/conversations?q=клиент%207911000001&limit=200",
            &s.admin,
        )
        .await;
    assert_eq!(found.as_array().unwrap().len(), 10, "{found}");

    // Bad paging parameters are 400s naming the parameter.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=x", "limit"),
        ("before=nonsense", "before"),
        ("scope=everything", "scope"),
    ] {
        let (status, body) = s
            .get(&format!("/api/v1/conversations?{query}"), &ivan.token)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_counts_are_per_person() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    let maria = s.person("maria", "employee", None).await;
    let ch = s.channel("pu", "manual", &[&ivan, &maria]).await;
    let c = s.client_says(&ch, "pu", "79001112233", "Добрый день").await;
    let cid = id(&c);
    let unread = |token: String| {
        let s = &s;
        let cid = cid.clone();
        async move {
            let (status, c) = s.get(&format!("/api/v1/conversations/{cid}"), &token).await;
            assert_eq!(status, StatusCode::OK, "{c}");
            c["unread"].as_i64().unwrap()
        }
    };
    assert_eq!(unread(ivan.token.clone()).await, 1);
    assert_eq!(unread(maria.token.clone()).await, 1);

    // Ivan opens the chat (no body: up to the latest message).
    let resp = s
        .raw(
            Method::POST,
            &format!("/api/v1/conversations/{cid}/read"),
            Some(&ivan.token),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(unread(ivan.token.clone()).await, 0);
    assert_eq!(unread(maria.token.clone()).await, 1);

    // A new client message counts for both.
    s.client_says(&ch, "pu", "79001112233", "Алло?").await;
    assert_eq!(unread(ivan.token.clone()).await, 1);
    assert_eq!(unread(maria.token.clone()).await, 2);
    let (_, list) = s.get("/api/v1/conversations", &maria.token).await;
    assert_eq!(list[0]["unread"], 2);
    assert_eq!(list[0]["last_message"]["text"], "Алло?");

    // Reading up to the first message leaves the second unread; a mark never moves back.
    let (_, msgs) = s
        .get(
            &format!("/api/v1/conversations/{cid}/messages"),
            &maria.token,
        )
        .await;
    let first = id(&msgs[0]);
    let (status, _) = s
        .post(
            &format!("/api/v1/conversations/{cid}/read"),
            &maria.token,
            json!({"message_id": first}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(unread(maria.token.clone()).await, 1);
    // A message of no conversation of this chat is a 422 naming message_id.
    let (status, body) = s
        .post(
            &format!("/api/v1/conversations/{cid}/read"),
            &maria.token,
            json!({"message_id": "999999"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "message_id");
    // A JSON `null` body is the optional body left out: up to the latest message.
    let (status, body) = s
        .post(
            &format!("/api/v1/conversations/{cid}/read"),
            &maria.token,
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(unread(maria.token.clone()).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_are_validated_shared_and_filtered() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    let outsider = s.person("olga", "employee", None).await;
    let ch = s.channel("pl", "manual", &[&ivan]).await;
    let c1 = id(&s.client_says(&ch, "pl", "79002220001", "Где заказ?").await);
    let c2 = id(&s
        .client_says(&ch, "pl", "79002220002", "Хочу вернуть")
        .await);
    let put = |cid: String, body: Value| {
        let s = &s;
        let token = ivan.token.clone();
        async move {
            s.call(
                Method::PUT,
                &format!("/api/v1/conversations/{cid}/labels"),
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    let (status, c) = put(c1.clone(), json!({"labels": ["vip", " Доставка "]})).await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["labels"], json!(["vip", "Доставка"]));
    // The same label in another case keeps the spelling in use.
    let (_, c) = put(
        c2.clone(),
        json!({"labels": ["VIP", "доставка", "ДОСТАВКА"]}),
    )
    .await;
    assert_eq!(c["labels"], json!(["vip", "Доставка"]));

    for (labels, field) in [
        (json!(["ok", "  "]), "labels[1]"),
        (json!(["x".repeat(33)]), "labels[0]"),
        (json!(["ok", "bad\u{7}"]), "labels[1]"),
        (
            json!((0..21).map(|i| format!("l{i}")).collect::<Vec<_>>()),
            "labels",
        ),
    ] {
        let (status, body) = put(c1.clone(), json!({"labels": labels})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], field, "{body}");
    }

    // Filtering by label is case-insensitive; the label list shows visible chats only.
    let (_, list) = s
        .get("/api/v1/conversations?label=ДОСТАВКА", &ivan.token)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    put(c2.clone(), json!({"labels": ["возврат"]})).await;
    let (_, list) = s.get("/api/v1/conversations?label=vip", &ivan.token).await;
    assert_eq!(ids(list.as_array().unwrap()), vec![c1.clone()]);
    let (_, labels) = s.get("/api/v1/labels", &ivan.token).await;
    assert_eq!(labels, json!(["vip", "возврат", "Доставка"]));
    let (_, labels) = s.get("/api/v1/labels", &outsider.token).await;
    assert_eq!(labels, json!([]));
    let (status, _) = put(c1.clone(), json!({"labels": []})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .call(
            Method::PUT,
            &format!("/api/v1/conversations/{c1}/labels"),
            Some(&outsider.token),
            Some(json!({"labels": ["x"]})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn socket(
    s: &Srv,
    token: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!(
        "{}/api/v1/events/ws?token={token}",
        s.base.replacen("http://", "ws://", 1)
    );
    connect_async(url).await.expect("websocket connects").0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observers_may_write_and_leave_but_not_close_or_transfer() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    let petr = s.person("petr", "employee", None).await;
    let ch = s.channel("po", "manual", &[&ivan]).await;
    s.channel("po2", "manual", &[&petr]).await;
    let c = s.client_says(&ch, "po", "79003330001", "Помогите").await;
    let cid = id(&c);
    let path = |tail: &str| format!("/api/v1/conversations/{cid}{tail}");
    s.ok(
        Method::POST,
        &path("/assign"),
        &s.admin,
        Some(json!({"employee_id": ivan.id})),
    )
    .await;
    assert_eq!(s.get(&path(""), &petr.token).await.0, StatusCode::NOT_FOUND);

    // Ivan mentions Petr by name: Petr observes the chat and is notified.
    let (status, note) = s
        .post(
            &path("/notes"),
            &ivan.token,
            json!({"text": "@Petr, глянь, пожалуйста"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    assert_eq!(note["mentions"], json!([petr.id]));
    let (status, seen) = s.get(&path(""), &petr.token).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["observer_ids"], json!([petr.id]));
    assert_eq!(seen["can_manage"], false, "{seen}");
    let (_, notes) = s.get("/api/v1/notifications", &petr.token).await;
    let mention = notes
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["reason"] == "mention")
        .unwrap_or_else(|| panic!("no mention notification: {notes}"));
    assert_eq!(mention["conversation_id"], cid.as_str());
    assert_eq!(mention["employee_id"], ivan.id.as_str());
    assert!(
        mention["text"].as_str().unwrap().contains("глянь"),
        "{mention}"
    );
    for (scope, listed) in [("observing", true), ("all", true), ("mine", false)] {
        let (_, list) = s
            .get(&format!("/api/v1/conversations?scope={scope}"), &petr.token)
            .await;
        assert_eq!(
            ids(list.as_array().unwrap()).contains(&cid),
            listed,
            "{scope}"
        );
    }
    let (_, list) = s
        .get("/api/v1/conversations?scope=observing", &ivan.token)
        .await;
    assert_eq!(list, json!([]), "ivan observes nothing");

    // Live events of the observed chat reach Petr.
    let mut ws = socket(&s, &petr.token).await;
    s.client_says(&ch, "po", "79003330001", "Есть кто?").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next()).await;
        let Ok(Some(Ok(Message::Text(text)))) = next else {
            panic!("no live message.created for the observer");
        };
        let event: Value = serde_json::from_str(text.as_str()).unwrap();
        if event["type"] == "message.created" && event["data"]["conversation_id"] == cid.as_str() {
            break;
        }
    }

    // Petr may write notes and messages, may not close or transfer.
    let (status, body) = s
        .post(&path("/notes"), &petr.token, json!({"text": "Смотрю"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = s
        .post(
            &path("/messages"),
            &petr.token,
            json!({"text": "Здравствуйте!"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = s.post(&path("/close"), &petr.token, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = s
        .post(
            &path("/assign"),
            &petr.token,
            json!({"employee_id": petr.id}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, still) = s.get(&path(""), &s.admin).await;
    assert_eq!(still["assignee_id"], ivan.id.as_str());
    assert_eq!(still["status"], "open");
    assert_eq!(still["can_manage"], true, "{still}");

    // In a queued chat the first reply would take it: an observer may add notes,
    // not reply, and the chat stays in the queue.
    let queued = id(&s.client_says(&ch, "po", "79003330002", "Алло").await);
    let qpath = |tail: &str| format!("/api/v1/conversations/{queued}{tail}");
    let (status, body) = s
        .post(
            &qpath("/notes"),
            &ivan.token,
            json!({"text": "@Petr посмотри"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = s
        .post(&qpath("/messages"), &petr.token, json!({"text": "Беру"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = s
        .post(&qpath("/notes"), &petr.token, json!({"text": "Смотрю"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, still) = s.get(&qpath(""), &s.admin).await;
    assert_eq!(still["assignee_id"], Value::Null, "{still}");
    assert_eq!(s.get(&qpath(""), &ivan.token).await.0, StatusCode::OK);

    // Leaving ends it: 404 afterwards, and a second leave is 404 too.
    let resp = s
        .raw(Method::POST, &path("/leave"), Some(&petr.token), None)
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.get(&path(""), &petr.token).await.0, StatusCode::NOT_FOUND);
    let resp = s
        .raw(Method::POST, &path("/leave"), Some(&petr.token), None)
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Ivan does not observe his own chat: leave is 404 for him.
    let resp = s
        .raw(Method::POST, &path("/leave"), Some(&ivan.token), None)
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // Mentioning the assignee or an unknown id: no observer; unknown is a 422.
    let (_, note) = s
        .post(
            &path("/notes"),
            &s.admin,
            json!({"text": "@ivan ok", "mentions": []}),
        )
        .await;
    assert_eq!(note["mentions"], json!([ivan.id]));
    let (_, c) = s.get(&path(""), &s.admin).await;
    assert_eq!(c["observer_ids"], json!([]));
    let (status, body) = s
        .post(
            &path("/notes"),
            &s.admin,
            json!({"text": "x", "mentions": [petr.id, "424242"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "mentions[1]");
}

async fn group(s: &Srv, name: &str, members: &[&Person]) -> String {
    let ids: Vec<&str> = members.iter().map(|p| p.id.as_str()).collect();
    let g = s
        .ok(
            Method::POST,
            "/api/v1/groups",
            &s.admin,
            Some(json!({"name": name, "employee_ids": ids})),
        )
        .await;
    id(&g)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_to_a_group_with_a_comment() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    let maria = s.person("maria", "employee", None).await;
    let outsider = s.person("olga", "employee", None).await;
    let ch = s.channel("pt", "manual", &[&ivan, &maria]).await;
    let support = group(&s, "Поддержка", &[&ivan, &maria]).await;
    let elsewhere = group(&s, "Чужие", &[&outsider]).await;
    let c1 = id(&s.client_says(&ch, "pt", "79004440001", "Вопрос").await);
    let c2 = id(&s.client_says(&ch, "pt", "79004440002", "Ещё вопрос").await);

    let (status, c) = s
        .post(
            &format!("/api/v1/conversations/{c1}/assign"),
            &s.admin,
            json!({"group_id": support, "comment": "Клиент VIP, ответьте быстро"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    let first = c["assignee_id"].as_str().unwrap().to_owned();
    assert!(first == ivan.id || first == maria.id, "{c}");
    assert_eq!(c["status_label"], "in_progress");
    let (_, msgs) = s
        .get(&format!("/api/v1/conversations/{c1}/messages"), &s.admin)
        .await;
    let note = msgs
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "note")
        .unwrap_or_else(|| panic!("no comment note: {msgs}"));
    assert_eq!(note["text"], "Клиент VIP, ответьте быстро");
    assert_eq!(note["employee_id"], s.admin_id.as_str());
    let (_, events) = s
        .get(&format!("/api/v1/conversations/{c1}/events"), &s.admin)
        .await;
    let events = events.as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let note_at = kinds.iter().position(|k| *k == "note").expect("note event");
    let transferred = kinds
        .iter()
        .position(|k| *k == "transferred")
        .expect("transferred");
    assert!(note_at < transferred, "{kinds:?}");
    let t = &events[transferred]["data"];
    assert_eq!(t["group_id"], support.as_str());
    assert_eq!(t["to"], first.as_str());
    assert_eq!(t["from"], Value::Null);
    assert_eq!(t["comment"], "Клиент VIP, ответьте быстро");

    // Round robin: the next chat goes to the other, less loaded member.
    let c = s
        .ok(
            Method::POST,
            &format!("/api/v1/conversations/{c2}/assign"),
            &s.admin,
            Some(json!({"group_id": support})),
        )
        .await;
    assert_ne!(c["assignee_id"], first.as_str(), "{c}");

    // The assignee may pass it on; then it is no longer theirs to see.
    let holder = if first == ivan.id { &ivan } else { &maria };
    let other = if first == ivan.id { &maria } else { &ivan };
    let (status, c) = s
        .post(
            &format!("/api/v1/conversations/{c1}/assign"),
            &holder.token,
            json!({"employee_id": other.id, "comment": "Передаю"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["assignee_id"], other.id.as_str());

    for (body, field) in [
        (
            json!({"group_id": support, "employee_id": ivan.id}),
            "group_id",
        ),
        (json!({"group_id": "999999"}), "group_id"),
        (json!({"group_id": elsewhere}), "group_id"),
        (json!({"employee_id": outsider.id}), "employee_id"),
        (json!({"employee_id": null, "comment": ""}), "comment"),
    ] {
        let (status, err) = s
            .post(
                &format!("/api/v1/conversations/{c2}/assign"),
                &s.admin,
                body.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        assert_eq!(err["error"]["field"], field, "{body}: {err}");
    }
    // Back to the queue.
    let c = s
        .ok(
            Method::POST,
            &format!("/api/v1/conversations/{c2}/assign"),
            &s.admin,
            Some(json!({"employee_id": null})),
        )
        .await;
    assert_eq!(c["assignee_id"], Value::Null);
    assert_eq!(c["status_label"], "queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contacts_conversations_oldest_first_for_who_may_see_them() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    let olga = s.person("olga", "employee", None).await;
    let ch = s.channel("ph", "manual", &[&ivan]).await;
    let first = s.client_says(&ch, "ph", "79005550001", "Первый раз").await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{}/close", id(&first)),
        &s.admin,
        None,
    )
    .await;
    // Past the reopen window (an hour by default), within the sessions' lifetime.
    s.advance(2 * 24 * 3600).await;
    s.client_says(&ch, "ph", "79005550001", "Снова я").await;
    let second = conversation_of(&s, &ch, "79005550001").await;
    assert_ne!(
        id(&second),
        id(&first),
        "a new conversation after the reopen window"
    );
    let contact = first["contact"]["id"].as_str().unwrap();
    let path = format!("/api/v1/contacts/{contact}/conversations");
    let (status, list) = s.get(&path, &ivan.token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids(list.as_array().unwrap()), vec![id(&first), id(&second)]);
    assert_eq!(list[0]["status_label"], "closed");
    assert_eq!(list[0]["last_message"]["text"], "Первый раз");
    assert_eq!(s.get(&path, &olga.token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        s.get("/api/v1/contacts/999999/conversations", &s.admin)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}
