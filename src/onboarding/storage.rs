//! The statig shared storage of the onboarding machine, its outbox type, and the instance id.

use super::config::OnboardingConfig;
use super::io::Command;
use super::timer::Timer;
use crate::engine::Backoff;
use std::time::Duration;

/// The statig context: the engine's outbox with this machine's commands and timers.
pub(crate) type Outbox = crate::engine::Outbox<Command, Timer>;

/// The team part of the instance id before `auth.test` has named the team.
pub(crate) const UNKNOWN_TEAM: &str = "-";

/// The persisted facts of one installer's ledger row (besides the state).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ledger {
    /// Posts attempted (each `PostIntro` emitted).
    pub(crate) attempts: u32,
    /// The last failure, for operators.
    pub(crate) last_error: Option<String>,
    /// The DM channel, once opened.
    pub(crate) channel: Option<String>,
    /// The intro's `ts`, once confirmed.
    pub(crate) ts: Option<String>,
    /// Bumped by every operator reset; part of the marker, so a reconciliation matches only
    /// the current generation's intro.
    pub(crate) generation: u32,
    /// When the first post of this generation went out (wall clock): the history scan reads
    /// from 5 min before it.
    pub(crate) sending_since: Option<u64>,
    /// Consecutive `Rejected` replies (codes this build does not classify).
    pub(crate) rejections: u32,
    /// When the first of those consecutive `Rejected` replies came (wall clock).
    pub(crate) rejected_since: Option<u64>,
}

/// The machine's shared storage: configuration, identity, the ledger facts, RNG and backoff.
/// The deadlines live in the [`Outbox`].
#[derive(Clone, Debug)]
pub(crate) struct Storage {
    pub(crate) config: OnboardingConfig,
    pub(crate) installer: String,
    pub(crate) team: Option<String>,
    pub(crate) instance: String,
    pub(crate) ledger: Ledger,
    pub(crate) rng: fastrand::Rng,
    pub(crate) next_call: u64,
    /// Full-jitter backoff over consecutive failures; reset by any success.
    pub(crate) backoff: Backoff,
    /// Whether the bot can talk (`channel_ready` was received since this machine was built).
    pub(crate) channel_ready: bool,
    /// The history scan's next page (`None`: the first), kept across a failed page so a
    /// retry resumes there.
    pub(crate) cursor: Option<String>,
    /// Whether the ledger row of this instance was read (or proven absent): until then the
    /// machine neither opens the DM nor posts. True for a restored row and for
    /// [`Onboarding::new`](super::Onboarding::new); false until `row_absent` / `row_loaded`
    /// after `auth.test` named the team.
    pub(crate) row_loaded: bool,
    /// When the last complete scan found nothing (monotonic; a restart forgets it, which only
    /// delays a resend).
    pub(crate) not_found_at: Option<crate::engine::Millis>,
}

impl Storage {
    pub(crate) fn new(
        config: OnboardingConfig,
        installer: &str,
        team: Option<&str>,
        ledger: Ledger,
    ) -> Storage {
        let rng = fastrand::Rng::with_seed(config.seed);
        let backoff = Backoff::new(config.backoff_base, config.backoff_cap);
        Storage {
            instance: instance_id(team, installer),
            config,
            installer: installer.to_string(),
            team: team.map(str::to_string),
            ledger,
            rng,
            next_call: 1,
            backoff,
            channel_ready: false,
            row_loaded: team.is_some(),
            cursor: None,
            not_found_at: None,
        }
    }
}

/// At least 1 ms, so that a deadline armed at `now` is always in the future.
pub(crate) fn future(delay: Duration) -> Duration {
    delay.max(Duration::from_millis(1))
}

/// Whether `id` can be part of an instance id (non-empty, no `/`).
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty() && !id.contains('/') && id != UNKNOWN_TEAM
}

/// `<team_id>/<installer_user_id>`, with [`UNKNOWN_TEAM`] until the team is known.
pub(crate) fn instance_id(team: Option<&str>, installer: &str) -> String {
    format!("{}/{installer}", team.unwrap_or(UNKNOWN_TEAM))
}
