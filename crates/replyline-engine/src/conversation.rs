//! One conversation's reply clock: the sans-IO state machine of SPEC §3.

use crate::action::{
    Action, Decision, MessageKind, Notification, NotifyReason, Outcome, Payload, Reason, Rule,
    StateChange,
};
use crate::hours::WorkingHours;
use crate::ids::EmployeeId;
use crate::policy::Policy;
use crate::settings::{SignMode, TemplateRef};
use crate::team::Team;
use crate::template::{Template, Vars};
use crate::{MAX_SEND_TEXT_CHARS, WHATSAPP_WINDOW_SECONDS};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// The messenger a conversation runs on; it decides channel-specific rules
/// such as WhatsApp's 24-hour window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    #[default]
    Whatsapp,
    Telegram,
    Webchat,
    Api,
}

impl ChannelKind {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Whatsapp => "whatsapp",
            Self::Telegram => "telegram",
            Self::Webchat => "webchat",
            Self::Api => "api",
        }
    }

    /// True when free-form messages need an open 24-hour customer-service window.
    pub fn has_service_window(self) -> bool {
        self == Self::Whatsapp
    }
}

/// Everything the engine reads besides the conversation's own state.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub policy: &'a Policy,
    pub team: &'a Team,
    pub channel: ChannelKind,
    pub company_name: &'a str,
    pub contact_name: Option<&'a str>,
}

/// Who ends a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Closer {
    Employee(EmployeeId),
    /// The system, e.g. after the auto-close delay.
    Auto,
}

/// An event in the conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The client wrote.
    ClientMessage,
    /// An employee wrote to the client.
    EmployeeMessage { employee: EmployeeId, text: String },
    /// An employee sent an approved template (allowed outside WhatsApp's
    /// 24-hour window; never signed). Ends a wait like any reply.
    EmployeeTemplate {
        employee: EmployeeId,
        name: String,
        language: String,
        parameters: Vec<String>,
    },
    /// An employee left an internal note (never ends a wait).
    Note { employee: EmployeeId },
    /// The conversation was assigned (or unassigned with `None`).
    Assign { employee: Option<EmployeeId> },
    /// The conversation was ended.
    Close(Closer),
    /// The channel's settings changed; the context carries the new policy.
    SettingsChanged,
}

/// An input that does not apply to the conversation's current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("the conversation is closed")]
    Closed,
    #[error("the conversation has not been opened")]
    NotOpen,
}

/// The lifecycle of a conversation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Created by the driver, no message yet.
    #[default]
    New,
    Open,
    Closed,
}

/// A rule's deadline within one wait: not scheduled, pending, or done (fired once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Step {
    #[default]
    Off,
    Pending(Timestamp),
    Done,
}

impl Step {
    fn due(self) -> Option<Timestamp> {
        match self {
            Self::Pending(at) => Some(at),
            _ => None,
        }
    }
}

/// The managers notified for a wait, kept for escalation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Notified {
    at: Timestamp,
    managers: Vec<EmployeeId>,
}

/// An unanswered span: from a client message to the next employee message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Wait {
    started_at: Timestamp,
    /// The conversation's first wait ("first message"), else "subsequent".
    first: bool,
    no_reply: Step,
    notify: Step,
    notified: Option<Notified>,
    escalation: Step,
}

impl Wait {
    fn notify_rule(&self) -> Rule {
        if self.first {
            Rule::NotifyFirst
        } else {
            Rule::NotifyNext
        }
    }
}

/// The deadline kinds, in the order they fire when due at the same instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timer {
    NoReply,
    Notify,
    Escalation,
    AutoClose,
}

/// The state of one conversation. Serializable, so the driver can persist it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    status: Status,
    closed_at: Option<Timestamp>,
    assignee: Option<EmployeeId>,
    /// A wait has started in this conversation, so later waits are "subsequent".
    had_wait: bool,
    wait: Option<Wait>,
    last_client_at: Option<Timestamp>,
    last_employee_at: Option<Timestamp>,
    last_signer: Option<EmployeeId>,
    /// The non-working period (identified by its end) that got an out-of-hours message.
    out_of_hours_period: Option<Timestamp>,
    /// The non-working period in which an employee last wrote.
    employee_period: Option<Timestamp>,
    auto_close_at: Option<Timestamp>,
    #[serde(skip)]
    actions: Vec<Action>,
}

impl Conversation {
    /// A conversation not opened yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new conversation with a contact who last wrote at `last_client_at`
    /// (in an earlier conversation), which keeps WhatsApp's window open.
    pub fn continuing(last_client_at: Option<Timestamp>) -> Self {
        Self {
            last_client_at,
            ..Self::default()
        }
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn assignee(&self) -> Option<&EmployeeId> {
        self.assignee.as_ref()
    }

    /// The latest instant an input reached this conversation at: the
    /// client's or an employee's last message, or its close. A driver that
    /// feeds inputs late keeps time from running backwards with it.
    pub fn last_activity_at(&self) -> Option<Timestamp> {
        [self.last_client_at, self.last_employee_at, self.closed_at]
            .into_iter()
            .flatten()
            .max()
    }

    pub fn closed_at(&self) -> Option<Timestamp> {
        self.closed_at
    }

    pub fn last_client_at(&self) -> Option<Timestamp> {
        self.last_client_at
    }

    /// When the active wait started, if a client is waiting.
    pub fn waiting_since(&self) -> Option<Timestamp> {
        self.wait.as_ref().map(|w| w.started_at)
    }

    /// True when the active wait's no-reply message has gone out.
    pub fn no_reply_sent(&self) -> bool {
        self.wait.as_ref().is_some_and(|w| w.no_reply == Step::Done)
    }

    /// True when managers were notified about the active wait.
    pub fn manager_notified(&self) -> bool {
        self.wait.as_ref().is_some_and(|w| w.notified.is_some())
    }

    /// True when WhatsApp's 24-hour window allows free-form messages at `now`
    /// (always true on channels without such a window).
    pub fn window_open(&self, now: Timestamp, channel: ChannelKind) -> bool {
        !channel.has_service_window()
            || self.last_client_at.is_some_and(|at| {
                now.duration_since(at) < SignedDuration::from_secs(WHATSAPP_WINDOW_SECONDS)
            })
    }

    /// True when a client message at `now` belongs to this conversation: it is
    /// new or open, or closed recently enough to be reopened.
    pub fn accepts_client_message(&self, now: Timestamp, policy: &Policy) -> bool {
        match (self.status, self.closed_at) {
            (Status::Closed, Some(closed_at)) => {
                let reopen = &policy.settings().reopen;
                reopen.enabled
                    && now.duration_since(closed_at)
                        <= SignedDuration::from_secs(reopen.within_seconds as i64)
            }
            (Status::Closed, None) => false,
            _ => true,
        }
    }

    /// Applies an input at `now`. Deadlines that fell due strictly before
    /// `now` fire first; one due exactly at `now` is checked after the input.
    pub fn handle(
        &mut self,
        now: Timestamp,
        input: Input,
        ctx: &Context<'_>,
    ) -> Result<(), InputError> {
        self.fire_due(now, ctx, false);
        match input {
            Input::ClientMessage => self.on_client_message(now, ctx),
            Input::EmployeeMessage { employee, text } => {
                self.on_employee_message(now, employee, &text, ctx)
            }
            Input::EmployeeTemplate {
                employee,
                name,
                language,
                parameters,
            } => self.on_employee_reply(
                now,
                employee,
                Payload::Template {
                    name,
                    language,
                    parameters,
                },
                ctx,
            ),
            Input::Note { .. } => self.require_open().map(|_| ()),
            Input::Assign { employee } => {
                self.require_open()?;
                self.assign(employee);
                Ok(())
            }
            Input::Close(closer) => {
                self.require_open()?;
                self.close(now, closer, ctx);
                Ok(())
            }
            Input::SettingsChanged => {
                if self.status == Status::Open {
                    self.schedule(ctx.policy);
                }
                Ok(())
            }
        }
    }

    /// The next instant at which [`Self::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.next_timer().map(|(at, _)| at)
    }

    /// Fires every deadline due at or before `now`.
    pub fn handle_timeout(&mut self, now: Timestamp, ctx: &Context<'_>) {
        self.fire_due(now, ctx, true);
    }

    /// Takes the actions produced so far, in the order they happened. The
    /// queue's memory goes with them, so an idle conversation holds none.
    pub fn drain_actions(&mut self) -> std::vec::IntoIter<Action> {
        std::mem::take(&mut self.actions).into_iter()
    }

    fn require_open(&self) -> Result<(), InputError> {
        match self.status {
            Status::Open => Ok(()),
            Status::New => Err(InputError::NotOpen),
            Status::Closed => Err(InputError::Closed),
        }
    }

    fn next_timer(&self) -> Option<(Timestamp, Timer)> {
        let wait = self.wait.as_ref();
        [
            (wait.and_then(|w| w.no_reply.due()), Timer::NoReply),
            (wait.and_then(|w| w.notify.due()), Timer::Notify),
            (wait.and_then(|w| w.escalation.due()), Timer::Escalation),
            (self.auto_close_at, Timer::AutoClose),
        ]
        .into_iter()
        .filter_map(|(at, timer)| at.map(|at| (at, timer)))
        .reduce(|best, next| if next.0 < best.0 { next } else { best })
    }

    fn fire_due(&mut self, now: Timestamp, ctx: &Context<'_>, inclusive: bool) {
        while let Some((at, timer)) = self.next_timer() {
            if at > now || (at == now && !inclusive) {
                break;
            }
            self.fire(timer, now, ctx);
        }
    }

    fn fire(&mut self, timer: Timer, now: Timestamp, ctx: &Context<'_>) {
        match timer {
            Timer::NoReply => {
                if let Some(wait) = &mut self.wait {
                    wait.no_reply = Step::Done;
                }
                self.send_auto(MessageKind::NoReply, Reason::WaitUnanswered, now, ctx);
            }
            Timer::Notify => self.notify(now, ctx),
            Timer::Escalation => self.escalate(now, ctx),
            Timer::AutoClose => {
                self.auto_close_at = None;
                self.close(now, Closer::Auto, ctx);
            }
        }
    }

    fn notify(&mut self, now: Timestamp, ctx: &Context<'_>) {
        let Some(wait) = &mut self.wait else { return };
        wait.notify = Step::Done;
        let rule = wait.notify_rule();
        let settings = ctx.policy.settings();
        let chosen = if wait.first {
            &settings.notify_manager_first.manager_ids
        } else {
            &settings.notify_manager_next.manager_ids
        };
        let managers =
            ctx.team
                .notification_recipients(chosen, self.assignee.as_ref(), &settings.supervisors);
        if managers.is_empty() {
            self.decide(rule, Outcome::Suppressed, Reason::NoRecipients);
            return;
        }
        let reason = if wait.first {
            NotifyReason::FirstMessage
        } else {
            NotifyReason::NextMessage
        };
        wait.notified = Some(Notified {
            at: now,
            managers: managers.clone(),
        });
        self.push_notification(reason, managers, now, ctx);
        self.decide(rule, Outcome::Fired, Reason::WaitUnanswered);
        self.schedule(ctx.policy);
    }

    fn escalate(&mut self, now: Timestamp, ctx: &Context<'_>) {
        let Some(wait) = &mut self.wait else { return };
        wait.escalation = Step::Done;
        let Some(notified) = &wait.notified else {
            return;
        };
        let managers = ctx.team.escalation_targets(&notified.managers);
        let reason = if wait.first {
            NotifyReason::FirstMessageEscalated
        } else {
            NotifyReason::NextMessageEscalated
        };
        if managers.is_empty() {
            self.decide(Rule::Escalation, Outcome::Suppressed, Reason::NoRecipients);
            return;
        }
        self.push_notification(reason, managers, now, ctx);
        self.decide(Rule::Escalation, Outcome::Fired, Reason::WaitUnanswered);
    }

    /// Emits a notification about the active wait, with the text of the
    /// wait's control rule rendered for `now`.
    fn push_notification(
        &mut self,
        reason: NotifyReason,
        managers: Vec<EmployeeId>,
        now: Timestamp,
        ctx: &Context<'_>,
    ) {
        let Some(wait) = &self.wait else { return };
        let wait_started = wait.started_at;
        let waited_seconds = waited(ctx.policy, wait_started, now);
        let text = self.notification_text(wait.first, waited_seconds, ctx);
        self.actions.push(Action::Notify(Notification {
            reason,
            managers,
            employee: self.assignee.clone(),
            wait_started,
            waited_seconds,
            text,
        }));
    }

    /// Renders the R4 (`first`) or R5 text. Managers know people by their
    /// full name, so `{employee_name}` is the assignee's name, not the
    /// display name clients see.
    fn notification_text(&self, first: bool, waited_seconds: i64, ctx: &Context<'_>) -> String {
        let employee_name = self
            .assignee
            .as_ref()
            .map(|a| ctx.team.get(a).map_or(a.as_str(), |m| m.name.as_str()));
        let minutes = (waited_seconds / 60).to_string();
        ctx.policy.notify_text(first).render(&Vars {
            client_name: ctx.contact_name,
            employee_name,
            company_name: Some(ctx.company_name),
            text: None,
            waited_minutes: Some(&minutes),
        })
    }

    fn on_client_message(&mut self, now: Timestamp, ctx: &Context<'_>) -> Result<(), InputError> {
        match self.status {
            Status::New => {
                self.status = Status::Open;
                self.change(StateChange::Opened { by_client: true });
                self.last_client_at = Some(now);
                self.start_wait(now, ctx.policy);
                if self.out_of_hours(now, ctx) {
                    if ctx.policy.settings().greeting.enabled {
                        self.decide(
                            Rule::Greeting,
                            Outcome::Suppressed,
                            Reason::ReplacedByOutOfHours,
                        );
                    }
                } else if ctx.policy.settings().greeting.enabled {
                    self.send_auto(MessageKind::Greeting, Reason::ConversationOpened, now, ctx);
                }
            }
            Status::Closed => {
                if !self.accepts_client_message(now, ctx.policy) {
                    return Err(InputError::Closed);
                }
                self.status = Status::Open;
                self.closed_at = None;
                self.had_wait = true;
                self.change(StateChange::Reopened);
                self.decide(Rule::Reopen, Outcome::Fired, Reason::WithinReopenWindow);
                if ctx.policy.settings().greeting.enabled {
                    self.decide(Rule::Greeting, Outcome::Suppressed, Reason::Reopened);
                }
                self.last_client_at = Some(now);
                self.start_wait(now, ctx.policy);
                self.out_of_hours(now, ctx);
            }
            Status::Open => {
                self.last_client_at = Some(now);
                if self.wait.is_none() {
                    self.start_wait(now, ctx.policy);
                }
                self.out_of_hours(now, ctx);
            }
        }
        Ok(())
    }

    /// R7: answers a client message outside working hours, at most once per
    /// non-working period and not after an employee wrote in that period.
    /// Returns true when the rule fired.
    fn out_of_hours(&mut self, now: Timestamp, ctx: &Context<'_>) -> bool {
        let Some(hours) = ctx.policy.hours() else {
            return false;
        };
        if !ctx.policy.settings().out_of_hours.enabled || hours.is_working(now) {
            return false;
        }
        let period = Some(hours.next_working_start(now).unwrap_or(Timestamp::MAX));
        if self.out_of_hours_period == period {
            self.decide(
                Rule::OutOfHours,
                Outcome::Suppressed,
                Reason::AlreadySentThisPeriod,
            );
            return false;
        }
        if self.employee_period == period {
            self.decide(
                Rule::OutOfHours,
                Outcome::Suppressed,
                Reason::EmployeeActiveThisPeriod,
            );
            return false;
        }
        self.out_of_hours_period = period;
        self.send_auto(
            MessageKind::OutOfHours,
            Reason::OutsideWorkingHours,
            now,
            ctx,
        );
        true
    }

    fn on_employee_message(
        &mut self,
        now: Timestamp,
        employee: EmployeeId,
        text: &str,
        ctx: &Context<'_>,
    ) -> Result<(), InputError> {
        if self.status == Status::Closed {
            return Err(InputError::Closed);
        }
        if !self.window_open(now, ctx.channel) {
            self.actions.push(Action::Reject {
                employee,
                reason: Reason::Outside24hWindow,
            });
            return Ok(());
        }
        let (text, signed) = self.sign(&employee, text, ctx);
        if text.chars().count() > MAX_SEND_TEXT_CHARS {
            self.actions.push(Action::Reject {
                employee,
                reason: Reason::TextTooLong,
            });
            return Ok(());
        }
        if signed {
            self.last_signer = Some(employee.clone());
        }
        self.on_employee_reply(now, employee, Payload::Text(text), ctx)
    }

    /// An employee's reply that passed its checks: opens the conversation if
    /// new, assigns it to them if unassigned, sends it and ends the wait.
    fn on_employee_reply(
        &mut self,
        now: Timestamp,
        employee: EmployeeId,
        payload: Payload,
        ctx: &Context<'_>,
    ) -> Result<(), InputError> {
        if self.status == Status::Closed {
            return Err(InputError::Closed);
        }
        if self.status == Status::New {
            self.status = Status::Open;
            self.change(StateChange::Opened { by_client: false });
        }
        if self.assignee.is_none() {
            self.assign(Some(employee.clone()));
        }
        self.actions.push(Action::Send {
            kind: MessageKind::Employee,
            employee: Some(employee),
            payload,
        });
        self.last_employee_at = Some(now);
        if self.wait.take().is_some() {
            self.change(StateChange::WaitEnded);
        }
        if let Some(hours) = ctx.policy.hours().filter(|h| !h.is_working(now)) {
            self.employee_period = Some(hours.next_working_start(now).unwrap_or(Timestamp::MAX));
        }
        self.schedule(ctx.policy);
        Ok(())
    }

    /// R6: renders an employee's text with the signature format when due; true when
    /// it was signed (the caller records the signer once the message is accepted).
    fn sign(&self, employee: &EmployeeId, text: &str, ctx: &Context<'_>) -> (String, bool) {
        let rule = &ctx.policy.settings().sign_outgoing;
        let due = rule.enabled
            && !text.is_empty()
            && (rule.mode == SignMode::EveryMessage || self.last_signer.as_ref() != Some(employee));
        if !due {
            return (text.to_owned(), false);
        }
        let name = ctx
            .team
            .get(employee)
            .map_or(employee.as_str(), |m| m.signature_name());
        let signed = ctx.policy.signature.render(&Vars {
            client_name: ctx.contact_name,
            employee_name: Some(name),
            company_name: Some(ctx.company_name),
            text: Some(text),
            waited_minutes: None,
        });
        (signed, true)
    }

    fn assign(&mut self, employee: Option<EmployeeId>) {
        if self.assignee != employee {
            self.assignee = employee.clone();
            self.change(StateChange::Assigned { employee });
        }
    }

    fn close(&mut self, now: Timestamp, closer: Closer, ctx: &Context<'_>) {
        if let Some(wait) = self.wait.take() {
            for (step, rule) in [
                (wait.no_reply, Rule::NoReply),
                (wait.notify, wait.notify_rule()),
                (wait.escalation, Rule::Escalation),
            ] {
                if step.due().is_some() {
                    self.decide(rule, Outcome::Suppressed, Reason::ConversationClosed);
                }
            }
        }
        if self.auto_close_at.take().is_some() {
            self.decide(
                Rule::AutoClose,
                Outcome::Suppressed,
                Reason::ConversationClosed,
            );
        }
        let closing = &ctx.policy.settings().closing;
        let auto = closer == Closer::Auto;
        if auto {
            self.decide(Rule::AutoClose, Outcome::Fired, Reason::Inactivity);
        }
        match (closing.enabled, auto) {
            (false, _) => {}
            (true, false) => {
                self.send_auto(MessageKind::Closing, Reason::ClosedByEmployee, now, ctx)
            }
            (true, true) if closing.on_auto_close => {
                self.send_auto(MessageKind::Closing, Reason::AutoClosed, now, ctx)
            }
            (true, true) => self.decide(Rule::Closing, Outcome::Suppressed, Reason::NotOnAutoClose),
        }
        self.status = Status::Closed;
        self.closed_at = Some(now);
        self.change(StateChange::Closed { auto });
    }

    fn start_wait(&mut self, now: Timestamp, policy: &Policy) {
        let first = !self.had_wait;
        self.had_wait = true;
        self.wait = Some(Wait {
            started_at: now,
            first,
            no_reply: Step::Off,
            notify: Step::Off,
            notified: None,
            escalation: Step::Off,
        });
        self.auto_close_at = None;
        self.change(StateChange::WaitStarted { first });
        self.schedule(policy);
    }

    /// Recomputes every pending deadline from the facts (wait start,
    /// notification time, last employee message) and the current policy.
    fn schedule(&mut self, policy: &Policy) {
        let settings = policy.settings();
        let mut disabled = Vec::new();
        if let Some(wait) = &mut self.wait {
            let no_reply = &settings.no_reply;
            let due = no_reply
                .enabled
                .then(|| deadline(policy, wait.started_at, no_reply.after_seconds))
                .flatten();
            reschedule(
                &mut wait.no_reply,
                no_reply.enabled,
                due,
                Rule::NoReply,
                &mut disabled,
            );
            let notify = if wait.first {
                &settings.notify_manager_first
            } else {
                &settings.notify_manager_next
            };
            let due = notify
                .enabled
                .then(|| deadline(policy, wait.started_at, notify.after_seconds))
                .flatten();
            let rule = wait.notify_rule();
            reschedule(&mut wait.notify, notify.enabled, due, rule, &mut disabled);
            let escalation_on = notify.enabled && notify.escalate_after_seconds.is_some();
            let due = match (&wait.notified, notify.escalate_after_seconds) {
                (Some(notified), Some(after)) if escalation_on => {
                    deadline(policy, notified.at, after)
                }
                _ => None,
            };
            reschedule(
                &mut wait.escalation,
                escalation_on,
                due,
                Rule::Escalation,
                &mut disabled,
            );
        }
        let auto_close = &settings.auto_close;
        let idle_since = self
            .last_employee_at
            .filter(|_| self.status == Status::Open && self.wait.is_none());
        self.auto_close_at = match idle_since {
            Some(since) if auto_close.enabled => since
                .checked_add(SignedDuration::from_secs(auto_close.after_seconds as i64))
                .ok(),
            _ => {
                if self.auto_close_at.is_some() && !auto_close.enabled {
                    disabled.push(Rule::AutoClose);
                }
                None
            }
        };
        for rule in disabled {
            self.decide(rule, Outcome::Suppressed, Reason::RuleDisabled);
        }
    }

    /// Sends an automatic message, or its template when WhatsApp's window is
    /// closed, or records why it was skipped.
    fn send_auto(&mut self, kind: MessageKind, reason: Reason, now: Timestamp, ctx: &Context<'_>) {
        let (rule, template, fallback) = auto_message(kind, ctx.policy);
        if self.window_open(now, ctx.channel) {
            let employee_name = self
                .assignee
                .as_ref()
                .and_then(|a| ctx.team.get(a))
                .map(|m| m.signature_name());
            let text = template.render(&Vars {
                client_name: ctx.contact_name,
                employee_name,
                company_name: Some(ctx.company_name),
                text: None,
                waited_minutes: None,
            });
            self.send(kind, Payload::Text(text));
            self.decide(rule, Outcome::Fired, reason);
        } else if let Some(fallback) = fallback {
            let parameters = self.fallback_parameters(fallback, ctx);
            self.send(
                kind,
                Payload::Template {
                    name: fallback.name.clone(),
                    language: fallback.language.clone(),
                    parameters,
                },
            );
            self.decide(rule, Outcome::Fired, Reason::TemplateFallback);
        } else {
            self.actions.push(Action::Skip {
                kind,
                reason: Reason::Outside24hWindow,
            });
            self.decide(rule, Outcome::Suppressed, Reason::Outside24hWindow);
        }
    }

    /// A fallback template's parameters with the automatic messages' variables filled in.
    fn fallback_parameters(&self, fallback: &TemplateRef, ctx: &Context<'_>) -> Vec<String> {
        let employee_name = self
            .assignee
            .as_ref()
            .and_then(|a| ctx.team.get(a))
            .map(|m| m.signature_name());
        let vars = Vars {
            client_name: ctx.contact_name,
            employee_name,
            company_name: Some(ctx.company_name),
            text: None,
            waited_minutes: None,
        };
        fallback
            .parameters
            .iter()
            .map(|p| {
                Template::parse(p, crate::policy::AUTO_VARS)
                    .map_or_else(|_| p.clone(), |t| t.render(&vars))
            })
            .collect()
    }

    fn send(&mut self, kind: MessageKind, payload: Payload) {
        self.actions.push(Action::Send {
            kind,
            employee: None,
            payload,
        });
    }

    fn decide(&mut self, rule: Rule, outcome: Outcome, reason: Reason) {
        self.actions.push(Action::Decision(Decision {
            rule,
            outcome,
            reason,
        }));
    }

    fn change(&mut self, change: StateChange) {
        self.actions.push(Action::Changed(change));
    }
}

/// The rule, text and template of an automatic message kind.
fn auto_message(kind: MessageKind, policy: &Policy) -> (Rule, &Template, Option<&TemplateRef>) {
    let s = policy.settings();
    match kind {
        MessageKind::Greeting => (
            Rule::Greeting,
            &policy.greeting,
            s.greeting.template.as_ref(),
        ),
        MessageKind::NoReply => (
            Rule::NoReply,
            &policy.no_reply,
            s.no_reply.template.as_ref(),
        ),
        MessageKind::Closing => (Rule::Closing, &policy.closing, s.closing.template.as_ref()),
        MessageKind::OutOfHours | MessageKind::Employee => (
            Rule::OutOfHours,
            &policy.out_of_hours,
            s.out_of_hours.template.as_ref(),
        ),
    }
}

/// The working hours that delays count in, when the policy counts working
/// time only (R2, R4, R5, R9); `None` means wall-clock time.
fn working_time(policy: &Policy) -> Option<&WorkingHours> {
    policy
        .hours()
        .filter(|_| policy.settings().working_hours.count_working_time_only)
}

/// `seconds` after `from`: working time only when the policy says so.
fn deadline(policy: &Policy, from: Timestamp, seconds: u64) -> Option<Timestamp> {
    match working_time(policy) {
        Some(hours) => hours.add_working(from, seconds),
        None => from
            .checked_add(SignedDuration::from_secs(seconds as i64))
            .ok(),
    }
}

/// The seconds from `from` to `to`, counted as [`deadline`] counts them.
fn waited(policy: &Policy, from: Timestamp, to: Timestamp) -> i64 {
    match working_time(policy) {
        Some(hours) => hours.working_seconds_between(from, to),
        None => to.duration_since(from).as_secs(),
    }
}

/// Moves a step to its new deadline; a done step stays done. A pending step
/// whose rule was disabled is recorded in `disabled`.
fn reschedule(
    step: &mut Step,
    enabled: bool,
    due: Option<Timestamp>,
    rule: Rule,
    disabled: &mut Vec<Rule>,
) {
    match (*step, due) {
        (Step::Done, _) => {}
        (_, Some(at)) => *step = Step::Pending(at),
        (Step::Pending(_), None) => {
            *step = Step::Off;
            if !enabled {
                disabled.push(rule);
            }
        }
        (Step::Off, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use crate::team::{Member, Role};
    use serde_json::json;

    fn policy(sign: serde_json::Value) -> Policy {
        let settings = Settings::from_partial(&json!({ "sign_outgoing": sign })).unwrap();
        Policy::new(settings, |_| true).unwrap()
    }

    fn team() -> Team {
        let mut team = Team::default();
        team.insert(
            EmployeeId::new("ivan"),
            Member {
                name: "Иван".into(),
                display_name: None,
                role: Role::Employee,
                manager: None,
                active: true,
            },
        );
        team
    }

    fn reply(c: &mut Conversation, at: Timestamp, text: String, ctx: &Context<'_>) -> Vec<Action> {
        let input = Input::EmployeeMessage {
            employee: EmployeeId::new("ivan"),
            text,
        };
        c.handle(at, input, ctx).unwrap();
        c.drain_actions().collect()
    }

    /// A text within the limit that the signature pushes over it is rejected before anything
    /// changes; one that fits with the signature goes out at exactly the limit.
    #[test]
    fn signed_text_over_the_messenger_limit_is_rejected_unchanged() {
        let policy = policy(json!({"enabled": true, "format": "*{employee_name}*:\n{text}"}));
        let team = team();
        let ctx = Context {
            policy: &policy,
            team: &team,
            channel: ChannelKind::Whatsapp,
            company_name: "Ромашка",
            contact_name: None,
        };
        let t0: Timestamp = "2026-01-05T10:00:00Z".parse().unwrap();
        let mut c = Conversation::new();
        c.handle(t0, Input::ClientMessage, &ctx).unwrap();
        c.drain_actions().for_each(drop);
        let before = c.clone();

        let t1 = t0 + SignedDuration::from_secs(60);
        let actions = reply(&mut c, t1, "я".repeat(MAX_SEND_TEXT_CHARS), &ctx);
        assert_eq!(
            actions,
            vec![Action::Reject {
                employee: EmployeeId::new("ivan"),
                reason: Reason::TextTooLong,
            }]
        );
        assert_eq!(c, before, "a rejected message changes nothing");
        assert_eq!(Reason::TextTooLong.as_str(), "text_too_long");

        // "*Иван*:\n" is 8 characters: 4088 + 8 = 4096 fits exactly.
        let actions = reply(&mut c, t1, "я".repeat(MAX_SEND_TEXT_CHARS - 8), &ctx);
        let sent = actions.iter().find_map(|a| match a {
            Action::Send {
                payload: Payload::Text(t),
                ..
            } => Some(t.chars().count()),
            _ => None,
        });
        assert_eq!(sent, Some(MAX_SEND_TEXT_CHARS), "{actions:?}");
        assert!(c.waiting_since().is_none());
    }

    /// Without a signature the limit is the text itself; with `on_change` a rejected message
    /// does not count as the last signed one.
    #[test]
    fn limit_counts_only_the_signature_actually_added() {
        let t0: Timestamp = "2026-01-05T10:00:00Z".parse().unwrap();
        let team = team();
        let off = policy(json!({"enabled": false}));
        let ctx = Context {
            policy: &off,
            team: &team,
            channel: ChannelKind::Whatsapp,
            company_name: "Ромашка",
            contact_name: None,
        };
        let mut c = Conversation::new();
        c.handle(t0, Input::ClientMessage, &ctx).unwrap();
        c.drain_actions().for_each(drop);
        let actions = reply(&mut c, t0, "a".repeat(MAX_SEND_TEXT_CHARS), &ctx);
        assert!(
            actions.iter().any(|a| matches!(a, Action::Send { .. })),
            "{actions:?}"
        );

        let on_change = policy(json!({"enabled": true, "mode": "on_change"}));
        let ctx = Context {
            policy: &on_change,
            ..ctx
        };
        let mut c = Conversation::new();
        c.handle(t0, Input::ClientMessage, &ctx).unwrap();
        c.drain_actions().for_each(drop);
        let actions = reply(&mut c, t0, "a".repeat(MAX_SEND_TEXT_CHARS), &ctx);
        assert!(matches!(
            actions.as_slice(),
            [Action::Reject {
                reason: Reason::TextTooLong,
                ..
            }]
        ));
        // Still the first signed message: the signature is due and counted again.
        let actions = reply(&mut c, t0, "a".repeat(MAX_SEND_TEXT_CHARS - 8), &ctx);
        let sent: Vec<&String> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Send {
                    payload: Payload::Text(t),
                    ..
                } => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(sent.len(), 1, "{actions:?}");
        assert!(sent[0].starts_with("*Иван*:\n"));
    }
}
