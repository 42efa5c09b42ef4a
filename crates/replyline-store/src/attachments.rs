//! AttachmentStore: inbound downloads, media lookups and outbound uploads of message files (issue 11).

use crate::StoreResult;
use async_trait::async_trait;

/// Inbound downloads, media lookups and outbound uploads of message files (issue 11).
#[async_trait]
pub trait AttachmentStore: Send + Sync {
    /// Proves the trait is reachable (placeholder until the first real method lands).
    async fn attachments_ready(&self) -> StoreResult<()> {
        Ok(())
    }
}
