//! SQLite side of [`RoutingStore`]: groups, routing rules and the manual clock.

use crate::model::{Id, RoutingCandidate};
use crate::routing::*;
use crate::sqlite::{ms, opt_ts, ts};
use crate::{SqliteStore, StoreError, StoreResult};
use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

fn name_conflict(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict("a group with this name already exists".into())
        }
        _ => StoreError::Database(err),
    }
}

async fn replace_group_members(
    tx: &mut Transaction<'_, Sqlite>,
    group_id: Id,
    employee_ids: &[Id],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM employee_group_members WHERE group_id = ?")
        .bind(group_id)
        .execute(&mut **tx)
        .await?;
    for employee_id in employee_ids {
        sqlx::query(
            "INSERT OR IGNORE INTO employee_group_members (group_id, employee_id) VALUES (?, ?)",
        )
        .bind(group_id)
        .bind(employee_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn rule(row: &SqliteRow) -> StoreResult<RoutingRuleRecord> {
    let keywords: String = row.try_get("keywords")?;
    Ok(RoutingRuleRecord {
        id: row.try_get("id")?,
        position: row.try_get("position")?,
        rule: NewRoutingRule {
            keywords: serde_json::from_str(&keywords)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            channel_id: row.try_get("channel_id")?,
            employee_id: row.try_get("employee_id")?,
            group_id: row.try_get("group_id")?,
        },
    })
}

impl SqliteStore {
    async fn groups_where(&self, filter: &str, id: Option<Id>) -> StoreResult<Vec<Group>> {
        let sql = format!("SELECT id, name FROM employee_groups {filter} ORDER BY name, id");
        let mut query = sqlx::query(&sql);
        if let Some(id) = id {
            query = query.bind(id);
        }
        let rows = query.fetch_all(self.writer_pool()).await?;
        let members: Vec<(Id, Id)> = sqlx::query_as(
            "SELECT group_id, employee_id FROM employee_group_members ORDER BY group_id, employee_id",
        )
        .fetch_all(self.writer_pool())
        .await?;
        rows.iter()
            .map(|row| {
                let id: Id = row.try_get("id")?;
                Ok(Group {
                    id,
                    name: row.try_get("name")?,
                    employee_ids: members
                        .iter()
                        .filter(|(g, _)| *g == id)
                        .map(|(_, e)| *e)
                        .collect(),
                })
            })
            .collect()
    }
}

#[async_trait]
impl RoutingStore for SqliteStore {
    async fn groups(&self) -> StoreResult<Vec<Group>> {
        self.groups_where("", None).await
    }

    async fn group(&self, id: Id) -> StoreResult<Option<Group>> {
        Ok(self
            .groups_where("WHERE id = ?", Some(id))
            .await?
            .into_iter()
            .next())
    }

    async fn create_group(
        &self,
        name: &str,
        employee_ids: &[Id],
        now: Timestamp,
    ) -> StoreResult<Group> {
        let mut tx = self.writer_pool().begin().await?;
        let id: Id = sqlx::query_scalar(
            "INSERT INTO employee_groups (name, created_at) VALUES (?, ?) RETURNING id",
        )
        .bind(name)
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(name_conflict)?;
        replace_group_members(&mut tx, id, employee_ids).await?;
        tx.commit().await?;
        self.group(id).await?.ok_or(StoreError::NotFound)
    }

    async fn update_group(
        &self,
        id: Id,
        name: Option<&str>,
        employee_ids: Option<&[Id]>,
    ) -> StoreResult<Group> {
        let mut tx = self.writer_pool().begin().await?;
        let exists: Option<Id> = sqlx::query_scalar("SELECT id FROM employee_groups WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        if let Some(name) = name {
            sqlx::query("UPDATE employee_groups SET name = ? WHERE id = ?")
                .bind(name)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(name_conflict)?;
        }
        if let Some(employee_ids) = employee_ids {
            replace_group_members(&mut tx, id, employee_ids).await?;
        }
        tx.commit().await?;
        self.group(id).await?.ok_or(StoreError::NotFound)
    }

    async fn delete_group(&self, id: Id) -> StoreResult<bool> {
        let mut tx = self.writer_pool().begin().await?;
        let positions: Vec<i64> = sqlx::query_scalar(
            "SELECT position FROM routing_rules WHERE group_id = ? ORDER BY position",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        if let Some(position) = positions.first() {
            return Err(StoreError::Conflict(format!(
                "routing rule {position} sends chats to this group; change or delete the rule first"
            )));
        }
        sqlx::query("DELETE FROM employee_group_members WHERE group_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM employee_groups WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn group_candidates(&self, group_id: Id) -> StoreResult<Vec<RoutingCandidate>> {
        let rows = sqlx::query(
            "SELECT e.id, e.online, e.last_assigned_at, \
             (SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = e.id AND c.status = 'open') AS open_chats \
             FROM employee_group_members m JOIN employees e ON e.id = m.employee_id \
             WHERE m.group_id = ? AND e.active = 1 ORDER BY e.id",
        )
        .bind(group_id)
        .fetch_all(self.writer_pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RoutingCandidate {
                    employee_id: row.try_get("id")?,
                    online: row.try_get("online")?,
                    open_chats: row.try_get("open_chats")?,
                    last_assigned_at: opt_ts(row.try_get("last_assigned_at")?)?,
                })
            })
            .collect()
    }

    async fn routing_rules(&self) -> StoreResult<Vec<RoutingRuleRecord>> {
        let rows = sqlx::query(
            "SELECT id, position, keywords, channel_id, employee_id, group_id FROM routing_rules ORDER BY position, id",
        )
        .fetch_all(self.writer_pool())
        .await?;
        rows.iter().map(rule).collect()
    }

    async fn replace_routing_rules(
        &self,
        rules: &[NewRoutingRule],
    ) -> StoreResult<Vec<RoutingRuleRecord>> {
        let mut tx = self.writer_pool().begin().await?;
        sqlx::query("DELETE FROM routing_rules")
            .execute(&mut *tx)
            .await?;
        for (index, r) in rules.iter().enumerate() {
            let keywords = serde_json::to_string(&r.keywords)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query(
                "INSERT INTO routing_rules (position, keywords, channel_id, employee_id, group_id) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(index as i64 + 1)
            .bind(keywords)
            .bind(r.channel_id)
            .bind(r.employee_id)
            .bind(r.group_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.routing_rules().await
    }

    async fn manual_clock(&self) -> StoreResult<Option<Timestamp>> {
        let at: Option<i64> = sqlx::query_scalar("SELECT now FROM manual_clock WHERE id = 1")
            .fetch_optional(self.writer_pool())
            .await?;
        at.map(ts).transpose()
    }

    async fn save_manual_clock(&self, now: Timestamp) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO manual_clock (id, now) VALUES (1, ?) \
             ON CONFLICT (id) DO UPDATE SET now = MAX(now, excluded.now)",
        )
        .bind(ms(now))
        .execute(self.writer_pool())
        .await?;
        Ok(())
    }
}
