//! Notification texts in both languages.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use replyline_notify::render::{
    Lang, NotificationText, NotificationView, format_duration, render_notification,
    render_notification_in,
};

fn view(reason: &str) -> NotificationView {
    NotificationView {
        reason: reason.into(),
        contact_name: Some("Анна".into()),
        contact_address: "+79001234567".into(),
        channel_name: "WhatsApp".into(),
        employee_name: Some("Иван Петров".into()),
        wait_started_at: "2025-11-25T09:00:00Z".parse::<Timestamp>().unwrap(),
        waited_seconds: 12 * 60,
        conversation_url: Some("https://inbox.example.com/c/42".into()),
        text: None,
    }
}

#[test]
fn russian_first_message() {
    let t = render_notification(Lang::Ru, &view("first_message"));
    assert_eq!(
        t,
        NotificationText {
            subject: "Клиент Анна ждёт ответа 12 мин".into(),
            text: "Клиент Анна (+79001234567) ждёт ответа 12 мин (первое сообщение).\n\
                   Канал: WhatsApp.\n\
                   Ответственный: Иван Петров.\n\
                   Ждёт с 25.11.2025 09:00 UTC.\n\
                   Открыть чат: https://inbox.example.com/c/42"
                .into(),
        }
    );
    assert_eq!(Lang::default(), Lang::Ru);
}

#[test]
fn english_first_message() {
    let t = render_notification(Lang::En, &view("first_message"));
    assert_eq!(t.subject, "Client Анна waiting for a reply for 12 min");
    assert_eq!(
        t.text,
        "Client Анна (+79001234567) has been waiting for a reply for 12 min (first message).\n\
         Channel: WhatsApp.\n\
         Responsible: Иван Петров.\n\
         Waiting since 2025-11-25 09:00 UTC.\n\
         Open the chat: https://inbox.example.com/c/42"
    );
}

#[test]
fn next_and_escalated_reasons() {
    let ru = render_notification(Lang::Ru, &view("next_message"));
    assert!(ru.text.contains("(повторное обращение)"), "{}", ru.text);
    let ru = render_notification(Lang::Ru, &view("first_message_escalated"));
    assert!(ru.text.starts_with("Эскалация. Клиент Анна"), "{}", ru.text);
    assert!(
        ru.subject.starts_with("Эскалация: клиент Анна"),
        "{}",
        ru.subject
    );
    let en = render_notification(Lang::En, &view("next_message_escalated"));
    assert!(
        en.text.starts_with("Escalation. Client Анна"),
        "{}",
        en.text
    );
    assert!(en.text.contains("(follow-up message)"), "{}", en.text);
    assert!(
        en.subject.starts_with("Escalation: client"),
        "{}",
        en.subject
    );
    let unknown = render_notification(Lang::En, &view("something_new"));
    assert!(
        unknown.text.contains("(unanswered message)"),
        "{}",
        unknown.text
    );
}

#[test]
fn missing_name_employee_and_url() {
    let mut v = view("first_message");
    v.contact_name = None;
    v.employee_name = None;
    v.conversation_url = None;
    v.waited_seconds = 3 * 3600 + 5 * 60;
    let ru = render_notification(Lang::Ru, &v);
    assert_eq!(ru.subject, "Клиент +79001234567 ждёт ответа 3 ч 5 мин");
    assert!(
        ru.text.contains("Ответственный не назначен."),
        "{}",
        ru.text
    );
    assert!(!ru.text.contains("Открыть чат"), "{}", ru.text);
    let en = render_notification(Lang::En, &v);
    assert!(
        en.text
            .starts_with("Client +79001234567 has been waiting for a reply for 3 h 5 min")
    );
    assert!(en.text.contains("No one is assigned."), "{}", en.text);
}

#[test]
fn user_supplied_names_cannot_break_lines() {
    let mut v = view("first_message");
    v.contact_name = Some("Анна\r\nBcc: evil@example.com".into());
    let t = render_notification(Lang::Ru, &v);
    assert!(!t.subject.contains('\n') && !t.subject.contains('\r'));
    assert_eq!(t.text.lines().count(), 5);
    assert!(t.subject.contains("Анна Bcc: evil@example.com"));
}

#[test]
fn wait_start_in_a_time_zone() {
    let tz = TimeZone::get("Europe/Moscow").unwrap();
    let t = render_notification_in(Lang::Ru, &view("first_message"), &tz);
    assert!(
        t.text.contains("Ждёт с 25.11.2025 12:00 Europe/Moscow."),
        "{}",
        t.text
    );
}

#[test]
fn durations() {
    assert_eq!(format_duration(Lang::Ru, 45), "45 сек");
    assert_eq!(format_duration(Lang::Ru, 60), "1 мин");
    assert_eq!(format_duration(Lang::Ru, 3600), "1 ч");
    assert_eq!(
        format_duration(Lang::Ru, 2 * 86_400 + 3 * 3600 + 59),
        "2 дн. 3 ч"
    );
    assert_eq!(format_duration(Lang::En, 12 * 60 + 30), "12 min");
    assert_eq!(format_duration(Lang::En, 86_400), "1 d");
    assert_eq!(format_duration(Lang::En, -5), "0 s");
}

#[test]
fn lang_parsing() {
    assert_eq!("ru".parse::<Lang>().unwrap(), Lang::Ru);
    assert_eq!("EN".parse::<Lang>().unwrap(), Lang::En);
    assert_eq!("en-US".parse::<Lang>().unwrap(), Lang::En);
    assert_eq!("ru_RU".parse::<Lang>().unwrap(), Lang::Ru);
    assert!("de".parse::<Lang>().is_err());
    assert_eq!(serde_json::to_string(&Lang::En).unwrap(), "\"en\"");
}

#[test]
fn the_rules_text_is_the_subject_and_first_line() {
    let mut v = view("first_message");
    v.text = Some("Клиент Анна ждёт первого ответа 12 мин.\r\nОтветственный: Иван Петров.".into());
    for lang in [Lang::Ru, Lang::En] {
        let t = render_notification(lang, &v);
        assert_eq!(
            t.subject,
            "Клиент Анна ждёт первого ответа 12 мин. Ответственный: Иван Петров."
        );
        assert!(
            t.text.starts_with(
                "Клиент Анна ждёт первого ответа 12 мин.\r\nОтветственный: Иван Петров.\n\n"
            ),
            "{}",
            t.text
        );
        let generated = render_notification(lang, &view("first_message")).text;
        assert!(t.text.ends_with(&generated), "{}", t.text);
    }
    v.text = Some("д".repeat(500));
    let t = render_notification(Lang::Ru, &v);
    assert_eq!(
        t.subject.chars().count(),
        201,
        "200 characters and an ellipsis"
    );
    v.text = Some("   ".into());
    assert_eq!(
        render_notification(Lang::Ru, &v),
        render_notification(Lang::Ru, &view("first_message"))
    );
}

#[test]
fn mention_in_both_languages() {
    let mut n = view("mention");
    n.text = Some("Иван Петров: @Мария посмотрите, пожалуйста".into());
    let ru = render_notification(Lang::Ru, &n);
    assert_eq!(ru.subject, "Вас упомянули в чате с клиентом Анна");
    assert_eq!(
        ru.text,
        "Иван Петров: @Мария посмотрите, пожалуйста\n\
         Чат с клиентом Анна.\n\
         Канал: WhatsApp.\n\
         Открыть чат: https://inbox.example.com/c/42"
    );
    n.contact_name = None;
    let en = render_notification(Lang::En, &n);
    assert_eq!(
        en.subject,
        "You were mentioned in the chat with +79001234567"
    );
    assert!(en.text.starts_with("Иван Петров: @Мария"), "{}", en.text);
    assert!(!en.text.contains("waiting"), "{}", en.text);
}
