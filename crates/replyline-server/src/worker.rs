//! Plumbing shared by the background workers (outbox, deliveries): a handle to
//! wake a worker or to make it process everything due before answering.

use std::sync::Arc;
use tokio::sync::{Notify, mpsc, oneshot};

/// Wakes a worker or asks it to drain due rows.
#[derive(Clone, Debug)]
pub struct WorkerHandle {
    wake: Arc<Notify>,
    drain: mpsc::Sender<oneshot::Sender<()>>,
}

impl WorkerHandle {
    /// New rows may be due.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Processes every row due now, then returns.
    pub async fn drain(&self) {
        let (reply, rx) = oneshot::channel();
        if self.drain.send(reply).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// The worker's side of a [`WorkerHandle`].
pub struct WorkerSignals {
    pub wake: Arc<Notify>,
    pub drain: mpsc::Receiver<oneshot::Sender<()>>,
}

/// A connected handle and signals.
pub fn channel() -> (WorkerHandle, WorkerSignals) {
    let wake = Arc::new(Notify::new());
    let (tx, rx) = mpsc::channel(64);
    (
        WorkerHandle {
            wake: wake.clone(),
            drain: tx,
        },
        WorkerSignals { wake, drain: rx },
    )
}
