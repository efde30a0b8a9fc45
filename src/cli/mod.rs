//! Command-line interface (clap). Contract: `docs/contracts.md`.

#[cfg(feature = "sim")]
mod demo;
mod diagram;
mod journal;
mod ledger;
mod run;
#[cfg(feature = "sim")]
mod sim;

use clap::{Parser, Subcommand};

/// An error shown to the operator as `phantom-fsm: <message>` with exit status 1.
pub(crate) type CliError = Box<dyn std::error::Error + Send + Sync>;

/// A bad setting: shown as `phantom-fsm: <flag>: <message>` with exit status 2.
#[derive(Debug)]
pub(crate) struct UsageError {
    flag: &'static str,
    message: String,
}

impl UsageError {
    pub(crate) fn new(flag: &'static str, message: impl Into<String>) -> UsageError {
        UsageError {
            flag,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.flag, self.message)
    }
}

impl std::error::Error for UsageError {}

/// phantom-fsm: Slack Socket Mode and onboarding state machines.
#[derive(Debug, Parser)]
#[command(name = "phantom-fsm", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Play a short scripted story: the simulator and the full runtime in one process.
    #[cfg(feature = "sim")]
    Demo(demo::DemoArgs),
    /// Hold the Socket Mode connection and serve /metrics, /health, /debug/state, /debug/ui.
    Run(run::RunArgs),
    /// Print a machine's derived state diagram, or rewrite ./state-diagrams/ (--write).
    Diagram(diagram::DiagramArgs),
    /// Run the Slack simulator (Web API + Socket Mode) on 127.0.0.1.
    #[cfg(feature = "sim")]
    Sim(sim::SimArgs),
    /// Print the last journal rows (time, machine, instance, from -> to, event).
    Journal(journal::JournalArgs),
    /// Show, reset or mark complete the onboarding ledger rows.
    Ledger(ledger::LedgerArgs),
}

/// Run the parsed command line.
pub(crate) fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Run(args) => run::run(args),
        #[cfg(feature = "sim")]
        Command::Demo(args) => demo::run(args),
        Command::Diagram(args) => diagram::run(args),
        #[cfg(feature = "sim")]
        Command::Sim(args) => sim::run(args),
        Command::Journal(args) => journal::run(args),
        Command::Ledger(args) => ledger::run(args),
    }
}
