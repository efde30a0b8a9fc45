//! The onboarding machine's named deadlines.

use crate::engine::Millis;

/// The machine's deadlines. At most one is armed at a time (each belongs to one state), but
/// they are kept in a table so `poll_timeout` and the logs can say which one is next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// When to call `auth.test` again after a transient failure or a 429 (`pending`, team
    /// not yet known; no ledger row exists yet).
    RetryAuth,
    /// When to leave `backoff`: post again if the DM channel is known, else reopen it.
    RetrySend,
    /// When to read `conversations.history` again after a failed lookup (`reconciling`).
    RetryReconcile,
}

impl Timer {
    /// Every timer, in table order.
    pub const ALL: [Timer; 3] = [Timer::RetryAuth, Timer::RetrySend, Timer::RetryReconcile];

    /// The event name recorded on transitions caused by this timer (as the socket machine's
    /// timers: the timer's own name, e.g. `retry_send`).
    pub fn event_name(self) -> &'static str {
        match self {
            Timer::RetryAuth => "retry_auth",
            Timer::RetrySend => "retry_send",
            Timer::RetryReconcile => "retry_reconcile",
        }
    }

    fn index(self) -> usize {
        match self {
            Timer::RetryAuth => 0,
            Timer::RetrySend => 1,
            Timer::RetryReconcile => 2,
        }
    }
}

/// One optional deadline per [`Timer`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerTable([Option<Millis>; 3]);

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Millis) {
        self.0[timer.index()] = Some(at);
    }

    pub(crate) fn clear(&mut self, timer: Timer) {
        self.0[timer.index()] = None;
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Millis> {
        self.0[timer.index()]
    }

    /// The earliest armed deadline, with its timer.
    pub(crate) fn next(&self) -> Option<(Timer, Millis)> {
        Timer::ALL
            .iter()
            .filter_map(|t| self.get(*t).map(|at| (*t, at)))
            .min_by_key(|(_, at)| *at)
    }

    /// Disarm and return the earliest timer whose deadline is at or before `now`.
    pub(crate) fn take_expired(&mut self, now: Millis) -> Option<Timer> {
        let (timer, at) = self.next()?;
        (at <= now).then(|| {
            self.clear(timer);
            timer
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_fires_the_earliest_expired_timer_once() {
        let mut t = TimerTable::default();
        t.set(Timer::RetrySend, Millis(50));
        t.set(Timer::RetryAuth, Millis(20));
        assert_eq!(t.next(), Some((Timer::RetryAuth, Millis(20))));
        assert_eq!(t.take_expired(Millis(19)), None);
        assert_eq!(t.take_expired(Millis(60)), Some(Timer::RetryAuth));
        assert_eq!(t.take_expired(Millis(60)), Some(Timer::RetrySend));
        assert_eq!(t.take_expired(Millis(60)), None);
    }
}
