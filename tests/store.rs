//! The LMDB store: layout, durability paths, bounds, map growth, corruption, the writer lock,
//! the journal invariants on random histories of the real machines, a SIGKILL crash test, and
//! the `journal` / `ledger` commands.

#[path = "store/common.rs"]
mod common;

#[path = "store/basics.rs"]
mod basics;
#[path = "store/bounds.rs"]
mod bounds;
#[path = "store/cli.rs"]
mod cli;
#[cfg(unix)]
#[path = "store/crash.rs"]
mod crash;
#[path = "store/invariants.rs"]
mod invariants;
