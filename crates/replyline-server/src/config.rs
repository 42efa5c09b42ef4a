//! Service configuration: a TOML file overlaid with `REPLYLINE__<KEY>` environment variables.

use jiff::Timestamp;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// A secret string whose `Debug`/`Display` never reveal it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which clock the service runs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockMode {
    /// The wall clock.
    #[default]
    System,
    /// Frozen time, advanced only by `POST /api/v1/clock/advance` (sandboxes and tests).
    Manual,
}

/// Every key of API.md's configuration table, plus `manual_clock_start`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Config {
    pub listen: String,
    pub database_url: String,
    pub public_url: Option<String>,
    pub company_name: String,
    pub clock: ClockMode,
    /// Start of the manual clock (RFC 3339); default: the real time at start.
    pub manual_clock_start: Option<Timestamp>,
    /// The key that encrypts provider tokens and webhook secrets in the database: 32 bytes,
    /// base64. Unset: `replyline.key` next to the SQLite database (created on first start,
    /// owner-only). See `secrets.rs`.
    pub secret_key: Option<Secret>,
    pub smtp_url: Option<Secret>,
    pub smtp_from: Option<String>,
    pub telegram_bot_token: Option<Secret>,
    pub telegram_api_base_url: String,
    pub admin_email: Option<String>,
    /// At least [`MIN_ADMIN_PASSWORD_CHARS`] characters.
    pub admin_password: Option<Secret>,
    /// A login session unused for this long ends (seconds; default 7 days).
    #[serde(deserialize_with = "seconds")]
    pub session_idle_timeout_seconds: u64,
    /// A login session ends this long after the login (seconds; default 30 days).
    #[serde(deserialize_with = "seconds")]
    pub session_max_age_seconds: u64,
    /// Where message files are kept: `file://DIR` or `s3://BUCKET?endpoint=…`;
    /// unset: `<data dir>/media` (see `media.rs`).
    pub media_url: Option<Secret>,
}

/// The shortest `admin_password` accepted, like every other password.
pub const MIN_ADMIN_PASSWORD_CHARS: usize = 8;
/// Default of `session_idle_timeout_seconds`: a week.
pub const DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS: u64 = 7 * 24 * 3600;
/// Default of `session_max_age_seconds`: thirty days.
pub const DEFAULT_SESSION_MAX_AGE_SECONDS: u64 = 30 * 24 * 3600;
/// Bounds of both session lifetimes: a minute to ten years.
const SESSION_SECONDS: std::ops::RangeInclusive<u64> = 60..=10 * 366 * 24 * 3600;

/// A number of seconds from TOML (an integer) or the environment (a string).
fn seconds<'de, D: serde::Deserializer<'de>>(de: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    match Raw::deserialize(de)? {
        Raw::Number(n) => Ok(n),
        Raw::Text(t) => t.trim().parse().map_err(|_| {
            serde::de::Error::custom(format!("expected a number of seconds, got {t:?}"))
        }),
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/replyline.db".into(),
            public_url: None,
            company_name: "Replyline".into(),
            clock: ClockMode::System,
            manual_clock_start: None,
            secret_key: None,
            smtp_url: None,
            smtp_from: None,
            telegram_bot_token: None,
            telegram_api_base_url: "https://api.telegram.org".into(),
            admin_email: None,
            admin_password: None,
            session_idle_timeout_seconds: DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS,
            session_max_age_seconds: DEFAULT_SESSION_MAX_AGE_SECONDS,
            media_url: None,
        }
    }
}

/// A configuration that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: {source}")]
    Toml {
        path: String,
        source: toml::de::Error,
    },
    #[error("configuration: {0}")]
    Invalid(String),
}

const ENV_PREFIX: &str = "REPLYLINE__";

impl Config {
    /// Loads the optional TOML `file`, then applies `REPLYLINE__<KEY>` variables from `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => read_table(path)?,
            None => toml::Table::new(),
        };
        for (key, value) in env {
            if let Some(name) = key.strip_prefix(ENV_PREFIX) {
                insert_nested(&mut table, &name.to_ascii_lowercase(), value);
            }
        }
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_owned()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "listen: not an address: {:?}",
                self.listen
            )));
        }
        if let Some(password) = &self.admin_password
            && password.expose().chars().count() < MIN_ADMIN_PASSWORD_CHARS
        {
            return Err(ConfigError::Invalid(format!(
                "admin_password: must be at least {MIN_ADMIN_PASSWORD_CHARS} characters"
            )));
        }
        for (key, value) in [
            (
                "session_idle_timeout_seconds",
                self.session_idle_timeout_seconds,
            ),
            ("session_max_age_seconds", self.session_max_age_seconds),
        ] {
            if !SESSION_SECONDS.contains(&value) {
                return Err(ConfigError::Invalid(format!(
                    "{key}: must be {} to {} seconds, got {value}",
                    SESSION_SECONDS.start(),
                    SESSION_SECONDS.end()
                )));
            }
        }
        Ok(())
    }

    /// The SQLite database file named by `database_url`; `None` for an
    /// in-memory or non-SQLite database.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let rest = self
            .database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"))?;
        let file = rest.split('?').next().unwrap_or("");
        (!file.is_empty() && !file.contains(":memory:")).then(|| PathBuf::from(file))
    }

    /// The data directory: the absolute path of the SQLite database's folder
    /// (relative paths resolve against the current directory; symbolic links
    /// are followed once the folder exists); `None` without a database file.
    pub fn data_dir(&self) -> Option<PathBuf> {
        let file = self.sqlite_file()?;
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Some(
            std::fs::canonicalize(dir)
                .unwrap_or_else(|_| std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned())),
        )
    }

    /// `public_url` without a trailing slash, or `http://<listen address>`.
    pub fn public_url_or(&self, bound: std::net::SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: display.clone(),
        source,
    })?;
    text.parse::<toml::Table>()
        .map_err(|source| ConfigError::Toml {
            path: display,
            source,
        })
}

/// `a__b` sets `[a] b`; values stay strings (every key is a string or parses from one).
fn insert_nested(table: &mut toml::Table, key: &str, value: String) {
    match key.split_once("__") {
        Some((head, rest)) => {
            let entry = table
                .entry(head.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(inner) = entry {
                insert_nested(inner, rest, value);
            }
        }
        None => {
            table.insert(key.to_owned(), toml::Value::String(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_overrides_file_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9\"\ncompany_name = \"Ромашка\"\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&path),
            env(&[
                ("REPLYLINE__LISTEN", "127.0.0.1:0"),
                ("REPLYLINE__CLOCK", "manual"),
                ("REPLYLINE__ADMIN_PASSWORD", "pw-secret"),
                ("REPLYLINE__SESSION_IDLE_TIMEOUT_SECONDS", "600"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.session_idle_timeout_seconds, 600);
        assert_eq!(c.session_max_age_seconds, DEFAULT_SESSION_MAX_AGE_SECONDS);
        assert_eq!(c.listen, "127.0.0.1:0");
        assert_eq!(c.company_name, "Ромашка");
        assert_eq!(c.clock, ClockMode::Manual);
        assert_eq!(c.database_url, "sqlite://data/replyline.db");
        assert!(!format!("{c:?}").contains("pw-secret"));
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(Config::load(None, env(&[("REPLYLINE__CLOCK", "sundial")])).is_err());
        assert!(Config::load(None, env(&[("REPLYLINE__LISTEN", "nowhere")])).is_err());
        for bad in ["0", "59", "soon", "-5"] {
            let e = env(&[("REPLYLINE__SESSION_MAX_AGE_SECONDS", bad)]);
            assert!(Config::load(None, e).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_short_admin_password_is_a_startup_error() {
        let err = Config::load(None, env(&[("REPLYLINE__ADMIN_PASSWORD", "x")])).unwrap_err();
        assert!(err.to_string().contains("admin_password"), "{err}");
        assert!(!err.to_string().contains("\"x\""), "{err}");
        let seven = env(&[("REPLYLINE__ADMIN_PASSWORD", "1234567")]);
        assert!(Config::load(None, seven).is_err());
        let eight = env(&[("REPLYLINE__ADMIN_PASSWORD", "12345678")]);
        assert!(Config::load(None, eight).is_ok());
    }

    #[test]
    fn the_data_directory_is_the_database_folder_made_absolute() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        let at = |url: &str| Config {
            database_url: url.to_owned(),
            ..Config::default()
        };
        let url = format!("sqlite://{}/replyline.db?mode=rwc", dir.path().display());
        assert_eq!(at(&url).data_dir(), Some(real.clone()));
        assert_eq!(
            at(&format!("sqlite:{}/x/../r.db", dir.path().display())).sqlite_file(),
            Some(dir.path().join("x/../r.db"))
        );
        let relative = at("sqlite://data/replyline.db").data_dir().unwrap();
        assert!(relative.is_absolute(), "{}", relative.display());
        assert!(relative.ends_with("data"), "{}", relative.display());
        let bare = at("sqlite://replyline.db").data_dir().unwrap();
        assert_eq!(bare, std::fs::canonicalize(".").unwrap());
        assert_eq!(at("sqlite::memory:").data_dir(), None);
        assert_eq!(at("postgres://db/replyline").data_dir(), None);
    }

    #[test]
    fn session_lifetimes_come_from_a_file_as_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "session_idle_timeout_seconds = 3600\nsession_max_age_seconds = 86400\n",
        )
        .unwrap();
        let c = Config::load(Some(&path), env(&[])).unwrap();
        assert_eq!(c.session_idle_timeout_seconds, 3600);
        assert_eq!(c.session_max_age_seconds, 86400);
    }
}
