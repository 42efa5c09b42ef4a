//! A channel's connection details as stored (secrets included, encrypted: see
//! [`crate::secrets`]) and as shown (secrets never).

use crate::secrets::{self, SecretKey};
use replyline_store::Channel;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Default Graph API base URL.
pub const DEFAULT_API_BASE_URL: &str = "https://graph.facebook.com";
/// Default Graph API version.
pub const DEFAULT_API_VERSION: &str = "v21.0";
/// Meta's default throughput per business phone number (messages per second).
pub const DEFAULT_MESSAGES_PER_SECOND: u32 = 80;
/// The most Meta allows a number after its automatic upgrade.
pub const MAX_MESSAGES_PER_SECOND: u32 = 1000;

/// The stored WhatsApp connection of a channel.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WhatsappConfig {
    #[serde(default)]
    pub phone_number_id: String,
    #[serde(default)]
    pub access_token: String,
    #[serde(default)]
    pub app_secret: String,
    #[serde(default)]
    pub verify_token: String,
    #[serde(default)]
    pub api_base_url: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
    /// The WhatsApp Business Account whose message templates the channel may send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waba_id: Option<String>,
    /// The number's throughput: sends started per second at most (default
    /// [`DEFAULT_MESSAGES_PER_SECOND`]; 20 for a number shared with the
    /// WhatsApp Business app, up to 1,000 after Meta's upgrade).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_per_second: Option<u32>,
}

impl WhatsappConfig {
    /// Reads the connection of a stored channel (empty for other kinds), secrets decrypted.
    pub fn of(channel: &Channel) -> Self {
        let mut cfg: Self = serde_json::from_value(channel.config.clone()).unwrap_or_default();
        for (field, value) in [
            ("access_token", &mut cfg.access_token),
            ("app_secret", &mut cfg.app_secret),
            ("verify_token", &mut cfg.verify_token),
        ] {
            if secrets::is_sealed(value) {
                *value = secrets::reveal_or_unusable(field, value);
            }
        }
        cfg
    }

    /// The stored form: the secrets sealed with `key`.
    pub fn sealed(&self, key: &SecretKey) -> Value {
        let mut stored = self.clone();
        for (field, value) in [
            ("access_token", &mut stored.access_token),
            ("app_secret", &mut stored.app_secret),
            ("verify_token", &mut stored.verify_token),
        ] {
            if !value.is_empty() {
                *value = key.seal(field, value);
            }
        }
        serde_json::to_value(stored).unwrap_or(Value::Null)
    }

    pub fn base_url(&self) -> &str {
        self.api_base_url
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_API_BASE_URL)
    }

    /// Sends this channel may start per second.
    pub fn messages_per_second(&self) -> u32 {
        clamp_rate(self.messages_per_second)
    }

    /// [`Self::messages_per_second`] of a stored channel, without decrypting its secrets.
    pub fn messages_per_second_of(channel: &Channel) -> u32 {
        let stored = channel
            .config
            .get("messages_per_second")
            .and_then(Value::as_u64);
        clamp_rate(stored.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    pub fn version(&self) -> &str {
        self.api_version
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_API_VERSION)
    }
}

/// A stored throughput, or the default, within Meta's bounds.
fn clamp_rate(stored: Option<u32>) -> u32 {
    stored
        .unwrap_or(DEFAULT_MESSAGES_PER_SECOND)
        .clamp(1, MAX_MESSAGES_PER_SECOND)
}
