//! Table-driven authorization matrix: every role × endpoint pair that must be refused
//! (and a few that must be allowed), black-box over HTTP on port 0.
//!
//! Cast: admin; `mgr` manages `emp`; `emp` is a member of channel A; `out` is a member
//! of channel B. Conversations: `ca` (unassigned, A), `cb` (unassigned, B),
//! `ce` (assigned to emp, A).

mod support;

use replyline_whatsapp::reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Srv, id};

struct Case {
    who: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    want: StatusCode,
}

fn case(
    who: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    want: StatusCode,
) -> Case {
    Case {
        who,
        method,
        path,
        body,
        want,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_endpoint_matrix() {
    let s = Srv::start().await;
    let mgr = s.person("mgr", "manager", None).await;
    let emp = s.person("emp", "employee", Some(&mgr.id)).await;
    let out = s.person("out", "employee", None).await;
    let a = s.channel("a", "manual", &[&emp]).await;
    let b = s.channel("b", "manual", &[&out]).await;
    let ca = id(&s.client_says(&a, "a", "7001", "a").await);
    let cb = id(&s.client_says(&b, "b", "7002", "b").await);
    let ce = id(&s.client_says(&a, "a", "7003", "e").await);
    s.ok(
        Method::POST,
        &format!("/api/v1/conversations/{ce}/assign"),
        &s.admin,
        Some(json!({"employee_id": emp.id})),
    )
    .await;
    let admin_token_id = id(&s.ok(Method::GET, "/api/v1/tokens", &s.admin, None).await[0]);

    use StatusCode as S;
    let (get, post, put, patch, delete) = (
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    );
    let text = || Some(json!({"text": "x"}));
    let mut cases = Vec::new();

    // Conversations a role may not see: 404 on every conversation endpoint.
    let hidden = [
        ("emp", &cb),
        ("mgr", &ca),
        ("mgr", &cb),
        ("out", &ca),
        ("out", &ce),
    ];
    for (who, c) in hidden {
        cases.push(case(
            who,
            get.clone(),
            format!("/api/v1/conversations/{c}"),
            None,
            S::NOT_FOUND,
        ));
        cases.push(case(
            who,
            get.clone(),
            format!("/api/v1/conversations/{c}/messages"),
            None,
            S::NOT_FOUND,
        ));
        cases.push(case(
            who,
            get.clone(),
            format!("/api/v1/conversations/{c}/events"),
            None,
            S::NOT_FOUND,
        ));
        cases.push(case(
            who,
            post.clone(),
            format!("/api/v1/conversations/{c}/messages"),
            text(),
            S::NOT_FOUND,
        ));
        cases.push(case(
            who,
            post.clone(),
            format!("/api/v1/conversations/{c}/notes"),
            text(),
            S::NOT_FOUND,
        ));
        cases.push(case(
            who,
            post.clone(),
            format!("/api/v1/conversations/{c}/assign"),
            Some(json!({"employee_id": null})),
            S::NOT_FOUND,
        ));
        cases.push(case(
            who,
            post.clone(),
            format!("/api/v1/conversations/{c}/close"),
            None,
            S::NOT_FOUND,
        ));
    }
    // Channels they do not work: 404; opening a conversation there: 404.
    for (who, ch) in [("emp", &b), ("out", &a), ("mgr", &b)] {
        cases.push(case(
            who,
            get.clone(),
            format!("/api/v1/channels/{ch}"),
            None,
            S::NOT_FOUND,
        ));
        cases.push(case(
            who,
            get.clone(),
            format!("/api/v1/channels/{ch}/settings"),
            None,
            S::NOT_FOUND,
        ));
        cases.push(case(
            who,
            get.clone(),
            format!("/api/v1/channels/{ch}/members"),
            None,
            S::NOT_FOUND,
        ));
        cases.push(case(
            who,
            post.clone(),
            "/api/v1/conversations".into(),
            Some(json!({"channel_id": ch, "contact_address": "7999", "text": "hi"})),
            S::NOT_FOUND,
        ));
    }
    // A manager sees a subordinate's channel but is not a member: may not open chats on it.
    cases.push(case(
        "mgr",
        post.clone(),
        "/api/v1/conversations".into(),
        Some(json!({"channel_id": a, "contact_address": "7999", "text": "hi"})),
        S::FORBIDDEN,
    ));
    // Admin-only endpoints: 403 for managers and employees.
    for who in ["mgr", "emp"] {
        cases.push(case(
            who,
            put.clone(),
            format!("/api/v1/channels/{a}/settings"),
            Some(json!({"greeting": {"enabled": true}})),
            S::FORBIDDEN,
        ));
        cases.push(case(
            who,
            patch.clone(),
            format!("/api/v1/channels/{a}"),
            Some(json!({"routing": "round_robin"})),
            S::FORBIDDEN,
        ));
        cases.push(case(
            who,
            delete.clone(),
            format!("/api/v1/channels/{a}"),
            None,
            S::FORBIDDEN,
        ));
        cases.push(case(
            who,
            put.clone(),
            format!("/api/v1/channels/{a}/members"),
            Some(json!({"employee_ids": []})),
            S::FORBIDDEN,
        ));
        cases.push(case(who, post.clone(), "/api/v1/channels".into(),
            Some(json!({"kind": "whatsapp", "name": "x", "whatsapp": {"phone_number_id": "x", "access_token": "t", "app_secret": "s", "verify_token": "v"}})), S::FORBIDDEN));
        cases.push(case(who, post.clone(), "/api/v1/employees".into(),
            Some(json!({"name": "X", "email": "x@example.com", "role": "admin", "password": "xxxxxxxx1"})), S::FORBIDDEN));
        cases.push(case(
            who,
            patch.clone(),
            format!("/api/v1/employees/{}", out.id),
            Some(json!({"role": "admin"})),
            S::FORBIDDEN,
        ));
        cases.push(case(
            who,
            patch.clone(),
            format!("/api/v1/employees/{}", emp.id),
            Some(json!({"role": "admin"})),
            S::FORBIDDEN,
        ));
        cases.push(case(
            who,
            delete.clone(),
            format!("/api/v1/employees/{}", out.id),
            None,
            S::FORBIDDEN,
        ));
        cases.push(case(
            who,
            get.clone(),
            format!("/api/v1/tokens?employee_id={}", s.admin_id),
            None,
            S::FORBIDDEN,
        ));
        cases.push(case(
            who,
            post.clone(),
            "/api/v1/tokens".into(),
            Some(json!({"employee_id": s.admin_id})),
            S::FORBIDDEN,
        ));
        cases.push(case(
            who,
            delete.clone(),
            format!("/api/v1/tokens/{admin_token_id}"),
            None,
            S::NOT_FOUND,
        ));
    }
    // Transfers to someone outside the channel: 422.
    cases.push(case(
        "emp",
        post.clone(),
        format!("/api/v1/conversations/{ca}/assign"),
        Some(json!({"employee_id": out.id})),
        S::UNPROCESSABLE_ENTITY,
    ));
    // Unauthenticated: 401 everywhere.
    for (m, p) in [
        (get.clone(), "/api/v1/me".to_owned()),
        (get.clone(), "/api/v1/conversations".into()),
        (get.clone(), format!("/api/v1/conversations/{ca}")),
        (get.clone(), "/api/v1/tokens".into()),
        (post.clone(), "/api/v1/auth/logout".into()),
        (get.clone(), format!("/api/v1/channels/{a}/members")),
        (get.clone(), "/api/v1/employees".into()),
        (get.clone(), "/api/v1/notifications".into()),
    ] {
        cases.push(case("nobody", m, p, None, S::UNAUTHORIZED));
    }
    // Allowed (reads only, so the order of the table does not matter).
    for (who, path) in [
        ("emp", format!("/api/v1/conversations/{ca}")),
        ("emp", format!("/api/v1/conversations/{ce}")),
        ("emp", format!("/api/v1/conversations/{ce}/events")),
        ("emp", format!("/api/v1/channels/{a}/settings")),
        ("emp", format!("/api/v1/channels/{a}/members")),
        ("emp", "/api/v1/employees".into()),
        ("mgr", format!("/api/v1/conversations/{ce}")),
        ("mgr", format!("/api/v1/conversations/{ce}/messages")),
        ("mgr", format!("/api/v1/channels/{a}")),
        ("out", format!("/api/v1/conversations/{cb}")),
        ("admin", format!("/api/v1/conversations/{ca}")),
        ("admin", format!("/api/v1/conversations/{cb}")),
        ("admin", format!("/api/v1/tokens?employee_id={}", emp.id)),
    ] {
        cases.push(case(who, get.clone(), path, None, S::OK));
    }

    let mut failures = Vec::new();
    for c in &cases {
        let token = match c.who {
            "admin" => Some(s.admin.as_str()),
            "mgr" => Some(mgr.token.as_str()),
            "emp" => Some(emp.token.as_str()),
            "out" => Some(out.token.as_str()),
            _ => None,
        };
        let (status, body) = s
            .call(c.method.clone(), &c.path, token, c.body.clone())
            .await;
        if status != c.want {
            failures.push(format!(
                "{} {} {}: want {}, got {status} {body}",
                c.who, c.method, c.path, c.want
            ));
        } else if status.is_client_error() && status != S::UNPROCESSABLE_ENTITY {
            let code = body["error"]["code"].as_str().unwrap_or_default();
            let expected = match status {
                S::NOT_FOUND => "not_found",
                S::FORBIDDEN => "forbidden",
                S::UNAUTHORIZED => "unauthorized",
                _ => code,
            };
            if code != expected {
                failures.push(format!(
                    "{} {} {}: error code {code:?}",
                    c.who, c.method, c.path
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    // The list is filtered the same way.
    let ids = |v: Value| -> Vec<String> { v.as_array().unwrap().iter().map(id).collect() };
    let mut emp_sees = ids(s
        .ok(Method::GET, "/api/v1/conversations", &emp.token, None)
        .await);
    emp_sees.sort();
    let mut want = vec![ca.clone(), ce.clone()];
    want.sort();
    assert_eq!(emp_sees, want);
    assert_eq!(
        ids(s
            .ok(Method::GET, "/api/v1/conversations", &mgr.token, None)
            .await),
        vec![ce.clone()]
    );
    assert_eq!(
        ids(s
            .ok(Method::GET, "/api/v1/conversations", &out.token, None)
            .await),
        vec![cb.clone()]
    );
    assert_eq!(
        ids(s
            .ok(Method::GET, "/api/v1/conversations", &s.admin, None)
            .await)
        .len(),
        3
    );
    // Nothing refused above changed anything.
    let c = s
        .ok(
            Method::GET,
            &format!("/api/v1/conversations/{cb}"),
            &s.admin,
            None,
        )
        .await;
    assert_eq!(c["status"], "open");
    assert!(c["assignee_id"].is_null());
    let ch = s
        .ok(
            Method::GET,
            &format!("/api/v1/channels/{a}"),
            &s.admin,
            None,
        )
        .await;
    assert_eq!(ch["routing"], "manual");
}
