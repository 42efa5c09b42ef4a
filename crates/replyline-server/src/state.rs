//! Shared application state handed to every handler.

use crate::clock::Clock;
use crate::driver::DriverHandle;
use crate::ingest::InboxBatcher;
use crate::live::LiveHub;
use crate::metrics::Metrics;
use crate::outbox::OutboxHandle;
use replyline_store::Store;
use std::sync::Arc;

/// Everything a request handler may use; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    pub driver: DriverHandle,
    pub outbox: OutboxHandle,
    pub inbox: InboxBatcher,
    pub metrics: Arc<Metrics>,
    /// Base of printed webhook URLs, without a trailing slash.
    pub public_url: Arc<str>,
    /// Notification and CRM webhook deliveries.
    pub delivery: crate::delivery::DeliveryHandle,
    /// Failed logins per e-mail and client IP (in memory).
    pub login_limiter: Arc<crate::auth::LoginLimiter>,
    /// How long login sessions live (`session_*` configuration).
    pub sessions: crate::auth::SessionPolicy,
    /// Live events for WebSocket clients.
    pub live: LiveHub,
    /// The key that seals provider tokens and webhook secrets at rest.
    pub secrets: Arc<crate::secrets::SecretKey>,
    /// `company_name` of the configuration (`{company_name}` in quick replies).
    pub company_name: Arc<str>,
    /// Which notification deliveries the server is configured for.
    pub deliveries: Deliveries,
    /// Set by `replyline demo` once its channel exists: the customers it can
    /// make write again (`/api/v1/demo`); empty on a real server.
    pub demo: Arc<std::sync::OnceLock<crate::demo::DemoMode>>,
    /// Where message files are kept (`media_url`).
    pub media: crate::media::MediaStore,
    /// The media worker: downloads clients' files (`media_worker`).
    pub downloads: crate::media_worker::MediaWorkerHandle,
}

/// The notification deliveries this server can make (`smtp_url`,
/// `telegram_bot_token`), shown on the profile page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deliveries {
    pub email: bool,
    pub telegram: bool,
}
