//! The media of the fake Graph API: `GET /{version}/{MEDIA_ID}`, the bytes behind its URL, and uploads to `POST /{version}/{phone_number_id}/media`.
//!
//! After Meta's documented shapes: the media info is
//! `{"messaging_product","url","mime_type","sha256","file_size","id"}` (an
//! unknown id answers 400 with Graph error code 100, as Meta does), the URL is
//! `{base}/fake-media/{id}?token=…` and, like Meta's, needs the bearer token;
//! an upload is `multipart/form-data` (`messaging_product`, `type`, `file`)
//! answered `{"id":"media-up-N"}`.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::fake_graph::{FakeGraph, Shared, lock};

/// A file the fake serves.
#[derive(Clone, Debug)]
struct MediaFile {
    mime_type: String,
    bytes: Vec<u8>,
    /// What the info says the SHA-256 is (normally the real one, hex).
    sha256: String,
}

/// One recorded upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    /// The phone number id of the URL.
    pub phone_number_id: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `messaging_product` field.
    pub messaging_product: Option<String>,
    /// The `type` field (the MIME type).
    pub kind: Option<String>,
    /// The `file` part's `Content-Type`.
    pub mime_type: Option<String>,
    /// The `file` part's file name.
    pub file_name: Option<String>,
    /// The `file` part's bytes.
    pub bytes: Vec<u8>,
    /// The id answered.
    pub id: String,
}

/// What the fake holds for these endpoints.
#[derive(Debug, Default)]
pub struct MediaState {
    files: HashMap<String, MediaFile>,
    /// Downloads (of the bytes, not the info) to answer 500 before serving again.
    failing_downloads: usize,
    /// Byte downloads served, by media id.
    downloads: HashMap<String, usize>,
    uploads: Vec<Upload>,
    /// Uploads to answer with a Graph error (`code`, HTTP status) before accepting again.
    failing_uploads: Vec<(u16, i64)>,
}

/// The token the media URLs carry (the fake's, not a secret).
const URL_TOKEN: &str = "fake-signed";

/// The routes, merged into the fake's router.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/{version}/{phone_number_id}", get(info))
        .route("/{version}/{phone_number_id}/media", post(upload))
        .route("/fake-media/{id}", get(bytes))
}

fn graph_error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        Json(
            json!({"error": {"message": message, "type": "OAuthException", "code": code,
            "fbtrace_id": "fake"}}),
        ),
    )
        .into_response()
}

fn has_bearer(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| !t.trim().is_empty())
}

fn no_token() -> Response {
    graph_error(
        StatusCode::UNAUTHORIZED,
        190,
        "An access token is required to request this resource.",
    )
}

async fn info(
    State(inner): State<Shared>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !has_bearer(&headers) {
        return no_token();
    }
    let file = lock(&inner).media.files.get(&id).cloned();
    let Some(file) = file else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            &format!("Unsupported get request. Object with ID '{id}' does not exist ({version})."),
        );
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    Json(json!({
        "messaging_product": "whatsapp",
        "url": format!("http://{host}/fake-media/{id}?token={URL_TOKEN}"),
        "mime_type": file.mime_type,
        "sha256": file.sha256,
        "file_size": file.bytes.len().to_string(),
        "id": id,
    }))
    .into_response()
}

async fn bytes(
    State(inner): State<Shared>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    if !has_bearer(&headers) || !uri.query().unwrap_or_default().contains(URL_TOKEN) {
        return no_token();
    }
    let mut inner = lock(&inner);
    let media = &mut inner.media;
    if media.failing_downloads > 0 {
        media.failing_downloads -= 1;
        return (StatusCode::INTERNAL_SERVER_ERROR, "fake download failure").into_response();
    }
    let Some(file) = media.files.get(&id).cloned() else {
        return (StatusCode::NOT_FOUND, "no such media").into_response();
    };
    *media.downloads.entry(id).or_default() += 1;
    ([(header::CONTENT_TYPE, file.mime_type)], file.bytes).into_response()
}

async fn upload(
    State(inner): State<Shared>,
    Path((_version, phone_number_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !has_bearer(&headers) {
        return no_token();
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(boundary) = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_owned())
    else {
        return graph_error(StatusCode::BAD_REQUEST, 100, "expected multipart/form-data");
    };
    let parts = parse_multipart(&body, &boundary);
    let field = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name)
            .map(|p| String::from_utf8_lossy(&p.body).into_owned())
    };
    let Some(file) = parts.iter().find(|p| p.name == "file") else {
        return graph_error(StatusCode::BAD_REQUEST, 100, "the file part is missing");
    };
    let mut inner = lock(&inner);
    let media = &mut inner.media;
    if !media.failing_uploads.is_empty() {
        let (status, code) = media.failing_uploads.remove(0);
        return graph_error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            code,
            "(#131053) Media upload error",
        );
    }
    let id = format!("media-up-{}", media.uploads.len() + 1);
    media.uploads.push(Upload {
        phone_number_id,
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        messaging_product: field("messaging_product"),
        kind: field("type"),
        mime_type: file.content_type.clone(),
        file_name: file.file_name.clone(),
        bytes: file.body.clone(),
        id: id.clone(),
    });
    Json(json!({ "id": id })).into_response()
}

/// One part of a `multipart/form-data` body.
struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `name="value"` out of a header line.
fn parameter(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = &line[start..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// A small multipart parser, enough for what a client sends.
fn parse_multipart(body: &[u8], boundary: &str) -> Vec<Part> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        rest = rest.strip_prefix(b"\r\n").unwrap_or(rest);
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            break;
        };
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let content = &rest[head_end + 4..];
        let end = find(content, format!("\r\n{delimiter}").as_bytes()).unwrap_or(content.len());
        let mut part = Part {
            name: String::new(),
            file_name: None,
            content_type: None,
            body: content[..end].to_vec(),
        };
        for line in head.lines() {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                part.name = parameter(line, "name").unwrap_or_default();
                part.file_name = parameter(line, "filename");
            } else if lower.starts_with("content-type:") {
                part.content_type = Some(line["content-type:".len()..].trim().to_owned());
            }
        }
        parts.push(part);
        rest = &content[end..];
    }
    parts
}

impl FakeGraph {
    /// Serves `bytes` as media `id` with `mime_type`; returns their SHA-256 (hex),
    /// which the media info reports.
    pub fn add_media(&self, id: &str, mime_type: &str, bytes: &[u8]) -> String {
        let sha256 = hex::encode(Sha256::digest(bytes));
        self.lock().media.files.insert(
            id.to_owned(),
            MediaFile {
                mime_type: mime_type.to_owned(),
                bytes: bytes.to_vec(),
                sha256: sha256.clone(),
            },
        );
        sha256
    }

    /// Serves media `id` whose info gives `sha256` (e.g. a wrong one).
    pub fn add_media_claiming(&self, id: &str, mime_type: &str, bytes: &[u8], sha256: &str) {
        self.lock().media.files.insert(
            id.to_owned(),
            MediaFile {
                mime_type: mime_type.to_owned(),
                bytes: bytes.to_vec(),
                sha256: sha256.to_owned(),
            },
        );
    }

    /// Answers the next `n` byte downloads with HTTP 500.
    pub fn fail_downloads(&self, n: usize) {
        self.lock().media.failing_downloads = n;
    }

    /// How often the bytes of media `id` were served.
    #[must_use]
    pub fn downloads_of(&self, id: &str) -> usize {
        self.lock().media.downloads.get(id).copied().unwrap_or(0)
    }

    /// Answers the next upload with HTTP `status` and Graph error `code`.
    pub fn fail_next_upload(&self, status: u16, code: i64) {
        self.lock().media.failing_uploads.push((status, code));
    }

    /// Every accepted upload, in order.
    #[must_use]
    pub fn uploads(&self) -> Vec<Upload> {
        self.lock().media.uploads.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts_are_read_with_their_names_and_files() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nimage/png\r\n\
            --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\
            Content-Type: image/png\r\n\r\n\x89PNG\r\n\r\n--b--\r\n";
        let parts = parse_multipart(body, "b");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "type");
        assert_eq!(parts[0].body, b"image/png");
        assert_eq!(parts[1].file_name.as_deref(), Some("a.png"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        assert_eq!(parts[1].body, b"\x89PNG\r\n");
    }
}
