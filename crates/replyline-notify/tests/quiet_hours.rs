//! Quiet hours: windows across midnight, DST transitions, validation.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use replyline_notify::{ConfigError, QuietHours};

/// The instant of a local wall-clock time in `tz` (earlier one on folds).
fn local(tz: &str, datetime: &str) -> Timestamp {
    let dt: jiff::civil::DateTime = datetime.parse().unwrap();
    TimeZone::get(tz)
        .unwrap()
        .to_ambiguous_timestamp(dt)
        .earlier()
        .unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn window_across_midnight() {
    let q = QuietHours::new("22:00", "08:00", "Europe/Moscow").unwrap();
    let at = |s: &str| local("Europe/Moscow", s);
    assert!(!q.is_quiet(at("2025-11-25T21:59:59")));
    assert!(q.is_quiet(at("2025-11-25T22:00")));
    assert!(q.is_quiet(at("2025-11-25T23:59")));
    assert!(q.is_quiet(at("2025-11-26T00:00")));
    assert!(q.is_quiet(at("2025-11-26T07:59:59")));
    assert!(!q.is_quiet(at("2025-11-26T08:00")));
    assert!(!q.is_quiet(at("2025-11-26T12:00")));

    assert_eq!(
        q.next_allowed(at("2025-11-25T23:00")),
        at("2025-11-26T08:00")
    );
    assert_eq!(
        q.next_allowed(at("2025-11-26T03:00")),
        at("2025-11-26T08:00")
    );
    assert_eq!(
        q.next_allowed(at("2025-12-31T22:30")),
        at("2026-01-01T08:00")
    );
    let free = at("2025-11-26T12:34");
    assert_eq!(q.next_allowed(free), free);
    // 22:00 Moscow is 19:00 UTC: the zone is applied, not UTC.
    assert!(q.is_quiet(ts("2025-11-25T19:00:00Z")));
    assert!(!q.is_quiet(ts("2025-11-25T18:59:00Z")));
}

#[test]
fn window_within_a_day() {
    let q = QuietHours::new("13:00", "14:30", "UTC").unwrap();
    assert!(!q.is_quiet(ts("2025-11-25T12:59:59Z")));
    assert!(q.is_quiet(ts("2025-11-25T13:00:00Z")));
    assert!(!q.is_quiet(ts("2025-11-25T14:30:00Z")));
    assert_eq!(
        q.next_allowed(ts("2025-11-25T13:10:00Z")),
        ts("2025-11-25T14:30:00Z")
    );
    assert!(!q.is_quiet(ts("2025-11-25T23:00:00Z")));
}

#[test]
fn night_window_over_spring_forward() {
    // New York, 2025-03-09: 02:00 EST jumps to 03:00 EDT. The night is an hour
    // shorter, and 08:00 local is 12:00 UTC (not 13:00 as the evening before).
    let q = QuietHours::new("22:00", "08:00", "America/New_York").unwrap();
    let evening = ts("2025-03-09T03:00:00Z"); // 22:00 EST on March 8
    assert!(q.is_quiet(evening));
    assert_eq!(q.next_allowed(evening), ts("2025-03-09T12:00:00Z"));
    assert!(!q.is_quiet(ts("2025-03-09T12:00:00Z")));
    assert!(q.is_quiet(ts("2025-03-09T11:59:00Z")));
}

#[test]
fn end_inside_the_spring_gap() {
    // Berlin, 2025-03-30: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist,
    // so quiet time ends at the jump (01:00 UTC).
    let q = QuietHours::new("23:00", "02:30", "Europe/Berlin").unwrap();
    let at = ts("2025-03-30T00:30:00Z"); // 01:30 CET
    assert!(q.is_quiet(at));
    let next = q.next_allowed(at);
    assert_eq!(next, ts("2025-03-30T01:00:00Z"));
    assert!(!q.is_quiet(next));
}

#[test]
fn end_inside_the_autumn_fold() {
    // Berlin, 2025-10-26: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
    let q = QuietHours::new("22:00", "02:30", "Europe/Berlin").unwrap();
    let before = ts("2025-10-25T23:00:00Z"); // 01:00 CEST
    assert!(q.is_quiet(before));
    assert_eq!(q.next_allowed(before), ts("2025-10-26T00:30:00Z")); // first 02:30 (CEST)
    assert!(!q.is_quiet(ts("2025-10-26T00:30:00Z")));
    // After the fold the wall clock reads 02:10 again: quiet until the second 02:30.
    let after = ts("2025-10-26T01:10:00Z"); // 02:10 CET
    assert!(q.is_quiet(after));
    assert_eq!(q.next_allowed(after), ts("2025-10-26T01:30:00Z"));
}

#[test]
fn validation_errors_are_clear() {
    let msg = |r: Result<QuietHours, ConfigError>| r.unwrap_err().to_string();
    let m = msg(QuietHours::new("25:00", "08:00", "UTC"));
    assert!(
        m.contains("start") && m.contains("HH:MM") && m.contains("25:00"),
        "{m}"
    );
    let m = msg(QuietHours::new("22:00", "8", "UTC"));
    assert!(m.contains("end") && m.contains("\"8\""), "{m}");
    assert!(QuietHours::new("22:00", "08:60", "UTC").is_err());
    assert!(QuietHours::new("22:0", "08:00", "UTC").is_err());
    assert!(QuietHours::new("-1:00", "08:00", "UTC").is_err());
    let m = msg(QuietHours::new("22:00", "22:00", "UTC"));
    assert!(m.contains("empty"), "{m}");
    let m = msg(QuietHours::new("22:00", "08:00", "Mars/Olympus"));
    assert!(m.contains("timezone") && m.contains("Mars/Olympus"), "{m}");
    assert!(QuietHours::new("7:05", "9:00", "UTC").is_ok());
}

#[test]
fn serde_round_trip_validates() {
    let q: QuietHours =
        serde_json::from_str(r#"{"start":"22:00","end":"08:00","timezone":"Europe/Moscow"}"#)
            .unwrap();
    assert_eq!(
        serde_json::to_value(&q).unwrap(),
        serde_json::json!({"start":"22:00","end":"08:00","timezone":"Europe/Moscow"})
    );
    assert_eq!(q.timezone(), "Europe/Moscow");
    let err = serde_json::from_str::<QuietHours>(
        r#"{"start":"22:00","end":"08:00","timezone":"Nowhere"}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("Nowhere"), "{err}");
}
