//! ChannelHealthStore: a channel's sending health: consecutive failures, outages, the admins told once per outage (issue 11).

use crate::StoreResult;
use crate::model::Id;
use async_trait::async_trait;
use jiff::Timestamp;

/// Consecutive failed send attempts that start an outage.
pub const OUTAGE_AFTER_FAILURES: i64 = 3;

/// The notification reason of an outage.
pub const CHANNEL_FAILING: &str = "channel_failing";

/// The text of a `channel_failing` notification.
pub fn failing_text(channel_name: &str, error: &str) -> String {
    format!("Канал «{channel_name}» не отправляет сообщения: {error}")
}

/// One send attempt's outcome, as the channel's health sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendHealth {
    /// The provider accepted the message.
    Ok,
    /// The attempt failed with `error`; `halting` when it was an auth or
    /// account error (an outage at once).
    Failed { error: String, halting: bool },
}

/// What an attempt changed about the channel's health.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HealthChange {
    /// Nothing anyone needs to hear about.
    None,
    /// The channel started failing: these admins got a `channel_failing` notification.
    OutageStarted { notified: Vec<Id> },
    /// The first success after an outage.
    OutageEnded,
}

/// A channel's sending health: consecutive failures, outages, the admins told once per outage (issue 11).
#[async_trait]
pub trait ChannelHealthStore: Send + Sync {
    /// Records one send attempt of `channel_id` for a message of
    /// `conversation_id`. [`OUTAGE_AFTER_FAILURES`] consecutive failures, or
    /// one halting failure, start an outage: `failing_since`/`failing_error`
    /// are set and every active admin gets one `channel_failing`
    /// notification (about that conversation), in the same transaction.
    /// Nothing more is sent for that outage; the first success ends it.
    async fn record_send(
        &self,
        channel_id: Id,
        conversation_id: Id,
        health: &SendHealth,
        now: Timestamp,
    ) -> StoreResult<HealthChange>;
}
