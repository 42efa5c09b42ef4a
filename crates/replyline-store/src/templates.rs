//! TemplateStore: the cached WhatsApp message templates of a channel's WABA (issue 11).

use crate::StoreResult;
use crate::model::Id;
use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::Value;

/// One template of the cache, as last read from the Graph API.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedTemplate {
    pub name: String,
    pub language: String,
    pub category: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, …: only `APPROVED` can be sent.
    pub status: String,
    /// The distinct placeholders of the BODY.
    pub parameters: i64,
    /// The BODY text.
    pub preview: String,
    /// The components as the Graph API gave them.
    pub components: Value,
}

/// A channel's cached templates and when they were read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TemplateCache {
    /// `None`: never read.
    pub fetched_at: Option<Timestamp>,
    /// By name, then language.
    pub templates: Vec<CachedTemplate>,
}

/// The cached WhatsApp message templates of a channel's WABA (issue 11).
#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// Replaces the channel's cached templates with `templates` and records
    /// `fetched_at`, in one transaction.
    async fn replace_templates(
        &self,
        channel_id: Id,
        templates: &[CachedTemplate],
        fetched_at: Timestamp,
    ) -> StoreResult<()>;

    /// The channel's cached templates (empty and never read for an unknown channel).
    async fn templates(&self, channel_id: Id) -> StoreResult<TemplateCache>;

    /// One cached template by name and language.
    async fn template(
        &self,
        channel_id: Id,
        name: &str,
        language: &str,
    ) -> StoreResult<Option<CachedTemplate>>;
}
