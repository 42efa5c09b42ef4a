//! Shared helpers of the store tests: fixed instants, a fresh store with one
//! channel, and a new open conversation to commit.
#![allow(dead_code)]

use jiff::Timestamp;
use replyline_store::{
    ConversationWrite, Id, NewChannel, NewMessage, NoSendLimit, OutboxJob, Store, connect,
};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

/// An instant `secs` after a fixed base.
pub fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

/// Opens a fresh SQLite store at `path` below `dir` (folders created) with one
/// WhatsApp channel; returns the store and the channel's id.
pub async fn store_with_channel(dir: &Path, path: &str) -> (Arc<dyn Store>, Id) {
    let url = format!("sqlite://{}/{path}", dir.display());
    let store = connect(&url).await.unwrap();
    let channel = store
        .create_channel(
            NewChannel {
                kind: "whatsapp".into(),
                name: "wa".into(),
                config: json!({}),
                settings: json!({}),
            },
            t(0),
        )
        .await
        .unwrap()
        .id;
    (store, channel)
}

/// Claims up to 10 due outbox rows at `now`, without a send rate limit.
pub async fn claim(store: &dyn Store, now: Timestamp) -> Vec<OutboxJob> {
    store.claim_outbox(now, 10, &mut NoSendLimit).await.unwrap()
}

/// A new open conversation of `contact` on `channel` with `messages`: nobody
/// assigned, nothing due, no events.
pub fn open_conversation(channel: Id, contact: Id, messages: Vec<NewMessage>) -> ConversationWrite {
    ConversationWrite {
        id: None,
        channel_id: channel,
        contact_id: contact,
        contact: None,
        status: "open".into(),
        assignee_id: None,
        waiting_since: None,
        closed_at: None,
        last_message_at: None,
        state: "{}".into(),
        due_at: None,
        messages,
        events: vec![],
        notifications: vec![],
    }
}
