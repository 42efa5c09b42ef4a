//! Delivery adapters that take a stored manager notification (or a CRM event)
//! to people and systems: e-mail over SMTP, Telegram Bot API messages and
//! signed outgoing webhooks, plus the texts, quiet hours and retry policy.
//!
//! The crate knows nothing about the database or the engine: the server's
//! delivery worker renders a [`render::NotificationView`], checks
//! [`quiet::QuietHours`], calls a sender and stores the outcome. Every sender
//! reports failures as a [`DeliveryError`] that says whether a retry can help;
//! [`retry::backoff`] and [`retry::MAX_ATTEMPTS`] give the schedule.

pub mod email;
pub mod quiet;
pub mod render;
pub mod retry;
pub mod telegram;
pub mod webhook;

pub use email::EmailSender;
pub use quiet::{QuietHours, QuietHoursConfig};
pub use render::{Lang, NotificationText, NotificationView, render_notification};
pub use retry::{DeliveryError, MAX_ATTEMPTS, backoff};
pub use telegram::{TelegramSender, whatsapp_markup_to_telegram_html};
pub use webhook::WebhookSender;

/// A configuration value that cannot be used; the message names the key's
/// problem and never contains a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `smtp_url` is malformed or uses an unknown scheme.
    #[error("invalid smtp_url {url}: {reason}")]
    SmtpUrl {
        /// The URL with any password replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `smtp_from` (or a recipient) is not a valid mailbox.
    #[error("invalid e-mail address {address:?}: {reason}")]
    Address {
        /// The rejected address.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Quiet hours are malformed.
    #[error("invalid quiet hours: {0}")]
    QuietHours(String),
}

/// Truncates `s` to at most `max` characters for error messages.
pub(crate) fn snippet(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}
