//! The states of the Socket Mode lifecycle (statig), each with its edges in its doc comment.
//!
//! Handlers are pure: they mutate the shared storage ([`Storage`]) and push outputs into the
//! [`Outbox`] (the statig context); they never do IO. Entry and exit actions are not used, so
//! restoring a snapshot repeats no side effect. Link-level work that does not depend on the
//! lifecycle state (acking and dispatching envelopes, liveness, draining and closing old links)
//! is deferred by the leaf states to their top superstate, which calls [`Storage::common`].
#![allow(missing_docs)] // statig generates the State and Superstate enums.

use super::actions::LinkEnd;
use super::event::Event;
use super::io::OpenOutcome;
use super::links::Role;
use super::storage::{Outbox, Storage};
use super::timer::Timer;
use super::wire::DisconnectReason;
use statig::prelude::*;

#[state_machine(
    initial = "State::disconnected()",
    visibility = "pub(crate)",
    state(derive(Debug, Clone, PartialEq, Eq)),
    superstate(derive(Debug)),
    before_dispatch = "Self::before_dispatch",
    after_transition = "Self::after_transition"
)]
impl Storage {
    /// Not running: no link, no call, no timer. Initial state, and the state after every
    /// process start.
    /// - `start` => [`connecting`]
    #[state(superstate = "idle")]
    fn disconnected(&mut self, event: &Event, context: &mut Outbox) -> Outcome<State> {
        match event {
            Event::Start => self.start_open(context),
            Event::Resumed => Handled,
            _ => Super,
        }
    }

    /// Unrecoverable: bad or revoked token, or Socket Mode disabled. Probed again every
    /// `reprobe_interval`.
    /// - `start`, `new_tokens`, `reprobe` => [`connecting`]
    /// - `stop` => [`disconnected`]
    #[state(superstate = "idle")]
    #[allow(clippy::ptr_arg)]
    fn error(&mut self, code: &mut String, event: &Event, context: &mut Outbox) -> Outcome<State> {
        let _ = code; // kept for the snapshot and `/debug/state`
        match event {
            Event::Start | Event::NewTokens | Event::Timer(Timer::Reprobe) => {
                context.timers.clear(Timer::Reprobe);
                self.start_open(context)
            }
            Event::Stop | Event::Resumed => {
                context.timers.clear(Timer::Reprobe);
                Transition(State::disconnected())
            }
            _ => Super,
        }
    }

    /// Nothing to do: link-level bookkeeping only.
    #[superstate]
    fn idle(&mut self, event: &Event, context: &mut Outbox) -> Outcome<State> {
        self.common(event, context)
    }

    /// Calling `apps.connections.open`.
    /// - `open_ok` => [`authenticated`]
    /// - `open_rate_limited`, `open_transient`, `open_deadline` => [`reconnecting`]
    /// - `open_unrecoverable` => [`error`]
    #[state(superstate = "linking")]
    fn connecting(&mut self, event: &Event, context: &mut Outbox) -> Outcome<State> {
        match event {
            Event::Open { request, outcome } if self.in_flight == Some(*request) => {
                self.settle_call(context);
                match outcome {
                    OpenOutcome::Url(url) => {
                        self.open_pending(url, context);
                        Transition(State::authenticated())
                    }
                    OpenOutcome::RateLimited { retry_after_ms } => {
                        self.schedule_reconnect(*retry_after_ms, context)
                    }
                    OpenOutcome::Transient => self.schedule_reconnect(None, context),
                    OpenOutcome::Unrecoverable { code } => self.enter_error(code, context),
                }
            }
            Event::Timer(Timer::OpenDeadline) => {
                self.settle_call(context);
                self.schedule_reconnect(None, context)
            }
            _ => Super,
        }
    }

    /// Have a URL: the WebSocket is opening, awaiting `hello` (also: the active link died
    /// while a standby was awaiting its `hello`).
    /// - `hello` => [`connected`]
    /// - `link_closed`, `link_error`, `hello_deadline`, `disconnect_*` => [`reconnecting`]
    /// - `disconnect_link_disabled` => [`error`]
    #[state(superstate = "linking")]
    fn authenticated(&mut self, event: &Event, context: &mut Outbox) -> Outcome<State> {
        match event {
            Event::Hello(link) if self.links.role(*link) == Some(Role::Pending) => {
                self.promote_pending(context);
                Transition(State::connected())
            }
            Event::LinkDown(link) if self.links.role(*link) == Some(Role::Pending) => {
                self.links.remove(*link);
                context.timers.clear(Timer::HelloDeadline);
                self.schedule_reconnect(None, context)
            }
            Event::Timer(Timer::HelloDeadline) => {
                self.abandon_pending(context);
                self.schedule_reconnect(None, context)
            }
            Event::Disconnect(link, reason) if self.links.role(*link) == Some(Role::Pending) => {
                if *reason == DisconnectReason::LinkDisabled {
                    return self.enter_error("link_disabled", context);
                }
                self.abandon_pending(context);
                self.schedule_reconnect(None, context)
            }
            _ => Super,
        }
    }

    /// Waiting out a jittered backoff before calling `apps.connections.open` again.
    /// - `reconnect_backoff` => [`connecting`]
    #[state(superstate = "linking")]
    fn reconnecting(&mut self, event: &Event, context: &mut Outbox) -> Outcome<State> {
        match event {
            Event::Timer(Timer::ReconnectBackoff) => self.start_open(context),
            _ => Super,
        }
    }

    /// No usable link yet: getting one (call, open, `hello`, or the backoff between tries).
    #[superstate(superstate = "running")]
    fn linking(&mut self, event: &Event) -> Outcome<State> {
        let _ = event;
        Super
    }

    /// A link has said `hello`; envelopes flow. Handovers to a standby link happen here without
    /// leaving the state.
    /// - `link_closed`, `link_error`, `pong_deadline`, `disconnect_too_many_websockets` (active
    ///   link) => stays when a link is still draining (it becomes active again),
    ///   [`authenticated`] when a standby is opening, [`connecting`] when its URL is being
    ///   fetched, else [`reconnecting`]
    /// - `disconnect_link_disabled` => [`error`]
    #[state(superstate = "running")]
    fn connected(&mut self, event: &Event, context: &mut Outbox) -> Outcome<State> {
        match event {
            Event::Hello(link) if self.links.role(*link) == Some(Role::Pending) => {
                self.handover(context);
                Handled
            }
            Event::Disconnect(link, reason) => self.on_connected_disconnect(*link, reason, context),
            Event::Open { request, outcome } if self.in_flight == Some(*request) => {
                self.settle_call(context);
                self.on_standby_open(outcome, context);
                Handled
            }
            Event::Timer(Timer::OpenDeadline) => {
                self.settle_call(context);
                self.standby_failed(None, context);
                Handled
            }
            Event::LinkDown(link) if self.links.role(*link) == Some(Role::Active) => {
                self.lose_active(LinkEnd::Gone, context)
            }
            Event::Timer(Timer::PongDeadline) => self.lose_active(LinkEnd::Drop, context),
            Event::LinkDown(link) if self.links.role(*link) == Some(Role::Pending) => {
                self.links.remove(*link);
                context.timers.clear(Timer::HelloDeadline);
                self.standby_failed(None, context);
                Handled
            }
            Event::Timer(Timer::HelloDeadline) => {
                self.abandon_pending(context);
                self.standby_failed(None, context);
                Handled
            }
            Event::Timer(Timer::StandbyRetry) => {
                self.want_standby(context);
                Handled
            }
            Event::Timer(Timer::DrainGrace) | Event::LinkDown(_) => {
                let outcome = self.common(event, context);
                if self.standby_wanted {
                    self.want_standby(context);
                }
                outcome
            }
            _ => Super,
        }
    }

    /// Started and not stopped: `stop` and a restart are handled here for every child.
    /// - `stop` => [`disconnecting`], or [`disconnected`] when no link is left
    /// - `restarted` => [`disconnected`]
    #[superstate]
    fn running(&mut self, event: &Event, context: &mut Outbox) -> Outcome<State> {
        match event {
            Event::Stop => self.stop_all(context),
            Event::Resumed => {
                self.forget_everything(context);
                Transition(State::disconnected())
            }
            _ => self.common(event, context),
        }
    }

    /// Stopping: close frames sent, waiting for the peer to close or `close_grace`. A `start`
    /// or `new_tokens` meanwhile is kept: the machine starts again once the links are gone.
    /// - `link_closed`, `link_error` (last link), `close_grace` => [`disconnected`], or
    ///   [`connecting`] when a start was kept
    /// - `restarted` => [`disconnected`]
    #[state]
    fn disconnecting(&mut self, event: &Event, context: &mut Outbox) -> Outcome<State> {
        match event {
            Event::Stop => {
                self.restart_wanted = false;
                Handled
            }
            Event::Start | Event::NewTokens => {
                self.restart_wanted = true;
                Handled
            }
            Event::Resumed => {
                self.forget_everything(context);
                Transition(State::disconnected())
            }
            Event::LinkDown(_) | Event::Timer(Timer::CloseGrace) => {
                let outcome = self.common(event, context);
                if !self.links.is_empty() {
                    outcome
                } else if std::mem::take(&mut self.restart_wanted) {
                    self.start_open(context)
                } else {
                    Transition(State::disconnected())
                }
            }
            _ => self.common(event, context),
        }
    }
}

impl Storage {
    /// Bookkeeping that must happen whatever the state handles: the dedupe window forgets
    /// keys past their TTL (by the input's time), and any frame on the active link proves it
    /// alive. Runs once per level; every action is idempotent. (The engine disarms an expired
    /// deadline before its event is dispatched.)
    fn before_dispatch(
        &mut self,
        _state: StateOrSuperstate<'_, State, Superstate>,
        event: &Event,
        context: &mut Outbox,
    ) {
        self.dedupe.prune(context.now().unix);
        if let Some(link) = event.link() {
            self.note_activity(link, context);
        }
    }

    /// The one path that records transitions: every change of leaf state, with the input's
    /// name captured by the engine before dispatch.
    fn after_transition(&mut self, source: &State, target: &State, context: &mut Outbox) {
        context.transition(&self.instance, source.name(), target.name());
    }
}

/// The leaf and superstate names (journal, metric labels, diagram nodes), written once; the
/// `superstate = "..."` attributes above must match them, which the diagram test checks.
pub(crate) mod names {
    pub(crate) const DISCONNECTED: &str = "disconnected";
    pub(crate) const CONNECTING: &str = "connecting";
    pub(crate) const AUTHENTICATED: &str = "authenticated";
    pub(crate) const CONNECTED: &str = "connected";
    pub(crate) const RECONNECTING: &str = "reconnecting";
    pub(crate) const DISCONNECTING: &str = "disconnecting";
    pub(crate) const ERROR: &str = "error";
    pub(crate) const IDLE: &str = "idle";
    pub(crate) const RUNNING: &str = "running";
    pub(crate) const LINKING: &str = "linking";
}

impl State {
    /// The leaf state's name: the journal, metric label and diagram name.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            State::Disconnected {} => names::DISCONNECTED,
            State::Connecting {} => names::CONNECTING,
            State::Authenticated {} => names::AUTHENTICATED,
            State::Connected {} => names::CONNECTED,
            State::Reconnecting {} => names::RECONNECTING,
            State::Disconnecting {} => names::DISCONNECTING,
            State::Error { .. } => names::ERROR,
        }
    }

    /// The state named `name` (with default local data), for restore.
    pub(crate) fn named(name: &str, code: Option<String>) -> Option<State> {
        Some(match name {
            names::DISCONNECTED => State::disconnected(),
            names::CONNECTING => State::connecting(),
            names::AUTHENTICATED => State::authenticated(),
            names::CONNECTED => State::connected(),
            names::RECONNECTING => State::reconnecting(),
            names::DISCONNECTING => State::disconnecting(),
            names::ERROR => State::error(code.unwrap_or_else(|| "unknown".to_string())),
            _ => return None,
        })
    }
}
