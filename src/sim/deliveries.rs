//! Which envelopes await an ack, how acks are counted, and when Slack tries an event again.
//! Pure: time is sim time (`Duration` since start) passed in by the shell.
//!
//! Model (Slack's documented behaviour; see `docs/simulator.md`):
//! - an envelope must be acked within the ack timeout (3 s), on the link it went out on;
//! - an `events_api` envelope that is not acked, or that could not be delivered at all (no
//!   link open), is tried again on Slack's schedule (immediately, about 1 min and 5 min later;
//!   the shell scales it), with `retry_attempt + 1` and a `retry_reason`, sometimes under the
//!   same envelope id ([`RetryIds`]);
//! - `slash_commands` and `interactive` envelopes are never tried again: a gap or a missed
//!   ack loses them (the user sees an error in Slack instead).

use super::ack_payload::Expect;
use super::log::{AckOutcome, LinkId};
use crate::socket::wire::{Envelope, EnvelopeKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

/// At most this many envelopes await an ack; past it the oldest is forgotten (expired
/// without a retry).
pub(crate) const MAX_PENDING: usize = 10_000;
/// At most this many retries are scheduled; past it new ones are lost.
const MAX_SCHEDULED: usize = 10_000;
/// How many expired ids are remembered to recognise late acks.
const MAX_EXPIRED_REMEMBERED: usize = 10_000;

/// Slack's retry schedule for events: the delay before retry 1, 2 and 3 (immediately, about
/// a minute, about five minutes), before scaling.
pub const SLACK_RETRY_SCHEDULE: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_secs(60),
    Duration::from_secs(300),
];

/// Which envelope id a retried event carries. Slack sometimes re-uses the first delivery's
/// id and sometimes makes a new one; a client must cope with both, so tests can force either.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryIds {
    /// Every retry gets a new envelope id.
    Fresh,
    /// Every retry keeps the previous envelope id.
    Same,
    /// Retries 1 and 3 keep the id, retry 2 gets a new one (deterministic, both kinds).
    #[default]
    Alternate,
}

impl RetryIds {
    /// Whether retry number `attempt` (1, 2, ...) keeps the previous envelope id.
    pub(crate) fn keeps_id(self, attempt: u32) -> bool {
        match self {
            RetryIds::Fresh => false,
            RetryIds::Same => true,
            RetryIds::Alternate => attempt % 2 == 1,
        }
    }
}

/// When acks are due and when Slack tries again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DeliveryPolicy {
    pub(crate) ack_timeout: Duration,
    /// The (scaled) delay before each retry; its length is the number of retries.
    pub(crate) retry_delays: Vec<Duration>,
}

/// An envelope whose ack did not come in time.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Expiry {
    pub(crate) link: LinkId,
    pub(crate) envelope: Envelope,
}

/// A retry that is due: the previous delivery, why it failed, and the link to avoid.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RetryDue {
    pub(crate) previous: Envelope,
    pub(crate) reason: String,
    pub(crate) avoid: Option<LinkId>,
}

/// How an ack was counted, and what its payload must look like (unknown for unknown ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AckCount {
    pub(crate) outcome: AckOutcome,
    pub(crate) latency_us: u64,
    pub(crate) expect: Option<Expect>,
}

#[derive(Debug)]
struct Pending {
    link: LinkId,
    envelope: Envelope,
    written_at: Duration,
}

/// The envelopes awaiting acks and the retries Slack will make.
#[derive(Debug)]
pub(crate) struct Deliveries {
    policy: DeliveryPolicy,
    pending: HashMap<String, Pending>,
    /// (deadline, envelope id) in write order, so deadlines are ordered; acked ids are left
    /// behind as tombstones and skipped.
    deadlines: VecDeque<(Duration, String)>,
    expired: HashMap<String, (Duration, Expect)>,
    expired_order: VecDeque<String>,
    /// (due, sequence) → the retry.
    scheduled: BTreeMap<(Duration, u64), RetryDue>,
    next_retry_seq: u64,
}

impl Deliveries {
    pub(crate) fn new(policy: DeliveryPolicy) -> Self {
        Deliveries {
            policy,
            pending: HashMap::new(),
            deadlines: VecDeque::new(),
            expired: HashMap::new(),
            expired_order: VecDeque::new(),
            scheduled: BTreeMap::new(),
            next_retry_seq: 0,
        }
    }

    /// The envelope frame was written to `link` at `now` (or lost on the way: Slack cannot
    /// tell): it now awaits its ack.
    pub(crate) fn written(&mut self, now: Duration, link: LinkId, envelope: Envelope) {
        if self.pending.len() >= MAX_PENDING {
            self.forget_oldest();
        }
        let id = envelope.envelope_id.clone();
        // A retry under the same id: its ack counts for this delivery.
        self.expired.remove(&id);
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

    /// An ack for `envelope_id` came in on `link` at `now`: how it counts.
    pub(crate) fn ack(&mut self, now: Duration, link: LinkId, envelope_id: &str) -> AckCount {
        if let Some(p) = self.pending.get(envelope_id) {
            let latency_us = micros(now.saturating_sub(p.written_at));
            let expect = Some(Expect::of(&p.envelope));
            if p.link != link {
                return AckCount {
                    outcome: AckOutcome::WrongLink,
                    latency_us,
                    expect,
                };
            }
            self.pending.remove(envelope_id);
            return AckCount {
                outcome: AckOutcome::OnTime,
                latency_us,
                expect,
            };
        }
        match self.expired.remove(envelope_id) {
            Some((written_at, expect)) => AckCount {
                outcome: AckOutcome::Late,
                latency_us: micros(now.saturating_sub(written_at)),
                expect: Some(expect),
            },
            None => AckCount {
                outcome: AckOutcome::Unknown,
                latency_us: 0,
                expect: None,
            },
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
                self.remember_expired(id, p.written_at, Expect::of(&p.envelope));
                out.push(Expiry {
                    link: p.link,
                    envelope: p.envelope,
                });
            }
        }
        out
    }

    /// A delivery of `envelope` failed at `now` (not acked, or no link to send it on). An
    /// event with retries left is scheduled again and the due time returned; `None` means
    /// Slack gives up: the envelope is lost.
    pub(crate) fn failed(
        &mut self,
        now: Duration,
        envelope: Envelope,
        reason: &str,
        avoid: Option<LinkId>,
    ) -> Option<Duration> {
        if !self.will_retry(&envelope) {
            return None;
        }
        let delay = self.policy.retry_delays[envelope.retry_attempt as usize];
        let due = now + delay;
        self.next_retry_seq += 1;
        let retry = RetryDue {
            previous: envelope,
            reason: reason.to_string(),
            avoid,
        };
        self.scheduled.insert((due, self.next_retry_seq), retry);
        Some(due)
    }

    /// Whether a failed delivery of `envelope` would be tried again.
    pub(crate) fn will_retry(&self, envelope: &Envelope) -> bool {
        let attempts_left = usize::try_from(envelope.retry_attempt)
            .is_ok_and(|a| a < self.policy.retry_delays.len());
        envelope.kind == EnvelopeKind::EventsApi
            && attempts_left
            && self.scheduled.len() < MAX_SCHEDULED
    }

    /// The retries due at `now`, in due order.
    pub(crate) fn poll_retries(&mut self, now: Duration) -> Vec<RetryDue> {
        let later = self.scheduled.split_off(&(now, u64::MAX));
        std::mem::replace(&mut self.scheduled, later)
            .into_values()
            .collect()
    }

    /// The next time something is due: an ack deadline or a retry.
    pub(crate) fn next_wakeup(&mut self) -> Option<Duration> {
        let retry = self.scheduled.keys().next().map(|(at, _)| *at);
        let deadline = self.next_deadline();
        match (retry, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// How many envelopes await an ack.
    pub(crate) fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// How many retries are scheduled.
    pub(crate) fn scheduled_count(&self) -> usize {
        self.scheduled.len()
    }

    fn next_deadline(&mut self) -> Option<Duration> {
        while let Some((deadline, id)) = self.deadlines.front() {
            if self.pending.contains_key(id) {
                return Some(*deadline);
            }
            self.deadlines.pop_front();
        }
        None
    }

    fn remember_expired(&mut self, id: String, written_at: Duration, expect: Expect) {
        if self.expired_order.len() >= MAX_EXPIRED_REMEMBERED
            && let Some(old) = self.expired_order.pop_front()
        {
            self.expired.remove(&old);
        }
        self.expired.insert(id.clone(), (written_at, expect));
        self.expired_order.push_back(id);
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

    fn policy() -> DeliveryPolicy {
        DeliveryPolicy {
            ack_timeout: Duration::from_secs(3),
            retry_delays: SLACK_RETRY_SCHEDULE.to_vec(),
        }
    }

    fn envelope(id: &str, kind: EnvelopeKind, retry_attempt: u32) -> Envelope {
        Envelope {
            envelope_id: id.into(),
            kind,
            payload: json!({"event_id": "Ev1"}).into(),
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
        let mut d = Deliveries::new(policy());
        d.written(
            ms(1000),
            LinkId(1),
            envelope("e1", EnvelopeKind::EventsApi, 0),
        );
        assert_eq!(d.next_wakeup(), Some(ms(4000)));
        let a = d.ack(ms(1250), LinkId(1), "e1");
        assert_eq!((a.outcome, a.latency_us), (AckOutcome::OnTime, 250_000));
        assert_eq!(a.expect, Some(Expect::NoPayload));
        assert_eq!(d.next_wakeup(), None);
        assert!(d.poll_expired(ms(10_000)).is_empty());
        assert_eq!(
            d.ack(ms(1300), LinkId(1), "e1").outcome,
            AckOutcome::Unknown
        );
    }

    #[test]
    fn ack_on_another_link_does_not_count() {
        let mut d = Deliveries::new(policy());
        d.written(ms(0), LinkId(1), envelope("e1", EnvelopeKind::EventsApi, 0));
        assert_eq!(
            d.ack(ms(10), LinkId(2), "e1").outcome,
            AckOutcome::WrongLink
        );
        assert_eq!(d.poll_expired(ms(3000)).len(), 1);
        assert_eq!(d.ack(ms(7000), LinkId(1), "e1").outcome, AckOutcome::Late);
    }

    #[test]
    fn events_are_retried_on_slacks_schedule_then_given_up() {
        let mut d = Deliveries::new(policy());
        let e = |n| envelope("e", EnvelopeKind::EventsApi, n);
        assert_eq!(d.failed(ms(0), e(0), "timeout", None), Some(ms(0)));
        assert_eq!(d.failed(ms(0), e(1), "timeout", None), Some(ms(60_000)));
        assert_eq!(d.failed(ms(0), e(2), "timeout", None), Some(ms(300_000)));
        assert_eq!(d.failed(ms(0), e(3), "timeout", None), None, "3 retries");
        assert_eq!(d.next_wakeup(), Some(ms(0)));
        let due = d.poll_retries(ms(59_999));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].previous.retry_attempt, 0);
        assert_eq!(d.poll_retries(ms(300_000)).len(), 2);
        assert_eq!(d.scheduled_count(), 0);
    }

    #[test]
    fn commands_and_interactions_are_never_retried() {
        let mut d = Deliveries::new(policy());
        for kind in [EnvelopeKind::SlashCommands, EnvelopeKind::Interactive] {
            assert_eq!(
                d.failed(ms(0), envelope("c", kind, 0), "timeout", None),
                None
            );
        }
    }

    #[test]
    fn a_retry_under_the_same_id_is_acked_on_time() {
        let mut d = Deliveries::new(policy());
        d.written(ms(0), LinkId(1), envelope("e1", EnvelopeKind::EventsApi, 0));
        assert_eq!(d.poll_expired(ms(3000)).len(), 1);
        d.written(
            ms(3000),
            LinkId(2),
            envelope("e1", EnvelopeKind::EventsApi, 1),
        );
        assert_eq!(d.ack(ms(3100), LinkId(2), "e1").outcome, AckOutcome::OnTime);
    }

    #[test]
    fn retry_ids_are_deterministic() {
        assert!(!RetryIds::Fresh.keeps_id(1));
        assert!(RetryIds::Same.keeps_id(2));
        let alt: Vec<bool> = (1..=3).map(|n| RetryIds::Alternate.keeps_id(n)).collect();
        assert_eq!(alt, [true, false, true]);
    }

    #[test]
    fn pending_is_bounded() {
        let mut d = Deliveries::new(policy());
        for n in 0..MAX_PENDING + 3 {
            d.written(
                ms(n as u64),
                LinkId(1),
                envelope(&format!("e{n}"), EnvelopeKind::EventsApi, 0),
            );
        }
        assert_eq!(d.pending_count(), MAX_PENDING);
        assert_eq!(d.ack(ms(10), LinkId(1), "e0").outcome, AckOutcome::Unknown);
        assert_eq!(d.ack(ms(10), LinkId(1), "e3").outcome, AckOutcome::OnTime);
    }
}
