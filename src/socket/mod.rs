//! The Socket Mode lifecycle machine (`socket_mode`): connect through
//! `apps.connections.open`, ack every envelope at once, dedupe, hand over to a standby link
//! without a gap, detect dead links, reconnect with full-jitter backoff, stop cleanly.
//!
//! Pure: no clock, socket or disk. See `docs/architecture.md` and
//! `state-diagrams/socket_mode.mmd`.
//!
//! State tree (superstates are clusters in the DOT diagram, colours in the Mermaid one):
//! - `idle` = `disconnected` (initial), `error`
//! - `running` = `connected`, `linking` (= `connecting`, `authenticated`, `reconnecting`)
//! - `disconnecting` (stopping; outside both)

mod actions;
pub mod config;
mod dedupe;
mod event;
mod explore;
pub mod io;
pub mod links;
mod machine;
mod states;
mod storage;
pub mod timer;
pub mod wire;

pub use config::SocketConfig;
pub use dedupe::DedupeWindow;
pub use io::{Command, Input, LinkId, LinkUrl, OpenOutcome, RequestId, UNRECOVERABLE_OPEN_CODES};
pub use machine::{DEFAULT_INSTANCE, SocketMode};
pub use timer::Timer;

use states::names;

/// Machine id of the Socket Mode lifecycle machine.
pub const MACHINE_ID: &str = "socket_mode";

/// The seven leaf states, in the order of the `phantom_slack_socket_state{state}` series.
pub const STATE_NAMES: [&str; 7] = [
    names::DISCONNECTED,
    names::CONNECTING,
    names::AUTHENTICATED,
    names::CONNECTED,
    names::RECONNECTING,
    names::DISCONNECTING,
    names::ERROR,
];
