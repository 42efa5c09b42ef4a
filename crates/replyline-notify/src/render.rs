//! Texts of manager notifications in Russian (default) and English, shared by
//! e-mail (subject + body) and Telegram (plain text).

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Language of a notification text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Russian, the default.
    #[default]
    Ru,
    /// English.
    En,
}

impl Lang {
    /// `"ru"` or `"en"`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Error of [`Lang::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}, expected \"ru\" or \"en\"")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;

    /// Accepts `ru`, `en` and region forms such as `ru-RU`, `en_US` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let primary = lower.split(['-', '_']).next().unwrap_or("");
        match primary {
            "ru" => Ok(Lang::Ru),
            "en" => Ok(Lang::En),
            _ => Err(UnknownLang(s.to_owned())),
        }
    }
}

/// What a notification is about, as the server's delivery worker sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    /// `first_message`, `next_message`, `first_message_escalated` or
    /// `next_message_escalated`, or `mention` (a note named the recipient);
    /// anything else gets a generic text.
    pub reason: String,
    /// Contact's display name, if known.
    pub contact_name: Option<String>,
    /// Phone number, username or other address of the contact.
    pub contact_address: String,
    /// Name of the channel the conversation came through.
    pub channel_name: String,
    /// Employee responsible for the conversation, if assigned.
    pub employee_name: Option<String>,
    /// When the unanswered wait started.
    pub wait_started_at: Timestamp,
    /// How long the client has waited so far (working or wall time, as the
    /// rule counted it).
    pub waited_seconds: i64,
    /// Link to the conversation in the web workspace.
    pub conversation_url: Option<String>,
    /// The rule's rendered «Текст уведомления» (SPEC §2): when present it is the
    /// e-mail subject and the first line of every body; the generated lines follow.
    #[serde(default)]
    pub text: Option<String>,
}

/// A rendered notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationText {
    /// One line, for the e-mail subject.
    pub subject: String,
    /// Plain-text body (e-mail body, Telegram message).
    pub text: String,
}

/// Renders `n` in `lang`, showing the wait start in UTC.
pub fn render_notification(lang: Lang, n: &NotificationView) -> NotificationText {
    render_notification_in(lang, n, &TimeZone::UTC)
}

/// Renders `n` in `lang`, showing the wait start in `tz` (e.g. the
/// recipient's or the company's time zone).
pub fn render_notification_in(lang: Lang, n: &NotificationView, tz: &TimeZone) -> NotificationText {
    if n.reason == "mention" {
        return render_mention(lang, n);
    }
    if n.reason == "channel_failing" {
        return render_channel_failing(lang, n);
    }
    let (first, escalated) = match n.reason.as_str() {
        "first_message" => (Some(true), false),
        "next_message" => (Some(false), false),
        "first_message_escalated" => (Some(true), true),
        "next_message_escalated" => (Some(false), true),
        _ => (None, false),
    };
    let name = n
        .contact_name
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty());
    let address = one_line(&n.contact_address);
    let contact = match (&name, address.is_empty()) {
        (Some(name), false) if *name != address => format!("{name} ({address})"),
        (Some(name), _) => name.clone(),
        (None, false) => address.clone(),
        (None, true) => String::new(),
    };
    let short_contact = name.clone().unwrap_or_else(|| address.clone());
    let channel = one_line(&n.channel_name);
    let employee = n
        .employee_name
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty());
    let waited = format_duration(lang, n.waited_seconds);
    let zoned = n.wait_started_at.to_zoned_datetime(tz.clone());
    let since = format!(
        "{} {}",
        zoned.strftime(match lang {
            Lang::Ru => "%d.%m.%Y %H:%M",
            Lang::En => "%Y-%m-%d %H:%M",
        }),
        tz.iana_name().unwrap_or("UTC")
    );
    let url = n
        .conversation_url
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());

    let mut lines = Vec::new();
    let subject = match lang {
        Lang::Ru => {
            let kind = match first {
                Some(true) => "первое сообщение",
                Some(false) => "повторное обращение",
                None => "сообщение без ответа",
            };
            let client = if contact.is_empty() {
                "Клиент".to_owned()
            } else {
                format!("Клиент {contact}")
            };
            let prefix = if escalated {
                "Эскалация. "
            } else {
                ""
            };
            lines.push(format!("{prefix}{client} ждёт ответа {waited} ({kind})."));
            if !channel.is_empty() {
                lines.push(format!("Канал: {channel}."));
            }
            lines.push(match &employee {
                Some(e) => format!("Ответственный: {e}."),
                None => "Ответственный не назначен.".to_owned(),
            });
            lines.push(format!("Ждёт с {since}."));
            if let Some(url) = url {
                lines.push(format!("Открыть чат: {url}"));
            }
            let head = if escalated {
                "Эскалация: клиент"
            } else {
                "Клиент"
            };
            if short_contact.is_empty() {
                format!("{head} ждёт ответа {waited}")
            } else {
                format!("{head} {short_contact} ждёт ответа {waited}")
            }
        }
        Lang::En => {
            let kind = match first {
                Some(true) => "first message",
                Some(false) => "follow-up message",
                None => "unanswered message",
            };
            let client = if contact.is_empty() {
                "A client".to_owned()
            } else {
                format!("Client {contact}")
            };
            let prefix = if escalated { "Escalation. " } else { "" };
            lines.push(format!(
                "{prefix}{client} has been waiting for a reply for {waited} ({kind})."
            ));
            if !channel.is_empty() {
                lines.push(format!("Channel: {channel}."));
            }
            lines.push(match &employee {
                Some(e) => format!("Responsible: {e}."),
                None => "No one is assigned.".to_owned(),
            });
            lines.push(format!("Waiting since {since}."));
            if let Some(url) = url {
                lines.push(format!("Open the chat: {url}"));
            }
            let head = if escalated {
                "Escalation: client"
            } else {
                "Client"
            };
            if short_contact.is_empty() {
                format!("{head} waiting for a reply for {waited}")
            } else {
                format!("{head} {short_contact} waiting for a reply for {waited}")
            }
        }
    };
    match n.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(rule_text) => NotificationText {
            subject: truncate_chars(&one_line(rule_text), MAX_SUBJECT_CHARS),
            text: format!("{rule_text}\n\n{}", lines.join("\n")),
        },
        None => NotificationText {
            subject,
            text: lines.join("\n"),
        },
    }
}

/// A `mention` (SPEC §3a): someone named the recipient in an internal note.
/// The stored text (`Author: note`) leads; the chat's client, channel and link follow.
fn render_mention(lang: Lang, n: &NotificationView) -> NotificationText {
    let contact = n
        .contact_name
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| one_line(&n.contact_address));
    let channel = one_line(&n.channel_name);
    let note = n.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let url = n
        .conversation_url
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let (subject, chat, channel_line, open) = match lang {
        Lang::Ru => (
            format!("Вас упомянули в чате с клиентом {contact}"),
            format!("Чат с клиентом {contact}."),
            format!("Канал: {channel}."),
            "Открыть чат:",
        ),
        Lang::En => (
            format!("You were mentioned in the chat with {contact}"),
            format!("Chat with {contact}."),
            format!("Channel: {channel}."),
            "Open the chat:",
        ),
    };
    let mut lines: Vec<String> = note.map(str::to_owned).into_iter().collect();
    lines.push(chat);
    if !channel.is_empty() {
        lines.push(channel_line);
    }
    if let Some(url) = url {
        lines.push(format!("{open} {url}"));
    }
    NotificationText {
        subject: truncate_chars(&subject, MAX_SUBJECT_CHARS),
        text: lines.join("\n"),
    }
}

/// A channel's sends keep failing (`channel_failing`): its `text` is
/// «Канал «NAME» не отправляет сообщения: ERROR»; the error is said again in English.
fn render_channel_failing(lang: Lang, n: &NotificationView) -> NotificationText {
    let channel = one_line(&n.channel_name);
    let text = n.text.as_deref().map(one_line).unwrap_or_default();
    let ru_prefix = format!("Канал «{channel}» не отправляет сообщения");
    let error = text
        .strip_prefix(&ru_prefix)
        .map(|rest| rest.trim_start_matches(':').trim().to_owned())
        .unwrap_or_else(|| text.clone());
    let url = n
        .conversation_url
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let (subject, error_line, open) = match lang {
        Lang::Ru => (
            ru_prefix,
            format!("Ошибка: {error}"),
            "Сообщение, которое не ушло:",
        ),
        Lang::En => (
            format!("Channel “{channel}” is not sending messages"),
            format!("Error: {error}"),
            "The message that did not go out:",
        ),
    };
    let (hint, more) = match lang {
        Lang::Ru => (
            "Сообщения ждут в очереди и уйдут, когда канал снова заработает.",
            "Больше уведомлений об этом сбое не будет.",
        ),
        Lang::En => (
            "Messages wait in the queue and go out once the channel works again.",
            "You will not be notified again about this outage.",
        ),
    };
    let mut lines = vec![
        format!("{subject}."),
        error_line,
        hint.to_owned(),
        more.to_owned(),
    ];
    if let Some(url) = url {
        lines.push(format!("{open} {url}"));
    }
    NotificationText {
        subject: truncate_chars(&subject, MAX_SUBJECT_CHARS),
        text: lines.join("\n"),
    }
}

/// Longest e-mail subject made from a rule's text.
const MAX_SUBJECT_CHARS: usize = 200;

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

/// Collapses control characters (newlines included) and runs of spaces, so
/// that user-supplied names cannot break lines or headers.
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `45 сек`, `12 мин`, `1 ч 5 мин`, `2 дн. 3 ч` / `45 s`, `12 min`, `1 h 5 min`, `2 d 3 h`.
pub fn format_duration(lang: Lang, seconds: i64) -> String {
    let s = seconds.max(0);
    let (sec, min, hour, day) = match lang {
        Lang::Ru => ("сек", "мин", "ч", "дн."),
        Lang::En => ("s", "min", "h", "d"),
    };
    let days = s / 86_400;
    let hours = s % 86_400 / 3600;
    let minutes = s % 3600 / 60;
    if days > 0 {
        if hours > 0 {
            format!("{days} {day} {hours} {hour}")
        } else {
            format!("{days} {day}")
        }
    } else if hours > 0 {
        if minutes > 0 {
            format!("{hours} {hour} {minutes} {min}")
        } else {
            format!("{hours} {hour}")
        }
    } else if minutes > 0 {
        format!("{minutes} {min}")
    } else {
        format!("{s} {sec}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing() -> NotificationView {
        NotificationView {
            reason: "channel_failing".into(),
            contact_name: Some("Анна".into()),
            contact_address: "79001234567".into(),
            channel_name: "Продажи".into(),
            employee_name: None,
            wait_started_at: Timestamp::UNIX_EPOCH,
            waited_seconds: 0,
            conversation_url: Some("https://inbox.example.com/#/chat/7".into()),
            text: Some(
                "Канал «Продажи» не отправляет сообщения: Service unavailable (code 131000)".into(),
            ),
        }
    }

    #[test]
    fn a_failing_channel_in_russian() {
        let t = render_notification(Lang::Ru, &failing());
        assert_eq!(t.subject, "Канал «Продажи» не отправляет сообщения");
        assert!(
            t.text.contains("Ошибка: Service unavailable (code 131000)"),
            "{}",
            t.text
        );
        assert!(
            t.text.ends_with("https://inbox.example.com/#/chat/7"),
            "{}",
            t.text
        );
        assert!(!t.text.contains("ждёт ответа"), "{}", t.text);
    }

    #[test]
    fn a_failing_channel_in_english() {
        let t = render_notification(Lang::En, &failing());
        assert_eq!(t.subject, "Channel “Продажи” is not sending messages");
        assert!(
            t.text.contains("Error: Service unavailable (code 131000)"),
            "{}",
            t.text
        );
        assert!(!t.text.contains("Канал"), "{}", t.text);
    }
}
