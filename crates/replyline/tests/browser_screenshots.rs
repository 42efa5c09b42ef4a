//! Every page of the web workspace in a real headless Chromium at a laptop (1366×768) and a
//! phone (390×844) viewport: each page renders its heading and content, and none scrolls
//! sideways on the phone. With `REPLYLINE_SCREENSHOTS=1` the pictures are written to
//! `docs/screenshots/NAME-1366x768.png` and `NAME-390x844.png`.
//!
//! Needs Chromium and chromedriver (see `browser.rs`); fails, never skips.

use replyline_e2e::browser::{Browser, Driver, screenshots_enabled, testid};
use replyline_e2e::server::{Server, ServerOpts};
use replyline_e2e::setup::{Env, id_of};
use serde_json::json;

const SIZES: [(u32, u32); 2] = [(1366, 768), (390, 844)];
const CLIENT: &str = "79001234567";

/// Sets the viewport (not the outer window) to `w`×`h`.
async fn viewport(b: &Browser, w: u32, h: u32) {
    b.client.set_window_size(w, h).await.expect("resize");
    let inner = b
        .js("return [window.innerWidth, window.innerHeight]", vec![])
        .await;
    let iw = inner[0].as_u64().unwrap_or(u64::from(w));
    let ih = inner[1].as_u64().unwrap_or(u64::from(h));
    let (dw, dh) = (
        u64::from(w).saturating_sub(iw),
        u64::from(h).saturating_sub(ih),
    );
    if dw > 0 || dh > 0 {
        let (w2, h2) = (u64::from(w) + dw, u64::from(h) + dh);
        b.client
            .set_window_size(
                u32::try_from(w2).unwrap_or(w),
                u32::try_from(h2).unwrap_or(h),
            )
            .await
            .expect("resize");
    }
}

/// How far the page scrolls sideways (0 = it fits).
async fn overflow(b: &Browser) -> i64 {
    b.js(
        "return Math.max(0, document.documentElement.scrollWidth - window.innerWidth);",
        vec![],
    )
    .await
    .as_i64()
    .unwrap_or(0)
}

/// One page: how to reach it and what shows it is ready.
struct Page {
    name: &'static str,
    path: String,
    ready: String,
    /// Scroll the element of this CSS selector to the top before the picture (else the page top).
    focus: Option<String>,
}

fn page(name: &'static str, path: impl Into<String>, ready: impl Into<String>) -> Page {
    Page {
        name,
        path: path.into(),
        ready: ready.into(),
        focus: None,
    }
}

/// Visits `p` in `b`, takes both sizes, and answers the widths that overflowed.
async fn shoot(b: &Browser, base: &str, p: &Page, problems: &mut Vec<String>) {
    if !p.path.is_empty() {
        b.goto(&format!("{base}/#{}", p.path)).await;
    }
    b.visible(&p.ready).await;
    b.visible("main h1").await;
    for (w, h) in SIZES {
        viewport(b, w, h).await;
        // Let the layout settle at the new width, then frame the picture.
        b.js(
            "const el = arguments[0] ? document.querySelector(arguments[0]) : null; \
             if (el) { el.scrollIntoView({block: 'start'}); window.scrollBy(0, -72); } else window.scrollTo(0, 0);",
            vec![json!(p.focus)],
        )
        .await;
        let over = overflow(b).await;
        if over > 1 {
            problems.push(format!(
                "{} at {w}x{h} scrolls sideways by {over} px",
                p.name
            ));
        }
        b.screenshot(&format!("{}-{w}x{h}", p.name)).await;
    }
    viewport(b, 1366, 900).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_at_laptop_and_phone_width() {
    let env = Env::start(&json!({
        "greeting": {"enabled": true},
        "notify_manager_first": {"enabled": true, "after_seconds": 60},
    }))
    .await;
    let base = env.server.base_url().to_owned();
    env.client_says(
        CLIENT,
        Some("Анна Кузнецова"),
        "Здравствуйте! Где мой заказ 1042?",
    )
    .await;
    let conv = env.conversation_of(CLIENT).await;
    let conv_id = id_of(&conv);
    let resp = env.admin.assign(&conv_id, Some(&env.ivan.id)).await;
    assert!(resp.0.is_success(), "assign: {:?}", resp);
    env.advance(61).await;
    // Something for the audit page and a quick reply for its page.
    env.put_settings(&json!({"closing": {"enabled": true}}))
        .await;
    let ivan_api = env.login(&env.ivan).await;
    let (status, qr) = ivan_api
        .post(
            "/api/v1/quick-replies",
            &json!({"title": "Доставка", "text": "Здравствуйте, {client_name}! Заказ уже в пути."}),
        )
        .await;
    assert!(
        status.is_success() || status.as_u16() == 404,
        "{status} {qr}"
    );

    let mut driver = Driver::start().await;
    let mut problems = Vec::new();

    let guest = driver.session().await;
    guest.goto(&format!("{base}/")).await;
    shoot(
        &guest,
        &base,
        &page("login", "", testid("login-submit")),
        &mut problems,
    )
    .await;
    guest.close().await;

    let ivan = driver.session().await;
    ivan.login(&base, &env.ivan.email, &env.ivan.password).await;
    for p in [
        page("inbox", "/inbox", testid("inbox-row")),
        page("chat", format!("/chat/{conv_id}"), "main textarea"),
        page("search", "/search/заказ", "main h1"),
        page("quick-replies", "/quick-replies", "main h1"),
        page("profile", "/profile", testid("profile-page")),
    ] {
        shoot(&ivan, &base, &p, &mut problems).await;
    }
    // The profile in English too (the language is kept for the session's browser).
    ivan.switch_language().await;
    shoot(
        &ivan,
        &base,
        &page("profile-en", "/profile", testid("profile-page")),
        &mut problems,
    )
    .await;
    ivan.close().await;

    let olga = driver.session().await;
    olga.login(&base, &env.olga.email, &env.olga.password).await;
    shoot(
        &olga,
        &base,
        &page("notifications", "/notifications", "main h1"),
        &mut problems,
    )
    .await;
    olga.close().await;

    let admin = driver.session().await;
    admin.login_admin(&base).await;
    let ch = &env.channel_id;
    for p in [
        page("calls", "/calls", testid("messenger-settings")),
        page(
            "messenger-channels",
            "/calls/messenger",
            testid("settings-channel"),
        ),
        page(
            "messenger-settings-page",
            format!("/calls/messenger/{ch}"),
            testid("show-more-settings"),
        ),
        page("routing", "/calls/messenger/routing", "main h1"),
        Page {
            focus: Some(testid("groups-list")),
            ..page("groups", "/calls/messenger/groups", "main h1")
        },
        page("channels-list", "/admin/channels", testid("channel-row")),
        page(
            "channel-page",
            format!("/admin/channels/{ch}"),
            testid("channel-secrets"),
        ),
        Page {
            focus: Some(testid("channel-edit-waba-id")),
            ..page(
                "channel-throughput",
                format!("/admin/channels/{ch}"),
                testid("channel-secrets"),
            )
        },
        page("employees-list", "/admin/employees", testid("employee-row")),
        page("audit", "/admin/audit", testid("audit-entry")),
    ] {
        shoot(&admin, &base, &p, &mut problems).await;
    }
    // The employee form, opened on Ivan.
    admin.goto(&format!("{base}/#/admin/employees")).await;
    let row = format!(
        "[data-testid=\"employee-row\"][data-employee-id=\"{}\"] [data-testid=\"employee-edit\"]",
        env.ivan.id
    );
    admin.click_css(&row).await;
    let form = Page {
        name: "employee-form",
        path: String::new(),
        ready: testid("employee-save"),
        focus: Some("#employee-form-title".to_owned()),
    };
    shoot(&admin, &base, &form, &mut problems).await;
    admin.switch_language().await;
    for p in [
        page(
            "channel-page-en",
            format!("/admin/channels/{ch}"),
            testid("channel-secrets"),
        ),
        page("audit-en", "/admin/audit", testid("audit-entry")),
    ] {
        shoot(&admin, &base, &p, &mut problems).await;
    }
    admin.close().await;

    // A fresh install: the first-run checklist above the inbox.
    let fresh = Server::start(ServerOpts::default()).await;
    let first = driver.session().await;
    first.login_admin(fresh.base_url()).await;
    shoot(
        &first,
        fresh.base_url(),
        &page("first-run", "/inbox", testid("firstrun")),
        &mut problems,
    )
    .await;
    first.close().await;

    assert!(
        problems.is_empty(),
        "layout problems:\n{}",
        problems.join("\n")
    );
    if screenshots_enabled() {
        eprintln!(
            "screenshots written to {}",
            replyline_e2e::browser::screenshot_dir().display()
        );
    }
}
