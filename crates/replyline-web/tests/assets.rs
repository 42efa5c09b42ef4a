//! Serves every embedded asset through the router and checks the app's references and strings.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use replyline_web::{ASSETS, asset, content_type_for, router};
use tower::ServiceExt;

fn assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")
}

/// Every file under `assets/`, as paths relative to it with `/` separators.
fn files_on_disk() -> BTreeSet<String> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("read assets dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                let rel = path.strip_prefix(base).expect("under assets");
                let rel = rel.to_string_lossy().replace('\\', "/");
                out.insert(rel);
            }
        }
    }
    let mut out = BTreeSet::new();
    let dir = assets_dir();
    walk(&dir, &dir, &mut out);
    out
}

async fn get(uri: &str, if_none_match: Option<&str>) -> axum::response::Response {
    let mut req = Request::builder().uri(uri);
    if let Some(tag) = if_none_match {
        req = req.header(header::IF_NONE_MATCH, tag);
    }
    router()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("infallible")
}

fn text_of(path: &str) -> &'static str {
    std::str::from_utf8(asset(path).expect("embedded").body).expect("utf-8")
}

#[test]
fn the_table_lists_every_file_of_the_folder() {
    let embedded: BTreeSet<String> = ASSETS.iter().map(|a| a.path.to_owned()).collect();
    assert_eq!(embedded.len(), ASSETS.len(), "an asset is listed twice");
    assert_eq!(embedded, files_on_disk(), "assets/ and ASSETS differ");
}

#[tokio::test]
async fn every_asset_is_served_with_its_content_type_and_cache_headers() {
    for a in ASSETS {
        let uri = if a.path == "index.html" {
            "/".to_owned()
        } else {
            format!("/assets/{}", a.path)
        };
        let res = get(&uri, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{uri}");
        let expected = match a.path.rsplit('.').next() {
            Some("html") => "text/html; charset=utf-8",
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            other => panic!("unexpected asset type {other:?} for {}", a.path),
        };
        assert_eq!(res.headers()[header::CONTENT_TYPE], expected, "{uri}");
        assert_eq!(content_type_for(a.path), expected);
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache", "{uri}");
        assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let etag = res.headers()[header::ETAG]
            .to_str()
            .expect("ascii")
            .to_owned();
        let body = res.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(&body[..], a.body, "{uri}");

        let again = get(&uri, Some(&etag)).await;
        assert_eq!(
            again.status(),
            StatusCode::NOT_MODIFIED,
            "{uri} revalidation"
        );
    }
}

#[tokio::test]
async fn the_page_has_a_strict_content_security_policy() {
    let res = get("/", None).await;
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ascii");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
}

#[tokio::test]
async fn unknown_assets_are_404() {
    for uri in [
        "/assets/nope.js",
        "/assets/../Cargo.toml",
        "/assets/index.html",
    ] {
        assert_eq!(
            get(uri, None).await.status(),
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
}

/// Values of `attr="..."` in an HTML text.
fn attribute_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!("{attr}=\"");
    html.match_indices(&needle)
        .filter_map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

#[test]
fn index_references_only_existing_assets() {
    let html = text_of("index.html");
    let mut refs: Vec<&str> = attribute_values(html, "src");
    refs.extend(attribute_values(html, "href"));
    let mut checked = 0;
    for r in refs {
        if r.starts_with('#') {
            continue;
        }
        let path = r
            .strip_prefix("/assets/")
            .unwrap_or_else(|| panic!("index.html refers outside /assets/: {r}"));
        assert!(
            asset(path).is_some(),
            "index.html refers to a missing asset {r}"
        );
        checked += 1;
    }
    assert!(checked >= 3, "index.html should load the css, icon and app");
    assert!(html.contains("src=\"/assets/app.js\""));
}

/// Resolves `./x.js` / `../x.js` relative to the importing module.
fn resolve(from: &str, spec: &str) -> String {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for seg in spec.split('/') {
        match seg {
            "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

#[test]
fn module_imports_and_absolute_asset_urls_resolve() {
    for a in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
        let src = text_of(a.path);
        for (i, _) in src.match_indices(" from \"") {
            let rest = &src[i + 7..];
            let spec = &rest[..rest.find('"').expect("closing quote")];
            assert!(
                spec.starts_with("./") || spec.starts_with("../"),
                "{}: bare import {spec} (no bundler, no CDN)",
                a.path
            );
            let target = resolve(a.path, spec);
            assert!(
                asset(&target).is_some(),
                "{} imports missing {target}",
                a.path
            );
        }
        for (i, _) in src.match_indices("\"/assets/") {
            let rest = &src[i + 9..];
            let path = &rest[..rest.find('"').expect("closing quote")];
            assert!(asset(path).is_some(), "{} refers to missing {path}", a.path);
        }
        // The SVG namespace is an identifier, not a fetch; nothing else may point off-site.
        let without_ns = src.replace("\"http://www.w3.org/2000/svg\"", "");
        assert!(
            !without_ns.contains("http://") && !without_ns.contains("https://cdn"),
            "{}: no external URLs",
            a.path
        );
    }
}

/// Keys of the dictionary in i18n.js: lines `"key": ["ru", "en"],`.
fn dictionary() -> BTreeSet<String> {
    let src = text_of("i18n.js");
    let mut keys = BTreeSet::new();
    for line in src.lines() {
        let line = line.trim();
        if !line.starts_with('"') || !line.contains("\": [") {
            continue;
        }
        let key = &line[1..line.find("\": [").expect("entry")];
        let value = &line[key.len() + 4..];
        assert!(
            value.starts_with("[\"") && value.trim_end_matches(',').ends_with("\"]"),
            "malformed entry {line}"
        );
        let inner = &value.trim_end_matches(',')[2..value.trim_end_matches(',').len() - 2];
        let texts: Vec<&str> = inner.split("\", \"").collect();
        assert_eq!(texts.len(), 2, "{key} needs exactly ru and en: {line}");
        assert!(
            texts.iter().all(|s| !s.is_empty()),
            "{key} has an empty text"
        );
        assert!(keys.insert(key.to_owned()), "duplicate key {key}");
    }
    assert!(keys.len() > 100, "dictionary not found");
    keys
}

#[test]
fn every_literal_string_key_is_in_the_dictionary_in_both_languages() {
    let keys = dictionary();
    let mut used = 0;
    for a in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
        let src = text_of(a.path);
        for pat in ["t(\"", "has(\"", "key: \""] {
            for (i, _) in src.match_indices(pat) {
                let before = src[..i].chars().last();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                    continue;
                }
                let rest = &src[i + pat.len()..];
                let key = &rest[..rest.find('"').expect("closing quote")];
                assert!(keys.contains(key), "{}: missing i18n key {key}", a.path);
                used += 1;
            }
        }
    }
    assert!(used > 100);
}

#[test]
fn the_exact_settings_names_of_the_spec_are_there() {
    let keys = dictionary();
    let src = text_of("i18n.js");
    for text in [
        "Звонки и сообщения",
        "Настройки мессенджера",
        "Показать другие настройки",
        "Автоматические действия",
        "Контроль и уведомления",
        "Вид исходящего сообщения",
        "Приветствие",
        "Если сотрудники не отвечают",
        "Завершение чата",
        "Завершить чат",
        "Окно 24 часа закрыто: клиент писал более суток назад",
        "Приветствие отправлено",
        "Сообщение о завершении не отправлено",
        "прошло более 24 часов",
        "Правила маршрутизации сообщений",
        "Message routing rules",
        "Группы пользователей",
        "Очередь сотрудников",
        "Employee queue",
        "Учётная запись",
        "Любая",
        "Добавить правило",
        "Руководитель",
        "Руководитель сотрудника",
        "The employee's manager",
        "Текст уведомления",
        "Другое…",
        "Other…",
    ] {
        assert!(src.contains(&format!("\"{text}\"")), "missing text {text}");
    }
    // Every rule and reason of the engine has a sentence.
    for rule in [
        "greeting",
        "no_reply",
        "closing",
        "out_of_hours",
        "notify_manager_first",
        "notify_manager_next",
        "escalation",
        "auto_close",
        "reopen",
    ] {
        for outcome in ["fired", "suppressed"] {
            assert!(
                keys.contains(&format!("rule.{rule}.{outcome}")),
                "{rule}.{outcome}"
            );
        }
    }
    for reason in [
        "outside_24h_window",
        "rule_disabled",
        "conversation_closed",
        "template_fallback",
        "replaced_by_out_of_hours",
        "reopened",
        "already_sent_this_period",
        "employee_active_this_period",
        "no_recipients",
        "not_on_auto_close",
        "wait_unanswered",
        "conversation_opened",
        "closed_by_employee",
        "auto_closed",
        "inactivity",
        "outside_working_hours",
        "within_reopen_window",
    ] {
        assert!(
            keys.contains(&format!("reason.{reason}")),
            "reason {reason}"
        );
    }
}

#[test]
fn the_test_ids_the_browser_tests_rely_on_exist() {
    let all: String = ASSETS
        .iter()
        .filter(|a| a.path.ends_with(".js"))
        .map(|a| text_of(a.path))
        .collect();
    for id in [
        "menu-calls",
        "messenger-settings",
        "show-more-settings",
        "greeting-enabled",
        "greeting-text",
        "sign-enabled",
        "settings-save",
        "inbox-row",
        "reply-input",
        "end-chat",
        "bell",
        "bell-count",
        "notification-item",
        "login-email",
        "login-password",
        "login-submit",
        "lang-switch",
        // control rules: chosen managers, notification text and its preview, delays
        "notify-first-enabled",
        "notify-first-managers",
        "notify-first-text",
        "notify-first-delay",
        "notify-next-managers",
        "notify-next-text",
        "notify-next-delay",
        "settings-status",
        // routing rules and groups
        "routing-rules-link",
        "groups-link",
        "routing-rules",
        "routing-rules-empty",
        "routing-rule",
        "routing-rule-handle",
        "routing-rule-priority",
        "routing-rule-keywords",
        "routing-rule-keywords-input",
        "routing-rule-channel",
        "routing-rule-target",
        "routing-rule-up",
        "routing-rule-down",
        "routing-rule-delete",
        "routing-rule-add",
        "routing-save",
        "routing-status",
        "groups",
        "group-row",
        "group-name",
        "group-member",
        "group-save",
        "group-edit",
        "group-delete",
        "group-delete-confirm",
        "group-row-error",
        // the queue of a channel and the channels of an employee
        "channel-queue",
        "channel-queue-toggle",
        "channel-queue-member",
        "channel-queue-save",
        "channel-queue-status",
        "employee-channel",
        "employee-edit",
        "employee-status",
        "channel-list",
        // notifications with their text
        "notification-text",
        "notification-reason",
        "timeline-item",
    ] {
        assert!(
            all.contains(&format!("\"{id}\"")),
            "data-testid {id} missing"
        );
    }
    // Widgets derive their parts' ids from the id they are given: `${testid}-add`, ...
    for (module, suffixes) in [
        (
            "widgets.js",
            &[
                "add", "search", "option", "chip", "remove", "empty", "error", "value", "unit",
                "input",
            ][..],
        ),
        ("views/settings.js", &["preview"][..]),
    ] {
        let src = text_of(module);
        for suffix in suffixes {
            assert!(
                src.contains(&format!("`${{testid}}-{suffix}`")),
                "{module}: the {suffix} part's test id"
            );
        }
    }
}

/// Keys built at run time (`delay.unit.${u}`, plural forms) exist, with the forms they need.
#[test]
fn computed_keys_and_plural_forms_are_in_the_dictionary() {
    let keys = dictionary();
    for unit in ["seconds", "minutes", "hours", "days"] {
        assert!(
            keys.contains(&format!("delay.unit.{unit}")),
            "delay.unit.{unit}"
        );
    }
    let src = text_of("i18n.js");
    for key in [
        "unit.second",
        "unit.minute",
        "unit.hour",
        "unit.day",
        "unit.person",
    ] {
        let line = src
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("\"{key}\": [")))
            .unwrap_or_else(|| panic!("missing {key}"));
        let value = &line[line.find(": [").expect("entry") + 3..];
        let texts: Vec<&str> = value
            .trim_end()
            .trim_end_matches(',')
            .trim_end_matches(']')
            .split("\", \"")
            .collect();
        assert_eq!(texts.len(), 2, "{key}");
        assert_eq!(texts[0].matches('|').count(), 2, "{key}: ru one|few|many");
        assert_eq!(texts[1].matches('|').count(), 1, "{key}: en one|other");
    }
    // The delay select offers exactly the common values of the brief.
    let widgets = text_of("widgets.js");
    assert!(
        widgets.contains("DELAY_PRESETS = [60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 86400]"),
        "delay presets"
    );
}
