//! Issue 9, sessions and access: the login limit under concurrency, login timing,
//! the last admin under concurrent demotions, revocation on a password change,
//! live sockets that re-check their caller, WebSocket origins, JSON content types,
//! the admin-only manual clock and colleagues' contact details.

mod support;

use futures_util::StreamExt;
use futures_util::future::join_all;
use replyline_whatsapp::reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{Person, Srv};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A socket must notice a revoked session within this long (re-checks every 2 s).
const CLOSE_WITHIN: Duration = Duration::from_secs(6);

fn ws_url(s: &Srv, query: &str) -> String {
    format!(
        "{}/api/v1/events/ws{query}",
        s.base.replacen("http://", "ws://", 1)
    )
}

async fn socket(s: &Srv, token: &str) -> Socket {
    connect_async(ws_url(s, &format!("?token={token}")))
        .await
        .expect("websocket connects")
        .0
}

/// Opens the socket with extra headers; the HTTP status of a refused upgrade.
async fn socket_with(s: &Srv, query: &str, headers: &[(&str, &str)]) -> Result<Socket, u16> {
    let mut request = ws_url(s, query).into_client_request().unwrap();
    for (name, value) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    match connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(other) => panic!("websocket: {other}"),
    }
}

/// Whether the server closes the socket within [`CLOSE_WITHIN`] (close frame or end).
async fn closes(socket: &mut Socket) -> bool {
    let deadline = tokio::time::Instant::now() + CLOSE_WITHIN;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return false,
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// Text events read until one satisfies `want` (10 s at most).
async fn until(socket: &mut Socket, want: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next()).await;
        let Ok(Some(Ok(message))) = next else {
            panic!("no matching event within 10 s; got {seen:?}");
        };
        if let Message::Text(text) = message {
            let event: Value = serde_json::from_str(text.as_str()).unwrap();
            let done = want(&event);
            seen.push(event);
            if done {
                return seen;
            }
        }
    }
}

/// The id of the token a request authenticates with.
async fn token_id(s: &Srv, token: &str) -> String {
    let (status, list) = s.get("/api/v1/tokens", token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let current = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["current"] == true)
        .expect("the current token is listed");
    current["id"].as_str().unwrap().to_owned()
}

/// An API token (not a login session) of the caller.
async fn api_token(s: &Srv, token: &str) -> String {
    let (status, t) = s
        .post("/api/v1/tokens", token, json!({"label": "integration"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    t["token"].as_str().unwrap().to_owned()
}

async fn me_status(s: &Srv, token: &str) -> StatusCode {
    s.get("/api/v1/me", token).await.0
}

// --- 3. the login limit under concurrency ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_concurrent_wrong_passwords_are_checked_at_most_five_times() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    let attempts = (0..40).map(|_| s.login(&ivan.email, "wrong-password"));
    let statuses: Vec<StatusCode> = join_all(attempts)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        checked <= 5,
        "{checked} passwords were checked: {statuses:?}"
    );
    assert_eq!(checked + limited, 40, "{statuses:?}");
    // Blocked now, even with the right password.
    let (status, body) = s.login(&ivan.email, &ivan.password).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_login_forgets_the_earlier_attempts() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    for _ in 0..4 {
        assert_eq!(
            s.login(&ivan.email, "wrong").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(s.login(&ivan.email, &ivan.password).await.0, StatusCode::OK);
    for _ in 0..4 {
        assert_eq!(
            s.login(&ivan.email, "wrong").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(s.login(&ivan.email, &ivan.password).await.0, StatusCode::OK);
}

// --- 8. login timing ---

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_password_less_accounts_cost_as_much_as_a_wrong_password() {
    let s = Srv::start().await;
    let known = [
        s.person("ivan", "employee", None).await,
        s.person("olga", "employee", None).await,
    ];
    s.ok(
        Method::POST,
        "/api/v1/employees",
        &s.admin,
        Some(json!({"name": "nopass", "email": "nopass@example.com", "role": "employee"})),
    )
    .await;
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    // Interleaved, so load on the machine hits both alike.
    for round in 0..6 {
        let started = Instant::now();
        let (status, _) = s.login(&known[round % 2].email, "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        wrong.push(started.elapsed());
        let email = if round % 3 == 0 {
            "nopass@example.com".to_owned()
        } else {
            format!("nobody{round}@example.com")
        };
        let started = Instant::now();
        let (status, _) = s.login(&email, "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        unknown.push(started.elapsed());
    }
    let (wrong, unknown) = (median(wrong), median(unknown));
    assert!(
        unknown * 3 >= wrong,
        "an unknown e-mail answers in {unknown:?}, a wrong password in {wrong:?}"
    );
}

// --- 4. the last admin ---

async fn patch_employee(s: &Srv, token: &str, id: &str, body: Value) -> StatusCode {
    s.call(
        Method::PATCH,
        &format!("/api/v1/employees/{id}"),
        Some(token),
        Some(body),
    )
    .await
    .0
}

async fn active_admins(s: &Srv, token: &str) -> Vec<String> {
    let (status, list) = s.get("/api/v1/employees", token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["role"] == "admin" && e["active"] == true)
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Two admins and no other: each demotes (or deactivates) the other at the same
/// time, many times over; exactly one wins each round and an admin remains.
async fn race_two_admins(change: Value) {
    let s = Srv::start().await;
    let a = s.person("anna", "admin", None).await;
    let b = s.person("boris", "admin", None).await;
    assert_eq!(
        patch_employee(&s, &a.token, &s.admin_id, json!({"role": "employee"})).await,
        StatusCode::OK
    );
    let (mut a, mut b): (Person, Person) = (a, b);
    for round in 0..8 {
        let (ra, rb) = tokio::join!(
            patch_employee(&s, &a.token, &b.id, change.clone()),
            patch_employee(&s, &b.token, &a.id, change.clone()),
        );
        let wins = [ra, rb].iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(wins, 1, "round {round}: {ra} {rb}");
        let (winner, loser) = if ra == StatusCode::OK {
            (&a, &b)
        } else {
            (&b, &a)
        };
        let admins = active_admins(&s, &winner.token).await;
        assert_eq!(admins, vec![winner.id.clone()], "round {round}: {ra} {rb}");
        // 409 from the guard, or 401 / 403 when the loser was already changed.
        let refused = if ra == StatusCode::OK { rb } else { ra };
        assert!(
            [
                StatusCode::CONFLICT,
                StatusCode::UNAUTHORIZED,
                StatusCode::FORBIDDEN
            ]
            .contains(&refused),
            "round {round}: {refused}"
        );
        // Back to two admins for the next round.
        let restore = json!({"role": "admin", "active": true, "password": loser.password});
        assert_eq!(
            patch_employee(&s, &winner.token, &loser.id, restore).await,
            StatusCode::OK
        );
        let (status, login) = s.login(&loser.email, &loser.password).await;
        assert_eq!(status, StatusCode::OK, "{login}");
        let token = login["token"].as_str().unwrap().to_owned();
        if loser.id == a.id {
            a.token = token;
        } else {
            b.token = token;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_demotions_leave_an_admin() {
    race_two_admins(json!({"role": "manager"})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_deactivations_leave_an_admin() {
    race_two_admins(json!({"active": false})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_admin_cannot_be_deactivated_or_demoted() {
    let s = Srv::start().await;
    let a = s.person("anna", "admin", None).await;
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/employees/{}", s.admin_id),
            Some(&a.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/employees/{}", a.id),
            Some(&a.token),
            Some(json!({"role": "employee"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(active_admins(&s, &a.token).await, vec![a.id.clone()]);
}

// --- 5. revocation on a password change ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_password_change_keeps_this_session_and_revokes_the_others() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    let (_, other) = s.login(&ivan.email, &ivan.password).await;
    let other = other["token"].as_str().unwrap().to_owned();
    let integration = api_token(&s, &ivan.token).await;
    let (status, body) = s
        .call(
            Method::PATCH,
            "/api/v1/me",
            Some(&ivan.token),
            Some(json!({"password": "new-password-1", "current_password": ivan.password})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(me_status(&s, &ivan.token).await, StatusCode::OK);
    assert_eq!(me_status(&s, &other).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&s, &integration).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        s.login(&ivan.email, "new-password-1").await.0,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_password_reset_revokes_every_token() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    let integration = api_token(&s, &ivan.token).await;
    assert_eq!(
        patch_employee(
            &s,
            &s.admin,
            &ivan.id,
            json!({"password": "reset-password-1"})
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(me_status(&s, &ivan.token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&s, &integration).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&s, &s.admin).await, StatusCode::OK);
    // Changing anything else revokes nothing.
    let (_, login) = s.login(&ivan.email, "reset-password-1").await;
    let token = login["token"].as_str().unwrap().to_owned();
    assert_eq!(
        patch_employee(&s, &s.admin, &ivan.id, json!({"name": "Иван"})).await,
        StatusCode::OK
    );
    assert_eq!(me_status(&s, &token).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sessions_expire_on_the_service_clock_but_api_tokens_do_not() {
    let s = Srv::start().await;
    let api = api_token(&s, &s.admin).await;
    let ivan = s.person("ivan", "employee", None).await;
    let advance = |seconds: i64| {
        s.call(
            Method::POST,
            "/api/v1/clock/advance",
            Some(&api),
            Some(json!({"seconds": seconds})),
        )
    };
    // Default idle timeout: 7 days. Used every 6 days it lives on...
    for _ in 0..4 {
        assert_eq!(advance(6 * 86400).await.0, StatusCode::OK);
        assert_eq!(me_status(&s, &ivan.token).await, StatusCode::OK);
    }
    // ...until 30 days after the login.
    assert_eq!(advance(6 * 86400 + 1).await.0, StatusCode::OK);
    assert_eq!(me_status(&s, &ivan.token).await, StatusCode::UNAUTHORIZED);
    // A fresh one idles out after 7 days; the cookie form too.
    let (_, login) = s.login(&ivan.email, &ivan.password).await;
    let fresh = login["token"].as_str().unwrap().to_owned();
    assert_eq!(advance(7 * 86400).await.0, StatusCode::OK);
    assert_eq!(me_status(&s, &fresh).await, StatusCode::UNAUTHORIZED);
    let by_cookie = s
        .http
        .get(s.url("/api/v1/me"))
        .header(header::COOKIE, format!("replyline_session={fresh}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), StatusCode::UNAUTHORIZED);
    // The admin's API token still works after 55 days.
    assert_eq!(me_status(&s, &api).await, StatusCode::OK);
}

// --- 2. live sockets re-check their caller ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_socket_closes_on_logout_revocation_deactivation_and_expiry() {
    let s = Srv::start().await;
    let api = api_token(&s, &s.admin).await;
    let ivan = s.person("ivan", "employee", None).await;

    let mut ws = socket(&s, &ivan.token).await;
    let (status, _) = s
        .call(Method::POST, "/api/v1/auth/logout", Some(&ivan.token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(closes(&mut ws).await, "the socket outlived a logout");

    let (_, login) = s.login(&ivan.email, &ivan.password).await;
    let token = login["token"].as_str().unwrap().to_owned();
    let mut ws = socket(&s, &token).await;
    let id = token_id(&s, &token).await;
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(closes(&mut ws).await, "the socket outlived a revocation");

    let (_, login) = s.login(&ivan.email, &ivan.password).await;
    let token = login["token"].as_str().unwrap().to_owned();
    let mut ws = socket(&s, &token).await;
    let (_, login) = s.login(&ivan.email, &ivan.password).await;
    let later = login["token"].as_str().unwrap().to_owned();
    let mut later_ws = socket(&s, &later).await;
    assert_eq!(
        s.call(
            Method::POST,
            "/api/v1/clock/advance",
            Some(&api),
            Some(json!({"seconds": 7 * 86400 + 60})),
        )
        .await
        .0,
        StatusCode::OK
    );
    assert!(closes(&mut ws).await, "the socket outlived its session");
    assert!(
        closes(&mut later_ws).await,
        "the socket outlived its session"
    );

    let (_, login) = s.login(&ivan.email, &ivan.password).await;
    let token = login["token"].as_str().unwrap().to_owned();
    let mut ws = socket(&s, &token).await;
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/employees/{}", ivan.id),
            Some(&api),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(closes(&mut ws).await, "the socket outlived a deactivation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demoted_admin_stops_seeing_other_channels_events_at_once() {
    let s = Srv::start().await;
    let boss = s.person("boss", "admin", None).await;
    let theirs = s.channel("100", "manual", &[]).await;
    let own = s.channel("200", "manual", &[&boss]).await;
    let mut ws = socket(&s, &boss.token).await;
    // As an admin they see the channel they do not work.
    s.client_says(&theirs, "100", "79000000001", "first").await;
    until(&mut ws, |e| e["type"] == "message.created").await;

    assert_eq!(
        patch_employee(&s, &s.admin, &boss.id, json!({"role": "employee"})).await,
        StatusCode::OK
    );
    let hidden = s
        .client_says(&theirs, "100", "79000000002", "not for boss")
        .await;
    let shown = s.client_says(&own, "200", "79000000003", "for boss").await;
    let hidden = hidden["id"].as_str().unwrap().to_owned();
    let shown = shown["id"].as_str().unwrap().to_owned();
    let seen = until(&mut ws, |e| e["data"]["conversation_id"] == shown.as_str()).await;
    assert!(
        seen.iter()
            .all(|e| e["data"]["conversation_id"] != hidden.as_str()),
        "a demoted admin still received another channel's events: {seen:#?}"
    );
}

// --- 9. WebSocket origins ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_websocket_must_come_from_this_origin() {
    let s = Srv::start().await;
    let cookie = format!("replyline_session={}", s.admin);
    let host = s.base.trim_start_matches("http://").to_owned();
    let refused = socket_with(
        &s,
        "",
        &[("cookie", &cookie), ("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(refused.err(), Some(403));
    let refused = socket_with(&s, "", &[("cookie", &cookie)]).await;
    assert_eq!(refused.err(), Some(403), "no Origin with a cookie");
    let own = socket_with(&s, "", &[("cookie", &cookie), ("origin", &s.base)]).await;
    assert!(own.is_ok(), "same origin: {:?}", own.err());
    let by_host = format!("http://{host}");
    assert!(
        socket_with(&s, "", &[("cookie", &cookie), ("origin", &by_host)])
            .await
            .is_ok()
    );
    // Bearer tokens are not sent by browsers on their own: any origin.
    let bearer = socket_with(
        &s,
        &format!("?token={}", s.admin),
        &[("origin", "https://evil.example")],
    )
    .await;
    assert!(bearer.is_ok(), "bearer: {:?}", bearer.err());
}

// --- 10. JSON bodies need the JSON content type ---

async fn login_as(s: &Srv, content_type: Option<&str>) -> (StatusCode, Value) {
    let body = json!({"email": "admin@example.com", "password": "admin-password"}).to_string();
    let mut req = s.http.post(s.url("/api/v1/auth/login")).body(body);
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_endpoints_refuse_other_content_types_with_415() {
    let s = Srv::start().await;
    for ct in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let (status, body) = login_as(&s, ct).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}: {body}");
        assert_eq!(body["error"]["code"], "unsupported_media_type", "{body}");
        assert!(body.get("token").is_none());
    }
    for ct in ["application/json", "application/json; charset=utf-8"] {
        assert_eq!(login_as(&s, Some(ct)).await.0, StatusCode::OK, "{ct}");
    }
    let resp = s
        .http
        .post(s.url("/api/v1/employees"))
        .bearer_auth(&s.admin)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(json!({"name": "x", "email": "x@example.com", "role": "employee"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let doc: Value = s
        .http
        .get(s.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let login = &doc["paths"]["/api/v1/auth/login"]["post"]["responses"];
    assert!(login["415"].is_object(), "{login}");
}

// --- 14. the manual clock, contact details, limits ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_may_advance_the_manual_clock() {
    let s = Srv::start().await;
    for role in ["employee", "manager"] {
        let p = s.person(role, role, None).await;
        let (status, body) = s
            .post("/api/v1/clock/advance", &p.token, json!({"seconds": 60}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let (status, body) = s
        .post("/api/v1/clock/advance", &s.admin, json!({"seconds": 60}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn find<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("{id} not listed"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colleagues_contact_details_are_for_admins_and_managers_above() {
    let s = Srv::start().await;
    let olga = s.person("olga", "manager", None).await;
    let ivan = s.person("ivan", "employee", Some(&olga.id)).await;
    let petr = s.person("petr", "employee", None).await;
    let tg = json!({"telegram_chat_id": "123456789"});
    for p in [&olga, &ivan, &petr] {
        assert_eq!(
            patch_employee(&s, &s.admin, &p.id, tg.clone()).await,
            StatusCode::OK
        );
    }
    let (_, list) = s.get("/api/v1/employees", &petr.token).await;
    for other in [&olga, &ivan] {
        let e = find(&list, &other.id);
        assert!(e["email"].is_null(), "petr sees {e}");
        assert!(e["telegram_chat_id"].is_null(), "petr sees {e}");
        assert!(e["name"].is_string());
    }
    let me = find(&list, &petr.id);
    assert_eq!(me["email"], petr.email.as_str());
    assert_eq!(me["telegram_chat_id"], "123456789");
    let (_, one) = s
        .get(&format!("/api/v1/employees/{}", olga.id), &ivan.token)
        .await;
    assert!(one["email"].is_null(), "ivan sees his manager's {one}");
    // Olga manages Ivan: she sees his details, not Petr's.
    let (_, list) = s.get("/api/v1/employees", &olga.token).await;
    assert_eq!(find(&list, &ivan.id)["email"], ivan.email.as_str());
    assert!(find(&list, &petr.id)["email"].is_null());
    let (_, one) = s
        .get(&format!("/api/v1/employees/{}", ivan.id), &olga.token)
        .await;
    assert_eq!(one["telegram_chat_id"], "123456789");
    let (_, list) = s.get("/api/v1/employees", &s.admin).await;
    assert_eq!(find(&list, &petr.id)["email"], petr.email.as_str());
    // The OpenAPI document says so.
    let (_, doc) = s.get("/api/openapi.json", &s.admin).await;
    let view = &doc["components"]["schemas"]["EmployeeView"];
    assert!(
        view["properties"]["email"].to_string().contains("null"),
        "{view}"
    );
    let list = &doc["paths"]["/api/v1/employees"]["get"]["responses"]["200"];
    assert!(list.to_string().contains("EmployeeView"), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_bytes_in_names_and_long_telegram_ids_are_422() {
    let s = Srv::start().await;
    let ivan = s.person("ivan", "employee", None).await;
    let cases = [
        json!({"name": "Ив\u{0}ан"}),
        json!({"display_name": "a\u{0}"}),
        json!({"telegram_chat_id": "1".repeat(65)}),
        json!({"telegram_chat_id": ""}),
        json!({"telegram_chat_id": "12 34"}),
    ];
    for body in cases {
        let (status, err) = s
            .call(
                Method::PATCH,
                &format!("/api/v1/employees/{}", ivan.id),
                Some(&s.admin),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        let field = body.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(err["error"]["field"], field.as_str(), "{err}");
    }
    let (status, err) = s
        .post(
            "/api/v1/employees",
            &s.admin,
            json!({"name": "x\u{0}", "email": "x@example.com", "role": "employee"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (status, err) = s
        .call(
            Method::PATCH,
            "/api/v1/me",
            Some(&ivan.token),
            Some(json!({"display_name": "\u{0}"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(
        patch_employee(
            &s,
            &s.admin,
            &ivan.id,
            json!({"telegram_chat_id": "-1001234567890"})
        )
        .await,
        StatusCode::OK
    );
}
