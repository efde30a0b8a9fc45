//! The simulator's queryable log: every Web API call, link open and close, frame sent, ack
//! received and control action, in order, with a sequence number and the sim time.
//!
//! The log is a bounded ring: past [`LOG_CAPACITY`] records the oldest are dropped (and
//! counted), so a simulator left running for days stays small.

use serde::Serialize;
use std::collections::VecDeque;
use std::fmt;

/// How many records the log keeps before dropping the oldest.
pub const LOG_CAPACITY: usize = 100_000;

/// The simulator's id for one WebSocket link, in order of opening (1, 2, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct LinkId(pub u64);

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L{}", self.0)
    }
}

/// One log record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogRecord {
    /// Sequence number, from 1, contiguous (also across dropped records).
    pub seq: u64,
    /// Milliseconds since the simulator started.
    pub at_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// What happened. Serialized with a `kind` tag (`call`, `link_opened`, ...).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A Web API call was answered (or abandoned by the client while held).
    Call {
        /// Method name, e.g. `chat.postMessage`.
        method: String,
        /// HTTP status of the reply (0: no reply — the client went away before a held
        /// reply, or a `lost` fault dropped the connection).
        http_status: u16,
        /// `ok` of the reply body (false for non-JSON replies).
        ok: bool,
        /// Slack error code of the reply, if any.
        error: Option<String>,
        /// The injected fault that shaped the reply, if any.
        fault: Option<String>,
        /// How long the reply was held back, if it was.
        held_ms: Option<u64>,
    },
    /// A WebSocket link was accepted and got its `hello`.
    LinkOpened {
        /// The link.
        link: LinkId,
        /// `num_connections` sent in the `hello`.
        num_connections: u32,
    },
    /// A WebSocket link was refused after the upgrade (`too_many_websockets`).
    LinkRefused {
        /// The link.
        link: LinkId,
        /// The disconnect reason sent.
        reason: String,
    },
    /// A link ended.
    LinkClosed {
        /// The link.
        link: LinkId,
        /// Why it ended.
        cause: CloseCause,
        /// Milliseconds from its opening.
        lifetime_ms: u64,
    },
    /// A frame was written to a link (or, on a silenced link, lost on the way).
    FrameSent {
        /// The link.
        link: LinkId,
        /// `hello`, `events_api`, `slash_commands`, `interactive`, `disconnect`, `ping`,
        /// `close`, or `malformed_<kind>`.
        frame: String,
        /// The envelope id, for envelopes.
        envelope_id: Option<String>,
        /// The `retry_attempt`, for envelopes.
        retry_attempt: Option<u32>,
        /// The disconnect reason, for `disconnect` frames.
        reason: Option<String>,
        /// True when the link was silenced and the frame never reached the client.
        lost: bool,
    },
    /// The client acked an envelope.
    Ack {
        /// The link the ack came in on.
        link: LinkId,
        /// The acked id.
        envelope_id: String,
        /// Microseconds from the envelope frame written to the ack read (0 for unknown ids).
        latency_us: u64,
        /// How the ack was counted.
        outcome: AckOutcome,
        /// Whether the ack carried a `payload` (Node's client sends `"payload":{}`).
        with_payload: bool,
        /// The ack's `payload`, as received.
        payload: Option<serde_json::Value>,
        /// What is wrong with the payload for the envelope it acks (also logged as an
        /// `ack_payload_error` record), if anything.
        payload_error: Option<String>,
    },
    /// An ack's payload is not what Slack accepts for its envelope (Slack would ignore it:
    /// no options shown, no modal validation, no message).
    AckPayloadError {
        /// The link the ack came in on.
        link: LinkId,
        /// The acked id.
        envelope_id: String,
        /// What is wrong.
        error: String,
    },
    /// No link was open to send an envelope on (Slack keeps no backlog).
    Undeliverable {
        /// The envelope id.
        envelope_id: String,
        /// `events_api`, `slash_commands` or `interactive`.
        frame: String,
        /// Its `retry_attempt`.
        retry_attempt: u32,
    },
    /// An event will be delivered again.
    RetryScheduled {
        /// The failed delivery's envelope id.
        envelope_id: String,
        /// The `retry_attempt` the retry will carry.
        retry_attempt: u32,
        /// Sim time (ms) when it is due.
        due_ms: u64,
        /// The `retry_reason` it will carry (`timeout`, `connection_failed`).
        reason: String,
    },
    /// Slack gave up on an envelope: the app never gets it.
    Lost {
        /// The envelope id of the last attempt.
        envelope_id: String,
        /// `events_api`, `slash_commands` or `interactive`.
        frame: String,
        /// The last attempt's `retry_attempt`.
        retry_attempt: u32,
        /// `no_link`, `not_acked` (commands and interactions are never retried) or
        /// `retries_exhausted` (events).
        cause: String,
    },
    /// An envelope was not acked within the ack timeout.
    Expired {
        /// The link it was sent on.
        link: LinkId,
        /// The unacked id.
        envelope_id: String,
        /// Its `retry_attempt`.
        retry_attempt: u32,
        /// Whether it will be re-delivered (events only, bounded attempts).
        redelivered: bool,
    },
    /// A link applied a fault (`silenced`, `ignoring_close`).
    LinkFault {
        /// The link.
        link: LinkId,
        /// Which fault.
        fault: String,
    },
    /// The client sent something that is not an ack.
    ClientFrame {
        /// The link.
        link: LinkId,
        /// `text` (not an ack), `binary` or `close`.
        what: String,
    },
    /// A control action (traffic, fault) was applied.
    Control {
        /// What was asked, e.g. `disconnect`.
        action: String,
        /// Details for people.
        detail: String,
    },
}

/// How an ack was counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AckOutcome {
    /// Within the ack timeout, on the link the envelope went out on.
    OnTime,
    /// After the envelope had expired.
    Late,
    /// On another link than the envelope's: not counted, so the envelope still expires.
    WrongLink,
    /// An id the simulator never sent, or acked already.
    Unknown,
}

/// Why a link ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CloseCause {
    /// The client sent a close frame and the simulator answered it.
    ClientClosed,
    /// The client sent a close frame that the simulator never answered (fault), then the
    /// client went away or the hold bound passed.
    CloseIgnored,
    /// The TCP connection ended without a close frame, or failed.
    ClientGone,
    /// The simulator cut the link after a `disconnect` (close frame sent).
    Cut,
    /// The simulator dropped the link abruptly (fault).
    Dropped,
    /// The simulator ended the connection with no close frame, as a refresh (fault).
    Reset,
    /// A silenced link was released by its bound or ended by the client.
    SilenceEnded,
    /// The link broke the protocol (e.g. an oversize frame from the client).
    ProtocolError,
    /// The simulator shut down.
    Shutdown,
}

impl CloseCause {
    /// Whether the link ended without a close handshake, so Slack keeps it as a ghost.
    pub fn leaves_ghost(self) -> bool {
        matches!(
            self,
            CloseCause::ClientGone
                | CloseCause::Dropped
                | CloseCause::Reset
                | CloseCause::SilenceEnded
                | CloseCause::ProtocolError
        )
    }
}

/// The bounded log.
#[derive(Debug, Default)]
pub(crate) struct Log {
    records: VecDeque<LogRecord>,
    next_seq: u64,
    dropped: u64,
}

impl Log {
    /// Append a record, dropping the oldest past the capacity. Returns its sequence number.
    pub(crate) fn push(&mut self, at_ms: u64, event: Event) -> u64 {
        self.next_seq += 1;
        if self.records.len() == LOG_CAPACITY {
            self.records.pop_front();
            self.dropped += 1;
        }
        self.records.push_back(LogRecord {
            seq: self.next_seq,
            at_ms,
            event,
        });
        self.next_seq
    }

    /// The sequence number of the last record (0 when empty).
    pub(crate) fn last_seq(&self) -> u64 {
        self.next_seq
    }

    /// How many records were dropped for capacity.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Records with `seq > since` that match `filter`, at most `limit`.
    pub(crate) fn query(&self, since: u64, limit: usize, filter: &LogFilter) -> Vec<LogRecord> {
        let first = self.records.front().map_or(0, |r| r.seq);
        let skip =
            usize::try_from(since.saturating_sub(first).saturating_add(1)).unwrap_or(usize::MAX);
        let skip = if since < first { 0 } else { skip };
        self.records
            .iter()
            .skip(skip)
            .filter(|r| filter.matches(&r.event))
            .take(limit)
            .cloned()
            .collect()
    }
}

/// Which records a query wants.
#[derive(Clone, Debug, Default)]
pub struct LogFilter {
    /// Only this `kind` (`call`, `ack`, `frame_sent`, ...).
    pub kind: Option<String>,
    /// Only records about this link.
    pub link: Option<LinkId>,
}

impl LogFilter {
    fn matches(&self, event: &Event) -> bool {
        let kind_ok = self.kind.as_deref().is_none_or(|k| k == event.kind());
        let link_ok = self.link.is_none_or(|l| event.link() == Some(l));
        kind_ok && link_ok
    }
}

impl Event {
    /// The serialized `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Call { .. } => "call",
            Event::LinkOpened { .. } => "link_opened",
            Event::LinkRefused { .. } => "link_refused",
            Event::LinkClosed { .. } => "link_closed",
            Event::FrameSent { .. } => "frame_sent",
            Event::Ack { .. } => "ack",
            Event::Expired { .. } => "expired",
            Event::LinkFault { .. } => "link_fault",
            Event::ClientFrame { .. } => "client_frame",
            Event::Control { .. } => "control",
            Event::AckPayloadError { .. } => "ack_payload_error",
            Event::Undeliverable { .. } => "undeliverable",
            Event::RetryScheduled { .. } => "retry_scheduled",
            Event::Lost { .. } => "lost",
        }
    }

    /// The link the record is about, if any.
    pub fn link(&self) -> Option<LinkId> {
        match self {
            Event::LinkOpened { link, .. }
            | Event::LinkRefused { link, .. }
            | Event::LinkClosed { link, .. }
            | Event::FrameSent { link, .. }
            | Event::Ack { link, .. }
            | Event::Expired { link, .. }
            | Event::LinkFault { link, .. }
            | Event::ClientFrame { link, .. }
            | Event::AckPayloadError { link, .. } => Some(*link),
            Event::Call { .. }
            | Event::Control { .. }
            | Event::Undeliverable { .. }
            | Event::RetryScheduled { .. }
            | Event::Lost { .. } => None,
        }
    }
}

impl fmt::Display for LogRecord {
    /// One readable line, as `phantom-fsm sim` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.at_ms as f64 / 1000.0;
        write!(f, "{secs:>9.3}s ")?;
        match &self.event {
            Event::Call {
                method,
                http_status,
                ok,
                error,
                fault,
                held_ms,
            } => {
                write!(f, "api   {method} -> {http_status} ok={ok}")?;
                if let Some(e) = error {
                    write!(f, " error={e}")?;
                }
                if let Some(x) = fault {
                    write!(f, " (fault: {x})")?;
                }
                if let Some(h) = held_ms {
                    write!(f, " (held {h} ms)")?;
                }
                Ok(())
            }
            Event::LinkOpened {
                link,
                num_connections,
            } => write!(
                f,
                "link  {link} opened, hello sent (num_connections={num_connections})"
            ),
            Event::LinkRefused { link, reason } => write!(f, "link  {link} refused: {reason}"),
            Event::LinkClosed {
                link,
                cause,
                lifetime_ms,
            } => write!(f, "link  {link} closed: {cause:?} after {lifetime_ms} ms"),
            Event::FrameSent {
                link,
                frame,
                envelope_id,
                retry_attempt,
                reason,
                lost,
            } => {
                write!(f, "send  {link} {frame}")?;
                if let Some(id) = envelope_id {
                    write!(f, " {id}")?;
                }
                if let Some(n) = retry_attempt.filter(|n| *n > 0) {
                    write!(f, " retry_attempt={n}")?;
                }
                if let Some(r) = reason {
                    write!(f, " reason={r}")?;
                }
                if *lost {
                    write!(f, " (lost: link silenced or gone)")?;
                }
                Ok(())
            }
            Event::Ack {
                link,
                envelope_id,
                latency_us,
                outcome,
                ..
            } => write!(f, "ack   {link} {envelope_id} {latency_us} us {outcome:?}"),
            Event::Expired {
                link,
                envelope_id,
                retry_attempt,
                redelivered,
            } => write!(
                f,
                "miss  {link} {envelope_id} not acked in time (retry_attempt={retry_attempt}, \
                 redelivered={redelivered})"
            ),
            Event::LinkFault { link, fault } => write!(f, "fault {link} {fault}"),
            Event::ClientFrame { link, what } => write!(f, "recv  {link} non-ack frame: {what}"),
            Event::Control { action, detail } => write!(f, "ctl   {action}: {detail}"),
            Event::AckPayloadError {
                link,
                envelope_id,
                error,
            } => write!(f, "ERROR {link} ack {envelope_id}: {error}"),
            Event::Undeliverable {
                envelope_id, frame, ..
            } => write!(f, "gap   {frame} {envelope_id}: no link open"),
            Event::RetryScheduled {
                envelope_id,
                retry_attempt,
                due_ms,
                reason,
            } => write!(
                f,
                "retry {envelope_id} as retry_attempt={retry_attempt} ({reason}) at {:.3}s",
                *due_ms as f64 / 1000.0
            ),
            Event::Lost {
                envelope_id,
                frame,
                cause,
                ..
            } => write!(f, "LOST  {frame} {envelope_id}: {cause}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(n: usize) -> Event {
        Event::Control {
            action: "t".into(),
            detail: n.to_string(),
        }
    }

    #[test]
    fn ring_drops_oldest_and_keeps_sequence() {
        let mut log = Log::default();
        for n in 0..LOG_CAPACITY + 5 {
            log.push(0, control(n));
        }
        assert_eq!(log.dropped(), 5);
        let all = log.query(0, usize::MAX, &LogFilter::default());
        assert_eq!(all.len(), LOG_CAPACITY);
        assert_eq!(all[0].seq, 6);
        assert_eq!(log.last_seq(), (LOG_CAPACITY + 5) as u64);
    }

    #[test]
    fn filter_by_kind_and_link() {
        let mut log = Log::default();
        log.push(1, control(0));
        log.push(
            2,
            Event::ClientFrame {
                link: LinkId(2),
                what: "binary".into(),
            },
        );
        let filter = LogFilter {
            kind: Some("client_frame".into()),
            link: Some(LinkId(2)),
        };
        let found = log.query(0, 10, &filter);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].seq, 2);
        let none = LogFilter {
            link: Some(LinkId(3)),
            ..LogFilter::default()
        };
        assert!(log.query(0, 10, &none).is_empty());
    }
}
