//! Generic FSM plumbing shared by every machine: time, the [`Transition`] and [`Signal`]
//! records, the [`Machine`] trait, and diagram derivation and rendering.
//!
//! Nothing here performs IO: machines take the time as an argument and return outputs; the
//! shells in `runtime` (and the tests) do the rest.

pub(crate) mod backoff;
pub(crate) mod contract;
pub(crate) mod diagram;
pub(crate) mod drive;
pub(crate) mod outbox;
pub(crate) mod render;
pub(crate) mod signal;
pub(crate) mod time;
pub(crate) mod timer;
pub(crate) mod transition;

pub(crate) use backoff::Backoff;
pub use contract::{Explore, InputName, Machine, Output, RestoreError, Snapshot, StateNode};
pub use diagram::{Diagram, Edge, derive};
pub use drive::{Drive, start};
pub use outbox::Outbox;
pub use render::{Format, SharedEdge, dot, mermaid, shared_edges};
pub use signal::{EnvelopeOutcome, FrameRejectReason, IntroOutcome, Signal};
pub use time::{FAKE_EPOCH_UNIX_MS, Millis, Now, UnixMs, duration_ms};
pub use timer::{TimerKind, TimerTable};
pub use transition::Transition;
