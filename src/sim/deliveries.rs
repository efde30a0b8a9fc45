//! Which envelopes await an ack, how acks are counted, and which deliveries Slack would make
//! again. Pure: time is sim time (`Duration` since start) passed in by the shell.
//!
//! Model (Slack's documented behaviour, with its retry gaps compressed):
//! - an envelope must be acked within the ack timeout (3 s), on the link it went out on;
//! - an `events_api` envelope that is not is delivered again with `retry_attempt + 1` and
//!   `retry_reason: "timeout"`, at most `max_retries` times (Slack: 3), under a new envelope id
//!   and the same `event_id`;
//! - `slash_commands` and `interactive` envelopes are never re-delivered (the user sees a
//!   timeout error in Slack instead).

use super::log::{AckOutcome, LinkId};
use crate::socket::wire::{Envelope, EnvelopeKind};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// At most this many envelopes await an ack; past it the oldest is forgotten (expired
/// without re-delivery).
pub(crate) const MAX_PENDING: usize = 10_000;
/// How many expired ids are remembered to recognise late acks.
const MAX_EXPIRED_REMEMBERED: usize = 10_000;

/// When acks are due and how often Slack tries again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DeliveryPolicy {
    pub(crate) ack_timeout: Duration,
    pub(crate) max_retries: u32,
}

/// An envelope whose ack did not come in time.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Expiry {
    pub(crate) link: LinkId,
    pub(crate) envelope: Envelope,
    /// Whether Slack delivers it again.
    pub(crate) redeliver: bool,
}

#[derive(Debug)]
struct Pending {
    link: LinkId,
    envelope: Envelope,
    written_at: Duration,
}

/// The envelopes awaiting acks.
#[derive(Debug)]
pub(crate) struct Deliveries {
    policy: DeliveryPolicy,
    pending: HashMap<String, Pending>,
    /// (deadline, envelope id) in write order, so deadlines are ordered; acked ids are left
    /// behind as tombstones and skipped.
    deadlines: VecDeque<(Duration, String)>,
    expired: HashMap<String, Duration>,
    expired_order: VecDeque<String>,
}

impl Deliveries {
    pub(crate) fn new(policy: DeliveryPolicy) -> Self {
        Deliveries {
            policy,
            pending: HashMap::new(),
            deadlines: VecDeque::new(),
            expired: HashMap::new(),
            expired_order: VecDeque::new(),
        }
    }

    /// The envelope frame was written to `link` at `now`.
    pub(crate) fn written(&mut self, now: Duration, link: LinkId, envelope: Envelope) {
        if self.pending.len() >= MAX_PENDING {
            self.forget_oldest();
        }
        let id = envelope.envelope_id.clone();
        self.deadlines
            .push_back((now + self.policy.ack_timeout, id.clone()));
        self.pending.insert(
            id,
            Pending {
                link,
                envelope,
                written_at: now,
            },
        );
    }

    /// An ack for `envelope_id` came in on `link` at `now`: how it counts, and the latency in
    /// microseconds (0 when unknown).
    pub(crate) fn ack(
        &mut self,
        now: Duration,
        link: LinkId,
        envelope_id: &str,
    ) -> (AckOutcome, u64) {
        if let Some(p) = self.pending.get(envelope_id) {
            let latency = micros(now.saturating_sub(p.written_at));
            if p.link != link {
                return (AckOutcome::WrongLink, latency);
            }
            self.pending.remove(envelope_id);
            return (AckOutcome::OnTime, latency);
        }
        match self.expired.remove(envelope_id) {
            Some(written_at) => (AckOutcome::Late, micros(now.saturating_sub(written_at))),
            None => (AckOutcome::Unknown, 0),
        }
    }

    /// The envelopes whose ack deadline has passed at `now`, oldest first.
    pub(crate) fn poll_expired(&mut self, now: Duration) -> Vec<Expiry> {
        let mut out = Vec::new();
        while let Some((deadline, _)) = self.deadlines.front() {
            if *deadline > now {
                break;
            }
            let (_, id) = self.deadlines.pop_front().expect("front exists");
            if let Some(p) = self.pending.remove(&id) {
                out.push(self.expire(id, p));
            }
        }
        out
    }

    /// The next ack deadline, if any envelope awaits an ack.
    pub(crate) fn next_deadline(&mut self) -> Option<Duration> {
        while let Some((deadline, id)) = self.deadlines.front() {
            if self.pending.contains_key(id) {
                return Some(*deadline);
            }
            self.deadlines.pop_front();
        }
        None
    }

    /// How many envelopes await an ack.
    pub(crate) fn pending_count(&self) -> usize {
        self.pending.len()
    }

    fn expire(&mut self, id: String, p: Pending) -> Expiry {
        if self.expired_order.len() >= MAX_EXPIRED_REMEMBERED
            && let Some(old) = self.expired_order.pop_front()
        {
            self.expired.remove(&old);
        }
        self.expired.insert(id.clone(), p.written_at);
        self.expired_order.push_back(id);
        let redeliver = p.envelope.kind == EnvelopeKind::EventsApi
            && p.envelope.retry_attempt < self.policy.max_retries;
        Expiry {
            link: p.link,
            envelope: p.envelope,
            redeliver,
        }
    }

    fn forget_oldest(&mut self) {
        while let Some((_, id)) = self.deadlines.pop_front() {
            if self.pending.remove(&id).is_some() {
                return;
            }
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const POLICY: DeliveryPolicy = DeliveryPolicy {
        ack_timeout: Duration::from_secs(3),
        max_retries: 3,
    };

    fn envelope(id: &str, kind: EnvelopeKind, retry_attempt: u32) -> Envelope {
        Envelope {
            envelope_id: id.into(),
            kind,
            payload: json!({"event_id": "Ev1"}),
            accepts_response_payload: false,
            retry_attempt,
            retry_reason: None,
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn ack_in_time_on_the_same_link_counts() {
        let mut d = Deliveries::new(POLICY);
        d.written(
            ms(1000),
            LinkId(1),
            envelope("e1", EnvelopeKind::EventsApi, 0),
        );
        assert_eq!(d.next_deadline(), Some(ms(4000)));
        assert_eq!(
            d.ack(ms(1250), LinkId(1), "e1"),
            (AckOutcome::OnTime, 250_000)
        );
        assert_eq!(d.next_deadline(), None);
        assert!(d.poll_expired(ms(10_000)).is_empty());
        assert_eq!(d.ack(ms(1300), LinkId(1), "e1"), (AckOutcome::Unknown, 0));
    }

    #[test]
    fn ack_on_another_link_does_not_count() {
        let mut d = Deliveries::new(POLICY);
        d.written(ms(0), LinkId(1), envelope("e1", EnvelopeKind::EventsApi, 0));
        assert_eq!(d.ack(ms(10), LinkId(2), "e1").0, AckOutcome::WrongLink);
        let expired = d.poll_expired(ms(3000));
        assert_eq!(expired.len(), 1);
        assert!(expired[0].redeliver);
    }

    #[test]
    fn events_expire_at_the_deadline_and_are_redelivered_a_bounded_number_of_times() {
        let mut d = Deliveries::new(POLICY);
        d.written(ms(0), LinkId(1), envelope("e1", EnvelopeKind::EventsApi, 0));
        assert!(d.poll_expired(ms(2999)).is_empty());
        let e = d.poll_expired(ms(3000));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].link, LinkId(1));
        assert!(e[0].redeliver);
        d.written(
            ms(3000),
            LinkId(1),
            envelope("e4", EnvelopeKind::EventsApi, 3),
        );
        let last = d.poll_expired(ms(6000));
        assert!(!last[0].redeliver, "retry_attempt 3 is Slack's last");
        assert_eq!(
            d.ack(ms(7000), LinkId(1), "e1"),
            (AckOutcome::Late, 7_000_000)
        );
    }

    #[test]
    fn commands_and_interactions_are_never_redelivered() {
        let mut d = Deliveries::new(POLICY);
        d.written(
            ms(0),
            LinkId(1),
            envelope("c", EnvelopeKind::SlashCommands, 0),
        );
        d.written(
            ms(1),
            LinkId(1),
            envelope("i", EnvelopeKind::Interactive, 0),
        );
        let e = d.poll_expired(ms(5000));
        assert_eq!(e.len(), 2);
        assert!(e.iter().all(|x| !x.redeliver));
        assert_eq!(e[0].envelope.envelope_id, "c", "oldest first");
    }

    #[test]
    fn pending_is_bounded() {
        let mut d = Deliveries::new(POLICY);
        for n in 0..MAX_PENDING + 3 {
            d.written(
                ms(n as u64),
                LinkId(1),
                envelope(&format!("e{n}"), EnvelopeKind::EventsApi, 0),
            );
        }
        assert_eq!(d.pending_count(), MAX_PENDING);
        assert_eq!(d.ack(ms(10), LinkId(1), "e0").0, AckOutcome::Unknown);
        assert_eq!(d.ack(ms(10), LinkId(1), "e3").0, AckOutcome::OnTime);
    }
}
