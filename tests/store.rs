//! The LMDB store: layout, durability paths, bounds, map growth, corruption, the writer lock,
//! the journal invariants on random histories of the real machines, a SIGKILL crash test, and
//! the `journal` / `ledger` commands.

#[path = "store/common.rs"]
mod common;

#[path = "store/basics.rs"]
mod basics;
#[path = "store/bounds.rs"]
mod bounds;
// Runs the `phantom-fsm` binary, which needs the `cli` feature (on by default).
#[cfg(feature = "cli")]
#[path = "store/cli.rs"]
mod cli;
// Runs the `phantom-crash-child` helper, built only with the `crash-child` feature
// (`cargo test --all-features`).
#[cfg(all(unix, feature = "crash-child"))]
#[path = "store/crash.rs"]
mod crash;
#[path = "store/invariants.rs"]
mod invariants;
#[path = "store/ledger_rows.rs"]
mod ledger_rows;
// Injects sync failures (`Store::fail_next_ledger_syncs`, `fuzzing` feature).
#[cfg(feature = "fuzzing")]
#[path = "store/reopen.rs"]
mod reopen;
// Runs the crash child under strace (Linux).
#[cfg(all(target_os = "linux", feature = "crash-child"))]
#[path = "store/sync_order.rs"]
mod sync_order;
