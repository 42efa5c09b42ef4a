//! Replyline web workspace: the single-page app embedded in the binary and served by axum.
//!
//! The app is plain HTML, CSS and vanilla JavaScript ES modules under `assets/`; nothing is
//! bundled or transpiled, so no Node.js is needed to build or run it. Every file is compiled
//! into the binary with `include_bytes!` (see [`ASSETS`]); a test checks that the table lists
//! every file of the folder.
//!
//! Mount it next to the API with `.merge(replyline_web::router())` (after `.with_state(..)`),
//! or use [`routes`] to get a router for any state type.

use axum::{
    Router,
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

/// One embedded file of the web app.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Path below `/assets/`, e.g. `views/chat.js`.
    pub path: &'static str,
    /// The `Content-Type` it is served with.
    pub content_type: &'static str,
    /// The file's bytes.
    pub body: &'static [u8],
    /// FNV-1a hash of the bytes, used as the strong `ETag`.
    pub hash: u64,
}

/// FNV-1a 64-bit hash, computed at compile time for the `ETag` of every asset.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The `Content-Type` for a file name, by its extension.
pub const fn content_type_for(path: &str) -> &'static str {
    let b = path.as_bytes();
    if ends_with(b, b".html") {
        "text/html; charset=utf-8"
    } else if ends_with(b, b".js") {
        "text/javascript; charset=utf-8"
    } else if ends_with(b, b".css") {
        "text/css; charset=utf-8"
    } else if ends_with(b, b".svg") {
        "image/svg+xml"
    } else if ends_with(b, b".json") || ends_with(b, b".webmanifest") {
        "application/json"
    } else if ends_with(b, b".png") {
        "image/png"
    } else if ends_with(b, b".woff2") {
        "font/woff2"
    } else {
        "application/octet-stream"
    }
}

const fn ends_with(s: &[u8], suffix: &[u8]) -> bool {
    if s.len() < suffix.len() {
        return false;
    }
    let off = s.len() - suffix.len();
    let mut i = 0;
    while i < suffix.len() {
        if s[off + i] != suffix[i] {
            return false;
        }
        i += 1;
    }
    true
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(Asset {
            path: $path,
            content_type: content_type_for($path),
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path)),
            hash: fnv1a(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path))),
        }),*]
    };
}

/// Every file of the app. `index.html` is served at `/`, the others at `/assets/PATH`.
pub static ASSETS: &[Asset] = assets![
    "index.html",
    "app.css",
    "favicon.svg",
    "i18n.js",
    "api.js",
    "dom.js",
    "live.js",
    "app.js",
    "timeline.js",
    "widgets.js",
    "views/login.js",
    "views/inbox.js",
    "views/chat.js",
    "views/notifications.js",
    "views/channels.js",
    "views/employees.js",
    "views/calls.js",
    "views/settings.js",
    "views/routing.js",
    "alerts.js",
    "views/search.js",
    "views/quick_replies.js",
    "errors.js",
    "views/profile.js",
    "views/audit.js",
    "views/firstrun.js",
    "views/media.js",
    "views/wa_templates.js",
    "health.js",
];

/// Looks an embedded file up by its path below `/assets/`.
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// Content-Security-Policy of the page: everything from this origin, nothing inline.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; \
                   frame-ancestors 'none'; form-action 'self'";

/// The SPA router with no state: `GET /`, `GET /index.html` and `GET /assets/{*path}`.
pub fn router() -> Router {
    routes()
}

/// The same routes for a router of any state type, for servers that merge before `with_state`.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/assets/{*path}", get(static_file))
}

async fn index(headers: HeaderMap) -> Response {
    let Some(asset) = asset("index.html") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = serve(asset, &headers);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn static_file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match asset(&path) {
        Some(asset) if asset.path != "index.html" => serve(asset, &headers),
        _ => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found",
        )
            .into_response(),
    }
}

/// Serves one asset with its type, a strong `ETag` and `Cache-Control: no-cache` (the file
/// names are not fingerprinted, so browsers revalidate and get a cheap 304 when unchanged).
fn serve(asset: &'static Asset, headers: &HeaderMap) -> Response {
    let etag = format!("\"{:016x}\"", asset.hash);
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let common = [
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    if not_modified {
        return (StatusCode::NOT_MODIFIED, common, [(header::ETAG, etag)]).into_response();
    }
    (
        StatusCode::OK,
        common,
        [
            (header::ETAG, etag),
            (header::CONTENT_TYPE, asset.content_type.to_owned()),
        ],
        asset.body,
    )
        .into_response()
}
