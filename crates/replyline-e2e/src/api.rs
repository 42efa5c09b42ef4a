//! A thin reqwest client for the `/api/v1` endpoints of API.md and the webhook paths.
//!
//! Every call answers `(StatusCode, serde_json::Value)`; a body that is not
//! JSON comes back as `Value::String(text)`, an empty one as `Value::Null`.

use std::time::Duration;

use reqwest::Method;
pub use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::server::{Clock, parse_rfc3339};
use crate::webhook;

/// A status code with a JSON body.
pub type Resp = (StatusCode, Value);

/// One part of a form: its name, file name, content type and bytes. A part
/// without a file name is a plain field; either header may be left out, to
/// test what the server makes of it.
pub type FormPart<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

/// A `multipart/form-data` body of `parts`, and its `Content-Type`, written
/// by hand so tests can send parts a form library would not.
pub fn multipart_form(parts: &[FormPart<'_>]) -> (Vec<u8>, String) {
    let boundary = "replyline-test-boundary";
    let mut body = Vec::new();
    for (name, file_name, content_type, bytes) in parts {
        let mut head = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"");
        if let Some(f) = file_name {
            head.push_str(&format!("; filename=\"{f}\""));
        }
        head.push_str("\r\n");
        if let Some(t) = content_type {
            head.push_str(&format!("Content-Type: {t}\r\n"));
        }
        head.push_str("\r\n");
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

/// An API client, optionally with a bearer token.
#[derive(Clone, Debug)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    clock: Clock,
}

/// Timeout of one API request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

impl Api {
    /// A client for the server at `base` (`http://127.0.0.1:PORT`).
    ///
    /// # Panics
    /// When the HTTP client cannot be built.
    #[must_use]
    pub fn new(base: &str, clock: Clock) -> Self {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .no_proxy()
            .build()
            .expect("reqwest client");
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: None,
            clock,
        }
    }

    /// The server's base URL.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The bearer token, if logged in.
    #[must_use]
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The same server with another (or no) token.
    #[must_use]
    pub fn with_token(&self, token: Option<String>) -> Self {
        Self {
            token,
            ..self.clone()
        }
    }

    /// The manual clock known to the tests.
    #[must_use]
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// `POST /api/v1/auth/login` without keeping the token.
    pub async fn login(&self, email: &str, password: &str) -> Resp {
        self.without_token()
            .call(
                Method::POST,
                "/api/v1/auth/login",
                Some(&json!({"email": email, "password": password})),
            )
            .await
    }

    /// Logs in and answers a client carrying the token.
    ///
    /// # Panics
    /// When the login does not answer 200 with a token.
    pub async fn logged_in(&self, email: &str, password: &str) -> Self {
        let (status, body) = self.login(email, password).await;
        assert_eq!(status, StatusCode::OK, "login as {email} failed: {body}");
        let token = body["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login as {email}: no token in {body}"))
            .to_owned();
        self.with_token(Some(token))
    }

    fn without_token(&self) -> Self {
        self.with_token(None)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Any JSON call.
    ///
    /// # Panics
    /// When the server cannot be reached.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        self.try_call(method.clone(), path, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: request failed: {e}"))
    }

    /// Any JSON call, with transport errors returned.
    ///
    /// # Errors
    /// When the request cannot be sent or the answer cannot be read.
    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Resp, reqwest::Error> {
        let mut req = self.http.request(method, self.url(path));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        read(req.send().await?).await
    }

    /// A call with a raw body and extra headers (for malformed input).
    ///
    /// # Errors
    /// When the request cannot be sent or the answer cannot be read.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        headers: &[(&str, String)],
    ) -> Result<Resp, reqwest::Error> {
        let mut req = self.http.request(method, self.url(path)).body(body);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        read(req.send().await?).await
    }

    /// `POST path` with a `multipart/form-data` body of `parts`.
    pub async fn post_form(&self, path: &str, parts: &[FormPart<'_>]) -> Resp {
        let (body, content_type) = multipart_form(parts);
        self.raw(Method::POST, path, body, &[("content-type", content_type)])
            .await
            .unwrap_or_else(|e| panic!("POST {path} (a form): {e}"))
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }

    /// `POST path body`.
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.call(Method::POST, path, Some(body)).await
    }

    /// `PUT path body`.
    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// `PATCH path body`.
    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None).await
    }

    // ---- resources of API.md ----

    /// `GET /healthz`.
    pub async fn healthz(&self) -> Resp {
        self.get("/healthz").await
    }

    /// `GET /api/v1/me`.
    pub async fn me(&self) -> Resp {
        self.get("/api/v1/me").await
    }

    /// `GET /api/v1/employees`.
    pub async fn employees(&self) -> Resp {
        self.get("/api/v1/employees").await
    }

    /// `POST /api/v1/employees`.
    pub async fn create_employee(&self, body: &Value) -> Resp {
        self.post("/api/v1/employees", body).await
    }

    /// `PATCH /api/v1/employees/{id}`.
    pub async fn patch_employee(&self, id: &str, body: &Value) -> Resp {
        self.patch(&format!("/api/v1/employees/{id}"), body).await
    }

    /// `GET /api/v1/channels`.
    pub async fn channels(&self) -> Resp {
        self.get("/api/v1/channels").await
    }

    /// `POST /api/v1/channels`.
    pub async fn create_channel(&self, body: &Value) -> Resp {
        self.post("/api/v1/channels", body).await
    }

    /// `GET /api/v1/channels/{id}`.
    pub async fn channel(&self, id: &str) -> Resp {
        self.get(&format!("/api/v1/channels/{id}")).await
    }

    /// `GET /api/v1/channels/{id}/settings`.
    pub async fn settings(&self, channel_id: &str) -> Resp {
        self.get(&format!("/api/v1/channels/{channel_id}/settings"))
            .await
    }

    /// `PUT /api/v1/channels/{id}/settings`.
    pub async fn put_settings(&self, channel_id: &str, settings: &Value) -> Resp {
        self.put(&format!("/api/v1/channels/{channel_id}/settings"), settings)
            .await
    }

    /// `GET /api/v1/conversations?QUERY` (`query` without the `?`, may be empty).
    pub async fn conversations(&self, query: &str) -> Resp {
        if query.is_empty() {
            self.get("/api/v1/conversations").await
        } else {
            self.get(&format!("/api/v1/conversations?{query}")).await
        }
    }

    /// Every page of `GET /api/v1/conversations?QUERY`, following the
    /// `X-Next-Cursor` header, 200 rows a page.
    ///
    /// # Panics
    /// When a page does not answer 200 with an array.
    pub async fn conversations_all_pages(&self, query: &str) -> Vec<Value> {
        let mut rows = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/conversations?limit=200&{query}");
            if let Some(c) = &cursor {
                path.push_str("&before=");
                path.push_str(c);
            }
            let mut req = self.http.get(self.url(&path));
            if let Some(token) = &self.token {
                req = req.bearer_auth(token);
            }
            let resp = req
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET {path}: {e}"));
            let next = resp
                .headers()
                .get("x-next-cursor")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let (status, body) = read(resp)
                .await
                .unwrap_or_else(|e| panic!("GET {path}: {e}"));
            assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
            let page = body
                .as_array()
                .unwrap_or_else(|| panic!("GET {path}: not an array: {body}"));
            rows.extend(page.iter().cloned());
            match next {
                Some(c) if !page.is_empty() => cursor = Some(c),
                _ => return rows,
            }
        }
    }

    /// `POST /api/v1/conversations` (employee-opened).
    pub async fn open_conversation(
        &self,
        channel_id: &str,
        contact_address: &str,
        text: &str,
    ) -> Resp {
        self.post(
            "/api/v1/conversations",
            &json!({"channel_id": channel_id, "contact_address": contact_address, "text": text}),
        )
        .await
    }

    /// `GET /api/v1/conversations/{id}`.
    pub async fn conversation(&self, id: &str) -> Resp {
        self.get(&format!("/api/v1/conversations/{id}")).await
    }

    /// `GET /api/v1/conversations/{id}/messages`.
    pub async fn messages(&self, conversation_id: &str) -> Resp {
        self.get(&format!("/api/v1/conversations/{conversation_id}/messages"))
            .await
    }

    /// `POST /api/v1/conversations/{id}/messages` as the caller.
    pub async fn reply(&self, conversation_id: &str, text: &str) -> Resp {
        self.post(
            &format!("/api/v1/conversations/{conversation_id}/messages"),
            &json!({"text": text}),
        )
        .await
    }

    /// `POST /api/v1/conversations/{id}/notes`.
    pub async fn note(&self, conversation_id: &str, text: &str) -> Resp {
        self.post(
            &format!("/api/v1/conversations/{conversation_id}/notes"),
            &json!({"text": text}),
        )
        .await
    }

    /// `POST /api/v1/conversations/{id}/assign` (`None` unassigns).
    pub async fn assign(&self, conversation_id: &str, employee_id: Option<&str>) -> Resp {
        self.post(
            &format!("/api/v1/conversations/{conversation_id}/assign"),
            &json!({"employee_id": employee_id}),
        )
        .await
    }

    /// `POST /api/v1/conversations/{id}/close`.
    pub async fn close(&self, conversation_id: &str) -> Resp {
        self.post(
            &format!("/api/v1/conversations/{conversation_id}/close"),
            &json!({}),
        )
        .await
    }

    /// `GET /api/v1/conversations/{id}/events`.
    pub async fn events(&self, conversation_id: &str) -> Resp {
        self.get(&format!("/api/v1/conversations/{conversation_id}/events"))
            .await
    }

    /// `GET /api/v1/notifications` (all, or `?unread=true`).
    pub async fn notifications(&self, unread_only: bool) -> Resp {
        if unread_only {
            self.get("/api/v1/notifications?unread=true").await
        } else {
            self.get("/api/v1/notifications").await
        }
    }

    /// `POST /api/v1/notifications/{id}/read`.
    pub async fn read_notification(&self, id: &str) -> Resp {
        self.post(&format!("/api/v1/notifications/{id}/read"), &json!({}))
            .await
    }

    /// `POST /api/v1/clock/advance {"seconds": N}`; on 200 the tests' clock takes the answered `now`.
    pub async fn advance_raw(&self, seconds: i64) -> Resp {
        let (status, body) = self
            .post("/api/v1/clock/advance", &json!({"seconds": seconds}))
            .await;
        if status == StatusCode::OK
            && let Some(now) = body["now"].as_str()
        {
            self.clock.set_unix(parse_rfc3339(now));
        }
        (status, body)
    }

    /// Advances the manual clock by `seconds` and answers the new `now`.
    ///
    /// # Panics
    /// When the server does not answer 200 with `now`.
    pub async fn advance(&self, seconds: i64) -> String {
        let before = self.clock.unix();
        let (status, body) = self.advance_raw(seconds).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "clock advance by {seconds}s failed: {body}"
        );
        let now = body["now"]
            .as_str()
            .unwrap_or_else(|| panic!("no `now` in {body}"))
            .to_owned();
        assert_eq!(
            parse_rfc3339(&now),
            before + seconds,
            "clock advance by {seconds}s answered {now}, expected {}s after the previous instant",
            seconds
        );
        now
    }

    // ---- webhooks ----

    /// `GET /webhooks/whatsapp/{channel}?hub.mode=..&hub.verify_token=..&hub.challenge=..`,
    /// answering the status and the raw body text.
    ///
    /// # Panics
    /// When the server cannot be reached.
    pub async fn whatsapp_verify(
        &self,
        channel_id: &str,
        mode: &str,
        verify_token: &str,
        challenge: &str,
    ) -> (StatusCode, String) {
        let resp = self
            .http
            .get(self.url(&format!("/webhooks/whatsapp/{channel_id}")))
            .query(&[
                ("hub.mode", mode),
                ("hub.verify_token", verify_token),
                ("hub.challenge", challenge),
            ])
            .send()
            .await
            .expect("handshake request");
        let status = resp.status();
        (status, resp.text().await.unwrap_or_default())
    }

    /// POSTs `body` to `/webhooks/whatsapp/{channel}` with `X-Hub-Signature-256`
    /// computed with `app_secret` over the exact bytes sent.
    ///
    /// # Panics
    /// When the server cannot be reached.
    pub async fn whatsapp_webhook(&self, channel_id: &str, app_secret: &str, body: &Value) -> Resp {
        self.try_whatsapp_webhook(channel_id, app_secret, body)
            .await
            .unwrap_or_else(|e| panic!("webhook POST failed: {e}"))
    }

    /// Like [`Api::whatsapp_webhook`], returning transport errors.
    ///
    /// # Errors
    /// When the request cannot be sent or the answer cannot be read.
    pub async fn try_whatsapp_webhook(
        &self,
        channel_id: &str,
        app_secret: &str,
        body: &Value,
    ) -> Result<Resp, reqwest::Error> {
        let bytes = serde_json::to_vec(body).expect("serialize webhook");
        let signature = webhook::sign(app_secret, &bytes);
        self.whatsapp_webhook_raw(channel_id, bytes, Some(signature))
            .await
    }

    /// POSTs raw bytes to `/webhooks/whatsapp/{channel}` with an optional signature header.
    ///
    /// # Errors
    /// When the request cannot be sent or the answer cannot be read.
    pub async fn whatsapp_webhook_raw(
        &self,
        channel_id: &str,
        body: Vec<u8>,
        signature: Option<String>,
    ) -> Result<Resp, reqwest::Error> {
        let mut req = self
            .http
            .post(self.url(&format!("/webhooks/whatsapp/{channel_id}")))
            .header("content-type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            req = req.header("x-hub-signature-256", signature);
        }
        read(req.send().await?).await
    }
}

async fn read(resp: reqwest::Response) -> Result<Resp, reqwest::Error> {
    let status = resp.status();
    let bytes = resp.bytes().await?;
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Ok((status, value))
}

/// Panics unless `resp` has `status`, showing the body.
///
/// # Panics
/// When the status differs.
#[track_caller]
pub fn expect_status(resp: &Resp, status: StatusCode, what: &str) {
    assert_eq!(
        resp.0, status,
        "{what}: expected {status}, got {} with body {}",
        resp.0, resp.1
    );
}

/// Panics unless `resp` is a JSON error `{"error":{"code":"..."}}` with `status`;
/// answers the error object.
///
/// # Panics
/// When the status or the error shape differs.
#[track_caller]
pub fn expect_error(resp: &Resp, status: StatusCode, what: &str) -> Value {
    expect_status(resp, status, what);
    let error = &resp.1["error"];
    assert!(
        error["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{what}: expected a JSON error {{\"error\":{{\"code\":..}}}}, got {}",
        resp.1
    );
    error.clone()
}
