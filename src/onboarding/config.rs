//! Timings and texts of the onboarding machine. Every field has the documented default.

use std::time::Duration;

/// The default intro text; `{installer}` is replaced by the installer's user id.
pub const DEFAULT_INTRO_TEXT: &str = "Hi <@{installer}>, thanks for installing me! \
Mention me in a channel or send me a message here to get started.";

/// Onboarding machine configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnboardingConfig {
    /// Backoff base: the first retry waits a random time in `[0, base]` (default 2 s).
    pub backoff_base: Duration,
    /// Backoff cap: no jittered wait is longer (default 5 min). `Retry-After` may be longer.
    pub backoff_cap: Duration,
    /// How long `reconciling` waits before its first history lookup (default 2 s): a post
    /// whose reply was lost may still be in Slack's pipeline, and looking too early would find
    /// nothing and post a duplicate.
    pub reconcile_settle: Duration,
    /// The intro text; `{installer}` becomes the installer's user id.
    pub intro_text: String,
    /// How many recent messages a history lookup reads (default 50).
    pub history_limit: u32,
    /// Seed of the jitter RNG (the shell passes a random seed; tests pass a fixed one).
    pub seed: u64,
}

impl Default for OnboardingConfig {
    fn default() -> Self {
        OnboardingConfig {
            backoff_base: Duration::from_secs(2),
            backoff_cap: Duration::from_secs(300),
            reconcile_settle: Duration::from_secs(2),
            intro_text: DEFAULT_INTRO_TEXT.to_string(),
            history_limit: 50,
            seed: 0x0b0a_4d11,
        }
    }
}

impl OnboardingConfig {
    /// The intro text for `installer`.
    pub fn intro_text_for(&self, installer: &str) -> String {
        self.intro_text.replace("{installer}", installer)
    }
}
