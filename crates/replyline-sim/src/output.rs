//! JSON-lines rendering of simulated actions, in the exact shape of SPEC §7.

use crate::run::Line;
use jiff::Timestamp;
use replyline_engine::{Action, EmployeeId, Payload, StateChange};
use serde::Serialize;

#[derive(Serialize)]
struct Send<'a> {
    at: i64,
    action: &'static str,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    employee: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<&'a str>,
}

#[derive(Serialize)]
struct Notify<'a> {
    at: i64,
    action: &'static str,
    reason: &'static str,
    managers: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    employee: Option<&'a str>,
    wait_started: i64,
    text: &'a str,
}

#[derive(Serialize)]
struct Skip {
    at: i64,
    action: &'static str,
    kind: &'static str,
    reason: &'static str,
}

#[derive(Serialize)]
struct Reject<'a> {
    at: i64,
    action: &'static str,
    kind: &'static str,
    employee: &'a str,
    reason: &'static str,
}

#[derive(Serialize)]
struct DecisionLine {
    at: i64,
    action: &'static str,
    rule: &'static str,
    outcome: &'static str,
    reason: &'static str,
}

#[derive(Serialize)]
struct StateLine<'a> {
    at: i64,
    action: &'static str,
    change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    employee: Option<&'a str>,
}

/// Renders the lines; decisions and state changes only with `explain`.
/// Instants inside actions are printed as seconds from `start`.
pub fn render(lines: &[Line], start: Timestamp, explain: bool) -> String {
    let mut out = String::new();
    for line in lines {
        if let Some(json) = render_line(line, start, explain) {
            out.push_str(&json);
            out.push('\n');
        }
    }
    out
}

fn render_line(line: &Line, start: Timestamp, explain: bool) -> Option<String> {
    let at = line.at;
    let json = match &line.action {
        Action::Send {
            kind,
            employee,
            payload,
        } => {
            let (text, template) = match payload {
                Payload::Text(text) => (Some(text.as_str()), None),
                Payload::Template { name, .. } => (None, Some(name.as_str())),
            };
            serde_json::to_string(&Send {
                at,
                action: "send",
                kind: kind.as_str(),
                employee: employee.as_ref().map(EmployeeId::as_str),
                text,
                template,
            })
        }
        // `waited_seconds` may count working time only, so the wait's start is
        // taken from its instant, not from `at - waited_seconds`.
        Action::Notify(n) => serde_json::to_string(&Notify {
            at,
            action: "notify",
            reason: n.reason.as_str(),
            managers: n.managers.iter().map(EmployeeId::as_str).collect(),
            employee: n.employee.as_ref().map(EmployeeId::as_str),
            wait_started: n.wait_started.duration_since(start).as_secs(),
            text: &n.text,
        }),
        Action::Skip { kind, reason } => serde_json::to_string(&Skip {
            at,
            action: "skip",
            kind: kind.as_str(),
            reason: reason.as_str(),
        }),
        Action::Reject { employee, reason } => serde_json::to_string(&Reject {
            at,
            action: "reject",
            kind: "employee",
            employee: employee.as_str(),
            reason: reason.as_str(),
        }),
        Action::Decision(d) if explain => serde_json::to_string(&DecisionLine {
            at,
            action: "decision",
            rule: d.rule.as_str(),
            outcome: d.outcome.as_str(),
            reason: d.reason.as_str(),
        }),
        Action::Changed(change) if explain => {
            let (name, employee) = describe(change);
            serde_json::to_string(&StateLine {
                at,
                action: "state",
                change: name,
                employee,
            })
        }
        Action::Decision(_) | Action::Changed(_) => return None,
    };
    Some(json.expect("output lines always serialize"))
}

fn describe(change: &StateChange) -> (&'static str, Option<&str>) {
    match change {
        StateChange::Opened { by_client: true } => ("opened_by_client", None),
        StateChange::Opened { by_client: false } => ("opened_by_employee", None),
        StateChange::Reopened => ("reopened", None),
        StateChange::Closed { auto: true } => ("auto_closed", None),
        StateChange::Closed { auto: false } => ("closed", None),
        StateChange::Assigned { employee } => {
            ("assigned", employee.as_ref().map(EmployeeId::as_str))
        }
        StateChange::WaitStarted { first: true } => ("first_wait_started", None),
        StateChange::WaitStarted { first: false } => ("next_wait_started", None),
        StateChange::WaitEnded => ("wait_ended", None),
    }
}
