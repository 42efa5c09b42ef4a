//! `bench ingest` (closed loop: a burst, C webhooks in flight) and `bench load`
//! (open loop: webhooks at a target rate, whatever the server does), both
//! with the automations on and every figure next to the same server's HTTP
//! ceiling measured in the same run.

use super::harness::{Bench, GREETING, NO_REPLY, address, quantile};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// In-flight requests when measuring the HTTP ceiling.
const CEILING_CONCURRENCY: usize = 64;
/// How long the ceiling is measured.
const CEILING_SECONDS: f64 = 3.0;
/// The longest wait for a backlog to drain.
const DRAIN_LIMIT: Duration = Duration::from_secs(900);

/// One phase of a closed-loop burst.
pub struct Phase {
    pub name: &'static str,
    pub requests: usize,
    pub ack_seconds: f64,
    /// p50, p99, max acknowledgement latency in ms.
    pub ack_ms: [f64; 3],
    /// From the phase's first request until every message was processed.
    pub processed_seconds: f64,
}

/// What `bench ingest` measured.
pub struct IngestReport {
    pub ceiling: f64,
    pub concurrency: usize,
    pub phases: Vec<Phase>,
    pub greetings_delivered: usize,
    /// Server CPU until both phases were processed.
    pub cpu_ms_per_message: Option<f64>,
    /// From the first webhook until both phases were processed and every
    /// greeting reached the provider.
    pub all_done_seconds: f64,
    /// Server CPU over the same span (the sends included).
    pub cpu_ms_per_message_with_sends: Option<f64>,
}

/// Posts `requests` webhooks of new contacts, then as many into their open
/// conversations, `concurrency` at a time, each phase drained before the next.
pub async fn ingest(requests: usize, concurrency: usize) -> anyhow::Result<IngestReport> {
    let bench = Arc::new(Bench::start(3600).await?);
    let ceiling = bench.ceiling(CEILING_CONCURRENCY, CEILING_SECONDS).await;
    let cpu_before = bench.cpu_seconds();
    let started = std::time::Instant::now();
    let new = burst(&bench, "new conversations", 0, requests, concurrency, 0).await?;
    let existing = burst(
        &bench,
        "into open conversations",
        0,
        requests,
        concurrency,
        1,
    )
    .await?;
    let cpu = bench.cpu_seconds().zip(cpu_before).map(|(a, b)| a - b);
    let greetings = wait_for(&bench, GREETING, requests, Duration::from_secs(60)).await;
    let all_done_seconds = started.elapsed().as_secs_f64();
    let cpu_all = bench.cpu_seconds().zip(cpu_before).map(|(a, b)| a - b);
    let per_message = |cpu: Option<f64>| cpu.map(|s| s * 1000.0 / (2 * requests) as f64);
    Ok(IngestReport {
        ceiling,
        concurrency,
        phases: vec![new, existing],
        greetings_delivered: greetings,
        cpu_ms_per_message: per_message(cpu),
        all_done_seconds,
        cpu_ms_per_message_with_sends: per_message(cpu_all),
    })
}

/// One closed-loop phase: message number `message` of contacts
/// `first..first + requests`.
async fn burst(
    bench: &Arc<Bench>,
    name: &'static str,
    first: usize,
    requests: usize,
    concurrency: usize,
    message: usize,
) -> anyhow::Result<Phase> {
    let processed_before = bench.metric("replyline_messages_in_total").await? as usize;
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let began = Instant::now();
    let mut tasks = JoinSet::new();
    for contact in first..first + requests {
        let (bench, semaphore) = (bench.clone(), semaphore.clone());
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let sent = Instant::now();
            let ok = bench.post_message(contact, message).await;
            (ok, sent.elapsed().as_secs_f64() * 1000.0)
        });
    }
    let mut latencies = Vec::with_capacity(requests);
    while let Some(done) = tasks.join_next().await {
        let (ok, ms) = done?;
        anyhow::ensure!(ok, "a webhook was not acknowledged");
        latencies.push(ms);
    }
    let ack_seconds = began.elapsed().as_secs_f64();
    let done = bench
        .processed(processed_before + requests, DRAIN_LIMIT)
        .await?;
    latencies.sort_by(f64::total_cmp);
    Ok(Phase {
        name,
        requests,
        ack_seconds,
        ack_ms: [
            quantile(&latencies, 0.5),
            quantile(&latencies, 0.99),
            quantile(&latencies, 1.0),
        ],
        processed_seconds: (done - began).as_secs_f64(),
    })
}

/// Waits until `count` messages with `text` reached the fake provider, or
/// `limit` passed; how many did.
async fn wait_for(bench: &Bench, text: &str, count: usize, limit: Duration) -> usize {
    let began = Instant::now();
    loop {
        let arrived = bench.graph.count(text);
        if arrived >= count || began.elapsed() > limit {
            return arrived;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The shape of one open-loop run.
#[derive(Clone, Copy, Debug)]
pub struct LoadPlan {
    /// Webhooks per second offered.
    pub rate: f64,
    pub seconds: f64,
    /// The share of webhooks from new contacts (the rest write again into
    /// their open conversation).
    pub new_share: f64,
    /// The no-reply delay: every conversation's no-reply falls due this long
    /// after its first message, during the run.
    pub no_reply_seconds: u64,
}

/// What one open-loop run measured.
pub struct LoadReport {
    pub plan: LoadPlan,
    pub ceiling: f64,
    pub sent: usize,
    pub acknowledged: usize,
    /// Ack latency from the instant the request was due (so a stalled server
    /// counts the wait, not only the service time): p50, p99, p999 in ms.
    pub ack_ms: [f64; 3],
    /// Messages processed (engine run, committed with outbox rows) per second,
    /// from the first webhook to the last processed.
    pub processed_rate: f64,
    pub processed_seconds: f64,
    pub new_conversations: usize,
    pub greetings_delivered: usize,
    /// No-reply lateness: arrival at the provider minus (first message + delay),
    /// p50, p99, max in ms.
    pub lateness_ms: [f64; 3],
    pub no_replies: usize,
    /// Webhook to provider: each greeting's arrival at the fake provider minus
    /// the instant its conversation's first webhook was due; p50, p99, max in ms.
    pub greeting_ms: [f64; 3],
    /// The scheduler's own mean lateness (deadline fired minus due, from
    /// `/metrics`), in ms: what the provider path adds is the difference.
    pub scheduler_mean_lateness_ms: f64,
    pub cpu_seconds_per_1000: Option<f64>,
    pub rss_bytes: Option<u64>,
}

/// Offers webhooks at `plan.rate` for `plan.seconds` (open loop), waits until
/// every message is processed and every no-reply fell due, and measures.
pub async fn load(plan: LoadPlan) -> anyhow::Result<LoadReport> {
    anyhow::ensure!(
        plan.rate > 0.0 && plan.seconds > 0.0,
        "--rate and --seconds must be positive"
    );
    let bench = Arc::new(Bench::start(plan.no_reply_seconds).await?);
    let ceiling = bench.ceiling(CEILING_CONCURRENCY, CEILING_SECONDS).await;
    let cpu_before = bench.cpu_seconds();
    let total = (plan.rate * plan.seconds).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / plan.rate);
    let began = Instant::now();
    let mut first_message: HashMap<usize, Instant> = HashMap::new();
    let mut next_message: Vec<usize> = Vec::new();
    let mut tasks = JoinSet::new();
    let mut new_due = 0.0;
    for n in 0..total {
        let due = began + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        new_due += plan.new_share;
        let contact = if new_due >= 1.0 || next_message.is_empty() {
            new_due = (new_due - 1.0).max(0.0);
            next_message.push(0);
            first_message.insert(next_message.len() - 1, due);
            next_message.len() - 1
        } else {
            n % next_message.len()
        };
        let message = next_message[contact];
        next_message[contact] += 1;
        let bench = bench.clone();
        tasks.spawn(async move {
            let ok = bench.post_message(contact, message).await;
            (ok, due.elapsed().as_secs_f64() * 1000.0)
        });
    }
    let mut latencies = Vec::with_capacity(total);
    let mut acknowledged = 0;
    while let Some(done) = tasks.join_next().await {
        let (ok, ms) = done?;
        acknowledged += usize::from(ok);
        latencies.push(ms);
    }
    let processed = bench.processed(acknowledged, DRAIN_LIMIT).await?;
    let cpu = bench.cpu_seconds().zip(cpu_before).map(|(a, b)| a - b);
    let rss_bytes = bench.rss_bytes();
    let new_conversations = first_message.len();
    let no_reply_due = Duration::from_secs(plan.no_reply_seconds);
    let greetings = wait_for(&bench, GREETING, new_conversations, Duration::from_secs(60)).await;
    let last_due = began + interval.mul_f64(total as f64) + no_reply_due;
    let limit = last_due.saturating_duration_since(Instant::now()) + Duration::from_secs(120);
    let no_replies = wait_for(&bench, NO_REPLY, new_conversations, limit).await;
    let lateness = lateness_ms(&bench, &first_message, no_reply_due, NO_REPLY);
    let greeting = lateness_ms(&bench, &first_message, Duration::ZERO, GREETING);
    let late_sum = bench
        .metric("replyline_deadline_lateness_seconds_sum")
        .await?;
    let late_count = bench
        .metric("replyline_deadline_lateness_seconds_count")
        .await?;
    latencies.sort_by(f64::total_cmp);
    let processed_seconds = (processed - began).as_secs_f64();
    Ok(LoadReport {
        plan,
        ceiling,
        sent: total,
        acknowledged,
        ack_ms: [
            quantile(&latencies, 0.5),
            quantile(&latencies, 0.99),
            quantile(&latencies, 0.999),
        ],
        processed_rate: acknowledged as f64 / processed_seconds,
        processed_seconds,
        new_conversations,
        greetings_delivered: greetings,
        lateness_ms: [
            quantile(&lateness, 0.5),
            quantile(&lateness, 0.99),
            quantile(&lateness, 1.0),
        ],
        no_replies,
        greeting_ms: [
            quantile(&greeting, 0.5),
            quantile(&greeting, 0.99),
            quantile(&greeting, 1.0),
        ],
        scheduler_mean_lateness_ms: late_sum * 1000.0 / late_count.max(1.0),
        cpu_seconds_per_1000: cpu.map(|s| s * 1000.0 / acknowledged.max(1) as f64),
        rss_bytes,
    })
}

/// Each `text` message's lateness in ms, sorted: its arrival at the fake
/// provider minus its contact's first message plus `delay`.
fn lateness_ms(
    bench: &Bench,
    first: &HashMap<usize, Instant>,
    delay: Duration,
    text: &str,
) -> Vec<f64> {
    let by_address: HashMap<String, Instant> =
        first.iter().map(|(c, at)| (address(*c), *at)).collect();
    let mut late: Vec<f64> = bench
        .graph
        .arrivals()
        .iter()
        .filter(|a| a.text == text)
        .filter_map(|a| {
            let due = *by_address.get(&a.to)? + delay;
            Some(a.at.saturating_duration_since(due).as_secs_f64() * 1000.0)
        })
        .collect();
    late.sort_by(f64::total_cmp);
    late
}
