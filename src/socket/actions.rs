//! The policies the states share: ack first, dedupe, hand over, reconnect, liveness, stop.
//! Every method is pure: it mutates [`Storage`] and pushes outputs and deadlines into the
//! [`Outbox`] (the statig `context`).

use super::states::State;
use crate::engine::Signal;
use crate::engine::time::duration_ms;
use crate::socket::event::Event;
use crate::socket::io::{Command, LinkId, LinkUrl, OpenOutcome, RequestId};
use crate::socket::links::{ActiveLink, ClosingLink, PendingLink, Role};
use crate::socket::storage::{Outbox, Storage};
use crate::socket::timer::Timer;
use crate::socket::wire::DisconnectReason;
use statig::prelude::*;
use std::time::Duration;

/// How the active link ends when the machine gives it up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkEnd {
    /// Its socket is already gone (closed or failed).
    Gone,
    /// Dead (no frame after a ping): drop the socket.
    Drop,
    /// Alive but told to go (`too_many_websockets`): close it with its grace.
    Close,
}

impl Storage {
    /// Ask for a URL (unless a call is already in flight) and enter `connecting`.
    pub(crate) fn start_open(&mut self, context: &mut Outbox) -> Outcome<State> {
        self.request_open(context);
        Transition(State::Connecting {})
    }

    fn request_open(&mut self, context: &mut Outbox) {
        if self.in_flight.is_some() {
            return;
        }
        self.next_request += 1;
        let request = RequestId(self.next_request);
        self.in_flight = Some(request);
        context.command(Command::OpenConnection { request });
        context.arm(Timer::OpenDeadline, self.config.open_timeout);
    }

    /// The in-flight call is answered, timed out or abandoned: its deadline goes with it, and a
    /// late answer no longer matches.
    pub(crate) fn settle_call(&mut self, context: &mut Outbox) {
        self.in_flight = None;
        context.timers.clear(Timer::OpenDeadline);
    }

    /// Open a new pending link to `url` and arm its hello deadline.
    pub(crate) fn open_pending(&mut self, url: &LinkUrl, context: &mut Outbox) {
        let link = self.links.allocate();
        self.links.pending = Some(PendingLink {
            id: link,
            opened: false,
        });
        let url = match self.config.debug_reconnects {
            true => url.with_debug_reconnects(),
            false => url.clone(),
        };
        context.command(Command::OpenLink { link, url });
        context.arm(Timer::HelloDeadline, self.config.hello_timeout);
    }

    /// The pending link said `hello`: it becomes the active link.
    pub(crate) fn promote_pending(&mut self, context: &mut Outbox) {
        let Some(pending) = self.links.pending.take() else {
            return;
        };
        self.links.active = Some(ActiveLink {
            id: pending.id,
            hello_at: context.now().mono,
            counted: false,
        });
        context.timers.clear(Timer::HelloDeadline);
        context.timers.clear(Timer::PongDeadline);
        context.arm(Timer::PingDue, self.config.ping_interval);
    }

    /// The standby said `hello`: it becomes active, the old active link drains.
    pub(crate) fn handover(&mut self, context: &mut Outbox) {
        if let Some(old) = self.links.active.take() {
            self.end_active(old, context);
            if let Some(previous) = self.links.draining.replace(old) {
                self.close_link(previous.id, context);
            }
            context.arm(Timer::DrainGrace, self.config.drain_grace);
        }
        self.promote_pending(context);
        self.standby_backoff.reset();
        context.timers.clear(Timer::StandbyRetry);
        context.signal(Signal::Handover);
    }

    /// Count the end of an active link's activity; a long-lived link resets the backoff.
    fn end_active(&mut self, link: ActiveLink, context: &mut Outbox) {
        let lifetime_ms = context.now().mono.since(link.hello_at);
        if lifetime_ms >= duration_ms(self.config.backoff_reset_after) {
            self.backoff.reset();
        }
        context.timers.clear(Timer::PingDue);
        context.timers.clear(Timer::PongDeadline);
        if !link.counted {
            context.signal(Signal::LinkEnded { lifetime_ms });
        }
    }

    /// The active link is gone (its socket already is, or is ended now as `end` says): carry
    /// on with the link still draining if there is one (it still works: no gap), with the
    /// standby if one is opening, with the in-flight call if one is out, else back off.
    pub(crate) fn lose_active(&mut self, end: LinkEnd, context: &mut Outbox) -> Outcome<State> {
        if let Some(active) = self.links.active.take() {
            self.end_active(active, context);
            match end {
                LinkEnd::Gone => {}
                LinkEnd::Drop => context.command(Command::DropLink { link: active.id }),
                LinkEnd::Close => self.close_link(active.id, context),
            }
        }
        self.standby_wanted = false;
        context.timers.clear(Timer::StandbyRetry);
        if let Some(draining) = self.links.draining.take() {
            // The replaced link was only draining because a newer one said `hello`; it is still
            // open, so it carries on as the active link. Slack had asked it to leave, so a new
            // standby is wanted at once.
            context.timers.clear(Timer::DrainGrace);
            self.links.active = Some(ActiveLink {
                counted: true,
                ..draining
            });
            context.timers.clear(Timer::PongDeadline);
            context.arm(Timer::PingDue, self.config.ping_interval);
            self.want_standby(context);
            return Handled;
        }
        if self.links.pending.is_some() {
            Transition(State::Authenticated {})
        } else if self.in_flight.is_some() {
            Transition(State::Connecting {})
        } else {
            self.schedule_reconnect(None, context)
        }
    }

    /// Wait `max(Retry-After, jittered backoff)` in `reconnecting`.
    pub(crate) fn schedule_reconnect(
        &mut self,
        retry_after_ms: Option<u64>,
        context: &mut Outbox,
    ) -> Outcome<State> {
        let delay = self
            .backoff
            .next_delay_at_least(&mut self.rng, retry_after_ms.map(Duration::from_millis));
        context.arm(Timer::ReconnectBackoff, delay);
        context.signal(Signal::RetryScheduled {
            machine: crate::socket::MACHINE_ID,
            delay_ms: duration_ms(delay),
        });
        Transition(State::Reconnecting {})
    }

    /// Unrecoverable: close everything, probe again later.
    pub(crate) fn enter_error(&mut self, code: &str, context: &mut Outbox) -> Outcome<State> {
        self.close_everything(context);
        self.settle_call(context);
        self.clear_lifecycle_timers(context);
        context.arm(Timer::Reprobe, self.config.reprobe_interval);
        Transition(State::Error {
            code: code.to_string(),
        })
    }

    /// `stop`: close everything; wait for the closes unless nothing is left.
    pub(crate) fn stop_all(&mut self, context: &mut Outbox) -> Outcome<State> {
        self.close_everything(context);
        self.settle_call(context);
        self.clear_lifecycle_timers(context);
        if self.links.is_empty() {
            Transition(State::Disconnected {})
        } else {
            Transition(State::Disconnecting {})
        }
    }

    /// After a process restart no link exists and no call is out: forget them without
    /// commands.
    pub(crate) fn forget_everything(&mut self, context: &mut Outbox) {
        self.links.active = None;
        self.links.pending = None;
        self.links.draining = None;
        self.links.closing.clear();
        self.acks.clear();
        context.timers.clear_all();
        self.in_flight = None;
        self.standby_wanted = false;
        self.restart_wanted = false;
    }

    fn clear_lifecycle_timers(&mut self, context: &mut Outbox) {
        for timer in [
            Timer::HelloDeadline,
            Timer::PingDue,
            Timer::PongDeadline,
            Timer::ReconnectBackoff,
            Timer::StandbyRetry,
            Timer::DrainGrace,
            Timer::Reprobe,
        ] {
            context.timers.clear(timer);
        }
    }

    /// Close every link; each gets its own close grace.
    pub(crate) fn close_everything(&mut self, context: &mut Outbox) {
        self.abandon_pending(context);
        if let Some(draining) = self.links.draining.take() {
            self.close_link(draining.id, context);
        }
        if let Some(active) = self.links.active.take() {
            self.end_active(active, context);
            self.close_link(active.id, context);
        }
        self.standby_wanted = false;
        context.timers.clear(Timer::StandbyRetry);
        context.timers.clear(Timer::DrainGrace);
    }

    /// Give up on the pending link: close it if its handshake completed, else drop it.
    pub(crate) fn abandon_pending(&mut self, context: &mut Outbox) {
        context.timers.clear(Timer::HelloDeadline);
        if let Some(pending) = self.links.pending.take() {
            if pending.opened {
                self.close_link(pending.id, context);
            } else {
                context.command(Command::DropLink { link: pending.id });
            }
        }
    }

    /// Send a close frame on `link` (already taken out of its role); it joins the closing links
    /// with its own grace. Links already closing keep theirs: a link dropped without the close
    /// handshake stays registered at Slack for minutes and counts toward the link cap.
    pub(crate) fn close_link(&mut self, link: LinkId, context: &mut Outbox) {
        // Our close frame ends writing on it: deferred acks of its envelopes go out first.
        self.flush_deferred_acks(link, context);
        context.command(Command::CloseLink { link });
        let grace = self.config.close_grace.max(Duration::from_millis(1));
        let drop_at = context.now().mono.after(grace);
        self.links.closing.push(ClosingLink { id: link, drop_at });
        self.arm_close_grace(context);
    }

    /// Arm `CloseGrace` at the earliest close grace still running, or disarm it.
    fn arm_close_grace(&mut self, context: &mut Outbox) {
        match self.links.next_drop() {
            Some(at) => context.timers.set(Timer::CloseGrace, at),
            None => context.timers.clear(Timer::CloseGrace),
        }
    }

    /// Drop every closing link whose grace has ended by now.
    fn drop_expired_closing(&mut self, context: &mut Outbox) {
        let now = context.now().mono;
        let (expired, kept) = std::mem::take(&mut self.links.closing)
            .into_iter()
            .partition(|c| c.drop_at <= now);
        self.links.closing = kept;
        let expired: Vec<ClosingLink> = expired;
        for link in expired {
            context.command(Command::DropLink { link: link.id });
        }
        self.arm_close_grace(context);
    }

    /// A standby is wanted (Slack asked to leave the active link, or a retry is due).
    pub(crate) fn want_standby(&mut self, context: &mut Outbox) {
        if self.links.pending.is_some() || self.in_flight.is_some() {
            self.standby_wanted = false;
            return;
        }
        self.standby_wanted = true;
        if self.links.draining.is_some() || context.timers.is_armed(Timer::StandbyRetry) {
            return; // at most two links open: wait for the drain, or for the retry
        }
        self.standby_wanted = false;
        self.request_open(context);
    }

    /// The standby could not be had: stay on the active link, retry after a backoff.
    pub(crate) fn standby_failed(&mut self, retry_after_ms: Option<u64>, context: &mut Outbox) {
        let delay = self
            .standby_backoff
            .next_delay_at_least(&mut self.rng, retry_after_ms.map(Duration::from_millis));
        context.arm(Timer::StandbyRetry, delay);
        context.signal(Signal::RetryScheduled {
            machine: crate::socket::MACHINE_ID,
            delay_ms: duration_ms(delay),
        });
    }

    /// The answer to a standby's `apps.connections.open`.
    pub(crate) fn on_standby_open(&mut self, outcome: &OpenOutcome, context: &mut Outbox) {
        match outcome {
            OpenOutcome::Url(url) => self.open_pending(url, context),
            OpenOutcome::RateLimited { retry_after_ms } => {
                self.standby_failed(*retry_after_ms, context)
            }
            OpenOutcome::Transient | OpenOutcome::Unrecoverable { .. } => {
                self.standby_failed(None, context)
            }
        }
    }

    /// A `disconnect` frame while `connected`.
    pub(crate) fn on_connected_disconnect(
        &mut self,
        link: LinkId,
        reason: &DisconnectReason,
        context: &mut Outbox,
    ) -> Outcome<State> {
        let role = self.links.role(link);
        match (role, reason) {
            (Some(Role::Active | Role::Pending), DisconnectReason::LinkDisabled) => {
                self.enter_error("link_disabled", context)
            }
            // Slack ends this link only (it counts one too many); the others are healthy.
            (Some(Role::Active), DisconnectReason::TooManyWebsockets) => {
                self.lose_active(LinkEnd::Close, context)
            }
            (Some(Role::Active), _) => {
                self.want_standby(context);
                Handled
            }
            (Some(Role::Pending), _) => {
                self.abandon_pending(context);
                self.standby_failed(None, context);
                Handled
            }
            _ => self.ignore(context),
        }
    }

    /// Any frame on the active link proves it alive; any frame on the pending link proves its
    /// handshake completed even if `link_opened` is late (so giving it up sends a close frame:
    /// a link dropped without one stays registered at Slack as a ghost).
    pub(crate) fn note_activity(&mut self, link: LinkId, context: &mut Outbox) {
        if self.links.active.is_some_and(|a| a.id == link) {
            context.timers.clear(Timer::PongDeadline);
        }
        if let Some(p) = self.links.pending.as_mut().filter(|p| p.id == link) {
            p.opened = true;
        }
    }

    /// Count an input that has nothing to do in this state.
    pub(crate) fn ignore(&mut self, context: &mut Outbox) -> Outcome<State> {
        context.ignored();
        Handled
    }

    /// What every state does with link-level events its own handler did not take.
    pub(crate) fn common(&mut self, event: &Event, context: &mut Outbox) -> Outcome<State> {
        match event {
            Event::Envelope(link, envelope) => self.on_envelope(*link, envelope, context),
            Event::Rejected(_, reason) => context.signal(Signal::FrameRejected { reason: *reason }),
            Event::Pong(link) if self.links.role(*link).is_some() => {}
            Event::LinkOpened(link) => match &mut self.links.pending {
                Some(p) if p.id == *link => p.opened = true,
                _ => return self.ignore(context),
            },
            // Only the states know what losing the active or pending link means; here only the
            // links on their way out are forgotten.
            Event::LinkDown(link) => match self.links.role(*link) {
                Some(Role::Closing) => {
                    self.links.remove(*link);
                    self.arm_close_grace(context);
                }
                Some(Role::Draining) => {
                    self.links.draining = None;
                    context.timers.clear(Timer::DrainGrace);
                }
                _ => return self.ignore(context),
            },
            Event::Timer(Timer::PingDue) => self.ping_active(context),
            Event::Timer(Timer::DrainGrace) => {
                if let Some(draining) = self.links.draining.take() {
                    self.close_link(draining.id, context);
                }
            }
            Event::Timer(Timer::CloseGrace) => self.drop_expired_closing(context),
            Event::Respond(envelope_id, payload) => self.on_response(envelope_id, payload, context),
            Event::Completed(envelope_id) => {
                if !self.acks.unfinished.remove(envelope_id) {
                    return self.ignore(context);
                }
            }
            Event::Timer(Timer::AckDeadline) => self.ack_overdue(context),
            _ => return self.ignore(context),
        }
        Handled
    }

    fn ping_active(&mut self, context: &mut Outbox) {
        let Some(active) = self.links.active else {
            return;
        };
        context.command(Command::Ping { link: active.id });
        if !context.timers.is_armed(Timer::PongDeadline) {
            context.arm(Timer::PongDeadline, self.config.pong_timeout);
        }
        context.arm(Timer::PingDue, self.config.ping_interval);
    }
}
