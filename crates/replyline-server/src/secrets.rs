//! Secrets at rest: provider tokens and webhook secrets are stored encrypted.
//!
//! - **What**: a WhatsApp channel's `access_token`, `app_secret` and
//!   `verify_token` (inside `channels.config`) and a CRM webhook's `secret`.
//! - **How**: XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`) with a random
//!   192-bit nonce per value and the field name as associated data, so a
//!   ciphertext cannot be moved to another field. Stored form:
//!   `enc:v1:<key id>:<base64 nonce ‖ ciphertext>`; the key id (64 bits of a
//!   SHA-256 of the key) tells a wrong key from a tampered value.
//! - **Key**: `secret_key` from the configuration (32 bytes, base64), else the
//!   file `replyline.key` next to the SQLite database, created on first start
//!   owner-only (0600) and refused when others may read it.
//! - **Start**: [`migrate`] encrypts every plaintext value (deleted rows
//!   included; idempotent) and proves every encrypted one opens with the key;
//!   a wrong key stops the start with a clear error instead of sending garbage
//!   tokens.
//! - **Reading**: values are sealed with the instance's key ([`SecretKey::seal`]);
//!   [`reveal`] opens them with whichever loaded key wrote them (a process may
//!   run several instances, as the tests do), so readers of a stored channel
//!   (`WhatsappConfig::of`) need no handle on the key.

use crate::config::Config;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use replyline_store::Store;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Prefix of a sealed value.
const PREFIX: &str = "enc:v1:";
/// Name of the key file next to the database.
pub const KEY_FILE: &str = "replyline.key";
/// XChaCha20 nonce length.
const NONCE_LEN: usize = 24;
/// The secret fields of a WhatsApp channel config.
pub const CHANNEL_SECRET_FIELDS: [&str; 3] = ["access_token", "app_secret", "verify_token"];
/// Associated data of a CRM webhook secret.
pub const WEBHOOK_SECRET_FIELD: &str = "webhook.secret";

/// Why secrets cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secret_key: {0}")]
    BadKey(String),
    #[error("key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error(
        "{what} was encrypted with another key (key id {found}; the configured key has id {expected}): \
         set secret_key, or put back the replyline.key, that this database was written with"
    )]
    WrongKey {
        what: String,
        found: String,
        expected: String,
    },
    #[error("{what}: the encrypted value is damaged (it does not authenticate)")]
    Damaged { what: String },
    #[error(transparent)]
    Store(#[from] replyline_store::StoreError),
}

/// The instance's encryption key.
pub struct SecretKey {
    cipher: XChaCha20Poly1305,
    id: String,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

impl SecretKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretsError> {
        if bytes.len() != 32 {
            return Err(SecretsError::BadKey(format!(
                "must be 32 bytes, got {}",
                bytes.len()
            )));
        }
        let digest = Sha256::new()
            .chain_update(b"replyline secret key id\0")
            .chain_update(bytes)
            .finalize();
        Ok(Self {
            cipher: XChaCha20Poly1305::new(Key::from_slice(bytes)),
            id: hex::encode(&digest[..8]),
        })
    }

    /// A key from its base64 form (as in `secret_key` and the key file).
    pub fn from_base64(text: &str) -> Result<Self, SecretsError> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|e| SecretsError::BadKey(format!("not base64: {e}")))?;
        Self::from_bytes(&bytes)
    }

    /// A new random key and its base64 form.
    pub fn generate() -> (Self, String) {
        let bytes = XChaCha20Poly1305::generate_key(&mut OsRng);
        let text = BASE64.encode(bytes);
        let key = Self::from_bytes(&bytes).expect("32 bytes");
        (key, text)
    }

    /// The key's public id (64 bits of a hash of it).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Encrypts `plain` for `field`: `enc:v1:<key id>:<base64>`.
    pub fn seal(&self, field: &str, plain: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: field.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any short message");
        let mut raw = nonce.to_vec();
        raw.extend_from_slice(&sealed);
        format!("{PREFIX}{}:{}", self.id, BASE64.encode(raw))
    }

    /// Decrypts a sealed value of `field` written with this key.
    fn open_sealed(&self, field: &str, what: &str, body: &str) -> Result<String, SecretsError> {
        let damaged = || SecretsError::Damaged { what: what.into() };
        let raw = BASE64.decode(body).map_err(|_| damaged())?;
        if raw.len() < NONCE_LEN {
            return Err(damaged());
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: field.as_bytes(),
                },
            )
            .map_err(|_| damaged())?;
        String::from_utf8(plain).map_err(|_| damaged())
    }

    /// Decrypts `stored` (of `field`) with this key; plaintext passes through.
    pub fn open(&self, field: &str, what: &str, stored: &str) -> Result<String, SecretsError> {
        match split(stored) {
            None => Ok(stored.to_owned()),
            Some((id, body)) if id == self.id => self.open_sealed(field, what, body),
            Some((id, _)) => Err(SecretsError::WrongKey {
                what: what.into(),
                found: id.into(),
                expected: self.id.clone(),
            }),
        }
    }
}

/// `(key id, base64 body)` of a sealed value; `None` for plaintext.
fn split(stored: &str) -> Option<(&str, &str)> {
    let rest = stored.strip_prefix(PREFIX)?;
    Some(rest.split_once(':').unwrap_or((rest, "")))
}

/// True when `stored` is a sealed value.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// Every key loaded in this process (one per running instance).
static KEYRING: RwLock<Vec<Arc<SecretKey>>> = RwLock::new(Vec::new());

/// Makes `key` available to [`reveal`].
pub fn register(key: &Arc<SecretKey>) {
    let mut ring = KEYRING.write().unwrap_or_else(|e| e.into_inner());
    if !ring.iter().any(|k| k.id == key.id) {
        ring.push(key.clone());
    }
}

/// Decrypts a stored value of `field` with the loaded key that sealed it; plaintext
/// (a row written before encryption, encrypted at the next start) passes through.
pub fn reveal(field: &str, stored: &str) -> Result<String, SecretsError> {
    let Some((id, body)) = split(stored) else {
        return Ok(stored.to_owned());
    };
    let ring = KEYRING.read().unwrap_or_else(|e| e.into_inner());
    match ring.iter().find(|k| k.id == id) {
        Some(key) => key.open_sealed(field, field, body),
        None => Err(SecretsError::WrongKey {
            what: field.into(),
            found: id.into(),
            expected: ring
                .iter()
                .map(|k| k.id.clone())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// [`reveal`] for a reader that cannot fail: a value that does not open (only
/// possible when the database was changed under a running server — the start
/// checks every value) is logged and replaced by a random one, so a signature
/// check fails closed and the provider refuses the token: never an empty or
/// garbage secret that would verify.
pub fn reveal_or_unusable(field: &str, stored: &str) -> String {
    reveal(field, stored).unwrap_or_else(|err| {
        tracing::error!(%err, field, "a stored secret cannot be decrypted; it is unusable");
        crate::auth::random_hex(32)
    })
}

/// Where the key file of `database_url` lives: next to a SQLite file; `None` for
/// an in-memory or non-SQLite database.
pub fn key_path(database_url: &str) -> Option<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next().unwrap_or("");
    if file.is_empty() || file.contains(":memory:") {
        return None;
    }
    let dir = Path::new(file)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Some(dir.join(KEY_FILE))
}

/// The configured key, or the key file next to the database (created on first
/// start, owner-only). An in-memory database gets a throwaway key.
pub fn load(config: &Config) -> Result<Arc<SecretKey>, SecretsError> {
    if let Some(text) = &config.secret_key {
        return Ok(Arc::new(SecretKey::from_base64(text.expose())?));
    }
    let Some(path) = key_path(&config.database_url) else {
        if config.database_url.contains(":memory:") {
            return Ok(Arc::new(SecretKey::generate().0));
        }
        return Err(SecretsError::BadKey(
            "required for a database that is not a SQLite file (32 bytes, base64)".into(),
        ));
    };
    load_file(&path).map(Arc::new)
}

fn key_file_error(path: &Path, message: impl Into<String>) -> SecretsError {
    SecretsError::KeyFile {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Reads the key file, or creates it owner-only with a new random key.
pub fn load_file(path: &Path) -> Result<SecretKey, SecretsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(path)
                    .map_err(|e| key_file_error(path, e.to_string()))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    return Err(key_file_error(
                        path,
                        format!(
                            "others may read it (mode {:o}); make it owner-only: chmod 600",
                            mode & 0o777
                        ),
                    ));
                }
            }
            SecretKey::from_base64(&text).map_err(|e| key_file_error(path, e.to_string()))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => create_file(path),
        Err(err) => Err(key_file_error(path, err.to_string())),
    }
}

fn create_file(path: &Path) -> Result<SecretKey, SecretsError> {
    use std::io::Write as _;
    let (key, text) = SecretKey::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(file) => file,
        // Another process created it first: use that one.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => return load_file(path),
        Err(err) => return Err(key_file_error(path, err.to_string())),
    };
    file.write_all(format!("{text}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| key_file_error(path, e.to_string()))?;
    tracing::info!(path = %path.display(), key_id = key.id(), "created the secrets key file; back it up with the database");
    Ok(key)
}

/// What [`migrate`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Migrated {
    /// Plaintext values encrypted now.
    pub encrypted: usize,
    /// Values already encrypted with the key (checked).
    pub checked: usize,
}

/// Encrypts every plaintext secret in the store and checks that every encrypted one
/// opens with `key`; idempotent. A value sealed with another key or damaged is an error.
pub async fn migrate(store: &dyn Store, key: &SecretKey) -> Result<Migrated, SecretsError> {
    let stored = store.stored_secrets().await?;
    let mut done = Migrated::default();
    let mut rewrite = replyline_store::StoredSecrets::default();
    for (id, config) in stored.channels {
        let mut config = config;
        let mut changed = false;
        if let Value::Object(map) = &mut config {
            for field in CHANNEL_SECRET_FIELDS {
                let Some(Value::String(value)) = map.get_mut(field) else {
                    continue;
                };
                let what = format!("channel {id}: whatsapp.{field}");
                if is_sealed(value) {
                    key.open(field, &what, value)?;
                    done.checked += 1;
                } else if !value.is_empty() {
                    *value = key.seal(field, value);
                    done.encrypted += 1;
                    changed = true;
                }
            }
        }
        if changed {
            rewrite.channels.push((id, config));
        }
    }
    for (id, secret) in stored.webhooks {
        let what = format!("webhook {id}: secret");
        if is_sealed(&secret) {
            key.open(WEBHOOK_SECRET_FIELD, &what, &secret)?;
            done.checked += 1;
        } else if !secret.is_empty() {
            rewrite
                .webhooks
                .push((id, key.seal(WEBHOOK_SECRET_FIELD, &secret)));
            done.encrypted += 1;
        }
    }
    if !rewrite.channels.is_empty() || !rewrite.webhooks.is_empty() {
        store.rewrite_secrets(&rewrite).await?;
    }
    if done.encrypted > 0 {
        tracing::info!(
            encrypted = done.encrypted,
            "encrypted stored secrets that were plaintext"
        );
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_bound_to_field_and_key() {
        let (key, text) = SecretKey::generate();
        let again = SecretKey::from_base64(&text).unwrap();
        assert_eq!(key.id(), again.id());
        let sealed = key.seal("app_secret", "s3cret");
        assert!(sealed.starts_with("enc:v1:"));
        assert!(!sealed.contains("s3cret"));
        assert_ne!(sealed, key.seal("app_secret", "s3cret"), "fresh nonce");
        assert_eq!(again.open("app_secret", "x", &sealed).unwrap(), "s3cret");
        // Another field, another key, a flipped byte: refused, never garbage.
        assert!(matches!(
            key.open("access_token", "x", &sealed),
            Err(SecretsError::Damaged { .. })
        ));
        let (other, _) = SecretKey::generate();
        assert!(matches!(
            other.open("app_secret", "x", &sealed),
            Err(SecretsError::WrongKey { .. })
        ));
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(key.open("app_secret", "x", &tampered).is_err());
        // Plaintext passes through (rows from before encryption).
        assert_eq!(key.open("app_secret", "x", "plain").unwrap(), "plain");
    }

    #[test]
    fn reveal_finds_the_key_that_sealed() {
        let a = Arc::new(SecretKey::generate().0);
        let b = Arc::new(SecretKey::generate().0);
        register(&a);
        register(&b);
        assert_eq!(reveal("f", &a.seal("f", "one")).unwrap(), "one");
        assert_eq!(reveal("f", &b.seal("f", "two")).unwrap(), "two");
        let c = SecretKey::generate().0;
        assert!(reveal("f", &c.seal("f", "three")).is_err());
        let unusable = reveal_or_unusable("f", &c.seal("f", "three"));
        assert_eq!(unusable.len(), 64);
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(SecretKey::from_base64("not base64!").is_err());
        assert!(SecretKey::from_base64(&BASE64.encode([1u8; 16])).is_err());
        assert!(SecretKey::from_base64(&BASE64.encode([1u8; 32])).is_ok());
    }

    #[test]
    fn key_file_is_created_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/data/r.db?mode=rwc", dir.path().display());
        let path = key_path(&url).unwrap();
        assert_eq!(path, dir.path().join("data").join(KEY_FILE));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let first = load_file(&path).unwrap();
        let second = load_file(&path).unwrap();
        assert_eq!(first.id(), second.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                load_file(&path),
                Err(SecretsError::KeyFile { .. })
            ));
        }
        assert_eq!(key_path("sqlite::memory:"), None);
        assert_eq!(
            key_path("sqlite://r.db"),
            Some(PathBuf::from(".").join(KEY_FILE))
        );
    }
}
