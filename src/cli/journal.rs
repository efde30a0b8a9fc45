//! `phantom-fsm journal`: print the last journal rows, one line each:
//! `<time RFC 3339 UTC> <machine> <instance> <from> -> <to> <event>`.
//!
//! Opens the store read-only, so it works beside the running service.

use super::CliError;
use clap::{Args, ValueEnum};
use phantom_fsm::engine::UnixMs;
use phantom_fsm::store::{JournalEntry, Store};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub(crate) struct JournalArgs {
    /// The service's data dir.
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// How many rows to print (the most recent).
    #[arg(long, value_name = "N", default_value_t = 50)]
    tail: usize,
    /// Only rows of this machine.
    #[arg(long, value_enum)]
    machine: Option<MachineArg>,
}

/// A machine id as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum MachineArg {
    /// The Socket Mode lifecycle machine.
    #[value(name = "socket_mode", alias = "socket")]
    SocketMode,
    /// The onboarding ledger machine.
    Onboarding,
}

impl MachineArg {
    fn id(self) -> &'static str {
        match self {
            MachineArg::SocketMode => phantom_fsm::socket::MACHINE_ID,
            MachineArg::Onboarding => phantom_fsm::onboarding::MACHINE_ID,
        }
    }
}

pub(crate) fn run(args: JournalArgs) -> Result<(), CliError> {
    let store = Store::open_read_only(&args.data_dir)?;
    let entries = store.journal_tail(args.tail, args.machine.map(MachineArg::id))?;
    let mut corrupt = Vec::new();
    for entry in entries {
        match entry {
            JournalEntry::Row(row) => println!(
                "{} {} {} {} -> {} {}",
                rfc3339(UnixMs(row.at_unix_ms)),
                row.machine,
                row.instance,
                row.from,
                row.to,
                row.event
            ),
            JournalEntry::Corrupt { seq, detail } => {
                eprintln!("phantom-fsm: corrupt journal row (db journal, key {seq}): {detail}");
                corrupt.push(seq);
            }
        }
    }
    match corrupt.len() {
        0 => Ok(()),
        n => Err(format!("{n} corrupt journal row(s), keys {corrupt:?}").into()),
    }
}

/// `2026-01-01T00:00:00.000Z`: RFC 3339, UTC, millisecond precision.
pub(super) fn rfc3339(t: UnixMs) -> String {
    const DAY_MS: u64 = 86_400_000;
    let (days, ms_of_day) = (t.0 / DAY_MS, t.0 % DAY_MS);
    let (year, month, day) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ms_of_day % 1000
    )
}

/// Proleptic Gregorian date of the `days`-th day after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(UnixMs(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(UnixMs(1_767_225_600_000)),
            "2026-01-01T00:00:00.000Z"
        );
        // 2024-02-29T23:59:59.999Z, a leap day.
        assert_eq!(
            rfc3339(UnixMs(1_709_251_199_999)),
            "2024-02-29T23:59:59.999Z"
        );
        // 2000-03-01T12:34:56.789Z, after a 400-year leap day.
        assert_eq!(rfc3339(UnixMs(951_914_096_789)), "2000-03-01T12:34:56.789Z");
    }
}
