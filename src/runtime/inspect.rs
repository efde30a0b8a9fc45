//! What the live inspector (`GET /debug/ui`, `GET /debug/events`) shows beyond `/health`: the
//! socket machine's links and the envelope, handover counts, fed from the drained signals.
//! Only counts and states: nothing here can carry a token, a URL or a payload.

use super::status::Health;
use crate::engine::{EnvelopeOutcome, Signal};
use serde::Serialize;

/// Journal rows a `/debug/events` subscriber may fall behind before it is dropped.
pub const EVENT_CAPACITY: usize = 256;

/// The socket machine's links by role.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LinkCounts {
    /// Links that said `hello` (0 or 1).
    pub active: u8,
    /// Links opening or awaiting `hello` (0 or 1).
    pub standby: u8,
    /// Links replaced by a handover, still acking (0 or 1).
    pub draining: u8,
}

impl LinkCounts {
    /// The counts of `links`.
    pub fn of(links: &crate::socket::Links) -> LinkCounts {
        LinkCounts {
            active: u8::from(links.active.is_some()),
            standby: u8::from(links.pending.is_some()),
            draining: u8::from(links.draining.is_some()),
        }
    }
}

/// Envelopes received since start, by what happened to them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EnvelopeCounts {
    /// Acked (dispatched or duplicate).
    pub acked: u64,
    /// Acked, not dispatched: seen within the dedupe window.
    pub duplicate: u64,
    /// Shed: neither acked nor dispatched while `max_pending` handlers were unfinished
    /// (Slack re-delivers them).
    pub shed: u64,
    /// Arrived on a link that could no longer carry an ack: dispatched, ack tried elsewhere.
    pub unackable: u64,
    /// Acked without the handler's response, which came after the ack deadline.
    pub late_response: u64,
}

/// Counts kept by the status board for the inspector.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Activity {
    pub(crate) links: LinkCounts,
    pub(crate) envelopes: EnvelopeCounts,
    pub(crate) handovers: u64,
}

impl Activity {
    pub(crate) fn observe(&mut self, signal: &Signal) {
        match signal {
            Signal::Handover => self.handovers += 1,
            Signal::Envelope { outcome, .. } => match outcome {
                EnvelopeOutcome::Dispatched => self.envelopes.acked += 1,
                EnvelopeOutcome::Duplicate => {
                    self.envelopes.acked += 1;
                    self.envelopes.duplicate += 1;
                }
                EnvelopeOutcome::Unackable => self.envelopes.unackable += 1,
                EnvelopeOutcome::Shed => self.envelopes.shed += 1,
                EnvelopeOutcome::LateResponse => self.envelopes.late_response += 1,
            },
            _ => {}
        }
    }
}

/// The `status` event of `/debug/events`, sent once a second.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatusEvent {
    /// What `/health` says now.
    pub health: Health,
    /// Every machine instance's current state.
    pub machines: Vec<StatusMachine>,
    /// The socket machine's links.
    pub links: LinkCounts,
    /// Envelope counts since start.
    pub envelopes: EnvelopeCounts,
    /// Entries into `reconnecting` since start.
    pub reconnects: u64,
    /// Standby links that took over since start.
    pub handovers: u64,
}

/// One machine instance in a `status` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusMachine {
    /// Machine id.
    pub machine: String,
    /// Instance id.
    pub instance: String,
    /// Current leaf state.
    pub state: String,
    /// When it entered the state (Unix ms).
    pub since_unix_ms: u64,
    /// Milliseconds in the state at the time of the event.
    pub in_state_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_and_handovers_are_counted_by_outcome() {
        let mut activity = Activity::default();
        for outcome in [
            EnvelopeOutcome::Dispatched,
            EnvelopeOutcome::Dispatched,
            EnvelopeOutcome::Duplicate,
            EnvelopeOutcome::Unackable,
            EnvelopeOutcome::Shed,
            EnvelopeOutcome::LateResponse,
        ] {
            activity.observe(&Signal::Envelope {
                kind: "events_api",
                outcome,
            });
        }
        activity.observe(&Signal::Handover);
        activity.observe(&Signal::LinkEnded { lifetime_ms: 5 });
        assert_eq!(
            activity.envelopes,
            EnvelopeCounts {
                acked: 3,
                duplicate: 1,
                shed: 1,
                unackable: 1,
                late_response: 1,
            }
        );
        assert_eq!(activity.handovers, 1);
    }

    #[test]
    fn links_are_counted_by_role() {
        let mut links = crate::socket::Links::default();
        assert_eq!(LinkCounts::of(&links), LinkCounts::default());
        let a = links.allocate();
        let b = links.allocate();
        links.active = Some(crate::socket::ActiveLink {
            id: a,
            hello_at: crate::engine::Millis(0),
            counted: false,
        });
        links.draining = Some(crate::socket::ActiveLink {
            id: b,
            hello_at: crate::engine::Millis(0),
            counted: true,
        });
        let counts = LinkCounts::of(&links);
        assert_eq!((counts.active, counts.standby, counts.draining), (1, 0, 1));
    }
}
