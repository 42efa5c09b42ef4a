//! The media worker: downloads the files of clients' messages into the media store.
//!
//! The driver stores an inbound media message with a `pending` attachment in
//! the same transaction as the message; this worker takes due pending rows a
//! batch at a time, asks the Graph API for the media id's URL, downloads the
//! bytes with the channel's token, checks the SHA-256 the provider gave, puts
//! them under `in/{conversation_id}/{attachment_id}` and marks the row
//! `stored`. Transient failures are tried again with backoff (2^n s, at most
//! 10 minutes) up to [`MAX_ATTEMPTS`]; a failure that cannot heal (an unknown or
//! expired media id) marks the row `failed` at once. Each final outcome
//! publishes `message.status` for the message. Time comes from the server
//! [`Clock`], so a manual clock's advance drives the retries in tests.

use crate::channel::WhatsappConfig;
use crate::clock::{Clock, after};
use crate::live::LiveHub;
use crate::media::MediaStore;
use crate::worker::WorkerHandle;
use replyline_store::{Attachment, Store, StoredFile};
use replyline_whatsapp::media::{download, media_info, sha256_matches};
use replyline_whatsapp::{ErrorClass, SendError};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};

/// A download is given up after this many attempts.
pub const MAX_ATTEMPTS: i64 = 8;
/// The longest wait between attempts.
const MAX_BACKOFF_SECONDS: u64 = 600;
/// The largest file taken (WhatsApp's own limit for documents).
pub const MAX_BYTES: u64 = 100 * 1024 * 1024;
/// Rows taken per round; they download concurrently.
const CLAIM_BATCH: i64 = 4;
/// How often the worker looks for due rows nobody woke it for.
const POLL: Duration = Duration::from_secs(1);

/// Wakes the worker or asks it to drain due downloads.
pub type MediaWorkerHandle = WorkerHandle;

/// The worker task's state.
pub struct MediaWorker {
    store: Arc<dyn Store>,
    clock: Clock,
    media: MediaStore,
    live: LiveHub,
    http: replyline_whatsapp::reqwest::Client,
    wake: Arc<Notify>,
    drain: mpsc::Receiver<oneshot::Sender<()>>,
}

/// Creates the worker and its handle; run it with [`MediaWorker::run`].
pub fn media_worker(
    store: Arc<dyn Store>,
    clock: Clock,
    media: MediaStore,
    live: LiveHub,
) -> (MediaWorker, MediaWorkerHandle) {
    let (handle, signals) = crate::worker::channel();
    let http = replyline_whatsapp::reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap_or_default();
    let worker = MediaWorker {
        store,
        clock,
        media,
        live,
        http,
        wake: signals.wake,
        drain: signals.drain,
    };
    (worker, handle)
}

/// The wait after the `attempts`-th failed attempt: 2^n seconds, at most 10 minutes.
fn backoff(attempts: i64) -> u64 {
    let exp = u32::try_from(attempts.clamp(1, 20)).unwrap_or(1);
    2u64.saturating_pow(exp).min(MAX_BACKOFF_SECONDS)
}

/// The media store key of an inbound attachment.
pub fn inbound_key(attachment: &Attachment) -> String {
    format!("in/{}/{}", attachment.conversation_id, attachment.id)
}

/// `message (code N)`, as the outbox writes provider errors.
fn describe(err: &SendError) -> String {
    match err.code {
        Some(code) => format!("{} (code {code})", err.message),
        None => err.message.clone(),
    }
}

fn transient(message: String) -> SendError {
    SendError {
        class: ErrorClass::Transient,
        code: None,
        message,
        retry_after: None,
    }
}

fn permanent(message: String) -> SendError {
    SendError {
        class: ErrorClass::Permanent,
        ..transient(message)
    }
}

impl MediaWorker {
    /// Runs until the handle is dropped.
    pub async fn run(mut self) {
        loop {
            self.download_due().await;
            let wait = match self.store.next_download_at().await {
                Ok(Some(at)) if at <= self.clock.now() => continue,
                Ok(Some(at)) => self.clock.sleep_for(at).map(|d| d.min(POLL)),
                Ok(None) => None,
                Err(err) => {
                    tracing::error!(%err, "media download query failed");
                    None
                }
            };
            let sleep = wait.unwrap_or(POLL).max(Duration::from_millis(1));
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
                reply = self.drain.recv() => match reply {
                    Some(reply) => {
                        self.download_due().await;
                        let _ = reply.send(());
                    }
                    None => return,
                },
            }
        }
    }

    /// Takes and attempts due rows until none is due.
    async fn download_due(&self) {
        for _ in 0..1000 {
            let rows = match self
                .store
                .due_downloads(self.clock.now(), CLAIM_BATCH)
                .await
            {
                Ok(rows) => rows,
                Err(err) => {
                    tracing::error!(%err, "media download claim failed");
                    return;
                }
            };
            if rows.is_empty() {
                return;
            }
            futures_util::future::join_all(rows.iter().map(|a| self.process(a))).await;
        }
    }

    /// One attempt at one row, its outcome recorded (and published when final).
    async fn process(&self, attachment: &Attachment) {
        let outcome = self.fetch(attachment).await;
        let now = self.clock.now();
        let (recorded, last) = match outcome {
            Ok(file) => (
                self.store
                    .attachment_stored(attachment.id, &file, now)
                    .await,
                true,
            ),
            Err(err) => {
                let attempts = attachment.attempts + 1;
                let give_up = err.class == ErrorClass::Permanent || attempts >= MAX_ATTEMPTS;
                let reason = if give_up && err.class != ErrorClass::Permanent {
                    format!("gave up after {attempts} attempts: {}", describe(&err))
                } else {
                    describe(&err)
                };
                tracing::warn!(attachment = attachment.id, attempts, class = %err.class,
                    error = %reason, give_up, "media download failed");
                let retry_at = (!give_up).then(|| after(now, backoff(attempts)));
                (
                    self.store
                        .attachment_attempt_failed(attachment.id, &reason, retry_at, now)
                        .await,
                    give_up,
                )
            }
        };
        if let Err(err) = recorded {
            tracing::error!(%err, attachment = attachment.id, "recording a media download failed");
            return;
        }
        if last
            && self.live.has_subscribers()
            && let Ok(Some(message)) = self.store.message(attachment.message_id).await
        {
            self.live
                .publish(crate::driver::message_status_event(&message));
        }
    }

    /// Looks the media id up, downloads and checks the bytes and puts them in the media store.
    async fn fetch(&self, attachment: &Attachment) -> Result<StoredFile, SendError> {
        let media_id = attachment
            .provider_media_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| permanent("the message has no media id".into()))?;
        let channel = self
            .store
            .channel(attachment.channel_id)
            .await
            .map_err(|e| transient(format!("loading the channel: {e}")))?
            .ok_or_else(|| permanent("the channel is gone".into()))?;
        let cfg = WhatsappConfig::of(&channel);
        let info = media_info(
            &self.http,
            cfg.base_url(),
            cfg.version(),
            media_id,
            &cfg.access_token,
        )
        .await?;
        let bytes = download(&self.http, &info.url, &cfg.access_token, MAX_BYTES).await?;
        let expected = info.sha256.as_deref().or(attachment.sha256.as_deref());
        if let Some(expected) = expected.filter(|s| !s.trim().is_empty())
            && !sha256_matches(expected, &bytes)
        {
            return Err(transient(format!(
                "the downloaded file does not match its SHA-256 {expected}"
            )));
        }
        let file = StoredFile {
            storage_key: inbound_key(attachment),
            size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            mime_type: info.mime_type.filter(|m| !m.trim().is_empty()),
            sha256: hex::encode(Sha256::digest(&bytes)),
        };
        self.media
            .put(&file.storage_key, bytes)
            .await
            .map_err(|e| transient(e.to_string()))?;
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_two_seconds_to_ten_minutes() {
        let waits: Vec<u64> = (1..=11).map(backoff).collect();
        assert_eq!(
            waits,
            [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600],
            "{waits:?}"
        );
    }
}
