//! `phantom-fsm ledger show|reset|mark-complete`: read or correct the onboarding ledger.
//!
//! `show` opens the store read-only (it works beside the running service). `reset` and
//! `mark-complete` take the data dir's writer lock, so they refuse while the service (or any
//! other writer) runs, and they go through the onboarding machine itself: the row is
//! restored, the operator input is delivered, and the resulting transition is journaled with
//! its new ledger row in one synced transaction.

use super::CliError;
use super::journal::rfc3339;
use clap::{Args, ValueEnum};
use phantom_fsm::engine::UnixMs;
use phantom_fsm::store::{LedgerEntry, LedgerRow, Store, StoreConfig};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub(crate) struct LedgerArgs {
    /// What to do.
    #[arg(value_enum)]
    action: Action,
    /// The service's data dir.
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// The installer: `U...` or `T.../U...` (optional when the ledger has one row).
    #[arg(long, value_name = "U or T/U")]
    installer: Option<String>,
    /// mark-complete: the DM channel the introduction is in.
    #[arg(long, required_if_eq("action", "mark-complete"))]
    channel: Option<String>,
    /// mark-complete: the introduction message's `ts`.
    #[arg(long, required_if_eq("action", "mark-complete"))]
    ts: Option<String>,
    /// reset: reset a row in `sending` or `reconciling` too, although its last post may have
    /// landed (a fresh intro is then sent beside it).
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Action {
    /// Print the rows (all, or the installer's).
    Show,
    /// Put the installer's row back to `pending` (e.g. after `failed`).
    Reset,
    /// Stamp the installer's row `complete` with --channel and --ts (an introduction that was
    /// sent by other means).
    MarkComplete,
}

pub(crate) fn run(args: LedgerArgs) -> Result<(), CliError> {
    match args.action {
        Action::Show => show(&args),
        Action::Reset | Action::MarkComplete => operator::run(&args),
    }
}

fn show(args: &LedgerArgs) -> Result<(), CliError> {
    let store = Store::open_read_only(&args.data_dir)?;
    let entries = store.ledger_rows()?;
    let selected: Vec<&LedgerEntry> = match &args.installer {
        None => entries.iter().collect(),
        Some(installer) => entries
            .iter()
            .filter(|e| matches_installer(&e.instance, installer))
            .collect(),
    };
    if selected.is_empty() {
        return Err(no_row(args).into());
    }
    let mut corrupt = 0;
    for entry in selected {
        match &entry.row {
            Ok(row) => println!("{}", show_line(&entry.instance, row)),
            Err(e) => {
                eprintln!("phantom-fsm: {e}");
                corrupt += 1;
            }
        }
    }
    match corrupt {
        0 => Ok(()),
        n => Err(format!("{n} corrupt ledger row(s)").into()),
    }
}

/// `T1/U1 complete attempts=1 channel=D1 ts=1.2 last_error=- created=... updated=...`
fn show_line(instance: &str, row: &LedgerRow) -> String {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    format!(
        "{instance} {} attempts={} channel={} ts={} last_error={} created={} updated={}",
        row.state,
        row.attempts,
        or_dash(&row.channel),
        or_dash(&row.ts),
        row.last_error
            .as_ref()
            .map_or_else(|| "-".into(), |e| format!("{e:?}")),
        rfc3339(UnixMs(row.created_unix_ms)),
        rfc3339(UnixMs(row.updated_unix_ms)),
    )
}

/// `T/U` matches that key exactly; `U` matches `<any team>/U`.
fn matches_installer(instance: &str, installer: &str) -> bool {
    match installer.contains('/') {
        true => instance == installer,
        false => instance
            .rsplit_once('/')
            .is_some_and(|(_, user)| user == installer),
    }
}

fn no_row(args: &LedgerArgs) -> String {
    match &args.installer {
        Some(i) => format!(
            "no ledger row for installer {i} in {}",
            args.data_dir.display()
        ),
        None => format!("the ledger in {} is empty", args.data_dir.display()),
    }
}

/// The one instance `args` designates among `instances`, or why there is not exactly one.
fn resolve(args: &LedgerArgs, instances: &[String]) -> Result<String, String> {
    let matching: Vec<&String> = instances
        .iter()
        .filter(|i| {
            args.installer
                .as_ref()
                .is_none_or(|u| matches_installer(i, u))
        })
        .collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(no_row(args)),
        many => Err(format!(
            "{} ledger rows match; choose one with --installer T/U: {}",
            many.len(),
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

mod operator {
    //! `reset` and `mark-complete`, through the onboarding machine.

    use super::*;
    use phantom_fsm::engine::{Machine, Millis, Now, Output};
    use phantom_fsm::onboarding::{Input, Onboarding, OnboardingConfig};

    pub(super) fn run(args: &LedgerArgs) -> Result<(), CliError> {
        // Taking the writer lock first: refused while the service runs. The service's journal
        // bound and map ceiling are unknown here: one operator row must neither prune the
        // service's journal to our default bound nor fail where the service would grow.
        let config = StoreConfig {
            journal_max_rows: u64::MAX,
            map_ceiling: usize::MAX,
            ..StoreConfig::new(&args.data_dir)
        };
        let store = Store::open_existing(config)?;
        let instances: Vec<String> = store
            .ledger_rows()?
            .into_iter()
            .map(|e| e.instance)
            .collect();
        let input = operator_input(args)?;
        let instance = resolve(args, &instances)?;
        let row = store
            .load_ledger(&instance)?
            .ok_or_else(|| format!("no ledger row for {instance}"))?;
        refuse_unconfirmed_reset(args, &instance, &row.state)?;
        let mut machine =
            Onboarding::restore(OnboardingConfig::default(), &instance, &row.snapshot())
                .map_err(|e| format!("ledger row {instance} cannot be restored: {e}"))?;
        machine.handle(wall_clock_now(), input);
        // The drained commands are the running service's business (it resumes from the new
        // row); only the transition and the row are written, synced.
        let outputs = machine.drain();
        if store.observe(&outputs, &machine.snapshot())?.is_none() {
            eprintln!(
                "phantom-fsm: {instance} is {}: nothing to change",
                machine.state_name()
            );
            return Ok(());
        }
        for output in &outputs {
            if let Output::Transition(t) = output {
                println!(
                    "{} {} {} {} -> {} {}",
                    rfc3339(t.at_unix),
                    t.machine,
                    t.instance,
                    t.from,
                    t.to,
                    t.event
                );
            }
        }
        Ok(())
    }

    /// A row in `sending` or `reconciling` may have a post in Slack that nobody has seen yet:
    /// a reset sends a fresh intro (the next generation's), so it takes `--force`.
    pub(super) fn refuse_unconfirmed_reset(
        args: &LedgerArgs,
        instance: &str,
        state: &str,
    ) -> Result<(), String> {
        let unconfirmed = matches!(state, "sending" | "reconciling");
        match args.action == Action::Reset && unconfirmed && !args.force {
            true => Err(format!(
                "{instance} is {state}: its last intro may already be in the DM (not yet \
                 confirmed), and a reset sends a fresh one beside it; wait for the service to \
                 reconcile, or reset anyway with --force"
            )),
            false => Ok(()),
        }
    }

    fn operator_input(args: &LedgerArgs) -> Result<Input, String> {
        match (args.action, &args.channel, &args.ts) {
            (Action::MarkComplete, Some(channel), Some(ts)) => Ok(Input::MarkComplete {
                channel: channel.clone(),
                ts: ts.clone(),
            }),
            (Action::MarkComplete, ..) => Err("mark-complete needs --channel and --ts".into()),
            _ => Ok(Input::Reset),
        }
    }

    fn wall_clock_now() -> Now {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, phantom_fsm::engine::duration_ms);
        Now::new(Millis::ZERO, UnixMs(unix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installer_matches_user_or_team_and_user() {
        assert!(matches_installer("T1/U1", "U1"));
        assert!(matches_installer("T1/U1", "T1/U1"));
        assert!(!matches_installer("T1/U1", "T2/U1"));
        assert!(!matches_installer("T1/U10", "U1"));
    }

    #[test]
    fn reset_of_an_unconfirmed_row_needs_force() {
        let args = |action, force| LedgerArgs {
            action,
            data_dir: PathBuf::from("/nonexistent"),
            installer: None,
            channel: None,
            ts: None,
            force,
        };
        for state in ["sending", "reconciling"] {
            let refused =
                operator::refuse_unconfirmed_reset(&args(Action::Reset, false), "T/U", state);
            let message = refused.expect_err(state);
            assert!(
                message.contains("--force") && message.contains(state),
                "{message}"
            );
            assert!(
                operator::refuse_unconfirmed_reset(&args(Action::Reset, true), "T/U", state)
                    .is_ok()
            );
            assert!(
                operator::refuse_unconfirmed_reset(
                    &args(Action::MarkComplete, false),
                    "T/U",
                    state
                )
                .is_ok()
            );
        }
        for state in ["pending", "backoff", "complete", "failed"] {
            assert!(
                operator::refuse_unconfirmed_reset(&args(Action::Reset, false), "T/U", state)
                    .is_ok()
            );
        }
    }
}
