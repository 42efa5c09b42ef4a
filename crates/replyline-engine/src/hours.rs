//! Working hours: intervals per weekday in an IANA time zone, holidays, and
//! arithmetic that counts only working time.

use crate::settings::{ValidationError, WorkingHoursSettings};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeSet;

/// How far ahead working-time arithmetic looks before giving up (about 10 years
/// of holidays); a schedule with no working time at all gives up at once.
const MAX_DAYS_AHEAD: u32 = 3660;

/// One working interval of a day, as seconds since local midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

/// Compiled working hours, ready for time arithmetic.
#[derive(Clone, Debug)]
pub struct WorkingHours {
    tz: TimeZone,
    /// Monday = 0.
    week: [Vec<Span>; 7],
    holidays: BTreeSet<Date>,
}

impl WorkingHours {
    /// Parses and validates the settings group.
    pub fn new(settings: &WorkingHoursSettings) -> Result<Self, ValidationError> {
        let tz = TimeZone::get(&settings.timezone).map_err(|_| {
            ValidationError::new(
                "working_hours.timezone",
                format!("unknown IANA time zone {:?}", settings.timezone),
            )
        })?;
        let mut week: [Vec<Span>; 7] = Default::default();
        for (index, (day, ranges)) in settings.week.days().into_iter().enumerate() {
            week[index] = parse_day(day, ranges)?;
        }
        let mut holidays = BTreeSet::new();
        for (index, holiday) in settings.holidays.iter().enumerate() {
            let date: Date = holiday.parse().map_err(|_| {
                ValidationError::new(
                    format!("working_hours.holidays[{index}]"),
                    format!("expected a date YYYY-MM-DD, got {holiday:?}"),
                )
            })?;
            holidays.insert(date);
        }
        Ok(Self { tz, week, holidays })
    }

    fn has_any_working_time(&self) -> bool {
        self.week.iter().any(|day| !day.is_empty())
    }

    /// The working intervals of a local date as instants (none on holidays).
    fn intervals_on(&self, date: Date) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
        let spans: &[Span] = if self.holidays.contains(&date) {
            &[]
        } else {
            &self.week[date.weekday().to_monday_zero_offset() as usize]
        };
        spans.iter().filter_map(move |span| {
            let start = self.local_instant(date, span.start)?;
            let end = self.local_instant(date, span.end)?;
            (start < end).then_some((start, end))
        })
    }

    /// The instant of `seconds` after local midnight of `date` (24:00 = next midnight).
    fn local_instant(&self, date: Date, seconds: u32) -> Option<Timestamp> {
        let (date, seconds) = if seconds >= 86_400 {
            (date.tomorrow().ok()?, seconds - 86_400)
        } else {
            (date, seconds)
        };
        let time = Time::new((seconds / 3600) as i8, (seconds / 60 % 60) as i8, 0, 0).ok()?;
        self.tz.to_timestamp(DateTime::from_parts(date, time)).ok()
    }

    fn local_date(&self, at: Timestamp) -> Date {
        self.tz.to_datetime(at).date()
    }

    /// The days from `at`'s local date onwards, bounded.
    fn days_from(&self, at: Timestamp) -> impl Iterator<Item = Date> {
        let first = self.local_date(at);
        let limit = if self.has_any_working_time() {
            MAX_DAYS_AHEAD
        } else {
            0
        };
        std::iter::successors(Some(first), |date| date.tomorrow().ok()).take(limit as usize + 1)
    }

    /// True when `at` falls inside a working interval.
    pub fn is_working(&self, at: Timestamp) -> bool {
        self.intervals_on(self.local_date(at))
            .any(|(start, end)| start <= at && at < end)
    }

    /// The first working instant at or after `at`; `None` when there is none ahead.
    ///
    /// Outside working hours this identifies the current non-working period.
    pub fn next_working_start(&self, at: Timestamp) -> Option<Timestamp> {
        self.days_from(at).find_map(|date| {
            self.intervals_on(date)
                .find(|&(_, end)| end > at)
                .map(|(start, _)| start.max(at))
        })
    }

    /// The instant when `seconds` of working time have passed since `from`;
    /// `None` when the schedule has no working time ahead.
    pub fn add_working(&self, from: Timestamp, seconds: u64) -> Option<Timestamp> {
        let mut remaining = SignedDuration::from_secs(i64::try_from(seconds).ok()?);
        for date in self.days_from(from) {
            for (start, end) in self.intervals_on(date) {
                if end <= from {
                    continue;
                }
                let begin = start.max(from);
                let available = end.duration_since(begin);
                if available >= remaining {
                    return begin.checked_add(remaining).ok();
                }
                remaining -= available;
            }
        }
        None
    }

    /// The working time between `from` and `to`, in whole seconds (0 when
    /// `to` is not after `from`); the inverse of [`Self::add_working`].
    pub fn working_seconds_between(&self, from: Timestamp, to: Timestamp) -> i64 {
        if to <= from {
            return 0;
        }
        let last = self.local_date(to);
        self.days_from(from)
            .take_while(|date| *date <= last)
            .flat_map(|date| self.intervals_on(date))
            .map(|(start, end)| overlap(start.max(from), end.min(to)))
            .sum::<SignedDuration>()
            .as_secs()
    }
}

/// The length of `[begin, end)`, zero when it is empty.
fn overlap(begin: Timestamp, end: Timestamp) -> SignedDuration {
    if end > begin {
        end.duration_since(begin)
    } else {
        SignedDuration::ZERO
    }
}

fn parse_day(day: &str, ranges: &[String]) -> Result<Vec<Span>, ValidationError> {
    let mut spans = Vec::with_capacity(ranges.len());
    for (index, range) in ranges.iter().enumerate() {
        let field = || format!("working_hours.week.{day}[{index}]");
        let span = parse_range(range).ok_or_else(|| {
            ValidationError::new(
                field(),
                format!("expected HH:MM-HH:MM with start before end, got {range:?}"),
            )
        })?;
        if spans
            .iter()
            .any(|other: &Span| span.start < other.end && other.start < span.end)
        {
            return Err(ValidationError::new(
                field(),
                format!("{range:?} overlaps another range"),
            ));
        }
        spans.push(span);
    }
    spans.sort_by_key(|span| span.start);
    Ok(spans)
}

fn parse_range(range: &str) -> Option<Span> {
    let (start, end) = range.trim().split_once('-')?;
    let span = Span {
        start: parse_clock(start.trim())?,
        end: parse_clock(end.trim())?,
    };
    (span.start < span.end).then_some(span)
}

/// Parses `HH:MM` (00:00 to 24:00) into seconds since midnight.
fn parse_clock(clock: &str) -> Option<u32> {
    let (hours, minutes) = clock.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: u32 = hours.parse().ok()?;
    let minutes: u32 = minutes.parse().ok()?;
    let valid = (hours < 24 && minutes < 60) || (hours == 24 && minutes == 0);
    valid.then_some(hours * 3600 + minutes * 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;

    fn moscow() -> WorkingHours {
        WorkingHours::new(&Settings::default().working_hours).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn friday_evening_delay_lands_on_monday() {
        let hours = moscow();
        let due = hours
            .add_working(ts("2026-11-27T17:58:00+03:00"), 300)
            .unwrap();
        assert_eq!(due, ts("2026-11-30T09:03:00+03:00"));
    }

    #[test]
    fn holidays_are_skipped() {
        let hours = moscow();
        let due = hours
            .add_working(ts("2026-12-30T17:59:00+03:00"), 120)
            .unwrap();
        assert_eq!(due, ts("2027-01-01T09:01:00+03:00"));
    }

    #[test]
    fn working_seconds_skip_the_weekend() {
        let hours = moscow();
        let friday = ts("2026-11-27T17:58:00+03:00");
        let monday = ts("2026-11-30T09:03:00+03:00");
        assert_eq!(hours.working_seconds_between(friday, monday), 300);
        let saturday = ts("2026-11-28T12:00:00+03:00");
        assert_eq!(hours.working_seconds_between(friday, saturday), 120);
        assert_eq!(hours.working_seconds_between(saturday, monday), 180);
    }

    #[test]
    fn working_seconds_skip_holidays() {
        let hours = moscow();
        let from = ts("2026-12-30T17:59:00+03:00");
        let to = ts("2027-01-01T09:01:00+03:00");
        assert_eq!(hours.working_seconds_between(from, to), 120);
        let whole_holiday = ts("2026-12-31T23:00:00+03:00");
        assert_eq!(hours.working_seconds_between(from, whole_holiday), 60);
    }

    #[test]
    fn working_seconds_within_one_day_and_reversed() {
        let hours = moscow();
        let a = ts("2026-11-25T10:00:00+03:00");
        let b = ts("2026-11-25T10:10:30+03:00");
        assert_eq!(hours.working_seconds_between(a, b), 630);
        assert_eq!(hours.working_seconds_between(b, a), 0);
        assert_eq!(hours.working_seconds_between(a, a), 0);
        let night = ts("2026-11-25T20:00:00+03:00");
        let morning = ts("2026-11-26T08:00:00+03:00");
        assert_eq!(hours.working_seconds_between(night, morning), 0);
        let week_later = ts("2026-12-02T10:00:00+03:00");
        assert_eq!(hours.working_seconds_between(a, week_later), 5 * 9 * 3600);
    }

    #[test]
    fn working_seconds_invert_add_working() {
        let hours = moscow();
        let from = ts("2026-11-27T17:40:00+03:00");
        for seconds in [1, 600, 900, 32_400, 100_000, 604_800] {
            let due = hours.add_working(from, seconds).unwrap();
            assert_eq!(hours.working_seconds_between(from, due), seconds as i64);
        }
    }

    #[test]
    fn working_and_next_start() {
        let hours = moscow();
        assert!(hours.is_working(ts("2026-11-25T10:00:00+03:00")));
        assert!(!hours.is_working(ts("2026-11-25T18:00:00+03:00")));
        assert_eq!(
            hours.next_working_start(ts("2026-11-28T12:00:00+03:00")),
            Some(ts("2026-11-30T09:00:00+03:00"))
        );
    }

    #[test]
    fn rejects_bad_ranges_and_zones() {
        let mut s = Settings::default().working_hours;
        s.week.mon = vec!["18:00-09:00".into()];
        assert_eq!(
            WorkingHours::new(&s).unwrap_err().field,
            "working_hours.week.mon[0]"
        );
        let mut s = Settings::default().working_hours;
        s.timezone = "Mars/Olympus".into();
        assert_eq!(
            WorkingHours::new(&s).unwrap_err().field,
            "working_hours.timezone"
        );
    }

    #[test]
    fn empty_week_never_schedules() {
        let mut s = Settings::default().working_hours;
        s.week.mon.clear();
        s.week.tue.clear();
        s.week.wed.clear();
        s.week.thu.clear();
        s.week.fri.clear();
        let hours = WorkingHours::new(&s).unwrap();
        assert_eq!(hours.add_working(ts("2026-11-25T10:00:00Z"), 60), None);
        assert_eq!(hours.next_working_start(ts("2026-11-25T10:00:00Z")), None);
        let later = ts("2026-12-25T10:00:00Z");
        assert_eq!(
            hours.working_seconds_between(ts("2026-11-25T10:00:00Z"), later),
            0
        );
    }
}
