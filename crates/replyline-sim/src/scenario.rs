//! The scenario format of SPEC §7, parsed and checked before anything runs.

use crate::SimError;
use jiff::Timestamp;
use replyline_engine::{ChannelKind, EmployeeId, Member, Policy, Role, Settings, Team};
use serde::Deserialize;
use serde_json::Value;

const DEFAULT_START: &str = "2026-01-05T10:00:00Z";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    start: Option<String>,
    company_name: Option<String>,
    #[serde(default)]
    settings: Option<Value>,
    #[serde(default)]
    employees: Vec<RawEmployee>,
    contact: Option<RawContact>,
    channel: Option<ChannelKind>,
    #[serde(default)]
    events: Vec<RawEvent>,
    until: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmployee {
    id: String,
    name: String,
    display_name: Option<String>,
    #[serde(default)]
    role: Role,
    manager: Option<String>,
    /// `false` for a deactivated employee: known, but receives nothing.
    #[serde(default = "active_by_default")]
    active: bool,
}

fn active_by_default() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContact {
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    at: i64,
    client: Option<String>,
    employee: Option<String>,
    text: Option<String>,
    note: Option<String>,
    assign: Option<String>,
    unassign: Option<bool>,
    close: Option<String>,
    settings: Option<Value>,
}

/// What happens at an event.
#[derive(Clone, Debug)]
pub enum EventKind {
    Client,
    Employee {
        employee: EmployeeId,
        text: String,
    },
    Note {
        employee: EmployeeId,
    },
    Assign(Option<EmployeeId>),
    /// `None` closes automatically.
    Close(Option<EmployeeId>),
    /// A partial settings change, already validated.
    Settings(Box<Policy>),
}

/// One scenario event, `at` seconds after the start.
#[derive(Clone, Debug)]
pub struct Event {
    pub at: i64,
    pub kind: EventKind,
}

/// A checked scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub start: Timestamp,
    pub company_name: String,
    pub policy: Policy,
    pub team: Team,
    pub contact_name: Option<String>,
    pub channel: ChannelKind,
    pub events: Vec<Event>,
    pub until: Option<i64>,
}

impl Scenario {
    /// Parses YAML (or JSON, a subset of YAML) and checks every field.
    pub fn parse(source: &str) -> Result<Self, SimError> {
        let raw: RawScenario = serde_path_to_error::deserialize(
            serde_yaml::Deserializer::from_str(source),
        )
        .map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if path == "." {
                SimError(format!("scenario: {inner}"))
            } else {
                SimError(format!("{path}: {inner}"))
            }
        })?;
        raw.check()
    }
}

impl RawScenario {
    fn check(self) -> Result<Scenario, SimError> {
        let start_text = self.start.as_deref().unwrap_or(DEFAULT_START);
        let start: Timestamp = start_text.parse().map_err(|err| {
            SimError(format!(
                "start: expected an RFC 3339 time with offset: {err}"
            ))
        })?;
        let team = team(&self.employees)?;
        let settings = Settings::from_partial(
            self.settings
                .as_ref()
                .unwrap_or(&Value::Object(Default::default())),
        )
        .map_err(|err| SimError(format!("settings.{err}")))?;
        let policy = Policy::new(settings, |id| team.get(id).is_some())
            .map_err(|err| SimError(format!("settings.{err}")))?;
        let mut events = Vec::with_capacity(self.events.len());
        let mut current = policy.settings().clone();
        let mut previous_at = 0;
        for (index, raw) in self.events.into_iter().enumerate() {
            let field = format!("events[{index}]");
            if raw.at < previous_at {
                return Err(SimError(format!(
                    "{field}.at: {} is before the previous event ({previous_at})",
                    raw.at
                )));
            }
            previous_at = raw.at;
            let at = raw.at;
            let kind = raw.kind(&field, &team, &mut current)?;
            events.push(Event { at, kind });
        }
        if let Some(until) = self.until
            && until < 0
        {
            return Err(SimError(format!(
                "until: must not be negative, got {until}"
            )));
        }
        Ok(Scenario {
            start,
            company_name: self.company_name.unwrap_or_else(|| "Replyline".into()),
            policy,
            team,
            contact_name: self.contact.and_then(|c| c.name),
            channel: self.channel.unwrap_or_default(),
            events,
            until: self.until,
        })
    }
}

impl RawEvent {
    fn kind(self, field: &str, team: &Team, current: &mut Settings) -> Result<EventKind, SimError> {
        if self.at < 0 {
            return Err(SimError(format!("{field}.at: must not be negative")));
        }
        let employee = |key: &str, id: String| -> Result<EmployeeId, SimError> {
            let id = EmployeeId::new(id);
            if team.get(&id).is_none() {
                return Err(SimError(format!(
                    "{field}.{key}: unknown employee {:?}",
                    id.as_str()
                )));
            }
            Ok(id)
        };
        let text = |text: Option<String>, key: &str| {
            text.ok_or_else(|| SimError(format!("{field}.text: required with `{key}`")))
        };
        let forms = [
            self.client.is_some(),
            self.employee.is_some(),
            self.note.is_some(),
            self.assign.is_some(),
            self.unassign.is_some(),
            self.close.is_some(),
            self.settings.is_some(),
        ];
        if forms.iter().filter(|f| **f).count() != 1 {
            return Err(SimError(format!(
                "{field}: expected exactly one of client, employee, note, assign, unassign, close, settings"
            )));
        }
        if self.text.is_some() && self.employee.is_none() && self.note.is_none() {
            return Err(SimError(format!(
                "{field}.text: only with `employee` or `note`"
            )));
        }
        Ok(if self.client.is_some() {
            EventKind::Client
        } else if let Some(id) = self.employee {
            EventKind::Employee {
                employee: employee("employee", id)?,
                text: text(self.text, "employee")?,
            }
        } else if let Some(id) = self.note {
            text(self.text, "note")?;
            EventKind::Note {
                employee: employee("note", id)?,
            }
        } else if let Some(id) = self.assign {
            EventKind::Assign(Some(employee("assign", id)?))
        } else if let Some(unassign) = self.unassign {
            if !unassign {
                return Err(SimError(format!("{field}.unassign: must be true")));
            }
            EventKind::Assign(None)
        } else if let Some(closer) = self.close {
            EventKind::Close(match closer.as_str() {
                "auto" => None,
                _ => Some(employee("close", closer)?),
            })
        } else {
            let patch = self.settings.unwrap_or_default();
            let next = current
                .patched(&patch)
                .map_err(|err| SimError(format!("{field}.settings.{err}")))?;
            let policy = Policy::new(next.clone(), |id| team.get(id).is_some())
                .map_err(|err| SimError(format!("{field}.settings.{err}")))?;
            *current = next;
            EventKind::Settings(Box::new(policy))
        })
    }
}

fn team(employees: &[RawEmployee]) -> Result<Team, SimError> {
    let mut team = Team::default();
    for (index, e) in employees.iter().enumerate() {
        let id = EmployeeId::new(&e.id);
        if team.get(&id).is_some() {
            return Err(SimError(format!(
                "employees[{index}].id: duplicate id {:?}",
                e.id
            )));
        }
        team.insert(
            id,
            Member {
                name: e.name.clone(),
                display_name: e.display_name.clone(),
                role: e.role,
                manager: e.manager.as_deref().map(EmployeeId::new),
                active: e.active,
            },
        );
    }
    for (index, e) in employees.iter().enumerate() {
        if let Some(manager) = &e.manager
            && team.get(&EmployeeId::new(manager)).is_none()
        {
            return Err(SimError(format!(
                "employees[{index}].manager: unknown employee {manager:?}"
            )));
        }
    }
    Ok(team)
}
