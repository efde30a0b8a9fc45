//! # phantom-fsm
//!
//! Explicit, hierarchical finite-state machines for a Slack tenant runtime:
//!
//! - [`socket`]: the Socket Mode lifecycle (connect, ack, dedupe, hand over, reconnect);
//! - [`onboarding`]: the ledger that sends the bot's introduction DM once per installer.
//!
//! The machines are **sans-IO**: they take inputs and the time as arguments and return
//! commands, [`Transition`](engine::Transition)s, [`Signal`](engine::Signal)s and deadlines.
//! They never read a clock, open a socket or touch a disk; thin shells do that.
#![warn(missing_docs, unreachable_pub)]

pub mod engine;
pub mod onboarding;
pub mod registry;
pub mod runtime;
#[cfg(feature = "sim")]
pub mod sim;
pub mod slack;
pub mod socket;
pub mod store;
pub mod telemetry;

// The fuzz targets' harnesses and the per-machine invariant checks they share with the
// property tests: test support, not API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
