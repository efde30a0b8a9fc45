//! The runtime's clock: [`Now`] for the machines, and the way back from a machine deadline
//! ([`Millis`]) to a `tokio::time::Instant` the driver's one sleep can wait for.
//!
//! The monotonic origin is a `tokio::time::Instant`, so tests that pause tokio's clock move the
//! machines' time too.

use crate::engine::{Millis, Now, UnixMs};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// How far ahead a deadline that cannot be represented (a huge `Retry-After`) is put: far
/// enough to never fire in a process's life, near enough for every timer wheel.
const FAR_FUTURE: Duration = Duration::from_secs(365 * 24 * 3600);

/// Both clocks of a runtime, from an origin taken when it started. Cheap to copy.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    origin: Instant,
}

impl Clock {
    /// A clock whose monotonic origin is now.
    pub(crate) fn start() -> Clock {
        Clock {
            origin: Instant::now(),
        }
    }

    /// Both clocks, read now.
    pub(crate) fn now(&self) -> Now {
        self.at(Instant::now())
    }

    /// Both clocks at `instant` (a frame's read time): the wall clock is read now and moved
    /// back by the time since `instant`, so the two stay consistent.
    pub(crate) fn at(&self, instant: Instant) -> Now {
        let mono = crate::engine::time::duration_ms(instant.saturating_duration_since(self.origin));
        let unix = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(crate::engine::time::duration_ms)
            .unwrap_or(0)
            .saturating_sub(crate::engine::time::duration_ms(instant.elapsed()));
        Now::new(Millis(mono), UnixMs(unix))
    }

    /// The instant of machine time `at`. Checked: a deadline past what an `Instant` can hold
    /// becomes [`FAR_FUTURE`] from now instead of overflowing.
    pub(crate) fn instant_of(&self, at: Millis) -> Instant {
        self.origin
            .checked_add(Duration::from_millis(at.0))
            .filter(|i| i.saturating_duration_since(Instant::now()) < FAR_FUTURE)
            .unwrap_or_else(|| Instant::now() + FAR_FUTURE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_huge_deadline_does_not_overflow() {
        let clock = Clock::start();
        let far = clock.instant_of(Millis(u64::MAX));
        assert!(far > Instant::now() + Duration::from_secs(3600));
        let near = clock.instant_of(Millis(1_500));
        assert_eq!(
            near.duration_since(clock.origin),
            Duration::from_millis(1_500)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn now_follows_tokio_time() {
        let clock = Clock::start();
        tokio::time::advance(Duration::from_millis(2_500)).await;
        assert_eq!(clock.now().mono, Millis(2_500));
        let earlier = clock.at(Instant::now() - Duration::from_millis(500));
        assert_eq!(earlier.mono, Millis(2_000));
    }
}
