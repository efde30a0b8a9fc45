//! Injected faults: bad Web API replies, held replies, and malformed WebSocket frames.
//! Pure: the shells in `web_api` and `socket` apply them.

use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// Rules queued per method; past it new rules are refused.
const MAX_RULES_PER_METHOD: usize = 256;
/// The longest a reply is ever held (a "never answered" reply is sent after this).
pub const MAX_HOLD: Duration = Duration::from_secs(300);
/// Size of an `oversize` malformed frame: over the client's 1 MiB default limit.
pub const OVERSIZE_BYTES: usize = (1 << 20) + 4096;

/// How a faulty Web API reply looks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum FaultReply {
    /// HTTP 200 `{"ok":false,"error":"<error>"}`.
    Error {
        /// Slack error code, e.g. `invalid_auth`.
        error: String,
    },
    /// HTTP 429 with `Retry-After: <retry_after>` and `{"ok":false,"error":"ratelimited"}`.
    RateLimited {
        /// Seconds.
        retry_after: u64,
    },
    /// An HTTP error status (e.g. 500, 502, 503) with a non-JSON body, as Slack's edge sends.
    Status {
        /// The status code.
        status: u16,
    },
    /// HTTP 200 `{"ok":true,...}` with no `ts` (and no `message`).
    OkWithoutTs,
    /// HTTP 200 with a body that is not JSON.
    Unparseable,
    /// No reply at all: the connection is dropped once the request was read (with
    /// `after_effect`, the effect happened: "stored, but the client never heard").
    Lost,
}

/// A fault for one call: its reply, and whether the method's effect (a stored post, an
/// opened DM) happens before the faulty reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiFault {
    /// The reply.
    #[serde(flatten)]
    pub reply: FaultReply,
    /// Apply the method's effect first (the "Slack accepted it, then the reply broke" case).
    #[serde(default)]
    pub after_effect: bool,
}

impl ApiFault {
    /// `{"ok":false,"error":code}`; nothing is applied.
    pub fn error(code: &str) -> Self {
        Self::before(FaultReply::Error {
            error: code.to_string(),
        })
    }

    /// HTTP 429 with `Retry-After`; nothing is applied.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self::before(FaultReply::RateLimited {
            retry_after: retry_after_secs,
        })
    }

    /// An HTTP error status with a non-JSON body; nothing is applied unless
    /// [`after_effect`](Self::after_effect) is set.
    pub fn status(status: u16) -> Self {
        Self::before(FaultReply::Status { status })
    }

    /// `ok:true` without `ts`: Slack accepted the call, so the effect is applied.
    pub fn ok_without_ts() -> Self {
        ApiFault {
            reply: FaultReply::OkWithoutTs,
            after_effect: true,
        }
    }

    /// A 200 reply whose body is not JSON; nothing is applied unless
    /// [`after_effect`](Self::after_effect) is set.
    pub fn unparseable() -> Self {
        Self::before(FaultReply::Unparseable)
    }

    /// Apply the method's effect before the faulty reply.
    #[must_use]
    pub fn after_effect(mut self) -> Self {
        self.after_effect = true;
        self
    }

    fn before(reply: FaultReply) -> Self {
        ApiFault {
            reply,
            after_effect: false,
        }
    }

    /// The connection is dropped without a reply; the effect happens first (Slack stored
    /// the post, the client never heard).
    pub fn lost() -> Self {
        ApiFault {
            reply: FaultReply::Lost,
            after_effect: true,
        }
    }

    /// A short label for the log.
    pub(crate) fn label(&self) -> String {
        let reply = match &self.reply {
            FaultReply::Error { error } => format!("error {error}"),
            FaultReply::RateLimited { retry_after } => format!("429 retry-after {retry_after}"),
            FaultReply::Status { status } => format!("http {status}"),
            FaultReply::OkWithoutTs => "ok without ts".into(),
            FaultReply::Unparseable => "unparseable body".into(),
            FaultReply::Lost => "no reply (connection dropped)".into(),
        };
        if self.after_effect {
            format!("{reply} after effect")
        } else {
            reply
        }
    }
}

/// How long a held reply waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Until [`SimHandle::release_held`](super::SimHandle::release_held), the client going
    /// away, or [`MAX_HOLD`].
    UntilReleased,
    /// This long (at most [`MAX_HOLD`]).
    For(Duration),
}

/// The fault rules still to apply, per method, in order.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    faults: HashMap<String, VecDeque<(ApiFault, u32)>>,
    holds: HashMap<String, VecDeque<(Hold, u32)>>,
}

/// A rule was refused because the method already has [`MAX_RULES_PER_METHOD`] queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QueueFull;

impl FaultQueue {
    /// Fail the next `count` calls of `method` with `fault` (after any rules queued before).
    pub(crate) fn fail_next(
        &mut self,
        method: &str,
        count: u32,
        fault: ApiFault,
    ) -> Result<(), QueueFull> {
        push_rule(&mut self.faults, method, count, fault)
    }

    /// Hold the replies of the next `count` calls of `method`.
    pub(crate) fn hold_next(
        &mut self,
        method: &str,
        count: u32,
        hold: Hold,
    ) -> Result<(), QueueFull> {
        push_rule(&mut self.holds, method, count, hold)
    }

    /// The fault for this call of `method`, if one is queued (consumes it).
    pub(crate) fn take_fault(&mut self, method: &str) -> Option<ApiFault> {
        take_rule(&mut self.faults, method)
    }

    /// The hold for this call of `method`, if one is queued (consumes it).
    pub(crate) fn take_hold(&mut self, method: &str) -> Option<Hold> {
        take_rule(&mut self.holds, method)
    }

    /// Forget every queued rule.
    pub(crate) fn clear(&mut self) {
        self.faults.clear();
        self.holds.clear();
    }
}

fn push_rule<T>(
    map: &mut HashMap<String, VecDeque<(T, u32)>>,
    method: &str,
    count: u32,
    rule: T,
) -> Result<(), QueueFull> {
    if count == 0 {
        return Ok(());
    }
    let queue = map.entry(method.to_string()).or_default();
    if queue.len() >= MAX_RULES_PER_METHOD {
        return Err(QueueFull);
    }
    queue.push_back((rule, count));
    Ok(())
}

fn take_rule<T: Clone>(map: &mut HashMap<String, VecDeque<(T, u32)>>, method: &str) -> Option<T> {
    let queue = map.get_mut(method)?;
    let (rule, left) = queue.front_mut()?;
    let rule = rule.clone();
    *left -= 1;
    if *left == 0 {
        queue.pop_front();
    }
    Some(rule)
}

/// A malformed frame the simulator can send on a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Malformed {
    /// A text frame that is not JSON.
    InvalidJson,
    /// A binary frame (Slack sends only text).
    Binary,
    /// A JSON object with a `type` nobody knows and no `envelope_id`.
    UnknownType,
    /// A valid `events_api` envelope over 1 MiB ([`OVERSIZE_BYTES`]).
    Oversize,
    /// An `events_api` envelope without `envelope_id` (it cannot be acked).
    MissingEnvelopeId,
}

/// The bytes of a malformed frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RawFrame {
    Text(String),
    Binary(Vec<u8>),
}

impl Malformed {
    /// The wire name, used in logs (`malformed_<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Malformed::InvalidJson => "invalid_json",
            Malformed::Binary => "binary",
            Malformed::UnknownType => "unknown_type",
            Malformed::Oversize => "oversize",
            Malformed::MissingEnvelopeId => "missing_envelope_id",
        }
    }

    /// The frame to send; `envelope_id` names the oversize envelope.
    pub(crate) fn frame(self, envelope_id: &str) -> RawFrame {
        match self {
            Malformed::InvalidJson => RawFrame::Text("{\"envelope_id\": \"x\", \"type\": ".into()),
            Malformed::Binary => RawFrame::Binary(br#"{"type":"hello"}"#.to_vec()),
            Malformed::UnknownType => {
                RawFrame::Text(json!({"type": "surprise", "detail": "sim"}).to_string())
            }
            Malformed::Oversize => RawFrame::Text(
                json!({
                    "envelope_id": envelope_id,
                    "type": "events_api",
                    "payload": {"event": {"type": "message", "text": "x".repeat(OVERSIZE_BYTES)}},
                    "accepts_response_payload": false,
                    "retry_attempt": 0,
                    "retry_reason": "",
                })
                .to_string(),
            ),
            Malformed::MissingEnvelopeId => RawFrame::Text(
                json!({"type": "events_api", "payload": {"event": {"type": "message"}},
                       "accepts_response_payload": false, "retry_attempt": 0, "retry_reason": ""})
                .to_string(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::FrameRejectReason;
    use crate::socket::wire::{DEFAULT_MAX_FRAME_BYTES, decode_binary, decode_text};

    #[test]
    fn rules_apply_in_order_for_their_count() {
        let mut q = FaultQueue::default();
        q.fail_next("m", 2, ApiFault::error("invalid_auth"))
            .unwrap();
        q.fail_next("m", 1, ApiFault::rate_limited(3)).unwrap();
        assert_eq!(q.take_fault("other"), None);
        assert_eq!(q.take_fault("m"), Some(ApiFault::error("invalid_auth")));
        assert_eq!(q.take_fault("m"), Some(ApiFault::error("invalid_auth")));
        assert_eq!(q.take_fault("m"), Some(ApiFault::rate_limited(3)));
        assert_eq!(q.take_fault("m"), None);
        q.hold_next("m", 1, Hold::UntilReleased).unwrap();
        assert_eq!(q.take_hold("m"), Some(Hold::UntilReleased));
        assert_eq!(q.take_hold("m"), None);
    }

    #[test]
    fn rule_queue_is_bounded() {
        let mut q = FaultQueue::default();
        for _ in 0..MAX_RULES_PER_METHOD {
            q.fail_next("m", 1, ApiFault::status(500)).unwrap();
        }
        assert_eq!(q.fail_next("m", 1, ApiFault::status(500)), Err(QueueFull));
    }

    #[test]
    fn fault_json_shape() {
        let f: ApiFault = serde_json::from_str(r#"{"reply":"status","status":503}"#).unwrap();
        assert_eq!(f, ApiFault::status(503));
        let f: ApiFault =
            serde_json::from_str(r#"{"reply":"ok_without_ts","after_effect":true}"#).unwrap();
        assert_eq!(f, ApiFault::ok_without_ts());
    }

    #[test]
    fn malformed_frames_are_rejected_by_our_decoder_for_the_named_reason() {
        let cases = [
            (Malformed::InvalidJson, FrameRejectReason::InvalidJson),
            (Malformed::UnknownType, FrameRejectReason::UnknownType),
            (Malformed::Oversize, FrameRejectReason::Oversize),
            (
                Malformed::MissingEnvelopeId,
                FrameRejectReason::MissingEnvelopeId,
            ),
        ];
        for (m, reason) in cases {
            let RawFrame::Text(t) = m.frame("e1") else {
                panic!("{m:?} should be text");
            };
            assert_eq!(
                decode_text(&t, DEFAULT_MAX_FRAME_BYTES),
                Err(reason),
                "{m:?}"
            );
        }
        let RawFrame::Binary(b) = Malformed::Binary.frame("e1") else {
            panic!("binary");
        };
        assert_eq!(decode_binary(&b), Err(FrameRejectReason::Binary));
    }
}
