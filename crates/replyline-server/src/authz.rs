//! Authorization: who may see and do what (SPEC §1 roles).
//!
//! Every handler asks these functions; the live-events stream filters with the
//! same [`can_view_conversation`]. The functions are pure: they look at the
//! actor, the resource and an [`Access`] snapshot of the team (managers,
//! channel members, channel supervisors), which [`Access::load`] reads from
//! the store.
//!
//! - `admin`: everything.
//! - anyone: their own chats (assigned to them); unassigned chats of channels
//!   they are a member of; every chat of a channel whose settings name them as
//!   a supervisor or a chosen manager of a control rule (they receive its
//!   notifications).
//! - managers (anyone with people under them): chats assigned to anyone under
//!   them, transitively along the manager chain.
//! - observers (mentioned in a note): that chat; they may write in it but not
//!   close or transfer it (403) unless another rule lets them see it.
//!
//! A conversation the actor may not see is answered 404 (its existence is not
//! leaked); an admin-only action is 403.

use crate::error::ApiError;
use replyline_store::{
    Channel, ConversationQuery, ConversationRecord, Employee, Id, Store, Visibility,
};
use std::collections::{HashMap, HashSet};

/// The team as authorization sees it.
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// employee → manager.
    managers: HashMap<Id, Id>,
    roles: HashMap<Id, String>,
    active: HashSet<Id>,
    /// (channel, employee) memberships.
    members: HashSet<(Id, Id)>,
    /// (channel, employee) supervisors and chosen managers named in the channel's settings.
    supervisors: HashSet<(Id, Id)>,
}

impl Access {
    /// Builds a snapshot from rows.
    pub fn new(employees: &[Employee], memberships: &[(Id, Id)], channels: &[Channel]) -> Self {
        let mut access = Access::default();
        for e in employees {
            if let Some(m) = e.manager_id {
                access.managers.insert(e.id, m);
            }
            access.roles.insert(e.id, e.role.clone());
            if e.active {
                access.active.insert(e.id);
            }
        }
        access.members = memberships.iter().copied().collect();
        for c in channels {
            for id in overseers(&c.settings) {
                access.supervisors.insert((c.id, id));
            }
        }
        access
    }

    /// Reads the current snapshot from the store.
    pub async fn load(store: &dyn Store) -> Result<Self, ApiError> {
        let employees = store.employees().await?;
        let memberships = store.channel_memberships().await?;
        let channels = store.channels().await?;
        Ok(Self::new(&employees, &memberships, &channels))
    }

    /// Whether `employee` is a member of `channel`.
    pub fn is_member(&self, channel: Id, employee: Id) -> bool {
        self.members.contains(&(channel, employee))
    }

    /// Whether `channel` names `employee` as a supervisor.
    pub fn is_supervisor(&self, channel: Id, employee: Id) -> bool {
        self.supervisors.contains(&(channel, employee))
    }

    /// The members of `channel`, sorted.
    pub fn members_of(&self, channel: Id) -> Vec<Id> {
        let mut v: Vec<Id> = self
            .members
            .iter()
            .filter(|(c, _)| *c == channel)
            .map(|(_, e)| *e)
            .collect();
        v.sort_unstable();
        v
    }

    /// The channels `employee` is a member of, sorted.
    pub fn channels_of(&self, employee: Id) -> Vec<Id> {
        let mut v: Vec<Id> = self
            .members
            .iter()
            .filter(|(_, e)| *e == employee)
            .map(|(c, _)| *c)
            .collect();
        v.sort_unstable();
        v
    }

    /// Whether `employee` is (transitively) under `manager`; never true for oneself.
    pub fn is_under(&self, employee: Id, manager: Id) -> bool {
        let mut next = self.managers.get(&employee).copied();
        let mut steps = 0;
        while let Some(m) = next {
            if m == manager {
                return true;
            }
            steps += 1;
            if steps > 1000 {
                return false;
            }
            next = self.managers.get(&m).copied();
        }
        false
    }

    fn role(&self, employee: Id) -> Option<&str> {
        self.roles.get(&employee).map(String::as_str)
    }
}

/// The people a channel's settings make responsible for all its chats: its
/// `supervisors` and the managers chosen for its control rules (`manager_ids`),
/// who are notified about its chats and so must be able to open them.
fn overseers(settings: &serde_json::Value) -> Vec<Id> {
    let lists = [
        settings.get("supervisors"),
        settings.pointer("/notify_manager_first/manager_ids"),
        settings.pointer("/notify_manager_next/manager_ids"),
    ];
    lists
        .into_iter()
        .flatten()
        .filter_map(|list| list.as_array())
        .flatten()
        .filter_map(|v| {
            v.as_str()
                .and_then(|s| s.parse().ok())
                .or_else(|| v.as_i64())
        })
        .collect()
}

/// Whether the actor is an admin.
pub fn is_admin(actor: &Employee) -> bool {
    actor.role == "admin"
}

/// Admin-only actions: settings, channels, members, employee writes, other people's tokens.
pub fn require_admin(actor: &Employee) -> Result<(), ApiError> {
    if is_admin(actor) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only admins may do this".into()))
    }
}

/// The conversations the actor may see, for filtering inside SQL (listing,
/// paging, search): the same rules as [`can_view`], plus chats the actor
/// observes.
pub fn visibility(actor: &Employee, team: &Access) -> Visibility {
    if is_admin(actor) {
        return Visibility::everything();
    }
    let mut assignees: Vec<Id> = team
        .roles
        .keys()
        .copied()
        .filter(|e| *e == actor.id || team.is_under(*e, actor.id))
        .collect();
    if !assignees.contains(&actor.id) {
        assignees.push(actor.id);
    }
    assignees.sort_unstable();
    let mut full_channels: Vec<Id> = team
        .supervisors
        .iter()
        .filter(|(_, e)| *e == actor.id)
        .map(|(c, _)| *c)
        .collect();
    full_channels.sort_unstable();
    Visibility {
        all: false,
        assignees,
        queue_channels: team.channels_of(actor.id),
        full_channels,
        observer: Some(actor.id),
    }
}

/// Whether the actor may see a conversation with this channel and assignee.
pub fn can_view(actor: &Employee, channel_id: Id, assignee_id: Option<Id>, team: &Access) -> bool {
    if is_admin(actor) {
        return true;
    }
    if team.is_supervisor(channel_id, actor.id) {
        return true;
    }
    match assignee_id {
        Some(a) => a == actor.id || team.is_under(a, actor.id),
        None => team.is_member(channel_id, actor.id),
    }
}

/// Whether the actor may see `conversation`: [`can_view`], or they observe it.
pub fn can_view_conversation(
    actor: &Employee,
    conversation: &ConversationRecord,
    team: &Access,
) -> bool {
    can_manage_conversation(actor, conversation, team)
        || conversation.observer_ids.contains(&actor.id)
}

/// Whether the actor may write (reply, note, read, label, mention) in a conversation:
/// whoever may see it, observers included.
pub fn can_act_on_conversation(
    actor: &Employee,
    conversation: &ConversationRecord,
    team: &Access,
) -> bool {
    can_view_conversation(actor, conversation, team)
}

/// Whether the actor may close or transfer a conversation: whoever sees it by a
/// rule other than observing it.
pub fn can_manage_conversation(
    actor: &Employee,
    conversation: &ConversationRecord,
    team: &Access,
) -> bool {
    can_view(
        actor,
        conversation.channel_id,
        conversation.assignee_id,
        team,
    )
}

/// Whether the actor may see a channel (its record and settings): admins, members,
/// supervisors, and managers of a member.
pub fn can_view_channel(actor: &Employee, channel_id: Id, team: &Access) -> bool {
    is_admin(actor)
        || team.is_member(channel_id, actor.id)
        || team.is_supervisor(channel_id, actor.id)
        || team
            .members_of(channel_id)
            .into_iter()
            .any(|m| team.is_under(m, actor.id))
}

/// Whether the actor may open a conversation on a channel by writing first.
pub fn can_open_on_channel(actor: &Employee, channel_id: Id, team: &Access) -> bool {
    is_admin(actor)
        || team.is_member(channel_id, actor.id)
        || team.is_supervisor(channel_id, actor.id)
}

/// Whether `target` may be given a conversation of `channel_id`: a member of the channel,
/// or an admin or manager (who may take any chat they are handed).
pub fn can_be_assigned(target: Id, channel_id: Id, team: &Access) -> bool {
    team.active.contains(&target)
        && (team.is_member(channel_id, target)
            || matches!(team.role(target), Some("admin") | Some("manager")))
}

/// Whether the actor may list and revoke `owner`'s tokens.
pub fn can_manage_tokens_of(actor: &Employee, owner: Id) -> bool {
    actor.id == owner || is_admin(actor)
}

/// `?scope=` of the conversation list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Assigned to the actor.
    Mine,
    /// Unassigned (and visible).
    Unassigned,
    /// Assigned to someone under the actor.
    Team,
    /// Everything visible.
    All,
    /// Chats the actor observes.
    Observing,
}

impl Scope {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "mine" => Some(Self::Mine),
            "unassigned" => Some(Self::Unassigned),
            "team" => Some(Self::Team),
            "all" | "" => Some(Self::All),
            "observing" => Some(Self::Observing),
            _ => None,
        }
    }

    /// Narrows a listing query to this scope.
    pub fn apply(self, actor: &Employee, team: &Access, query: &mut ConversationQuery) {
        match self {
            Self::All => {}
            Self::Mine => query.assignee_in = Some(vec![actor.id]),
            Self::Unassigned => query.unassigned = true,
            Self::Team => {
                let mut under: Vec<Id> = team
                    .roles
                    .keys()
                    .copied()
                    .filter(|e| team.is_under(*e, actor.id))
                    .collect();
                under.sort_unstable();
                query.assignee_in = Some(under);
            }
            Self::Observing => query.observed_by = Some(actor.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emp(id: Id, role: &str, manager: Option<Id>) -> Employee {
        Employee {
            id,
            email: format!("{id}@x"),
            name: format!("e{id}"),
            display_name: None,
            role: role.into(),
            manager_id: manager,
            password_hash: None,
            telegram_chat_id: None,
            active: true,
            online: false,
            last_seen_at: None,
        }
    }

    #[test]
    fn chosen_managers_of_a_control_rule_see_the_channels_chats() {
        let es = vec![
            emp(2, "employee", Some(3)),
            emp(3, "manager", None),
            emp(6, "manager", None),
        ];
        let channel = |id: Id, settings: serde_json::Value| Channel {
            id,
            kind: "whatsapp".into(),
            name: format!("c{id}"),
            config: serde_json::json!({}),
            settings,
            status: "active".into(),
            status_reason: None,
            last_webhook_at: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            routing: "manual".into(),
            allow_write_first: false,
            failing_since: None,
            failing_error: None,
        };
        let channels = [
            channel(
                10,
                serde_json::json!({"notify_manager_next": {"manager_ids": ["6"]}}),
            ),
            channel(
                20,
                serde_json::json!({"notify_manager_first": {"manager_ids": []}}),
            ),
        ];
        let team = Access::new(&es, &[(10, 2), (20, 2)], &channels);
        assert!(can_view(&es[2], 10, Some(2), &team));
        assert!(can_view(&es[2], 10, None, &team));
        assert!(can_view_channel(&es[2], 10, &team));
        assert!(!can_view(&es[2], 20, Some(2), &team));
        assert!(!can_view_channel(&es[2], 20, &team));
    }

    #[test]
    fn roles_and_chain() {
        // 1 admin; 2 → 3 → 4 (4 is the top manager); 5 another employee.
        let es = vec![
            emp(1, "admin", None),
            emp(2, "employee", Some(3)),
            emp(3, "manager", Some(4)),
            emp(4, "manager", None),
            emp(5, "employee", None),
        ];
        let team = Access::new(&es, &[(10, 2), (10, 5), (20, 5)], &[]);
        // admin sees all
        assert!(can_view(&es[0], 99, Some(5), &team));
        // own chats
        assert!(can_view(&es[1], 20, Some(2), &team));
        // unassigned of own channel only
        assert!(can_view(&es[1], 10, None, &team));
        assert!(!can_view(&es[1], 20, None, &team));
        // someone else's chat
        assert!(!can_view(&es[1], 10, Some(5), &team));
        // the chain, transitively
        assert!(can_view(&es[2], 10, Some(2), &team));
        assert!(can_view(&es[3], 10, Some(2), &team));
        assert!(!can_view(&es[3], 10, Some(5), &team));
        // upward is not visible
        assert!(!can_view(&es[1], 10, Some(3), &team));
        assert!(can_be_assigned(5, 20, &team));
        assert!(!can_be_assigned(2, 20, &team));
        assert!(can_be_assigned(3, 20, &team));
        let mut query = ConversationQuery::default();
        Scope::Team.apply(&es[3], &team, &mut query);
        assert_eq!(query.assignee_in, Some(vec![2, 3]));
        let mut query = ConversationQuery::default();
        Scope::Observing.apply(&es[1], &team, &mut query);
        assert_eq!(query.observed_by, Some(2));
    }

    #[test]
    fn cycles_do_not_hang() {
        let es = vec![emp(1, "manager", Some(2)), emp(2, "manager", Some(1))];
        let team = Access::new(&es, &[], &[]);
        assert!(team.is_under(1, 2));
        assert!(!team.is_under(3, 1));
        let _ = team.is_under(1, 7);
    }
}
