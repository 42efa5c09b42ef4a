//! Telegram Bot API delivery (`sendMessage`) and WhatsApp-to-Telegram markup
//! conversion.
//!
//! Error mapping (docs/channels.md §2): 429 → retryable after `retry_after`;
//! 401 (bad token) and 403 (bot blocked by the user) → permanent; other 4xx →
//! permanent; 5xx, timeouts and connection failures → retryable. Error
//! messages never contain the bot token.

use crate::{DeliveryError, snippet};
use serde::Deserialize;
use serde_json::json;
use std::fmt;
use std::time::Duration;

/// Default base URL of the Bot API (`telegram_api_base_url`).
pub const DEFAULT_API_BASE_URL: &str = "https://api.telegram.org";

/// Longest text `sendMessage` accepts.
pub const MAX_TEXT_CHARS: usize = 4096;

/// Default timeout of one `sendMessage` request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends messages on behalf of one bot.
#[derive(Clone)]
pub struct TelegramSender {
    http: reqwest::Client,
    api_base_url: String,
    bot_token: String,
    timeout: Duration,
}

impl fmt::Debug for TelegramSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramSender")
            .field("api_base_url", &self.api_base_url)
            .field("bot_token", &"***")
            .finish()
    }
}

#[derive(Deserialize)]
struct ApiResponse {
    ok: bool,
    #[serde(default)]
    result: Option<SentMessage>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<ResponseParameters>,
}

#[derive(Deserialize)]
struct SentMessage {
    message_id: i64,
}

#[derive(Deserialize)]
struct ResponseParameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

impl TelegramSender {
    /// `api_base_url` is e.g. `https://api.telegram.org` (a trailing `/` is
    /// ignored); requests go to `{base}/bot{token}/sendMessage`.
    pub fn new(http: reqwest::Client, api_base_url: &str, bot_token: &str) -> Self {
        Self {
            http,
            api_base_url: api_base_url.trim().trim_end_matches('/').to_owned(),
            bot_token: bot_token.trim().to_owned(),
            timeout: REQUEST_TIMEOUT,
        }
    }

    /// Overrides the per-request timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends `text` to `chat_id`; with `html` the text is sent with
    /// `parse_mode: "HTML"` (it must already be escaped, see
    /// [`whatsapp_markup_to_telegram_html`]). Plain text longer than 4096
    /// characters is shortened with `…`; HTML that long is rejected as
    /// permanent because cutting it could break tags. Returns the
    /// `message_id` of the sent message.
    pub async fn send_message(
        &self,
        chat_id: i64,
        text: &str,
        html: bool,
    ) -> Result<i64, DeliveryError> {
        if text.trim().is_empty() {
            return Err(DeliveryError::permanent("telegram: message text is empty"));
        }
        let text = if text.chars().count() > MAX_TEXT_CHARS {
            if html {
                return Err(DeliveryError::permanent(format!(
                    "telegram: HTML text longer than {MAX_TEXT_CHARS} characters"
                )));
            }
            let mut short: String = text.chars().take(MAX_TEXT_CHARS - 1).collect();
            short.push('…');
            short
        } else {
            text.to_owned()
        };
        let mut body = json!({ "chat_id": chat_id, "text": text });
        if html {
            body["parse_mode"] = json!("HTML");
        }
        let url = format!("{}/bot{}/sendMessage", self.api_base_url, self.bot_token);
        let response = self
            .http
            .post(url)
            .timeout(self.timeout)
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error(e, &self.bot_token))?;
        let status = response.status();
        let header_retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let raw = response
            .bytes()
            .await
            .map_err(|e| transport_error(e, &self.bot_token))?;
        let parsed: Option<ApiResponse> = serde_json::from_slice(&raw).ok();

        if status.is_success() {
            return match parsed {
                Some(ApiResponse {
                    ok: true,
                    result: Some(SentMessage { message_id }),
                    ..
                }) => Ok(message_id),
                // The message may have been sent: do not retry and risk a duplicate.
                _ => Err(DeliveryError::permanent(format!(
                    "telegram: unexpected sendMessage response (HTTP {}): {}",
                    status.as_u16(),
                    snippet(&String::from_utf8_lossy(&raw), 200)
                ))),
            };
        }

        let description = parsed
            .as_ref()
            .and_then(|r| r.description.clone())
            .unwrap_or_else(|| snippet(&String::from_utf8_lossy(&raw), 200));
        let description = description.replace(&self.bot_token, "***");
        let code = status.as_u16();
        Err(match code {
            429 => {
                let retry_after = parsed
                    .as_ref()
                    .and_then(|r| r.parameters.as_ref())
                    .and_then(|p| p.retry_after)
                    .or(header_retry_after)
                    .map(Duration::from_secs);
                DeliveryError::retryable(format!("telegram: rate limited (429): {description}"))
                    .with_retry_after(retry_after)
            }
            401 => DeliveryError::permanent(format!(
                "telegram: bot token rejected (401): {description}"
            )),
            403 => DeliveryError::permanent(format!(
                "telegram: bot was blocked or cannot write to the chat (403): {description}"
            )),
            400..=499 => DeliveryError::permanent(format!(
                "telegram: request rejected ({code}): {description}"
            )),
            500..=599 => {
                DeliveryError::retryable(format!("telegram: server error ({code}): {description}"))
            }
            _ => {
                DeliveryError::permanent(format!("telegram: unexpected HTTP {code}: {description}"))
            }
        })
    }
}

fn transport_error(e: reqwest::Error, token: &str) -> DeliveryError {
    let builder = e.is_builder();
    let text = format!("telegram: {}", e.without_url()).replace(token, "***");
    if builder {
        DeliveryError::permanent(text)
    } else {
        DeliveryError::retryable(text)
    }
}

/// Converts WhatsApp formatting to Telegram HTML: `*bold*` → `<b>`,
/// `_italic_` → `<i>`, `~strike~` → `<s>`, ```` ```mono``` ```` → `<pre>`,
/// `` `code` `` → `<code>`; `<`, `>` and `&` are escaped everywhere else.
///
/// A marker opens only at the start of the text or after a character that is
/// not a letter or digit, and must be followed by a non-space; it closes before
/// a non-letter/digit (or the end) and after a non-space, on the same line —
/// so `snake_case`, `2*3*4` and `a * b` stay as they are. Markers nest
/// (`*_both_*`). Unmatched markers are kept literally.
pub fn whatsapp_markup_to_telegram_html(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    convert(&chars, &mut out);
    out
}

fn escape_into(c: char, out: &mut String) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        _ => out.push(c),
    }
}

fn convert(chars: &[char], out: &mut String) {
    const FENCE: [char; 3] = ['`', '`', '`'];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // ```preformatted``` (may span lines, content is not parsed further).
        if c == '`'
            && chars[i..].starts_with(&FENCE)
            && let Some(end) = find_seq(chars, i + 3, &FENCE)
            && end > i + 3
        {
            out.push_str("<pre>");
            chars[i + 3..end].iter().for_each(|&c| escape_into(c, out));
            out.push_str("</pre>");
            i = end + 3;
            continue;
        }
        if c == '`'
            && let Some(end) = find_close(chars, i, '`')
        {
            out.push_str("<code>");
            chars[i + 1..end].iter().for_each(|&c| escape_into(c, out));
            out.push_str("</code>");
            i = end + 1;
            continue;
        }
        let tag = match c {
            '*' => Some("b"),
            '_' => Some("i"),
            '~' => Some("s"),
            _ => None,
        };
        if let Some(tag) = tag
            && let Some(end) = find_close(chars, i, c)
        {
            out.push('<');
            out.push_str(tag);
            out.push('>');
            convert(&chars[i + 1..end], out);
            out.push_str("</");
            out.push_str(tag);
            out.push('>');
            i = end + 1;
            continue;
        }
        escape_into(c, out);
        i += 1;
    }
}

fn find_seq(chars: &[char], from: usize, seq: &[char]) -> Option<usize> {
    (from..chars.len()).find(|&j| chars[j..].starts_with(seq))
}

/// For an opening `marker` at `open`, the index of its closing marker.
fn find_close(chars: &[char], open: usize, marker: char) -> Option<usize> {
    let before_ok = open == 0 || !chars[open - 1].is_alphanumeric();
    let first = *chars.get(open + 1)?;
    if !before_ok || first.is_whitespace() || first == marker {
        return None;
    }
    let mut j = open + 2;
    while j < chars.len() {
        let c = chars[j];
        if c == '\n' {
            return None;
        }
        if c == marker {
            let after_ok = chars.get(j + 1).is_none_or(|n| !n.is_alphanumeric());
            if !chars[j - 1].is_whitespace() && after_ok {
                return Some(j);
            }
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::whatsapp_markup_to_telegram_html as conv;

    #[test]
    fn basic_markers() {
        assert_eq!(conv("*bold*"), "<b>bold</b>");
        assert_eq!(conv("_italic_"), "<i>italic</i>");
        assert_eq!(conv("~strike~"), "<s>strike</s>");
        assert_eq!(
            conv("*Иван Петров*:\nЗдравствуйте!"),
            "<b>Иван Петров</b>:\nЗдравствуйте!"
        );
        assert_eq!(conv("say *hi* and _bye_."), "say <b>hi</b> and <i>bye</i>.");
    }

    #[test]
    fn escapes_everything_else() {
        assert_eq!(conv("a < b && c > d"), "a &lt; b &amp;&amp; c &gt; d");
        assert_eq!(conv("*<script>*"), "<b>&lt;script&gt;</b>");
        assert_eq!(conv("<b>not a tag</b>"), "&lt;b&gt;not a tag&lt;/b&gt;");
        assert_eq!(conv("Tom & Jerry"), "Tom &amp; Jerry");
    }

    #[test]
    fn nesting() {
        assert_eq!(conv("*_both_*"), "<b><i>both</i></b>");
        assert_eq!(conv("_a *b* c_"), "<i>a <b>b</b> c</i>");
    }

    #[test]
    fn not_markup() {
        assert_eq!(conv("snake_case_name"), "snake_case_name");
        assert_eq!(conv("2*3*4"), "2*3*4");
        assert_eq!(conv("a * b * c"), "a * b * c");
        assert_eq!(conv("*unclosed"), "*unclosed");
        assert_eq!(conv("**"), "**");
        assert_eq!(conv("*"), "*");
        assert_eq!(conv("*a\nb*"), "*a\nb*");
        assert_eq!(conv("*trailing *"), "*trailing *");
        assert_eq!(conv(""), "");
    }

    #[test]
    fn code() {
        assert_eq!(conv("`x<1`"), "<code>x&lt;1</code>");
        assert_eq!(conv("```let *a* = 1;```"), "<pre>let *a* = 1;</pre>");
    }
}
