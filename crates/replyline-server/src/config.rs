//! Service configuration: a TOML file overlaid with `REPLYLINE__<KEY>` environment variables.

use jiff::Timestamp;
use serde::Deserialize;
use std::fmt;
use std::path::Path;

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
    pub admin_password: Option<Secret>,
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
        Ok(())
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
                ("REPLYLINE__ADMIN_PASSWORD", "pw"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:0");
        assert_eq!(c.company_name, "Ромашка");
        assert_eq!(c.clock, ClockMode::Manual);
        assert_eq!(c.database_url, "sqlite://data/replyline.db");
        assert!(!format!("{c:?}").contains("\"pw\""));
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(Config::load(None, env(&[("REPLYLINE__CLOCK", "sundial")])).is_err());
        assert!(Config::load(None, env(&[("REPLYLINE__LISTEN", "nowhere")])).is_err());
    }
}
