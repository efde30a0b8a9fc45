//! Scripted tests of the Socket Mode lifecycle machine: inputs and fake time in, exact outputs
//! out. One test crate; the cases live in the submodules.

#[path = "socket/harness.rs"]
mod harness;

#[path = "socket/lifecycle.rs"]
mod lifecycle;

#[path = "socket/handover.rs"]
mod handover;

#[path = "socket/envelopes.rs"]
mod envelopes;

#[path = "socket/restore.rs"]
mod restore;

#[path = "socket/wire.rs"]
mod wire;

#[path = "socket/slack_faults.rs"]
mod slack_faults;

#[path = "socket/delivery.rs"]
mod delivery;
