//! A real headless Chromium driven over WebDriver (chromedriver + `fantoccini`).
//!
//! [`Driver::start`] runs `chromedriver` on a free port; [`Driver::session`] opens a fresh
//! browser (own `--user-data-dir`, so sessions share nothing: no cookies, no storage).
//! Binaries: `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian packages `chromium`,
//! `chromium-driver`), overridable with `CHROMIUM_BIN` / `CHROMEDRIVER_BIN`.
//!
//! Nothing here skips: when Chromium cannot start the test panics with what is missing, so a
//! CI without a browser fails loudly instead of passing silently.
//!
//! Every wait is bounded ([`WAIT`]) and polls; there are no fixed sleeps.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// Default bound of a browser wait.
pub const WAIT: Duration = Duration::from_secs(10);
/// Pause between two polls.
const INTERVAL: Duration = Duration::from_millis(50);

/// The Chromium binary: `CHROMIUM_BIN` or `/usr/bin/chromium`.
#[must_use]
pub fn chromium_bin() -> PathBuf {
    std::env::var_os("CHROMIUM_BIN")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// The chromedriver binary: `CHROMEDRIVER_BIN` or `/usr/bin/chromedriver`.
#[must_use]
pub fn chromedriver_bin() -> PathBuf {
    std::env::var_os("CHROMEDRIVER_BIN")
        .map_or_else(|| PathBuf::from("/usr/bin/chromedriver"), PathBuf::from)
}

/// Whether screenshots should be written (`REPLYLINE_SCREENSHOTS=1`).
#[must_use]
pub fn screenshots_enabled() -> bool {
    std::env::var("REPLYLINE_SCREENSHOTS").is_ok_and(|v| v == "1")
}

/// `docs/screenshots/` of the workspace.
#[must_use]
pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots")
}

const HELP: &str = "install Chromium and its WebDriver (Debian/Ubuntu: `apt-get install -y chromium chromium-driver`) \
                    or point CHROMIUM_BIN / CHROMEDRIVER_BIN at them";

/// A running chromedriver.
pub struct Driver {
    child: Child,
    url: String,
    profiles: Vec<tempfile::TempDir>,
}

impl Driver {
    /// Starts chromedriver on a free port and waits until it answers `/status`.
    ///
    /// # Panics
    /// When Chromium or chromedriver is missing or chromedriver does not come up within 20 s.
    pub async fn start() -> Self {
        let chromium = chromium_bin();
        let driver = chromedriver_bin();
        assert!(
            chromium.exists(),
            "browser tests need Chromium at {}: {HELP}",
            chromium.display()
        );
        assert!(
            driver.exists(),
            "browser tests need chromedriver at {}: {HELP}",
            driver.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; {HELP}", driver.display()));
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http
                .get(format!("{url}/status"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if ready.is_some() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver ({}) did not answer on {url} within 20 s; {HELP}",
                driver.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            child,
            url,
            profiles: Vec::new(),
        }
    }

    /// Opens a new headless Chromium with a fresh profile.
    ///
    /// # Panics
    /// When the browser cannot start (the message says why and how to install it).
    pub async fn session(&mut self) -> Browser {
        let profile = tempfile::Builder::new()
            .prefix("replyline-chromium-")
            .tempdir()
            .expect("profile dir");
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1366,900",
            "--lang=ru-RU",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium_bin().display().to_string(),
                "args": args,
                "prefs": {"intl.accept_languages": "ru-RU,ru"},
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        // chromedriver listens on plain HTTP on loopback: no TLS stack needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "Chromium ({}) could not start through chromedriver: {e}; {HELP}",
                    chromium_bin().display()
                )
            });
        self.profiles.push(profile);
        Browser { client }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// `[data-testid="ID"]`.
#[must_use]
pub fn testid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// One browser session.
pub struct Browser {
    /// The WebDriver client, for anything the helpers do not cover.
    pub client: Client,
}

impl Browser {
    /// Opens `url`.
    ///
    /// # Panics
    /// On WebDriver errors.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and answers its result.
    ///
    /// # Panics
    /// On WebDriver or script errors.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until the page's live socket is connected (the header's dot is on).
    pub async fn wait_live(&self) {
        self.until("the live socket is connected", || async {
            let class = self
                .by_testid("live-status")
                .await
                .attr("class")
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            class.split_whitespace().any(|c| c == "on").then_some(())
        })
        .await;
    }

    /// Polls `probe` until it answers `Some` (at most [`WAIT`]).
    ///
    /// # Panics
    /// On timeout, naming `what` and showing the page's visible text.
    pub async fn until<T, F, Fut>(&self, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(v) = probe().await {
                return v;
            }
            if Instant::now() >= deadline {
                let url = self
                    .client
                    .current_url()
                    .await
                    .map(|u| u.to_string())
                    .unwrap_or_default();
                let text = self
                    .client
                    .execute(
                        "return document.body ? document.body.innerText : ''",
                        vec![],
                    )
                    .await
                    .unwrap_or(Value::Null);
                panic!(
                    "timed out after {WAIT:?} waiting for {what}\nat {url}\npage text:\n{}",
                    text.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(INTERVAL).await;
        }
    }

    /// The first visible element matching the CSS `selector`, waiting for it.
    ///
    /// # Panics
    /// When none shows up within [`WAIT`].
    pub async fn visible(&self, selector: &str) -> Element {
        self.until(&format!("a visible {selector}"), || async {
            let all = self.client.find_all(Locator::Css(selector)).await.ok()?;
            for el in all {
                if el.is_displayed().await.unwrap_or(false) {
                    return Some(el);
                }
            }
            None
        })
        .await
    }

    /// The element with `data-testid`, visible.
    pub async fn by_testid(&self, id: &str) -> Element {
        self.visible(&testid(id)).await
    }

    /// Scrolls `el` to the middle of the viewport (clear of sticky headers and save bars).
    pub async fn center(&self, el: &Element) {
        if let Ok(arg) = serde_json::to_value(el) {
            let _ = self
                .client
                .execute(
                    "arguments[0].scrollIntoView({block: 'center', inline: 'nearest'});",
                    vec![arg],
                )
                .await;
        }
    }

    /// Clicks the visible element with `data-testid`.
    ///
    /// # Panics
    /// When it does not show up or cannot be clicked.
    pub async fn click(&self, id: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let el = self.by_testid(id).await;
            self.center(&el).await;
            match el.click().await {
                Ok(()) => return,
                // The page moved between the scroll and the click (content loading above it):
                // scroll again and retry, within the usual bound.
                Err(e) if retryable(&e) && Instant::now() < deadline => {
                    tokio::time::sleep(INTERVAL).await;
                }
                Err(e) => panic!("click [{id}]: {e}"),
            }
        }
    }

    /// Clicks the visible element (of `selector`) whose text contains `text`.
    ///
    /// # Panics
    /// When none shows up within [`WAIT`].
    pub async fn click_text(&self, selector: &str, text: &str) {
        let el = self
            .until(&format!("{selector} with text {text:?}"), || async {
                let all = self.client.find_all(Locator::Css(selector)).await.ok()?;
                for el in all {
                    if el.is_displayed().await.unwrap_or(false)
                        && el.text().await.unwrap_or_default().contains(text)
                    {
                        return Some(el);
                    }
                }
                None
            })
            .await;
        self.click_el(&el, &format!("{text:?}")).await;
    }

    /// Replaces the value of the input with `data-testid` by typing `text`.
    ///
    /// # Panics
    /// On WebDriver errors.
    pub async fn fill(&self, id: &str, text: &str) {
        let el = self.by_testid(id).await;
        el.clear()
            .await
            .unwrap_or_else(|e| panic!("clear [{id}]: {e}"));
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into [{id}]: {e}"));
    }

    /// The visible text of the element with `data-testid`.
    pub async fn text(&self, id: &str) -> String {
        self.by_testid(id).await.text().await.unwrap_or_default()
    }

    /// Waits until the page's visible text contains `needle`.
    pub async fn wait_text(&self, needle: &str) {
        self.until(&format!("page text containing {needle:?}"), || async {
            let text = self
                .client
                .execute(
                    "return document.body ? document.body.innerText : ''",
                    vec![],
                )
                .await
                .ok()?;
            text.as_str()
                .is_some_and(|t| t.contains(needle))
                .then_some(())
        })
        .await;
    }

    /// Waits until the element with `data-testid` shows text containing `needle`.
    pub async fn wait_testid_text(&self, id: &str, needle: &str) -> String {
        let selector = testid(id);
        self.until(&format!("[{id}] containing {needle:?}"), || async {
            let all = self.client.find_all(Locator::Css(&selector)).await.ok()?;
            for el in all {
                let text = el.text().await.unwrap_or_default();
                if text.contains(needle) {
                    return Some(text);
                }
            }
            None
        })
        .await
    }

    /// How many elements match `selector` right now.
    pub async fn count(&self, selector: &str) -> usize {
        self.client
            .find_all(Locator::Css(selector))
            .await
            .map_or(0, |v| v.len())
    }

    /// Every element matching `selector`, waiting until there are more than `n` of them.
    ///
    /// # Panics
    /// When fewer show up within [`WAIT`].
    pub async fn at_least(&self, selector: &str, n: usize) -> Vec<Element> {
        self.until(&format!("more than {n} of {selector}"), || async {
            let all = self.client.find_all(Locator::Css(selector)).await.ok()?;
            (all.len() > n).then_some(all)
        })
        .await
    }

    /// The `n`-th (from 0) element with `data-testid`, waiting for it.
    pub async fn nth(&self, id: &str, n: usize) -> Element {
        self.at_least(&testid(id), n).await.swap_remove(n)
    }

    /// Clicks `el` after scrolling it to the middle of the viewport.
    ///
    /// # Panics
    /// When it cannot be clicked.
    pub async fn click_el(&self, el: &Element, what: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            self.center(el).await;
            match el.click().await {
                Ok(()) => return,
                Err(e) if retryable(&e) && !is_stale(&e) && Instant::now() < deadline => {
                    tokio::time::sleep(INTERVAL).await;
                }
                Err(e) => panic!("click {what}: {e}"),
            }
        }
    }

    /// Clicks the first visible element matching the CSS `selector`.
    pub async fn click_css(&self, selector: &str) {
        let el = self.visible(selector).await;
        self.click_el(&el, selector).await;
    }

    /// Chooses the option with `value` in the `<select>` `el` (as a user's click would).
    ///
    /// # Panics
    /// When there is no such option.
    pub async fn choose(&self, el: &Element, value: &str) {
        self.center(el).await;
        el.select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choose {value:?}: {e}"));
    }

    /// The `value` property of the first element matching `selector` ("" when none).
    pub async fn value_of(&self, selector: &str) -> String {
        self.js(
            "const el = document.querySelector(arguments[0]); return el ? String(el.value) : '';",
            vec![json!(selector)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Drags `handle` with a real pointer (WebDriver actions: move, press, move in steps,
    /// release) to `dy` pixels from the centre of `target`.
    ///
    /// # Panics
    /// On WebDriver errors.
    pub async fn drag(&self, handle: &Element, target: &Element, dy: i64) {
        self.center(handle).await;
        let step = if dy < 0 { -8 } else { 8 };
        let mouse = MouseActions::new("mouse".to_owned())
            .then(PointerAction::MoveToElement {
                element: handle.clone(),
                duration: None,
                x: 0,
                y: 0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::MoveBy {
                duration: Some(Duration::from_millis(100)),
                x: 0,
                y: step,
            })
            .then(PointerAction::MoveToElement {
                element: target.clone(),
                duration: Some(Duration::from_millis(400)),
                x: 0,
                y: dy,
            })
            .pause(Duration::from_millis(100))
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.client
            .perform_actions(mouse)
            .await
            .unwrap_or_else(|e| panic!("drag: {e}"));
        let _ = self.client.release_actions().await;
    }

    /// Switches the UI language with the header's button (RU ↔ EN).
    pub async fn switch_language(&self) {
        let before = self
            .js("return document.documentElement.lang", vec![])
            .await;
        self.click("lang-switch").await;
        self.until("the language switched", || async {
            let now = self
                .js("return document.documentElement.lang", vec![])
                .await;
            (now != before).then_some(())
        })
        .await;
    }

    /// A screenshot of a taller window with the element `id` at the top (below the header),
    /// named `NAME.png`; the window goes back to 1366x900 afterwards. Nothing without
    /// `REPLYLINE_SCREENSHOTS=1`.
    ///
    /// # Panics
    /// On WebDriver errors.
    pub async fn screenshot_at(&self, name: &str, id: &str, height: u32) {
        if !screenshots_enabled() {
            return;
        }
        self.client
            .set_window_size(1366, height)
            .await
            .expect("resize");
        self.js(
            "const el = document.querySelector(arguments[0]); if (el) { el.scrollIntoView({block: 'start'}); window.scrollBy(0, -72); }",
            vec![json!(testid(id))],
        )
        .await;
        self.screenshot(name).await;
        self.client
            .set_window_size(1366, 900)
            .await
            .expect("resize");
    }

    /// Chooses the file at `path` in the `<input type=file>` with `data-testid` (WebDriver
    /// "send keys" of the path; the input may be visually hidden).
    ///
    /// # Panics
    /// When the input is missing or chromedriver refuses the file.
    pub async fn choose_file(&self, id: &str, path: &Path) {
        let el = self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(fantoccini::Locator::Css(&testid(id)))
            .await
            .unwrap_or_else(|e| panic!("file input [{id}]: {e}"));
        el.send_keys(&path.display().to_string())
            .await
            .unwrap_or_else(|e| panic!("choose {} in [{id}]: {e}", path.display()));
    }

    /// Runs `script` as an async function body (`await` allowed; the arguments are `args[i]`)
    /// and answers what it returns (a rejection answers `{"error": "..."}`).
    ///
    /// # Panics
    /// On a WebDriver error.
    pub async fn js_async(&self, script: &str, args: Vec<Value>) -> Value {
        let wrapped = format!(
            "const done = arguments[arguments.length - 1]; const args = Array.from(arguments).slice(0, -1); \
             (async (args) => {{ {script} }})(args).then(done, (e) => done({{error: String(e)}}));"
        );
        self.client
            .execute_async(&wrapped, args)
            .await
            .unwrap_or_else(|e| panic!("js_async: {e}"))
    }

    /// Logs in as the test server's first admin (`ADMIN_EMAIL`, `ADMIN_PASSWORD`).
    pub async fn login_admin(&self, base_url: &str) {
        self.login(
            base_url,
            crate::server::ADMIN_EMAIL,
            crate::server::ADMIN_PASSWORD,
        )
        .await;
    }

    /// Logs in through the login form at `base_url` and waits for the inbox.
    pub async fn login(&self, base_url: &str, email: &str, password: &str) {
        self.goto(&format!("{base_url}/")).await;
        self.fill("login-email", email).await;
        self.fill("login-password", password).await;
        self.click("login-submit").await;
        self.by_testid("me-name").await;
        self.by_testid("inbox-list").await;
    }

    /// Writes a PNG of the page to `docs/screenshots/NAME.png` when `REPLYLINE_SCREENSHOTS=1`.
    ///
    /// # Panics
    /// When the screenshot cannot be taken or written.
    pub async fn screenshot(&self, name: &str) {
        if !screenshots_enabled() {
            return;
        }
        // Let fonts and the last render settle (bounded: one animation frame pair).
        let _ = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await;
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path: PathBuf = dir.join(format!("{name}.png"));
        write(&path, &png);
    }

    /// Ends the session (closes the browser).
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// A click that failed because something covered the element for a moment, or the element was
/// re-rendered: worth another try.
fn retryable(e: &fantoccini::error::CmdError) -> bool {
    let text = e.to_string();
    text.contains("click intercepted") || text.contains("not interactable") || is_stale(e)
}

fn is_stale(e: &fantoccini::error::CmdError) -> bool {
    e.to_string().contains("stale element")
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}
