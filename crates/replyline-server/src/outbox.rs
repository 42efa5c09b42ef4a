//! The outbox worker: the only sender of outgoing messages, with retries and backoff.
//!
//! Rows are claimed (marked in flight in a transaction) before sending, so a
//! row is never sent twice; a crash mid-send leaves it in flight, and startup
//! records it as "delivery unknown" instead of resending.
//!
//! Every claimed row is sent by its own task and finished as soon as its
//! answer arrives, so a send that hangs (up to the client timeout) holds back
//! only its own recipient: the claim takes a recipient's oldest unfinished
//! row only, so one message per recipient is in flight and each recipient's
//! messages keep their order. An outcome that cannot be recorded (a full
//! disk) is retried until it is; the message is never sent again for it.

use crate::channel::WhatsappConfig;
use crate::clock::{Clock, after};
use crate::driver::channel_policy;
use crate::metrics::Metrics;
use replyline_store::{Id, OutboxJob, OutboxOutcome, Store, StoreError};
use replyline_whatsapp::{ErrorClass, GraphClient, OutgoingBody, OutgoingMessage, SendError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinSet;

/// Give up after this many attempts.
const MAX_ATTEMPTS: i64 = 10;
/// The longest backoff.
const MAX_BACKOFF_SECONDS: u64 = 600;
/// Rows claimed per round.
const CLAIM_BATCH: i64 = 16;
/// Sends in flight at most (each to a different recipient).
const MAX_IN_FLIGHT: usize = 64;
/// The first wait before recording an outcome again after the store failed.
const FINISH_RETRY_FIRST: Duration = Duration::from_millis(250);
/// The longest wait between attempts at recording an outcome.
const FINISH_RETRY_MAX: Duration = Duration::from_secs(30);

/// Wakes the worker or asks it to drain due rows.
pub type OutboxHandle = crate::worker::WorkerHandle;

/// The worker task's state.
pub struct OutboxWorker {
    sender: Sender,
    wake: Arc<Notify>,
    drain: mpsc::Receiver<oneshot::Sender<()>>,
}

/// What the send tasks share.
struct Sender {
    store: Arc<dyn Store>,
    clock: Clock,
    metrics: Arc<Metrics>,
    graph: GraphClient,
    live: crate::live::LiveHub,
}

impl OutboxWorker {
    /// Publishes `message.status` live events after each recorded outcome.
    #[must_use]
    pub fn with_live(mut self, live: crate::live::LiveHub) -> Self {
        self.sender.live = live;
        self
    }
}

/// Creates the worker and its handle.
pub fn outbox(
    store: Arc<dyn Store>,
    clock: Clock,
    metrics: Arc<Metrics>,
) -> (OutboxWorker, OutboxHandle) {
    let (handle, signals) = crate::worker::channel();
    let http = replyline_whatsapp::reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap_or_default();
    let worker = OutboxWorker {
        sender: Sender {
            store,
            clock,
            metrics,
            graph: GraphClient::new(http),
            live: crate::live::LiveHub::new(),
        },
        wake: signals.wake,
        drain: signals.drain,
    };
    (worker, handle)
}

/// Exponential backoff for transient errors: 2 s · 2^(n-1), at most 10 minutes.
fn transient_backoff(attempts: i64) -> u64 {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    2u64.saturating_mul(2u64.saturating_pow(exp))
        .min(MAX_BACKOFF_SECONDS)
}

/// Backoff for the per-recipient pair rate limit: 4^n seconds, at most 10 minutes.
fn pair_backoff(attempts: i64) -> u64 {
    let exp = u32::try_from(attempts.clamp(1, 20)).unwrap_or(1);
    4u64.saturating_pow(exp).min(MAX_BACKOFF_SECONDS)
}

fn describe(err: &SendError) -> String {
    match err.code {
        Some(code) => format!("{} (code {code})", err.message),
        None => err.message.clone(),
    }
}

impl OutboxWorker {
    /// Runs until the handle is dropped.
    pub async fn run(self) {
        let Self {
            sender,
            wake,
            mut drain,
        } = self;
        let sender = Arc::new(sender);
        sender.recover().await;
        let mut sends = JoinSet::new();
        loop {
            let claimed = sender.claim(&mut sends).await;
            let wait = match claimed {
                Err(()) => Some(Duration::from_secs(1)),
                Ok(()) => sender.next_wait(sends.len()).await,
            };
            if wait == Some(Duration::ZERO) {
                continue;
            }
            let sleep = async {
                match wait {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                Some(done) = sends.join_next(), if !sends.is_empty() => log_join(done),
                () = wake.notified() => {}
                () = sleep => {}
                reply = drain.recv() => match reply {
                    Some(reply) => {
                        drain_all(&sender, &mut sends).await;
                        let _ = reply.send(());
                    }
                    None => {
                        // Shutting down: let the sends in flight finish on their own.
                        sends.detach_all();
                        return;
                    }
                },
            }
        }
    }
}

/// Sends everything due now and waits for every send in flight.
async fn drain_all(sender: &Arc<Sender>, sends: &mut JoinSet<()>) {
    loop {
        // A failed claim is logged; what is in flight is still awaited.
        let _ = sender.claim(sends).await;
        match sends.join_next().await {
            Some(done) => log_join(done),
            None => return,
        }
    }
}

fn log_join(done: Result<(), tokio::task::JoinError>) {
    if let Err(err) = done {
        tracing::error!(%err, "an outbox send task failed");
    }
}

impl Sender {
    /// Rows left in flight by a crash: their outcome is unknown, never resent.
    async fn recover(&self) {
        match self.store.recover_inflight(self.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                rows = n,
                "outbox rows were in flight at shutdown; marked failed (delivery unknown)"
            ),
            Err(err) => tracing::error!(%err, "outbox recovery failed"),
        }
    }

    /// Claims due rows into free send slots, one task per row.
    async fn claim(self: &Arc<Self>, sends: &mut JoinSet<()>) -> Result<(), ()> {
        loop {
            let free = MAX_IN_FLIGHT.saturating_sub(sends.len());
            if free == 0 {
                return Ok(());
            }
            let limit = CLAIM_BATCH.min(i64::try_from(free).unwrap_or(CLAIM_BATCH));
            let jobs = match self.store.claim_outbox(self.clock.now(), limit).await {
                Ok(jobs) => jobs,
                Err(err) => {
                    tracing::error!(%err, "outbox claim failed");
                    return Err(());
                }
            };
            if jobs.is_empty() {
                return Ok(());
            }
            for job in jobs {
                sends.spawn(self.clone().send_one(job));
            }
        }
    }

    /// How long to wait for the next due row: zero to claim again now, `None`
    /// to wait for a wake-up (or for a send in flight to finish).
    async fn next_wait(&self, in_flight: usize) -> Option<Duration> {
        match self.store.next_outbox_at().await {
            Ok(Some(at)) if at <= self.clock.now() => {
                // Due, but every slot is taken: a finishing send wakes us.
                (in_flight < MAX_IN_FLIGHT).then_some(Duration::ZERO)
            }
            Ok(Some(at)) => self
                .clock
                .sleep_for(at)
                .map(|d| d.max(Duration::from_millis(1))),
            Ok(None) => None,
            Err(err) => {
                tracing::error!(%err, "outbox query failed");
                Some(Duration::from_secs(1))
            }
        }
    }

    /// Sends one claimed row and records its outcome.
    async fn send_one(self: Arc<Self>, job: OutboxJob) {
        let outcome = self.attempt(&job).await;
        let label = match &outcome {
            OutboxOutcome::Sent { .. } => "sent",
            OutboxOutcome::Retry { .. } => "retry",
            OutboxOutcome::Failed { .. } => "failed",
            OutboxOutcome::Skipped { .. } => "skipped",
        };
        self.metrics.outbound(label);
        if self.finish(job.id, outcome).await
            && self.live.has_subscribers()
            && let Ok(Some(message)) = self.store.message(job.message.id).await
        {
            self.live
                .publish(crate::driver::message_status_event(&message));
        }
    }

    /// Records a send's outcome, retrying while the store fails: the row stays
    /// in flight meanwhile (never sent again; a crash leaves it "unknown").
    async fn finish(&self, outbox_id: Id, outcome: OutboxOutcome) -> bool {
        let mut delay = FINISH_RETRY_FIRST;
        loop {
            match self
                .store
                .finish_outbox(outbox_id, outcome.clone(), self.clock.now())
                .await
            {
                Ok(()) => return true,
                Err(StoreError::NotFound) => {
                    tracing::error!(outbox = outbox_id, "the sent outbox row is gone");
                    return false;
                }
                Err(err) => {
                    tracing::error!(%err, outbox = outbox_id, retry_in_ms = delay.as_millis() as u64,
                        "recording the send outcome failed; retrying (the message is not sent again)");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(FINISH_RETRY_MAX);
                }
            }
        }
    }

    async fn attempt(&self, job: &OutboxJob) -> OutboxOutcome {
        let m = &job.message;
        let body = match (&m.template, &m.template_language) {
            (Some(name), Some(language)) => OutgoingBody::Template {
                name: name.clone(),
                language: language.clone(),
            },
            _ => OutgoingBody::Text {
                body: m.text.clone().unwrap_or_default(),
            },
        };
        match self.send(job, body).await {
            Ok(provider_id) => OutboxOutcome::Sent {
                provider_id,
                template: None,
            },
            Err(err) => self.on_error(job, err).await,
        }
    }

    async fn send(&self, job: &OutboxJob, body: OutgoingBody) -> Result<String, SendError> {
        let cfg = WhatsappConfig::of(&job.channel);
        let msg = OutgoingMessage {
            to: job.contact_address.clone(),
            callback_data: Some(job.message.id.to_string()),
            body,
        };
        let sent = self
            .graph
            .send(
                cfg.base_url(),
                cfg.version(),
                &cfg.phone_number_id,
                &cfg.access_token,
                &msg,
            )
            .await?;
        Ok(sent.provider_id)
    }

    async fn on_error(&self, job: &OutboxJob, err: SendError) -> OutboxOutcome {
        let now = self.clock.now();
        tracing::warn!(message = job.message.id, class = %err.class, error = %err.message, "send failed");
        match err.class {
            ErrorClass::Transient | ErrorClass::PairRateLimit if job.attempts >= MAX_ATTEMPTS => {
                OutboxOutcome::Failed {
                    error: format!(
                        "gave up after {} attempts: {}",
                        job.attempts,
                        describe(&err)
                    ),
                }
            }
            ErrorClass::Transient => {
                let wait = err
                    .retry_after
                    .map_or(transient_backoff(job.attempts), |d| d.as_secs().max(1));
                OutboxOutcome::Retry {
                    at: after(now, wait),
                    error: describe(&err),
                }
            }
            ErrorClass::PairRateLimit => OutboxOutcome::Retry {
                at: after(now, pair_backoff(job.attempts)),
                error: describe(&err),
            },
            ErrorClass::WindowClosed => self.template_fallback(job).await,
            ErrorClass::Permanent => OutboxOutcome::Failed {
                error: describe(&err),
            },
            ErrorClass::Auth | ErrorClass::Account => {
                let status = if err.class == ErrorClass::Auth {
                    "auth_failed"
                } else {
                    "account_problem"
                };
                if let Err(e) = self
                    .store
                    .set_channel_status(job.channel.id, status, Some(&describe(&err)))
                    .await
                {
                    tracing::error!(%e, "flagging the channel failed");
                }
                tracing::error!(
                    channel = job.channel.id,
                    status,
                    "channel halted: sending stopped until it is fixed"
                );
                OutboxOutcome::Failed {
                    error: describe(&err),
                }
            }
            ErrorClass::Ambiguous => OutboxOutcome::Failed {
                error: "delivery unknown (timeout)".into(),
            },
        }
    }

    /// 131047: an automatic message goes out as its configured template; otherwise it is skipped.
    async fn template_fallback(&self, job: &OutboxJob) -> OutboxOutcome {
        let skipped = OutboxOutcome::Skipped {
            reason: "outside_24h_window".into(),
        };
        if job.message.kind == "employee" || job.message.template.is_some() {
            return skipped;
        }
        let Some((name, language)) = template_for(job) else {
            return skipped;
        };
        let body = OutgoingBody::Template {
            name: name.clone(),
            language: language.clone(),
        };
        match self.send(job, body).await {
            Ok(provider_id) => OutboxOutcome::Sent {
                provider_id,
                template: Some((name, language)),
            },
            Err(err) => OutboxOutcome::Failed {
                error: describe(&err),
            },
        }
    }
}

/// The template configured for an automatic message's kind.
fn template_for(job: &OutboxJob) -> Option<(String, String)> {
    let policy = channel_policy(&job.channel).ok()?;
    let s = policy.settings();
    let template = match job.message.kind.as_str() {
        "greeting" => s.greeting.template.as_ref(),
        "no_reply" => s.no_reply.template.as_ref(),
        "closing" => s.closing.template.as_ref(),
        "out_of_hours" => s.out_of_hours.template.as_ref(),
        _ => None,
    }?;
    Some((template.name.clone(), template.language.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(transient_backoff(1), 2);
        assert_eq!(transient_backoff(2), 4);
        assert_eq!(transient_backoff(5), 32);
        assert_eq!(transient_backoff(30), MAX_BACKOFF_SECONDS);
        assert_eq!(pair_backoff(1), 4);
        assert_eq!(pair_backoff(2), 16);
        assert_eq!(pair_backoff(9), MAX_BACKOFF_SECONDS);
    }
}
