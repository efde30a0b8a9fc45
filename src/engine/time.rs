//! Time as the core sees it: numbers handed in by the shell, never read from a clock.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Monotonic milliseconds from an origin the shell chooses (usually process start).
///
/// Deadlines and durations inside the machines are expressed in `Millis`; the shell maps them
/// to `tokio::time::Instant`s. Arithmetic saturates, so no input can make time wrap.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub struct Millis(pub u64);

impl Millis {
    /// The origin.
    pub const ZERO: Millis = Millis(0);

    /// `self + d`, saturating.
    #[must_use]
    pub fn after(self, d: Duration) -> Millis {
        Millis(self.0.saturating_add(duration_ms(d)))
    }

    /// Milliseconds elapsed from `earlier` to `self` (0 if `earlier` is later).
    #[must_use]
    pub fn since(self, earlier: Millis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Wall-clock time in milliseconds since the Unix epoch, for everything that is stored or shown
/// to people (journal rows, ledger stamps, `/health`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub struct UnixMs(pub u64);

impl UnixMs {
    /// `self + d`, saturating.
    #[must_use]
    pub fn after(self, d: Duration) -> UnixMs {
        UnixMs(self.0.saturating_add(duration_ms(d)))
    }
}

/// The time of one input: both clocks, read once by the shell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub struct Now {
    /// Monotonic time, for deadlines.
    pub mono: Millis,
    /// Wall-clock time, for stored stamps.
    pub unix: UnixMs,
}

impl Now {
    /// Both clocks.
    pub fn new(mono: Millis, unix: UnixMs) -> Now {
        Now { mono, unix }
    }

    /// A fake time for tests and exploration: `ms` after the origin, with the wall clock at
    /// a fixed epoch (2026-01-01T00:00:00Z) plus `ms`.
    pub fn fake(ms: u64) -> Now {
        Now::new(Millis(ms), UnixMs(FAKE_EPOCH_UNIX_MS + ms))
    }

    /// The same instant advanced by `d` on both clocks.
    #[must_use]
    pub fn after(self, d: Duration) -> Now {
        Now::new(self.mono.after(d), self.unix.after(d))
    }

    /// This instant moved forward to monotonic time `at` (both clocks move together);
    /// unchanged if `at` is not later.
    #[must_use]
    pub fn advanced_to(self, at: Millis) -> Now {
        self.after(Duration::from_millis(at.since(self.mono)))
    }
}

/// Wall-clock origin of [`Now::fake`]: 2026-01-01T00:00:00Z.
pub const FAKE_EPOCH_UNIX_MS: u64 = 1_767_225_600_000;

/// Whole milliseconds of a duration, saturating at `u64::MAX`.
pub fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
