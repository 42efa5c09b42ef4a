//! SQLite side of [`WorkspaceStore`]: contact cards, full-text search (FTS5),
//! quick replies and the audit log (with the settings changes merged in).

use crate::model::Id;
use crate::sqlite::{ms, opt_ts, ts};
use crate::workspace::*;
use crate::{SqliteStore, StoreError, StoreResult, Visibility};
use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

/// The contact card's columns over contact alias `k`; `{vis}` is the visibility condition.
const CARD_SELECT: &str = "SELECT k.id, k.channel_id, k.name, k.address, k.note, k.name_edited, \
     NULLIF(k.last_inbound_at, 0) AS last_inbound_at, \
     (SELECT COUNT(*) FROM conversations c WHERE c.contact_id = k.id AND {vis}) AS conversations_count, \
     (SELECT json_group_array(label) FROM (SELECT DISTINCT l.label AS label FROM conversation_labels l \
        JOIN conversations c ON c.id = l.conversation_id WHERE c.contact_id = k.id AND {vis} \
        ORDER BY l.label)) AS labels \
     FROM contacts k";

fn card_select(visibility: &Visibility) -> String {
    CARD_SELECT.replace("{vis}", &visibility.sql_condition())
}

fn corrupt(err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(err.to_string())
}

fn card(row: &SqliteRow) -> StoreResult<ContactCard> {
    let labels: Option<String> = row.try_get("labels")?;
    let mut labels: Vec<String> = match labels {
        Some(json) => serde_json::from_str(&json).map_err(corrupt)?,
        None => Vec::new(),
    };
    // Case-insensitive beyond ASCII (SQLite's NOCASE folds ASCII only).
    labels.sort_by_cached_key(|l| l.to_lowercase());
    labels.dedup_by(|a, b| a.to_lowercase() == b.to_lowercase());
    Ok(ContactCard {
        id: row.try_get("id")?,
        channel_id: row.try_get("channel_id")?,
        name: row.try_get("name")?,
        address: row.try_get("address")?,
        note: row.try_get("note")?,
        name_edited: row.try_get("name_edited")?,
        labels,
        conversations_count: row.try_get("conversations_count")?,
        last_seen_at: opt_ts(row.try_get("last_inbound_at")?)?,
    })
}

const QUICK_REPLY_COLS: &str = "id, owner_id, shared, title, text, created_at, updated_at";

fn quick_reply(row: &SqliteRow) -> StoreResult<QuickReply> {
    Ok(QuickReply {
        id: row.try_get("id")?,
        owner_id: row.try_get("owner_id")?,
        shared: row.try_get("shared")?,
        title: row.try_get("title")?,
        text: row.try_get("text")?,
        created_at: ts(row.try_get("created_at")?)?,
        updated_at: ts(row.try_get("updated_at")?)?,
    })
}

fn parse_json(text: Option<String>) -> StoreResult<Option<Value>> {
    text.map(|t| serde_json::from_str(&t).map_err(corrupt))
        .transpose()
}

fn audit_entry(row: &SqliteRow) -> StoreResult<AuditEntry> {
    let entity: String = row.try_get("entity")?;
    let mut old = parse_json(row.try_get("old")?)?;
    let mut new = parse_json(row.try_get("new")?)?;
    // Settings changes hold the whole settings (migration 0009): list the changed groups.
    if entity == "settings"
        && let (Some(o), Some(n)) = (&old, &new)
    {
        let (o, n) = changed_groups(o, n);
        (old, new) = (Some(o), Some(n));
    }
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: ts(row.try_get("at")?)?,
        employee_id: row.try_get("employee_id")?,
        entity,
        entity_id: row.try_get("entity_id")?,
        action: row.try_get("action")?,
        old,
        new,
    })
}

impl SqliteStore {
    async fn search_messages(
        &self,
        fts: &str,
        words: &[String],
        visibility: &Visibility,
        limit: i64,
    ) -> StoreResult<Vec<MessageHit>> {
        // CROSS JOIN fixes the join order whatever the planner's statistics say:
        // the full-text index yields matches newest first and the page stops at
        // `limit` (docs/benchmarks.md: the planner's own choice scanned every
        // conversation on a database without ANALYZE).
        let sql = format!(
            "SELECT m.id, m.conversation_id, c.contact_id, m.kind, m.text, m.created_at \
             FROM messages_fts CROSS JOIN messages m ON m.id = messages_fts.rowid \
             CROSS JOIN conversations c ON c.id = m.conversation_id \
             WHERE messages_fts MATCH ?1 AND m.text IS NOT NULL AND {} \
             ORDER BY messages_fts.rowid DESC LIMIT ?2",
            visibility.sql_condition()
        );
        let rows = sqlx::query(&sql)
            .bind(fts)
            .bind(limit)
            .fetch_all(self.reader_pool())
            .await?;
        rows.iter()
            .map(|row| {
                let text: String = row.try_get("text")?;
                Ok(MessageHit {
                    id: row.try_get("id")?,
                    conversation_id: row.try_get("conversation_id")?,
                    contact_id: row.try_get("contact_id")?,
                    kind: row.try_get("kind")?,
                    snippet: snippet(&text, words),
                    text,
                    created_at: ts(row.try_get("created_at")?)?,
                })
            })
            .collect()
    }

    async fn search_contacts(
        &self,
        fts: &str,
        visibility: &Visibility,
        limit: i64,
    ) -> StoreResult<Vec<ContactCard>> {
        let sql = format!(
            "{} WHERE k.id IN (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?1) \
             AND EXISTS (SELECT 1 FROM conversations c WHERE c.contact_id = k.id AND {}) \
             ORDER BY COALESCE(k.last_inbound_at, 0) DESC, k.id DESC LIMIT ?2",
            card_select(visibility),
            visibility.sql_condition()
        );
        let rows = sqlx::query(&sql)
            .bind(fts)
            .bind(limit)
            .fetch_all(self.reader_pool())
            .await?;
        rows.iter().map(card).collect()
    }
}

#[async_trait]
impl WorkspaceStore for SqliteStore {
    async fn contact_card(
        &self,
        id: Id,
        visibility: &Visibility,
    ) -> StoreResult<Option<ContactCard>> {
        let sql = format!("{} WHERE k.id = ?", card_select(visibility));
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.reader_pool())
            .await?;
        let found = row.as_ref().map(card).transpose()?;
        Ok(found.filter(|c| c.conversations_count > 0))
    }

    async fn patch_contact(&self, id: Id, patch: &ContactPatch) -> StoreResult<()> {
        let mut tx = self.writer_pool().begin().await?;
        let exists: Option<Id> = sqlx::query_scalar("SELECT id FROM contacts WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        if let Some(name) = &patch.name {
            sqlx::query("UPDATE contacts SET name = ?, name_edited = ? WHERE id = ?")
                .bind(name)
                .bind(name.is_some())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(note) = &patch.note {
            sqlx::query("UPDATE contacts SET note = ? WHERE id = ?")
                .bind(note)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn search(
        &self,
        q: &str,
        visibility: &Visibility,
        limit: i64,
    ) -> StoreResult<SearchResults> {
        let Some(fts) = fts_query(q) else {
            return Ok(SearchResults::default());
        };
        let words = query_words(q);
        Ok(SearchResults {
            messages: self
                .search_messages(&fts, &words, visibility, limit)
                .await?,
            contacts: self.search_contacts(&fts, visibility, limit).await?,
        })
    }

    async fn quick_replies(&self, viewer: Id) -> StoreResult<Vec<QuickReply>> {
        let sql = format!(
            "SELECT {QUICK_REPLY_COLS} FROM quick_replies WHERE shared = 1 OR owner_id = ? \
             ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(viewer)
            .fetch_all(self.reader_pool())
            .await?;
        let mut list = rows
            .iter()
            .map(quick_reply)
            .collect::<StoreResult<Vec<_>>>()?;
        // SQLite's NOCASE folds ASCII only; titles are mostly Cyrillic.
        list.sort_by_cached_key(|q| (q.title.to_lowercase(), q.id));
        Ok(list)
    }

    async fn quick_reply(&self, id: Id) -> StoreResult<Option<QuickReply>> {
        let sql = format!("SELECT {QUICK_REPLY_COLS} FROM quick_replies WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.reader_pool())
            .await?;
        row.as_ref().map(quick_reply).transpose()
    }

    async fn create_quick_reply(
        &self,
        new: &NewQuickReply,
        now: Timestamp,
    ) -> StoreResult<QuickReply> {
        let sql = format!(
            "INSERT INTO quick_replies (owner_id, shared, title, text, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING {QUICK_REPLY_COLS}"
        );
        let row = sqlx::query(&sql)
            .bind(new.owner_id)
            .bind(new.shared)
            .bind(&new.title)
            .bind(&new.text)
            .bind(ms(now))
            .bind(ms(now))
            .fetch_one(self.writer_pool())
            .await?;
        quick_reply(&row)
    }

    async fn update_quick_reply(
        &self,
        id: Id,
        patch: &QuickReplyPatch,
        now: Timestamp,
    ) -> StoreResult<QuickReply> {
        let sql = format!(
            "UPDATE quick_replies SET title = COALESCE(?, title), text = COALESCE(?, text), \
             shared = COALESCE(?, shared), updated_at = ? WHERE id = ? RETURNING {QUICK_REPLY_COLS}"
        );
        let row = sqlx::query(&sql)
            .bind(&patch.title)
            .bind(&patch.text)
            .bind(patch.shared)
            .bind(ms(now))
            .bind(id)
            .fetch_optional(self.writer_pool())
            .await?;
        row.as_ref()
            .map(quick_reply)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    async fn delete_quick_reply(&self, id: Id) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM quick_replies WHERE id = ?")
            .bind(id)
            .execute(self.writer_pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn append_audit(&self, entry: &NewAuditEntry, now: Timestamp) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, employee_id, entity, entity_id, action, old, new) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(ms(now))
        .bind(entry.employee_id)
        .bind(&entry.entity)
        .bind(&entry.entity_id)
        .bind(&entry.action)
        .bind(entry.old.as_ref().map(Value::to_string))
        .bind(entry.new.as_ref().map(Value::to_string))
        .execute(self.writer_pool())
        .await?;
        Ok(())
    }

    async fn audit(&self, limit: i64, before: Option<Id>) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, employee_id, entity, entity_id, action, old, new FROM audit_log \
             WHERE id < ? ORDER BY id DESC LIMIT ?",
        )
        .bind(before.unwrap_or(Id::MAX))
        .bind(limit)
        .fetch_all(self.reader_pool())
        .await?;
        rows.iter().map(audit_entry).collect()
    }
}
