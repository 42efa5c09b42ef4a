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

/// An argon2id hash with the default parameters of [`hash_password`] of a
/// random password nobody knows (generated once, then discarded): logins of unknown, deactivated or password-less
/// accounts verify against it, so they cost as much as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$R7zKQaamvpA3TYyVAz6UdQ$kPYjmWFeJWYgX0RMhvxLq5SIwC+NOO2Av1XV9evDZLE";

/// Checks a login password against the account's hash; without a usable hash
/// it verifies against [`DUMMY_HASH`] and fails, taking the same time.
pub fn verify_login_password(password: &str, hash: Option<&str>) -> bool {
    match hash.filter(|h| PasswordHash::new(h).is_ok()) {
        Some(hash) => verify_password(password, hash),
        None => {
            verify_password(password, DUMMY_HASH);
            false
        }
    }
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
/// `last_used_at` / `last_seen_at` are written at most this often per token
/// (more often when the idle timeout is short, see [`SessionPolicy::touch_every`]).
const TOUCH_EVERY_SECONDS: i64 = 60;

/// How long login sessions (tokens from `POST /api/v1/auth/login`, also the web
/// session cookie) live, on the service clock. API tokens (`replyline token
/// create`, `POST /api/v1/tokens`) are not sessions: they live until revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    pub idle_timeout_seconds: i64,
    /// A session ends this long after the login, used or not.
    pub max_age_seconds: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self::from_config(&crate::config::Config::default())
    }
}

impl SessionPolicy {
    /// The policy of `session_idle_timeout_seconds` and `session_max_age_seconds`.
    pub fn from_config(config: &crate::config::Config) -> Self {
        let secs = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        Self {
            idle_timeout_seconds: secs(config.session_idle_timeout_seconds),
            max_age_seconds: secs(config.session_max_age_seconds),
        }
    }

    /// How often a token's use is recorded: at most once a minute, but at
    /// least ten times per idle timeout, so a session in use never idles out.
    fn touch_every(&self) -> i64 {
        (self.idle_timeout_seconds / 10).clamp(1, TOUCH_EVERY_SECONDS)
    }
}

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
        let now = state.clock.now();
        let (employee, info) = state
            .store
            .authenticate_at(&token_hash(token), now)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let touch_every = state.sessions.touch_every();
        let stale = info
            .last_used_at
            .is_none_or(|t| now.as_second() - t.as_second() >= touch_every);
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

/// Login attempts per (e-mail, client IP), kept in memory: after
/// [`LoginLimiter::MAX_FAILURES`] attempts within [`LoginLimiter::WINDOW_SECONDS`]
/// further attempts are refused with 429 until the oldest leaves the window. A
/// restart forgets the counts.
///
/// An attempt is counted *before* its password is verified, in the same locked
/// step as the check ([`LoginLimiter::attempt`]), so concurrent attempts cannot
/// all pass the check before any of them is counted; a successful login then
/// forgets the key's attempts ([`LoginLimiter::succeeded`]).
#[derive(Debug, Default)]
pub struct LoginLimiter {
    attempts: std::sync::Mutex<HashMap<(String, String), Vec<Timestamp>>>,
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

    /// Counts an attempt of this key now, or refuses it with
    /// `Err(retry_after_seconds)` when the key is blocked (not counted then).
    pub fn attempt(&self, email: &str, ip: &str, now: Timestamp) -> Result<(), u64> {
        let mut map = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > Self::SWEEP_ABOVE {
            map.retain(|_, list| {
                Self::recent(list, now);
                !list.is_empty()
            });
        }
        let list = map.entry(Self::key(email, ip)).or_default();
        Self::recent(list, now);
        if list.len() < Self::MAX_FAILURES {
            list.push(now);
            return Ok(());
        }
        let oldest = list.iter().min().copied().unwrap_or(now);
        let retry = Self::WINDOW_SECONDS - (now.as_second() - oldest.as_second());
        Err(retry.max(1) as u64)
    }

    /// Forgets the attempts of a key after a successful login.
    pub fn succeeded(&self, email: &str, ip: &str) {
        let mut map = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
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
    fn limiter_blocks_after_five_attempts_for_fifteen_minutes() {
        let l = LoginLimiter::default();
        let t0 = Timestamp::from_second(1_000_000).unwrap();
        for _ in 0..5 {
            assert!(l.attempt("A@x", "1.2.3.4", t0).is_ok());
        }
        assert_eq!(l.attempt("a@x", "1.2.3.4", t0), Err(900));
        assert!(l.attempt("a@x", "5.6.7.8", t0).is_ok());
        let later = Timestamp::from_second(1_000_000 + 900).unwrap();
        assert!(l.attempt("a@x", "1.2.3.4", later).is_ok());
        l.succeeded("a@x", "5.6.7.8");
        for _ in 0..5 {
            assert!(l.attempt("a@x", "5.6.7.8", t0).is_ok());
        }
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let real = hash_password("secret").unwrap();
        let params = |h: &str| {
            let parsed = PasswordHash::new(h).unwrap();
            (
                parsed.algorithm.to_string(),
                parsed.version,
                parsed.params.to_string(),
            )
        };
        assert_eq!(params(DUMMY_HASH), params(&real));
        assert!(!verify_login_password("secret", None));
        assert!(!verify_login_password("secret", Some("")));
        assert!(verify_login_password("secret", Some(&real)));
        assert!(!verify_login_password("wrong", Some(&real)));
    }

    #[test]
    fn sessions_are_touched_often_enough_to_stay_alive() {
        let policy = |idle| SessionPolicy {
            idle_timeout_seconds: idle,
            max_age_seconds: 3600,
        };
        assert_eq!(policy(7 * 86400).touch_every(), 60);
        assert_eq!(policy(120).touch_every(), 12);
        assert_eq!(policy(5).touch_every(), 1);
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
