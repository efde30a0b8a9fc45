//! The book of envelopes between receipt and their end: those dispatched first whose ack waits
//! for the handler's response (responder mode, `accepts_response_payload`), those whose response
//! came too late (for counting `late_response`), and the dispatches the shell has not reported
//! finished (for load shedding).

use super::io::LinkId;
use crate::engine::Millis;
use std::collections::{BTreeSet, VecDeque};

/// An envelope dispatched before its ack: acked with the handler's response, or without one at
/// `ack_by`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwaitingAck {
    /// The envelope to ack.
    pub envelope_id: String,
    /// The link it came in on.
    pub link: LinkId,
    /// Its type label (for the `late_response` count).
    pub kind: &'static str,
    /// Its `AckDeadline`: receipt plus `ack_deadline`.
    pub ack_by: Millis,
}

/// Deferred acks, late answers and unfinished dispatches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AckBook {
    /// Dispatched, ack deferred, oldest first.
    pub awaiting: Vec<AwaitingAck>,
    /// Acked without a payload at their deadline: `(envelope_id, kind)`, newest last, bounded.
    late: VecDeque<(String, &'static str)>,
    /// Envelope ids dispatched and not reported finished.
    pub unfinished: BTreeSet<String>,
}

/// How many acked-at-deadline ids are remembered to recognise a late response.
const LATE_MEMORY: usize = 1_024;

impl AckBook {
    /// The earliest ack deadline.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.awaiting.iter().map(|a| a.ack_by).min()
    }

    /// Take the envelope `envelope_id` out of the awaiting list.
    pub fn take(&mut self, envelope_id: &str) -> Option<AwaitingAck> {
        let i = self
            .awaiting
            .iter()
            .position(|a| a.envelope_id == envelope_id)?;
        Some(self.awaiting.remove(i))
    }

    /// Take every awaiting envelope whose deadline is at or before `now`, or that came in on
    /// `link` (about to get a close frame).
    pub fn take_where(&mut self, mut due: impl FnMut(&AwaitingAck) -> bool) -> Vec<AwaitingAck> {
        let (taken, kept) = std::mem::take(&mut self.awaiting)
            .into_iter()
            .partition(|a| due(a));
        self.awaiting = kept;
        taken
    }

    /// `envelope_id` was acked without the handler's response: remember it so the response,
    /// when it comes, is counted `late_response` (and never sent).
    pub fn acked_without_response(&mut self, envelope_id: String, kind: &'static str) {
        if self.late.len() == LATE_MEMORY {
            self.late.pop_front();
        }
        self.late.push_back((envelope_id, kind));
    }

    /// A response for an envelope already acked without it: its type label, once.
    pub fn late_response(&mut self, envelope_id: &str) -> Option<&'static str> {
        let i = self.late.iter().position(|(id, _)| id == envelope_id)?;
        self.late.remove(i).map(|(_, kind)| kind)
    }

    /// Forget everything (a process restart: no handler is running any more).
    pub fn clear(&mut self) {
        *self = AckBook::default();
    }
}
