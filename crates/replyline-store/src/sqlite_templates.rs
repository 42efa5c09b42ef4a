//! The SQLite implementation of [`crate::TemplateStore`].

use crate::SqliteStore;
use crate::templates::TemplateStore;
use async_trait::async_trait;

#[async_trait]
impl TemplateStore for SqliteStore {}
