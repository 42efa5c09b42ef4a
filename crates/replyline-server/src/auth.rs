//! Authentication and authorization: argon2 passwords, hashed bearer tokens, the caller extractor.

use crate::error::ApiError;
use crate::state::AppState;
use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use replyline_store::Employee;
use sha2::{Digest, Sha256};

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

/// The authenticated employee making a request.
#[derive(Clone, Debug)]
pub struct Caller(pub Employee);

impl Caller {
    pub fn id(&self) -> i64 {
        self.0.id
    }

    pub fn is_admin(&self) -> bool {
        self.0.role == "admin"
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let employee = state.store.employee_by_token(&token_hash(token)).await?;
        employee.map(Caller).ok_or(ApiError::Unauthorized)
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
}
