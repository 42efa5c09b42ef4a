//! The webhook verification handshake (`GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`).
//!
//! Meta sends it when the callback URL is saved. On success answer 200 with
//! the raw challenge as the body; on any error answer 403.

use subtle::ConstantTimeEq;

/// Why a verification handshake was refused. Answer 403 in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// `hub.mode` is absent or not `subscribe`.
    #[error("hub.mode is not \"subscribe\"")]
    WrongMode,
    /// `hub.verify_token` is absent or does not match ours.
    #[error("hub.verify_token does not match")]
    WrongToken,
    /// `hub.challenge` is absent.
    #[error("hub.challenge is missing")]
    MissingChallenge,
}

/// Checks the query parameters of a verification GET and returns the
/// challenge to echo. The token is compared in constant time.
pub fn verify_subscription(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    expected_verify_token: &str,
) -> Result<String, HandshakeError> {
    if mode != Some("subscribe") {
        return Err(HandshakeError::WrongMode);
    }
    let token = token.ok_or(HandshakeError::WrongToken)?;
    // An empty configured token must never accept anything.
    let matches: bool = token
        .as_bytes()
        .ct_eq(expected_verify_token.as_bytes())
        .into();
    if expected_verify_token.is_empty() || !matches {
        return Err(HandshakeError::WrongToken);
    }
    challenge
        .map(str::to_owned)
        .ok_or(HandshakeError::MissingChallenge)
}
