//! Notification deliveries and outgoing CRM webhooks: rows, writes and the [`DeliveryStore`] trait.

use crate::{Id, NotificationRecord, StoreResult};
use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::Value;

/// The CRM events an endpoint may subscribe to.
pub const WEBHOOK_EVENTS: &[&str] = &[
    "message.received",
    "message.sent",
    "conversation.opened",
    "conversation.closed",
    "sla.breached",
    "notification.created",
];

/// Which external notification channels the running server can use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryTargets {
    /// `smtp_url` is configured.
    pub email: bool,
    /// `telegram_bot_token` is configured.
    pub telegram: bool,
}

/// An employee's notification preferences.
#[derive(Clone, Debug, PartialEq)]
pub struct Preferences {
    pub email: bool,
    pub telegram: bool,
    /// `ru` or `en`.
    pub language: String,
    /// `{"start","end","timezone"}` or `None`.
    pub quiet_hours: Option<Value>,
    /// Web alerts: a sound when a client writes.
    pub alert_sound: bool,
    /// Web alerts: a desktop `Notification`.
    pub alert_desktop: bool,
    /// Web alerts: the unread count in the tab title.
    pub alert_title: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            email: true,
            telegram: true,
            language: "ru".into(),
            quiet_hours: None,
            alert_sound: true,
            alert_desktop: true,
            alert_title: true,
        }
    }
}

/// A CRM webhook endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub id: Id,
    pub url: String,
    /// The HMAC key (never shown by the API).
    pub secret: String,
    pub events: Vec<String>,
    pub created_at: Timestamp,
}

/// A new CRM webhook endpoint.
#[derive(Clone, Debug)]
pub struct NewWebhook {
    pub url: String,
    pub secret: String,
    pub events: Vec<String>,
}

/// One delivery: a notification over one channel (`in_app`, `email`,
/// `telegram`, `webhook`) or one CRM event to one endpoint (`webhook`).
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub id: Id,
    pub channel: String,
    pub notification_id: Option<Id>,
    pub recipient_id: Option<Id>,
    pub webhook_id: Option<Id>,
    /// The CRM event name for `webhook` deliveries.
    pub event: Option<String>,
    pub conversation_id: Option<Id>,
    pub message_id: Option<Id>,
    /// Event details recorded with the row (e.g. the `sla.breached` reason).
    pub extra: Option<Value>,
    /// The webhook body, frozen at the first attempt so retries send the same bytes.
    pub body: Option<Value>,
    /// pending, inflight, sent, delivered, failed, skipped.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub response_code: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What happened to a claimed delivery.
#[derive(Clone, Debug)]
pub enum DeliveryOutcome {
    /// Delivered to the provider.
    Sent { response_code: Option<i64> },
    /// Failed; try again at `at` (a new attempt on the same row).
    Retry {
        at: Timestamp,
        error: String,
        response_code: Option<i64>,
    },
    /// Given up.
    Failed {
        error: String,
        response_code: Option<i64>,
    },
    /// Not attempted now (quiet hours): try at `at`; not counted as an attempt.
    Defer { at: Timestamp },
    /// Not sent on purpose (e.g. no Telegram chat linked any more).
    Skipped { reason: String },
}

/// Storage for deliveries, preferences and CRM webhooks.
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Records which external channels new notifications get delivery rows for.
    async fn set_delivery_targets(&self, targets: DeliveryTargets) -> StoreResult<()>;
    async fn preferences(&self, employee_id: Id) -> StoreResult<Preferences>;
    async fn set_preferences(&self, employee_id: Id, prefs: &Preferences) -> StoreResult<()>;
    async fn create_webhook(&self, new: NewWebhook, now: Timestamp) -> StoreResult<Webhook>;
    async fn webhooks(&self) -> StoreResult<Vec<Webhook>>;
    async fn webhook(&self, id: Id) -> StoreResult<Option<Webhook>>;
    /// Deletes an endpoint (its pending deliveries are skipped); false when there is none.
    async fn delete_webhook(&self, id: Id, now: Timestamp) -> StoreResult<bool>;
    /// An endpoint's delivery log, newest first.
    async fn webhook_deliveries(&self, webhook_id: Id, limit: i64) -> StoreResult<Vec<Delivery>>;
    /// The deliveries of these notifications, by id.
    async fn notification_deliveries(&self, notification_ids: &[Id]) -> StoreResult<Vec<Delivery>>;
    /// One notification.
    async fn notification(&self, id: Id) -> StoreResult<Option<NotificationRecord>>;
    /// Puts rows left in flight by a crash back to pending (at-least-once).
    async fn recover_deliveries(&self) -> StoreResult<u64>;
    /// Claims due pending rows (marks them in flight) in one transaction.
    async fn claim_deliveries(&self, now: Timestamp, limit: i64) -> StoreResult<Vec<Delivery>>;
    /// Freezes a webhook body before its first attempt.
    async fn set_delivery_body(&self, id: Id, body: &Value) -> StoreResult<()>;
    async fn finish_delivery(
        &self,
        id: Id,
        outcome: DeliveryOutcome,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// The earliest pending row's attempt time.
    async fn next_delivery_at(&self) -> StoreResult<Option<Timestamp>>;
}
