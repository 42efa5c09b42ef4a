//! The service clock: the only place that reads the wall clock.
//!
//! Every instant it hands out is a whole millisecond, the precision the store
//! keeps, so a deadline computed from `now` and stored compares equal to the
//! clock when it falls due (one time precision end to end).

use jiff::{SignedDuration, Timestamp};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// System time, or a manual clock that only moves when advanced.
#[derive(Clone, Debug)]
pub enum Clock {
    System,
    Manual(Arc<Mutex<Timestamp>>),
}

impl Clock {
    /// A manual clock starting at `start` (default: the real time now), to the millisecond.
    pub fn manual(start: Option<Timestamp>) -> Self {
        let start = whole_millisecond(start.unwrap_or_else(Timestamp::now));
        Self::Manual(Arc::new(Mutex::new(start)))
    }

    /// The current time, to the millisecond.
    pub fn now(&self) -> Timestamp {
        match self {
            Self::System => whole_millisecond(Timestamp::now()),
            Self::Manual(now) => *now.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// True for the manual clock.
    pub fn is_manual(&self) -> bool {
        matches!(self, Self::Manual(_))
    }

    /// Moves a manual clock forward; `None` for the system clock.
    pub fn advance(&self, seconds: u64) -> Option<Timestamp> {
        let Self::Manual(now) = self else { return None };
        let mut now = now.lock().unwrap_or_else(|e| e.into_inner());
        let step = SignedDuration::from_secs(i64::try_from(seconds).unwrap_or(i64::MAX));
        *now = now.checked_add(step).unwrap_or(Timestamp::MAX);
        Some(*now)
    }

    /// Sets a manual clock to `at` if that is later than now; `None` for the system clock.
    pub fn advance_to(&self, at: Timestamp) -> Option<Timestamp> {
        let Self::Manual(now) = self else { return None };
        let mut now = now.lock().unwrap_or_else(|e| e.into_inner());
        *now = (*now).max(whole_millisecond(at));
        Some(*now)
    }

    /// How long to sleep until `at` on this clock; `None` means "wait to be woken"
    /// (the manual clock moves only when advanced).
    pub fn sleep_for(&self, at: Timestamp) -> Option<Duration> {
        match self {
            Self::System => {
                let left = at.duration_since(Timestamp::now());
                Some(Duration::try_from(left).unwrap_or(Duration::ZERO))
            }
            Self::Manual(_) => None,
        }
    }
}

/// `at` without its sub-millisecond part.
pub fn whole_millisecond(at: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(at.as_millisecond()).unwrap_or(at)
}

/// `seconds` after `at`.
pub fn after(at: Timestamp, seconds: u64) -> Timestamp {
    at.checked_add(SignedDuration::from_secs(
        i64::try_from(seconds).unwrap_or(i64::MAX),
    ))
    .unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_whole_milliseconds() {
        let start: Timestamp = "2026-11-25T10:00:00.123456789Z".parse().unwrap();
        let clock = Clock::manual(Some(start));
        assert_eq!(clock.now().to_string(), "2026-11-25T10:00:00.123Z");
        assert_eq!(
            clock.advance(300).unwrap().to_string(),
            "2026-11-25T10:05:00.123Z"
        );
        let system = Clock::System.now();
        assert_eq!(system, whole_millisecond(system));
        assert_eq!(Clock::manual(None).now().subsec_nanosecond() % 1_000_000, 0);
    }

    #[test]
    fn a_manual_clock_never_goes_back() {
        let clock = Clock::manual(Some("2026-11-25T10:00:00Z".parse().unwrap()));
        clock.advance_to("2026-11-25T09:00:00Z".parse().unwrap());
        assert_eq!(clock.now().to_string(), "2026-11-25T10:00:00Z");
    }
}
