//! ChannelHealthStore: a channel's sending health: consecutive failures, outages, the admins told once per outage (issue 11).

use crate::StoreResult;
use async_trait::async_trait;

/// A channel's sending health: consecutive failures, outages, the admins told once per outage (issue 11).
#[async_trait]
pub trait ChannelHealthStore: Send + Sync {
    /// Proves the trait is reachable (placeholder until the first real method lands).
    async fn channel_health_ready(&self) -> StoreResult<()> {
        Ok(())
    }
}
