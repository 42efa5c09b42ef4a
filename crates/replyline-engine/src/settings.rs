//! The messenger settings of one channel (SPEC §2): model, defaults and partial updates.

use crate::ids::EmployeeId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A settings error naming the field, e.g. `greeting.text: unknown variable {client_nmae}`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// Dotted path of the offending field (`working_hours.week.mon[0]`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ValidationError {
    /// Builds an error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An approved WhatsApp template used when the 24-hour window is closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateRef {
    pub name: String,
    pub language: String,
    /// The body parameters `{{1}}`, `{{2}}`, … in order; each may use the
    /// automatic messages' variables (`{client_name}`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<String>,
}

/// An automatic message sent when an event happens (greeting, out-of-hours).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageRule {
    pub enabled: bool,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
}

/// An automatic message sent a delay after a wait started (no-reply).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayedMessageRule {
    pub enabled: bool,
    pub after_seconds: u64,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
}

/// The closing message, on an employee's close and optionally on auto-close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosingRule {
    pub enabled: bool,
    pub text: String,
    pub on_auto_close: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
}

/// A manager notification a delay after a wait started, with optional escalation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyRule {
    pub enabled: bool,
    pub after_seconds: u64,
    pub escalate_after_seconds: Option<u64>,
    /// The people chosen as «Руководитель» for this rule; empty = the §3 chain.
    #[serde(default)]
    pub manager_ids: Vec<EmployeeId>,
    /// «Текст уведомления»: the first line of every delivery of the notification.
    pub text: String,
}

/// The default text of `notify_manager_first` (SPEC §2).
pub const NOTIFY_FIRST_TEXT: &str = "Клиент {client_name|без имени} ждёт первого ответа {waited_minutes} мин. Ответственный: {employee_name|не назначен}.";

/// The default text of `notify_manager_next` (SPEC §2).
pub const NOTIFY_NEXT_TEXT: &str = "Клиент {client_name|без имени} ждёт ответа {waited_minutes} мин. Ответственный: {employee_name|не назначен}.";

/// How employee messages are signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignMode {
    /// Every employee message carries the name.
    EveryMessage,
    /// Only when the sender differs from the last signed message's sender.
    OnChange,
}

/// Outgoing message appearance: the employee's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRule {
    pub enabled: bool,
    pub format: String,
    pub mode: SignMode,
}

/// Working intervals per weekday, as `"HH:MM-HH:MM"` strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Week {
    pub mon: Vec<String>,
    pub tue: Vec<String>,
    pub wed: Vec<String>,
    pub thu: Vec<String>,
    pub fri: Vec<String>,
    pub sat: Vec<String>,
    pub sun: Vec<String>,
}

impl Week {
    /// The days in order Monday..Sunday with their JSON names.
    pub fn days(&self) -> [(&'static str, &[String]); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }
}

/// Working hours of the channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingHoursSettings {
    pub enabled: bool,
    pub timezone: String,
    pub week: Week,
    pub holidays: Vec<String>,
    pub count_working_time_only: bool,
}

/// Auto-close after a quiet period following the last employee message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoClose {
    pub enabled: bool,
    pub after_seconds: u64,
}

/// Reopen a recently closed conversation instead of opening a new one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reopen {
    pub enabled: bool,
    pub within_seconds: u64,
}

/// All messenger settings of one channel: the canonical JSON of SPEC §2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub greeting: MessageRule,
    pub no_reply: DelayedMessageRule,
    pub closing: ClosingRule,
    pub notify_manager_first: NotifyRule,
    pub notify_manager_next: NotifyRule,
    pub sign_outgoing: SignRule,
    pub working_hours: WorkingHoursSettings,
    pub out_of_hours: MessageRule,
    pub auto_close: AutoClose,
    pub reopen: Reopen,
    pub supervisors: Vec<EmployeeId>,
}

fn hours(range: &str) -> Vec<String> {
    vec![range.to_owned()]
}

impl Default for Settings {
    /// The SPEC §2 example values with every group disabled.
    fn default() -> Self {
        Self {
            greeting: MessageRule {
                enabled: false,
                text: "Здравствуйте, {client_name|клиент}! Чем можем помочь?".into(),
                template: None,
            },
            no_reply: DelayedMessageRule {
                enabled: false,
                after_seconds: 300,
                text: "Все сотрудники заняты, ответим в ближайшее время.".into(),
                template: None,
            },
            closing: ClosingRule {
                enabled: false,
                text: "Спасибо за обращение! Чат завершён.".into(),
                on_auto_close: false,
                template: None,
            },
            notify_manager_first: NotifyRule {
                enabled: false,
                after_seconds: 600,
                escalate_after_seconds: None,
                manager_ids: vec![],
                text: NOTIFY_FIRST_TEXT.into(),
            },
            notify_manager_next: NotifyRule {
                enabled: false,
                after_seconds: 900,
                escalate_after_seconds: None,
                manager_ids: vec![],
                text: NOTIFY_NEXT_TEXT.into(),
            },
            sign_outgoing: SignRule {
                enabled: false,
                format: "*{employee_name}*:\n{text}".into(),
                mode: SignMode::EveryMessage,
            },
            working_hours: WorkingHoursSettings {
                enabled: false,
                timezone: "Europe/Moscow".into(),
                week: Week {
                    mon: hours("09:00-18:00"),
                    tue: hours("09:00-18:00"),
                    wed: hours("09:00-18:00"),
                    thu: hours("09:00-18:00"),
                    fri: hours("09:00-18:00"),
                    sat: vec![],
                    sun: vec![],
                },
                holidays: vec!["2026-12-31".into()],
                count_working_time_only: true,
            },
            out_of_hours: MessageRule {
                enabled: false,
                text: "Мы сейчас не работаем, ответим в рабочее время.".into(),
                template: None,
            },
            auto_close: AutoClose {
                enabled: false,
                after_seconds: 86400,
            },
            reopen: Reopen {
                enabled: false,
                within_seconds: 3600,
            },
            supervisors: vec![],
        }
    }
}

impl Settings {
    /// Builds settings from a partial JSON document: named groups and fields
    /// override the defaults, everything else keeps its default.
    pub fn from_partial(partial: &Value) -> Result<Self, ValidationError> {
        Self::default().patched(partial)
    }

    /// Returns these settings with the groups and fields named in `patch`
    /// changed; the rest keep their current values. Only the shape is checked
    /// here; [`crate::Policy::new`] validates the values.
    pub fn patched(&self, patch: &Value) -> Result<Self, ValidationError> {
        if !patch.is_object() {
            return Err(ValidationError::new("settings", "expected a JSON object"));
        }
        let mut merged = serde_json::to_value(self).expect("settings always serialize");
        merge(&mut merged, patch);
        serde_path_to_error::deserialize(merged).map_err(|err| {
            let path = err.path().to_string();
            let field = if path == "." { "settings".into() } else { path };
            ValidationError::new(field, err.into_inner().to_string())
        })
    }
}

/// Deep-merges `patch` into `target`: objects merge key by key, anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                match target.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patch_changes_only_named_fields() {
        let base = Settings::from_partial(&json!({"greeting": {"enabled": true}})).unwrap();
        assert!(base.greeting.enabled);
        assert_eq!(base.greeting.text, Settings::default().greeting.text);
        let next = base
            .patched(&json!({"no_reply": {"after_seconds": 60}}))
            .unwrap();
        assert!(next.greeting.enabled);
        assert_eq!(next.no_reply.after_seconds, 60);
        assert!(!next.no_reply.enabled);
    }

    #[test]
    fn shape_errors_name_the_field() {
        let err =
            Settings::from_partial(&json!({"no_reply": {"after_seconds": "soon"}})).unwrap_err();
        assert_eq!(err.field, "no_reply.after_seconds");
        let err = Settings::from_partial(&json!({"greting": {}})).unwrap_err();
        assert!(err.message.contains("greting"), "{err}");
    }

    #[test]
    fn null_clears_an_optional_field() {
        let s = Settings::from_partial(
            &json!({"notify_manager_first": {"escalate_after_seconds": 60}}),
        )
        .unwrap();
        assert_eq!(s.notify_manager_first.escalate_after_seconds, Some(60));
        let s = s
            .patched(&json!({"notify_manager_first": {"escalate_after_seconds": null}}))
            .unwrap();
        assert_eq!(s.notify_manager_first.escalate_after_seconds, None);
    }

    /// Settings stored before notification recipients and texts existed.
    fn stored_before_notify_texts() -> Value {
        let mut stored = serde_json::to_value(Settings::default()).unwrap();
        for group in ["notify_manager_first", "notify_manager_next"] {
            let rule = stored[group].as_object_mut().unwrap();
            rule.remove("manager_ids");
            rule.remove("text");
            rule.insert("enabled".into(), json!(true));
        }
        stored
    }

    #[test]
    fn stored_settings_without_notify_texts_load_with_defaults() {
        let stored = stored_before_notify_texts();
        assert!(stored["notify_manager_first"].get("text").is_none());
        let s = Settings::from_partial(&stored).unwrap();
        assert!(s.notify_manager_first.enabled);
        assert_eq!(s.notify_manager_first.text, NOTIFY_FIRST_TEXT);
        assert_eq!(s.notify_manager_next.text, NOTIFY_NEXT_TEXT);
        assert!(s.notify_manager_first.manager_ids.is_empty());
        let patched = s
            .patched(&json!({"notify_manager_next": {"manager_ids": ["olga"]}}))
            .unwrap();
        assert_eq!(
            patched.notify_manager_next.manager_ids,
            vec![EmployeeId::new("olga")]
        );
        assert_eq!(patched.notify_manager_next.text, NOTIFY_NEXT_TEXT);
    }

    #[test]
    fn default_notify_texts_match_the_spec() {
        let s = Settings::default();
        assert!(
            s.notify_manager_first
                .text
                .contains("ждёт первого ответа {waited_minutes} мин.")
        );
        assert!(
            s.notify_manager_next
                .text
                .starts_with("Клиент {client_name|без имени} ждёт ответа")
        );
    }
}
