//! One step of a `socket_sequence` scenario, its byte grammar ([`Step::read`]) and the
//! writer used by the seed stories ([`Story`]).

use super::super::bytes::{self, SeedWriter};
use crate::engine::FrameRejectReason;
use crate::socket::wire::{Disconnect, DisconnectReason, Envelope, EnvelopeKind, ServerFrame};
use crate::socket::{Input, OpenOutcome, UNRECOVERABLE_OPEN_CODES};
use arbitrary::{Arbitrary, Unstructured};
use serde_json::json;

/// A link or request chooser: most values pick one the machine knows right now, so scenarios
/// reach deep states; the rest pick a stale or unknown id (see `Harness::link`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pick(pub(crate) u8);

/// One step: a move of the clocks, a restart, or one input.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Step {
    /// Both clocks advance by `ms`; no input (the next input fires what expired).
    Advance {
        ms: u16,
    },
    /// The shell wakes at the next deadline (shifted by `offset % 3 - 1` ms) and delivers
    /// `Timeout`; with no deadline armed, a spurious `Timeout` now.
    ToDeadline {
        offset: u8,
    },
    /// Both clocks advance by whole minutes (dedupe TTL, backoff reset, re-probe).
    AdvanceMinutes {
        minutes: u8,
    },
    /// Only the wall clock moves (NTP step), by `seconds`, either way.
    WallJump {
        seconds: i16,
    },
    /// The process restarts: a new machine loaded with the persisted dedupe keys.
    Restart,
    Start,
    Stop,
    NewTokens,
    Timeout,
    OpenOk {
        request: Pick,
    },
    OpenRateLimited {
        request: Pick,
        retry_after_ms: u16,
    },
    OpenTransient {
        request: Pick,
    },
    OpenUnrecoverable {
        request: Pick,
        code: u8,
    },
    LinkOpened {
        link: Pick,
    },
    LinkClosed {
        link: Pick,
    },
    LinkError {
        link: Pick,
    },
    Pong {
        link: Pick,
    },
    Hello {
        link: Pick,
    },
    Envelope {
        link: Pick,
        kind: u8,
        envelope: u8,
        event: u8,
        retry: u8,
    },
    Disconnect {
        link: Pick,
        reason: u8,
    },
    Rejected {
        link: Pick,
        reason: u8,
    },
    /// A raw text frame, through `SocketMode::handle_text` (decoder and machine together).
    Text {
        link: Pick,
        text: String,
    },
    /// Any input from `arbitrary`'s derive, with its link and request re-picked.
    Raw {
        link: Pick,
        request: Pick,
        input: Input,
    },
    /// The handler answers an envelope (picked among those awaiting their ack, else those
    /// dispatched, else an id that may be unknown).
    Respond {
        envelope: Pick,
    },
    /// A handler finishes (picked among the unfinished dispatches, else any id).
    Completed {
        envelope: Pick,
    },
}

/// Number of step kinds; the op byte is taken modulo this.
const OPS: u8 = 25;

impl Step {
    /// Read one step.
    pub(crate) fn read(u: &mut Unstructured<'_>) -> arbitrary::Result<Step> {
        let pick = |u: &mut Unstructured<'_>| Pick(bytes::u8(u));
        Ok(match bytes::u8(u) % OPS {
            0 => Step::Advance { ms: bytes::u16(u) },
            1 => Step::ToDeadline {
                offset: bytes::u8(u),
            },
            2 => Step::AdvanceMinutes {
                minutes: bytes::u8(u),
            },
            3 => Step::WallJump {
                seconds: i16::from_le_bytes(bytes::u16(u).to_le_bytes()),
            },
            4 => Step::Restart,
            5 => Step::Start,
            6 => Step::Stop,
            7 => Step::NewTokens,
            8 => Step::Timeout,
            9 => Step::OpenOk { request: pick(u) },
            10 => Step::OpenRateLimited {
                request: pick(u),
                retry_after_ms: bytes::u16(u),
            },
            11 => Step::OpenTransient { request: pick(u) },
            12 => Step::OpenUnrecoverable {
                request: pick(u),
                code: bytes::u8(u),
            },
            13 => Step::LinkOpened { link: pick(u) },
            14 => Step::LinkClosed { link: pick(u) },
            15 => Step::LinkError { link: pick(u) },
            16 => Step::Pong { link: pick(u) },
            17 => Step::Hello { link: pick(u) },
            18 => Step::Envelope {
                link: pick(u),
                kind: bytes::u8(u),
                envelope: bytes::u8(u),
                event: bytes::u8(u),
                retry: bytes::u8(u),
            },
            19 => Step::Disconnect {
                link: pick(u),
                reason: bytes::u8(u),
            },
            20 => Step::Rejected {
                link: pick(u),
                reason: bytes::u8(u),
            },
            21 => Step::Text {
                link: pick(u),
                text: String::from_utf8_lossy(bytes::blob(u)).into_owned(),
            },
            22 => Step::Raw {
                link: pick(u),
                request: pick(u),
                input: Input::arbitrary(u)?,
            },
            23 => Step::Respond { envelope: pick(u) },
            _ => Step::Completed { envelope: pick(u) },
        })
    }
}

/// The open outcome of an `OpenOk`/`OpenRateLimited`/... step.
pub(crate) fn open_outcome(step: &Step) -> Option<OpenOutcome> {
    Some(match step {
        Step::OpenOk { .. } => OpenOutcome::Url(URL.into()),
        Step::OpenRateLimited { retry_after_ms, .. } => OpenOutcome::RateLimited {
            retry_after_ms: (*retry_after_ms > 0).then_some(u64::from(*retry_after_ms)),
        },
        Step::OpenTransient { .. } => OpenOutcome::Transient,
        Step::OpenUnrecoverable { code, .. } => OpenOutcome::Unrecoverable {
            code: UNRECOVERABLE_OPEN_CODES
                .get(usize::from(*code))
                .copied()
                .unwrap_or("some_future_code")
                .to_string(),
        },
        _ => return None,
    })
}

/// The URL every `OpenOk` step answers with (what Slack's looks like).
pub(crate) const URL: &str = "wss://wss-primary.slack.com/link/?ticket=fuzz&app_id=A0FUZZ";

/// The server frame of a `Hello`/`Envelope`/`Disconnect` step.
pub(crate) fn frame(step: &Step) -> Option<ServerFrame> {
    Some(match step {
        Step::Hello { .. } => ServerFrame::Hello(crate::socket::wire::Hello {
            num_connections: Some(1),
            host: Some("applink-fuzz".into()),
            build_number: Some(1),
            approximate_connection_time: Some(18060),
            app_id: Some("A0FUZZ".into()),
        }),
        Step::Envelope {
            kind,
            envelope,
            event,
            retry,
            ..
        } => ServerFrame::Envelope(envelope_of(*kind, *envelope, *event, *retry)),
        Step::Disconnect { reason, .. } => ServerFrame::Disconnect(Disconnect {
            reason: match reason % 5 {
                0 => DisconnectReason::Warning,
                1 => DisconnectReason::RefreshRequested,
                2 => DisconnectReason::LinkDisabled,
                3 => DisconnectReason::TooManyWebsockets,
                _ => DisconnectReason::Other("socket_mode_maintenance".into()),
            },
            host: Some("applink-fuzz".into()),
        }),
        _ => return None,
    })
}

/// The rejection reason of a `Rejected` step.
pub(crate) fn reject_reason(reason: u8) -> FrameRejectReason {
    FrameRejectReason::ALL[usize::from(reason) % FrameRejectReason::ALL.len()]
}

/// A small space of envelope and event ids, so re-deliveries and duplicates are common.
fn envelope_of(kind: u8, envelope: u8, event: u8, retry: u8) -> Envelope {
    let (kind, payload) = match kind % 4 {
        0 => {
            let ty = ["app_mention", "message", "workflow_published"][usize::from(event % 3)];
            let mut payload = json!({"team_id": "T0FUZZ", "event": {"type": ty}});
            if event > 0 {
                payload["event_id"] = json!(format!("Ev{event:03}"));
            }
            (EnvelopeKind::EventsApi, payload)
        }
        1 => (
            EnvelopeKind::SlashCommands,
            json!({"command": "/phantom", "text": "hi"}),
        ),
        2 => (EnvelopeKind::Interactive, json!({"type": "block_actions"})),
        _ => (EnvelopeKind::Other("future_type".into()), json!({})),
    };
    Envelope {
        envelope_id: format!("env-{envelope:03}"),
        kind,
        payload: payload.into(),
        accepts_response_payload: retry & 0x80 != 0,
        retry_attempt: u32::from(retry % 4),
        retry_reason: (!retry.is_multiple_of(4)).then(|| "timeout".to_string()),
    }
}

/// Writes steps in the grammar of [`Step::read`], for the seed stories.
#[derive(Clone, Debug, Default)]
pub(crate) struct Story {
    w: SeedWriter,
}

impl Story {
    /// A story for config preset `preset` and RNG seed `seed` (see `Preset::read`).
    pub(crate) fn new(preset: u8, seed: u16) -> Story {
        let mut story = Story::default();
        story.w.u8(preset).u16(seed);
        story
    }

    fn op(&mut self, op: u8) -> &mut Self {
        self.w.u8(op);
        self
    }

    pub(crate) fn advance(&mut self, ms: u16) -> &mut Self {
        self.op(0).w.u16(ms);
        self
    }
    pub(crate) fn wake_at_deadline(&mut self) -> &mut Self {
        self.op(1).w.u8(1);
        self
    }
    pub(crate) fn minutes(&mut self, minutes: u8) -> &mut Self {
        self.op(2).w.u8(minutes);
        self
    }
    pub(crate) fn restart(&mut self) -> &mut Self {
        self.op(4)
    }
    pub(crate) fn start(&mut self) -> &mut Self {
        self.op(5)
    }
    pub(crate) fn stop(&mut self) -> &mut Self {
        self.op(6)
    }
    pub(crate) fn new_tokens(&mut self) -> &mut Self {
        self.op(7)
    }
    /// Answer the call in flight with a URL.
    pub(crate) fn open_ok(&mut self) -> &mut Self {
        self.op(9).w.u8(0);
        self
    }
    pub(crate) fn open_rate_limited(&mut self, retry_after_ms: u16) -> &mut Self {
        self.op(10).w.u8(0).u16(retry_after_ms);
        self
    }
    pub(crate) fn open_transient(&mut self) -> &mut Self {
        self.op(11).w.u8(0);
        self
    }
    /// `code` indexes `UNRECOVERABLE_OPEN_CODES` (0 = `invalid_auth`).
    pub(crate) fn open_unrecoverable(&mut self, code: u8) -> &mut Self {
        self.op(12).w.u8(0).u8(code);
        self
    }
    /// Links are picked by index among the machine's links, oldest first.
    pub(crate) fn link_opened(&mut self, link: u8) -> &mut Self {
        self.op(13).w.u8(link);
        self
    }
    pub(crate) fn link_closed(&mut self, link: u8) -> &mut Self {
        self.op(14).w.u8(link);
        self
    }
    pub(crate) fn pong(&mut self, link: u8) -> &mut Self {
        self.op(16).w.u8(link);
        self
    }
    /// An `events_api` envelope `env-<envelope>` with event id `Ev<event>`.
    pub(crate) fn event(&mut self, link: u8, envelope: u8, event: u8) -> &mut Self {
        self.op(18).w.u8(link).u8(0).u8(envelope).u8(event).u8(0);
        self
    }
    /// A slash command `env-<envelope>` that accepts a response payload.
    pub(crate) fn slash_with_response(&mut self, link: u8, envelope: u8) -> &mut Self {
        self.op(18).w.u8(link).u8(1).u8(envelope).u8(0).u8(0x80);
        self
    }
    /// The handler answers envelope `pick`: an index into those awaiting their ack, then the
    /// unfinished ones (oldest first).
    pub(crate) fn respond(&mut self, pick: u8) -> &mut Self {
        self.op(23).w.u8(pick);
        self
    }
    /// The handler of the oldest unfinished dispatch finishes.
    pub(crate) fn completed(&mut self) -> &mut Self {
        self.op(24).w.u8(0);
        self
    }
    /// `reason`: 0 warning, 1 refresh_requested, 2 link_disabled, 3 too_many_websockets,
    /// 4 another reason.
    pub(crate) fn disconnect(&mut self, link: u8, reason: u8) -> &mut Self {
        self.op(19).w.u8(link).u8(reason);
        self
    }
    pub(crate) fn text(&mut self, link: u8, text: &str) -> &mut Self {
        self.op(21).w.u8(link).blob(text.as_bytes());
        self
    }
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        self.w.finish()
    }
}
