//! Webhook signature check and the verification handshake.

use replyline_whatsapp::{
    HandshakeError, SignatureError, sign, verify_signature, verify_subscription,
};

const SECRET: &[u8] = b"app-secret";
const BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[]}"#;

#[test]
fn correct_signature_is_accepted() {
    let header = sign(SECRET, BODY);
    assert!(header.starts_with("sha256=") && header.len() == 7 + 64);
    assert_eq!(verify_signature(SECRET, BODY, Some(&header)), Ok(()));
    // Hex case does not matter.
    let upper = format!("sha256={}", header["sha256=".len()..].to_uppercase());
    assert_eq!(verify_signature(SECRET, BODY, Some(&upper)), Ok(()));
}

#[test]
fn known_vector() {
    // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
    assert_eq!(
        sign(b"key", b"The quick brown fox jumps over the lazy dog"),
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    );
}

#[test]
fn wrong_secret_is_a_mismatch() {
    let header = sign(b"other-secret", BODY);
    assert_eq!(
        verify_signature(SECRET, BODY, Some(&header)),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn tampered_body_is_a_mismatch() {
    let header = sign(SECRET, BODY);
    let tampered = br#"{"object":"whatsapp_business_account","entry":[ ]}"#;
    assert_eq!(
        verify_signature(SECRET, tampered, Some(&header)),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn missing_header() {
    assert_eq!(
        verify_signature(SECRET, BODY, None),
        Err(SignatureError::Missing)
    );
}

#[test]
fn malformed_headers() {
    let good = sign(SECRET, BODY);
    let hex = &good["sha256=".len()..];
    for header in [
        "",
        hex,
        &format!("sha1={hex}"),
        "sha256=",
        "sha256=zz",
        &format!("sha256={}", &hex[..62]),
        &format!("sha256={hex}00"),
    ] {
        assert_eq!(
            verify_signature(SECRET, BODY, Some(header)),
            Err(SignatureError::Malformed),
            "{header:?}"
        );
    }
}

#[test]
fn handshake_good() {
    assert_eq!(
        verify_subscription(Some("subscribe"), Some("tok"), Some("1158201444"), "tok"),
        Ok("1158201444".to_owned())
    );
}

#[test]
fn handshake_wrong_token() {
    for token in [Some("tok2"), Some("to"), Some(""), None] {
        assert_eq!(
            verify_subscription(Some("subscribe"), token, Some("c"), "tok"),
            Err(HandshakeError::WrongToken),
            "{token:?}"
        );
    }
    // An unconfigured (empty) token accepts nothing.
    assert_eq!(
        verify_subscription(Some("subscribe"), Some(""), Some("c"), ""),
        Err(HandshakeError::WrongToken)
    );
}

#[test]
fn handshake_wrong_mode() {
    for mode in [Some("unsubscribe"), Some("Subscribe"), None] {
        assert_eq!(
            verify_subscription(mode, Some("tok"), Some("c"), "tok"),
            Err(HandshakeError::WrongMode),
            "{mode:?}"
        );
    }
}

#[test]
fn handshake_missing_challenge() {
    assert_eq!(
        verify_subscription(Some("subscribe"), Some("tok"), None, "tok"),
        Err(HandshakeError::MissingChallenge)
    );
}
