//! The outbox worker: the only sender of outgoing messages, with retries and backoff.
//!
//! Rows are claimed (marked in flight in a transaction) before sending, so a
//! row is never sent twice; a crash mid-send leaves it in flight, and startup
//! records it as "delivery unknown" instead of resending (unless its file
//! was not uploaded yet: then nothing went out and it is sent again).
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
use crate::live::LiveEvent;
use crate::media::MediaStore;
use crate::metrics::Metrics;
use crate::send_rate::SendRates;
use replyline_engine::{Template, TemplateRef, Var, Vars};
use replyline_store::{
    Attachment, Channel, HealthChange, Id, OutboxJob, OutboxOutcome, SendHealth, SentTemplate,
    Store,
};
use replyline_whatsapp::{ErrorClass, GraphClient, OutgoingBody, OutgoingMessage, SendError};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

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
    finished: mpsc::UnboundedReceiver<Finished>,
}

/// A send's outcome on its way to the group commit, with who waits for it.
type Finished = (Id, OutboxOutcome, oneshot::Sender<bool>);

/// What the send tasks share.
struct Sender {
    store: Arc<dyn Store>,
    clock: Clock,
    metrics: Arc<Metrics>,
    graph: GraphClient,
    /// The same HTTP client, for media uploads.
    http: replyline_whatsapp::reqwest::Client,
    live: crate::live::LiveHub,
    /// Where outbound attachments' bytes are.
    media: MediaStore,
    /// `{company_name}` in a fallback template's parameters.
    company_name: Option<String>,
    /// Outcomes to record: every outcome that arrives while one transaction
    /// runs goes into the next (see [`record_outcomes`]).
    finish: mpsc::UnboundedSender<Finished>,
    /// Channels whose stored health is known to be "no failures": a success
    /// there needs no write (a failure forgets the channel first).
    healthy: std::sync::Mutex<std::collections::HashSet<Id>>,
}

impl OutboxWorker {
    /// Publishes `message.status` live events after each recorded outcome.
    #[must_use]
    pub fn with_live(mut self, live: crate::live::LiveHub) -> Self {
        self.sender.live = live;
        self
    }

    /// The company name a fallback template's `{company_name}` renders as.
    #[must_use]
    pub fn with_company_name(mut self, name: impl Into<String>) -> Self {
        self.sender.company_name = Some(name.into());
        self
    }
}

/// Creates the worker and its handle.
pub fn outbox(
    store: Arc<dyn Store>,
    clock: Clock,
    metrics: Arc<Metrics>,
    media: MediaStore,
) -> (OutboxWorker, OutboxHandle) {
    let (handle, signals) = crate::worker::channel();
    let (finish, finished) = mpsc::unbounded_channel();
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
            graph: GraphClient::new(http.clone()),
            http,
            live: crate::live::LiveHub::new(),
            media,
            company_name: None,
            finish,
            healthy: std::sync::Mutex::default(),
        },
        wake: signals.wake,
        drain: signals.drain,
        finished,
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
            finished,
        } = self;
        tokio::spawn(record_outcomes(
            finished,
            sender.store.clone(),
            sender.clock.clone(),
        ));
        let sender = Arc::new(sender);
        sender.recover().await;
        let mut sends = JoinSet::new();
        let mut rates = SendRates::default();
        loop {
            // Every finished send frees its slot before the next claim, so
            // sends finishing together are replaced in one claim.
            while let Some(done) = sends.try_join_next() {
                log_join(done);
            }
            let claimed = sender.claim(&mut sends, &mut rates).await;
            let wait = match claimed {
                Err(()) => Some(Duration::from_secs(1)),
                Ok(()) => sender.next_wait(sends.len(), &rates).await,
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
                        drain_all(&sender, &mut sends, &mut rates).await;
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

/// Outcomes recorded per transaction at most.
const FINISH_BATCH: usize = 256;

/// Records send outcomes in group commits, retrying while the store fails:
/// the rows stay in flight meanwhile (never sent again; a crash leaves them
/// "unknown").
async fn record_outcomes(
    mut finished: mpsc::UnboundedReceiver<Finished>,
    store: Arc<dyn Store>,
    clock: Clock,
) {
    while let Some(first) = finished.recv().await {
        let mut batch = vec![first];
        while batch.len() < FINISH_BATCH
            && let Ok(next) = finished.try_recv()
        {
            batch.push(next);
        }
        let outcomes: Vec<(Id, OutboxOutcome)> = batch
            .iter()
            .map(|(id, outcome, _)| (*id, outcome.clone()))
            .collect();
        let mut delay = FINISH_RETRY_FIRST;
        let found = loop {
            match store.finish_outbox_many(&outcomes, clock.now()).await {
                Ok(found) => break found,
                Err(err) => {
                    tracing::error!(%err, rows = outcomes.len(), retry_in_ms = delay.as_millis() as u64,
                        "recording send outcomes failed; retrying (the messages are not sent again)");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(FINISH_RETRY_MAX);
                }
            }
        };
        for ((outbox_id, _, reply), found) in batch.into_iter().zip(found) {
            if !found {
                tracing::error!(outbox = outbox_id, "the sent outbox row is gone");
            }
            let _ = reply.send(found);
        }
    }
}

/// Sends everything due now and waits for every send in flight (a channel
/// at its rate limit is waited for).
async fn drain_all(sender: &Arc<Sender>, sends: &mut JoinSet<()>, rates: &mut SendRates) {
    loop {
        // A failed claim is logged; what is in flight is still awaited.
        let _ = sender.claim(sends, rates).await;
        if let Some(done) = sends.join_next().await {
            log_join(done);
            continue;
        }
        // Nothing in flight: a channel at its limit may still hold due rows.
        let Some(opening) = rates.next_opening(Instant::now()) else {
            return;
        };
        match sender.store.next_outbox_at(&[]).await {
            Ok(Some(at)) if at <= sender.clock.now() => tokio::time::sleep_until(opening).await,
            _ => return,
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

    /// Claims due rows into free send slots, one task per row, as far as
    /// their channels' rate limits allow.
    async fn claim(
        self: &Arc<Self>,
        sends: &mut JoinSet<()>,
        rates: &mut SendRates,
    ) -> Result<(), ()> {
        loop {
            let free = MAX_IN_FLIGHT.saturating_sub(sends.len());
            if free == 0 {
                return Ok(());
            }
            let limit = CLAIM_BATCH.min(i64::try_from(free).unwrap_or(CLAIM_BATCH));
            let mut gate = rates.gate(Instant::now());
            let claimed = self
                .store
                .claim_outbox(self.clock.now(), limit, &mut gate)
                .await;
            let jobs = match claimed {
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
    /// to wait for a wake-up (or for a send in flight to finish). Rows of a
    /// channel at its rate limit wait for the channel's next free slot.
    async fn next_wait(&self, in_flight: usize, rates: &SendRates) -> Option<Duration> {
        let now = Instant::now();
        let opening = rates.next_opening(now).map(|at| at.duration_since(now));
        let due = match self.store.next_outbox_at(&rates.closed(now)).await {
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
        };
        due.into_iter().chain(opening).min()
    }

    /// Sends one claimed row and records its outcome.
    async fn send_one(self: Arc<Self>, job: OutboxJob) {
        let Attempt { outcome, health } = self.attempt(&job).await;
        let label = match &outcome {
            OutboxOutcome::Sent { .. } => "sent",
            OutboxOutcome::Retry { .. } => "retry",
            OutboxOutcome::Failed { .. } => "failed",
            OutboxOutcome::Unknown { .. } => "unknown",
            OutboxOutcome::Skipped { .. } => "skipped",
        };
        self.metrics.outbound(label);
        let finished = self.finish(job.id, outcome).await;
        if let Some(health) = &health {
            self.record_health(&job, health).await;
        }
        if finished
            && self.live.has_subscribers()
            && let Ok(Some(message)) = self.store.message(job.message.id).await
        {
            self.live
                .publish(crate::driver::message_status_event(&message));
        }
    }

    /// Records a send's outcome (with the others finishing meanwhile, in one
    /// transaction); false when the row is gone.
    async fn finish(&self, outbox_id: Id, outcome: OutboxOutcome) -> bool {
        let (reply, recorded) = oneshot::channel();
        if self.finish.send((outbox_id, outcome, reply)).is_err() {
            return false;
        }
        recorded.await.unwrap_or(false)
    }

    async fn attempt(&self, job: &OutboxJob) -> Attempt {
        let body = match self.body_of(job).await {
            Ok(body) => body,
            Err(not_sent) => return not_sent,
        };
        match self.send(job, body).await {
            Ok(provider_id) => Attempt::sent(provider_id, None),
            Err(err) => self.on_error(job, err).await,
        }
    }

    /// What to send for the message: its template, its attachment (uploaded
    /// first when it has no provider id yet) or its text.
    async fn body_of(&self, job: &OutboxJob) -> Result<OutgoingBody, Attempt> {
        let m = &job.message;
        if let (Some(name), Some(language)) = (&m.template, &m.template_language) {
            return Ok(OutgoingBody::Template {
                parameter_names: self.parameter_names(job, name, language).await,
                name: name.clone(),
                language: language.clone(),
                parameters: payload_parameters(m.payload.as_ref()),
            });
        }
        if let Some(attachment) = m.attachments.iter().find(|a| a.direction == "out") {
            return self.media_body(job, attachment).await;
        }
        Ok(OutgoingBody::Text {
            body: m.text.clone().unwrap_or_default(),
        })
    }

    /// An attachment's message: uploaded first unless a previous attempt did.
    async fn media_body(
        &self,
        job: &OutboxJob,
        attachment: &Attachment,
    ) -> Result<OutgoingBody, Attempt> {
        let media_id = match &attachment.provider_media_id {
            Some(id) => id.clone(),
            None => self
                .upload(job, attachment)
                .await
                .map_err(|err| self.upload_failed(job, &err))?,
        };
        let caption = job.message.text.clone().filter(|t| !t.is_empty());
        Ok(OutgoingBody::Media {
            kind: attachment.kind.clone(),
            media_id,
            caption,
            filename: attachment.file_name.clone(),
        })
    }

    /// Uploads the attachment's stored bytes and records the id it got.
    async fn upload(&self, job: &OutboxJob, attachment: &Attachment) -> Result<String, SendError> {
        let stored = |message: String| SendError {
            class: ErrorClass::Transient,
            code: None,
            message,
            retry_after: None,
        };
        let key = attachment.storage_key.as_deref().ok_or_else(|| SendError {
            class: ErrorClass::Permanent,
            ..stored("the attachment was never stored".into())
        })?;
        let bytes = self
            .media
            .get(key)
            .await
            .map_err(|e| stored(format!("reading the file failed: {e}")))?;
        let cfg = WhatsappConfig::of(&job.channel);
        let mime_type = attachment
            .mime_type
            .as_deref()
            .unwrap_or("application/octet-stream");
        let file_name = attachment.file_name.as_deref().unwrap_or("file");
        let media_id = replyline_whatsapp::media::upload(
            &self.http,
            cfg.base_url(),
            cfg.version(),
            &cfg.phone_number_id,
            &cfg.access_token,
            bytes,
            mime_type,
            file_name,
        )
        .await?;
        // Recorded before the send: a crash after it leaves a send in doubt,
        // one before it a file to upload again (nothing was sent).
        self.store
            .set_attachment_provider_media(attachment.id, &media_id)
            .await
            .map_err(|e| stored(format!("recording the uploaded media id failed: {e}")))?;
        Ok(media_id)
    }

    /// An upload that failed: nothing was sent, so even an unknown outcome is retried.
    fn upload_failed(&self, job: &OutboxJob, err: &SendError) -> Attempt {
        tracing::warn!(message = job.message.id, class = %err.class, error = %err.message, "upload failed");
        let retryable = SendError {
            class: match err.class {
                ErrorClass::Ambiguous | ErrorClass::PairRateLimit => ErrorClass::Transient,
                ErrorClass::WindowClosed => ErrorClass::Permanent,
                other => other,
            },
            ..err.clone()
        };
        Attempt {
            outcome: self.outcome_of(job, &retryable),
            health: health_of(&retryable),
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

    async fn on_error(&self, job: &OutboxJob, err: SendError) -> Attempt {
        tracing::warn!(message = job.message.id, class = %err.class, error = %err.message, "send failed");
        if err.class == ErrorClass::WindowClosed {
            return self.template_fallback(job).await;
        }
        if matches!(err.class, ErrorClass::Auth | ErrorClass::Account) {
            self.halt_channel(job, &err).await;
        }
        Attempt {
            outcome: self.outcome_of(job, &err),
            health: health_of(&err),
        }
    }

    /// What a failed attempt (other than 131047) does to the message.
    fn outcome_of(&self, job: &OutboxJob, err: &SendError) -> OutboxOutcome {
        let now = self.clock.now();
        match err.class {
            ErrorClass::Transient | ErrorClass::PairRateLimit if job.attempts >= MAX_ATTEMPTS => {
                OutboxOutcome::Failed {
                    error: format!("gave up after {} attempts: {}", job.attempts, describe(err)),
                }
            }
            ErrorClass::Transient => {
                let wait = err
                    .retry_after
                    .map_or(transient_backoff(job.attempts), |d| d.as_secs().max(1));
                OutboxOutcome::Retry {
                    at: after(now, wait),
                    error: describe(err),
                }
            }
            ErrorClass::PairRateLimit => OutboxOutcome::Retry {
                at: after(now, pair_backoff(job.attempts)),
                error: describe(err),
            },
            ErrorClass::Ambiguous => OutboxOutcome::Unknown {
                error: DELIVERY_UNKNOWN.into(),
            },
            ErrorClass::WindowClosed
            | ErrorClass::Permanent
            | ErrorClass::Auth
            | ErrorClass::Account => OutboxOutcome::Failed {
                error: describe(err),
            },
        }
    }

    /// An auth or account error stops the channel's sending until it is fixed.
    async fn halt_channel(&self, job: &OutboxJob, err: &SendError) {
        let status = if err.class == ErrorClass::Auth {
            "auth_failed"
        } else {
            "account_problem"
        };
        if let Err(e) = self
            .store
            .set_channel_status(job.channel.id, status, Some(&describe(err)))
            .await
        {
            tracing::error!(%e, "flagging the channel failed");
        }
        tracing::error!(
            channel = job.channel.id,
            status,
            "channel halted: sending stopped until it is fixed"
        );
    }

    /// 131047: an automatic message goes out as its configured template (its
    /// parameters rendered like the engine's fallback); otherwise it is skipped.
    async fn template_fallback(&self, job: &OutboxJob) -> Attempt {
        let skipped = Attempt {
            outcome: OutboxOutcome::Skipped {
                reason: "outside_24h_window".into(),
            },
            health: None,
        };
        if job.message.kind == "employee" || job.message.template.is_some() {
            return skipped;
        }
        let Some(template) = template_for(job) else {
            return skipped;
        };
        let vars = self.fallback_vars(job).await;
        let sent = SentTemplate {
            parameters: render_parameters(&template.parameters, &vars.as_vars()),
            name: template.name,
            language: template.language,
        };
        let body = OutgoingBody::Template {
            parameter_names: self.parameter_names(job, &sent.name, &sent.language).await,
            name: sent.name.clone(),
            language: sent.language.clone(),
            parameters: sent.parameters.clone(),
        };
        match self.send(job, body).await {
            Ok(provider_id) => Attempt::sent(provider_id, Some(sent)),
            Err(err) => Attempt {
                outcome: OutboxOutcome::Failed {
                    error: describe(&err),
                },
                health: health_of(&err),
            },
        }
    }

    /// The names a template's parameters are sent with, from the channel's
    /// cached copy: empty when they are numbered or the template is not cached
    /// (then they go by position, as numbered ones do).
    async fn parameter_names(&self, job: &OutboxJob, name: &str, language: &str) -> Vec<String> {
        match self.store.template(job.channel.id, name, language).await {
            Ok(Some(cached)) => replyline_whatsapp::templates::parameter_names(&cached.preview),
            Ok(None) => Vec::new(),
            Err(err) => {
                tracing::warn!(%err, template = name, "reading the cached template failed; parameters go by position");
                Vec::new()
            }
        }
    }

    /// The automatic messages' variables for this job's conversation.
    async fn fallback_vars(&self, job: &OutboxJob) -> FallbackVars {
        let assignee = match self.store.conversation(job.message.conversation_id).await {
            Ok(Some(record)) => record.assignee_id,
            _ => None,
        };
        let employee_name = match assignee {
            Some(id) => self.store.employee(id).await.ok().flatten().map(|e| {
                e.display_name
                    .filter(|name| !name.is_empty())
                    .unwrap_or(e.name)
            }),
            None => None,
        };
        FallbackVars {
            client_name: job.contact_name.clone(),
            employee_name,
            company_name: self.company_name.clone(),
        }
    }

    /// Records the attempt in the channel's health; tells the workspace when an outage starts or ends.
    async fn record_health(&self, job: &OutboxJob, health: &SendHealth) {
        let channel = job.channel.id;
        {
            let mut healthy = self
                .healthy
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match health {
                SendHealth::Ok if healthy.contains(&channel) => return,
                SendHealth::Ok => {}
                SendHealth::Failed { .. } => {
                    healthy.remove(&channel);
                }
            }
        }
        let change = self
            .store
            .record_send(
                job.channel.id,
                job.message.conversation_id,
                health,
                self.clock.now(),
            )
            .await;
        if change.is_ok() && matches!(health, SendHealth::Ok) {
            self.healthy
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(channel);
        }
        match change {
            Ok(HealthChange::None) => {}
            Ok(change) => self.publish_health(job, &change, health).await,
            Err(err) => {
                tracing::error!(%err, channel = job.channel.id, "recording the channel's health failed")
            }
        }
    }

    async fn publish_health(&self, job: &OutboxJob, change: &HealthChange, health: &SendHealth) {
        match change {
            HealthChange::OutageStarted { .. } => {
                tracing::error!(
                    channel = job.channel.id,
                    "channel outage: sends keep failing"
                )
            }
            HealthChange::OutageEnded => {
                tracing::info!(channel = job.channel.id, "channel outage ended")
            }
            HealthChange::None => {}
        }
        if !self.live.has_subscribers() {
            return;
        }
        if let (HealthChange::OutageStarted { notified }, SendHealth::Failed { error, .. }) =
            (change, health)
        {
            for &admin in notified {
                self.live
                    .publish(failing_notification_event(job, admin, error));
            }
        }
        if let Ok(Some(channel)) = self.store.channel(job.channel.id).await {
            self.live.publish(channel_updated_event(&channel));
        }
    }
}

/// The error of a send whose outcome is unknown.
const DELIVERY_UNKNOWN: &str = "delivery unknown";

/// One attempt: what happens to the message, and what it says about the channel.
struct Attempt {
    outcome: OutboxOutcome,
    /// `None` when the attempt says nothing about the channel (e.g. a
    /// recipient's own problem).
    health: Option<SendHealth>,
}

impl Attempt {
    fn sent(provider_id: String, template: Option<SentTemplate>) -> Self {
        Self {
            outcome: OutboxOutcome::Sent {
                provider_id,
                template,
            },
            health: Some(SendHealth::Ok),
        }
    }
}

/// Whether a failure counts against the channel: the provider unreachable or
/// failing (transient, unknown outcome) counts, auth and account errors halt
/// it at once; a problem of one recipient or message does not count.
fn health_of(err: &SendError) -> Option<SendHealth> {
    let halting = match err.class {
        ErrorClass::Transient | ErrorClass::Ambiguous => false,
        ErrorClass::Auth | ErrorClass::Account => true,
        ErrorClass::PairRateLimit | ErrorClass::WindowClosed | ErrorClass::Permanent => {
            return None;
        }
    };
    Some(SendHealth::Failed {
        error: describe(err),
        halting,
    })
}

/// `{"template":{"parameters":[..]}}` of a template message's payload.
fn payload_parameters(payload: Option<&Value>) -> Vec<String> {
    payload
        .and_then(|p| p["template"]["parameters"].as_array())
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The owned values of the automatic messages' variables.
struct FallbackVars {
    client_name: Option<String>,
    employee_name: Option<String>,
    company_name: Option<String>,
}

impl FallbackVars {
    fn as_vars(&self) -> Vars<'_> {
        Vars {
            client_name: self.client_name.as_deref(),
            employee_name: self.employee_name.as_deref(),
            company_name: self.company_name.as_deref(),
            text: None,
            waited_minutes: None,
        }
    }
}

/// The variables a fallback template's parameters may use (those of the automatic messages).
const FALLBACK_VARS: &[Var] = &[Var::ClientName, Var::EmployeeName, Var::CompanyName];

/// Renders each parameter like the engine does (one that does not parse goes as written).
fn render_parameters(parameters: &[String], vars: &Vars<'_>) -> Vec<String> {
    parameters
        .iter()
        .map(|p| Template::parse(p, FALLBACK_VARS).map_or_else(|_| p.clone(), |t| t.render(vars)))
        .collect()
}

/// The template configured for an automatic message's kind.
fn template_for(job: &OutboxJob) -> Option<TemplateRef> {
    let policy = channel_policy(&job.channel).ok()?;
    let s = policy.settings();
    let template = match job.message.kind.as_str() {
        "greeting" => s.greeting.template.as_ref(),
        "no_reply" => s.no_reply.template.as_ref(),
        "closing" => s.closing.template.as_ref(),
        "out_of_hours" => s.out_of_hours.template.as_ref(),
        _ => None,
    }?;
    Some(template.clone())
}

/// `channel.updated`: the channel's sending health changed.
pub fn channel_updated_event(channel: &Channel) -> LiveEvent {
    LiveEvent {
        kind: "channel.updated",
        conversation_id: None,
        channel_id: Some(channel.id),
        assignee_id: None,
        manager_id: None,
        data: json!({
            "id": channel.id.to_string(),
            "name": channel.name,
            "status": channel.status,
            "status_reason": channel.status_reason,
            "failing_since": channel.failing_since.map(|t| t.to_string()),
            "failing_error": channel.failing_error,
        }),
    }
}

fn failing_notification_event(job: &OutboxJob, admin: Id, error: &str) -> LiveEvent {
    LiveEvent {
        kind: "notification.created",
        conversation_id: Some(job.message.conversation_id),
        channel_id: Some(job.channel.id),
        assignee_id: None,
        manager_id: Some(admin),
        data: json!({
            "conversation_id": job.message.conversation_id.to_string(),
            "manager_id": admin.to_string(),
            "employee_id": null,
            "reason": replyline_store::CHANNEL_FAILING,
            "text": replyline_store::failing_text(&job.channel.name, error),
        }),
    }
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
