//! Delivery outcome and retry schedule shared by all senders.

use std::time::Duration;

/// How many attempts a delivery gets in total (the first one included)
/// before it is marked as failed for good.
pub const MAX_ATTEMPTS: u32 = 10;

/// Delay after the first failed attempt.
pub const BASE_DELAY: Duration = Duration::from_secs(5);

/// Upper bound of the delay between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(3600);

/// Why a delivery attempt failed and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// `true` for transient failures (network, timeouts, 5xx, 429, SMTP 4xx);
    /// `false` when retrying cannot succeed (bad address, blocked bot, 4xx).
    pub retryable: bool,
    /// Human-readable cause, safe to store and show (never contains secrets).
    pub message: String,
    /// A delay requested by the remote side (Telegram `retry_after`,
    /// `Retry-After`), to be honoured instead of a shorter backoff.
    pub retry_after: Option<Duration>,
}

impl DeliveryError {
    /// A transient failure.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A failure that retrying cannot fix.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Sets the delay requested by the remote side.
    #[must_use]
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }
}

/// Delay before the next attempt after failed attempt number `attempt`
/// (0-based): 5 s · 2^attempt, capped at one hour. Deterministic (no jitter):
/// 5 s, 10 s, 20 s, 40 s, 80 s, 160 s, 320 s, 640 s, 1280 s, 2560 s, 3600 s, …
pub fn backoff(attempt: u32) -> Duration {
    let factor = 1u64.checked_shl(attempt.min(63)).unwrap_or(u64::MAX);
    let secs = BASE_DELAY.as_secs().saturating_mul(factor);
    Duration::from_secs(secs).min(MAX_DELAY)
}

/// What to do after failed attempt number `attempt` (0-based): `Some(delay)`
/// to retry after `delay` (the larger of [`backoff`] and the remote
/// `retry_after`, capped at [`MAX_DELAY`]), `None` to give up because the error
/// is permanent or the attempts are exhausted.
pub fn next_retry(attempt: u32, error: &DeliveryError) -> Option<Duration> {
    if !error.retryable || attempt.saturating_add(1) >= MAX_ATTEMPTS {
        return None;
    }
    let delay = backoff(attempt);
    Some(match error.retry_after {
        Some(asked) => delay.max(asked).min(MAX_DELAY),
        None => delay,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(0), Duration::from_secs(5));
        assert_eq!(backoff(1), Duration::from_secs(10));
        assert_eq!(backoff(4), Duration::from_secs(80));
        assert_eq!(backoff(9), Duration::from_secs(2560));
        assert_eq!(backoff(10), MAX_DELAY);
        assert_eq!(backoff(63), MAX_DELAY);
        assert_eq!(backoff(u32::MAX), MAX_DELAY);
        for n in 0..70 {
            assert!(backoff(n) <= backoff(n + 1));
        }
    }

    #[test]
    fn next_retry_respects_kind_limit_and_retry_after() {
        let transient = DeliveryError::retryable("boom");
        assert_eq!(next_retry(0, &transient), Some(Duration::from_secs(5)));
        assert_eq!(
            next_retry(MAX_ATTEMPTS - 2, &transient),
            Some(backoff(MAX_ATTEMPTS - 2))
        );
        assert_eq!(next_retry(MAX_ATTEMPTS - 1, &transient), None);
        assert_eq!(next_retry(0, &DeliveryError::permanent("no")), None);
        let slow = DeliveryError::retryable("429").with_retry_after(Some(Duration::from_secs(42)));
        assert_eq!(next_retry(0, &slow), Some(Duration::from_secs(42)));
        assert_eq!(next_retry(5, &slow), Some(Duration::from_secs(160)));
        let huge =
            DeliveryError::retryable("429").with_retry_after(Some(Duration::from_secs(99_999)));
        assert_eq!(next_retry(0, &huge), Some(MAX_DELAY));
    }
}
