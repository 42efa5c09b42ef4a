//! Verification of the `X-Hub-Signature-256` header Meta puts on every webhook POST.
//!
//! The header value is `sha256=<hex>`, the HMAC-SHA256 of the **raw** request
//! body keyed with the app secret. Never verify re-serialized JSON.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header name Meta uses for the signature.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// Why a webhook signature was rejected. Answer 401/403 in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The `X-Hub-Signature-256` header is absent.
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    /// The header is not `sha256=<64 hex digits>`.
    #[error("malformed X-Hub-Signature-256 header")]
    Malformed,
    /// The signature does not match the body and secret.
    #[error("X-Hub-Signature-256 does not match the body")]
    Mismatch,
}

fn mac(app_secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails.
    match HmacSha256::new_from_slice(app_secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

/// Checks `header` (the `X-Hub-Signature-256` value) against `raw_body`,
/// comparing in constant time.
pub fn verify_signature(
    app_secret: &[u8],
    raw_body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let hex_sig = header
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_sig).map_err(|_| SignatureError::Malformed)?;
    if expected.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let mut mac = mac(app_secret);
    mac.update(raw_body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// Computes the `X-Hub-Signature-256` header value (`sha256=<hex>`) for a body,
/// as Meta would. Meant for tests and fakes.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = mac(app_secret);
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
