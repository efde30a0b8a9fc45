//! The onboarding machine's named deadlines and its full-jitter backoff.

use crate::engine::Millis;
use std::time::Duration;

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

    /// The event name recorded on transitions caused by this timer (`timeout:retry_send`).
    pub fn event_name(self) -> &'static str {
        match self {
            Timer::RetryAuth => "timeout:retry_auth",
            Timer::RetrySend => "timeout:retry_send",
            Timer::RetryReconcile => "timeout:retry_reconcile",
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

/// Full-jitter exponential backoff (AWS style): after the `failures`-th consecutive failure
/// wait a uniform random time in `[0, min(cap, base * 2^(failures-1))]`, but never less than
/// `retry_after` (Slack's `Retry-After`) and never less than 1 ms, so a deadline is always in
/// the future.
pub(crate) fn backoff_delay(
    rng: &mut fastrand::Rng,
    (base, cap): (Duration, Duration),
    failures: u32,
    retry_after: Option<Duration>,
) -> Duration {
    let exp = failures.saturating_sub(1).min(31);
    let ceiling = base.saturating_mul(1u32 << exp).min(cap);
    let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    let jitter = Duration::from_millis(rng.u64(0..=ceiling_ms));
    jitter
        .max(retry_after.unwrap_or_default())
        .max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_within_the_exponential_ceiling_and_honours_retry_after() {
        let mut rng = fastrand::Rng::with_seed(7);
        let limits = (Duration::from_secs(2), Duration::from_secs(300));
        for failures in 1..40 {
            let d = backoff_delay(&mut rng, limits, failures, None);
            let ceiling = (2u64 << (failures - 1).min(31)).min(300);
            assert!(d <= Duration::from_secs(ceiling), "{failures}: {d:?}");
            assert!(d >= Duration::from_millis(1));
        }
        let d = backoff_delay(&mut rng, limits, 1, Some(Duration::from_secs(30)));
        assert_eq!(d, Duration::from_secs(30));
    }

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
