//! The team as the engine sees it: names for signatures and who manages whom.

use crate::ids::EmployeeId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An employee's role (SPEC §1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[default]
    Employee,
    Manager,
    Admin,
}

/// One employee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub manager: Option<EmployeeId>,
    /// Deactivated employees keep their history but receive nothing.
    pub active: bool,
}

impl Member {
    /// The name shown to clients: the display name when set, else the full name.
    pub fn signature_name(&self) -> &str {
        self.display_name
            .as_deref()
            .filter(|name| !name.is_empty())
            .unwrap_or(&self.name)
    }
}

/// Every employee, by id.
#[derive(Clone, Debug, Default)]
pub struct Team {
    members: BTreeMap<EmployeeId, Member>,
}

impl Team {
    /// Adds or replaces an employee.
    pub fn insert(&mut self, id: EmployeeId, member: Member) {
        self.members.insert(id, member);
    }

    /// Looks an employee up.
    pub fn get(&self, id: &EmployeeId) -> Option<&Member> {
        self.members.get(id)
    }

    /// True when `id` names an active employee.
    pub fn is_active(&self, id: &EmployeeId) -> bool {
        self.get(id).is_some_and(|m| m.active)
    }

    fn active_manager_of(&self, id: &EmployeeId) -> Option<&EmployeeId> {
        self.get(id)?.manager.as_ref().filter(|m| self.is_active(m))
    }

    /// Every active admin, sorted.
    pub fn admins(&self) -> Vec<EmployeeId> {
        self.members
            .iter()
            .filter(|(_, m)| m.active && m.role == Role::Admin)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Who is told about a late reply: the assignee's manager; else the
    /// channel's supervisors; else every admin. Sorted, without duplicates.
    pub fn managers_to_notify(
        &self,
        assignee: Option<&EmployeeId>,
        supervisors: &[EmployeeId],
    ) -> Vec<EmployeeId> {
        if let Some(manager) = assignee.and_then(|a| self.active_manager_of(a)) {
            return vec![manager.clone()];
        }
        let supervisors = sorted(supervisors.iter().filter(|s| self.is_active(s)).cloned());
        if supervisors.is_empty() {
            self.admins()
        } else {
            supervisors
        }
    }

    /// Who receives an escalation: the managers of the notified managers;
    /// else every admin. Sorted, without duplicates.
    pub fn escalation_targets(&self, notified: &[EmployeeId]) -> Vec<EmployeeId> {
        let managers = sorted(
            notified
                .iter()
                .filter_map(|n| self.active_manager_of(n))
                .cloned(),
        );
        if managers.is_empty() {
            self.admins()
        } else {
            managers
        }
    }
}

fn sorted(ids: impl Iterator<Item = EmployeeId>) -> Vec<EmployeeId> {
    let mut ids: Vec<_> = ids.collect();
    ids.sort();
    ids.dedup();
    ids
}
