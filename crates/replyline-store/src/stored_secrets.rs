//! Secret-bearing values as stored, for the service's encryption at rest: the
//! [`SecretStore`] trait and its SQLite side.
//!
//! The store never encrypts or decrypts: the service seals values before it
//! writes them (`replyline-server`'s `secrets` module). This trait only lets
//! the service find every stored secret, deleted rows included, and rewrite
//! them, e.g. to encrypt rows written before encryption existed.

use crate::model::Id;
use crate::{SqliteStore, StoreError, StoreResult};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::Row;

/// Every row that holds a secret, as stored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredSecrets {
    /// Channel connection configs (`channels.config`), deleted channels included.
    pub channels: Vec<(Id, Value)>,
    /// CRM webhook HMAC keys (`webhooks.secret`), deleted endpoints included.
    pub webhooks: Vec<(Id, String)>,
}

/// Reading and rewriting stored secrets.
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Every secret-bearing row.
    async fn stored_secrets(&self) -> StoreResult<StoredSecrets>;
    /// Replaces the named rows' values, in one transaction.
    async fn rewrite_secrets(&self, rows: &StoredSecrets) -> StoreResult<()>;
}

#[async_trait]
impl SecretStore for SqliteStore {
    async fn stored_secrets(&self) -> StoreResult<StoredSecrets> {
        let mut out = StoredSecrets::default();
        for row in sqlx::query("SELECT id, config FROM channels ORDER BY id")
            .fetch_all(self.writer_pool())
            .await?
        {
            let config: String = row.try_get("config")?;
            let config =
                serde_json::from_str(&config).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            out.channels.push((row.try_get("id")?, config));
        }
        for row in sqlx::query("SELECT id, secret FROM webhooks ORDER BY id")
            .fetch_all(self.writer_pool())
            .await?
        {
            out.webhooks
                .push((row.try_get("id")?, row.try_get("secret")?));
        }
        Ok(out)
    }

    async fn rewrite_secrets(&self, rows: &StoredSecrets) -> StoreResult<()> {
        let mut tx = self.writer_pool().begin().await?;
        for (id, config) in &rows.channels {
            sqlx::query("UPDATE channels SET config = ? WHERE id = ?")
                .bind(config.to_string())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for (id, secret) in &rows.webhooks {
            sqlx::query("UPDATE webhooks SET secret = ? WHERE id = ?")
                .bind(secret)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
