//! Inbox rounds: stored webhook bodies through the engine, a whole round in one transaction.
//!
//! A round reads up to [`INBOX_BATCH`] unprocessed rows, oldest first, and
//! builds one [`Commit`] for all of them: contacts, conversations (one write
//! per conversation, its messages in arrival order), timeline events,
//! notifications, outbox rows, delivery statuses and the rows' processed
//! marks. A client message enters the engine at its webhook's arrival (the
//! instant the inbox row was acknowledged), not when the round runs. A row the
//! round cannot process is found by running the rows one at a time, and only
//! that row is retried with backoff.

use super::{
    ChannelRt, Driver, DriverError, Row, STORAGE_RETRY, Step, decode, eid, event,
    is_storage_failure,
};
use jiff::Timestamp;
use replyline_engine::{Conversation, Input, Policy, Status};
use replyline_store::{
    Commit, Contact, ContactUpsert, ConversationRecord, Id, InboxItem, NewAttachment, NewMessage,
    StatusWrite, StoreError,
};
use replyline_whatsapp::{InboundMessage, StatusUpdate, Webhook};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// Inbox rows read per round, all committed in one transaction.
pub(super) const INBOX_BATCH: i64 = 256;
/// The first retry of a failed inbox row; each further failure doubles it.
const INBOX_FIRST_BACKOFF_SECONDS: u64 = 1;
/// The longest wait between attempts at a failing inbox row.
const INBOX_MAX_BACKOFF_SECONDS: u64 = 600;

/// One conversation as a round sees it: loaded once, then every message of
/// the round for it runs through the same engine.
struct Slot {
    /// `None` until the commit creates the conversation.
    id: Option<Id>,
    channel_id: Id,
    /// `None` for a contact the commit creates.
    contact_id: Option<Id>,
    contact: ContactUpsert,
    /// The name the engine's templates see: the stored one, else the profile's.
    contact_name: Option<String>,
    /// When the contact last wrote before the message being handled.
    last_inbound: Option<Timestamp>,
    engine: Conversation,
    /// What the round's messages produced so far, in order.
    step: Step,
    last_message_at: Option<Timestamp>,
    /// Whether the round wrote anything to it.
    dirty: bool,
}

/// A round of inbox rows being built into one commit.
struct Round {
    commit: Commit,
    slots: Vec<Slot>,
    /// Per channel and contact address: the slot of the contact's latest conversation.
    latest: HashMap<(Id, String), usize>,
    /// Provider message ids already stored or taken in this round.
    seen: HashSet<(Id, String)>,
    /// The round's known contacts, by channel and address (read in one query).
    contacts: HashMap<(Id, String), Contact>,
    /// Their newest conversations, by contact id (read in one query).
    records: HashMap<Id, ConversationRecord>,
    messages_in: u64,
    duplicates: u64,
}

impl Round {
    fn new(now: Timestamp) -> Self {
        Self {
            commit: Commit::new(now),
            slots: Vec::new(),
            latest: HashMap::new(),
            seen: HashSet::new(),
            contacts: HashMap::new(),
            records: HashMap::new(),
            messages_in: 0,
            duplicates: 0,
        }
    }

    fn push(&mut self, slot: Slot) -> usize {
        let key = (slot.channel_id, slot.contact.address.clone());
        self.slots.push(slot);
        let index = self.slots.len() - 1;
        self.latest.insert(key, index);
        index
    }

    /// Starts a new conversation with the contact of slot `index`.
    fn new_conversation(&mut self, index: usize) -> usize {
        let old = &self.slots[index];
        let slot = Slot {
            id: None,
            channel_id: old.channel_id,
            contact_id: old.contact_id,
            contact: old.contact.clone(),
            contact_name: old.contact_name.clone(),
            last_inbound: old.last_inbound,
            engine: Conversation::continuing(old.last_inbound),
            step: Step::new(vec![], vec![]),
            last_message_at: None,
            dirty: false,
        };
        self.push(slot)
    }

    /// The slot that takes a client message at `at`: the latest conversation
    /// unless it is closed and does not reopen.
    fn accepting(&mut self, index: usize, at: Timestamp, policy: &Policy) -> usize {
        let engine = &self.slots[index].engine;
        if engine.status() != Status::Closed || engine.accepts_client_message(at, policy) {
            index
        } else {
            self.new_conversation(index)
        }
    }
}

/// Puts a contact's newest conversation into the round (or a conversation
/// not opened yet, for a contact without one), from what the round prefetched.
fn load_slot(
    round: &mut Round,
    channel_id: Id,
    message: &InboundMessage,
) -> Result<usize, DriverError> {
    let contact = round
        .contacts
        .get(&(channel_id, message.contact_key.clone()))
        .cloned();
    let latest = contact.as_ref().and_then(|c| round.records.remove(&c.id));
    let last_inbound = contact.as_ref().and_then(|c| c.last_inbound_at);
    let (id, engine) = match latest {
        Some(record) => (Some(record.id), decode(&record.state)?),
        None => (None, Conversation::continuing(last_inbound)),
    };
    let stored_name = contact.as_ref().and_then(|c| c.name.clone());
    Ok(round.push(Slot {
        id,
        channel_id,
        contact_id: contact.as_ref().map(|c| c.id),
        contact: ContactUpsert {
            address: message.contact_key.clone(),
            name: None,
            inbound_at: last_inbound,
        },
        contact_name: stored_name.or_else(|| message.contact_name.clone()),
        last_inbound,
        engine,
        step: Step::new(vec![], vec![]),
        last_message_at: None,
        dirty: false,
    }))
}

/// A client message's instant in its conversation: its arrival, or the
/// conversation's latest input if that is later (an employee answered before
/// the message was processed), so time never runs backwards in the engine.
fn message_instant(engine: &Conversation, arrival: Timestamp) -> Timestamp {
    engine
        .last_activity_at()
        .map_or(arrival, |last| last.max(arrival))
}

/// Whether an error stops the round without counting against its rows.
fn halts(err: &DriverError) -> bool {
    is_storage_failure(err) || matches!(err, DriverError::Stopped)
}

impl Driver {
    /// Processes one round of due inbox rows, then schedules the next look
    /// without being told: a failed row's retry, or soon after a storage
    /// failure. True when the round found rows (more may be waiting).
    pub(super) async fn inbox_round(&mut self) -> Result<bool, DriverError> {
        let result = self.next_round().await;
        self.inbox_retry = match &result {
            Err(err) if is_storage_failure(err) => {
                Some(tokio::time::Instant::now() + STORAGE_RETRY)
            }
            _ => self.next_inbox_retry().await,
        };
        result
    }

    async fn next_round(&mut self) -> Result<bool, DriverError> {
        let items = self
            .store
            .pending_inbox(self.clock.now(), INBOX_BATCH)
            .await?;
        let single = items.len() == 1;
        let result = self.run_round(&items).await;
        if result.is_err() {
            self.forget_early();
        }
        match result {
            Ok(()) => return Ok(!items.is_empty()),
            Err(err) if halts(&err) => return Err(err),
            Err(err) if single => {
                self.inbox_failed(items[0].id, items[0].attempts, &err)
                    .await?;
                return Ok(true);
            }
            Err(_) => {}
        }
        // A row of the round cannot be processed: find it, one row at a time.
        for item in &items {
            let result = self.run_round(std::slice::from_ref(item)).await;
            if result.is_err() {
                self.forget_early();
            }
            match result {
                Ok(()) => {}
                Err(err) if halts(&err) => return Err(err),
                Err(err) => self.inbox_failed(item.id, item.attempts, &err).await?,
            }
        }
        Ok(true)
    }

    /// Builds the commit of `items` in memory and commits it; nothing is
    /// written when any row fails. Reads are one query per kind per channel
    /// (stored message ids, contacts, their newest conversations), not per message.
    async fn run_round(&mut self, items: &[InboxItem]) -> Result<(), DriverError> {
        if items.is_empty() {
            return Ok(());
        }
        let mut round = Round::new(self.clock.now());
        let mut webhooks = Vec::with_capacity(items.len());
        for item in items {
            if let Some((rt, webhook)) = self.open_item(&mut round, item).await? {
                webhooks.push((item, rt, webhook));
            }
        }
        self.prefetch(&mut round, &webhooks).await?;
        for (item, rt, webhook) in webhooks {
            self.take_webhook(&mut round, item, &rt, webhook).await?;
        }
        let (messages_in, duplicates) = (round.messages_in, round.duplicates);
        let commit = self.finish_round(round);
        self.commit(commit).await?;
        self.metrics.messages_in.fetch_add(messages_in, Relaxed);
        self.metrics
            .messages_duplicate
            .fetch_add(duplicates, Relaxed);
        Ok(())
    }

    /// Reads what the round's messages need, one query per kind per channel.
    async fn prefetch(
        &mut self,
        round: &mut Round,
        webhooks: &[(&InboxItem, Arc<ChannelRt>, Webhook)],
    ) -> Result<(), DriverError> {
        let mut by_channel: HashMap<Id, (Vec<String>, Vec<String>)> = HashMap::new();
        for (_, rt, webhook) in webhooks {
            let (ids, addresses) = by_channel.entry(rt.channel.id).or_default();
            for message in webhook.changes.iter().flat_map(|c| &c.messages) {
                ids.push(message.provider_id.clone());
                addresses.push(message.contact_key.clone());
            }
        }
        for (channel_id, (ids, mut addresses)) in by_channel {
            addresses.sort_unstable();
            addresses.dedup();
            for id in self.store.inbound_existing(channel_id, &ids).await? {
                round.seen.insert((channel_id, id));
            }
            let contacts = self
                .store
                .contacts_by_address(channel_id, &addresses)
                .await?;
            let contact_ids: Vec<Id> = contacts.iter().map(|c| c.id).collect();
            for record in self
                .store
                .latest_conversations(channel_id, &contact_ids)
                .await?
            {
                round.records.insert(record.contact.id, record);
            }
            for contact in contacts {
                round
                    .contacts
                    .insert((channel_id, contact.address.clone()), contact);
            }
        }
        Ok(())
    }

    /// The round's commit: one write per conversation it touched.
    fn finish_round(&self, round: Round) -> Commit {
        let now = round.commit.now;
        let mut commit = round.commit;
        for slot in round.slots.into_iter().filter(|s| s.dirty) {
            let row = Row {
                id: slot.id,
                channel_id: slot.channel_id,
                contact_id: slot.contact_id.unwrap_or_default(),
            };
            let mut engine = slot.engine;
            let (mut write, _) = self.write(row, &mut engine, slot.step, now);
            write.last_message_at = slot.last_message_at;
            write.contact = Some(slot.contact);
            commit.conversations.push(write);
        }
        commit
    }

    /// The channel and parsed body of a stored webhook; `None` (the row marked
    /// processed in the round) for a deleted channel or a body that does not parse.
    async fn open_item(
        &mut self,
        round: &mut Round,
        item: &InboxItem,
    ) -> Result<Option<(Arc<ChannelRt>, Webhook)>, DriverError> {
        let rt = match self.channel(item.channel_id).await {
            Ok(rt) => rt,
            Err(DriverError::NotFound(_)) => {
                round
                    .commit
                    .inbox_done
                    .push((item.id, "channel deleted".into()));
                return Ok(None);
            }
            Err(err) => return Err(err),
        };
        match replyline_whatsapp::parse_webhook(&item.body) {
            Ok(webhook) => Ok(Some((rt, webhook))),
            Err(err) => {
                round
                    .commit
                    .inbox_done
                    .push((item.id, format!("unparseable: {err}")));
                Ok(None)
            }
        }
    }

    /// Adds one stored webhook body to the round and marks it processed there.
    async fn take_webhook(
        &mut self,
        round: &mut Round,
        item: &InboxItem,
        rt: &ChannelRt,
        webhook: Webhook,
    ) -> Result<(), DriverError> {
        let (mut stored, mut duplicates, mut ignored, mut statuses) = (0, 0, 0, 0);
        for change in webhook.changes {
            let foreign =
                change.phone_number_id.is_some() && change.phone_number_id != rt.phone_number_id;
            if change.field != "messages" || foreign {
                ignored += 1;
                continue;
            }
            for message in change.messages {
                if self
                    .take_message(round, rt, message, item.received_at)
                    .await?
                {
                    stored += 1;
                } else {
                    duplicates += 1;
                }
            }
            statuses += change.statuses.len();
            round.commit.statuses.extend(
                change
                    .statuses
                    .iter()
                    .map(|s| status_write(rt.channel.id, s)),
            );
        }
        let note = format!(
            "stored {stored}, duplicates {duplicates}, ignored changes {ignored}, statuses {statuses}"
        );
        round.commit.inbox_done.push((item.id, note));
        Ok(())
    }

    /// Runs one client message through its conversation's engine; false for a duplicate.
    async fn take_message(
        &mut self,
        round: &mut Round,
        rt: &ChannelRt,
        message: InboundMessage,
        arrival: Timestamp,
    ) -> Result<bool, DriverError> {
        let channel_id = rt.channel.id;
        if !round.seen.insert((channel_id, message.provider_id.clone())) {
            round.duplicates += 1;
            return Ok(false);
        }
        let team = self.team().await?;
        let latest = match round.latest.get(&(channel_id, message.contact_key.clone())) {
            Some(&index) => index,
            None => {
                let index = load_slot(round, channel_id, &message)?;
                let slot = &mut round.slots[index];
                if let Some(id) = slot.id {
                    let name = slot.contact_name.clone();
                    if let Some(settled) =
                        self.settle_early(rt, &team, id, name.as_deref(), &mut slot.engine)
                    {
                        slot.step.absorb(slot.engine.drain_actions(), &self.metrics);
                        slot.step.events.push(settled);
                        slot.dirty = true;
                    }
                }
                index
            }
        };
        let at = message_instant(&round.slots[latest].engine, arrival);
        let mut index = round.accepting(latest, at, &rt.policy);
        let refused = {
            let slot = &mut round.slots[index];
            let ctx = self.context(rt, &team, slot.contact_name.as_deref());
            slot.engine.handle(at, Input::ClientMessage, &ctx).is_err()
        };
        if refused {
            index = round.new_conversation(index);
            let slot = &mut round.slots[index];
            let ctx = self.context(rt, &team, slot.contact_name.as_deref());
            let _ = slot.engine.handle(at, Input::ClientMessage, &ctx);
        }
        let mut events = vec![event(
            "message",
            json!({"direction": "in", "kind": "client"}),
        )];
        // Routing: a new conversation is assigned in the same step, so R4/R5 see the assignee.
        let slot = &round.slots[index];
        if slot.id.is_none() && !slot.dirty && slot.engine.assignee().is_none() {
            let contact_id = slot.contact_id;
            let (assignee, data) = self
                .route(rt, &team, contact_id, &message.text, &round.commit.assigned)
                .await?;
            let slot = &mut round.slots[index];
            let ctx = self.context(rt, &team, slot.contact_name.as_deref());
            if let Some(assignee) = assignee
                && slot
                    .engine
                    .handle(
                        at,
                        Input::Assign {
                            employee: Some(eid(assignee)),
                        },
                        &ctx,
                    )
                    .is_ok()
            {
                round.commit.assigned.push(assignee);
            }
            events.extend(data.map(|data| event("routed", data)));
        }
        let slot = &mut round.slots[index];
        let mut step = Step::new(vec![inbound_message(&message)], events);
        step.absorb(slot.engine.drain_actions(), &self.metrics);
        step.stamp(at);
        slot.step.append(step);
        slot.dirty = true;
        slot.last_message_at = Some(at);
        slot.last_inbound = Some(at);
        slot.contact.inbound_at = Some(at);
        if message.contact_name.is_some() {
            slot.contact.name = message.contact_name.clone();
        }
        // Later messages of this contact in the round see this one.
        let (last_inbound, name) = (slot.last_inbound, slot.contact.name.clone());
        for other in round
            .slots
            .iter_mut()
            .filter(|s| s.channel_id == channel_id && s.contact.address == message.contact_key)
        {
            other.last_inbound = last_inbound;
            other.contact.inbound_at = last_inbound;
            other.contact.name = name.clone();
        }
        round.messages_in += 1;
        Ok(true)
    }

    /// Records a failed attempt at an inbox row and when to retry it. The row
    /// is never dropped; when it first counts as failing, admins are alerted.
    async fn inbox_failed(
        &mut self,
        id: Id,
        attempts: i64,
        err: &DriverError,
    ) -> Result<(), DriverError> {
        let now = self.clock.now();
        let retry_at = crate::clock::after(now, inbox_backoff(attempts + 1));
        let error = err.to_string();
        let failure = match self
            .store
            .inbox_attempt_failed(id, &error, retry_at, now)
            .await
        {
            Ok(failure) => failure,
            // Processed meanwhile (or gone): nothing left to retry.
            Err(StoreError::NotFound) => return Ok(()),
            Err(err) => return Err(err.into()),
        };
        if failure.newly_failing {
            // The alert (see docs/hardening.md): notifications belong to a
            // conversation, which this row never became, so it is an error
            // log line, the `replyline_inbox_failed` gauge and the admins'
            // list at GET /api/v1/inbox/failed.
            tracing::error!(
                alert = "inbox_failed",
                inbox = id,
                attempts = failure.attempts,
                error = %error,
                "an acknowledged webhook body keeps failing; it is retried with backoff and listed at GET /api/v1/inbox/failed"
            );
        } else {
            tracing::warn!(inbox = id, attempts = failure.attempts, %retry_at, error = %error, "webhook body failed; retrying later");
        }
        Ok(())
    }

    /// The real-time instant of the earliest failed row's retry (`None` with a
    /// manual clock: its rows are retried when it is advanced).
    pub(super) async fn next_inbox_retry(&self) -> Option<tokio::time::Instant> {
        match self.store.next_inbox_attempt_at().await {
            Ok(at) => at
                .and_then(|at| self.clock.sleep_for(at))
                .map(|d| tokio::time::Instant::now() + d),
            Err(err) => {
                tracing::error!(%err, "inbox retry query failed");
                Some(tokio::time::Instant::now() + STORAGE_RETRY)
            }
        }
    }

    /// The scheduler's wait, shortened to the next inbox retry.
    pub(super) fn until_inbox_retry(&self, wait: Option<Duration>) -> Option<Duration> {
        let Some(retry) = self.inbox_retry else {
            return wait;
        };
        let left = retry.saturating_duration_since(tokio::time::Instant::now());
        Some(wait.map_or(left, |w| w.min(left)))
    }

    /// Whether a failed row's retry (or the retry after a storage failure) is due.
    pub(super) fn inbox_retry_due(&self) -> bool {
        self.inbox_retry
            .is_some_and(|at| at <= tokio::time::Instant::now())
    }
}

/// The wait before the next attempt at an inbox row that failed `attempts`
/// times: 1 s, doubling, at most 10 minutes.
fn inbox_backoff(attempts: i64) -> u64 {
    let exp = u32::try_from(attempts.clamp(1, 30) - 1).unwrap_or(0);
    INBOX_FIRST_BACKOFF_SECONDS
        .saturating_mul(2u64.saturating_pow(exp))
        .min(INBOX_MAX_BACKOFF_SECONDS)
}

/// The stored form of a client's message: a media message keeps its caption
/// as text and its file as a pending download; location and contact cards
/// keep their details as the payload.
fn inbound_message(message: &InboundMessage) -> NewMessage {
    let attachment = message.media.as_ref().map(|media| NewAttachment {
        kind: media.kind.clone(),
        mime_type: media.mime_type.clone(),
        file_name: media.filename.clone(),
        sha256: media.sha256.clone(),
        provider_media_id: Some(media.id.clone()),
        state: "pending".into(),
        ..NewAttachment::default()
    });
    let text = match &message.media {
        Some(media) => media.caption.clone().unwrap_or_default(),
        None => message.text.clone(),
    };
    NewMessage {
        direction: "in".into(),
        kind: "client".into(),
        text: Some(text),
        status: "received".into(),
        provider_id: Some(message.provider_id.clone()),
        media_id: message.media_id.clone(),
        content_type: Some(message.kind.as_str().into()),
        payload: message.details.clone(),
        attachment,
        ..NewMessage::default()
    }
}

fn status_write(channel_id: Id, s: &StatusUpdate) -> StatusWrite {
    let error = (!s.errors.is_empty()).then(|| {
        s.errors
            .iter()
            .map(|e| {
                let text = e
                    .details
                    .as_deref()
                    .or(e.message.as_deref())
                    .or(e.title.as_deref())
                    .unwrap_or("error");
                format!("{} ({})", text, e.code)
            })
            .collect::<Vec<_>>()
            .join("; ")
    });
    StatusWrite {
        channel_id,
        message_id: s.callback_data.as_deref().and_then(|d| d.parse().ok()),
        provider_id: s.provider_message_id.clone(),
        status: s.status.as_str().into(),
        error,
    }
}

#[cfg(test)]
mod inbox_tests {
    use super::*;

    #[test]
    fn failed_inbox_rows_back_off_from_one_second_to_ten_minutes() {
        assert_eq!(inbox_backoff(1), 1);
        assert_eq!(inbox_backoff(2), 2);
        assert_eq!(inbox_backoff(3), 4);
        assert_eq!(inbox_backoff(10), 512);
        assert_eq!(inbox_backoff(11), INBOX_MAX_BACKOFF_SECONDS);
        assert_eq!(inbox_backoff(1000), INBOX_MAX_BACKOFF_SECONDS);
    }
}
