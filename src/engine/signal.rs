//! Countable facts that are not transitions.
//!
//! Telemetry is a pure function of the [`Transition`](super::Transition) and [`Signal`]
//! streams. Most signals come out of the machines; the few that only the shell can measure
//! (`Acked`, the time between receipt and the ack being written) are built by the shell and fed
//! to the same observers.

use serde::Serialize;

/// A countable fact that is not a change of leaf state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum Signal {
    /// A link that had received `hello` stopped being the active link (lost, stopped, or
    /// replaced by a handover); `lifetime_ms` runs from its `hello`.
    LinkEnded {
        /// Milliseconds from the link's `hello` to the end of its activity.
        lifetime_ms: u64,
    },
    /// A standby link received `hello` and became the active link.
    Handover,
    /// An ack was written to the link; measured by the shell.
    Acked {
        /// Microseconds from receipt of the envelope to the ack written.
        latency_us: u64,
    },
    /// An envelope was received and classified.
    Envelope {
        /// Envelope type label: `events_api`, `slash_commands`, `interactive` or `other`.
        kind: &'static str,
        /// What happened to it.
        outcome: EnvelopeOutcome,
    },
    /// A frame from the server was rejected before it reached the machine's logic.
    FrameRejected {
        /// Why.
        reason: FrameRejectReason,
    },
    /// One `chat.postMessage` attempt of the onboarding intro DM ended.
    IntroAttempt {
        /// How it ended.
        outcome: IntroOutcome,
    },
    /// A (state, input) pair with nothing to do: the input was ignored and counted.
    Ignored {
        /// Machine id.
        machine: &'static str,
        /// Leaf state at the time.
        state: &'static str,
        /// Input name.
        input: &'static str,
    },
    /// A `hello` frame's facts about the app's links (gauge
    /// `phantom_slack_socket_server_connections`, logs).
    ServerHello {
        /// `num_connections`: Slack's count of the app's registered links, this one included;
        /// ghosts of links dropped without a close handshake count too.
        num_connections: Option<u32>,
        /// `debug_info.approximate_connection_time`: seconds until Slack refreshes the link.
        approximate_connection_time_s: Option<u64>,
        /// `debug_info.host`.
        host: Option<String>,
    },
    /// A `disconnect` frame's `debug_info.host`, for logs.
    ServerDisconnect {
        /// `debug_info.host`.
        host: Option<String>,
    },
    /// A retry was scheduled (reconnect backoff, onboarding retry), for logs.
    RetryScheduled {
        /// Machine id.
        machine: &'static str,
        /// Milliseconds until the retry.
        delay_ms: u64,
    },
}

/// What happened to a received envelope (`phantom_slack_envelopes_total{outcome}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvelopeOutcome {
    /// Acked and handed to the handler.
    Dispatched,
    /// Acked, and not dispatched: its key was seen within the dedupe window.
    Duplicate,
    /// It arrived on a link that can no longer carry an ack (close frame already sent): still
    /// dispatched on first sight (Slack never retries slash commands and interactions), its ack
    /// tried on the active link.
    Unackable,
    /// An `events_api` envelope neither acked nor dispatched because `max_pending` dispatches
    /// are unfinished: Slack re-delivers it later.
    Shed,
    /// The handler's response came after the envelope's `AckDeadline`: it was acked without
    /// it, and the response is dropped.
    LateResponse,
}

impl EnvelopeOutcome {
    /// Every value, in label order.
    pub const ALL: [EnvelopeOutcome; 5] = [
        Self::Dispatched,
        Self::Duplicate,
        Self::Unackable,
        Self::Shed,
        Self::LateResponse,
    ];

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dispatched => "dispatched",
            Self::Duplicate => "duplicate",
            Self::Unackable => "unackable",
            Self::Shed => "shed",
            Self::LateResponse => "late_response",
        }
    }
}

/// Why a server frame was rejected (`phantom_slack_frames_rejected_total{reason}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum FrameRejectReason {
    /// Text that is not a JSON object.
    InvalidJson,
    /// A binary frame (Slack sends only text).
    Binary,
    /// A JSON object whose `type` is missing or unknown and which carries no `envelope_id`.
    UnknownType,
    /// Larger than the configured frame limit.
    Oversize,
    /// An envelope type (`events_api`, ...) without an `envelope_id`: it cannot be acked.
    MissingEnvelopeId,
}

impl FrameRejectReason {
    /// Every value, in label order.
    pub const ALL: [FrameRejectReason; 5] = [
        Self::InvalidJson,
        Self::Binary,
        Self::UnknownType,
        Self::Oversize,
        Self::MissingEnvelopeId,
    ];

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::Binary => "binary",
            Self::UnknownType => "unknown_type",
            Self::Oversize => "oversize",
            Self::MissingEnvelopeId => "missing_envelope_id",
        }
    }
}

/// How one intro-DM post ended (`phantom_onboarding_intro_attempts_total{outcome}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IntroOutcome {
    /// Slack confirmed the post with a `ts`.
    Sent,
    /// HTTP 429.
    RateLimited,
    /// Failed before the request was written: nothing was delivered.
    Transient,
    /// Unknown whether Slack stored the post.
    Ambiguous,
    /// A permanent error code.
    Permanent,
}

impl IntroOutcome {
    /// Every value, in label order.
    pub const ALL: [IntroOutcome; 5] = [
        Self::Sent,
        Self::RateLimited,
        Self::Transient,
        Self::Ambiguous,
        Self::Permanent,
    ];

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::RateLimited => "rate_limited",
            Self::Transient => "transient",
            Self::Ambiguous => "ambiguous",
            Self::Permanent => "permanent",
        }
    }
}
