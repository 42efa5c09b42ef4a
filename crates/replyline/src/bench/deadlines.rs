//! `bench deadlines`: the scheduler with a million pending deadlines. The
//! server's database is loaded, while it is stopped, with conversations
//! waiting for a reply (each with a pending no-reply) through the store's own
//! commit; a measured set falls due a few seconds after the restart, spread
//! over an interval; lateness is each no-reply's arrival at the fake provider
//! minus its due instant.

use super::harness::{Bench, NO_REPLY, address, quantile};
use anyhow::Context as _;
use jiff::{SignedDuration, Timestamp};
use replyline_engine::{ChannelKind, Context, Conversation, Input, Policy, Team};
use replyline_store::{Commit, ContactUpsert, ConversationWrite, Id, NewMessage, Store};
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The no-reply delay of every conversation.
const DELAY_SECONDS: i64 = 3600;
/// How long after the preload the measured set starts falling due (the
/// restart must be done by then).
const LEAD_SECONDS: f64 = 15.0;
/// Conversations per preload commit.
const PRELOAD_BATCH: usize = 2_000;

/// What one run measured.
pub struct DeadlinesReport {
    pub pending: usize,
    pub measured: usize,
    pub spread_seconds: f64,
    pub preload_seconds: f64,
    /// From spawning the server to its listening, with every deadline pending.
    pub restart_seconds: f64,
    pub fired: usize,
    /// No-reply lateness at the provider: p50, p99, max in ms.
    pub lateness_ms: [f64; 3],
    /// The scheduler's own mean lateness (fired minus due, `/metrics`), in ms.
    pub scheduler_mean_lateness_ms: f64,
    pub rss_bytes: Option<u64>,
}

/// Preloads `pending` far-off deadlines and `measured` ones due
/// `LEAD_SECONDS` after the preload, spread over `spread_seconds`; restarts
/// the server and measures how late the measured no-replies reach the provider.
pub async fn deadlines(
    pending: usize,
    measured: usize,
    spread_seconds: f64,
) -> anyhow::Result<DeadlinesReport> {
    let settings =
        json!({"no_reply": {"enabled": true, "after_seconds": DELAY_SECONDS, "text": NO_REPLY}});
    let mut bench = Bench::start_with(&settings).await?;
    bench.stop().await?;
    let store = replyline_store::connect(&bench.database_url()).await?;
    let channel_id: Id = bench.channel_id.parse()?;
    let channel = store.channel(channel_id).await?.context("bench channel")?;
    let policy = replyline_server::driver::channel_policy(&channel)?;
    let team = replyline_server::driver::build_team(&store.employees().await?);
    let loader = Loader {
        store: store.as_ref(),
        channel_id,
        policy: &policy,
        team: &team,
    };

    let began = Instant::now();
    let now = Timestamp::now();
    loader.load(0..pending, |_| now).await?;
    let preload_seconds = began.elapsed().as_secs_f64();
    // The measured set: waits that started DELAY before their due instant.
    let (reference, reference_at) = (Instant::now(), Timestamp::now());
    let lead = SignedDuration::from_secs_f64(LEAD_SECONDS);
    let due = move |i: usize| {
        let offset = spread_seconds * i as f64 / measured.max(1) as f64;
        reference_at + lead + SignedDuration::from_secs_f64(offset)
    };
    let delay = SignedDuration::from_secs(DELAY_SECONDS);
    loader
        .load(pending..pending + measured, |i| due(i - pending) - delay)
        .await?;
    drop(store);

    let restarting = Instant::now();
    bench.restart().await?;
    let restart_seconds = restarting.elapsed().as_secs_f64();
    let last_due = reference + Duration::from_secs_f64(LEAD_SECONDS + spread_seconds);
    let limit = last_due.saturating_duration_since(Instant::now()) + Duration::from_secs(60);
    let waited = Instant::now();
    while bench.graph.count(NO_REPLY) < measured && waited.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let due_by_address: HashMap<String, Instant> = (0..measured)
        .map(|i| {
            let after = due(i).duration_since(reference_at);
            let instant = reference + Duration::try_from(after).unwrap_or_default();
            (address(pending + i), instant)
        })
        .collect();
    let mut lateness: Vec<f64> = bench
        .graph
        .arrivals()
        .iter()
        .filter(|a| a.text == NO_REPLY)
        .filter_map(|a| {
            let due = due_by_address.get(&a.to)?;
            Some(a.at.saturating_duration_since(*due).as_secs_f64() * 1000.0)
        })
        .collect();
    lateness.sort_by(f64::total_cmp);
    let late_sum = bench
        .metric("replyline_deadline_lateness_seconds_sum")
        .await?;
    let late_count = bench
        .metric("replyline_deadline_lateness_seconds_count")
        .await?;
    Ok(DeadlinesReport {
        pending,
        measured,
        spread_seconds,
        preload_seconds,
        restart_seconds,
        fired: lateness.len(),
        lateness_ms: [
            quantile(&lateness, 0.5),
            quantile(&lateness, 0.99),
            quantile(&lateness, 1.0),
        ],
        scheduler_mean_lateness_ms: late_sum * 1000.0 / late_count.max(1.0),
        rss_bytes: bench.rss_bytes(),
    })
}

/// Writes waiting conversations straight into the stopped server's database,
/// each run through the engine as the driver would (one client message).
struct Loader<'a> {
    store: &'a dyn Store,
    channel_id: Id,
    policy: &'a Policy,
    team: &'a Team,
}

impl Loader<'_> {
    /// Conversations of contacts `contacts`, contact `i` having written at `wrote(i)`.
    async fn load(
        &self,
        contacts: std::ops::Range<usize>,
        wrote: impl Fn(usize) -> Timestamp,
    ) -> anyhow::Result<()> {
        let ctx = Context {
            policy: self.policy,
            team: self.team,
            channel: ChannelKind::Whatsapp,
            company_name: "",
            contact_name: None,
        };
        let contacts: Vec<usize> = contacts.collect();
        for batch in contacts.chunks(PRELOAD_BATCH) {
            let mut commit = Commit::new(Timestamp::now());
            for &i in batch {
                let at = wrote(i);
                let mut engine = Conversation::new();
                let _ = engine.handle(at, Input::ClientMessage, &ctx);
                drop(engine.drain_actions());
                commit.conversations.push(ConversationWrite {
                    id: None,
                    channel_id: self.channel_id,
                    contact_id: 0,
                    contact: Some(ContactUpsert {
                        address: address(i),
                        name: None,
                        inbound_at: Some(at),
                    }),
                    status: "open".into(),
                    assignee_id: None,
                    waiting_since: engine.waiting_since(),
                    closed_at: None,
                    last_message_at: Some(at),
                    state: serde_json::to_string(&engine)?,
                    due_at: engine.poll_timeout(),
                    messages: vec![NewMessage {
                        direction: "in".into(),
                        kind: "client".into(),
                        text: Some("Здравствуйте".into()),
                        status: "received".into(),
                        provider_id: Some(format!("wamid.preload.{i}")),
                        at: Some(at),
                        ..NewMessage::default()
                    }],
                    events: vec![],
                    notifications: vec![],
                });
            }
            self.store.commit(commit).await?;
        }
        Ok(())
    }
}
