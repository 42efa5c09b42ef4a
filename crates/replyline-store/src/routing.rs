//! User groups, routing rules and the manual clock's high-water mark: rows and the [`RoutingStore`] trait.

use crate::{Id, RoutingCandidate, StoreResult};
use async_trait::async_trait;
use jiff::Timestamp;

/// A named set of employees («группа пользователей»).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub id: Id,
    pub name: String,
    /// Members, sorted by id.
    pub employee_ids: Vec<Id>,
}

/// A routing rule as written by an admin; its priority is its position in the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRoutingRule {
    pub keywords: Vec<String>,
    /// The rule applies only to this channel when set.
    pub channel_id: Option<Id>,
    /// Exactly one of `employee_id` and `group_id` is set.
    pub employee_id: Option<Id>,
    pub group_id: Option<Id>,
}

/// A stored routing rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingRuleRecord {
    pub id: Id,
    /// 1-based priority.
    pub position: i64,
    pub rule: NewRoutingRule,
}

/// Groups, routing rules and the manual clock.
#[async_trait]
pub trait RoutingStore: Send + Sync {
    /// Every group, by name.
    async fn groups(&self) -> StoreResult<Vec<Group>>;
    async fn group(&self, id: Id) -> StoreResult<Option<Group>>;
    /// Creates a group; `Conflict` when the name is taken.
    async fn create_group(
        &self,
        name: &str,
        employee_ids: &[Id],
        now: Timestamp,
    ) -> StoreResult<Group>;
    /// Renames a group and/or replaces its members; `NotFound`, or `Conflict` on a taken name.
    async fn update_group(
        &self,
        id: Id,
        name: Option<&str>,
        employee_ids: Option<&[Id]>,
    ) -> StoreResult<Group>;
    /// Deletes a group; `Conflict` while a routing rule targets it, false when there was none.
    async fn delete_group(&self, id: Id) -> StoreResult<bool>;
    /// Active members of a group with their load, for routing.
    async fn group_candidates(&self, group_id: Id) -> StoreResult<Vec<RoutingCandidate>>;

    /// The routing rules in priority order.
    async fn routing_rules(&self) -> StoreResult<Vec<RoutingRuleRecord>>;
    /// Replaces every routing rule with `rules` (in this order), in one transaction.
    async fn replace_routing_rules(
        &self,
        rules: &[NewRoutingRule],
    ) -> StoreResult<Vec<RoutingRuleRecord>>;

    /// The latest instant a manual clock reached, if one ever ran on this database.
    async fn manual_clock(&self) -> StoreResult<Option<Timestamp>>;
    /// Records that a manual clock reached `now` (kept only when later than the stored one).
    async fn save_manual_clock(&self, now: Timestamp) -> StoreResult<()>;
}
