//! The outbox worker: the only sender of outgoing messages, with retries and backoff.
//!
//! Rows are claimed (marked in flight in a transaction) before sending, so a
//! row is never sent twice; a crash mid-send leaves it in flight, and startup
//! records it as "delivery unknown" instead of resending.

use crate::channel::WhatsappConfig;
use crate::clock::{Clock, after};
use crate::driver::channel_policy;
use crate::metrics::Metrics;
use replyline_store::{OutboxJob, OutboxOutcome, Store};
use replyline_whatsapp::{ErrorClass, GraphClient, OutgoingBody, OutgoingMessage, SendError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};

/// Give up after this many attempts.
const MAX_ATTEMPTS: i64 = 10;
/// The longest backoff.
const MAX_BACKOFF_SECONDS: u64 = 600;
/// Rows claimed per round.
const CLAIM_BATCH: i64 = 16;

/// Wakes the worker or asks it to drain due rows.
pub type OutboxHandle = crate::worker::WorkerHandle;

/// The worker task's state.
pub struct OutboxWorker {
    store: Arc<dyn Store>,
    clock: Clock,
    metrics: Arc<Metrics>,
    graph: GraphClient,
    wake: Arc<Notify>,
    drain: mpsc::Receiver<oneshot::Sender<()>>,
    live: crate::live::LiveHub,
}

impl OutboxWorker {
    /// Publishes `message.status` live events after each recorded outcome.
    #[must_use]
    pub fn with_live(mut self, live: crate::live::LiveHub) -> Self {
        self.live = live;
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
        store,
        clock,
        metrics,
        graph: GraphClient::new(http),
        wake: signals.wake,
        drain: signals.drain,
        live: crate::live::LiveHub::new(),
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

/// Splits claimed jobs into per-recipient queues, each in claim order.
fn by_recipient(jobs: Vec<OutboxJob>) -> Vec<Vec<OutboxJob>> {
    let mut queues: Vec<Vec<OutboxJob>> = Vec::new();
    for job in jobs {
        match queues.iter_mut().find(|q| {
            q[0].channel.id == job.channel.id && q[0].contact_address == job.contact_address
        }) {
            Some(queue) => queue.push(job),
            None => queues.push(vec![job]),
        }
    }
    queues
}

fn describe(err: &SendError) -> String {
    match err.code {
        Some(code) => format!("{} (code {code})", err.message),
        None => err.message.clone(),
    }
}

impl OutboxWorker {
    /// Runs until the handle is dropped.
    pub async fn run(mut self) {
        match self.store.recover_inflight(self.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                rows = n,
                "outbox rows were in flight at shutdown; marked failed (delivery unknown)"
            ),
            Err(err) => tracing::error!(%err, "outbox recovery failed"),
        }
        loop {
            self.send_due().await;
            let wait = match self.store.next_outbox_at().await {
                Ok(Some(at)) if at <= self.clock.now() => continue,
                Ok(Some(at)) => self.clock.sleep_for(at),
                Ok(None) => None,
                Err(err) => {
                    tracing::error!(%err, "outbox query failed");
                    Some(Duration::from_secs(1))
                }
            };
            let sleep = async {
                match wait {
                    Some(d) => tokio::time::sleep(d.max(Duration::from_millis(1))).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = self.wake.notified() => {}
                () = sleep => {}
                reply = self.drain.recv() => match reply {
                    Some(reply) => {
                        self.send_due().await;
                        let _ = reply.send(());
                    }
                    None => return,
                },
            }
        }
    }

    /// Claims and sends rows until none is due.
    async fn send_due(&self) {
        loop {
            let now = self.clock.now();
            let jobs = match self.store.claim_outbox(now, CLAIM_BATCH).await {
                Ok(jobs) => jobs,
                Err(err) => {
                    tracing::error!(%err, "outbox claim failed");
                    return;
                }
            };
            if jobs.is_empty() {
                return;
            }
            // Different recipients are sent concurrently; one recipient's
            // messages keep their order.
            let sends = by_recipient(jobs).into_iter().map(|queue| async move {
                for job in queue {
                    self.send_one(job).await;
                }
            });
            futures_util::future::join_all(sends).await;
        }
    }

    async fn send_one(&self, job: OutboxJob) {
        let outcome = self.attempt(&job).await;
        let label = match &outcome {
            OutboxOutcome::Sent { .. } => "sent",
            OutboxOutcome::Retry { .. } => "retry",
            OutboxOutcome::Failed { .. } => "failed",
            OutboxOutcome::Skipped { .. } => "skipped",
        };
        self.metrics.outbound(label);
        if let Err(err) = self
            .store
            .finish_outbox(job.id, outcome, self.clock.now())
            .await
        {
            tracing::error!(%err, outbox = job.id, "recording the send outcome failed");
        } else if self.live.has_subscribers()
            && let Ok(Some(message)) = self.store.message(job.message.id).await
        {
            self.live
                .publish(crate::driver::message_status_event(&message));
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
