//! The service clock: the only place that reads the wall clock.

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
    /// A manual clock starting at `start` (default: the real time now).
    pub fn manual(start: Option<Timestamp>) -> Self {
        Self::Manual(Arc::new(Mutex::new(start.unwrap_or_else(Timestamp::now))))
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        match self {
            Self::System => Timestamp::now(),
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
        *now = (*now).max(at);
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

/// `seconds` after `at`.
pub fn after(at: Timestamp, seconds: u64) -> Timestamp {
    at.checked_add(SignedDuration::from_secs(
        i64::try_from(seconds).unwrap_or(i64::MAX),
    ))
    .unwrap_or(Timestamp::MAX)
}
