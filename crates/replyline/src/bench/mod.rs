//! `replyline bench`: measures the engine's throughput and memory, and the
//! server's webhook pipeline under load, on this machine (docs/benchmarks.md).

mod deadlines;
mod harness;
mod traffic;

pub use deadlines::{DeadlinesReport, deadlines};
pub use traffic::{IngestReport, LoadPlan, LoadReport, ingest, load};

use jiff::{SignedDuration, Timestamp};
use replyline_engine::{
    ChannelKind, Context, Conversation, EmployeeId, Input, Member, Policy, Role, Settings, Team,
};
use serde_json::json;
use std::time::Instant;

/// What one run measured.
pub struct EngineReport {
    pub events: u64,
    pub seconds: f64,
    pub conversations: usize,
    pub bytes_per_conversation: Option<f64>,
}

impl EngineReport {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.seconds
    }
}

fn policy() -> Policy {
    let settings = Settings::from_partial(&json!({
        "greeting": {"enabled": true},
        "no_reply": {"enabled": true, "after_seconds": 300},
        "closing": {"enabled": true},
        "notify_manager_first": {"enabled": true, "after_seconds": 600, "escalate_after_seconds": 600},
        "notify_manager_next": {"enabled": true, "after_seconds": 900},
        "sign_outgoing": {"enabled": true},
        "auto_close": {"enabled": true, "after_seconds": 86400},
    }))
    .expect("bench settings are well-formed");
    Policy::new(settings, |_| true).expect("bench settings are valid")
}

fn team() -> Team {
    let mut team = Team::default();
    for (id, name, role, manager) in [
        ("ivan", "Иван Петров", Role::Employee, Some("olga")),
        ("olga", "Ольга Смирнова", Role::Manager, None),
    ] {
        let member = Member {
            name: name.into(),
            display_name: None,
            role,
            manager: manager.map(EmployeeId::new),
            active: true,
        };
        team.insert(EmployeeId::new(id), member);
    }
    team
}

/// Resident memory of this process in bytes (Linux), if it can be read.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Plays `events` events (client messages, employee replies, due deadlines)
/// round-robin over `conversations` open conversations on one thread.
pub fn engine(conversations: usize, events: u64) -> EngineReport {
    let policy = policy();
    let team = team();
    let ctx = Context {
        policy: &policy,
        team: &team,
        channel: ChannelKind::Whatsapp,
        company_name: "Ромашка",
        contact_name: Some("Анна"),
    };
    let start: Timestamp = "2026-11-25T07:00:00Z".parse().expect("valid start");
    let ivan = EmployeeId::new("ivan");

    let before = resident_bytes();
    let mut states: Vec<Conversation> = Vec::with_capacity(conversations);
    for _ in 0..conversations {
        let mut conversation = Conversation::new();
        let _ = conversation.handle(start, Input::ClientMessage, &ctx);
        let _ = conversation.drain_actions().count();
        states.push(conversation);
    }
    let after = resident_bytes();
    let bytes_per_conversation = before
        .zip(after)
        .map(|(before, after)| after.saturating_sub(before) as f64 / conversations as f64);

    let began = Instant::now();
    let mut actions = 0usize;
    for event in 0..events {
        let index = (event % conversations as u64) as usize;
        let round = event / conversations as u64;
        let now = start + SignedDuration::from_millis(event as i64);
        let conversation = &mut states[index];
        let input = if round % 2 == 1 {
            Input::ClientMessage
        } else {
            Input::EmployeeMessage {
                employee: ivan.clone(),
                text: "Отвечаю".into(),
            }
        };
        let _ = conversation.handle(now, input, &ctx);
        if conversation.poll_timeout().is_some_and(|due| due <= now) {
            conversation.handle_timeout(now, &ctx);
        }
        actions += conversation.drain_actions().count();
    }
    let seconds = began.elapsed().as_secs_f64();
    std::hint::black_box(actions);
    EngineReport {
        events,
        seconds,
        conversations,
        bytes_per_conversation,
    }
}
