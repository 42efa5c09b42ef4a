//! The message templates of the fake Graph API: `GET /{version}/{WABA_ID}/message_templates`, paged.

use axum::Router;

use crate::fake_graph::Shared;

/// What the fake holds for these endpoints.
#[derive(Debug, Default)]
pub struct TemplateState {}

/// The routes, merged into the fake's router.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
}
