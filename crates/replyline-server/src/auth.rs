//! Authentication and authorization: argon2 passwords, hashed bearer tokens, the caller extractor.

use crate::error::ApiError;
use crate::state::AppState;
use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jiff::Timestamp;
use replyline_store::{Employee, Id};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Hashes a password with argon2id (default parameters).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))
}

/// Checks a password against a stored argon2 hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// `n` random bytes as hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A new bearer token (shown once; only its hash is stored).
pub fn new_token() -> String {
    format!("rl_{}", random_hex(32))
}

/// The stored form of a token: hex SHA-256.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The session cookie of the web UI.
pub const SESSION_COOKIE: &str = "replyline_session";
/// The header every cookie-authenticated unsafe request must carry (CSRF defence).
pub const CSRF_HEADER: &str = "x-requested-with";
/// Its required value.
pub const CSRF_VALUE: &str = "replyline";
/// `last_used_at` / `last_seen_at` are written at most this often per token.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// How the caller authenticated.
#[derive(Clone, Debug)]
pub struct CallerToken {
    /// The token row used (for `current` and logout).
    pub id: Id,
    /// Authenticated by the session cookie rather than `Authorization: Bearer`.
    pub via_cookie: bool,
}

/// The authenticated employee making a request.
#[derive(Clone, Debug)]
pub struct Caller(pub Employee, pub CallerToken);

impl Caller {
    pub fn id(&self) -> i64 {
        self.0.id
    }

    pub fn is_admin(&self) -> bool {
        self.0.role == "admin"
    }

    /// The token row this request authenticated with.
    pub fn token_id(&self) -> Id {
        self.1.id
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value that starts a web session.
pub fn session_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/{secure}")
}

/// The `Set-Cookie` value that ends a web session.
pub fn clear_session_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}")
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|header| {
                header
                    .strip_prefix("Bearer ")
                    .or_else(|| header.strip_prefix("bearer "))
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .ok_or(ApiError::Unauthorized)
            })
            .transpose()?;
        let (token, via_cookie) = match bearer {
            Some(token) => (token, false),
            None => (
                cookie_value(&parts.headers, SESSION_COOKIE).ok_or(ApiError::Unauthorized)?,
                true,
            ),
        };
        if via_cookie && !parts.method.is_safe() {
            let ok = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case(CSRF_VALUE));
            if !ok {
                return Err(ApiError::Csrf);
            }
        }
        let (employee, info) = state
            .store
            .authenticate(&token_hash(token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let now = state.clock.now();
        let stale = info
            .last_used_at
            .is_none_or(|t| now.as_second() - t.as_second() >= TOUCH_EVERY_SECONDS);
        if stale && let Err(err) = state.store.touch_token(info.id, now).await {
            tracing::warn!(%err, "recording token use failed");
        }
        Ok(Caller(
            employee,
            CallerToken {
                id: info.id,
                via_cookie,
            },
        ))
    }
}

/// Failed logins per (e-mail, client IP), kept in memory: after [`LoginLimiter::MAX_FAILURES`]
/// failures within [`LoginLimiter::WINDOW_SECONDS`] further attempts are refused with 429
/// until the oldest failure leaves the window. A restart forgets the counts.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: std::sync::Mutex<HashMap<(String, String), Vec<Timestamp>>>,
}

impl LoginLimiter {
    pub const MAX_FAILURES: usize = 5;
    pub const WINDOW_SECONDS: i64 = 15 * 60;
    /// Entries kept before expired ones are swept.
    const SWEEP_ABOVE: usize = 10_000;

    fn key(email: &str, ip: &str) -> (String, String) {
        (email.trim().to_lowercase(), ip.to_owned())
    }

    fn recent(list: &mut Vec<Timestamp>, now: Timestamp) {
        list.retain(|t| now.as_second() - t.as_second() < Self::WINDOW_SECONDS);
    }

    /// `Err(retry_after_seconds)` when this key is blocked now.
    pub fn check(&self, email: &str, ip: &str, now: Timestamp) -> Result<(), u64> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let Some(list) = map.get_mut(&Self::key(email, ip)) else {
            return Ok(());
        };
        Self::recent(list, now);
        if list.len() < Self::MAX_FAILURES {
            return Ok(());
        }
        let oldest = list.iter().min().copied().unwrap_or(now);
        let retry = Self::WINDOW_SECONDS - (now.as_second() - oldest.as_second());
        Err(retry.max(1) as u64)
    }

    /// Records a failed attempt.
    pub fn failed(&self, email: &str, ip: &str, now: Timestamp) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > Self::SWEEP_ABOVE {
            map.retain(|_, list| {
                Self::recent(list, now);
                !list.is_empty()
            });
        }
        let list = map.entry(Self::key(email, ip)).or_default();
        Self::recent(list, now);
        list.push(now);
    }

    /// Forgets the failures of a key after a successful login.
    pub fn succeeded(&self, email: &str, ip: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&Self::key(email, ip));
    }
}

/// What a caller wants to do; the seam for finer per-team rules later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Channels, settings changes, employee writes.
    Administer,
    /// Read and act on conversations (every role, for now).
    Converse,
}

/// Allows or refuses `permission` to `caller` (403).
pub fn authorize(caller: &Caller, permission: Permission) -> Result<(), ApiError> {
    match permission {
        Permission::Converse => Ok(()),
        Permission::Administer if caller.is_admin() => Ok(()),
        Permission::Administer => Err(ApiError::Forbidden("only admins may do this".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_tokens() {
        let hash = hash_password("secret").unwrap();
        assert!(verify_password("secret", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("secret", "garbage"));
        let t = new_token();
        assert_ne!(t, new_token());
        assert_eq!(token_hash(&t).len(), 64);
    }

    #[test]
    fn limiter_blocks_after_five_failures_for_fifteen_minutes() {
        let l = LoginLimiter::default();
        let t0 = Timestamp::from_second(1_000_000).unwrap();
        for _ in 0..5 {
            assert!(l.check("A@x", "1.2.3.4", t0).is_ok());
            l.failed("a@x", "1.2.3.4", t0);
        }
        assert_eq!(l.check("a@x", "1.2.3.4", t0), Err(900));
        assert!(l.check("a@x", "5.6.7.8", t0).is_ok());
        let later = Timestamp::from_second(1_000_000 + 900).unwrap();
        assert!(l.check("a@x", "1.2.3.4", later).is_ok());
    }

    #[test]
    fn cookies() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "a=1; replyline_session=rl_x; b=2".parse().unwrap(),
        );
        assert_eq!(cookie_value(&h, SESSION_COOKIE), Some("rl_x"));
        assert!(session_cookie("t", true).ends_with("; Secure"));
    }
}
