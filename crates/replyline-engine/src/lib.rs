//! The reply clock: a pure, sans-IO engine for one conversation's automations.
//!
//! The engine never reads a clock and never performs I/O. A driver feeds it
//! inputs stamped with `now` ([`Conversation::handle`]), asks for the next
//! deadline ([`Conversation::poll_timeout`]), fires due deadlines
//! ([`Conversation::handle_timeout`]) and drains the resulting [`Action`]s
//! ([`Conversation::drain_actions`]). The same inputs always produce the same
//! actions.

mod action;
mod conversation;
mod hours;
mod ids;
mod policy;
pub mod routing;
mod settings;
mod team;
mod template;

pub use action::{
    Action, Decision, MessageKind, Notification, NotifyReason, Outcome, Payload, Reason, Rule,
    StateChange,
};
pub use conversation::{ChannelKind, Closer, Context, Conversation, Input, InputError, Status};
pub use hours::WorkingHours;
pub use ids::EmployeeId;
pub use policy::Policy;
pub use settings::{
    AutoClose, ClosingRule, DelayedMessageRule, MessageRule, NOTIFY_FIRST_TEXT, NOTIFY_NEXT_TEXT,
    NotifyRule, Reopen, Settings, SignMode, SignRule, TemplateRef, ValidationError, Week,
    WorkingHoursSettings,
};
pub use team::{Member, Role, Team};
pub use template::{Template, Var, Vars};

/// The longest delay a setting may name: seven days, in seconds.
pub const MAX_DELAY_SECONDS: u64 = 7 * 24 * 3600;

/// The WhatsApp customer-service window: free-form messages only this long after the client's last message.
pub const WHATSAPP_WINDOW_SECONDS: i64 = 24 * 3600;

/// The longest text a message may carry as sent, signature included, in characters
/// (WhatsApp's text body limit). A longer employee message is rejected
/// ([`Reason::TextTooLong`]) before anything changes.
pub const MAX_SEND_TEXT_CHARS: usize = 4096;
