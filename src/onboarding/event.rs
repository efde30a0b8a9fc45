//! The machine's internal events: the public [`Input`]s (all but `Timeout`), and one event per
//! expired named deadline (so a transition records *which* deadline caused it).

use super::io::Input;
use super::timer::Timer;

/// One event dispatched into the statig machine.
#[derive(Clone, Debug)]
pub(crate) enum Event {
    /// A public input.
    Input(Input),
    /// A named deadline expired.
    Timer(Timer),
}
