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

    /// Who is told when a control rule fires: the rule's chosen managers
    /// (`manager_ids`) that are active, whoever is assigned; when none is
    /// chosen, or none of the chosen is active, [`Self::managers_to_notify`].
    /// Sorted, without duplicates.
    pub fn notification_recipients(
        &self,
        chosen: &[EmployeeId],
        assignee: Option<&EmployeeId>,
        supervisors: &[EmployeeId],
    ) -> Vec<EmployeeId> {
        let chosen = sorted(chosen.iter().filter(|c| self.is_active(c)).cloned());
        if chosen.is_empty() {
            self.managers_to_notify(assignee, supervisors)
        } else {
            chosen
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

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, role: Role, manager: Option<&str>, active: bool) -> Member {
        Member {
            name: name.into(),
            display_name: None,
            role,
            manager: manager.map(EmployeeId::new),
            active,
        }
    }

    /// ivan → olga → sergey; petr (manager, no manager of his own); gone
    /// (deactivated manager); adam (admin).
    fn team() -> Team {
        let mut team = Team::default();
        for (id, role, manager, active) in [
            ("ivan", Role::Employee, Some("olga"), true),
            ("olga", Role::Manager, Some("sergey"), true),
            ("sergey", Role::Manager, None, true),
            ("petr", Role::Manager, None, true),
            ("gone", Role::Manager, Some("sergey"), false),
            ("adam", Role::Admin, None, true),
        ] {
            team.insert(EmployeeId::new(id), member(id, role, manager, active));
        }
        team
    }

    fn ids(ids: &[&str]) -> Vec<EmployeeId> {
        ids.iter().map(|id| EmployeeId::new(*id)).collect()
    }

    #[test]
    fn chosen_managers_win_over_the_org_chart() {
        let team = team();
        let ivan = EmployeeId::new("ivan");
        let chosen = ids(&["sergey", "petr", "sergey"]);
        assert_eq!(
            team.notification_recipients(&chosen, Some(&ivan), &[]),
            ids(&["petr", "sergey"])
        );
        assert_eq!(
            team.notification_recipients(&chosen, None, &ids(&["olga"])),
            ids(&["petr", "sergey"])
        );
    }

    #[test]
    fn inactive_chosen_managers_are_skipped_then_the_chain_applies() {
        let team = team();
        let ivan = EmployeeId::new("ivan");
        assert_eq!(
            team.notification_recipients(&ids(&["gone", "petr"]), Some(&ivan), &[]),
            ids(&["petr"])
        );
        assert_eq!(
            team.notification_recipients(&ids(&["gone"]), Some(&ivan), &[]),
            ids(&["olga"])
        );
        assert_eq!(
            team.notification_recipients(&ids(&["gone"]), None, &ids(&["petr"])),
            ids(&["petr"])
        );
        assert_eq!(
            team.notification_recipients(&ids(&["gone"]), None, &[]),
            ids(&["adam"])
        );
    }

    #[test]
    fn no_chosen_managers_keeps_the_chain() {
        let team = team();
        let ivan = EmployeeId::new("ivan");
        assert_eq!(
            team.notification_recipients(&[], Some(&ivan), &ids(&["petr"])),
            team.managers_to_notify(Some(&ivan), &ids(&["petr"]))
        );
    }

    #[test]
    fn escalation_from_chosen_managers_goes_up_else_to_admins() {
        let team = team();
        assert_eq!(team.escalation_targets(&ids(&["olga"])), ids(&["sergey"]));
        assert_eq!(team.escalation_targets(&ids(&["petr"])), ids(&["adam"]));
        assert_eq!(
            team.escalation_targets(&ids(&["olga", "petr"])),
            ids(&["sergey"])
        );
    }
}
