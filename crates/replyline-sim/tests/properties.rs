//! Property tests over random event sequences: the engine's invariants hold
//! whatever clients, employees and settings changes do, and in whatever order.

use jiff::Timestamp;
use proptest::prelude::*;
use replyline_engine::{
    Action, ChannelKind, EmployeeId, Member, MessageKind, Policy, Role, Settings, StateChange, Team,
};
use replyline_sim::{Event, EventKind, Line, Scenario, simulate};
use serde_json::json;

const EMPLOYEES: [&str; 3] = ["ivan", "olga", "boss"];

/// Who a control rule may name in `manager_ids`: the active employees and a
/// deactivated manager, who must never be notified.
const CHOOSABLE: [&str; 4] = ["ivan", "olga", "boss", "gone"];

fn team() -> Team {
    let mut team = Team::default();
    for (id, role, manager, active) in [
        ("ivan", Role::Employee, Some("olga"), true),
        ("olga", Role::Manager, Some("boss"), true),
        ("boss", Role::Admin, None, true),
        ("gone", Role::Manager, Some("boss"), false),
    ] {
        team.insert(
            EmployeeId::new(id),
            Member {
                name: id.to_uppercase(),
                display_name: None,
                role,
                manager: manager.map(EmployeeId::new),
                active,
            },
        );
    }
    team
}

/// `policy` with `chosen` as the recipients of both control rules.
fn with_chosen(policy: &Policy, chosen: &[EmployeeId]) -> Policy {
    let mut settings = policy.settings().clone();
    settings.notify_manager_first.manager_ids = chosen.to_vec();
    settings.notify_manager_next.manager_ids = chosen.to_vec();
    Policy::new(settings, |_| true).unwrap()
}

/// The chosen recipients who can be notified: active, sorted, deduplicated.
fn active_chosen(policy: &Policy, team: &Team) -> Vec<EmployeeId> {
    let mut ids: Vec<_> = policy
        .settings()
        .notify_manager_first
        .manager_ids
        .iter()
        .filter(|id| team.is_active(id))
        .cloned()
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn policy(settings: serde_json::Value) -> Policy {
    Policy::new(Settings::from_partial(&settings).unwrap(), |_| true).unwrap()
}

fn all_on(
    no_reply: u64,
    notify: u64,
    escalate: u64,
    auto_close: u64,
    reopen: bool,
) -> serde_json::Value {
    json!({
        "greeting": {"enabled": true},
        "no_reply": {"enabled": true, "after_seconds": no_reply},
        "closing": {"enabled": true, "on_auto_close": true},
        "notify_manager_first": {"enabled": true, "after_seconds": notify, "escalate_after_seconds": escalate},
        "notify_manager_next": {"enabled": true, "after_seconds": notify + 30, "escalate_after_seconds": escalate},
        "sign_outgoing": {"enabled": true},
        "auto_close": {"enabled": true, "after_seconds": auto_close},
        "reopen": {"enabled": reopen, "within_seconds": 600},
    })
}

fn employee() -> impl Strategy<Value = EmployeeId> {
    prop::sample::select(EMPLOYEES.to_vec()).prop_map(EmployeeId::new)
}

fn event_kind() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        4 => Just(EventKind::Client),
        3 => employee().prop_map(|employee| EventKind::Employee { employee, text: "ok".into() }),
        1 => employee().prop_map(|employee| EventKind::Note { employee }),
        1 => prop::option::of(employee()).prop_map(EventKind::Assign),
        1 => prop::option::of(employee()).prop_map(EventKind::Close),
        1 => (1u64..400, 1u64..900, any::<bool>(), any::<bool>()).prop_map(|(no_reply, notify, greeting, notify_on)| {
            let mut patch = json!({"no_reply": {"after_seconds": no_reply}, "notify_manager_next": {"after_seconds": notify, "enabled": notify_on}});
            patch["greeting"] = json!({"enabled": greeting});
            EventKind::Settings(Box::new(policy(patch_onto_base(&patch))))
        }),
    ]
}

/// Settings events carry a full policy: the base settings with the patch applied.
fn patch_onto_base(patch: &serde_json::Value) -> serde_json::Value {
    let base = Settings::from_partial(&all_on(120, 300, 200, 3000, true)).unwrap();
    serde_json::to_value(base.patched(patch).unwrap()).unwrap()
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec((0i64..500, event_kind()), 1..40),
        1u64..400,
        1u64..900,
        1u64..600,
        1u64..5000,
        any::<bool>(),
        prop::sample::select(vec![ChannelKind::Whatsapp, ChannelKind::Telegram]),
        prop::collection::vec(prop::sample::select(CHOOSABLE.to_vec()), 0..4),
    )
        .prop_map(
            |(steps, no_reply, notify, escalate, auto_close, reopen, channel, chosen)| {
                let chosen: Vec<EmployeeId> = chosen.into_iter().map(EmployeeId::new).collect();
                let mut at = 0;
                let events = steps
                    .into_iter()
                    .map(|(gap, kind)| {
                        at += gap;
                        let kind = match kind {
                            EventKind::Settings(p) => {
                                EventKind::Settings(Box::new(with_chosen(&p, &chosen)))
                            }
                            other => other,
                        };
                        Event { at, kind }
                    })
                    .collect();
                let initial = policy(all_on(no_reply, notify, escalate, auto_close, reopen));
                Scenario {
                    start: "2026-11-25T07:00:00Z".parse().unwrap(),
                    company_name: "Ромашка".into(),
                    policy: with_chosen(&initial, &chosen),
                    team: team(),
                    contact_name: Some("Анна".into()),
                    channel,
                    events,
                    until: None,
                }
            },
        )
}

/// Runs the scenario; events that do not apply (e.g. closing a closed chat) are skipped.
fn run(scenario: &Scenario) -> Vec<Line> {
    let mut applicable = scenario.clone();
    applicable.events.clear();
    for event in &scenario.events {
        applicable.events.push(event.clone());
        if simulate(&applicable).is_err() {
            applicable.events.pop();
        }
    }
    simulate(&applicable).expect("applicable events run")
}

/// Per-wait and per-conversation counters, checked as the lines go by.
#[derive(Default)]
struct Watch {
    open: bool,
    greetings_in_conversation: usize,
    in_wait: bool,
    no_replies_in_wait: usize,
    notifies_in_wait: usize,
    wait_started: i64,
}

fn check_invariants(lines: &[Line], scenario: &Scenario) -> Result<(), TestCaseError> {
    let chosen = active_chosen(&scenario.policy, &scenario.team);
    let mut watch = Watch::default();
    let mut last_at = i64::MIN;
    for line in lines {
        prop_assert!(line.at >= last_at, "time ran backwards at {}", line.at);
        last_at = line.at;
        match &line.action {
            Action::Changed(StateChange::Opened { .. }) => {
                watch = Watch {
                    open: true,
                    ..Watch::default()
                };
            }
            Action::Changed(StateChange::Reopened) => watch.open = true,
            Action::Changed(StateChange::Closed { .. }) => {
                watch.open = false;
                watch.in_wait = false;
            }
            Action::Changed(StateChange::WaitStarted { .. }) => {
                watch.in_wait = true;
                watch.no_replies_in_wait = 0;
                watch.notifies_in_wait = 0;
                watch.wait_started = line.at;
            }
            Action::Changed(StateChange::WaitEnded) => watch.in_wait = false,
            Action::Send {
                kind: MessageKind::Greeting,
                ..
            } => {
                watch.greetings_in_conversation += 1;
                prop_assert!(
                    watch.greetings_in_conversation <= 1,
                    "two greetings at {}",
                    line.at
                );
            }
            Action::Send {
                kind: MessageKind::NoReply,
                ..
            }
            | Action::Skip {
                kind: MessageKind::NoReply,
                ..
            } => {
                prop_assert!(
                    watch.open && watch.in_wait,
                    "no-reply outside an open wait at {}",
                    line.at
                );
                watch.no_replies_in_wait += 1;
                prop_assert!(
                    watch.no_replies_in_wait <= 1,
                    "two no-replies in one wait at {}",
                    line.at
                );
                let min_delay = 1;
                prop_assert!(
                    line.at >= watch.wait_started + min_delay,
                    "no-reply before its time"
                );
            }
            Action::Notify(n) => {
                prop_assert!(
                    watch.open && watch.in_wait,
                    "notification outside an open wait at {}",
                    line.at
                );
                let escalated = n.reason.as_str().ends_with("_escalated");
                if !escalated {
                    watch.notifies_in_wait += 1;
                    prop_assert!(
                        watch.notifies_in_wait <= 1,
                        "two notifications in one wait at {}",
                        line.at
                    );
                }
                let started = n.wait_started.duration_since(scenario.start).as_secs();
                prop_assert_eq!(started, watch.wait_started);
                prop_assert!(n.waited_seconds >= 1, "notified before any time passed");
                // Working hours are off: the wait is counted in wall-clock time.
                prop_assert_eq!(n.waited_seconds, line.at - watch.wait_started);
                prop_assert!(!n.text.is_empty(), "empty notification text at {}", line.at);
                let minutes = format!(" {} мин", n.waited_seconds / 60);
                prop_assert!(
                    n.text.contains(&minutes),
                    "{:?} lacks {:?}",
                    n.text,
                    minutes
                );
                prop_assert!(
                    n.managers.iter().all(|m| scenario.team.is_active(m)),
                    "inactive recipient in {:?}",
                    n.managers
                );
                if !escalated && !chosen.is_empty() {
                    prop_assert_eq!(&n.managers, &chosen, "chosen managers not notified");
                }
            }
            _ => {}
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn invariants_hold_for_random_sequences(scenario in scenario()) {
        let lines = run(&scenario);
        check_invariants(&lines, &scenario)?;
    }

    #[test]
    fn identical_inputs_give_identical_outputs(scenario in scenario()) {
        prop_assert_eq!(run(&scenario), run(&scenario));
    }

    #[test]
    fn no_reply_never_fires_before_its_delay(delay in 1u64..1000, reply_after in 0i64..2000) {
        let scenario = Scenario {
            start: Timestamp::from_second(1_764_054_000).unwrap(),
            company_name: "Ромашка".into(),
            policy: policy(json!({"no_reply": {"enabled": true, "after_seconds": delay}})),
            team: team(),
            contact_name: None,
            channel: ChannelKind::Telegram,
            events: vec![
                Event { at: 0, kind: EventKind::Client },
                Event { at: reply_after, kind: EventKind::Employee { employee: EmployeeId::new("ivan"), text: "hi".into() } },
            ],
            until: None,
        };
        let fired: Vec<i64> = simulate(&scenario).unwrap().iter()
            .filter(|l| matches!(l.action, Action::Send { kind: MessageKind::NoReply, .. }))
            .map(|l| l.at)
            .collect();
        if reply_after <= delay as i64 {
            prop_assert!(fired.is_empty(), "fired {:?} though answered at {}", fired, reply_after);
        } else {
            prop_assert_eq!(fired, vec![delay as i64]);
        }
    }
}
