//! Quiet hours per employee: a daily local-time window (possibly spanning
//! midnight) in an IANA time zone during which notifications are held back.

use crate::ConfigError;
use jiff::Timestamp;
use jiff::civil::{DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use serde::{Deserialize, Serialize};

/// Quiet hours as configured: `{"start": "22:00", "end": "08:00", "timezone": "Europe/Moscow"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHoursConfig {
    /// Local `HH:MM` at which quiet time starts (inclusive).
    pub start: String,
    /// Local `HH:MM` at which quiet time ends (exclusive).
    pub end: String,
    /// IANA time zone name.
    pub timezone: String,
}

/// Validated quiet hours: `[start, end)` every day in `timezone`; when
/// `start > end` the window spans midnight (`22:00`–`08:00`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "QuietHoursConfig", into = "QuietHoursConfig")]
pub struct QuietHours {
    start: Time,
    end: Time,
    timezone: String,
    tz: TimeZone,
}

impl TryFrom<QuietHoursConfig> for QuietHours {
    type Error = ConfigError;

    fn try_from(c: QuietHoursConfig) -> Result<Self, Self::Error> {
        QuietHours::new(&c.start, &c.end, &c.timezone)
    }
}

impl From<QuietHours> for QuietHoursConfig {
    fn from(q: QuietHours) -> Self {
        q.config()
    }
}

fn parse_hhmm(field: &str, value: &str) -> Result<Time, ConfigError> {
    let bad = || {
        ConfigError::QuietHours(format!(
            "{field}: expected a local time HH:MM such as \"22:00\", got {value:?}"
        ))
    };
    let (h, m) = value.trim().split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: i8 = h.parse().map_err(|_| bad())?;
    let m: i8 = m.parse().map_err(|_| bad())?;
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

impl QuietHours {
    /// Validates `start`/`end` (`HH:MM`, 00:00–23:59, different from each
    /// other) and `timezone` (IANA name such as `Europe/Moscow`).
    pub fn new(start: &str, end: &str, timezone: &str) -> Result<Self, ConfigError> {
        let start_t = parse_hhmm("start", start)?;
        let end_t = parse_hhmm("end", end)?;
        if start_t == end_t {
            return Err(ConfigError::QuietHours(format!(
                "start and end are both {start:?}; the window would be empty (omit quiet hours to disable them)"
            )));
        }
        let name = timezone.trim();
        let tz = TimeZone::get(name).map_err(|_| {
            ConfigError::QuietHours(format!(
                "timezone: unknown IANA time zone {timezone:?} (e.g. \"Europe/Moscow\")"
            ))
        })?;
        Ok(Self {
            start: start_t,
            end: end_t,
            timezone: name.to_owned(),
            tz,
        })
    }

    /// Back to the configuration form (`HH:MM` strings).
    pub fn config(&self) -> QuietHoursConfig {
        QuietHoursConfig {
            start: self.start.strftime("%H:%M").to_string(),
            end: self.end.strftime("%H:%M").to_string(),
            timezone: self.timezone.clone(),
        }
    }

    /// The time zone name.
    pub fn timezone(&self) -> &str {
        &self.timezone
    }

    fn spans_midnight(&self) -> bool {
        self.start > self.end
    }

    fn local_time_is_quiet(&self, t: Time) -> bool {
        if self.spans_midnight() {
            t >= self.start || t < self.end
        } else {
            t >= self.start && t < self.end
        }
    }

    /// Whether `at` falls into quiet time (by the local wall clock).
    pub fn is_quiet(&self, at: Timestamp) -> bool {
        self.local_time_is_quiet(self.tz.to_datetime(at).time())
    }

    /// `at` itself when it is not quiet, otherwise the first instant at which
    /// quiet time is over (local `end` on the right day). If `end` does not
    /// exist that day (DST gap) the window ends when the clocks jump; if it
    /// occurs twice (DST fold), at its first occurrence after `at`.
    pub fn next_allowed(&self, at: Timestamp) -> Timestamp {
        let local = self.tz.to_datetime(at);
        if !self.local_time_is_quiet(local.time()) {
            return at;
        }
        let mut date = local.date();
        if self.spans_midnight() && local.time() >= self.start {
            date = date.tomorrow().unwrap_or(date);
        }
        let end = DateTime::from_parts(date, self.end);
        let ambiguous = self.tz.to_ambiguous_timestamp(end);
        let mut candidates = Vec::with_capacity(3);
        if matches!(ambiguous.offset(), AmbiguousOffset::Gap { .. }) {
            // `end` is skipped: quiet time is over when the clocks jump.
            if let Some(transition) = self.tz.following(at).next() {
                candidates.push(transition.timestamp());
            }
        }
        candidates.extend(ambiguous.earlier().ok());
        candidates.extend(ambiguous.later().ok());
        candidates.sort();
        candidates
            .iter()
            .copied()
            .find(|t| *t > at && !self.is_quiet(*t))
            .or_else(|| candidates.iter().copied().find(|t| *t > at))
            .unwrap_or(at)
    }
}
