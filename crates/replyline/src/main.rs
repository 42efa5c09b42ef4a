//! The `replyline` command line: serve, migrate, simulate, demo, users and tokens.

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate { file, explain } => simulate(&file, explain),
        Command::Serve { config } => serve(config.as_deref()),
        Command::Migrate { config } => migrate(config.as_deref()),
        Command::Demo => demo(),
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
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
