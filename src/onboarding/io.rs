//! What goes into the onboarding machine and what comes out of it.
//!
//! Web API results arrive already classified (see [`classify`](super::classify)): the machine
//! decides on *what a reply proves*, never on HTTP details.

use crate::engine::InputName;
use serde::Serialize;

/// Identifies one Web API call the machine asked for, so that the answer to a call the machine
/// no longer waits for (after a reset, a restart or a newer call) is recognised and ignored.
///
/// Ids start at 1 and are never reused by one machine; `CallId(0)` is never issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub struct CallId(pub u64);

/// How an `auth.test` call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum AuthOutcome {
    /// `{"ok":true,"team_id":"T.."}`: the bot token works and the team is known.
    Ok {
        /// The workspace the bot token belongs to.
        team_id: String,
    },
    /// HTTP 429 or `ratelimited`: retry after at least `retry_after_ms`.
    RateLimited {
        /// `Retry-After` in milliseconds, if present.
        retry_after_ms: Option<u64>,
    },
    /// Network error, timeout, 5xx or an unparseable reply: retry, not before
    /// `retry_after_ms`.
    Transient {
        /// What went wrong (for `last_error`).
        reason: String,
        /// `Retry-After` in milliseconds, if the reply carried one (a 5xx may).
        retry_after_ms: Option<u64>,
    },
    /// The token cannot work (`invalid_auth`, `token_revoked`, ...; see
    /// [`AUTH_UNRECOVERABLE_CODES`](super::classify::AUTH_UNRECOVERABLE_CODES)).
    Unrecoverable {
        /// The Slack error code.
        code: String,
    },
    /// An `ok:false` code this build does not classify: retried like a transient failure, but
    /// at most `max_attempts` times or for `max_age` (then `failed` with the code).
    Rejected {
        /// The Slack error code.
        code: String,
    },
}

/// How a `conversations.open(users=U)` call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum OpenDmOutcome {
    /// `{"ok":true,"channel":{"id":"D.."}}`.
    Opened {
        /// The DM channel id.
        channel: String,
    },
    /// HTTP 429 or `ratelimited`.
    RateLimited {
        /// `Retry-After` in milliseconds, if present.
        retry_after_ms: Option<u64>,
    },
    /// Network error, timeout, 5xx or an unparseable reply: retry, not before
    /// `retry_after_ms`.
    Transient {
        /// What went wrong.
        reason: String,
        /// `Retry-After` in milliseconds, if the reply carried one (a 5xx may).
        retry_after_ms: Option<u64>,
    },
    /// The token or the installer cannot work (an auth / installation or recipient code, see
    /// [`is_permanent_code`](super::classify::is_permanent_code)).
    Permanent {
        /// The Slack error code.
        code: String,
    },
    /// An `ok:false` code this build does not classify: retried, but bounded by
    /// `max_attempts` / `max_age` (then `failed` with the code).
    Rejected {
        /// The Slack error code.
        code: String,
    },
}

/// How a `chat.postMessage` of the intro ended: what the reply *proves*.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum PostOutcome {
    /// `{"ok":true,"ts":".."}`: stored, with this timestamp.
    Sent {
        /// The message's `ts`.
        ts: String,
    },
    /// HTTP 429 or `ratelimited`: rejected before processing, nothing stored.
    RateLimited {
        /// `Retry-After` in milliseconds, if present.
        retry_after_ms: Option<u64>,
    },
    /// Proof that nothing was stored: a connect error before the request was written.
    NotStored {
        /// What went wrong (the code or `connect_error`).
        reason: String,
    },
    /// A code after which retrying cannot help (see
    /// [`is_permanent_code`](super::classify::is_permanent_code)).
    Permanent {
        /// The Slack error code.
        code: String,
    },
    /// Slack may have stored the post: a timeout or reset after the request was written, HTTP
    /// 5xx, `ok:true` without `ts`, an unparseable reply, `internal_error`, `fatal_error`,
    /// `service_unavailable`, `request_timeout`, or any code this build does not classify.
    Ambiguous {
        /// What was observed.
        reason: String,
        /// `Retry-After` in milliseconds, if the reply carried one (a 5xx may): the history
        /// lookup, and so any resend, waits at least that long.
        retry_after_ms: Option<u64>,
    },
}

/// How a `conversations.history` lookup for the intro marker ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum HistoryOutcome {
    /// A message carrying this installer's marker exists, with this `ts` (the earliest one).
    Found {
        /// The message's `ts`.
        ts: String,
    },
    /// This page lacks the marker and it is the last page (`has_more` false).
    NotFound,
    /// This page lacks the marker and more pages follow: read the next one with this cursor.
    NextPage {
        /// `response_metadata.next_cursor`.
        cursor: String,
    },
    /// The lookup failed (network, 5xx, 429, an unparseable reply): look again later (from
    /// the same page), never post blindly.
    Transient {
        /// `Retry-After` in milliseconds, if the reply carried one (429 or 5xx).
        retry_after_ms: Option<u64>,
        /// What went wrong.
        reason: String,
    },
    /// An auth / installation or channel error (`missing_scope`, `channel_not_found`,
    /// `not_in_channel`, `invalid_auth`, ...): the question can never be answered, so the
    /// ledger fails rather than risk a duplicate.
    Permanent {
        /// The Slack error code.
        code: String,
    },
    /// An `ok:false` code this build does not classify: retried, bounded by `max_attempts` /
    /// `max_age`.
    Rejected {
        /// The Slack error code.
        code: String,
    },
}

/// A leaf state as a ledger row names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum RowState {
    /// `pending`.
    Pending,
    /// `sending`.
    Sending,
    /// `backoff`.
    Backoff,
    /// `reconciling`.
    Reconciling,
    /// `complete`.
    Complete,
    /// `failed`.
    Failed,
}

impl RowState {
    /// Every row state, in the order of the machine's leaves.
    pub const ALL: [RowState; 6] = [
        RowState::Pending,
        RowState::Sending,
        RowState::Backoff,
        RowState::Reconciling,
        RowState::Complete,
        RowState::Failed,
    ];
}

/// A stored ledger row, typed: what [`Input::RowLoaded`] hands the machine. Build it with
/// [`StoredRow::from_snapshot`] from the store's row snapshot (an unknown state or a
/// mistyped key is an error there, before the machine sees it).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub struct StoredRow {
    /// The stored leaf state.
    pub state: RowState,
    /// Posts attempted.
    pub attempts: u32,
    /// The last failure.
    pub last_error: Option<String>,
    /// The DM channel.
    pub channel: Option<String>,
    /// The intro's `ts`.
    pub ts: Option<String>,
    /// The row's generation.
    pub generation: u32,
    /// When this generation's first post went out (Unix ms).
    pub sending_since_unix_ms: Option<u64>,
    /// Consecutive `Rejected` replies.
    pub rejections: u32,
    /// When the first of them came (Unix ms).
    pub rejected_since_unix_ms: Option<u64>,
    /// `backoff` only: when the retry was due (Unix ms).
    pub retry_at_unix_ms: Option<u64>,
}

/// One input of the onboarding machine.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum Input {
    /// The bot can talk (the Socket Mode link is connected). Gates the start from `pending`.
    ChannelReady,
    /// The answer to [`Command::AuthTest`]. `Ok` names the team; the machine then asks for
    /// the ledger row of `<team_id>/<installer>` ([`Command::LoadRow`]) and does nothing else
    /// until [`Input::RowLoaded`] answers.
    AuthTested {
        /// Which call.
        call: CallId,
        /// How it ended.
        outcome: AuthOutcome,
    },
    /// The answer to [`Command::LoadRow`]: the stored ledger row, or `None` when the store
    /// proved there is none. A failed read is never `None`: the shell then delivers nothing
    /// (the machine keeps waiting) and stops its ledger driver.
    RowLoaded {
        /// The row as stored, or `None` for no row.
        row: Option<StoredRow>,
    },
    /// The answer to [`Command::OpenDm`].
    DmOpened {
        /// Which call.
        call: CallId,
        /// How it ended.
        outcome: OpenDmOutcome,
    },
    /// The answer to [`Command::PostIntro`].
    Posted {
        /// Which call.
        call: CallId,
        /// How it ended.
        outcome: PostOutcome,
    },
    /// The answer to [`Command::LookupHistory`].
    HistoryRead {
        /// Which call.
        call: CallId,
        /// How it ended.
        outcome: HistoryOutcome,
    },
    /// Time passed: fire every expired deadline (a no-op if none expired).
    Timeout,
    /// Delivered once after a restore: the process restarted and every call in flight is lost.
    Resumed,
    /// Operator: forget the stamp and start over from `pending`.
    Reset,
    /// Operator: the intro is known to be delivered (e.g. sent by hand): stamp `complete`.
    MarkComplete {
        /// The DM channel.
        channel: String,
        /// The message's `ts`.
        ts: String,
    },
}

impl InputName for Input {
    fn name(&self) -> &'static str {
        match self {
            Input::ChannelReady => "channel_ready",
            Input::AuthTested { outcome, .. } => match outcome {
                AuthOutcome::Ok { .. } => "auth_ok",
                AuthOutcome::RateLimited { .. } => "auth_rate_limited",
                AuthOutcome::Transient { .. } => "auth_transient",
                AuthOutcome::Unrecoverable { .. } => "auth_unrecoverable",
                AuthOutcome::Rejected { .. } => "auth_rejected",
            },
            Input::RowLoaded { row: Some(_) } => "row_loaded",
            Input::RowLoaded { row: None } => "row_absent",
            Input::DmOpened { outcome, .. } => match outcome {
                OpenDmOutcome::Opened { .. } => "dm_opened",
                OpenDmOutcome::RateLimited { .. } => "dm_rate_limited",
                OpenDmOutcome::Transient { .. } => "dm_transient",
                OpenDmOutcome::Permanent { .. } => "dm_permanent",
                OpenDmOutcome::Rejected { .. } => "dm_rejected",
            },
            Input::Posted { outcome, .. } => match outcome {
                PostOutcome::Sent { .. } => "post_sent",
                PostOutcome::RateLimited { .. } => "post_rate_limited",
                PostOutcome::NotStored { .. } => "post_not_stored",
                PostOutcome::Permanent { .. } => "post_permanent",
                PostOutcome::Ambiguous { .. } => "post_ambiguous",
            },
            Input::HistoryRead { outcome, .. } => match outcome {
                HistoryOutcome::Found { .. } => "history_found",
                HistoryOutcome::NotFound => "history_not_found",
                HistoryOutcome::NextPage { .. } => "history_next_page",
                HistoryOutcome::Transient { .. } => "history_transient",
                HistoryOutcome::Permanent { .. } => "history_permanent",
                HistoryOutcome::Rejected { .. } => "history_rejected",
            },
            Input::Timeout => "timeout",
            Input::Resumed => "restarted",
            Input::Reset => "reset",
            Input::MarkComplete { .. } => "mark_complete",
        }
    }
}

/// The marker metadata attached to the intro post, exactly
/// `{"event_type":"phantom_intro","event_payload":{"installer":"U..","team":"T..","generation":N}}`.
///
/// The `generation` is the ledger row's: an operator reset bumps it, so the reconciliation of
/// a fresh intro never mistakes the old intro for it.
///
/// `conversations.history(include_all_metadata=true)` returns it on the message, which is how
/// `reconciling` finds a post whose reply was lost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IntroMetadata {
    /// Always [`INTRO_EVENT_TYPE`].
    pub event_type: &'static str,
    /// Whose intro this is.
    pub event_payload: IntroPayload,
}

/// The payload of [`IntroMetadata`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IntroPayload {
    /// The installer's user id (`U..`).
    pub installer: String,
    /// The team id (`T..`).
    pub team: String,
    /// The ledger row's generation (bumped by every operator reset).
    pub generation: u32,
}

/// `event_type` of the intro marker.
pub const INTRO_EVENT_TYPE: &str = "phantom_intro";

impl IntroMetadata {
    /// The marker for `installer` in `team`, generation 0 (a row never reset).
    pub fn new(installer: &str, team: &str) -> IntroMetadata {
        IntroMetadata::of_generation(installer, team, 0)
    }

    /// The marker for `installer` in `team` at `generation`.
    pub fn of_generation(installer: &str, team: &str, generation: u32) -> IntroMetadata {
        IntroMetadata {
            event_type: INTRO_EVENT_TYPE,
            event_payload: IntroPayload {
                installer: installer.to_string(),
                team: team.to_string(),
                generation,
            },
        }
    }

    /// The JSON value to send as `chat.postMessage`'s `metadata` argument.
    pub fn to_json(&self) -> serde_json::Value {
        // Serializing a struct of strings cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Whether `message` (one element of `conversations.history`'s `messages`) carries this
    /// marker: same event type, installer, team and generation. A marker without a
    /// `generation` (written before it existed) is generation 0.
    pub fn is_on(&self, message: &serde_json::Value) -> bool {
        let meta = &message["metadata"];
        let payload = &meta["event_payload"];
        let generation = match &payload["generation"] {
            serde_json::Value::Null => Some(0),
            value => value.as_u64(),
        };
        meta["event_type"] == INTRO_EVENT_TYPE
            && payload["installer"] == self.event_payload.installer.as_str()
            && payload["team"] == self.event_payload.team.as_str()
            && generation == Some(u64::from(self.event_payload.generation))
    }
}

/// A side effect the shell performs for the onboarding machine; each Web API call is answered
/// with the matching input carrying the same [`CallId`].
///
/// Ordering rule: within the outputs of one input, every `Command` comes after every
/// [`Transition`](crate::engine::Transition). The shell commits each transition (journal row and
/// ledger row) before performing a later command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Call `auth.test` with the bot token; answer with [`Input::AuthTested`].
    AuthTest {
        /// Echo this in the answer.
        call: CallId,
    },
    /// Read the ledger row `key` (`<team_id>/<installer>`) from the store; answer with
    /// [`Input::RowLoaded`] (`None` only when the read proved there is no row). Emitted once
    /// `auth.test` named the team: the machine opens the DM (or adopts the stored row) only
    /// after the answer, so a restart can never skip a row that exists.
    LoadRow {
        /// The ledger key, the machine's instance id.
        key: String,
    },
    /// Call `conversations.open(users=user)`; answer with [`Input::DmOpened`].
    OpenDm {
        /// Echo this in the answer.
        call: CallId,
        /// The installer's user id.
        user: String,
    },
    /// Call `chat.postMessage(channel, text, metadata)`; answer with [`Input::Posted`].
    ///
    /// **Durability rule:** this command always follows the `Transition` into `sending` in the
    /// output stream, and the shell must have **committed and synced** that transition's journal
    /// and ledger rows before writing the request. Otherwise a crash after the post would
    /// restart in a state that posts again without looking first.
    PostIntro {
        /// Echo this in the answer.
        call: CallId,
        /// The DM channel id.
        channel: String,
        /// The message text.
        text: String,
        /// The marker, sent as `metadata` (see [`IntroMetadata::to_json`]).
        metadata: IntroMetadata,
    },
    /// Call `conversations.history(channel, include_all_metadata=true, oldest, limit,
    /// cursor)` and classify the reply with
    /// [`classify_history`](super::classify::classify_history) against `marker`; answer with
    /// [`Input::HistoryRead`]. One command per page: a `NextPage` answer makes the machine
    /// ask for the next page with its cursor.
    LookupHistory {
        /// Echo this in the answer.
        call: CallId,
        /// The DM channel id.
        channel: String,
        /// Slack's `oldest` (a `ts`, `"<secs>.000000"`): 5 min before the first post of
        /// this generation went out; `None` for a row that does not know it (read it all).
        oldest: Option<String>,
        /// Messages per page (default 15: Slack's cap for non-Marketplace apps).
        limit: u32,
        /// `None` for the first page, else the previous page's `next_cursor`.
        cursor: Option<String>,
        /// The marker to look for.
        marker: IntroMetadata,
    },
}
