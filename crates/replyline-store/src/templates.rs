//! TemplateStore: the cached WhatsApp message templates of a channel's WABA (issue 11).

use crate::StoreResult;
use async_trait::async_trait;

/// The cached WhatsApp message templates of a channel's WABA (issue 11).
#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// Proves the trait is reachable (placeholder until the first real method lands).
    async fn templates_ready(&self) -> StoreResult<()> {
        Ok(())
    }
}
