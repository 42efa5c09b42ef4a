//! The `replyline` command line: serve, migrate, simulate, bench, users and tokens.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "replyline", version, about = "Self-hosted messenger inbox with a reply clock")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario through the engine with virtual time and print every action as JSON lines.
    Simulate {
        /// Scenario file (YAML or JSON), see SPEC §7.
        file: PathBuf,
        /// Also print rule decisions and state changes (the conversation timeline).
        #[arg(long)]
        explain: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate { file, explain } => simulate(&file, explain),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn simulate(file: &PathBuf, explain: bool) -> anyhow::Result<()> {
    let source = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read scenario {}", file.display()))?;
    let output = replyline_sim::run_source(&source, explain)
        .with_context(|| format!("scenario {}", file.display()))?;
    print!("{output}");
    Ok(())
}
