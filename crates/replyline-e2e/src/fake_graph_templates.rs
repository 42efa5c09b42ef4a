//! The message templates of the fake Graph API: `GET /{version}/{WABA_ID}/message_templates`, paged.
//!
//! After Meta's shape: `{"data":[…],"paging":{"cursors":{"before","after"},"next"?}}`,
//! `next` an absolute URL back to the fake with an `after` cursor; a bearer
//! token is required (401 with Graph error code 190 otherwise) and an unknown
//! WABA answers 400 with code 100, as Meta does.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::fake_graph::{FakeGraph, Shared, lock};

/// Templates per page unless the request asks for fewer (Meta's default is 25).
const DEFAULT_PAGE_SIZE: usize = 25;

/// What the fake holds for these endpoints.
#[derive(Debug, Default)]
pub struct TemplateState {
    /// The templates of each WABA, in listing order.
    by_waba: HashMap<String, Vec<Value>>,
    /// The largest page served (`None`: [`DEFAULT_PAGE_SIZE`]).
    page_size: Option<usize>,
    /// Every listing request, in arrival order.
    requests: Vec<TemplateRequest>,
}

/// One request for a page of templates.
#[derive(Clone, Debug)]
pub struct TemplateRequest {
    pub waba_id: String,
    /// The `after` cursor (`None` for a first page).
    pub after: Option<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
}

/// The routes, merged into the fake's router.
pub(crate) fn routes() -> Router<Shared> {
    Router::new().route("/{version}/{waba_id}/message_templates", get(list))
}

impl FakeGraph {
    /// Replaces the templates of `waba_id` (each a Graph template object:
    /// `name`, `language`, `status`, `category`, `components`, `id`).
    pub fn set_templates(&self, waba_id: &str, templates: Vec<Value>) {
        self.lock()
            .templates
            .by_waba
            .insert(waba_id.to_owned(), templates);
    }

    /// Serves at most `n` templates a page.
    pub fn set_template_page_size(&self, n: usize) {
        self.lock().templates.page_size = Some(n.max(1));
    }

    /// Every page requested, in order.
    #[must_use]
    pub fn template_requests(&self) -> Vec<TemplateRequest> {
        self.lock().templates.requests.clone()
    }

    /// How many listings were started (first pages requested).
    #[must_use]
    pub fn template_listings(&self) -> usize {
        self.template_requests()
            .iter()
            .filter(|r| r.after.is_none())
            .count()
    }
}

/// A template object as Meta lists it, with a BODY of `body`.
#[must_use]
pub fn template(name: &str, language: &str, status: &str, body: &str) -> Value {
    json!({
        "name": name,
        "components": [
            {"type": "BODY", "text": body},
            {"type": "FOOTER", "text": "Replyline"}
        ],
        "language": language,
        "status": status,
        "category": "UTILITY",
        "id": format!("{}", 1_000_000 + name.len() * 7 + language.len())
    })
}

fn graph_error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "fake"}})),
    )
        .into_response()
}

/// The query's `key=value` pairs (`%2C` read as `,`; nothing else here is encoded).
fn query_pairs(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("%2C", ",").replace("%2c", ",")))
        .collect()
}

async fn list(
    State(shared): State<Shared>,
    Path((version, waba_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query = query_pairs(uri.query().unwrap_or_default());
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let after = query.get("after").cloned();
    let mut inner = lock(&shared);
    let state = &mut inner.templates;
    state.requests.push(TemplateRequest {
        waba_id: waba_id.clone(),
        after: after.clone(),
        authorization: authorization.clone(),
    });
    let has_token = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|t| !t.trim().is_empty());
    if !has_token {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            "Invalid OAuth access token - Cannot parse access token",
        );
    }
    let Some(all) = state.by_waba.get(&waba_id) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            &format!(
                "Unsupported get request. Object with ID '{waba_id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
            ),
        );
    };
    let size = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .min(state.page_size.unwrap_or(DEFAULT_PAGE_SIZE))
        .max(1);
    let start = after
        .as_deref()
        .and_then(|a| a.strip_prefix("cursor-"))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0)
        .min(all.len());
    let end = (start + size).min(all.len());
    let mut paging =
        json!({"cursors": {"before": format!("cursor-{start}"), "after": format!("cursor-{end}")}});
    if end < all.len() {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        let fields = query.get("fields").cloned().unwrap_or_default();
        paging["next"] = json!(format!(
            "http://{host}/{version}/{waba_id}/message_templates?fields={fields}&limit={size}&after=cursor-{end}"
        ));
    }
    Json(json!({"data": all[start..end].to_vec(), "paging": paging})).into_response()
}
