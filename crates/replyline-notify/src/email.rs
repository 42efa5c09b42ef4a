//! E-mail delivery over SMTP (lettre, tokio, rustls).
//!
//! `smtp_url` forms:
//! - `smtp://host:port` — plain SMTP without TLS (local relays, test servers);
//! - `smtp+starttls://user:pass@host:587` — STARTTLS is required;
//! - `smtps://user:pass@host:465` — TLS from the first byte.
//!
//! Percent-encoded user names and passwords are decoded. A path such as
//! `smtp://host:25/mail.example.com` sets the EHLO name.

use crate::{ConfigError, DeliveryError};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::fmt;
use std::time::Duration;

/// Default timeout of every SMTP command (connect included).
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends plain-text UTF-8 e-mails through one SMTP server.
#[derive(Clone)]
pub struct EmailSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    url_redacted: String,
}

impl fmt::Debug for EmailSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailSender")
            .field("smtp_url", &self.url_redacted)
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl EmailSender {
    /// Builds a sender from `smtp_url` and `smtp_from` (`noreply@example.com`
    /// or `Replyline <noreply@example.com>`). No connection is made here.
    pub fn new(smtp_url: &str, from: &str) -> Result<Self, ConfigError> {
        Self::with_timeout(smtp_url, from, SMTP_TIMEOUT)
    }

    /// Like [`EmailSender::new`] with a custom per-command timeout.
    pub fn with_timeout(
        smtp_url: &str,
        from: &str,
        timeout: Duration,
    ) -> Result<Self, ConfigError> {
        let url_redacted = redact_url(smtp_url);
        let url_error = |reason: String| ConfigError::SmtpUrl {
            url: url_redacted.clone(),
            reason,
        };
        let trimmed = smtp_url.trim();
        let lettre_url = if let Some(rest) = trimmed.strip_prefix("smtp+starttls://") {
            let sep = if rest.contains('?') { '&' } else { '?' };
            format!("smtp://{rest}{sep}tls=required")
        } else if trimmed.starts_with("smtp://") || trimmed.starts_with("smtps://") {
            // lettre's own `smtp://host?tls=required|opportunistic` is accepted too.
            trimmed.to_owned()
        } else {
            return Err(url_error(
                "expected smtp://host:port, smtp+starttls://user:pass@host:587 or smtps://user:pass@host:465"
                    .to_owned(),
            ));
        };
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url)
            .map_err(|e| url_error(redact_text(&e.to_string(), smtp_url)))?;
        let transport = builder.timeout(Some(timeout)).build();
        let from: Mailbox = from
            .trim()
            .parse()
            .map_err(|e: lettre::address::AddressError| ConfigError::Address {
                address: from.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            transport,
            from,
            url_redacted,
        })
    }

    /// The sender mailbox.
    pub fn from_mailbox(&self) -> &Mailbox {
        &self.from
    }

    /// Sends one plain-text message. SMTP 4xx replies, connection problems and
    /// timeouts are retryable; SMTP 5xx replies and invalid addresses are
    /// permanent.
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        text_body: &str,
    ) -> Result<(), DeliveryError> {
        let to_mailbox: Mailbox =
            to.trim()
                .parse()
                .map_err(|e: lettre::address::AddressError| {
                    DeliveryError::permanent(format!("invalid recipient address {to:?}: {e}"))
                })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to_mailbox)
            .subject(subject)
            .message_id(None)
            .header(ContentType::TEXT_PLAIN)
            .body(text_body.to_owned())
            .map_err(|e| DeliveryError::permanent(format!("cannot build e-mail: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => Err(classify_smtp_error(&e)),
        }
    }
}

fn classify_smtp_error(e: &lettre::transport::smtp::Error) -> DeliveryError {
    let text = format!("smtp: {e}");
    if e.is_permanent() {
        DeliveryError::permanent(text)
    } else {
        // Transient replies (4xx), timeouts, connection and TLS failures.
        DeliveryError::retryable(text)
    }
}

/// Replaces the password of a URL (`scheme://user:pass@host`) with `***`.
fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let user = userinfo.split(':').next().unwrap_or("");
    format!(
        "{}{}:***@{}",
        &url[..authority_start],
        user,
        &rest[at + 1..]
    )
}

/// Removes the password of `url` from an arbitrary error text.
fn redact_text(text: &str, url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return text.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority
        .rfind('@')
        .and_then(|at| authority[..at].split_once(':'))
    {
        Some((_, password)) if !password.is_empty() => text.replace(password, "***"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_three_schemes() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://localhost",
            "smtp+starttls://user:secret@mail.example.com:587",
            "smtps://user:p%40ss@mail.example.com:465",
            "smtps://mail.example.com",
        ] {
            let sender = EmailSender::new(url, "Replyline <noreply@example.com>");
            assert!(sender.is_ok(), "{url}: {sender:?}");
        }
    }

    #[test]
    fn rejects_bad_urls_without_leaking_passwords() {
        let err = EmailSender::new("http://user:hunter2@mail.example.com", "a@b.c").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("smtp_url"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("user:***@mail.example.com"), "{text}");
        assert!(EmailSender::new("smtp://", "a@b.c").is_err());
        assert!(EmailSender::new("not a url", "a@b.c").is_err());
    }

    #[test]
    fn rejects_bad_from() {
        let err = EmailSender::new("smtp://127.0.0.1:2525", "not an address").unwrap_err();
        assert!(matches!(err, ConfigError::Address { .. }), "{err}");
    }

    #[test]
    fn debug_hides_password() {
        let sender =
            EmailSender::new("smtps://bob:topsecret@mail.example.com:465", "a@b.c").unwrap();
        let debug = format!("{sender:?}");
        assert!(!debug.contains("topsecret"), "{debug}");
        assert!(debug.contains("bob:***@mail.example.com:465"), "{debug}");
    }

    #[test]
    fn redaction() {
        assert_eq!(redact_url("smtp://h:25"), "smtp://h:25");
        assert_eq!(redact_url("smtps://u:p@h:465/x"), "smtps://u:***@h:465/x");
        assert_eq!(redact_text("bad p here", "smtps://u:p@h"), "bad *** here");
    }
}
