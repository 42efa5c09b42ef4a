//! A channel's connection details as stored (secrets included) and as shown (secrets never).

use replyline_store::Channel;
use serde::{Deserialize, Serialize};

/// Default Graph API base URL.
pub const DEFAULT_API_BASE_URL: &str = "https://graph.facebook.com";
/// Default Graph API version.
pub const DEFAULT_API_VERSION: &str = "v21.0";

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
}

impl WhatsappConfig {
    /// Reads the connection of a stored channel (empty for other kinds).
    pub fn of(channel: &Channel) -> Self {
        serde_json::from_value(channel.config.clone()).unwrap_or_default()
    }

    pub fn base_url(&self) -> &str {
        self.api_base_url
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_API_BASE_URL)
    }

    pub fn version(&self) -> &str {
        self.api_version
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_API_VERSION)
    }
}
