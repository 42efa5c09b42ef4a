//! Bounded polling for asynchronous effects (outbox sends, webhook processing).

use std::future::Future;
use std::time::{Duration, Instant};

/// Default bound of a wait.
pub const WAIT: Duration = Duration::from_secs(10);
/// Pause between two polls.
pub const INTERVAL: Duration = Duration::from_millis(25);

/// Calls `probe` until it answers `Some`, at most for `timeout`; answers the value.
///
/// # Panics
/// When `probe` never answers `Some` within `timeout`; the message names `what`.
pub async fn until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(INTERVAL).await;
    }
}

/// Calls `probe` until it answers `Some` or `timeout` passes; `None` on timeout.
pub async fn within<T, F, Fut>(timeout: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

/// A short pause to let asynchronous work that should *not* happen get a chance to show up.
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}
