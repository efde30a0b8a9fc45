//! What goes into the Socket Mode machine and what comes out of it.

use super::wire::{Disconnect, DisconnectReason, Envelope, ServerFrame};
use crate::engine::{FrameRejectReason, InputName, UnixMs};

/// Identifies one WebSocket link for the life of the machine (never reused).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub struct LinkId(pub u64);

impl std::fmt::Display for LinkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "link#{}", self.0)
    }
}

/// Identifies one `apps.connections.open` call, so a late answer to an abandoned call is
/// recognised and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub struct RequestId(pub u64);

/// A WebSocket URL from `apps.connections.open`. Its ticket lets anyone open a link for the
/// app, so it is a secret: `Debug` shows the scheme and host only; [`LinkUrl::expose`] gives
/// the whole URL to the code that connects.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub struct LinkUrl(String);

impl LinkUrl {
    /// The whole URL, for opening the WebSocket (never log it).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with `debug_reconnects=true` added to its query: Slack then refreshes the link
    /// after about 360 s, to rehearse handovers against real Slack.
    pub fn with_debug_reconnects(&self) -> LinkUrl {
        let separator = if self.0.contains('?') { '&' } else { '?' };
        LinkUrl(format!("{}{separator}debug_reconnects=true", self.0))
    }
}

impl From<String> for LinkUrl {
    fn from(url: String) -> LinkUrl {
        LinkUrl(url)
    }
}

impl From<&str> for LinkUrl {
    fn from(url: &str) -> LinkUrl {
        LinkUrl(url.to_string())
    }
}

impl std::fmt::Debug for LinkUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Scheme and host only: the path and query carry the ticket.
        let rest = self.0.split_once("://").map_or("", |(_, rest)| rest);
        let scheme = self.0.split_once("://").map_or("?", |(scheme, _)| scheme);
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        write!(f, "LinkUrl({scheme}://{host}/<redacted>)")
    }
}

/// The handler's answer carried in an ack (`{"envelope_id":..,"payload":..}`): options of an
/// external select, a modal's `response_action`, a slash command's reply.
#[derive(Clone, Debug, PartialEq)]
pub struct AckPayload(pub serde_json::Value);

#[cfg(feature = "fuzzing")]
impl<'a> arbitrary::Arbitrary<'a> for AckPayload {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let text: String = u.arbitrary()?;
        Ok(AckPayload(serde_json::json!({ "text": text })))
    }
}

/// How an `apps.connections.open` call ended, as classified by the Web API client.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum OpenOutcome {
    /// `{"ok":true,"url":"wss://..."}`.
    Url(LinkUrl),
    /// HTTP 429; wait at least `retry_after_ms` (from `Retry-After`) before the next call.
    RateLimited {
        /// `Retry-After` in milliseconds, if the header was present.
        retry_after_ms: Option<u64>,
    },
    /// 5xx, `internal_error`, `fatal_error`, `service_unavailable`, `request_timeout`, network
    /// errors, timeouts: retry with backoff.
    Transient,
    /// `invalid_auth`, `token_revoked`, ... (see [`UNRECOVERABLE_OPEN_CODES`]): stop trying.
    Unrecoverable {
        /// The Slack error code.
        code: String,
    },
}

/// `apps.connections.open` error codes after which retrying cannot help.
pub const UNRECOVERABLE_OPEN_CODES: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_allowed_token_type",
    "missing_scope",
    "team_disabled",
    "user_removed_from_team",
    "access_denied",
];

impl OpenOutcome {
    /// Classify a failed `apps.connections.open` call (`docs/architecture.md`): HTTP 429 is
    /// rate-limited (`retry_after_ms` from `Retry-After`); an error code from
    /// [`UNRECOVERABLE_OPEN_CODES`] is unrecoverable; everything else (5xx, `internal_error`,
    /// `fatal_error`, `service_unavailable`, `request_timeout`, network errors, timeouts,
    /// unparseable replies) is transient.
    pub fn from_failure(
        http_status: Option<u16>,
        error_code: Option<&str>,
        retry_after_ms: Option<u64>,
    ) -> OpenOutcome {
        if http_status == Some(429) || error_code == Some("ratelimited") {
            return OpenOutcome::RateLimited { retry_after_ms };
        }
        match error_code {
            Some(code) if UNRECOVERABLE_OPEN_CODES.contains(&code) => OpenOutcome::Unrecoverable {
                code: code.to_string(),
            },
            _ => OpenOutcome::Transient,
        }
    }
}

/// One input of the Socket Mode machine.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum Input {
    /// Connect (from `disconnected` or `error`).
    Start,
    /// Disconnect everything and stop.
    Stop,
    /// The operator supplied new tokens (leaves `error` at once).
    NewTokens,
    /// Delivered once after a restore: the process restarted, every link is gone.
    Resumed,
    /// The answer to [`Command::OpenConnection`].
    OpenResult {
        /// Which call.
        request: RequestId,
        /// How it ended.
        outcome: OpenOutcome,
    },
    /// The WebSocket handshake of a link completed.
    LinkOpened {
        /// Which link.
        link: LinkId,
    },
    /// The link ended (close frame from the peer, or the stream ended).
    LinkClosed {
        /// Which link.
        link: LinkId,
    },
    /// The link failed (connect error, read or write error).
    LinkError {
        /// Which link.
        link: LinkId,
    },
    /// A decoded text frame.
    Frame {
        /// Which link it came in on.
        link: LinkId,
        /// The frame.
        frame: ServerFrame,
    },
    /// A frame that failed decoding (it still proves the link is alive).
    FrameRejected {
        /// Which link it came in on.
        link: LinkId,
        /// Why it was rejected.
        reason: FrameRejectReason,
    },
    /// A ping or pong control frame arrived (proves the link is alive).
    Pong {
        /// Which link.
        link: LinkId,
    },
    /// The handler's response to an envelope dispatched before its ack (responder mode): sent
    /// in the ack if its `AckDeadline` has not passed, else counted `late_response` and dropped.
    Respond {
        /// The envelope answered.
        envelope_id: String,
        /// The response.
        payload: AckPayload,
    },
    /// The handler of a dispatched envelope finished (with success or not): it no longer counts
    /// toward `max_pending`.
    Completed {
        /// The envelope whose handler finished.
        envelope_id: String,
    },
    /// Time passed: fire every expired deadline.
    Timeout,
}

impl InputName for Input {
    fn name(&self) -> &'static str {
        match self {
            Input::Start => "start",
            Input::Stop => "stop",
            Input::NewTokens => "new_tokens",
            Input::Resumed => "restarted",
            Input::OpenResult { outcome, .. } => match outcome {
                OpenOutcome::Url(_) => "open_ok",
                OpenOutcome::RateLimited { .. } => "open_rate_limited",
                OpenOutcome::Transient => "open_transient",
                OpenOutcome::Unrecoverable { .. } => "open_unrecoverable",
            },
            Input::LinkOpened { .. } => "link_opened",
            Input::LinkClosed { .. } => "link_closed",
            Input::LinkError { .. } => "link_error",
            Input::Frame { frame, .. } => match frame {
                ServerFrame::Hello(_) => "hello",
                ServerFrame::Envelope(_) => "envelope",
                ServerFrame::Disconnect(Disconnect { reason, .. }) => disconnect_name(reason),
            },
            Input::FrameRejected { .. } => "frame_rejected",
            Input::Pong { .. } => "pong",
            Input::Respond { .. } => "respond",
            Input::Completed { .. } => "completed",
            Input::Timeout => "timeout",
        }
    }
}

fn disconnect_name(reason: &DisconnectReason) -> &'static str {
    match reason {
        DisconnectReason::Warning => "disconnect_warning",
        DisconnectReason::RefreshRequested => "disconnect_refresh_requested",
        DisconnectReason::LinkDisabled => "disconnect_link_disabled",
        DisconnectReason::TooManyWebsockets => "disconnect_too_many_websockets",
        DisconnectReason::Other(_) => "disconnect_other",
    }
}

/// A side effect the shell performs for the Socket Mode machine.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Call `apps.connections.open` and answer with [`Input::OpenResult`].
    OpenConnection {
        /// Echo this in the answer.
        request: RequestId,
    },
    /// Open a WebSocket to `url`; answer with `LinkOpened` or `LinkError`, then frames.
    OpenLink {
        /// The id the machine gives this link.
        link: LinkId,
        /// The URL from `apps.connections.open` (a secret: its `Debug` shows the host only).
        url: LinkUrl,
    },
    /// Write `{"envelope_id":..}` (with `"payload"` when there is one) on the link, now
    /// ([`encode_ack_with`](super::encode_ack_with)).
    Ack {
        /// The link the envelope came in on (or the active link, when that one is closing).
        link: LinkId,
        /// The id to ack.
        envelope_id: String,
        /// The handler's response, for an envelope dispatched before its ack.
        payload: Option<AckPayload>,
    },
    /// Write a ping control frame.
    Ping {
        /// Which link.
        link: LinkId,
    },
    /// Write a close frame; keep reading until the peer closes (or [`Command::DropLink`]).
    CloseLink {
        /// Which link.
        link: LinkId,
    },
    /// Drop the socket without further ado.
    DropLink {
        /// Which link.
        link: LinkId,
    },
    /// Hand the envelope to the runtime's handler (after its ack, or before it for an envelope
    /// whose ack waits for the handler's [`Input::Respond`]). Report the handler's end with
    /// [`Input::Completed`].
    Dispatch {
        /// The link it came in on.
        link: LinkId,
        /// The envelope.
        envelope: Envelope,
    },
    /// Persist the dedupe key to `seen_events`.
    Remember {
        /// `ev:<event_id>` or `env:<envelope_id>`.
        key: String,
        /// First seen, wall clock.
        at_unix: UnixMs,
    },
}
