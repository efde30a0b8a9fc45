//! Generic FSM plumbing shared by every machine: time, the [`Transition`] and [`Signal`]
//! records, the [`Machine`] trait, and diagram derivation and rendering.
//!
//! Nothing here performs IO: machines take the time as an argument and return outputs; the
//! shells in `runtime` (and the tests) do the rest.

pub mod backoff;
pub mod contract;
pub mod diagram;
pub mod drive;
pub mod outbox;
pub mod render;
pub mod signal;
pub mod time;
pub mod timer;
pub mod transition;

pub use backoff::Backoff;
pub use contract::{Explore, InputName, Machine, Output, RestoreError, Snapshot, StateNode};
pub use diagram::{Diagram, Edge, derive};
pub use drive::{Drive, start};
pub use outbox::Outbox;
pub use render::Format;
pub use signal::{EnvelopeOutcome, FrameRejectReason, IntroOutcome, Signal};
pub use time::{Millis, Now, UnixMs};
pub use timer::{TimerKind, TimerTable};
pub use transition::Transition;
