//! The engine driver: the single writer that runs engine steps and commits their effects.
//!
//! One task owns a loop over a closed [`Command`] enum: webhook bodies waiting
//! in the inbox, API commands (replying over oneshot channels) and timers. Each
//! engine step is committed in one transaction — conversation state, next
//! deadline (`due_at`), messages, timeline events, notifications and outbox
//! rows — and only then are workers woken.

use crate::channel::WhatsappConfig;
use crate::clock::Clock;
use crate::live::{LiveEvent, LiveHub};
use crate::metrics::Metrics;
use crate::outbox::OutboxHandle;
use crate::routing;
use jiff::Timestamp;
use replyline_engine::routing::{RouteTarget, RoutingRule, match_rule};
use replyline_engine::{
    Action, ChannelKind, Closer, Context, Conversation, EmployeeId, Input, InputError, Member,
    Policy, Role, Settings, StateChange, Status, Team, ValidationError,
};
use replyline_store::{
    Channel, Commit, ConversationFilter, ConversationRecord, ConversationWrite, Id, NewAttachment,
    NewEvent, NewMessage, NewNotification, ObserverWrite, StatusWrite, Store, StoreError,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

mod inbox;
mod settings;

/// Conversations fired per scheduler transaction.
const DUE_BATCH: i64 = 64;
/// How soon the inbox is tried again after the storage itself failed (a full
/// disk): real time, whatever the clock, so it resumes as soon as space is back.
const STORAGE_RETRY: Duration = Duration::from_secs(1);
/// How soon a deadline that is due but held back is looked at again.
const HELD_DEADLINE_RETRY: Duration = Duration::from_millis(5);
/// Scheduler transactions per turn of the loop, so due deadlines and inbox
/// rounds take turns and neither starves the other.
const DUE_BATCHES_PER_TURN: usize = 4;

/// Why a driver command failed.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the conversation is closed")]
    Closed,
    #[error("{0}")]
    Conflict(String),
    #[error(
        "the 24-hour customer service window is closed: the client has not written in the last 24 hours"
    )]
    OutsideWindow,
    /// The text as it would be sent (signature included) is over the messenger's limit.
    #[error(
        "text: with the signature the message would be longer than {} characters; shorten it",
        replyline_engine::MAX_SEND_TEXT_CHARS
    )]
    TextTooLong,
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("corrupt conversation state: {0}")]
    Corrupt(String),
    #[error("the driver has stopped")]
    Stopped,
}

/// An action on an existing conversation.
#[derive(Clone, Debug)]
pub enum Act {
    /// A reply: text, or a file with `text` as its caption (possibly empty).
    Message {
        employee: Id,
        text: String,
        attachment: Option<NewAttachment>,
    },
    /// An approved WhatsApp template (allowed outside the 24-hour window).
    Template {
        employee: Id,
        template: TemplateSend,
    },
    /// A note; `mentions` (resolved active employees) other than the author and
    /// the assignee become observers and get a `mention` notification.
    Note {
        employee: Id,
        text: String,
        mentions: Vec<Id>,
    },
    Assign {
        employee: Option<Id>,
    },
    Close {
        employee: Id,
    },
    Transfer(Transfer),
}

/// An approved template an employee sends, its parameters filled in.
#[derive(Clone, Debug)]
pub struct TemplateSend {
    pub name: String,
    pub language: String,
    pub parameters: Vec<String>,
    /// The body with the parameters filled in, stored as the message text
    /// (else `[template NAME (LANG)]`).
    pub preview: Option<String>,
}

/// How an employee opens a conversation with a client (write first).
#[derive(Clone, Debug)]
pub enum Opening {
    Text(String),
    Template(TemplateSend),
}

/// A transfer by an employee, with an optional comment written as their note first.
#[derive(Clone, Debug)]
pub struct Transfer {
    pub by: Id,
    pub target: TransferTarget,
    pub comment: Option<String>,
}

/// Whom a transfer gives the conversation to.
#[derive(Clone, Debug)]
pub enum TransferTarget {
    /// An employee, or `None` back to the queue.
    Employee(Option<Id>),
    /// Round robin among the group's members in `eligible` (those who may take the chat).
    Group { group_id: Id, eligible: Vec<Id> },
}

type Reply<T> = oneshot::Sender<Result<T, DriverError>>;

/// Everything the driver loop reacts to.
enum Command {
    InboxReady,
    TeamChanged,
    RoutingChanged,
    ChannelChanged(Id),
    RunDue(oneshot::Sender<()>),
    Act {
        conversation_id: Id,
        act: Act,
        reply: Reply<Option<Id>>,
    },
    Open {
        channel_id: Id,
        address: String,
        employee: Id,
        opening: Opening,
        reply: Reply<Id>,
    },
    Settings {
        channel_id: Id,
        employee: Id,
        patch: Value,
        reply: Reply<Value>,
    },
    /// An employee was deactivated: move their open chats back to the channel queue.
    Deactivated {
        employee: Id,
        reply: Reply<usize>,
    },
}

/// Sends commands to the driver task.
#[derive(Clone, Debug)]
pub struct DriverHandle {
    tx: mpsc::Sender<Command>,
}

impl DriverHandle {
    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, DriverError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)?
    }

    fn nudge(&self, command: Command) {
        // A full queue already holds work that will pick this up.
        let _ = self.tx.try_send(command);
    }

    /// New webhook bodies are in the inbox.
    pub fn inbox_ready(&self) {
        self.nudge(Command::InboxReady);
    }

    /// Employees changed: rebuild the team.
    pub fn team_changed(&self) {
        self.nudge(Command::TeamChanged);
    }

    /// Routing rules changed: reload them.
    pub fn routing_changed(&self) {
        self.nudge(Command::RoutingChanged);
    }

    /// A channel changed: reload it.
    pub async fn channel_changed(&self, id: Id) {
        let _ = self.tx.send(Command::ChannelChanged(id)).await;
    }

    /// Processes the inbox and every deadline due now, then returns.
    pub async fn run_due(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Command::RunDue(reply)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Applies an action; returns the id of the message it created, if any.
    pub async fn act(&self, conversation_id: Id, act: Act) -> Result<Option<Id>, DriverError> {
        self.call(|reply| Command::Act {
            conversation_id,
            act,
            reply,
        })
        .await
    }

    /// Opens a conversation by an employee's first message; returns its id.
    pub async fn open(
        &self,
        channel_id: Id,
        address: String,
        employee: Id,
        opening: Opening,
    ) -> Result<Id, DriverError> {
        self.call(|reply| Command::Open {
            channel_id,
            address,
            employee,
            opening,
            reply,
        })
        .await
    }

    /// Unassigns every open chat of a deactivated employee (recorded on each timeline);
    /// returns how many moved back to their channel's queue.
    pub async fn employee_deactivated(&self, employee: Id) -> Result<usize, DriverError> {
        self.call(|reply| Command::Deactivated { employee, reply })
            .await
    }

    /// Validates and saves a settings patch, applying it to open conversations; returns the full settings.
    pub async fn settings(
        &self,
        channel_id: Id,
        employee: Id,
        patch: Value,
    ) -> Result<Value, DriverError> {
        self.call(|reply| Command::Settings {
            channel_id,
            employee,
            patch,
            reply,
        })
        .await
    }
}

/// A channel as the engine needs it.
struct ChannelRt {
    channel: Channel,
    policy: Policy,
    kind: ChannelKind,
    phone_number_id: Option<String>,
}

/// The driver task's state.
pub struct Driver {
    store: Arc<dyn Store>,
    clock: Clock,
    company_name: String,
    metrics: Arc<Metrics>,
    outbox: OutboxHandle,
    team: Option<Arc<Team>>,
    /// The routing rules in priority order, loaded on first use.
    routing_rules: Option<Arc<Vec<RoutingRule>>>,
    channels: HashMap<Id, Arc<ChannelRt>>,
    /// When to look at the inbox again without being told: a failed row's
    /// retry, or soon after a storage failure. Failed rows are retried with
    /// backoff and never dropped (their attempts are stored with the row).
    inbox_retry: Option<tokio::time::Instant>,
    /// Inbox rows may be waiting: a webhook was stored, or the last round was full.
    inbox_ready: bool,
    /// Settings changes still being applied in chunks, by channel.
    settling: HashMap<Id, settings::Backlog>,
    rx: mpsc::Receiver<Command>,
    live: LiveHub,
    /// Woken after a commit that stored files to download.
    downloads: Option<crate::media_worker::MediaWorkerHandle>,
}

/// Creates the driver and its handle; run the driver with [`Driver::run`].
pub fn driver(
    store: Arc<dyn Store>,
    clock: Clock,
    company_name: String,
    metrics: Arc<Metrics>,
    outbox: OutboxHandle,
) -> (Driver, DriverHandle) {
    let (tx, rx) = mpsc::channel(1024);
    let driver = Driver {
        store,
        clock,
        company_name,
        metrics,
        outbox,
        team: None,
        routing_rules: None,
        channels: HashMap::new(),
        inbox_retry: Some(tokio::time::Instant::now()),
        inbox_ready: true,
        settling: HashMap::new(),
        rx,
        live: LiveHub::new(),
        downloads: None,
    };
    (driver, DriverHandle { tx })
}

impl Driver {
    /// Publishes live events to `live` after each commit.
    #[must_use]
    pub fn with_live(mut self, live: LiveHub) -> Self {
        self.live = live;
        self
    }

    /// Wakes the media worker after commits that store files to download.
    #[must_use]
    pub fn with_downloads(mut self, downloads: crate::media_worker::MediaWorkerHandle) -> Self {
        self.downloads = Some(downloads);
        self
    }
}

/// What a commit carries that live events need, taken before the commit consumes it.
struct LiveCommit {
    conversations: Vec<LiveConversation>,
    statuses: Vec<StatusWrite>,
}

struct LiveConversation {
    channel_id: Id,
    status: String,
    assignee_id: Option<Id>,
    /// direction, kind, status per new message, in order.
    messages: Vec<(String, String, String)>,
    notifications: Vec<NewNotification>,
}

impl LiveCommit {
    fn of(commit: &Commit) -> Self {
        Self {
            conversations: commit
                .conversations
                .iter()
                .map(|c| LiveConversation {
                    channel_id: c.channel_id,
                    status: c.status.clone(),
                    assignee_id: c.assignee_id,
                    messages: c
                        .messages
                        .iter()
                        .map(|m| (m.direction.clone(), m.kind.clone(), m.status.clone()))
                        .collect(),
                    notifications: c.notifications.clone(),
                })
                .collect(),
            statuses: commit.statuses.clone(),
        }
    }
}

/// `message.status` for a message as stored now.
pub fn message_status_event(message: &replyline_store::Message) -> LiveEvent {
    LiveEvent {
        kind: "message.status",
        conversation_id: Some(message.conversation_id),
        channel_id: Some(message.channel_id),
        assignee_id: None,
        manager_id: None,
        data: json!({
            "id": message.id.to_string(),
            "conversation_id": message.conversation_id.to_string(),
            "status": message.status,
            "error": message.error,
            "retry_at": message.retry_at.map(|t| t.to_string()),
            "delivery_unknown": message.delivery_unknown,
            "attachments": message.attachments.iter().cloned().map(crate::api::dto::AttachmentDto::from).collect::<Vec<_>>(),
        }),
    }
}

/// The engine's id for an employee row.
pub fn eid(id: Id) -> EmployeeId {
    EmployeeId::new(id.to_string())
}

/// The employee row of an engine id.
pub fn row_id(id: &EmployeeId) -> Option<Id> {
    id.as_str().parse().ok()
}

fn decode(state: &str) -> Result<Conversation, DriverError> {
    serde_json::from_str(state).map_err(|e| DriverError::Corrupt(e.to_string()))
}

/// Builds the engine's team from employee rows.
pub fn build_team(employees: &[replyline_store::Employee]) -> Team {
    let mut team = Team::default();
    for e in employees {
        let role = match e.role.as_str() {
            "admin" => Role::Admin,
            "manager" => Role::Manager,
            _ => Role::Employee,
        };
        let member = Member {
            name: e.name.clone(),
            display_name: e.display_name.clone(),
            role,
            manager: e.manager_id.map(eid),
            active: e.active,
        };
        team.insert(eid(e.id), member);
    }
    team
}

/// The stored settings of a channel, compiled (stored settings were validated on save).
pub fn channel_policy(channel: &Channel) -> Result<Policy, ValidationError> {
    let settings = Settings::from_partial(&channel.settings)?;
    Policy::new(settings, |_| true)
}

fn channel_kind(kind: &str) -> ChannelKind {
    match kind {
        "telegram" => ChannelKind::Telegram,
        "webchat" => ChannelKind::Webchat,
        "api" => ChannelKind::Api,
        _ => ChannelKind::Whatsapp,
    }
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Closed => "closed",
        Status::New | Status::Open => "open",
    }
}

fn event(kind: &str, data: Value) -> NewEvent {
    NewEvent {
        kind: kind.to_owned(),
        data: Some(data),
        ..NewEvent::default()
    }
}

fn change_event(change: StateChange) -> NewEvent {
    match change {
        StateChange::Opened { by_client } => event(
            "opened",
            json!({"by": if by_client { "client" } else { "employee" }}),
        ),
        StateChange::Reopened => event("reopened", json!({})),
        StateChange::Closed { auto } => event("closed", json!({"auto": auto})),
        StateChange::Assigned { employee } => event(
            "assigned",
            json!({"employee_id": employee.map(|e| e.to_string())}),
        ),
        StateChange::WaitStarted { first } => event("wait_started", json!({"first": first})),
        StateChange::WaitEnded => event("wait_ended", json!({})),
    }
}

fn outgoing(kind: &str, employee: Option<Id>) -> NewMessage {
    NewMessage {
        direction: "out".into(),
        kind: kind.into(),
        employee_id: employee,
        ..NewMessage::default()
    }
}

/// The pieces of one engine step, before it becomes a [`ConversationWrite`].
#[derive(Default)]
struct Step {
    messages: Vec<NewMessage>,
    events: Vec<NewEvent>,
    notifications: Vec<NewNotification>,
    /// Why the engine refused an employee's message, if it did.
    rejected: Option<replyline_engine::Reason>,
}

impl Step {
    fn new(messages: Vec<NewMessage>, events: Vec<NewEvent>) -> Self {
        Self {
            messages,
            events,
            notifications: Vec::new(),
            rejected: None,
        }
    }

    /// Dates every row of the step at `at` (a client message's arrival).
    fn stamp(&mut self, at: Timestamp) {
        for m in &mut self.messages {
            m.at = Some(at);
        }
        for e in &mut self.events {
            e.at = Some(at);
        }
    }

    /// Appends a later step of the same conversation.
    fn append(&mut self, later: Step) {
        self.messages.extend(later.messages);
        self.events.extend(later.events);
        self.notifications.extend(later.notifications);
        self.rejected = self.rejected.or(later.rejected);
    }

    /// Turns engine actions into rows.
    fn absorb(&mut self, actions: impl Iterator<Item = Action>, metrics: &Metrics) {
        for action in actions {
            match action {
                Action::Send {
                    kind,
                    employee,
                    payload,
                } => {
                    let mut m = outgoing(kind.as_str(), employee.as_ref().and_then(row_id));
                    m.status = "queued".into();
                    m.send = true;
                    match payload {
                        replyline_engine::Payload::Text(text) => m.text = Some(text),
                        replyline_engine::Payload::Template {
                            name,
                            language,
                            parameters,
                        } => {
                            m.text = Some(format!("[template {name} ({language})]"));
                            m.payload = Some(json!({"template": {
                                "name": name, "language": language, "parameters": parameters}}));
                            m.template = Some(name);
                            m.template_language = Some(language);
                        }
                    }
                    self.events.push(event(
                        "message",
                        json!({"direction": "out", "kind": kind.as_str()}),
                    ));
                    self.messages.push(m);
                }
                Action::Skip { kind, reason } => {
                    let mut m = outgoing(kind.as_str(), None);
                    m.status = "skipped".into();
                    m.error = Some(reason.as_str().into());
                    self.messages.push(m);
                }
                Action::Reject { reason, .. } => self.rejected = Some(reason),
                Action::Notify(n) => {
                    let employee = n.employee.as_ref().and_then(row_id);
                    for manager in n.managers.iter().filter_map(row_id) {
                        self.notifications.push(NewNotification {
                            reason: n.reason.as_str().into(),
                            employee_id: employee,
                            manager_id: manager,
                            wait_started_at: n.wait_started,
                            waited_seconds: n.waited_seconds,
                            text: Some(n.text.clone()),
                        });
                    }
                    let managers: Vec<String> = n.managers.iter().map(|m| m.to_string()).collect();
                    self.events.push(event(
                        "notification",
                        json!({"reason": n.reason.as_str(), "managers": managers,
                               "employee_id": employee.map(|e| e.to_string()), "text": n.text}),
                    ));
                }
                Action::Decision(d) => {
                    metrics.rule(d.rule.as_str(), d.outcome.as_str());
                    self.events.push(NewEvent {
                        kind: "decision".into(),
                        rule: Some(d.rule.as_str().into()),
                        outcome: Some(d.outcome.as_str().into()),
                        reason: Some(d.reason.as_str().into()),
                        data: Some(json!({"code": d.rule.code()})),
                        ..NewEvent::default()
                    });
                }
                Action::Changed(change) => self.events.push(change_event(change)),
            }
        }
    }
}

/// What an action feeds the engine and writes besides the engine's own rows.
#[derive(Default)]
struct Planned {
    inputs: Vec<Input>,
    step: Step,
    observers: Vec<ObserverWrite>,
    /// The employee given the chat (routing fairness).
    assigned: Option<Id>,
    transfer_event: Option<TransferEvent>,
    /// What the employee's reply carries beyond the engine's text.
    reply: ReplyExtras,
}

/// A reply's file, or its template's preview text, added to the message the
/// engine sends.
#[derive(Default)]
struct ReplyExtras {
    attachment: Option<NewAttachment>,
    preview: Option<String>,
}

impl ReplyExtras {
    fn apply(self, messages: &mut [NewMessage]) {
        let Some(m) = messages.iter_mut().find(|m| m.kind == "employee") else {
            return;
        };
        if let Some(a) = self.attachment {
            m.attachment = Some(a);
        }
        if let Some(preview) = self.preview {
            m.text = Some(preview);
        }
    }
}

fn template_input(employee: Id, t: &TemplateSend) -> Input {
    Input::EmployeeTemplate {
        employee: eid(employee),
        name: t.name.clone(),
        language: t.language.clone(),
        parameters: t.parameters.clone(),
    }
}

impl Planned {
    /// A note by `employee`: its message, its timeline entry and the engine input.
    fn note(&mut self, employee: Id, text: String, mentions: Vec<Id>) {
        let mut note = outgoing("note", Some(employee));
        note.text = Some(text);
        note.status = "received".into();
        let ids: Vec<String> = mentions.iter().map(Id::to_string).collect();
        note.mentions = mentions;
        self.step.messages.push(note);
        self.step.events.push(event(
            "note",
            json!({"employee_id": employee.to_string(), "mentions": ids}),
        ));
        self.inputs.push(Input::Note {
            employee: eid(employee),
        });
    }
}

/// The parts of a `transferred` timeline entry known before the engine runs.
struct TransferEvent {
    by: Id,
    group_id: Option<Id>,
    comment: Option<String>,
}

/// `transferred {"from","to","group_id","comment","by"}`.
fn transfer_event(t: TransferEvent, from: Option<Id>, to: Option<Id>) -> NewEvent {
    event(
        "transferred",
        json!({
            "from": from.map(|e| e.to_string()),
            "to": to.map(|e| e.to_string()),
            "group_id": t.group_id.map(|g| g.to_string()),
            "comment": t.comment,
            "by": t.by.to_string(),
        }),
    )
}

/// The longest note excerpt in a mention notification, in characters.
const MENTION_EXCERPT_CHARS: usize = 200;

/// A mention notification's text: `Author: the note` (cut to an excerpt).
fn mention_text(team: &Team, author: Id, text: &str) -> String {
    let name = team
        .get(&eid(author))
        .map(|m| m.display_name.clone().unwrap_or_else(|| m.name.clone()))
        .unwrap_or_default();
    let mut excerpt: String = text.chars().take(MENTION_EXCERPT_CHARS).collect();
    if text.chars().count() > MENTION_EXCERPT_CHARS {
        excerpt.push('…');
    }
    format!("{name}: {excerpt}")
}

/// Identifies the conversation row an engine step belongs to.
#[derive(Clone, Copy)]
struct Row {
    id: Option<Id>,
    channel_id: Id,
    contact_id: Id,
}

impl Driver {
    /// Runs until every handle is dropped. Each turn takes the commands
    /// waiting, one inbox round and a few scheduler transactions, so a long
    /// inbox never starves due deadlines and commands are never queued behind
    /// the whole inbox.
    pub async fn run(mut self) {
        if let Err(err) = self.load_settling().await {
            tracing::error!(%err, "loading the settings backlog failed");
        }
        if let Err(err) = self.catch_up().await {
            tracing::error!(%err, "startup catch-up failed");
        }
        loop {
            loop {
                match self.rx.try_recv() {
                    Ok(command) => self.handle(command).await,
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return,
                }
            }
            if self.inbox_ready || self.inbox_retry_due() {
                self.inbox_ready = match self.inbox_round().await {
                    Ok(more) => more,
                    Err(err) => {
                        tracing::error!(%err, "inbox processing failed");
                        false
                    }
                };
            }
            let due_left = self.fire_due_logged().await;
            let settle_left = self.settle_logged().await;
            if self.inbox_ready || due_left || settle_left {
                continue;
            }
            let wait = match self.next_wait().await {
                Ok(wait) => wait,
                Err(err) => {
                    tracing::error!(%err, "scheduler query failed");
                    Some(Duration::from_secs(1))
                }
            };
            let wait = self.until_inbox_retry(wait);
            let command = match wait {
                Some(Duration::ZERO) => None,
                Some(duration) => tokio::select! {
                    command = self.rx.recv() => match command { Some(c) => Some(c), None => return },
                    () = tokio::time::sleep(duration) => None,
                },
                None => match self.rx.recv().await {
                    Some(c) => Some(c),
                    None => return,
                },
            };
            if let Some(command) = command {
                self.handle(command).await;
            }
        }
    }

    /// Everything due now: every inbox row, and every deadline (each only
    /// once the messages that arrived before it are processed).
    async fn catch_up(&mut self) -> Result<(), DriverError> {
        loop {
            let more = self.inbox_round().await?;
            let due_left = self.fire_due().await?;
            let settle_left = self.settle_next().await?;
            if !more && !due_left && !settle_left {
                return Ok(());
            }
        }
    }

    /// The latest instant deadlines may fire at now: the clock, held back to
    /// just before the oldest webhook not processed yet — its message comes
    /// first, and ties go to the event.
    async fn deadline_cutoff(&self) -> Result<Timestamp, DriverError> {
        let now = self.clock.now();
        Ok(match self.store.oldest_unprocessed_inbox_at().await? {
            Some(arrival) if arrival <= now => arrival - jiff::SignedDuration::from_millis(1),
            _ => now,
        })
    }

    /// How long until the next deadline may fire (see [`deadline_wait`]).
    async fn next_wait(&self) -> Result<Option<Duration>, DriverError> {
        let Some(due) = self.store.next_due_at().await? else {
            return Ok(None);
        };
        let cutoff = self.deadline_cutoff().await?;
        let now = self.clock.now();
        Ok(deadline_wait(due, cutoff, now, self.clock.sleep_for(due)))
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::InboxReady => self.inbox_ready = true,
            Command::TeamChanged => self.team = None,
            Command::RoutingChanged => self.routing_rules = None,
            Command::ChannelChanged(id) => {
                self.channels.remove(&id);
            }
            Command::RunDue(reply) => {
                if let Err(err) = self.catch_up().await {
                    tracing::error!(%err, "processing due work failed");
                }
                let _ = reply.send(());
            }
            Command::Act {
                conversation_id,
                act,
                reply,
            } => {
                let result = self.act(conversation_id, act).await;
                if result.is_err() {
                    self.forget_early();
                }
                let _ = reply.send(result);
            }
            Command::Open {
                channel_id,
                address,
                employee,
                opening,
                reply,
            } => {
                let _ = reply.send(self.open(channel_id, &address, employee, opening).await);
            }
            Command::Settings {
                channel_id,
                employee,
                patch,
                reply,
            } => {
                let _ = reply.send(self.change_settings(channel_id, employee, &patch).await);
            }
            Command::Deactivated { employee, reply } => {
                let _ = reply.send(self.deactivated(employee).await);
            }
        }
    }

    async fn team(&mut self) -> Result<Arc<Team>, DriverError> {
        if let Some(team) = &self.team {
            return Ok(team.clone());
        }
        let team = Arc::new(build_team(&self.store.employees().await?));
        self.team = Some(team.clone());
        Ok(team)
    }

    async fn channel(&mut self, id: Id) -> Result<Arc<ChannelRt>, DriverError> {
        if let Some(rt) = self.channels.get(&id) {
            return Ok(rt.clone());
        }
        let channel = self
            .store
            .channel(id)
            .await?
            .ok_or(DriverError::NotFound("channel"))?;
        let policy = channel_policy(&channel)?;
        let rt = Arc::new(ChannelRt {
            kind: channel_kind(&channel.kind),
            phone_number_id: Some(WhatsappConfig::of(&channel).phone_number_id)
                .filter(|p| !p.is_empty()),
            policy,
            channel,
        });
        self.channels.insert(id, rt.clone());
        Ok(rt)
    }

    fn context<'a>(
        &'a self,
        rt: &'a ChannelRt,
        team: &'a Team,
        contact_name: Option<&'a str>,
    ) -> Context<'a> {
        Context {
            policy: &rt.policy,
            team,
            channel: rt.kind,
            company_name: &self.company_name,
            contact_name,
        }
    }

    /// Drains the engine's actions into a conversation write.
    fn write(
        &self,
        row: Row,
        engine: &mut Conversation,
        mut step: Step,
        now: Timestamp,
    ) -> (ConversationWrite, Option<replyline_engine::Reason>) {
        step.absorb(engine.drain_actions(), &self.metrics);
        let wrote_message = step.messages.iter().any(|m| m.status != "skipped");
        let write = ConversationWrite {
            id: row.id,
            channel_id: row.channel_id,
            contact_id: row.contact_id,
            contact: None,
            status: status_name(engine.status()).into(),
            assignee_id: engine.assignee().and_then(row_id),
            waiting_since: engine.waiting_since(),
            closed_at: engine.closed_at(),
            last_message_at: wrote_message.then_some(now),
            state: serde_json::to_string(engine).unwrap_or_default(),
            due_at: engine.poll_timeout(),
            messages: step.messages,
            events: step.events,
            notifications: step.notifications,
        };
        (write, step.rejected)
    }

    /// Commits, counts, wakes the outbox and publishes live events.
    async fn commit(&self, commit: Commit) -> Result<replyline_store::CommitResult, DriverError> {
        let notifications: usize = commit
            .conversations
            .iter()
            .map(|c| c.notifications.len())
            .sum();
        let live = self.live.has_subscribers().then(|| LiveCommit::of(&commit));
        let downloads = commit
            .conversations
            .iter()
            .flat_map(|c| &c.messages)
            .any(|m| m.attachment.as_ref().is_some_and(|a| a.state == "pending"));
        let result = self.store.commit(commit).await?;
        self.metrics.notifications(notifications as u64);
        if result.queued > 0 {
            self.outbox.wake();
        }
        if downloads && let Some(worker) = &self.downloads {
            worker.wake();
        }
        if let Some(live) = live {
            self.publish(live, &result).await;
        }
        Ok(result)
    }

    /// Publishes what a successful commit wrote: new messages, conversations, notifications
    /// and applied delivery statuses.
    async fn publish(&self, live: LiveCommit, result: &replyline_store::CommitResult) {
        for (conv, (id, message_ids)) in live.conversations.into_iter().zip(&result.conversations) {
            let cid = id.to_string();
            // Notifications first: a mention makes its recipient an observer, and
            // their socket must know that before the note's message.created.
            for n in conv.notifications {
                self.live.publish(LiveEvent {
                    kind: "notification.created",
                    conversation_id: Some(*id),
                    channel_id: Some(conv.channel_id),
                    assignee_id: Some(conv.assignee_id),
                    manager_id: Some(n.manager_id),
                    data: json!({
                        "conversation_id": cid,
                        "manager_id": n.manager_id.to_string(),
                        "employee_id": n.employee_id.map(|e| e.to_string()),
                        "reason": n.reason,
                        "text": n.text,
                    }),
                });
            }
            for (message, message_id) in conv.messages.iter().zip(message_ids) {
                self.live.publish(LiveEvent {
                    kind: "message.created",
                    conversation_id: Some(*id),
                    channel_id: Some(conv.channel_id),
                    assignee_id: Some(conv.assignee_id),
                    manager_id: None,
                    data: json!({
                        "id": message_id.to_string(),
                        "conversation_id": cid,
                        "direction": message.0,
                        "kind": message.1,
                        "status": message.2,
                    }),
                });
            }
            self.live.publish(LiveEvent {
                kind: "conversation.updated",
                conversation_id: Some(*id),
                channel_id: Some(conv.channel_id),
                assignee_id: Some(conv.assignee_id),
                manager_id: None,
                data: json!({
                    "id": cid,
                    "conversation_id": cid,
                    "status": conv.status,
                    "assignee_id": conv.assignee_id.map(|a| a.to_string()),
                }),
            });
        }
        if result.statuses_applied > 0 {
            for status in live.statuses {
                let message = match status.message_id {
                    Some(id) => self.store.message(id).await.ok().flatten(),
                    None => None,
                };
                let Some(message) = message else { continue };
                self.live.publish(message_status_event(&message));
            }
        }
    }

    /// One chunk of a settings backlog; true when more is left.
    async fn settle_logged(&mut self) -> bool {
        match self.settle_next().await {
            Ok(left) => left,
            Err(err) => {
                tracing::error!(%err, "applying a settings change failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                false
            }
        }
    }

    /// One turn of the scheduler; true when more deadlines are due.
    async fn fire_due_logged(&mut self) -> bool {
        match self.fire_due().await {
            Ok(due_left) => due_left,
            Err(err) => {
                self.forget_early();
                tracing::error!(%err, "firing deadlines failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                false
            }
        }
    }

    /// Fires the deadlines due now, up to [`DUE_BATCHES_PER_TURN`]
    /// transactions of [`DUE_BATCH`] conversations; true when more are due.
    async fn fire_due(&mut self) -> Result<bool, DriverError> {
        for _batch in 0..DUE_BATCHES_PER_TURN {
            let cutoff = self.deadline_cutoff().await?;
            let now = self.clock.now();
            let due = self.store.due_conversations(cutoff, DUE_BATCH).await?;
            if due.is_empty() {
                return Ok(false);
            }
            let full = due.len() as i64 == DUE_BATCH;
            let team = self.team().await?;
            let mut commit = Commit::new(now);
            for record in due {
                let row = Row {
                    id: Some(record.id),
                    channel_id: record.channel_id,
                    contact_id: record.contact.id,
                };
                let engine = decode(&record.state);
                let rt = self.channel(record.channel_id).await;
                let (mut engine, rt) = match (engine, rt) {
                    (Ok(engine), Ok(rt)) => (engine, rt),
                    (engine, rt) => {
                        tracing::error!(
                            conversation = record.id,
                            engine_ok = engine.is_ok(),
                            channel_ok = rt.is_ok(),
                            "cannot fire deadline; clearing it"
                        );
                        let mut write = self
                            .write(
                                row,
                                &mut Conversation::new(),
                                Step::new(vec![], vec![]),
                                now,
                            )
                            .0;
                        write.status = record.status.clone();
                        write.state = record.state.clone();
                        write.due_at = None;
                        write.closed_at = record.closed_at;
                        write.assignee_id = record.assignee_id;
                        commit.conversations.push(write);
                        continue;
                    }
                };
                let settled = self.settle_early(
                    &rt,
                    &team,
                    record.id,
                    record.contact.name.as_deref(),
                    &mut engine,
                );
                let ctx = self.context(&rt, &team, record.contact.name.as_deref());
                let mut fired = 0;
                while let Some(at) = engine.poll_timeout().filter(|at| *at <= cutoff) {
                    engine.handle_timeout(at, &ctx);
                    self.metrics
                        .lateness(Duration::try_from(now.duration_since(at)).unwrap_or_default());
                    fired += 1;
                    if fired > 1000 {
                        break;
                    }
                }
                commit.conversations.push(
                    self.write(
                        row,
                        &mut engine,
                        Step::new(vec![], settled.into_iter().collect()),
                        now,
                    )
                    .0,
                );
            }
            self.commit(commit).await?;
            if !full {
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn act(&mut self, conversation_id: Id, act: Act) -> Result<Option<Id>, DriverError> {
        let record = self
            .store
            .conversation(conversation_id)
            .await?
            .ok_or(DriverError::NotFound("conversation"))?;
        if record.status == "closed" {
            return Err(DriverError::Closed);
        }
        let rt = self.channel(record.channel_id).await?;
        let team = self.team().await?;
        let mut engine = decode(&record.state)?;
        let settled = self.settle_early(
            &rt,
            &team,
            record.id,
            record.contact.name.as_deref(),
            &mut engine,
        );
        let now = self.clock.now();
        let mut planned = self.plan(&record, act, &team, now).await?;
        planned.step.events.splice(0..0, settled);
        let ctx = self.context(&rt, &team, record.contact.name.as_deref());
        for input in std::mem::take(&mut planned.inputs) {
            engine.handle(now, input, &ctx).map_err(|err| match err {
                InputError::Closed => DriverError::Closed,
                InputError::NotOpen => DriverError::Conflict("the conversation is not open".into()),
            })?;
        }
        let row = Row {
            id: Some(record.id),
            channel_id: record.channel_id,
            contact_id: record.contact.id,
        };
        let mut step = planned.step;
        if let Some(transfer) = planned.transfer_event {
            step.events.push(transfer_event(
                transfer,
                record.assignee_id,
                engine.assignee().and_then(row_id),
            ));
        }
        let (mut write, rejected) = self.write(row, &mut engine, step, now);
        planned.reply.apply(&mut write.messages);
        let created = write
            .messages
            .iter()
            .position(|m| m.kind == "employee" || m.kind == "note");
        let mut commit = Commit::new(now);
        commit.conversations.push(write);
        commit.observers = planned.observers;
        commit.assigned = planned.assigned.into_iter().collect();
        let result = self.commit(commit).await?;
        if let Some(reason) = rejected {
            return Err(rejection(reason));
        }
        Ok(created.and_then(|i| {
            result
                .conversations
                .first()
                .and_then(|(_, ids)| ids.get(i).copied())
        }))
    }

    /// The engine inputs and the rows of an action, before the engine runs.
    async fn plan(
        &mut self,
        record: &ConversationRecord,
        act: Act,
        team: &Team,
        now: Timestamp,
    ) -> Result<Planned, DriverError> {
        let mut planned = Planned::default();
        match act {
            Act::Message {
                employee,
                text,
                attachment,
            } => {
                planned.reply.attachment = attachment;
                planned.inputs.push(Input::EmployeeMessage {
                    employee: eid(employee),
                    text,
                });
            }
            Act::Template { employee, template } => {
                planned.inputs.push(template_input(employee, &template));
                planned.reply.preview = template.preview;
            }
            Act::Note {
                employee,
                text,
                mentions,
            } => {
                let mentioned: Vec<Id> = mentions
                    .iter()
                    .copied()
                    .filter(|m| *m != employee && Some(*m) != record.assignee_id)
                    .collect();
                let excerpt = mention_text(team, employee, &text);
                for m in &mentioned {
                    planned.observers.push(ObserverWrite {
                        conversation_id: record.id,
                        employee_id: *m,
                        added_by: Some(employee),
                    });
                    planned.step.notifications.push(NewNotification {
                        reason: "mention".into(),
                        employee_id: Some(employee),
                        manager_id: *m,
                        wait_started_at: now,
                        waited_seconds: 0,
                        text: Some(excerpt.clone()),
                    });
                }
                planned.note(employee, text, mentions);
            }
            Act::Assign { employee } => {
                planned.assigned = employee;
                planned.inputs.push(Input::Assign {
                    employee: employee.map(eid),
                });
            }
            Act::Close { employee } => planned
                .inputs
                .push(Input::Close(Closer::Employee(eid(employee)))),
            Act::Transfer(transfer) => {
                let (assignee, group_id) = match &transfer.target {
                    TransferTarget::Employee(e) => (*e, None),
                    TransferTarget::Group { group_id, eligible } => (
                        Some(self.pick_from_group(*group_id, eligible).await?),
                        Some(*group_id),
                    ),
                };
                if let Some(comment) = transfer.comment.clone() {
                    planned.note(transfer.by, comment, Vec::new());
                }
                planned.assigned = assignee;
                planned.inputs.push(Input::Assign {
                    employee: assignee.map(eid),
                });
                planned.transfer_event = Some(TransferEvent {
                    by: transfer.by,
                    group_id,
                    comment: transfer.comment,
                });
            }
        }
        Ok(planned)
    }

    /// Round robin among a group's members who may take the chat: online ones
    /// first, else any of them; a validation error naming `group_id` when none may.
    async fn pick_from_group(&self, group_id: Id, eligible: &[Id]) -> Result<Id, DriverError> {
        let candidates: Vec<_> = self
            .store
            .group_candidates(group_id)
            .await?
            .into_iter()
            .filter(|c| eligible.contains(&c.employee_id))
            .collect();
        routing::pick_for_transfer(&candidates).ok_or_else(|| {
            DriverError::Validation(ValidationError::new(
                "group_id",
                "no member of the group may be assigned this conversation",
            ))
        })
    }

    async fn open(
        &mut self,
        channel_id: Id,
        address: &str,
        employee: Id,
        opening: Opening,
    ) -> Result<Id, DriverError> {
        let rt = self.channel(channel_id).await?;
        let team = self.team().await?;
        let now = self.clock.now();
        let existing = self.store.contact_by_address(channel_id, address).await?;
        if let Some(contact) = &existing
            && let Some(record) = self
                .store
                .latest_conversation(channel_id, contact.id)
                .await?
            && record.status == "open"
        {
            return Err(DriverError::Conflict(format!(
                "conversation {} with this contact is already open",
                record.id
            )));
        }
        let mut engine =
            Conversation::continuing(existing.as_ref().and_then(|c| c.last_inbound_at));
        let contact_name = existing.as_ref().and_then(|c| c.name.clone());
        let ctx = self.context(&rt, &team, contact_name.as_deref());
        let (input, extras) = match opening {
            Opening::Text(text) => (
                Input::EmployeeMessage {
                    employee: eid(employee),
                    text,
                },
                ReplyExtras::default(),
            ),
            Opening::Template(t) => (
                template_input(employee, &t),
                ReplyExtras {
                    attachment: None,
                    preview: t.preview,
                },
            ),
        };
        engine
            .handle(now, input, &ctx)
            .map_err(|_| DriverError::Conflict("cannot open the conversation".into()))?;
        if engine.status() == Status::New {
            // Refused before anything is stored: say why (window or length).
            let reason = engine.drain_actions().find_map(|a| match a {
                Action::Reject { reason, .. } => Some(reason),
                _ => None,
            });
            return Err(reason.map_or(DriverError::OutsideWindow, rejection));
        }
        let contact = match existing {
            Some(contact) => contact,
            None => {
                self.store
                    .upsert_contact(channel_id, address, None, None)
                    .await?
            }
        };
        let row = Row {
            id: None,
            channel_id,
            contact_id: contact.id,
        };
        let (mut write, rejected) = self.write(row, &mut engine, Step::new(vec![], vec![]), now);
        if let Some(reason) = rejected {
            return Err(rejection(reason));
        }
        extras.apply(&mut write.messages);
        let mut commit = Commit::new(now);
        commit.conversations.push(write);
        let result = self.commit(commit).await?;
        result
            .conversations
            .first()
            .map(|(id, _)| *id)
            .ok_or(DriverError::NotFound("conversation"))
    }

    /// The routing rules, loaded once and reloaded after a change.
    async fn routing_rules(&mut self) -> Result<Arc<Vec<RoutingRule>>, DriverError> {
        if let Some(rules) = &self.routing_rules {
            return Ok(rules.clone());
        }
        let rules = Arc::new(routing::engine_rules(&self.store.routing_rules().await?));
        self.routing_rules = Some(rules.clone());
        Ok(rules)
    }

    /// The assignee for a new conversation and the `routed` timeline entry: the
    /// first routing rule matching the opening message, else the channel's mode.
    /// `assigned` are the employees routed earlier in the same (uncommitted)
    /// round: they count as already holding those chats.
    async fn route(
        &mut self,
        rt: &ChannelRt,
        team: &Team,
        contact_id: Option<Id>,
        text: &str,
        assigned: &[Id],
    ) -> Result<(Option<Id>, Option<Value>), DriverError> {
        let now = self.clock.now();
        let rules = self.routing_rules().await?;
        if let Some(matched) = match_rule(&rules, &rt.channel.id.to_string(), text) {
            let members = match &matched.rule.target {
                RouteTarget::Group(group) => match group.parse() {
                    Ok(group) => {
                        let mut members = self.store.group_candidates(group).await?;
                        routing::count_assigned(&mut members, assigned, now);
                        members
                    }
                    Err(_) => Vec::new(),
                },
                RouteTarget::Employee(_) => Vec::new(),
            };
            let assignee = routing::rule_assignee(&matched, team, &members);
            return Ok((assignee, Some(routing::rule_event(&matched, assignee))));
        }
        let mode = rt.channel.routing.as_str();
        if mode != "round_robin" && mode != "sticky" {
            return Ok((None, None));
        }
        let mut candidates = self.store.routing_candidates(rt.channel.id).await?;
        routing::count_assigned(&mut candidates, assigned, now);
        let sticky = match (mode, contact_id) {
            ("sticky", Some(contact_id)) => self.store.last_employee_of_contact(contact_id).await?,
            _ => None,
        }
        .filter(|last| {
            candidates
                .iter()
                .any(|c| c.online && c.employee_id == *last)
        });
        let assignee = sticky.or_else(|| routing::pick_round_robin(&candidates));
        Ok((
            assignee,
            assignee.map(|a| json!({"routing": mode, "employee_id": a.to_string()})),
        ))
    }

    async fn deactivated(&mut self, employee: Id) -> Result<usize, DriverError> {
        self.team = None;
        let team = self.team().await?;
        let filter = ConversationFilter {
            status: Some("open".into()),
            assignee_id: Some(employee),
            ..ConversationFilter::default()
        };
        let now = self.clock.now();
        let mut commit = Commit::new(now);
        for record in self.store.conversations(&filter).await? {
            let rt = self.channel(record.channel_id).await?;
            let Ok(mut engine) = decode(&record.state) else {
                continue;
            };
            let ctx = self.context(&rt, &team, record.contact.name.as_deref());
            if engine
                .handle(now, Input::Assign { employee: None }, &ctx)
                .is_err()
            {
                continue;
            }
            let row = Row {
                id: Some(record.id),
                channel_id: record.channel_id,
                contact_id: record.contact.id,
            };
            let step = Step::new(
                vec![],
                vec![event(
                    "unassigned",
                    json!({"reason": "employee_deactivated", "employee_id": employee.to_string()}),
                )],
            );
            commit
                .conversations
                .push(self.write(row, &mut engine, step, now).0);
        }
        let moved = commit.conversations.len();
        if moved > 0 {
            self.commit(commit).await?;
        }
        Ok(moved)
    }
}

/// How long to wait for the next deadline, due at `due`: zero when it may
/// fire (at or before `cutoff`); a short look again when it is due but held
/// back (by a webhook not processed yet, or by the clock's millisecond
/// rounding); otherwise the clock's sleep until it (`None`: a manual clock,
/// which only moves on command).
fn deadline_wait(
    due: Timestamp,
    cutoff: Timestamp,
    now: Timestamp,
    sleep: Option<Duration>,
) -> Option<Duration> {
    if due <= cutoff {
        Some(Duration::ZERO)
    } else if due <= now {
        Some(HELD_DEADLINE_RETRY)
    } else {
        sleep.map(|d| d.max(Duration::from_millis(1)))
    }
}

/// The error for an employee message the engine refused.
fn rejection(reason: replyline_engine::Reason) -> DriverError {
    match reason {
        replyline_engine::Reason::TextTooLong => DriverError::TextTooLong,
        _ => DriverError::OutsideWindow,
    }
}

/// Whether a driver error is the storage failing (not the row being processed).
fn is_storage_failure(err: &DriverError) -> bool {
    matches!(err, DriverError::Store(e) if e.is_storage_failure())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_800_000_000_000 + ms).unwrap()
    }

    #[test]
    fn a_deadline_at_or_before_the_cutoff_fires_now() {
        let wait = deadline_wait(at(10), at(10), at(10), Some(Duration::ZERO));
        assert_eq!(wait, Some(Duration::ZERO));
    }

    #[test]
    fn a_due_deadline_held_back_is_looked_at_again_soon_never_forgotten() {
        // Due, but past the cutoff (a webhook before it, or millisecond rounding).
        let wait = deadline_wait(at(11), at(10), at(11), Some(Duration::ZERO));
        assert_eq!(wait, Some(HELD_DEADLINE_RETRY));
        // The same with a manual clock, which never sleeps on its own.
        assert_eq!(
            deadline_wait(at(11), at(10), at(12), None),
            Some(HELD_DEADLINE_RETRY)
        );
    }

    #[test]
    fn a_future_deadline_sleeps_on_the_clock() {
        let wait = deadline_wait(at(50), at(10), at(10), Some(Duration::from_millis(40)));
        assert_eq!(wait, Some(Duration::from_millis(40)));
        assert_eq!(deadline_wait(at(50), at(10), at(10), None), None);
        let tiny = deadline_wait(at(50), at(10), at(10), Some(Duration::ZERO));
        assert_eq!(tiny, Some(Duration::from_millis(1)));
    }
}
