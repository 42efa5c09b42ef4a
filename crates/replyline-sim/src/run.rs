//! The virtual-time driver: feeds scenario events and due deadlines to the engine.

use crate::SimError;
use crate::scenario::{EventKind, Scenario};
use jiff::{SignedDuration, Timestamp};
use replyline_engine::{Action, Closer, Context, Conversation, Input, Policy, Status};

/// Stops a runaway simulation; no valid scenario comes near it.
const MAX_TIMER_FIRINGS: usize = 1_000_000;

/// One engine action and the scenario second it happened at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub at: i64,
    pub action: Action,
}

struct Driver<'s> {
    scenario: &'s Scenario,
    policy: Policy,
    conversation: Conversation,
    lines: Vec<Line>,
    firings: usize,
    /// The latest virtual instant reached; time never runs backwards, so a
    /// deadline moved into the past fires now.
    clock: Timestamp,
}

/// Runs the scenario: events in order, each deadline at its instant (an event
/// at a deadline's instant goes first), then deadlines up to `until` (or
/// until none is pending).
pub fn simulate(scenario: &Scenario) -> Result<Vec<Line>, SimError> {
    let mut driver = Driver {
        scenario,
        policy: scenario.policy.clone(),
        conversation: Conversation::new(),
        lines: Vec::new(),
        firings: 0,
        clock: scenario.start,
    };
    for (index, event) in scenario.events.iter().enumerate() {
        let now = driver.instant(event.at);
        driver.run_timers(|due| due < now)?;
        driver
            .apply(now, &event.kind)
            .map_err(|err| SimError(format!("events[{index}]: {err}")))?;
    }
    let limit = scenario.until.map(|until| driver.instant(until));
    driver.run_timers(|due| limit.is_none_or(|limit| due <= limit))?;
    Ok(driver.lines)
}

impl Driver<'_> {
    fn instant(&self, second: i64) -> Timestamp {
        self.scenario
            .start
            .checked_add(SignedDuration::from_secs(second))
            .unwrap_or(Timestamp::MAX)
    }

    fn run_timers(&mut self, due_now: impl Fn(Timestamp) -> bool) -> Result<(), SimError> {
        while let Some(due) = self.conversation.poll_timeout().filter(|due| due_now(*due)) {
            self.firings += 1;
            if self.firings > MAX_TIMER_FIRINGS {
                return Err(SimError(
                    "simulation did not settle: too many deadlines".into(),
                ));
            }
            let now = due.max(self.clock);
            self.clock = now;
            self.conversation
                .handle_timeout(now, &context(self.scenario, &self.policy));
            self.collect(now);
        }
        Ok(())
    }

    fn apply(
        &mut self,
        now: Timestamp,
        kind: &EventKind,
    ) -> Result<(), replyline_engine::InputError> {
        let input = match kind {
            EventKind::Client => {
                if !self.conversation.accepts_client_message(now, &self.policy) {
                    self.start_new_conversation();
                }
                Input::ClientMessage
            }
            EventKind::Employee { employee, text } => {
                if self.conversation.status() == Status::Closed {
                    self.start_new_conversation();
                }
                Input::EmployeeMessage {
                    employee: employee.clone(),
                    text: text.clone(),
                }
            }
            EventKind::Note { employee } => Input::Note {
                employee: employee.clone(),
            },
            EventKind::Assign(employee) => Input::Assign {
                employee: employee.clone(),
            },
            EventKind::Close(closer) => Input::Close(match closer {
                Some(employee) => Closer::Employee(employee.clone()),
                None => Closer::Auto,
            }),
            EventKind::Settings(policy) => {
                self.policy = (**policy).clone();
                Input::SettingsChanged
            }
        };
        self.clock = now;
        let result = self
            .conversation
            .handle(now, input, &context(self.scenario, &self.policy));
        self.collect(now);
        result
    }

    fn start_new_conversation(&mut self) {
        self.conversation = Conversation::continuing(self.conversation.last_client_at());
    }

    fn collect(&mut self, now: Timestamp) {
        let at = now.duration_since(self.scenario.start).as_secs();
        self.lines.extend(
            self.conversation
                .drain_actions()
                .map(|action| Line { at, action }),
        );
    }
}

fn context<'a>(scenario: &'a Scenario, policy: &'a Policy) -> Context<'a> {
    Context {
        policy,
        team: &scenario.team,
        channel: scenario.channel,
        company_name: &scenario.company_name,
        contact_name: scenario.contact_name.as_deref(),
    }
}
