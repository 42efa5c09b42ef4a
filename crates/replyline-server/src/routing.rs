//! Who gets a new conversation (SPEC §3a): routing rules first, then the channel's routing mode.
//!
//! The decisions here are pure; the driver gathers their inputs (rules,
//! candidates with their load, the team) from the store in the step that opens
//! the conversation, and records the outcome on the timeline.

use crate::driver::eid;
use jiff::Timestamp;
use replyline_engine::Team;
use replyline_engine::routing::{RouteMatch, RouteTarget, RoutingRule};
use replyline_store::{Id, RoutingCandidate, RoutingRuleRecord};
use serde_json::{Value, json};

/// The engine's form of the stored rules, in priority order.
pub fn engine_rules(records: &[RoutingRuleRecord]) -> Vec<RoutingRule> {
    records
        .iter()
        .filter_map(|r| {
            let target = match (r.rule.employee_id, r.rule.group_id) {
                (Some(employee), _) => RouteTarget::Employee(eid(employee)),
                (None, Some(group)) => RouteTarget::Group(group.to_string()),
                (None, None) => return None,
            };
            Some(RoutingRule {
                id: r.id.to_string(),
                keywords: r.rule.keywords.clone(),
                channel_id: r.rule.channel_id.map(|c| c.to_string()),
                target,
            })
        })
        .collect()
}

/// Counts the chats `assigned` earlier in a round not committed yet: each
/// one is an open chat more, assigned at `now`, so a round spreads its new
/// conversations exactly as one commit per conversation would.
pub fn count_assigned(candidates: &mut [RoutingCandidate], assigned: &[Id], now: Timestamp) {
    for id in assigned {
        if let Some(c) = candidates.iter_mut().find(|c| c.employee_id == *id) {
            c.open_chats += 1;
            c.last_assigned_at = Some(now);
        }
    }
}

/// Round robin: the online member with the fewest open chats; ties go to the one whose
/// last assignment is oldest (never assigned first), then to the lowest id.
pub fn pick_round_robin(candidates: &[RoutingCandidate]) -> Option<Id> {
    candidates
        .iter()
        .filter(|c| c.online)
        .min_by_key(|c| (c.open_chats, c.last_assigned_at, c.employee_id))
        .map(|c| c.employee_id)
}

/// A transfer to a group: [`pick_round_robin`] among the online candidates,
/// else the least loaded of all of them (nobody online still gets the chat).
pub fn pick_for_transfer(candidates: &[RoutingCandidate]) -> Option<Id> {
    pick_round_robin(candidates).or_else(|| {
        candidates
            .iter()
            .min_by_key(|c| (c.open_chats, c.last_assigned_at, c.employee_id))
            .map(|c| c.employee_id)
    })
}

/// The assignee a matched rule yields: its employee when active (online or not: the
/// admin named that person), or round robin among the group's online members;
/// `None` leaves the chat in the queue.
pub fn rule_assignee(
    matched: &RouteMatch<'_>,
    team: &Team,
    group_members: &[RoutingCandidate],
) -> Option<Id> {
    match &matched.rule.target {
        RouteTarget::Employee(employee) => team
            .is_active(employee)
            .then(|| crate::driver::row_id(employee))
            .flatten(),
        RouteTarget::Group(_) => pick_round_robin(group_members),
    }
}

/// The `routed` timeline entry of a rule that matched.
pub fn rule_event(matched: &RouteMatch<'_>, assignee: Option<Id>) -> Value {
    let group_id = match &matched.rule.target {
        RouteTarget::Group(group) => Some(group.clone()),
        RouteTarget::Employee(_) => None,
    };
    json!({
        "routing": "rule",
        "rule_id": matched.rule.id,
        "rule_position": matched.index + 1,
        "keyword": matched.keyword,
        "group_id": group_id,
        "employee_id": assignee.map(|a| a.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use replyline_engine::routing::match_rule;
    use replyline_engine::{Member, Role};
    use replyline_store::NewRoutingRule;

    fn record(
        id: Id,
        keywords: &[&str],
        employee: Option<Id>,
        group: Option<Id>,
    ) -> RoutingRuleRecord {
        RoutingRuleRecord {
            id,
            position: id,
            rule: NewRoutingRule {
                keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
                channel_id: None,
                employee_id: employee,
                group_id: group,
            },
        }
    }

    fn team(active: &[(Id, bool)]) -> Team {
        let mut team = Team::default();
        for (id, is_active) in active {
            team.insert(
                eid(*id),
                Member {
                    name: format!("E{id}"),
                    display_name: None,
                    role: Role::Employee,
                    manager: None,
                    active: *is_active,
                },
            );
        }
        team
    }

    fn candidate(id: Id, online: bool, open_chats: i64) -> RoutingCandidate {
        RoutingCandidate {
            employee_id: id,
            online,
            open_chats,
            last_assigned_at: None,
        }
    }

    #[test]
    fn an_employee_target_is_assigned_while_active() {
        let rules = engine_rules(&[record(1, &["доставка"], Some(5), None)]);
        let m = match_rule(&rules, "1", "Где доставка?").unwrap();
        assert_eq!(rule_assignee(&m, &team(&[(5, true)]), &[]), Some(5));
        assert_eq!(rule_assignee(&m, &team(&[(5, false)]), &[]), None);
        let event = rule_event(&m, Some(5));
        assert_eq!(event["routing"], "rule");
        assert_eq!(event["rule_id"], "1");
        assert_eq!(event["rule_position"], 1);
        assert_eq!(event["keyword"], "доставка");
        assert_eq!(event["employee_id"], "5");
        assert_eq!(event["group_id"], Value::Null);
    }

    #[test]
    fn a_group_target_picks_the_least_loaded_online_member() {
        let rules = engine_rules(&[record(3, &["цена"], None, Some(9))]);
        let m = match_rule(&rules, "1", "Какая цена?").unwrap();
        let members = [
            candidate(5, true, 3),
            candidate(6, false, 0),
            candidate(7, true, 1),
        ];
        assert_eq!(rule_assignee(&m, &team(&[]), &members), Some(7));
        assert_eq!(rule_event(&m, Some(7))["group_id"], "9");
    }

    #[test]
    fn a_group_with_nobody_online_leaves_the_chat_in_the_queue() {
        let rules = engine_rules(&[record(3, &["цена"], None, Some(9))]);
        let m = match_rule(&rules, "1", "цена").unwrap();
        let members = [candidate(5, false, 0), candidate(6, false, 0)];
        assert_eq!(rule_assignee(&m, &team(&[]), &members), None);
        assert_eq!(rule_assignee(&m, &team(&[]), &[]), None);
        let event = rule_event(&m, None);
        assert_eq!(event["employee_id"], Value::Null);
        assert_eq!(event["group_id"], "9");
    }

    #[test]
    fn a_transfer_prefers_online_members_then_takes_anyone() {
        let members = [candidate(5, false, 0), candidate(6, true, 4)];
        assert_eq!(pick_for_transfer(&members), Some(6));
        let offline = [candidate(5, false, 2), candidate(6, false, 1)];
        assert_eq!(pick_for_transfer(&offline), Some(6));
        assert_eq!(pick_for_transfer(&[]), None);
    }

    #[test]
    fn round_robin_ties_go_to_the_longest_unassigned_then_lowest_id() {
        let mut a = candidate(5, true, 1);
        let b = candidate(6, true, 1);
        a.last_assigned_at = Some("2026-01-01T00:00:00Z".parse().unwrap());
        assert_eq!(pick_round_robin(&[a.clone(), b.clone()]), Some(6));
        let mut b = b;
        b.last_assigned_at = Some("2026-01-02T00:00:00Z".parse().unwrap());
        assert_eq!(pick_round_robin(&[a, b]), Some(5));
        assert_eq!(
            pick_round_robin(&[candidate(8, true, 0), candidate(7, true, 0)]),
            Some(7)
        );
    }

    #[test]
    fn a_round_spreads_new_chats_as_separate_commits_would() {
        let now: Timestamp = "2026-01-03T00:00:00Z".parse().unwrap();
        let mut members = [
            candidate(5, true, 0),
            candidate(6, true, 0),
            candidate(7, true, 0),
        ];
        let mut assigned = Vec::new();
        for _ in 0..4 {
            let mut seen = members.clone();
            count_assigned(&mut seen, &assigned, now);
            assigned.push(pick_round_robin(&seen).unwrap());
        }
        assert_eq!(assigned, [5, 6, 7, 5]);
        count_assigned(&mut members, &[6, 6], now);
        assert_eq!(members[1].open_chats, 2);
        assert_eq!(members[1].last_assigned_at, Some(now));
        assert_eq!(members[0].open_chats, 0);
    }
}
