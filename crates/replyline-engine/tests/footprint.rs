//! The per-conversation state stays small: it is what the server keeps per open chat.

use jiff::Timestamp;
use replyline_engine::{
    ChannelKind, Context, Conversation, EmployeeId, Input, Member, Policy, Role, Settings, Team,
};
use serde_json::json;

#[test]
fn conversation_state_fits_in_512_bytes() {
    let inline = std::mem::size_of::<Conversation>();
    assert!(inline <= 512, "Conversation is {inline} bytes inline");

    // A conversation in the middle of a notified wait: its only heap data is
    // the list of notified managers (ids up to 24 bytes are stored inline).
    let settings = Settings::from_partial(&json!({
        "notify_manager_first": {"enabled": true, "after_seconds": 60, "escalate_after_seconds": 60},
    }))
    .unwrap();
    let policy = Policy::new(settings, |_| true).unwrap();
    let mut team = Team::default();
    for (id, name, role, manager) in [
        ("ivan", "Иван", Role::Employee, Some("olga")),
        ("olga", "Ольга", Role::Manager, None),
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
    let ctx = Context {
        policy: &policy,
        team: &team,
        channel: ChannelKind::Telegram,
        company_name: "X",
        contact_name: None,
    };
    let start: Timestamp = "2026-11-25T07:00:00Z".parse().unwrap();
    let mut conversation = Conversation::new();
    conversation
        .handle(start, Input::ClientMessage, &ctx)
        .unwrap();
    conversation
        .handle(
            start,
            Input::Assign {
                employee: Some("ivan".into()),
            },
            &ctx,
        )
        .unwrap();
    conversation.handle_timeout(conversation.poll_timeout().unwrap(), &ctx);
    assert!(conversation.manager_notified());
    let _ = conversation.drain_actions().count();
    let heap = std::mem::size_of::<EmployeeId>(); // one notified manager
    assert!(inline + heap <= 512, "{inline} + {heap} bytes");
    eprintln!("Conversation: {inline} bytes inline + {heap} bytes heap");
}
