//! Exponential backoff with full jitter (AWS architecture blog's "full jitter"): each delay is
//! uniform in `[0, min(cap, base * 2^attempt)]`, so a fleet that lost Slack at the same instant
//! does not come back in lockstep. Randomness comes from the machine's seeded RNG.

use std::time::Duration;

/// Backoff state: the attempt counter and its bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff starting at attempt 0.
    pub(crate) fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            attempt: 0,
        }
    }

    /// The upper bound of the next delay: `min(cap, base * 2^attempt)`.
    pub(crate) fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Draw the next delay, uniformly in `[0, ceiling]`, and count the attempt.
    pub(crate) fn next_delay(&mut self, rng: &mut fastrand::Rng) -> Duration {
        let ceiling_ms = super::time::duration_ms(self.ceiling());
        self.attempt = self.attempt.saturating_add(1);
        Duration::from_millis(rng.u64(0..=ceiling_ms))
    }

    /// `max(retry_after, next_delay)`: a server's `Retry-After` is a floor, never shortened.
    pub(crate) fn next_delay_at_least(
        &mut self,
        rng: &mut fastrand::Rng,
        retry_after: Option<Duration>,
    ) -> Duration {
        let jittered = self.next_delay(rng);
        retry_after.map_or(jittered, |floor| jittered.max(floor))
    }

    /// Start again from attempt 0.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}
