//! Delivery of envelopes: ack first and dispatch once; or, for an envelope whose handler may
//! answer in the ack (responder mode), dispatch first and ack with the response or at the
//! `AckDeadline`; shed `events_api` envelopes while too many dispatches are unfinished. Every
//! envelope that is not shed is acked exactly once, on its link or, once that link is closing,
//! on the active one.

use super::acks::AwaitingAck;
use super::io::{AckPayload, Command, LinkId};
use super::links::Role;
use super::storage::{Outbox, Storage};
use super::timer::Timer;
use super::wire::{Envelope, EnvelopeKind};
use crate::engine::{EnvelopeOutcome, Signal};

impl Storage {
    /// An envelope read on `link`.
    pub(crate) fn on_envelope(&mut self, link: LinkId, envelope: &Envelope, context: &mut Outbox) {
        let Some(role) = self.links.role(link) else {
            self.ignore(context);
            return;
        };
        let kind = envelope.kind.label();
        let key = envelope.dedupe_key();
        let seen = self.dedupe.contains(&key);
        // Acked means accepted: while the handlers are behind, an event Slack will re-deliver
        // is refused. Slash commands and interactions are never retried: always accepted.
        if !seen
            && envelope.kind == EnvelopeKind::EventsApi
            && self.acks.unfinished.len() >= self.config.max_pending
        {
            let outcome = EnvelopeOutcome::Shed;
            context.signal(Signal::Envelope { kind, outcome });
            return;
        }
        let defer = self.config.responder && envelope.accepts_response_payload && !seen;
        if !defer {
            self.send_ack(link, &envelope.envelope_id, None, context);
        }
        let now = context.now();
        let first = self.dedupe.first_sight(&key, now.unix);
        if first {
            context.command(Command::Remember {
                key,
                at_unix: now.unix,
            });
            context.command(Command::Dispatch {
                link,
                envelope: envelope.clone(),
            });
            self.acks.unfinished.insert(envelope.envelope_id.clone());
            if defer {
                let ack_by = now.mono.after(self.config.ack_deadline.max(MIN_DELAY));
                self.acks.awaiting.push(AwaitingAck {
                    envelope_id: envelope.envelope_id.clone(),
                    link,
                    kind,
                    ack_by,
                });
                self.arm_ack_deadline(context);
            }
        }
        let outcome = match (role, first) {
            (Role::Closing, _) => EnvelopeOutcome::Unackable,
            (_, true) => EnvelopeOutcome::Dispatched,
            (_, false) => EnvelopeOutcome::Duplicate,
        };
        context.signal(Signal::Envelope { kind, outcome });
    }

    /// Ack `envelope_id` read on `link`: there while it can be written, else on the active
    /// link (our close frame on `link` is sent, or it is gone), else nowhere.
    fn send_ack(
        &mut self,
        link: LinkId,
        envelope_id: &str,
        payload: Option<AckPayload>,
        context: &mut Outbox,
    ) {
        let writable = matches!(
            self.links.role(link),
            Some(Role::Active | Role::Pending | Role::Draining)
        );
        let target = match writable {
            true => Some(link),
            false => self.links.active.map(|a| a.id),
        };
        if let Some(link) = target {
            context.command(Command::Ack {
                link,
                envelope_id: envelope_id.to_string(),
                payload,
            });
        }
    }

    /// The handler's response: in the ack while its deadline has not passed, else counted.
    pub(crate) fn on_response(
        &mut self,
        envelope_id: &str,
        payload: &AckPayload,
        context: &mut Outbox,
    ) {
        if let Some(awaiting) = self.acks.take(envelope_id) {
            self.send_ack(awaiting.link, envelope_id, Some(payload.clone()), context);
            self.arm_ack_deadline(context);
        } else if let Some(kind) = self.acks.late_response(envelope_id) {
            let outcome = EnvelopeOutcome::LateResponse;
            context.signal(Signal::Envelope { kind, outcome });
        } else {
            self.ignore(context);
        }
    }

    /// `AckDeadline`: the handlers that have not answered in time get their ack without a
    /// payload.
    pub(crate) fn ack_overdue(&mut self, context: &mut Outbox) {
        let now = context.now().mono;
        for awaiting in self.acks.take_where(|a| a.ack_by <= now) {
            self.ack_without_response(awaiting, context);
        }
        self.arm_ack_deadline(context);
    }

    /// `link` is about to get our close frame: the deferred acks of its envelopes go out now,
    /// without a payload, while it can still be written.
    /// (The caller has already taken `link` out of its role, so it is written to directly.)
    pub(crate) fn flush_deferred_acks(&mut self, link: LinkId, context: &mut Outbox) {
        for awaiting in self.acks.take_where(|a| a.link == link) {
            context.command(Command::Ack {
                link,
                envelope_id: awaiting.envelope_id.clone(),
                payload: None,
            });
            self.acks
                .acked_without_response(awaiting.envelope_id, awaiting.kind);
        }
        self.arm_ack_deadline(context);
    }

    fn ack_without_response(&mut self, awaiting: AwaitingAck, context: &mut Outbox) {
        self.send_ack(awaiting.link, &awaiting.envelope_id, None, context);
        self.acks
            .acked_without_response(awaiting.envelope_id, awaiting.kind);
    }

    fn arm_ack_deadline(&mut self, context: &mut Outbox) {
        match self.acks.next_deadline() {
            Some(at) => context.timers.set(Timer::AckDeadline, at),
            None => context.timers.clear(Timer::AckDeadline),
        }
    }
}

/// A deadline is at least 1 ms after the input that arms it.
const MIN_DELAY: std::time::Duration = std::time::Duration::from_millis(1);
