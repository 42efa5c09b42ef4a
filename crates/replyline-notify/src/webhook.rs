//! Signed outgoing webhooks to CRMs.
//!
//! Every POST carries the JSON body and the headers
//! `X-Replyline-Event`, `X-Replyline-Delivery` (a stable id: the same for all
//! retries of one delivery, so receivers can deduplicate),
//! `X-Replyline-Timestamp` (Unix seconds) and
//! `X-Replyline-Signature: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{raw body}")>`.
//! Receivers should check the signature with [`verify`] over the raw bytes and
//! reject timestamps far from their clock (replays).

use crate::{DeliveryError, snippet};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// Header with the event name, e.g. `notification.created`.
pub const HEADER_EVENT: &str = "X-Replyline-Event";
/// Header with the delivery id.
pub const HEADER_DELIVERY: &str = "X-Replyline-Delivery";
/// Header with the Unix timestamp (seconds) that is part of the signature.
pub const HEADER_TIMESTAMP: &str = "X-Replyline-Timestamp";
/// Header with `sha256=<hex>`.
pub const HEADER_SIGNATURE: &str = "X-Replyline-Signature";

/// Default timeout of one webhook POST.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

type HmacSha256 = Hmac<Sha256>;

/// Posts signed events to CRM endpoints.
#[derive(Clone, Debug)]
pub struct WebhookSender {
    http: reqwest::Client,
    timeout: Duration,
}

impl WebhookSender {
    /// Uses `http` for all requests, with a 10 s timeout per request.
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            timeout: REQUEST_TIMEOUT,
        }
    }

    /// Overrides the per-request timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Posts `body` to `url`. 2xx is success; 5xx, 408, 429, timeouts and
    /// connection failures are retryable (429/503 `Retry-After` seconds are
    /// reported); other statuses are permanent.
    pub async fn post(
        &self,
        url: &str,
        secret: &[u8],
        event: &str,
        delivery_id: &str,
        timestamp: i64,
        body: &serde_json::Value,
    ) -> Result<(), DeliveryError> {
        let raw = serde_json::to_vec(body).map_err(|e| {
            DeliveryError::permanent(format!("webhook: cannot serialize body: {e}"))
        })?;
        let signature = sign(secret, timestamp, &raw);
        let response = self
            .http
            .post(url)
            .timeout(self.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                reqwest::header::USER_AGENT,
                concat!("Replyline-Webhook/", env!("CARGO_PKG_VERSION")),
            )
            .header(HEADER_EVENT, event)
            .header(HEADER_DELIVERY, delivery_id)
            .header(HEADER_TIMESTAMP, timestamp.to_string())
            .header(HEADER_SIGNATURE, signature)
            .body(raw)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let code = status.as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.unwrap_or_default();
        let message = format!("webhook: HTTP {code}: {}", snippet(text.trim(), 200));
        Err(match code {
            408 | 429 | 500..=599 => {
                DeliveryError::retryable(message).with_retry_after(retry_after)
            }
            _ => DeliveryError::permanent(message),
        })
    }
}

fn transport_error(e: reqwest::Error) -> DeliveryError {
    let builder = e.is_builder();
    let timeout = e.is_timeout();
    let text = format!("webhook: {}", e.without_url());
    if builder {
        DeliveryError::permanent(text)
    } else if timeout {
        DeliveryError::retryable(format!("{text} (timed out)"))
    } else {
        DeliveryError::retryable(text)
    }
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Replyline-Signature` value for `body` sent at `timestamp`:
/// `sha256=` + lowercase hex HMAC-SHA256 of `"{timestamp}.{body}"`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Checks an `X-Replyline-Signature` header in constant time. `timestamp` is
/// the value of `X-Replyline-Timestamp` and `body` the raw request bytes.
/// Hex case is ignored; anything malformed is `false`.
pub fn verify(secret: &[u8], timestamp: i64, body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(given) = hex::decode(hex_sig.to_ascii_lowercase()) else {
        return false;
    };
    let expected = mac(secret, timestamp, body).finalize().into_bytes();
    given.len() == expected.len() && bool::from(given.as_slice().ct_eq(expected.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let body = br#"{"event":"sla.breached"}"#;
        let sig = sign(b"s3cret", 1_764_054_000, body);
        assert!(sig.starts_with("sha256="));
        assert_eq!(sig.len(), 7 + 64);
        assert!(verify(b"s3cret", 1_764_054_000, body, &sig));
        assert!(verify(
            b"s3cret",
            1_764_054_000,
            body,
            &sig.to_uppercase().replace("SHA256=", "sha256=")
        ));
        assert!(!verify(b"other", 1_764_054_000, body, &sig));
        assert!(!verify(b"s3cret", 1_764_054_001, body, &sig));
        assert!(!verify(b"s3cret", 1_764_054_000, b"{}", &sig));
        assert!(!verify(b"s3cret", 1_764_054_000, body, &sig[7..]));
        assert!(!verify(b"s3cret", 1_764_054_000, body, "sha256=zz"));
        assert!(!verify(
            b"s3cret",
            1_764_054_000,
            body,
            &sig[..sig.len() - 2]
        ));
        assert!(!verify(b"s3cret", 1_764_054_000, body, ""));
    }

    #[test]
    fn known_vector() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"key",b"1.{}",hashlib.sha256).hexdigest())'
        assert_eq!(
            sign(b"key", 1, b"{}"),
            "sha256=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
    }
}
