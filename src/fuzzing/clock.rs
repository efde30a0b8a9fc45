//! The harnesses' clock: steps move time forward, never past [`MONO_HORIZON`].
//!
//! A shell's monotonic time counts from its process start, and the runtime puts a deadline it
//! cannot represent a year ahead (`runtime::clock`), so no shell ever hands a machine a time
//! near `u64::MAX` ms. There, every `now + d` saturates to `now` and each timer a handler arms
//! is due at once: timers cascade inside one input (a ping, its pong deadline and the link's
//! drop at one instant) in a way no process can see. A harness that let fuzzed Retry-After
//! values carry time there would report those cascades, not defects.

use crate::engine::{Millis, Now};
use std::time::Duration;

/// The latest monotonic time a harness delivers: 2^50 ms, about 35,000 years of uptime, far
/// below saturation for any deadline a machine arms from its bounded configuration.
pub const MONO_HORIZON: Millis = Millis(1 << 50);

/// `now` moved forward by `d` on both clocks, the monotonic one stopping at the horizon.
#[must_use]
pub fn advance(now: Now, d: Duration) -> Now {
    advance_to(now, now.mono.after(d))
}

/// `now` moved forward to monotonic time `at` (unchanged if `at` is not later), stopping at
/// the horizon.
#[must_use]
pub fn advance_to(now: Now, at: Millis) -> Now {
    now.advanced_to(at.min(MONO_HORIZON))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_stops_at_the_horizon_and_never_goes_back() {
        let start = Now::fake(5);
        assert_eq!(advance(start, Duration::from_millis(7)).mono, Millis(12));
        assert_eq!(advance(start, Duration::MAX).mono, MONO_HORIZON);
        assert_eq!(advance_to(start, Millis(u64::MAX)).mono, MONO_HORIZON);
        let late = Now::new(Millis(MONO_HORIZON.0 + 9), start.unix);
        assert_eq!(advance(late, Duration::from_secs(1)), late);
    }
}
