//! Engine throughput: events per second on one core, over many open conversations.
//!
//! Run with `cargo bench -p replyline-engine`; results and method are recorded
//! in docs/benchmarks.md.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use replyline_engine::{
    ChannelKind, Context, Conversation, EmployeeId, Input, Member, Policy, Role, Settings, Team,
};
use serde_json::json;
use std::hint::black_box;

const CONVERSATIONS: usize = 10_000;
const EVENTS: u64 = 100_000;

fn policy(working_hours: bool) -> Policy {
    let settings = Settings::from_partial(&json!({
        "greeting": {"enabled": true},
        "no_reply": {"enabled": true, "after_seconds": 300},
        "closing": {"enabled": true},
        "notify_manager_first": {"enabled": true, "after_seconds": 600, "escalate_after_seconds": 600},
        "notify_manager_next": {"enabled": true, "after_seconds": 900},
        "sign_outgoing": {"enabled": true},
        "working_hours": {"enabled": working_hours},
        "auto_close": {"enabled": true, "after_seconds": 86400},
    }))
    .expect("bench settings");
    Policy::new(settings, |_| true).expect("valid bench settings")
}

fn team() -> Team {
    let mut team = Team::default();
    team.insert(
        EmployeeId::new("ivan"),
        Member {
            name: "Иван Петров".into(),
            display_name: None,
            role: Role::Employee,
            manager: Some(EmployeeId::new("olga")),
            active: true,
        },
    );
    team.insert(
        EmployeeId::new("olga"),
        Member {
            name: "Ольга Смирнова".into(),
            display_name: None,
            role: Role::Manager,
            manager: None,
            active: true,
        },
    );
    team
}

/// Plays `EVENTS` events round-robin over the conversations: a client
/// message, then (every other round) an employee reply, with deadlines fired
/// as time passes. Returns the number of actions, so nothing is optimised away.
fn play(conversations: &mut [Conversation], ctx: &Context<'_>, start: Timestamp) -> usize {
    let ivan = EmployeeId::new("ivan");
    let mut actions = 0;
    for event in 0..EVENTS {
        let index = (event as usize) % conversations.len();
        let round = event / conversations.len() as u64;
        let now = start + SignedDuration::from_secs(event as i64 / 10);
        let conversation = &mut conversations[index];
        let input = if round.is_multiple_of(2) {
            Input::ClientMessage
        } else {
            Input::EmployeeMessage {
                employee: ivan.clone(),
                text: "Отвечаю".into(),
            }
        };
        let _ = conversation.handle(now, input, ctx);
        if conversation.poll_timeout().is_some_and(|due| due <= now) {
            conversation.handle_timeout(now, ctx);
        }
        actions += conversation.drain_actions().count();
    }
    actions
}

fn throughput(c: &mut Criterion) {
    let team = team();
    let start: Timestamp = "2026-11-25T07:00:00Z".parse().expect("start");
    for (name, working_hours) in [("events_wall_clock", false), ("events_working_hours", true)] {
        let policy = policy(working_hours);
        let ctx = Context {
            policy: &policy,
            team: &team,
            channel: ChannelKind::Whatsapp,
            company_name: "Ромашка",
            contact_name: Some("Анна"),
        };
        let mut group = c.benchmark_group("engine");
        group.throughput(Throughput::Elements(EVENTS));
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || vec![Conversation::new(); CONVERSATIONS],
                |conversations| black_box(play(conversations, &ctx, start)),
                BatchSize::LargeInput,
            )
        });
        group.finish();
    }
}

criterion_group!(benches, throughput);
criterion_main!(benches);
