//! The media of the fake Graph API: `GET /{version}/{MEDIA_ID}`, the bytes behind its URL, and uploads to `POST /{version}/{phone_number_id}/media`.

use axum::Router;

use crate::fake_graph::Shared;

/// What the fake holds for these endpoints.
#[derive(Debug, Default)]
pub struct MediaState {}

/// The routes, merged into the fake's router.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
}
