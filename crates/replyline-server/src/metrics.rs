//! In-process counters and a latency histogram, rendered as Prometheus text.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// Process metrics; gauges from the database are added at render time.
#[derive(Debug, Default)]
pub struct Metrics {
    pub messages_in: AtomicU64,
    pub messages_duplicate: AtomicU64,
    notifications: AtomicU64,
    outbound: Mutex<BTreeMap<String, u64>>,
    rule_firings: Mutex<BTreeMap<(String, String), u64>>,
    webhook_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    webhook_count: AtomicU64,
    webhook_sum_micros: AtomicU64,
    /// Deadline lateness (seconds past due when fired), summed.
    lateness_sum_millis: AtomicU64,
    lateness_count: AtomicU64,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    *map.entry(key).or_default() += 1;
}

impl Metrics {
    /// An outgoing message reached a final send outcome (`sent`, `failed`, `skipped`, `retry`).
    pub fn outbound(&self, outcome: &str) {
        bump(&self.outbound, outcome.to_owned());
    }

    /// A rule decision.
    pub fn rule(&self, rule: &str, outcome: &str) {
        bump(&self.rule_firings, (rule.to_owned(), outcome.to_owned()));
    }

    /// Notifications created.
    pub fn notifications(&self, n: u64) {
        self.notifications.fetch_add(n, Ordering::Relaxed);
    }

    /// One webhook answered after `elapsed`.
    pub fn webhook_latency(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        for (bucket, bound) in self.webhook_buckets.iter().zip(LATENCY_BUCKETS) {
            if secs <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.webhook_count.fetch_add(1, Ordering::Relaxed);
        self.webhook_sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// A deadline fired `late` after it was due.
    pub fn lateness(&self, late: Duration) {
        self.lateness_sum_millis
            .fetch_add(late.as_millis() as u64, Ordering::Relaxed);
        self.lateness_count.fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus text exposition, with database gauges.
    pub fn render(&self, gauges: replyline_store::Gauges) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# TYPE replyline_messages_in_total counter\nreplyline_messages_in_total {}",
            load(&self.messages_in)
        );
        let _ = writeln!(
            out,
            "# TYPE replyline_messages_duplicate_total counter\nreplyline_messages_duplicate_total {}",
            load(&self.messages_duplicate)
        );
        let _ = writeln!(out, "# TYPE replyline_messages_out_total counter");
        for (outcome, n) in self
            .outbound
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "replyline_messages_out_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# TYPE replyline_rule_decisions_total counter");
        for ((rule, outcome), n) in self
            .rule_firings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "replyline_rule_decisions_total{{rule=\"{rule}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# TYPE replyline_notifications_total counter\nreplyline_notifications_total {}",
            load(&self.notifications)
        );
        let _ = writeln!(out, "# TYPE replyline_webhook_latency_seconds histogram");
        for (bucket, bound) in self.webhook_buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                out,
                "replyline_webhook_latency_seconds_bucket{{le=\"{bound}\"}} {}",
                load(bucket)
            );
        }
        let count = load(&self.webhook_count);
        let _ = writeln!(
            out,
            "replyline_webhook_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "replyline_webhook_latency_seconds_sum {}",
            load(&self.webhook_sum_micros) as f64 / 1e6
        );
        let _ = writeln!(out, "replyline_webhook_latency_seconds_count {count}");
        let _ = writeln!(out, "# TYPE replyline_deadline_lateness_seconds summary");
        let _ = writeln!(
            out,
            "replyline_deadline_lateness_seconds_sum {}",
            load(&self.lateness_sum_millis) as f64 / 1e3
        );
        let _ = writeln!(
            out,
            "replyline_deadline_lateness_seconds_count {}",
            load(&self.lateness_count)
        );
        let _ = writeln!(
            out,
            "# TYPE replyline_outbox_depth gauge\nreplyline_outbox_depth {}",
            gauges.outbox_depth
        );
        let _ = writeln!(
            out,
            "# TYPE replyline_pending_deadlines gauge\nreplyline_pending_deadlines {}",
            gauges.pending_deadlines
        );
        let _ = writeln!(
            out,
            "# TYPE replyline_inbox_pending gauge\nreplyline_inbox_pending {}",
            gauges.inbox_pending
        );
        let _ = writeln!(
            out,
            "# HELP replyline_inbox_failed Acknowledged webhook bodies whose processing keeps failing (retried, listed at /api/v1/inbox/failed)\n# TYPE replyline_inbox_failed gauge\nreplyline_inbox_failed {}",
            gauges.inbox_failed
        );
        out
    }
}
