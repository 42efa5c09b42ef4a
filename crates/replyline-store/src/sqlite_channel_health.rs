//! The SQLite implementation of [`crate::ChannelHealthStore`].

use crate::SqliteStore;
use crate::channel_health::ChannelHealthStore;
use async_trait::async_trait;

#[async_trait]
impl ChannelHealthStore for SqliteStore {}
