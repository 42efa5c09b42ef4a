//! Which conversations a person may see, as data the store turns into SQL.
//!
//! The rules live in the server's `authz` module (SPEC §1, §3a); it builds a
//! [`Visibility`] for the caller and every listing and search filters with it
//! inside the query, so paging never drops rows the caller may see and never
//! counts rows they may not.

use crate::Id;

/// The conversations one person may see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Visibility {
    /// Admins: every conversation.
    pub all: bool,
    /// The person themself and everyone under them: their assigned chats.
    pub assignees: Vec<Id>,
    /// Channels the person is a member of: their unassigned chats («в очереди»).
    pub queue_channels: Vec<Id>,
    /// Channels the person supervises (or manages by a control rule): every chat.
    pub full_channels: Vec<Id>,
    /// The person: chats they observe.
    pub observer: Option<Id>,
}

impl Visibility {
    /// Everything (admins).
    pub fn everything() -> Self {
        Self {
            all: true,
            ..Self::default()
        }
    }

    /// A SQL condition over the conversation alias `c` (SQLite and PostgreSQL
    /// alike). Ids are integers, so they are written inline; nothing from the
    /// outside reaches the text.
    pub fn sql_condition(&self) -> String {
        if self.all {
            return "1=1".into();
        }
        let mut parts = Vec::new();
        if !self.assignees.is_empty() {
            parts.push(format!("c.assignee_id IN ({})", id_list(&self.assignees)));
        }
        if !self.queue_channels.is_empty() {
            parts.push(format!(
                "(c.assignee_id IS NULL AND c.channel_id IN ({}))",
                id_list(&self.queue_channels)
            ));
        }
        if !self.full_channels.is_empty() {
            parts.push(format!(
                "c.channel_id IN ({})",
                id_list(&self.full_channels)
            ));
        }
        if let Some(me) = self.observer {
            parts.push(format!(
                "EXISTS (SELECT 1 FROM conversation_observers o \
                 WHERE o.conversation_id = c.id AND o.employee_id = {me})"
            ));
        }
        if parts.is_empty() {
            return "1=0".into();
        }
        format!("({})", parts.join(" OR "))
    }
}

fn id_list(ids: &[Id]) -> String {
    ids.iter().map(Id::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_visible_is_false() {
        assert_eq!(Visibility::default().sql_condition(), "1=0");
        assert_eq!(Visibility::everything().sql_condition(), "1=1");
    }

    #[test]
    fn conditions_are_joined_with_or() {
        let v = Visibility {
            all: false,
            assignees: vec![1, 2],
            queue_channels: vec![7],
            full_channels: vec![],
            observer: Some(1),
        };
        let sql = v.sql_condition();
        assert!(sql.starts_with("(c.assignee_id IN (1,2) OR (c.assignee_id IS NULL AND c.channel_id IN (7)) OR EXISTS"), "{sql}");
    }
}
