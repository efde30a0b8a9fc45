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
    /// How long `reconciling` waits before its first history lookup (default 15 s: the post's
    /// whole-call HTTP timeout, 10 s in the Slack client, plus 5 s). A post whose reply was
    /// lost may still be in Slack's pipeline until the request itself has timed out, and
    /// looking earlier would find nothing and post a duplicate.
    pub reconcile_settle: Duration,
    /// A resend needs two complete "not found" scans at least this far apart (default 60 s).
    pub resend_confirm_gap: Duration,
    /// How far before the first post of a generation the history scan starts (Slack's
    /// `oldest`; default 5 min, for clock skew between this host and Slack).
    pub history_lookback: Duration,
    /// The intro text; `{installer}` becomes the installer's user id.
    pub intro_text: String,
    /// Messages per history page (default 15: Slack's cap for commercially distributed
    /// non-Marketplace apps; every page is followed).
    pub history_limit: u32,
    /// How many consecutive `Rejected` replies (codes this build does not classify) are
    /// retried before the row goes to `failed` with the last code (default 10).
    pub max_attempts: u32,
    /// How long consecutive `Rejected` replies are retried before `failed` (default 24 h).
    pub max_age: Duration,
    /// Seed of the jitter RNG (the shell passes a random seed; tests pass a fixed one).
    pub seed: u64,
}

impl Default for OnboardingConfig {
    fn default() -> Self {
        OnboardingConfig {
            backoff_base: Duration::from_secs(2),
            backoff_cap: Duration::from_secs(300),
            reconcile_settle: Duration::from_secs(15),
            resend_confirm_gap: Duration::from_secs(60),
            history_lookback: Duration::from_secs(300),
            intro_text: DEFAULT_INTRO_TEXT.to_string(),
            history_limit: 15,
            max_attempts: 10,
            max_age: Duration::from_secs(24 * 3600),
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
