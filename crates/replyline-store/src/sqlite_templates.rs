//! The SQLite implementation of [`crate::TemplateStore`].

use crate::SqliteStore;
use crate::model::Id;
use crate::sqlite::{ms, opt_ts};
use crate::templates::{CachedTemplate, TemplateCache, TemplateStore};
use crate::{StoreError, StoreResult};
use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

const COLUMNS: &str = "name, language, category, status, parameters, preview, components";

fn cached(row: &SqliteRow) -> StoreResult<CachedTemplate> {
    let components: String = row.try_get("components")?;
    Ok(CachedTemplate {
        name: row.try_get("name")?,
        language: row.try_get("language")?,
        category: row.try_get("category")?,
        status: row.try_get("status")?,
        parameters: row.try_get("parameters")?,
        preview: row.try_get("preview")?,
        components: serde_json::from_str(&components)
            .map_err(|e| StoreError::Corrupt(format!("template components: {e}")))?,
    })
}

#[async_trait]
impl TemplateStore for SqliteStore {
    async fn replace_templates(
        &self,
        channel_id: Id,
        templates: &[CachedTemplate],
        fetched_at: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.writer_pool().begin().await?;
        let done = sqlx::query("UPDATE channels SET templates_fetched_at = ? WHERE id = ?")
            .bind(ms(fetched_at))
            .bind(channel_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM whatsapp_templates WHERE channel_id = ?")
            .bind(channel_id)
            .execute(&mut *tx)
            .await?;
        for t in templates {
            sqlx::query(
                "INSERT INTO whatsapp_templates (channel_id, name, language, category, status, \
                 parameters, preview, components, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (channel_id, name, language) DO UPDATE SET category = excluded.category, \
                 status = excluded.status, parameters = excluded.parameters, preview = excluded.preview, \
                 components = excluded.components",
            )
            .bind(channel_id)
            .bind(&t.name)
            .bind(&t.language)
            .bind(&t.category)
            .bind(&t.status)
            .bind(t.parameters)
            .bind(&t.preview)
            .bind(t.components.to_string())
            .bind(ms(fetched_at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn templates(&self, channel_id: Id) -> StoreResult<TemplateCache> {
        let fetched_at: Option<Option<i64>> =
            sqlx::query_scalar("SELECT templates_fetched_at FROM channels WHERE id = ?")
                .bind(channel_id)
                .fetch_optional(self.writer_pool())
                .await?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM whatsapp_templates WHERE channel_id = ? ORDER BY name, language"
        ))
        .bind(channel_id)
        .fetch_all(self.writer_pool())
        .await?;
        Ok(TemplateCache {
            fetched_at: opt_ts(fetched_at.flatten())?,
            templates: rows.iter().map(cached).collect::<StoreResult<_>>()?,
        })
    }

    async fn template(
        &self,
        channel_id: Id,
        name: &str,
        language: &str,
    ) -> StoreResult<Option<CachedTemplate>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM whatsapp_templates WHERE channel_id = ? AND name = ? AND language = ?"
        ))
        .bind(channel_id)
        .bind(name)
        .bind(language)
        .fetch_optional(self.writer_pool())
        .await?;
        row.as_ref().map(cached).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewChannel, Store};
    use serde_json::json;

    fn template(name: &str, status: &str) -> CachedTemplate {
        CachedTemplate {
            name: name.into(),
            language: "ru".into(),
            category: "UTILITY".into(),
            status: status.into(),
            parameters: 1,
            preview: "Заказ {{1}} готов".into(),
            components: json!([{"type": "BODY", "text": "Заказ {{1}} готов"}]),
        }
    }

    async fn store_with_channel() -> (SqliteStore, Id) {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        let channel = store
            .create_channel(
                NewChannel {
                    kind: "whatsapp".into(),
                    name: "Main".into(),
                    config: json!({}),
                    settings: json!({}),
                },
                Timestamp::from_second(1_000).unwrap(),
            )
            .await
            .unwrap();
        (store, channel.id)
    }

    #[tokio::test]
    async fn the_cache_is_replaced_whole_with_its_time() {
        let (store, channel) = store_with_channel().await;
        assert_eq!(
            store.templates(channel).await.unwrap(),
            TemplateCache::default()
        );
        let first = Timestamp::from_second(2_000).unwrap();
        let cached = [
            template("b_order", "APPROVED"),
            template("a_hello", "PENDING"),
        ];
        store
            .replace_templates(channel, &cached, first)
            .await
            .unwrap();
        let cache = store.templates(channel).await.unwrap();
        assert_eq!(cache.fetched_at, Some(first));
        let names: Vec<&str> = cache.templates.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a_hello", "b_order"]);
        assert_eq!(
            store.template(channel, "b_order", "ru").await.unwrap(),
            Some(cached[0].clone())
        );
        assert_eq!(
            store.template(channel, "b_order", "en").await.unwrap(),
            None
        );

        let later = Timestamp::from_second(3_000).unwrap();
        store
            .replace_templates(channel, &[template("c_new", "APPROVED")], later)
            .await
            .unwrap();
        let cache = store.templates(channel).await.unwrap();
        assert_eq!(cache.fetched_at, Some(later));
        assert_eq!(cache.templates.len(), 1);
        assert_eq!(
            store.template(channel, "b_order", "ru").await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn an_unknown_channel_is_not_found() {
        let (store, channel) = store_with_channel().await;
        let err = store
            .replace_templates(channel + 1, &[], Timestamp::from_second(1).unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound), "{err}");
    }
}
