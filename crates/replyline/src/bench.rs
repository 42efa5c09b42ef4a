//! `replyline bench`: measures the engine's throughput and memory on this machine.

use jiff::{SignedDuration, Timestamp};
use replyline_engine::{
    ChannelKind, Context, Conversation, EmployeeId, Input, Member, Policy, Role, Settings, Team,
};
use serde_json::json;
use std::time::Instant;

/// What one run measured.
pub struct EngineReport {
    pub events: u64,
    pub seconds: f64,
    pub conversations: usize,
    pub bytes_per_conversation: Option<f64>,
}

impl EngineReport {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.seconds
    }
}

fn policy() -> Policy {
    let settings = Settings::from_partial(&json!({
        "greeting": {"enabled": true},
        "no_reply": {"enabled": true, "after_seconds": 300},
        "closing": {"enabled": true},
        "notify_manager_first": {"enabled": true, "after_seconds": 600, "escalate_after_seconds": 600},
        "notify_manager_next": {"enabled": true, "after_seconds": 900},
        "sign_outgoing": {"enabled": true},
        "auto_close": {"enabled": true, "after_seconds": 86400},
    }))
    .expect("bench settings are well-formed");
    Policy::new(settings, |_| true).expect("bench settings are valid")
}

fn team() -> Team {
    let mut team = Team::default();
    for (id, name, role, manager) in [
        ("ivan", "Иван Петров", Role::Employee, Some("olga")),
        ("olga", "Ольга Смирнова", Role::Manager, None),
    ] {
        let member = Member {
            name: name.into(),
            display_name: None,
            role,
            manager: manager.map(EmployeeId::new),
            active: true,
        };
        team.insert(EmployeeId::new(id), member);
    }
    team
}

/// Resident memory of this process in bytes (Linux), if it can be read.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Plays `events` events (client messages, employee replies, due deadlines)
/// round-robin over `conversations` open conversations on one thread.
pub fn engine(conversations: usize, events: u64) -> EngineReport {
    let policy = policy();
    let team = team();
    let ctx = Context {
        policy: &policy,
        team: &team,
        channel: ChannelKind::Whatsapp,
        company_name: "Ромашка",
        contact_name: Some("Анна"),
    };
    let start: Timestamp = "2026-11-25T07:00:00Z".parse().expect("valid start");
    let ivan = EmployeeId::new("ivan");

    let before = resident_bytes();
    let mut states: Vec<Conversation> = Vec::with_capacity(conversations);
    for _ in 0..conversations {
        let mut conversation = Conversation::new();
        let _ = conversation.handle(start, Input::ClientMessage, &ctx);
        let _ = conversation.drain_actions().count();
        states.push(conversation);
    }
    let after = resident_bytes();
    let bytes_per_conversation = before
        .zip(after)
        .map(|(before, after)| after.saturating_sub(before) as f64 / conversations as f64);

    let began = Instant::now();
    let mut actions = 0usize;
    for event in 0..events {
        let index = (event % conversations as u64) as usize;
        let round = event / conversations as u64;
        let now = start + SignedDuration::from_millis(event as i64);
        let conversation = &mut states[index];
        let input = if round % 2 == 1 {
            Input::ClientMessage
        } else {
            Input::EmployeeMessage {
                employee: ivan.clone(),
                text: "Отвечаю".into(),
            }
        };
        let _ = conversation.handle(now, input, &ctx);
        if conversation.poll_timeout().is_some_and(|due| due <= now) {
            conversation.handle_timeout(now, &ctx);
        }
        actions += conversation.drain_actions().count();
    }
    let seconds = began.elapsed().as_secs_f64();
    std::hint::black_box(actions);
    EngineReport {
        events,
        seconds,
        conversations,
        bytes_per_conversation,
    }
}

/// What the webhook ingest run measured.
pub struct IngestReport {
    pub requests: usize,
    pub concurrency: usize,
    pub seconds: f64,
    /// Acknowledgement latencies in milliseconds: p50, p99, max.
    pub latency_ms: [f64; 3],
    /// Time until every acknowledged message was processed into a conversation.
    pub processed_seconds: f64,
}

/// Starts `replyline serve` (this executable) on a fresh SQLite file and
/// posts `requests` signed WhatsApp webhooks, `concurrency` at a time.
pub async fn ingest(requests: usize, concurrency: usize) -> anyhow::Result<IngestReport> {
    use anyhow::Context as _;
    use tokio::io::AsyncBufReadExt;

    let dir = std::env::temp_dir().join(format!("replyline-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .arg("serve")
        .env("REPLYLINE__LISTEN", "127.0.0.1:0")
        .env(
            "REPLYLINE__DATABASE_URL",
            format!("sqlite://{}/bench.db", dir.display()),
        )
        .env("REPLYLINE__ADMIN_EMAIL", "bench@example.com")
        .env("REPLYLINE__ADMIN_PASSWORD", "bench-password")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting replyline serve")?;
    let stdout = child.stdout.take().context("server stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next_line()
            .await?
            .context("server exited before listening")?;
        if let Some(addr) = line.strip_prefix("listening on ") {
            break addr.trim().to_owned();
        }
    };
    let http = replyline_whatsapp::reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "bench@example.com", "password": "bench-password"}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"].as_str().context("login token")?.to_owned();
    let channel: serde_json::Value = http
        .post(format!("{base}/api/v1/channels"))
        .bearer_auth(&token)
        .json(&json!({"kind": "whatsapp", "name": "Bench", "whatsapp": {
            "phone_number_id": "100000000000001", "access_token": "t", "app_secret": "bench-secret",
            "verify_token": "v", "api_base_url": "http://127.0.0.1:9"}}))
        .send()
        .await?
        .json()
        .await?;
    let channel_id = channel["id"].as_str().context("channel id")?.to_owned();
    let url = format!("{base}/webhooks/whatsapp/{channel_id}");

    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
    let began = Instant::now();
    let mut tasks = Vec::with_capacity(requests);
    for n in 0..requests {
        let body = webhook_body(n);
        let signature = replyline_whatsapp::sign(b"bench-secret", body.as_bytes());
        let (http, url, semaphore) = (http.clone(), url.clone(), semaphore.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let sent = Instant::now();
            let response = http
                .post(url)
                .header("X-Hub-Signature-256", signature)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await;
            let ok = response.map(|r| r.status().is_success()).unwrap_or(false);
            (ok, sent.elapsed().as_secs_f64() * 1000.0)
        }));
    }
    let mut latencies = Vec::with_capacity(requests);
    for task in tasks {
        let (ok, ms) = task.await?;
        anyhow::ensure!(ok, "a webhook was not acknowledged");
        latencies.push(ms);
    }
    let seconds = began.elapsed().as_secs_f64();
    loop {
        let metrics = http
            .get(format!("{base}/metrics"))
            .send()
            .await?
            .text()
            .await?;
        if metric(&metrics, "replyline_messages_in_total") >= requests as f64 {
            break;
        }
        anyhow::ensure!(began.elapsed().as_secs() < 600, "processing did not finish");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let processed_seconds = began.elapsed().as_secs_f64();
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    Ok(IngestReport {
        requests,
        concurrency,
        seconds,
        latency_ms: [pick(0.5), pick(0.99), pick(1.0)],
        processed_seconds,
    })
}

/// The value of an unlabelled metric in Prometheus text, 0 when absent.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .find_map(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

fn webhook_body(n: usize) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "100000000000001"},
        "contacts": [{"profile": {"name": format!("Клиент {n}")}, "wa_id": format!("7900{n:07}")}],
        "messages": [{"from": format!("7900{n:07}"), "id": format!("wamid.bench.{n}"), "timestamp": "1764054000",
                      "type": "text", "text": {"body": "Здравствуйте"}}]}}]}]})
    .to_string()
}
