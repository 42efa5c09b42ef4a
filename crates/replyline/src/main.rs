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
    /// Signed WhatsApp webhooks acknowledged per second by a fresh `serve` on SQLite.
    Ingest {
        #[arg(long, default_value_t = 5_000)]
        requests: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
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
            println!(
                "ingest: {} webhooks, {} concurrent: acknowledged in {:.2} s = {:.0}/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; all processed after {:.2} s",
                report.requests,
                report.concurrency,
                report.seconds,
                report.requests as f64 / report.seconds,
                report.latency_ms[0],
                report.latency_ms[1],
                report.latency_ms[2],
                report.processed_seconds
            );
            Ok(())
        }
    }
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
