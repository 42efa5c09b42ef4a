//! The delivery worker: takes stored notifications to people (e-mail, Telegram)
//! and CRM events to subscribed endpoints (signed webhooks), with retries.
//!
//! Delivery rows are written by the store in the same transaction as the
//! notification or the change they are about; this worker only claims due rows,
//! attempts them once per claim and records the outcome on the same row. A
//! retry is a new attempt on the same row, never a second notification. Time
//! comes from the server [`Clock`], so a manual clock drives retries in tests.

use crate::api::dto::{ConversationDto, MessageDto, NotificationDto};
use crate::clock::{Clock, after};
use crate::config::Config;
use replyline_notify::retry::next_retry;
use replyline_notify::{
    DeliveryError, EmailSender, Lang, NotificationView, QuietHours, QuietHoursConfig,
    TelegramSender, WebhookSender, render_notification,
};
use replyline_store::{Delivery, DeliveryOutcome, DeliveryTargets, Store};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};

/// Rows claimed per round.
const CLAIM_BATCH: i64 = 16;
/// How often the worker looks for rows committed by others (the driver, the outbox).
const POLL: Duration = Duration::from_millis(200);

/// The configured senders.
#[derive(Clone, Debug)]
pub struct Senders {
    pub email: Option<EmailSender>,
    pub telegram: Option<TelegramSender>,
    pub webhook: WebhookSender,
}

impl Senders {
    /// Builds senders from `smtp_url`/`smtp_from` and `telegram_bot_token`/`telegram_api_base_url`.
    pub fn from_config(config: &Config) -> Result<Self, String> {
        let http = replyline_whatsapp::reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap_or_default();
        let email = match &config.smtp_url {
            Some(url) => {
                let from = config
                    .smtp_from
                    .clone()
                    .unwrap_or_else(|| "Replyline <replyline@localhost>".into());
                Some(
                    EmailSender::with_timeout(url.expose(), &from, Duration::from_secs(15))
                        .map_err(|e| format!("smtp_url/smtp_from: {e}"))?,
                )
            }
            None => None,
        };
        let telegram = config.telegram_bot_token.as_ref().map(|token| {
            TelegramSender::new(http.clone(), &config.telegram_api_base_url, token.expose())
                .with_timeout(Duration::from_secs(15))
        });
        Ok(Self {
            email,
            telegram,
            webhook: WebhookSender::new(http),
        })
    }

    /// Which external channels new notifications get rows for.
    pub fn targets(&self) -> DeliveryTargets {
        DeliveryTargets {
            email: self.email.is_some(),
            telegram: self.telegram.is_some(),
        }
    }
}

/// Wakes the worker or asks it to drain due rows.
pub type DeliveryHandle = crate::worker::WorkerHandle;

/// The worker task's state.
pub struct DeliveryWorker {
    store: Arc<dyn Store>,
    clock: Clock,
    senders: Senders,
    public_url: String,
    wake: Arc<Notify>,
    drain: mpsc::Receiver<oneshot::Sender<()>>,
}

/// Creates the worker and its handle.
pub fn delivery(
    store: Arc<dyn Store>,
    clock: Clock,
    senders: Senders,
    public_url: String,
) -> (DeliveryWorker, DeliveryHandle) {
    let (handle, signals) = crate::worker::channel();
    let worker = DeliveryWorker {
        store,
        clock,
        senders,
        public_url,
        wake: signals.wake,
        drain: signals.drain,
    };
    (worker, handle)
}

/// The HTTP status in a `webhook: HTTP 503: ...` error.
fn response_code(err: &DeliveryError) -> Option<i64> {
    let rest = err.message.strip_prefix("webhook: HTTP ")?;
    rest.split(':').next()?.trim().parse().ok()
}

/// Validated quiet hours from stored preferences.
pub fn quiet_hours(value: &Value) -> Result<QuietHours, String> {
    let config: QuietHoursConfig =
        serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    QuietHours::try_from(config).map_err(|e| e.to_string())
}

impl DeliveryWorker {
    /// Runs until the handle is dropped.
    pub async fn run(mut self) {
        match self.store.recover_deliveries().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(rows = n, "deliveries in flight at shutdown are retried"),
            Err(err) => tracing::error!(%err, "delivery recovery failed"),
        }
        loop {
            self.send_due().await;
            let wait = match self.store.next_delivery_at().await {
                Ok(Some(at)) if at <= self.clock.now() => continue,
                Ok(Some(at)) => self.clock.sleep_for(at).map(|d| d.min(POLL)),
                Ok(None) => None,
                Err(err) => {
                    tracing::error!(%err, "delivery query failed");
                    None
                }
            };
            let sleep = wait.unwrap_or(POLL).max(Duration::from_millis(1));
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
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

    /// Claims and attempts rows until none is due.
    async fn send_due(&self) {
        for _ in 0..1000 {
            let now = self.clock.now();
            let jobs = match self.store.claim_deliveries(now, CLAIM_BATCH).await {
                Ok(jobs) => jobs,
                Err(err) => {
                    tracing::error!(%err, "delivery claim failed");
                    return;
                }
            };
            if jobs.is_empty() {
                return;
            }
            for job in jobs {
                let outcome = self.attempt(&job).await;
                if let Err(err) = self
                    .store
                    .finish_delivery(job.id, outcome, self.clock.now())
                    .await
                {
                    tracing::error!(%err, delivery = job.id, "recording a delivery outcome failed");
                }
            }
        }
    }

    async fn attempt(&self, job: &Delivery) -> DeliveryOutcome {
        let result = match job.channel.as_str() {
            "email" | "telegram" => self.notify_person(job).await,
            "webhook" => self.post_webhook(job).await,
            other => Err(Outcome::Done(DeliveryOutcome::Skipped {
                reason: format!("unknown delivery channel {other}"),
            })),
        };
        match result {
            Ok(()) => DeliveryOutcome::Sent {
                response_code: None,
            },
            Err(Outcome::Done(outcome)) => outcome,
            Err(Outcome::Error(err)) => {
                let code = response_code(&err);
                let attempt = u32::try_from(job.attempts).unwrap_or(u32::MAX);
                tracing::warn!(delivery = job.id, channel = %job.channel, error = %err.message, "delivery failed");
                match next_retry(attempt, &err) {
                    Some(delay) => DeliveryOutcome::Retry {
                        at: after(self.clock.now(), delay.as_secs().max(1)),
                        error: err.message,
                        response_code: code,
                    },
                    None => DeliveryOutcome::Failed {
                        error: err.message,
                        response_code: code,
                    },
                }
            }
        }
    }

    /// E-mail or Telegram to the notified employee, in their language, outside their quiet hours.
    async fn notify_person(&self, job: &Delivery) -> Result<(), Outcome> {
        let skip = |reason: &str| {
            Outcome::Done(DeliveryOutcome::Skipped {
                reason: reason.into(),
            })
        };
        let store_err = |e: replyline_store::StoreError| {
            Outcome::Error(DeliveryError::retryable(e.to_string()))
        };
        let notification_id = job.notification_id.ok_or_else(|| skip("no notification"))?;
        let n = self
            .store
            .notification(notification_id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| skip("notification not found"))?;
        let recipient = self
            .store
            .employee(n.manager_id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| skip("recipient not found"))?;
        let prefs = self
            .store
            .preferences(recipient.id)
            .await
            .map_err(store_err)?;
        let now = self.clock.now();
        if let Some(q) = prefs.quiet_hours.as_ref().and_then(|v| quiet_hours(v).ok()) {
            let allowed = q.next_allowed(now);
            if allowed > now {
                return Err(Outcome::Done(DeliveryOutcome::Defer { at: allowed }));
            }
        }
        let lang: Lang = prefs.language.parse().unwrap_or_default();
        let view = self.view(&n).await.map_err(store_err)?;
        let text = render_notification(lang, &view);
        match job.channel.as_str() {
            "email" => {
                let Some(sender) = &self.senders.email else {
                    return Err(skip("smtp_url is not configured"));
                };
                sender
                    .send(&recipient.email, &text.subject, &text.text)
                    .await
                    .map_err(Outcome::Error)
            }
            _ => {
                let Some(sender) = &self.senders.telegram else {
                    return Err(skip("telegram_bot_token is not configured"));
                };
                let chat = recipient
                    .telegram_chat_id
                    .as_deref()
                    .and_then(|c| c.trim().parse::<i64>().ok())
                    .ok_or_else(|| skip("no valid telegram_chat_id linked"))?;
                sender
                    .send_message(chat, &text.text, false)
                    .await
                    .map(|_| ())
                    .map_err(Outcome::Error)
            }
        }
    }

    async fn view(
        &self,
        n: &replyline_store::NotificationRecord,
    ) -> Result<NotificationView, replyline_store::StoreError> {
        let conversation = self.store.conversation(n.conversation_id).await?;
        let channel_name = match &conversation {
            Some(c) => self
                .store
                .channel(c.channel_id)
                .await?
                .map(|ch| ch.name)
                .unwrap_or_default(),
            None => String::new(),
        };
        let employee_name = match n.employee_id {
            Some(id) => self
                .store
                .employee(id)
                .await?
                .map(|e| e.display_name.unwrap_or(e.name)),
            None => None,
        };
        Ok(NotificationView {
            reason: n.reason.clone(),
            contact_name: conversation.as_ref().and_then(|c| c.contact.name.clone()),
            contact_address: conversation
                .as_ref()
                .map(|c| c.contact.address.clone())
                .unwrap_or_default(),
            channel_name,
            employee_name,
            wait_started_at: n.wait_started_at,
            waited_seconds: n.waited_seconds,
            conversation_url: Some(format!("{}/#/chat/{}", self.public_url, n.conversation_id)),
            text: n.text.clone(),
        })
    }

    /// A signed POST to a CRM endpoint; the body is frozen before the first attempt.
    async fn post_webhook(&self, job: &Delivery) -> Result<(), Outcome> {
        let store_err = |e: replyline_store::StoreError| {
            Outcome::Error(DeliveryError::retryable(e.to_string()))
        };
        let skip = |reason: &str| {
            Outcome::Done(DeliveryOutcome::Skipped {
                reason: reason.into(),
            })
        };
        let hook_id = job.webhook_id.ok_or_else(|| skip("no webhook"))?;
        let hook = self
            .store
            .webhook(hook_id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| skip("webhook deleted"))?;
        let event = job.event.clone().unwrap_or_default();
        let body = match &job.body {
            Some(body) => body.clone(),
            None => {
                let data = self.event_data(job).await.map_err(store_err)?;
                let body = json!({
                    "id": job.id.to_string(),
                    "event": event,
                    "created_at": job.created_at.to_string(),
                    "data": data,
                });
                self.store
                    .set_delivery_body(job.id, &body)
                    .await
                    .map_err(store_err)?;
                body
            }
        };
        self.senders
            .webhook
            .post(
                &hook.url,
                crate::secrets::reveal_or_unusable(
                    crate::secrets::WEBHOOK_SECRET_FIELD,
                    &hook.secret,
                )
                .as_bytes(),
                &event,
                &job.id.to_string(),
                self.clock.now().as_second(),
                &body,
            )
            .await
            .map_err(Outcome::Error)
    }

    /// The `data` of a CRM event: the API's JSON of what it is about.
    async fn event_data(&self, job: &Delivery) -> Result<Value, replyline_store::StoreError> {
        let conversation = match job.conversation_id {
            Some(id) => self.store.conversation(id).await?,
            None => None,
        };
        let conversation_json = conversation
            .map(|c| serde_json::to_value(ConversationDto::from(c)).unwrap_or(Value::Null))
            .unwrap_or(Value::Null);
        Ok(match job.event.as_deref().unwrap_or_default() {
            "message.received" | "message.sent" => {
                let message = match job.message_id {
                    Some(id) => self.store.message(id).await?,
                    None => None,
                };
                message
                    .map(|m| serde_json::to_value(MessageDto::from(m)).unwrap_or(Value::Null))
                    .unwrap_or(Value::Null)
            }
            "notification.created" => {
                let n = match job.notification_id {
                    Some(id) => self.store.notification(id).await?,
                    None => None,
                };
                let mut value = n
                    .map(|n| serde_json::to_value(NotificationDto::from(n)).unwrap_or(Value::Null))
                    .unwrap_or(Value::Null);
                if let Some(obj) = value.as_object_mut() {
                    obj.remove("deliveries");
                }
                value
            }
            "sla.breached" => {
                let extra = job.extra.clone().unwrap_or_else(|| json!({}));
                json!({
                    "conversation": conversation_json,
                    "reason": extra.get("reason"),
                    "managers": extra.get("managers"),
                    "employee_id": extra.get("employee_id"),
                    "text": extra.get("text"),
                })
            }
            _ => conversation_json,
        })
    }
}

/// Why an attempt did not succeed: a decided outcome, or a sender error to retry per policy.
enum Outcome {
    Done(DeliveryOutcome),
    Error(DeliveryError),
}

/// The API form of one delivery (`deliveries[]` of a notification, the webhook log).
pub fn delivery_json(d: &Delivery) -> Value {
    let status = if d.status == "inflight" {
        "pending"
    } else {
        d.status.as_str()
    };
    json!({
        "id": d.id.to_string(),
        "channel": d.channel,
        "event": d.event,
        "status": status,
        "attempts": d.attempts,
        "error": d.last_error,
        "response_code": d.response_code,
        "next_attempt_at": if status == "pending" { d.next_attempt_at.map(|t| t.to_string()) } else { None },
        "created_at": d.created_at.to_string(),
        "updated_at": d.updated_at.to_string(),
    })
}

/// Notification DTOs with their `deliveries` filled in.
pub async fn with_deliveries(
    store: &dyn Store,
    rows: Vec<replyline_store::NotificationRecord>,
) -> Result<Vec<NotificationDto>, replyline_store::StoreError> {
    let ids: Vec<_> = rows.iter().map(|n| n.id).collect();
    let all = store.notification_deliveries(&ids).await?;
    Ok(rows
        .into_iter()
        .map(|n| {
            let id = n.id;
            let mut dto = NotificationDto::from(n);
            dto.deliveries = all
                .iter()
                .filter(|d| d.notification_id == Some(id))
                .map(delivery_json)
                .collect();
            dto
        })
        .collect())
}
