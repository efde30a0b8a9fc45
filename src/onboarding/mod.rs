//! The onboarding ledger machine (`onboarding`): send the bot's introduction DM to the person
//! who installed it, exactly once, through restarts, crashes, rate limits and ambiguous
//! replies.
//!
//! Steps: `auth.test` (names the team; the instance id is `<team_id>/<installer_user_id>`) →
//! `conversations.open(users=U)` → `sending` (committed and synced by the shell) →
//! `chat.postMessage` with a marker in its metadata. A reply that does not prove the post was
//! not stored leads to `reconciling`, which reads `conversations.history` for the marker before
//! any resend.
//!
//! Pure: no clock, socket or disk. See `docs/onboarding.md` and
//! `state-diagrams/onboarding.mmd`.
//!
//! Layout (the same in every machine): `mod.rs` this facade, `machine.rs` the wrapper type,
//! `states.rs` the statig states (each state's edges in its doc comment), `actions.rs` the
//! policies the states call, `storage.rs` the shared storage, `timer.rs` the named deadlines,
//! `io.rs` inputs and commands, `event.rs` what statig dispatches, `explore.rs` the diagram
//! exploration, `config.rs`; and here `classify.rs` (Slack replies to outcomes),
//! `snapshot.rs` (the ledger row).

mod actions;
pub(crate) mod classify;
pub(crate) mod config;
mod event;
mod explore;
pub(crate) mod io;
mod machine;
mod snapshot;
mod states;
mod storage;
pub(crate) mod timer;

pub use classify::{
    AUTH_UNRECOVERABLE_CODES, CallResult, POST_AMBIGUOUS_CODES, RECIPIENT_CODES, classify_auth,
    classify_history, classify_open_dm, classify_post, health_label, intro_outcome,
    is_permanent_code, retry_after_ms,
};
pub use config::{DEFAULT_INTRO_TEXT, OnboardingConfig};
pub use io::{
    AuthOutcome, CallId, Command, HistoryOutcome, INTRO_EVENT_TYPE, Input, IntroMetadata,
    IntroPayload, OpenDmOutcome, PostOutcome, RowState, StoredRow,
};
pub use machine::Onboarding;
pub use timer::Timer;

use states::names;

/// Machine id of the onboarding ledger machine.
pub const MACHINE_ID: &str = "onboarding";

/// The six leaf states, in the order of the `phantom_onboarding_state{state}` series.
pub const STATE_NAMES: [&str; 6] = [
    names::PENDING,
    names::SENDING,
    names::BACKOFF,
    names::RECONCILING,
    names::COMPLETE,
    names::FAILED,
];
