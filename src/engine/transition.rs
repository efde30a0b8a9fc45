//! The record of one change of leaf state.

use super::time::{Millis, Now, UnixMs};
use serde::Serialize;

/// One change of leaf state of one machine instance.
///
/// Produced only by the machines' `after_transition` hook (never for a change of a state's
/// local data), drained by the shell, and consumed by the journal and the metrics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// Machine id: `socket_mode` or `onboarding`.
    pub machine: &'static str,
    /// Instance id (`default` for the socket machine, `<team_id>/<installer_user_id>` for the
    /// onboarding ledger).
    pub instance: String,
    /// Leaf state left.
    pub from: &'static str,
    /// Leaf state entered.
    pub to: &'static str,
    /// Name of the input that caused it.
    pub event: &'static str,
    /// Monotonic time of the input.
    pub at: Millis,
    /// Wall-clock time of the input.
    pub at_unix: UnixMs,
}

impl Transition {
    /// A transition record stamped with both clocks of `now`.
    pub fn new(
        machine: &'static str,
        instance: impl Into<String>,
        (from, to): (&'static str, &'static str),
        event: &'static str,
        now: Now,
    ) -> Transition {
        Transition {
            machine,
            instance: instance.into(),
            from,
            to,
            event,
            at: now.mono,
            at_unix: now.unix,
        }
    }
}

impl std::fmt::Display for Transition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}: {} -> {} ({})",
            self.machine, self.instance, self.from, self.to, self.event
        )
    }
}
