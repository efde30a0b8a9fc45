//! Generic FSM plumbing shared by every machine: time, the [`Transition`] and [`Signal`]
//! records, the [`Machine`] trait, and diagram derivation and rendering.
//!
//! Nothing here performs IO: machines take the time as an argument and return outputs; the
//! shells in `runtime` (and the tests) do the rest.

pub mod backoff;
pub mod diagram;
pub mod machine;
pub mod render;
pub mod signal;
pub mod time;
pub mod timers;
pub mod transition;

pub use backoff::Backoff;
pub use diagram::{Diagram, Edge, derive};
pub use machine::{InputName, Machine, Output, RestoreError, Snapshot, StateNode};
pub use render::Format;
pub use signal::{EnvelopeOutcome, FrameRejectReason, IntroOutcome, Signal};
pub use time::{Millis, Now, UnixMs};
pub use timers::{TimerKind, TimerTable};
pub use transition::Transition;
