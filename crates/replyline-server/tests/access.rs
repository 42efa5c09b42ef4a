//! Access control and routing through HTTP on port 0 (real SQLite, manual clock):
//! cookie sessions and CSRF, login rate limiting, tokens, deactivation, the manager
//! chain, channel isolation, round robin and sticky routing, transfers.

mod support;

use replyline_whatsapp::reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use support::{Srv, id};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_session_csrf_and_logout() {
    let s = Srv::start().await;
    let resp = s
        .raw(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "admin@example.com", "password": "admin-password"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("replyline_session=rl_"), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();

    let with_cookie = |m: Method, path: &str| {
        s.http
            .request(m, s.url(path))
            .header(header::COOKIE, pair.clone())
    };
    // Safe methods work with the cookie alone.
    let me = with_cookie(Method::GET, "/api/v1/me").send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    // Unsafe methods need X-Requested-With: replyline.
    let refused = with_cookie(Method::POST, "/api/v1/tokens")
        .json(&json!({"label": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "csrf");
    let refused = with_cookie(Method::PATCH, "/api/v1/me")
        .header("X-Requested-With", "XMLHttpRequest")
        .json(&json!({"online": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let allowed = with_cookie(Method::PATCH, "/api/v1/me")
        .header("X-Requested-With", "replyline")
        .json(&json!({"online": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    let me: Value = allowed.json().await.unwrap();
    assert_eq!(me["online"], false);
    // A bearer token needs no CSRF header.
    let (status, _) = s
        .call(
            Method::PATCH,
            "/api/v1/me",
            Some(&s.admin),
            Some(json!({"online": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Logout revokes the session and clears the cookie.
    let out = with_cookie(Method::POST, "/api/v1/auth/logout")
        .header("X-Requested-With", "replyline")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let cleared = out.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let me = with_cookie(Method::GET, "/api/v1/me").send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    // The other (bearer) session still works.
    assert_eq!(s.get("/api/v1/me", &s.admin).await.0, StatusCode::OK);

    // The OpenAPI document describes the new endpoints.
    let (_, doc) = s.call(Method::GET, "/api/openapi.json", None, None).await;
    for (path, method) in [
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/me", "patch"),
        ("/api/v1/tokens", "get"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/tokens/{id}", "delete"),
        ("/api/v1/channels/{id}/members", "get"),
        ("/api/v1/channels/{id}/members", "put"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_rate_limited_per_email_and_ip() {
    let s = Srv::start().await;
    for _ in 0..5 {
        let (status, _) = s.login("admin@example.com", "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let resp = s
        .raw(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "ADMIN@example.com", "password": "admin-password"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()[header::RETRY_AFTER], "900");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Another e-mail is not affected.
    let (status, _) = s.login("nobody@example.com", "x").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // 10 minutes later: still blocked, Retry-After shrinks.
    s.advance(600).await;
    let resp = s
        .raw(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "admin@example.com", "password": "admin-password"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()[header::RETRY_AFTER], "300");
    s.advance(300).await;
    let (status, _) = s.login("admin@example.com", "admin-password").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_listed_used_and_revoked() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    let created = s
        .ok(
            Method::POST,
            "/api/v1/tokens",
            &ivan.token,
            Some(json!({"label": "CRM"})),
        )
        .await;
    let crm = created["token"].as_str().unwrap().to_owned();
    assert_eq!(created["label"], "CRM");
    assert!(created["last_used_at"].is_null());
    assert_eq!(s.get("/api/v1/me", &crm).await.0, StatusCode::OK);
    let list = s.ok(Method::GET, "/api/v1/tokens", &ivan.token, None).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(
        list.iter().all(|t| t.get("token").is_none()),
        "secrets never listed"
    );
    let login_row = list.iter().find(|t| t["label"] == "login").unwrap();
    assert_eq!(login_row["current"], true);
    let crm_row = list.iter().find(|t| t["label"] == "CRM").unwrap();
    assert_eq!(crm_row["current"], false);
    assert!(crm_row["last_used_at"].is_string(), "{crm_row}");

    // Another employee's tokens: 403 to list, 404 to revoke.
    let admin_tokens = s.ok(Method::GET, "/api/v1/tokens", &s.admin, None).await;
    let admin_token_id = id(&admin_tokens[0]);
    let (status, _) = s
        .get(
            &format!("/api/v1/tokens?employee_id={}", s.admin_id),
            &ivan.token,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{admin_token_id}"),
            Some(&ivan.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Revoke the CRM token: it stops working.
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{}", id(crm_row)),
            Some(&ivan.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/api/v1/me", &crm).await.0, StatusCode::UNAUTHORIZED);

    // The admin lists and revokes ivan's login token.
    let ivans = s
        .ok(
            Method::GET,
            &format!("/api/v1/tokens?employee_id={}", ivan.id),
            &s.admin,
            None,
        )
        .await;
    assert_eq!(ivans.as_array().unwrap().len(), 1);
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{}", id(&ivans[0])),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.get("/api/v1/me", &ivan.token).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn employee_fields_presence_and_manager_cycles() {
    let s = Srv::start().await;
    let olga = s.person("olga", "manager", None).await;
    let ivan = s.person("ivan", "employee", Some(&olga.id)).await;
    let ch = s.channel("main", "manual", &[]).await;
    let e = s
        .ok(
            Method::PATCH,
            &format!("/api/v1/employees/{}", ivan.id),
            &s.admin,
            Some(json!({"display_name": "Ваня", "telegram_chat_id": "42", "channel_ids": [ch]})),
        )
        .await;
    assert_eq!(e["display_name"], "Ваня");
    assert_eq!(e["telegram_chat_id"], "42");
    assert_eq!(e["channel_ids"], json!([ch]));
    assert_eq!(e["online"], true, "logging in marks online: {e}");
    let members = s
        .ok(
            Method::GET,
            &format!("/api/v1/channels/{ch}/members"),
            &s.admin,
            None,
        )
        .await;
    assert_eq!(members["employee_ids"], json!([ivan.id]));
    // Unknown channel → 422.
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/employees/{}", ivan.id),
            Some(&s.admin),
            Some(json!({"channel_ids": ["999"]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "channel_ids");
    // Self-manager and a cycle → 422.
    for (who, manager) in [(&ivan.id, &ivan.id), (&olga.id, &ivan.id)] {
        let (status, body) = s
            .call(
                Method::PATCH,
                &format!("/api/v1/employees/{who}"),
                Some(&s.admin),
                Some(json!({"manager_id": manager})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "manager_id");
    }
    // Own presence, display name and password.
    let me = s
        .ok(
            Method::PATCH,
            "/api/v1/me",
            &ivan.token,
            Some(json!({"online": false, "display_name": "Иван"})),
        )
        .await;
    assert_eq!(me["online"], false);
    assert_eq!(me["display_name"], "Иван");
    let (status, _) = s
        .call(
            Method::PATCH,
            "/api/v1/me",
            Some(&ivan.token),
            Some(json!({"password": "new-password-1", "current_password": "wrong"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    s.ok(
        Method::PATCH,
        "/api/v1/me",
        &ivan.token,
        Some(json!({"password": "new-password-1", "current_password": ivan.password})),
    )
    .await;
    assert_eq!(
        s.login(&ivan.email, "new-password-1").await.0,
        StatusCode::OK
    );
    // Employees may not change their role through /me.
    let (status, _) = s
        .call(
            Method::PATCH,
            "/api/v1/me",
            Some(&ivan.token),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert!(status.is_client_error());
    assert_eq!(
        s.ok(Method::GET, "/api/v1/me", &ivan.token, None).await["role"],
        "employee"
    );
    // Any authenticated call counts as last seen.
    assert!(me["last_seen_at"].is_string(), "{me}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivation_moves_open_chats_to_the_queue() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    let petr = s.person("petr", "employee", None).await;
    let ch = s.channel("main", "manual", &[&ivan, &petr]).await;
    let c = s.client_says(&ch, "main", "7900", "hello").await;
    let cid = id(&c);
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{cid}/assign"),
        &ivan.token,
        Some(json!({"employee_id": ivan.id})),
    )
    .await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{cid}/messages"),
        &ivan.token,
        Some(json!({"text": "hi"})),
    )
    .await;
    // Petr cannot see ivan's chat.
    assert_eq!(
        s.get(&format!("/api/v1/conversations/{cid}"), &petr.token)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let e = s
        .ok(
            Method::DELETE,
            &format!("/api/v1/employees/{}", ivan.id),
            &s.admin,
            None,
        )
        .await;
    assert_eq!(e["active"], false);
    assert_eq!(
        s.get("/api/v1/me", &ivan.token).await.0,
        StatusCode::UNAUTHORIZED
    );
    let c = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{cid}"),
            &s.admin,
            None,
        )
        .await;
    assert!(c["assignee_id"].is_null(), "{c}");
    assert_eq!(c["status"], "open");
    // Back in the queue: petr (a member) sees it now; history is kept.
    let c = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{cid}"),
            &petr.token,
            None,
        )
        .await;
    assert!(c["assignee_id"].is_null());
    let msgs = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{cid}/messages"),
            &petr.token,
            None,
        )
        .await;
    assert!(
        msgs.as_array()
            .unwrap()
            .iter()
            .any(|m| m["employee_id"] == ivan.id.as_str())
    );
    let events = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{cid}/events"),
            &s.admin,
            None,
        )
        .await;
    let text = events.to_string();
    assert!(text.contains("employee_deactivated"), "{text}");
    // Deactivated employees cannot be assigned.
    let (status, _) = s
        .post(
            &format!("/api/v1/conversations/{cid}/assign"),
            &s.admin,
            json!({"employee_id": ivan.id}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_chain_sees_subordinates_transitively_and_employees_stay_in_their_channels() {
    let s = Srv::start().await;
    let top = s.person("top", "manager", None).await;
    let mid = s.person("mid", "manager", Some(&top.id)).await;
    let low = s.person("low", "employee", Some(&mid.id)).await;
    let other_mgr = s.person("other", "manager", None).await;
    let outsider = s.person("outsider", "employee", None).await;
    let a = s.channel("a", "manual", &[&low]).await;
    let b = s.channel("b", "manual", &[&outsider]).await;
    let ca = id(&s.client_says(&a, "a", "7001", "in a").await);
    let cb = id(&s.client_says(&b, "b", "7002", "in b").await);
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{ca}/assign"),
        &low.token,
        Some(json!({"employee_id": low.id})),
    )
    .await;
    for p in [&low, &mid, &top] {
        let (status, _) = s
            .get(&format!("/api/v1/conversations/{ca}"), &p.token)
            .await;
        assert_eq!(status, StatusCode::OK);
        let list = s
            .ok(Method::GET, "/api/v1/conversations", &p.token, None)
            .await;
        let ids: Vec<String> = list.as_array().unwrap().iter().map(id).collect();
        assert_eq!(ids, vec![ca.clone()], "chain member sees exactly the chat");
    }
    let team = s
        .ok(
            Method::GET,
            "/api/v1/conversations?scope=team",
            &top.token,
            None,
        )
        .await;
    assert_eq!(team.as_array().unwrap().len(), 1);
    let mine = s
        .ok(
            Method::GET,
            "/api/v1/conversations?scope=mine",
            &top.token,
            None,
        )
        .await;
    assert!(mine.as_array().unwrap().is_empty());
    // The top manager may act on it (reply).
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{ca}/notes"),
        &top.token,
        Some(json!({"text": "watching"})),
    )
    .await;
    // Another manager and an outsider see nothing of it.
    for p in [&other_mgr, &outsider] {
        assert_eq!(
            s.get(&format!("/api/v1/conversations/{ca}"), &p.token)
                .await
                .0,
            StatusCode::NOT_FOUND
        );
    }
    // The employee can't see other channels' chats, nor change settings.
    for path in [
        format!("/api/v1/conversations/{cb}"),
        format!("/api/v1/conversations/{cb}/messages"),
        format!("/api/v1/conversations/{cb}/events"),
        format!("/api/v1/channels/{b}"),
        format!("/api/v1/channels/{b}/settings"),
    ] {
        assert_eq!(
            s.get(&path, &low.token).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let (status, body) = s
        .call(
            Method::PUT,
            &format!("/api/v1/channels/{a}/settings"),
            Some(&low.token),
            Some(json!({"greeting": {"enabled": true}})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let channels = s
        .ok(Method::GET, "/api/v1/channels", &low.token, None)
        .await;
    let ids: Vec<String> = channels.as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, vec![a.clone()]);
    let list = s
        .ok(Method::GET, "/api/v1/conversations", &outsider.token, None)
        .await;
    let ids: Vec<String> = list.as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, vec![cb.clone()]);
}

async fn assignee(s: &Srv, cid: &str) -> Value {
    s.ok(
        Method::GET,
        &format!("/api/v1/conversations/{cid}"),
        &s.admin,
        None,
    )
    .await["assignee_id"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_is_fair_and_skips_away_members() {
    let s = Srv::start().await;
    let a = s.person("a", "employee", None).await;
    let b = s.person("b", "employee", None).await;
    let c = s.person("c", "employee", None).await;
    let away = s.person("away", "employee", None).await;
    s.ok(
        Method::PATCH,
        "/api/v1/me",
        &away.token,
        Some(json!({"online": false})),
    )
    .await;
    let ch = s.channel("rr", "round_robin", &[&a, &b, &c, &away]).await;
    let mut got = Vec::new();
    for n in 0..3 {
        let conv = s.client_says(&ch, "rr", &format!("71{n}"), "hi").await;
        got.push(conv["assignee_id"].as_str().unwrap().to_owned());
        s.advance(10).await;
    }
    assert_eq!(got, vec![a.id.clone(), b.id.clone(), c.id.clone()]);
    // Everyone has one: the one idle longest (a) is next.
    let fourth = s.client_says(&ch, "rr", "714", "hi").await;
    assert_eq!(fourth["assignee_id"], a.id.as_str());
    s.advance(10).await;
    // a closes the first chat: counts are 1/1/1 again, and b's last assignment is oldest.
    let first = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations?assignee_id={}&status=open", a.id),
            &s.admin,
            None,
        )
        .await;
    let oldest = first.as_array().unwrap().last().unwrap();
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{}/close", id(oldest)),
        &a.token,
        None,
    )
    .await;
    let fifth = s.client_says(&ch, "rr", "715", "hi").await;
    assert_eq!(fifth["assignee_id"], b.id.as_str());
    // The assignment is on the timeline, and the assignee sees it as "mine".
    let events = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{}/events", id(&fifth)),
            &s.admin,
            None,
        )
        .await;
    assert!(events.to_string().contains("round_robin"), "{events}");
    let mine = s
        .ok(
            Method::GET,
            "/api/v1/conversations?scope=mine",
            &b.token,
            None,
        )
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 2);
    // Fewest open chats wins over idle time: c (1 open) vs a (1) vs b (2) → c is idle longer than a.
    let sixth = s.client_says(&ch, "rr", "716", "hi").await;
    assert_eq!(sixth["assignee_id"], c.id.as_str());
    // Nobody away was ever picked; with everyone away the chat stays in the queue.
    for p in [&a, &b, &c] {
        s.ok(
            Method::PATCH,
            "/api/v1/me",
            &p.token,
            Some(json!({"online": false})),
        )
        .await;
    }
    let queued = s.client_says(&ch, "rr", "717", "hi").await;
    assert!(queued["assignee_id"].is_null(), "{queued}");
    let (_, all) = s
        .get(
            &format!("/api/v1/conversations?assignee_id={}", away.id),
            &s.admin,
        )
        .await;
    assert!(all.as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sticky_returns_the_contact_to_the_last_employee() {
    let s = Srv::start().await;
    let a = s.person("a", "employee", None).await;
    let b = s.person("b", "employee", None).await;
    let ch = s.channel("st", "sticky", &[&a, &b]).await;
    // First chat: both idle, tie → lowest id (a); a answers and closes it.
    let first = s.client_says(&ch, "st", "7555", "hi").await;
    assert_eq!(first["assignee_id"], a.id.as_str());
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{}/messages", id(&first)),
        &a.token,
        Some(json!({"text": "hello"})),
    )
    .await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{}/close", id(&first)),
        &a.token,
        None,
    )
    .await;
    // Another contact's chat is given to a, so round robin alone would now pick b.
    let other = s.client_says(&ch, "st", "7666", "hi").await;
    s.advance(10).await;
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{}/assign", id(&other)),
        &s.admin,
        Some(json!({"employee_id": a.id})),
    )
    .await;
    // a: 1 open, b: 0 open — round robin would pick b, sticky picks a.
    let again = s.client_says(&ch, "st", "7555", "me again").await;
    assert_ne!(id(&again), id(&first));
    assert_eq!(again["assignee_id"], a.id.as_str(), "sticky: {again}");
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{}/close", id(&again)),
        &a.token,
        None,
    )
    .await;
    // a goes away: the contact falls back to round robin (b).
    s.ok(
        Method::PATCH,
        "/api/v1/me",
        &a.token,
        Some(json!({"online": false})),
    )
    .await;
    let third = s.client_says(&ch, "st", "7555", "third").await;
    assert_eq!(third["assignee_id"], b.id.as_str());
    let _ = assignee(&s, &id(&third)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_requires_a_channel_member_or_manager() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    let petr = s.person("petr", "employee", None).await;
    let stranger = s.person("stranger", "employee", None).await;
    let boss = s.person("boss", "manager", None).await;
    let ch = s.channel("main", "manual", &[&ivan, &petr]).await;
    let cid = id(&s.client_says(&ch, "main", "7800", "hi").await);
    let path = format!("/api/v1/conversations/{cid}/assign");
    let (status, body) = s
        .post(&path, &ivan.token, json!({"employee_id": stranger.id}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "employee_id");
    let c = s
        .ok(
            Method::POST,
            &path,
            &ivan.token,
            Some(json!({"employee_id": petr.id})),
        )
        .await;
    assert_eq!(c["assignee_id"], petr.id.as_str());
    // Transferred away: ivan no longer sees it.
    assert_eq!(
        s.get(&format!("/api/v1/conversations/{cid}"), &ivan.token)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let c = s
        .ok(
            Method::POST,
            &path,
            &petr.token,
            Some(json!({"employee_id": boss.id})),
        )
        .await;
    assert_eq!(c["assignee_id"], boss.id.as_str());
    assert_eq!(assignee(&s, &cid).await, json!(boss.id));
}
