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
//!
//! Layout (the same in every machine): `mod.rs` this facade, `machine.rs` the wrapper type,
//! `states.rs` the statig states (each state's edges in its doc comment), `actions.rs` the
//! policies the states call, `storage.rs` the shared storage, `timer.rs` the named deadlines,
//! `io.rs` inputs and commands, `event.rs` what statig dispatches, `explore.rs` the diagram
//! exploration, `config.rs`; and here `wire.rs` (frames), `links.rs` (links by role),
//! `dedupe.rs` (the dedupe window), `acks.rs` (deferred acks and unfinished dispatches).

pub(crate) mod acks;
mod actions;
pub(crate) mod config;
pub(crate) mod dedupe;
mod delivery;
mod event;
mod explore;
mod fields;
pub(crate) mod io;
pub(crate) mod links;
mod machine;
mod payload;
mod states;
mod storage;
pub(crate) mod timer;
pub(crate) mod wire;

pub use config::SocketConfig;
pub use io::{
    AckPayload, Command, Input, LinkId, LinkUrl, OpenOutcome, RequestId, UNRECOVERABLE_OPEN_CODES,
};
pub use machine::{DEFAULT_INSTANCE, SocketMode};
pub use timer::Timer;
pub use wire::{
    DEFAULT_MAX_FRAME_BYTES, Disconnect, DisconnectReason, Envelope, EnvelopeKind, Hello, Payload,
    ServerFrame, decode_binary, decode_text, encode_ack, encode_ack_with,
};

// Internals that the property tests and fuzz checks compare against a model; not API.
#[doc(hidden)]
pub use acks::{AckBook, AwaitingAck};
#[doc(hidden)]
pub use dedupe::DedupeWindow;
#[doc(hidden)]
pub use links::{ActiveLink, ClosingLink, Links, PendingLink};

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
