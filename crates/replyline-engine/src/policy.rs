//! Validated, compiled settings: what the engine runs on.

use crate::MAX_DELAY_SECONDS;
use crate::hours::WorkingHours;
use crate::ids::EmployeeId;
use crate::settings::{NotifyRule, Settings, TemplateRef, ValidationError};
use crate::template::{Template, Var};

const MAX_TEXT_CHARS: usize = 4096;
pub(crate) const AUTO_VARS: &[Var] = &[Var::ClientName, Var::EmployeeName, Var::CompanyName];
const SIGN_VARS: &[Var] = &[
    Var::ClientName,
    Var::EmployeeName,
    Var::CompanyName,
    Var::Text,
];
const NOTIFY_VARS: &[Var] = &[
    Var::ClientName,
    Var::EmployeeName,
    Var::CompanyName,
    Var::WaitedMinutes,
];

/// Settings that passed validation, with templates parsed and hours compiled.
#[derive(Clone, Debug)]
pub struct Policy {
    settings: Settings,
    pub(crate) greeting: Template,
    pub(crate) no_reply: Template,
    pub(crate) closing: Template,
    pub(crate) out_of_hours: Template,
    pub(crate) signature: Template,
    pub(crate) notify_first: Template,
    pub(crate) notify_next: Template,
    /// Present when working hours are enabled.
    pub(crate) hours: Option<WorkingHours>,
}

impl Policy {
    /// Validates `settings` (SPEC §2) and compiles them. `is_employee` tells
    /// whether a supervisor or `manager_ids` id names an existing employee.
    pub fn new(
        settings: Settings,
        is_employee: impl Fn(&EmployeeId) -> bool,
    ) -> Result<Self, ValidationError> {
        let s = &settings;
        let greeting = text("greeting.text", &s.greeting.text, AUTO_VARS)?;
        let no_reply = text("no_reply.text", &s.no_reply.text, AUTO_VARS)?;
        let closing = text("closing.text", &s.closing.text, AUTO_VARS)?;
        let out_of_hours = text("out_of_hours.text", &s.out_of_hours.text, AUTO_VARS)?;
        let signature = text("sign_outgoing.format", &s.sign_outgoing.format, SIGN_VARS)?;
        if !signature.uses(Var::Text) {
            return Err(ValidationError::new(
                "sign_outgoing.format",
                "must contain {text}",
            ));
        }
        delay("no_reply.after_seconds", s.no_reply.after_seconds)?;
        let notify_first = notify_rule(
            "notify_manager_first",
            &s.notify_manager_first,
            &is_employee,
        )?;
        let notify_next = notify_rule("notify_manager_next", &s.notify_manager_next, &is_employee)?;
        delay("auto_close.after_seconds", s.auto_close.after_seconds)?;
        delay("reopen.within_seconds", s.reopen.within_seconds)?;
        for (group, template) in [
            ("greeting", &s.greeting.template),
            ("no_reply", &s.no_reply.template),
            ("closing", &s.closing.template),
            ("out_of_hours", &s.out_of_hours.template),
        ] {
            if let Some(template) = template {
                template_ref(group, template)?;
            }
        }
        employees("supervisors", &s.supervisors, &is_employee)?;
        let compiled_hours = WorkingHours::new(&s.working_hours)?;
        let hours = s.working_hours.enabled.then_some(compiled_hours);
        Ok(Self {
            greeting,
            no_reply,
            closing,
            out_of_hours,
            signature,
            notify_first,
            notify_next,
            hours,
            settings,
        })
    }

    /// The settings this policy was built from.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Working hours, when enabled.
    pub fn hours(&self) -> Option<&WorkingHours> {
        self.hours.as_ref()
    }

    /// The compiled notification text of R4 (`first`) or R5.
    pub(crate) fn notify_text(&self, first: bool) -> &Template {
        if first {
            &self.notify_first
        } else {
            &self.notify_next
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::new(Settings::default(), |_| false).expect("default settings are valid")
    }
}

fn text(field: &str, value: &str, allowed: &[Var]) -> Result<Template, ValidationError> {
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_TEXT_CHARS {
        return Err(ValidationError::new(
            field,
            format!("must be 1 to {MAX_TEXT_CHARS} characters, got {chars}"),
        ));
    }
    Template::parse(value, allowed).map_err(|message| ValidationError::new(field, message))
}

/// Checks one control rule (delays, recipients) and compiles its text.
fn notify_rule(
    group: &str,
    rule: &NotifyRule,
    is_employee: impl Fn(&EmployeeId) -> bool,
) -> Result<Template, ValidationError> {
    delay(&format!("{group}.after_seconds"), rule.after_seconds)?;
    if let Some(escalate) = rule.escalate_after_seconds {
        delay(&format!("{group}.escalate_after_seconds"), escalate)?;
    }
    employees(
        &format!("{group}.manager_ids"),
        &rule.manager_ids,
        is_employee,
    )?;
    text(&format!("{group}.text"), &rule.text, NOTIFY_VARS)
}

/// Every id in `ids` must name an employee; the error names the first that does not.
fn employees(
    field: &str,
    ids: &[EmployeeId],
    is_employee: impl Fn(&EmployeeId) -> bool,
) -> Result<(), ValidationError> {
    match ids.iter().enumerate().find(|(_, id)| !is_employee(id)) {
        Some((index, id)) => Err(ValidationError::new(
            format!("{field}[{index}]"),
            format!("no employee with id {:?}", id.as_str()),
        )),
        None => Ok(()),
    }
}

fn delay(field: &str, seconds: u64) -> Result<(), ValidationError> {
    if (1..=MAX_DELAY_SECONDS).contains(&seconds) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!("must be from 1 second to 7 days ({MAX_DELAY_SECONDS} s), got {seconds}"),
        ))
    }
}

fn template_ref(group: &str, template: &TemplateRef) -> Result<(), ValidationError> {
    if template.name.trim().is_empty() || template.name.len() > 512 {
        return Err(ValidationError::new(
            format!("{group}.template.name"),
            "must be 1 to 512 characters",
        ));
    }
    if template.language.trim().is_empty() || template.language.len() > 15 {
        return Err(ValidationError::new(
            format!("{group}.template.language"),
            "must be a language code such as ru or en_US",
        ));
    }
    if template.parameters.len() > MAX_TEMPLATE_PARAMETERS {
        return Err(ValidationError::new(
            format!("{group}.template.parameters"),
            format!("at most {MAX_TEMPLATE_PARAMETERS} parameters"),
        ));
    }
    for (i, parameter) in template.parameters.iter().enumerate() {
        text(
            &format!("{group}.template.parameters[{i}]"),
            parameter,
            AUTO_VARS,
        )?;
    }
    Ok(())
}

/// The most body parameters a fallback template may name.
pub const MAX_TEMPLATE_PARAMETERS: usize = 20;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(patch: serde_json::Value) -> Result<Policy, ValidationError> {
        Policy::new(Settings::from_partial(&patch)?, |id| id.as_str() == "olga")
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                json!({"greeting": {"text": "Hi {client_nmae}"}}),
                "greeting.text",
                "unknown variable {client_nmae}",
            ),
            (
                json!({"greeting": {"text": ""}}),
                "greeting.text",
                "1 to 4096",
            ),
            (
                json!({"no_reply": {"after_seconds": 0}}),
                "no_reply.after_seconds",
                "7 days",
            ),
            (
                json!({"notify_manager_next": {"escalate_after_seconds": 604801}}),
                "notify_manager_next.escalate_after_seconds",
                "7 days",
            ),
            (
                json!({"sign_outgoing": {"format": "*{employee_name}*"}}),
                "sign_outgoing.format",
                "{text}",
            ),
            (
                json!({"closing": {"text": "{text}"}}),
                "closing.text",
                "unknown variable {text}",
            ),
            (
                json!({"supervisors": ["olga", "nobody"]}),
                "supervisors[1]",
                "nobody",
            ),
            (
                json!({"notify_manager_first": {"manager_ids": ["olga", "nobody"]}}),
                "notify_manager_first.manager_ids[1]",
                "no employee with id \"nobody\"",
            ),
            (
                json!({"notify_manager_next": {"manager_ids": ["ghost"]}}),
                "notify_manager_next.manager_ids[0]",
                "ghost",
            ),
            (
                json!({"notify_manager_first": {"text": "Ждёт {waited_minuts} мин"}}),
                "notify_manager_first.text",
                "unknown variable {waited_minuts}",
            ),
            (
                json!({"notify_manager_next": {"text": "{text}"}}),
                "notify_manager_next.text",
                "unknown variable {text}",
            ),
            (
                json!({"notify_manager_next": {"text": ""}}),
                "notify_manager_next.text",
                "1 to 4096",
            ),
            (
                json!({"notify_manager_first": {"text": "я".repeat(4097)}}),
                "notify_manager_first.text",
                "got 4097",
            ),
            (
                json!({"greeting": {"text": "Ждёте {waited_minutes} мин"}}),
                "greeting.text",
                "unknown variable {waited_minutes}",
            ),
            (
                json!({"working_hours": {"holidays": ["31.12.2026"]}}),
                "working_hours.holidays[0]",
                "YYYY-MM-DD",
            ),
            (
                json!({"closing": {"template": {"name": "", "language": "ru"}}}),
                "closing.template.name",
                "1 to 512",
            ),
        ];
        for (patch, field, message) in cases {
            let err = check(patch.clone()).unwrap_err();
            assert_eq!(err.field, field, "{patch}");
            assert!(err.message.contains(message), "{patch}: {err}");
        }
    }

    #[test]
    fn example_settings_are_valid() {
        check(json!({"supervisors": ["olga"], "working_hours": {"enabled": true}})).unwrap();
    }

    #[test]
    fn notify_texts_accept_every_notification_variable() {
        let text = "{company_name}: {client_name} ждёт {waited_minutes} мин, {employee_name}";
        let policy = check(json!({
            "notify_manager_first": {"text": text, "manager_ids": ["olga"]},
            "notify_manager_next": {"text": "4096 ".repeat(819) + "я"},
        }))
        .unwrap();
        assert!(policy.notify_text(true).uses(Var::WaitedMinutes));
        assert!(!policy.notify_text(false).uses(Var::WaitedMinutes));
    }
}
