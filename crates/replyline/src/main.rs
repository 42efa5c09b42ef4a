//! The `replyline` command line: serve, migrate, simulate, demo, users and tokens.

mod bench;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use replyline_server::config::Config;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "replyline",
    version,
    about = "Self-hosted messenger inbox with a reply clock"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (HTTP API, webhooks, scheduler, outbox).
    Serve {
        /// TOML configuration file; REPLYLINE__<KEY> environment variables override it.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run a scenario through the engine with virtual time and print every action as JSON lines.
    Simulate {
        /// Scenario file (YAML or JSON), see SPEC §7.
        file: PathBuf,
        /// Also print rule decisions and state changes (the conversation timeline).
        #[arg(long)]
        explain: bool,
    },
    /// Start a self-contained demo: a server, a fake WhatsApp and a customer writing in.
    Demo,
    /// Measure this machine: engine throughput and memory, or webhook ingest.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Manage employees.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Engine events per second on one core, and memory per open conversation.
    Engine {
        #[arg(long, default_value_t = 100_000)]
        conversations: usize,
        #[arg(long, default_value_t = 5_000_000)]
        events: u64,
    },
    /// A burst of signed WhatsApp webhooks (new contacts, then into their open
    /// conversations) against a fresh `serve` on SQLite, automations on.
    Ingest {
        #[arg(long, default_value_t = 5_000)]
        requests: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// Open-loop load: signed webhooks at a target rate (a mix of new contacts
    /// and existing conversations), a fake Graph API counting arrivals.
    Load {
        /// Webhooks per second offered; several runs for a comma-separated list.
        #[arg(long, value_delimiter = ',', default_value = "1000")]
        rate: Vec<f64>,
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
        /// Share of webhooks from new contacts.
        #[arg(long, default_value_t = 0.3)]
        new_share: f64,
        /// No-reply delay; deadlines fall due during the run when shorter than it.
        #[arg(long, default_value_t = 5)]
        no_reply_seconds: u64,
        /// Appends one CSV line per run to this file (for scripts/bench-plot).
        #[arg(long)]
        csv: Option<PathBuf>,
    },
    /// The scheduler with many pending deadlines: preloaded while the server
    /// is stopped, a measured set falling due after the restart.
    Deadlines {
        #[arg(long, default_value_t = 1_000_000)]
        pending: usize,
        #[arg(long, default_value_t = 10_000)]
        measured: usize,
        /// The measured deadlines fall due spread over this many seconds.
        #[arg(long, default_value_t = 10.0)]
        spread_seconds: f64,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add an employee; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, manager or employee.
        #[arg(long)]
        role: String,
        #[arg(long)]
        manager_email: Option<String>,
        /// Read the password from standard input (required).
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a bearer token for an employee and print it.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// List an employee's tokens (id, label, created, last used); never the secrets.
    List {
        #[arg(long)]
        email: String,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Revoke a token by its id (from `token list` or `GET /api/v1/tokens`).
    Revoke {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn bench_command(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Engine {
            conversations,
            events,
        } => {
            anyhow::ensure!(
                conversations > 0 && events > 0,
                "--conversations and --events must be positive"
            );
            let report = bench::engine(conversations, events);
            println!(
                "engine: {} events over {} conversations in {:.3} s = {:.0} events/s (one thread)",
                report.events,
                report.conversations,
                report.seconds,
                report.events_per_second()
            );
            match report.bytes_per_conversation {
                Some(bytes) => println!("memory: {bytes:.0} bytes resident per open conversation"),
                None => println!("memory: /proc/self/statm not readable here"),
            }
            Ok(())
        }
        BenchCommand::Ingest {
            requests,
            concurrency,
        } => {
            anyhow::ensure!(
                requests > 0 && concurrency > 0,
                "--requests and --concurrency must be positive"
            );
            let runtime = tokio::runtime::Runtime::new()?;
            let report = runtime.block_on(bench::ingest(requests, concurrency))?;
            print_ingest(&report);
            Ok(())
        }
        BenchCommand::Load {
            rate,
            seconds,
            new_share,
            no_reply_seconds,
            csv,
        } => {
            anyhow::ensure!(
                (0.0..=1.0).contains(&new_share),
                "--new-share must be between 0 and 1"
            );
            let runtime = tokio::runtime::Runtime::new()?;
            for rate in rate {
                let plan = bench::LoadPlan {
                    rate,
                    seconds,
                    new_share,
                    no_reply_seconds,
                };
                let report = runtime.block_on(bench::load(plan))?;
                print_load(&report);
                if let Some(path) = &csv {
                    append_csv(path, &report)?;
                }
            }
            Ok(())
        }
        BenchCommand::Deadlines {
            pending,
            measured,
            spread_seconds,
        } => {
            anyhow::ensure!(
                measured > 0 && spread_seconds >= 0.0,
                "--measured must be positive and --spread-seconds not negative"
            );
            let runtime = tokio::runtime::Runtime::new()?;
            let report = runtime.block_on(bench::deadlines(pending, measured, spread_seconds))?;
            print_deadlines(&report);
            Ok(())
        }
    }
}

fn print_deadlines(r: &bench::DeadlinesReport) {
    println!(
        "deadlines: {} pending preloaded in {:.1} s; restart (spawn to listening) {:.2} s",
        r.pending, r.preload_seconds, r.restart_seconds
    );
    println!(
        "  {} of {} measured no-replies due over {:.0} s reached the provider; lateness p50 {:.1} / p99 {:.1} / max {:.1} ms; scheduler's mean lateness {:.1} ms",
        r.fired,
        r.measured,
        r.spread_seconds,
        r.lateness_ms[0],
        r.lateness_ms[1],
        r.lateness_ms[2],
        r.scheduler_mean_lateness_ms
    );
    if let Some(rss) = r.rss_bytes {
        println!("  server: {:.1} MiB resident", rss as f64 / 1_048_576.0);
    }
}

fn print_ingest(r: &bench::IngestReport) {
    println!(
        "HTTP ceiling (trivial endpoint, same server, 64 in flight): {:.0} requests/s",
        r.ceiling
    );
    for p in &r.phases {
        let ack = p.requests as f64 / p.ack_seconds;
        let processed = p.requests as f64 / p.processed_seconds;
        println!(
            "{}: {} webhooks, {} concurrent: acknowledged {:.0}/s (1/{:.1} of ceiling), p50 {:.1} / p99 {:.1} / max {:.1} ms; \
             processed {:.0}/s (1/{:.1} of ceiling) in {:.2} s",
            p.name,
            p.requests,
            r.concurrency,
            ack,
            r.ceiling / ack,
            p.ack_ms[0],
            p.ack_ms[1],
            p.ack_ms[2],
            processed,
            r.ceiling / processed,
            p.processed_seconds
        );
    }
    println!("greetings at the fake provider: {}", r.greetings_delivered);
    if let Some(ms) = r.cpu_ms_per_message {
        println!("server CPU: {ms:.3} ms per message until processed");
    }
    let messages: usize = r.phases.iter().map(|p| p.requests).sum();
    println!(
        "every message processed and every greeting at the provider after {:.2} s ({:.0} messages/s)",
        r.all_done_seconds,
        messages as f64 / r.all_done_seconds
    );
    if let Some(ms) = r.cpu_ms_per_message_with_sends {
        println!("server CPU: {ms:.3} ms per message with the sends");
    }
}

fn print_load(r: &bench::LoadReport) {
    let ratio = |rate: f64| r.ceiling / rate.max(f64::MIN_POSITIVE);
    println!(
        "load {:.0}/s for {:.0} s ({:.0} % new contacts, no-reply after {} s); HTTP ceiling {:.0}/s",
        r.plan.rate,
        r.plan.seconds,
        r.plan.new_share * 100.0,
        r.plan.no_reply_seconds,
        r.ceiling
    );
    println!(
        "  acknowledged {} of {}; ack p50 {:.1} / p99 {:.1} / p999 {:.1} ms (from the instant each was due)",
        r.acknowledged, r.sent, r.ack_ms[0], r.ack_ms[1], r.ack_ms[2]
    );
    println!(
        "  processed {:.0} messages/s (1/{:.1} of ceiling), all {} after {:.2} s; {} new conversations, {} greetings at the provider",
        r.processed_rate,
        ratio(r.processed_rate),
        r.acknowledged,
        r.processed_seconds,
        r.new_conversations,
        r.greetings_delivered
    );
    println!(
        "  webhook to provider (greeting): p50 {:.1} / p99 {:.1} / max {:.1} ms",
        r.greeting_ms[0], r.greeting_ms[1], r.greeting_ms[2]
    );
    println!(
        "  no-reply lateness at the provider p50 {:.1} / p99 {:.1} / max {:.1} ms over {} no-replies; scheduler's mean lateness {:.1} ms",
        r.lateness_ms[0],
        r.lateness_ms[1],
        r.lateness_ms[2],
        r.no_replies,
        r.scheduler_mean_lateness_ms
    );
    if let (Some(cpu), Some(rss)) = (r.cpu_seconds_per_1000, r.rss_bytes) {
        println!(
            "  server: {cpu:.3} CPU seconds per 1,000 messages, {:.1} MiB resident",
            rss as f64 / 1_048_576.0
        );
    }
}

fn append_csv(path: &std::path::Path, r: &bench::LoadReport) -> anyhow::Result<()> {
    use std::io::Write as _;
    let fresh = !path.exists();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    if fresh {
        writeln!(
            file,
            "rate,ceiling,acknowledged,ack_p50_ms,ack_p99_ms,ack_p999_ms,processed_rate,lateness_p50_ms,lateness_p99_ms,lateness_max_ms,cpu_s_per_1000,rss_bytes"
        )?;
    }
    writeln!(
        file,
        "{},{:.0},{},{:.2},{:.2},{:.2},{:.1},{:.1},{:.1},{:.1},{:.4},{}",
        r.plan.rate,
        r.ceiling,
        r.acknowledged,
        r.ack_ms[0],
        r.ack_ms[1],
        r.ack_ms[2],
        r.processed_rate,
        r.lateness_ms[0],
        r.lateness_ms[1],
        r.lateness_ms[2],
        r.cpu_seconds_per_1000.unwrap_or(f64::NAN),
        r.rss_bytes.unwrap_or(0)
    )?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate { file, explain } => simulate(&file, explain),
        Command::Serve { config } => serve(config.as_deref()),
        Command::Migrate { config } => migrate(config.as_deref()),
        Command::Demo => demo(),
        Command::Bench { command } => bench_command(command),
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    name,
                    role,
                    manager_email,
                    password_stdin,
                    config,
                },
        } => user_add(
            config.as_deref(),
            &email,
            &name,
            &role,
            manager_email.as_deref(),
            password_stdin,
        ),
        Command::Token {
            command: TokenCommand::Create { email, config },
        } => token_create(config.as_deref(), &email),
        Command::Token {
            command: TokenCommand::List { email, config },
        } => token_list(config.as_deref(), &email),
        Command::Token {
            command: TokenCommand::Revoke { id, config },
        } => token_revoke(config.as_deref(), id),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to standard error; colour codes only when it is a terminal (never in
/// a file, a pipe or the journal) and `NO_COLOR` is unset.
fn init_logging() {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .try_init();
}

fn load_config(file: Option<&Path>) -> anyhow::Result<Config> {
    Ok(Config::load(file, std::env::vars())?)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn simulate(file: &PathBuf, explain: bool) -> anyhow::Result<()> {
    let source = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read scenario {}", file.display()))?;
    let output = replyline_sim::run_source(&source, explain)
        .with_context(|| format!("scenario {}", file.display()))?;
    print!("{output}");
    Ok(())
}

fn serve(file: Option<&Path>) -> anyhow::Result<()> {
    init_logging();
    let config = load_config(file)?;
    runtime()?
        .block_on(replyline_server::serve(config))
        .context("serve")
}

fn migrate(file: Option<&Path>) -> anyhow::Result<()> {
    init_logging();
    let config = load_config(file)?;
    runtime()?
        .block_on(replyline_server::open_store(&config))
        .context("migrate")?;
    println!("database {} is up to date", config.database_url);
    Ok(())
}

fn demo() -> anyhow::Result<()> {
    init_logging();
    runtime()?
        .block_on(replyline_server::demo::run())
        .context("demo")
}

fn read_password() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the password from standard input")?;
    let password = input.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(
        password.chars().count() >= 8,
        "the password must have at least 8 characters"
    );
    Ok(password)
}

fn user_add(
    file: Option<&Path>,
    email: &str,
    name: &str,
    role: &str,
    manager_email: Option<&str>,
    password_stdin: bool,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        password_stdin,
        "pass --password-stdin and the password on standard input"
    );
    anyhow::ensure!(
        ["admin", "manager", "employee"].contains(&role),
        "role must be admin, manager or employee"
    );
    let password = read_password()?;
    let config = load_config(file)?;
    runtime()?.block_on(async {
        let store = replyline_server::open_store(&config).await?;
        let manager_id = match manager_email {
            Some(m) => Some(
                store
                    .employee_by_email(m)
                    .await?
                    .with_context(|| format!("no employee with e-mail {m}"))?
                    .id,
            ),
            None => None,
        };
        let hash =
            replyline_server::auth::hash_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
        let new = replyline_store::NewEmployee {
            email: email.to_owned(),
            name: name.to_owned(),
            role: role.to_owned(),
            manager_id,
            password_hash: Some(hash),
            ..Default::default()
        };
        let employee = store
            .create_employee(new, replyline_server::clock::Clock::System.now())
            .await?;
        println!(
            "created {} {} (id {})",
            employee.role, employee.email, employee.id
        );
        Ok(())
    })
}

fn token_list(file: Option<&Path>, email: &str) -> anyhow::Result<()> {
    let config = load_config(file)?;
    runtime()?.block_on(async {
        let store = replyline_server::open_store(&config).await?;
        let employee = store
            .employee_by_email(email)
            .await?
            .with_context(|| format!("no employee with e-mail {email}"))?;
        for t in store.tokens(employee.id).await? {
            println!(
                "{}\t{}\tcreated {}\tlast used {}",
                t.id,
                t.label.as_deref().unwrap_or("-"),
                t.created_at,
                t.last_used_at
                    .map_or_else(|| "never".to_owned(), |t| t.to_string())
            );
        }
        Ok(())
    })
}

fn token_revoke(file: Option<&Path>, id: i64) -> anyhow::Result<()> {
    let config = load_config(file)?;
    runtime()?.block_on(async {
        let store = replyline_server::open_store(&config).await?;
        anyhow::ensure!(store.delete_token(id).await?, "no token with id {id}");
        println!("revoked token {id}");
        Ok(())
    })
}

fn token_create(file: Option<&Path>, email: &str) -> anyhow::Result<()> {
    let config = load_config(file)?;
    runtime()?.block_on(async {
        let store = replyline_server::open_store(&config).await?;
        let employee = store
            .employee_by_email(email)
            .await?
            .filter(|e| e.active)
            .with_context(|| format!("no active employee with e-mail {email}"))?;
        let token = replyline_server::auth::new_token();
        store
            .create_token(
                employee.id,
                &replyline_server::auth::token_hash(&token),
                replyline_server::clock::Clock::System.now(),
            )
            .await?;
        println!("{token}");
        Ok(())
    })
}
