//! `replyline simulate`: runs the engine on a scenario with virtual time and
//! prints every action as one JSON object per line (SPEC §7).

mod output;
mod run;
mod scenario;

pub use run::{Line, simulate};
pub use scenario::{Event, EventKind, Scenario};

/// A scenario that cannot run, with the line or field at fault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SimError(pub String);

/// Parses a YAML or JSON scenario, runs it, and returns the JSON-lines output.
/// With `explain`, rule decisions and state changes are printed too.
pub fn run_source(source: &str, explain: bool) -> Result<String, SimError> {
    let scenario = Scenario::parse(source)?;
    let lines = simulate(&scenario)?;
    Ok(output::render(&lines, scenario.start, explain))
}
