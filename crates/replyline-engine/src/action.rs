//! What the engine asks its driver to do, and why.

use crate::ids::EmployeeId;
use jiff::Timestamp;

/// The kind of an outgoing message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    Greeting,
    NoReply,
    Closing,
    OutOfHours,
    Employee,
}

impl MessageKind {
    /// The stable snake_case name used in the API and the simulator.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Greeting => "greeting",
            Self::NoReply => "no_reply",
            Self::Closing => "closing",
            Self::OutOfHours => "out_of_hours",
            Self::Employee => "employee",
        }
    }
}

/// The content of an outgoing message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// Free-form text (WhatsApp markup).
    Text(String),
    /// An approved template (allowed outside the 24-hour window), with its
    /// body parameters in order, already rendered.
    Template {
        name: String,
        language: String,
        parameters: Vec<String>,
    },
}

/// Why managers are notified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotifyReason {
    FirstMessage,
    NextMessage,
    FirstMessageEscalated,
    NextMessageEscalated,
}

impl NotifyReason {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstMessage => "first_message",
            Self::NextMessage => "next_message",
            Self::FirstMessageEscalated => "first_message_escalated",
            Self::NextMessageEscalated => "next_message_escalated",
        }
    }

    /// Parses the stable name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::FirstMessage,
            Self::NextMessage,
            Self::FirstMessageEscalated,
            Self::NextMessageEscalated,
        ]
        .into_iter()
        .find(|r| r.as_str() == name)
    }
}

/// A control notification for managers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub reason: NotifyReason,
    /// Recipients, sorted.
    pub managers: Vec<EmployeeId>,
    /// The conversation's assignee when the rule fired.
    pub employee: Option<EmployeeId>,
    pub wait_started: Timestamp,
    /// How long the wait had lasted when the rule fired, in seconds, counted
    /// as the rule's delay is counted: working time only when working hours
    /// are on with `count_working_time_only`, else wall-clock time.
    pub waited_seconds: i64,
    /// The rule's «Текст уведомления» rendered for this firing (an escalation
    /// renders the text of the rule it escalates): the first line of every
    /// delivery.
    pub text: String,
}

/// The rules of SPEC §3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    Greeting,
    NoReply,
    Closing,
    NotifyFirst,
    NotifyNext,
    Signature,
    OutOfHours,
    AutoClose,
    Escalation,
    Reopen,
}

impl Rule {
    /// The spec's number, R1..R10.
    pub fn code(self) -> &'static str {
        match self {
            Self::Greeting => "R1",
            Self::NoReply => "R2",
            Self::Closing => "R3",
            Self::NotifyFirst => "R4",
            Self::NotifyNext => "R5",
            Self::Signature => "R6",
            Self::OutOfHours => "R7",
            Self::AutoClose => "R8",
            Self::Escalation => "R9",
            Self::Reopen => "R10",
        }
    }

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Greeting => "greeting",
            Self::NoReply => "no_reply",
            Self::Closing => "closing",
            Self::NotifyFirst => "notify_manager_first",
            Self::NotifyNext => "notify_manager_next",
            Self::Signature => "sign_outgoing",
            Self::OutOfHours => "out_of_hours",
            Self::AutoClose => "auto_close",
            Self::Escalation => "escalation",
            Self::Reopen => "reopen",
        }
    }
}

/// Whether a rule acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Fired,
    Suppressed,
}

impl Outcome {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fired => "fired",
            Self::Suppressed => "suppressed",
        }
    }
}

/// Why a rule fired or was suppressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A client message opened the conversation.
    ConversationOpened,
    /// The wait was still unanswered at the deadline.
    WaitUnanswered,
    /// An employee ended the chat.
    ClosedByEmployee,
    /// The conversation closed automatically.
    AutoClosed,
    /// Nobody wrote for the auto-close delay after the last employee message.
    Inactivity,
    /// A client message arrived outside working hours.
    OutsideWorkingHours,
    /// A client message arrived within the reopen window.
    WithinReopenWindow,
    /// The 24-hour window was closed, so the approved template was sent.
    TemplateFallback,
    /// The 24-hour window was closed and no template is configured.
    Outside24hWindow,
    /// The rule was disabled while its deadline was pending.
    RuleDisabled,
    /// The conversation closed while the deadline was pending.
    ConversationClosed,
    /// The out-of-hours message replaced the greeting.
    ReplacedByOutOfHours,
    /// A reopened conversation is not greeted again.
    Reopened,
    /// Already sent in this non-working period.
    AlreadySentThisPeriod,
    /// An employee has written during this non-working period.
    EmployeeActiveThisPeriod,
    /// Nobody could be notified (no managers, supervisors or admins).
    NoRecipients,
    /// Closing on auto-close is turned off (`closing.on_auto_close`).
    NotOnAutoClose,
    /// The employee's text, signed per `sign_outgoing`, is longer than the
    /// messenger accepts ([`crate::MAX_SEND_TEXT_CHARS`]).
    TextTooLong,
}

impl Reason {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConversationOpened => "conversation_opened",
            Self::WaitUnanswered => "wait_unanswered",
            Self::ClosedByEmployee => "closed_by_employee",
            Self::AutoClosed => "auto_closed",
            Self::Inactivity => "inactivity",
            Self::OutsideWorkingHours => "outside_working_hours",
            Self::WithinReopenWindow => "within_reopen_window",
            Self::TemplateFallback => "template_fallback",
            Self::Outside24hWindow => "outside_24h_window",
            Self::RuleDisabled => "rule_disabled",
            Self::ConversationClosed => "conversation_closed",
            Self::ReplacedByOutOfHours => "replaced_by_out_of_hours",
            Self::Reopened => "reopened",
            Self::AlreadySentThisPeriod => "already_sent_this_period",
            Self::EmployeeActiveThisPeriod => "employee_active_this_period",
            Self::NoRecipients => "no_recipients",
            Self::NotOnAutoClose => "not_on_auto_close",
            Self::TextTooLong => "text_too_long",
        }
    }
}

/// One entry of the conversation's timeline: a rule that fired or was suppressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub rule: Rule,
    pub outcome: Outcome,
    pub reason: Reason,
}

/// A change of the conversation's state, for the timeline and the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateChange {
    Opened { by_client: bool },
    Reopened,
    Closed { auto: bool },
    Assigned { employee: Option<EmployeeId> },
    WaitStarted { first: bool },
    WaitEnded,
}

/// An action for the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send a message to the client.
    Send {
        kind: MessageKind,
        employee: Option<EmployeeId>,
        payload: Payload,
    },
    /// An automatic message was not sent.
    Skip { kind: MessageKind, reason: Reason },
    /// An employee's message cannot be sent (e.g. the 24-hour window is closed).
    Reject {
        employee: EmployeeId,
        reason: Reason,
    },
    /// Notify managers.
    Notify(Notification),
    /// Explain a rule decision on the timeline.
    Decision(Decision),
    /// The conversation's state changed.
    Changed(StateChange),
}
