//! The SQLite implementation of [`crate::AttachmentStore`].

use crate::SqliteStore;
use crate::attachments::AttachmentStore;
use async_trait::async_trait;

#[async_trait]
impl AttachmentStore for SqliteStore {}
