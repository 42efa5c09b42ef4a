//! A fake of the WhatsApp Cloud API Graph endpoint `POST /{version}/{phone_number_id}/messages`.
//!
//! It records every request and answers like Meta does; it can be told to fail
//! the next requests (HTTP 500, a Graph error body with a code, or a delay
//! longer than the server's client timeout).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::webhook::digits;

/// How the fake answers one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 500 with a Graph error body (code 1, transient).
    Http500,
    /// HTTP 400 with `{"error":{"message","type":"OAuthException","code"}}`.
    GraphError {
        /// The Graph error code, e.g. 131047, 131026, 190.
        code: i64,
        /// The message.
        message: String,
    },
    /// Waits this long before answering success (longer than the server's timeout).
    Delay(Duration),
}

/// What the fake answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 200 with this provider message id.
    Accepted(String),
    /// An injected failure.
    Failed(Failure),
}

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The request path, e.g. `/v21.0/1122334455667/messages`.
    pub path: String,
    /// `{version}` of the path.
    pub version: String,
    /// `{phone_number_id}` of the path.
    pub phone_number_id: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The JSON body (`Value::Null` if it was not JSON).
    pub body: Value,
    /// The answer given.
    pub outcome: Outcome,
    /// When it arrived.
    pub at: Instant,
}

impl Recorded {
    /// `to` as digits.
    #[must_use]
    pub fn to(&self) -> String {
        digits(self.body["to"].as_str().unwrap_or_default())
    }

    /// `type` of the message (text, template, ...); `None` for a mark-as-read request.
    #[must_use]
    pub fn kind(&self) -> Option<&str> {
        self.body["type"].as_str()
    }

    /// `text.body` of a text message.
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        self.body["text"]["body"].as_str()
    }

    /// `template.name` of a template message.
    #[must_use]
    pub fn template_name(&self) -> Option<&str> {
        self.body["template"]["name"].as_str()
    }

    /// Whether this is a message send (not a mark-as-read request).
    #[must_use]
    pub fn is_message(&self) -> bool {
        self.body["status"].as_str() != Some("read") && self.body.get("to").is_some()
    }

    /// The provider id the fake answered, if it accepted the request.
    #[must_use]
    pub fn accepted_id(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Accepted(id) => Some(id),
            Outcome::Failed(_) => None,
        }
    }
}

#[derive(Default)]
pub(crate) struct Inner {
    requests: Vec<Recorded>,
    other: Vec<(String, String)>,
    failures: VecDeque<Failure>,
    next_id: u64,
    /// Sends to these recipients (digits) wait this long before answering success.
    hangs: Vec<(String, Duration)>,
    /// Media downloads and uploads (`fake_graph_media`).
    pub(crate) media: crate::fake_graph_media::MediaState,
    /// The WABA's message templates (`fake_graph_templates`).
    pub(crate) templates: crate::fake_graph_templates::TemplateState,
}

pub(crate) type Shared = Arc<Mutex<Inner>>;

/// Locks the fake's state (a panicked holder does not poison it for the rest).
pub(crate) fn lock(inner: &Shared) -> MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The running fake; dropped = stopped.
pub struct FakeGraph {
    inner: Shared,
    base_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl FakeGraph {
    /// Starts the fake on `127.0.0.1:0`.
    ///
    /// # Panics
    /// When it cannot bind.
    pub async fn start() -> Self {
        let inner: Shared = Arc::default();
        let app = Router::new()
            .route("/{version}/{phone_number_id}/messages", post(messages))
            .merge(crate::fake_graph_media::routes())
            .merge(crate::fake_graph_templates::routes())
            .fallback(other)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake graph");
        let addr = listener.local_addr().expect("fake graph address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            inner,
            base_url: format!("http://{addr}"),
            task,
        }
    }

    /// `http://127.0.0.1:PORT`, the channel's `api_base_url`.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Fails the next `n` requests with `failure` (queued after earlier failures).
    pub fn fail_next(&self, n: usize, failure: &Failure) {
        let mut inner = self.lock();
        for _ in 0..n {
            inner.failures.push_back(failure.clone());
        }
    }

    /// Fails the next `n` requests with a Graph error of `code`.
    pub fn fail_next_with_code(&self, n: usize, code: i64, message: &str) {
        self.fail_next(
            n,
            &Failure::GraphError {
                code,
                message: message.to_owned(),
            },
        );
    }

    /// Every request to `/{version}/{phone_number_id}/messages`, in arrival order.
    #[must_use]
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Message sends only (mark-as-read requests left out).
    #[must_use]
    pub fn messages(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(Recorded::is_message)
            .collect()
    }

    /// Message sends to `to` (compared by digits).
    #[must_use]
    pub fn messages_to(&self, to: &str) -> Vec<Recorded> {
        let to = digits(to);
        self.messages()
            .into_iter()
            .filter(|r| r.to() == to)
            .collect()
    }

    /// Requests to any other path: `(method, path)`.
    #[must_use]
    pub fn other_requests(&self) -> Vec<(String, String)> {
        self.lock().other.clone()
    }

    /// Polls (bounded by `timeout`) until at least `n` message sends were recorded;
    /// answers them all.
    ///
    /// # Panics
    /// When fewer than `n` arrived in time.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        self.wait_for_matching(n, timeout, "message sends", |_| true)
            .await
    }

    /// Polls until at least `n` message sends to `to` were recorded.
    ///
    /// # Panics
    /// When fewer than `n` arrived in time.
    pub async fn wait_for_to(&self, to: &str, n: usize, timeout: Duration) -> Vec<Recorded> {
        let to_digits = digits(to);
        self.wait_for_matching(n, timeout, &format!("message sends to {to}"), |r| {
            r.to() == to_digits
        })
        .await
    }

    /// Polls until at least `n` message sends matching `pred` were recorded.
    ///
    /// # Panics
    /// When fewer than `n` arrived in time.
    pub async fn wait_for_matching(
        &self,
        n: usize,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&Recorded) -> bool,
    ) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        loop {
            let found: Vec<Recorded> = self.messages().into_iter().filter(|r| pred(r)).collect();
            if found.len() >= n {
                return found;
            }
            if Instant::now() >= deadline {
                panic!(
                    "fake Graph: expected at least {n} {what} within {timeout:?}, got {}: {:#?}",
                    found.len(),
                    self.messages().iter().map(|r| &r.body).collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn messages(
    State(inner): State<Shared>,
    Path((version, phone_number_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (outcome, delay) = {
        let mut inner = inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let to = digits(body["to"].as_str().unwrap_or_default());
        let hang = inner
            .hangs
            .iter()
            .find(|(who, _)| *who == to)
            .map(|(_, d)| Failure::Delay(*d));
        let next = hang.or_else(|| inner.failures.pop_front());
        let outcome = match next {
            Some(Failure::Delay(d)) => {
                inner.next_id += 1;
                (
                    Outcome::Accepted(format!("wamid.fake-{}", inner.next_id)),
                    Some(d),
                )
            }
            Some(failure) => (Outcome::Failed(failure), None),
            None => {
                inner.next_id += 1;
                (
                    Outcome::Accepted(format!("wamid.fake-{}", inner.next_id)),
                    None,
                )
            }
        };
        inner.requests.push(Recorded {
            path: uri.path().to_owned(),
            version,
            phone_number_id,
            authorization,
            body: body.clone(),
            outcome: outcome.0.clone(),
            at: Instant::now(),
        });
        outcome
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    match outcome {
        Outcome::Accepted(id) => {
            if body["status"].as_str() == Some("read") {
                return Json(json!({"success": true})).into_response();
            }
            let to = body["to"].as_str().unwrap_or_default();
            Json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": digits(to)}],
                "messages": [{"id": id}]
            }))
            .into_response()
        }
        Outcome::Failed(Failure::Http500) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"message": "An unknown error has occurred.", "type": "OAuthException", "code": 1, "fbtrace_id": "fake"}})),
        )
            .into_response(),
        Outcome::Failed(Failure::GraphError { code, message }) => {
            let status = if code == 190 { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
            (
                status,
                Json(json!({"error": {"message": message, "type": "OAuthException", "code": code,
                    "error_data": {"details": message}, "fbtrace_id": "fake"}})),
            )
                .into_response()
        }
        Outcome::Failed(Failure::Delay(_)) => unreachable!("delays answer success"),
    }
}

async fn other(State(inner): State<Shared>, method: Method, uri: Uri) -> Response {
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .other
        .push((method.to_string(), uri.path().to_owned()));
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": {"message": "Unsupported request (fake Graph)", "type": "GraphMethodException", "code": 100}})),
    )
        .into_response()
}

impl FakeGraph {
    /// Every send to `to` (compared by digits) hangs for `delay` before it is
    /// answered with success, e.g. longer than the server's client timeout;
    /// other recipients are answered as usual.
    pub fn hang_for(&self, to: &str, delay: Duration) {
        self.lock().hangs.push((digits(to), delay));
    }

    /// Sends to `to` are answered at once again.
    pub fn stop_hanging(&self, to: &str) {
        let to = digits(to);
        self.lock().hangs.retain(|(who, _)| *who != to);
    }
}
