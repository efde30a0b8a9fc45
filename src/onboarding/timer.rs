//! The onboarding machine's named deadlines (kept in the engine's
//! [`TimerTable`](crate::engine::TimerTable)).

use crate::engine::TimerKind;

/// The machine's deadlines. Each belongs to one state, whose exit action disarms it, so at
/// most one is armed at a time; `poll_timeout` is the earliest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// When to call `auth.test` again after a transient failure or a 429 (`pending`, team
    /// not yet known; no ledger row exists yet).
    RetryAuth,
    /// When to leave `backoff`: post again if the DM channel is known, else reopen it.
    RetrySend,
    /// When to read `conversations.history` (again) in `reconciling`: after the settle time
    /// on entry or restart, or after a failed lookup.
    RetryReconcile,
}

impl TimerKind for Timer {
    const ALL: &'static [Timer] = &[Timer::RetryAuth, Timer::RetrySend, Timer::RetryReconcile];

    fn index(self) -> usize {
        self as usize
    }

    /// The event name recorded on transitions caused by this timer (like the socket
    /// machine's timers: the timer's own name).
    fn name(self) -> &'static str {
        match self {
            Timer::RetryAuth => "retry_auth",
            Timer::RetrySend => "retry_send",
            Timer::RetryReconcile => "retry_reconcile",
        }
    }
}
