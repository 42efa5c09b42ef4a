//! The message templates of a WhatsApp Business Account: reading
//! `GET /{version}/{waba_id}/message_templates` (following `paging.next`),
//! the BODY's placeholders (`{{1}}`, `{{name}}`) and filling them in.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::send::{ErrorClass, SendError, classify};

/// The most pages read for one listing (100 templates each).
pub const MAX_PAGES: usize = 20;
/// The fields asked for.
const FIELDS: &str = "name,language,status,category,components";

/// One template as the Graph API lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub name: String,
    /// The language code, e.g. `ru` or `en_US`.
    pub language: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, …
    pub status: String,
    /// The components as given (`HEADER`, `BODY`, `FOOTER`, `BUTTONS`).
    pub components: Value,
}

impl Template {
    /// The BODY text (empty when the template has none).
    pub fn body(&self) -> &str {
        body_text(&self.components)
    }

    /// How many distinct parameters the BODY takes.
    pub fn parameter_count(&self) -> usize {
        placeholders(self.body()).len()
    }

    /// Whether it may be sent.
    pub fn is_approved(&self) -> bool {
        self.status.eq_ignore_ascii_case("APPROVED")
    }
}

/// One page of the listing.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplatePage {
    pub templates: Vec<Template>,
    /// `paging.next`: the absolute URL of the next page, if any.
    pub next: Option<String>,
}

/// The BODY component's text of a template's `components`.
pub fn body_text(components: &Value) -> &str {
    components
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| {
            c.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("BODY"))
        })
        .and_then(|c| c.get("text"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The placeholder at the start of `s` (just after `{{`): its trimmed name
/// and the length up to and including `}}`.
fn placeholder_at(s: &str) -> Option<(&str, usize)> {
    let end = s.find("}}")?;
    let name = s[..end].trim();
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some((name, end + 2))
}

/// Every placeholder of `text` with its byte range, in order.
fn occurrences(text: &str) -> Vec<(usize, usize, &str)> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(open) = text[at..].find("{{") {
        let start = at + open;
        match placeholder_at(&text[start + 2..]) {
            Some((name, len)) => {
                found.push((start, start + 2 + len, name));
                at = start + 2 + len;
            }
            None => at = start + 2,
        }
    }
    found
}

/// The distinct placeholders of a BODY in parameter order: by number when
/// they are all numbered (`{{1}}`, `{{2}}`), else in order of first use.
pub fn placeholders(body: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (_, _, name) in occurrences(body) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    if all_numbered(&names) {
        names.sort_by_key(|n| n.parse::<u32>().unwrap_or(u32::MAX));
    }
    names
}

/// Whether every placeholder is numbered (`{{1}}`), not named.
fn all_numbered(names: &[String]) -> bool {
    names.iter().all(|n| n.parse::<u32>().is_ok())
}

/// The BODY's placeholder names when they are named (`{{first_name}}`), the
/// way a send must name its parameters; empty when they are numbered.
pub fn parameter_names(body: &str) -> Vec<String> {
    let names = placeholders(body);
    if all_numbered(&names) {
        return Vec::new();
    }
    names
}

/// The BODY with `params` in place of its placeholders (in [`placeholders`]
/// order); a placeholder without a parameter stays as it is.
pub fn fill(body: &str, params: &[String]) -> String {
    let order = placeholders(body);
    let mut out = String::with_capacity(body.len());
    let mut last = 0;
    for (start, end, name) in occurrences(body) {
        out.push_str(&body[last..start]);
        let value = order
            .iter()
            .position(|n| n == name)
            .and_then(|i| params.get(i));
        out.push_str(value.map_or(&body[start..end], String::as_str));
        last = end;
    }
    out.push_str(&body[last..]);
    out
}

/// Parses one page of `message_templates`.
///
/// # Errors
/// A [`ErrorClass::Permanent`] error when the body is not the Graph shape.
pub fn parse_page(bytes: &[u8]) -> Result<TemplatePage, SendError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        error(
            ErrorClass::Permanent,
            format!("the template list is not JSON: {e}"),
        )
    })?;
    let data = value.get("data").and_then(Value::as_array).ok_or_else(|| {
        error(
            ErrorClass::Permanent,
            "the template list has no `data` array",
        )
    })?;
    let text = |t: &Value, key: &str| {
        t.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let templates = data
        .iter()
        .filter(|t| t.get("name").and_then(Value::as_str).is_some())
        .map(|t| Template {
            name: text(t, "name"),
            language: text(t, "language"),
            category: text(t, "category"),
            status: text(t, "status"),
            components: t.get("components").cloned().unwrap_or(Value::Array(vec![])),
        })
        .collect();
    let next = value
        .get("paging")
        .and_then(|p| p.get("next"))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    Ok(TemplatePage { templates, next })
}

/// The URL of the first page.
pub fn templates_url(api_base_url: &str, api_version: &str, waba_id: &str) -> String {
    format!(
        "{}/{}/{}/message_templates?fields={FIELDS}&limit=100",
        api_base_url.trim_end_matches('/'),
        api_version.trim_matches('/'),
        waba_id.trim()
    )
}

/// Every template of the WABA `waba_id`: the first page and those
/// `paging.next` leads to (on the same host only: the token goes along), at
/// most [`MAX_PAGES`].
///
/// # Errors
/// The Graph error (classified as for sends), a transport failure, or a page
/// that is not the Graph shape.
pub async fn list_templates(
    http: &reqwest::Client,
    api_base_url: &str,
    api_version: &str,
    waba_id: &str,
    access_token: &str,
) -> Result<Vec<Template>, SendError> {
    let origin = api_base_url.trim_end_matches('/');
    let mut url = templates_url(api_base_url, api_version, waba_id);
    let mut all = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = fetch_page(http, &url, access_token).await?;
        all.extend(page.templates);
        match page.next {
            Some(next) if next.starts_with(&format!("{origin}/")) => url = next,
            _ => break,
        }
    }
    Ok(all)
}

async fn fetch_page(
    http: &reqwest::Client,
    url: &str,
    access_token: &str,
) -> Result<TemplatePage, SendError> {
    let response = http
        .get(url)
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|e| {
            let class = if e.is_builder() {
                ErrorClass::Permanent
            } else {
                ErrorClass::Transient
            };
            error(class, format!("listing templates failed: {e}"))
        })?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let bytes = response.bytes().await.map_err(|e| {
        error(
            ErrorClass::Transient,
            format!("reading the template list failed: {e}"),
        )
    })?;
    if status.is_success() {
        return parse_page(&bytes);
    }
    let mut err = graph_error(status, &bytes);
    err.retry_after = retry_after;
    Err(err)
}

/// The error of a failed Graph answer: its `error.code` classified, else by status.
fn graph_error(status: StatusCode, bytes: &[u8]) -> SendError {
    let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let e = body.get("error").unwrap_or(&Value::Null);
    let code = e.get("code").and_then(Value::as_i64);
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .map_or_else(|| format!("HTTP {status}"), str::to_owned);
    let class = match code {
        Some(code) => classify(code),
        None if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() => {
            ErrorClass::Transient
        }
        None if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN => {
            ErrorClass::Auth
        }
        None => ErrorClass::Permanent,
    };
    SendError {
        class,
        code,
        message,
        retry_after: None,
    }
}

fn error(class: ErrorClass, message: impl Into<String>) -> SendError {
    SendError {
        class,
        code: None,
        message: message.into(),
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// A page as Meta answers it (from the Cloud API reference).
    fn meta_page(next: Option<&str>) -> Value {
        let mut page = json!({
            "data": [
                {
                    "name": "order_ready",
                    "components": [
                        {"type": "HEADER", "format": "TEXT", "text": "Заказ {{1}}"},
                        {"type": "BODY", "text": "Здравствуйте, {{1}}! Заказ {{2}} готов. {{1}}, ждём вас.",
                         "example": {"body_text": [["Анна", "A-17"]]}},
                        {"type": "FOOTER", "text": "Ромашка"}
                    ],
                    "language": "ru",
                    "status": "APPROVED",
                    "category": "UTILITY",
                    "id": "1192339204654487"
                },
                {
                    "name": "hello_world",
                    "components": [
                        {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
                        {"type": "BODY", "text": "Welcome and congratulations!!"},
                        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Ok"}]}
                    ],
                    "language": "en_US",
                    "status": "REJECTED",
                    "category": "MARKETING",
                    "id": "1192339204654488"
                }
            ],
            "paging": {"cursors": {"before": "MAZDZD", "after": "MjQZD"}}
        });
        if let Some(next) = next {
            page["paging"]["next"] = json!(next);
        }
        page
    }

    #[test]
    fn a_meta_page_parses() {
        let bytes = serde_json::to_vec(&meta_page(Some(
            "https://graph.facebook.com/v21.0/1/message_templates?after=MjQZD",
        )))
        .unwrap();
        let page = parse_page(&bytes).unwrap();
        assert_eq!(page.templates.len(), 2);
        let t = &page.templates[0];
        assert_eq!(
            (t.name.as_str(), t.language.as_str(), t.category.as_str()),
            ("order_ready", "ru", "UTILITY")
        );
        assert!(t.is_approved());
        assert!(!page.templates[1].is_approved());
        assert_eq!(
            t.body(),
            "Здравствуйте, {{1}}! Заказ {{2}} готов. {{1}}, ждём вас."
        );
        assert_eq!(t.parameter_count(), 2);
        assert_eq!(page.templates[1].parameter_count(), 0);
        assert_eq!(
            page.next.as_deref(),
            Some("https://graph.facebook.com/v21.0/1/message_templates?after=MjQZD")
        );
        let last = parse_page(&serde_json::to_vec(&meta_page(None)).unwrap()).unwrap();
        assert_eq!(last.next, None);
    }

    #[test]
    fn not_the_graph_shape_is_an_error() {
        assert!(parse_page(b"<html>").is_err());
        assert!(parse_page(br#"{"templates":[]}"#).is_err());
        let empty = parse_page(br#"{"data":[]}"#).unwrap();
        assert!(empty.templates.is_empty() && empty.next.is_none());
    }

    #[test]
    fn placeholders_are_counted_once_each() {
        assert_eq!(placeholders("{{2}} и {{1}}, снова {{2}}"), ["1", "2"]);
        assert_eq!(
            placeholders("Hi {{ first_name }}, order {{order}} for {{first_name}}"),
            ["first_name", "order"]
        );
        assert!(placeholders("no {{}} or {{a b}} or {single}").is_empty());
        assert!(placeholders("").is_empty());
    }

    #[test]
    fn fill_puts_the_parameters_in_place() {
        let body = "Здравствуйте, {{1}}! Заказ {{2}} готов. {{1}}, ждём вас.";
        assert_eq!(
            fill(body, &["Анна".into(), "A-17".into()]),
            "Здравствуйте, Анна! Заказ A-17 готов. Анна, ждём вас."
        );
        assert_eq!(
            fill(body, &["Анна".into()]),
            "Здравствуйте, Анна! Заказ {{2}} готов. Анна, ждём вас."
        );
        assert_eq!(
            fill("Hi {{name}}, {{code}}", &["Bo".into(), "42".into()]),
            "Hi Bo, 42"
        );
        assert_eq!(fill("no params", &[]), "no params");
    }

    #[test]
    fn the_first_url_asks_for_the_fields() {
        assert_eq!(
            templates_url("https://graph.facebook.com/", "v21.0", "102290129340398"),
            "https://graph.facebook.com/v21.0/102290129340398/message_templates?fields=name,language,status,category,components&limit=100"
        );
    }

    #[tokio::test]
    async fn the_listing_follows_paging_next() {
        let server = MockServer::start().await;
        let next = format!(
            "{}/v21.0/waba/message_templates?limit=100&after=MjQZD",
            server.uri()
        );
        Mock::given(method("GET"))
            .and(path("/v21.0/waba/message_templates"))
            .and(query_param("after", "MjQZD"))
            .and(header("authorization", "Bearer tok"))
            .respond_with(ResponseTemplate::new(200).set_body_json(meta_page(None)))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v21.0/waba/message_templates"))
            .and(query_param("fields", FIELDS))
            .and(header("authorization", "Bearer tok"))
            .respond_with(ResponseTemplate::new(200).set_body_json(meta_page(Some(&next))))
            .expect(1)
            .mount(&server)
            .await;
        let all = list_templates(
            &reqwest::Client::new(),
            &server.uri(),
            "v21.0",
            "waba",
            "tok",
        )
        .await
        .unwrap();
        assert_eq!(all.len(), 4);
    }

    #[tokio::test]
    async fn a_next_page_elsewhere_is_not_followed_with_the_token() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v21.0/waba/message_templates"))
            .respond_with(ResponseTemplate::new(200).set_body_json(meta_page(Some(
                "https://attacker.example/v21.0/waba/message_templates?after=x",
            ))))
            .expect(1)
            .mount(&server)
            .await;
        let all = list_templates(
            &reqwest::Client::new(),
            &server.uri(),
            "v21.0",
            "waba",
            "tok",
        )
        .await
        .unwrap();
        assert_eq!(all.len(), 2);
    }

    #[tokio::test]
    async fn graph_errors_are_classified() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
                "message": "Error validating access token", "type": "OAuthException", "code": 190, "fbtrace_id": "x"}})))
            .mount(&server)
            .await;
        let err = list_templates(
            &reqwest::Client::new(),
            &server.uri(),
            "v21.0",
            "waba",
            "bad",
        )
        .await
        .unwrap_err();
        assert_eq!((err.class, err.code), (ErrorClass::Auth, Some(190)));
        assert_eq!(err.message, "Error validating access token");
    }

    #[tokio::test]
    async fn at_most_twenty_pages_are_read() {
        let server = MockServer::start().await;
        let next = format!("{}/v21.0/waba/message_templates?after=again", server.uri());
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(meta_page(Some(&next))))
            .expect(MAX_PAGES as u64)
            .mount(&server)
            .await;
        let all = list_templates(
            &reqwest::Client::new(),
            &server.uri(),
            "v21.0",
            "waba",
            "tok",
        )
        .await
        .unwrap();
        assert_eq!(all.len(), 2 * MAX_PAGES);
    }
}
