//! The states of the onboarding ledger (statig), each with its edges in its doc comment.
//!
//! Shared storage ([`Storage`]) holds the ledger facts, the configuration and the RNG; the
//! context ([`Outbox`]) holds what crosses the boundary during one input: the time, the
//! outputs, the deadlines. Handlers push signals and stage commands; `after_transition` records
//! the one [`Transition`](crate::engine::Transition); the engine appends the staged commands
//! last, so a command never precedes the transition that it depends on. Entry and exit actions
//! emit nothing.
#![allow(missing_docs)] // statig generates the State and Superstate enums.

use super::event::Event;
use super::io::{CallId, Input};
use super::storage::{Outbox, Storage};
use super::timer::Timer;
use crate::engine::UnixMs;
use statig::prelude::*;

/// `pending`'s progress through `auth.test` and `conversations.open`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for the channel to be ready (or for a restart's `Resumed`).
    Idle,
    /// `auth.test` in flight.
    Authenticating(CallId),
    /// `auth.test` failed transiently; `RetryAuth` is armed.
    AuthRetry,
    /// `auth.test` named the team; the ledger row is being read (`LoadRow` out). Nothing
    /// else happens until `RowLoaded` answers.
    Loading,
    /// `conversations.open` in flight.
    Opening(CallId),
}

/// `reconciling`'s progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// `RetryReconcile` is armed (settle time, or after a failed lookup).
    Waiting,
    /// `conversations.open` in flight (the DM channel was not known after a restore).
    Reopening(CallId),
    /// `conversations.history` in flight.
    Reading(CallId),
}

#[state_machine(
    initial = "State::pending(Phase::Idle)",
    before_dispatch = "Self::before_dispatch",
    after_transition = "Self::after_transition",
    state(derive(Clone, Debug, PartialEq, Eq)),
    superstate(derive(Debug))
)]
impl Storage {
    /// Nothing sent: waiting for the channel to be ready, for `auth.test` (team unknown) or for
    /// `conversations.open`. No ledger row exists until the first transition out of here.
    /// - `channel_ready` (idle) => stays, calls `auth.test` (team unknown) or `conversations.open`
    /// - `auth_ok` => stays, team fixed, asks for the ledger row (`LoadRow`) and waits for it:
    ///   nothing but `row_absent` / `row_loaded` moves it on (`mark_complete` is ignored too)
    /// - `row_absent` (loading) => stays, calls `conversations.open`
    /// - `row_loaded` (loading) => adopts the stored row: `pending` stays and calls
    ///   `conversations.open`; `sending`, `reconciling` => [`reconciling`](Self::reconciling)
    ///   (looks before any post); `backoff` => [`backoff`](Self::backoff) (not before the
    ///   stored retry time); `complete` => [`complete`](Self::complete); `failed` =>
    ///   [`failed`](Self::failed)
    /// - `auth_rate_limited`, `auth_transient` => stays, arms `RetryAuth`
    /// - `auth_rejected` => stays, arms `RetryAuth`; [`failed`](Self::failed) once
    ///   `max_attempts` / `max_age` is exhausted
    /// - `retry_auth` => stays, calls `auth.test`
    /// - `auth_unrecoverable` => [`failed`](Self::failed)
    /// - `dm_opened` => [`sending`](Self::sending) (emits `PostIntro`)
    /// - `dm_rate_limited`, `dm_transient` => [`backoff`](Self::backoff)
    /// - `dm_rejected` => [`backoff`](Self::backoff), or [`failed`](Self::failed) once
    ///   `max_attempts` / `max_age` is exhausted
    /// - `dm_permanent` => [`failed`](Self::failed)
    /// - `restarted` => stays idle, starts if the channel is ready
    /// - `reset` => ignored (nothing to reset)
    /// - anything else => [`incomplete`](Self::incomplete)
    #[state(superstate = "incomplete", exit_action = "leave_pending")]
    fn pending(
        &mut self,
        phase: &mut Phase,
        context: &mut Outbox,
        event: &Event,
    ) -> Outcome<State> {
        match event {
            Event::Input(Input::ChannelReady) if *phase == Phase::Idle => {
                *phase = self.start(context);
                Handled
            }
            Event::Input(Input::AuthTested { call, outcome })
                if *phase == Phase::Authenticating(*call) =>
            {
                self.on_auth(phase, context, outcome)
            }
            Event::Input(Input::RowLoaded { row }) if *phase == Phase::Loading => {
                self.on_row(phase, context, row.as_ref())
            }
            // The stored row may say more than an operator's stamp (a later generation): the
            // machine acts on nothing before it has read the row.
            Event::Input(Input::MarkComplete { .. }) if *phase == Phase::Loading => {
                context.ignored();
                Handled
            }
            Event::Timer(Timer::RetryAuth) if *phase == Phase::AuthRetry => {
                *phase = Phase::Authenticating(self.call_auth(context));
                Handled
            }
            Event::Input(Input::DmOpened { call, outcome }) if *phase == Phase::Opening(*call) => {
                self.on_dm_opened(context, outcome)
            }
            Event::Input(Input::Resumed) => {
                context.timers.clear(Timer::RetryAuth);
                *phase = match self.channel_ready {
                    true => self.start(context),
                    false => Phase::Idle,
                };
                Handled
            }
            Event::Input(Input::Reset) => {
                context.ignored();
                Handled
            }
            _ => Super,
        }
    }

    /// The post is about to go out, or is out and unanswered. Entered only with the DM channel
    /// known; its ledger row is committed and synced before the request is written.
    /// - `post_sent` => [`complete`](Self::complete)
    /// - `post_rate_limited`, `post_not_stored` => [`backoff`](Self::backoff)
    /// - `post_permanent` => [`failed`](Self::failed)
    /// - `post_ambiguous` => [`reconciling`](Self::reconciling)
    /// - anything else => [`unconfirmed`](Self::unconfirmed)
    #[state(superstate = "unconfirmed")]
    fn sending(
        &mut self,
        call: &mut CallId,
        context: &mut Outbox,
        event: &Event,
    ) -> Outcome<State> {
        match event {
            Event::Input(Input::Posted { call: c, outcome }) if c == call => {
                self.on_posted(context, outcome)
            }
            _ => Super,
        }
    }

    /// A failure that proves nothing was delivered; `RetrySend` is armed (full jitter, at least
    /// `Retry-After`).
    /// - `retry_send` => [`sending`](Self::sending) if the DM channel is known, else
    ///   [`pending`](Self::pending) (reopening it)
    /// - `restarted` => stays, re-arms `RetrySend` soon (not before the stored retry time)
    /// - anything else => [`incomplete`](Self::incomplete)
    #[state(superstate = "incomplete", exit_action = "leave_backoff")]
    fn backoff(
        &mut self,
        retry_at: &mut UnixMs,
        context: &mut Outbox,
        event: &Event,
    ) -> Outcome<State> {
        match event {
            Event::Timer(Timer::RetrySend) => self.retry(context),
            Event::Input(Input::Resumed) => {
                *retry_at = self.rearm_backoff(context, *retry_at);
                Handled
            }
            _ => Super,
        }
    }

    /// Unknown whether Slack stored the post: look for the marker of this generation before
    /// any resend. Every entry (and every restart) waits `reconcile_settle` before the first
    /// lookup; a scan reads every page from 5 min before the first post.
    /// - `retry_reconcile` => stays, reads `conversations.history` (or reopens the DM
    ///   channel if a restore lost it)
    /// - `history_found` => [`complete`](Self::complete)
    /// - `history_next_page` => stays, reads the next page with its cursor
    /// - `history_not_found` (the last page) => the first time stays and scans again after
    ///   `resend_confirm_gap`; the second time, that far apart, [`sending`](Self::sending)
    ///   (posts again)
    /// - `history_transient` => stays, arms `RetryReconcile` (backoff, at least
    ///   `Retry-After`), then reads the same page again
    /// - `history_permanent` => [`failed`](Self::failed)
    /// - `history_rejected` => stays, arms `RetryReconcile`; [`failed`](Self::failed) once
    ///   `max_attempts` / `max_age` is exhausted
    /// - `dm_opened` => stays, reads history; `dm_permanent` => [`failed`](Self::failed);
    ///   `dm_rate_limited`, `dm_transient`, `dm_rejected` => stays, arms `RetryReconcile`
    ///   (`dm_rejected` => [`failed`](Self::failed) once the bound is exhausted)
    /// - `restarted` => stays, waits `reconcile_settle` again
    /// - anything else => [`unconfirmed`](Self::unconfirmed)
    #[state(superstate = "unconfirmed", exit_action = "leave_reconciling")]
    fn reconciling(
        &mut self,
        lookup: &mut Lookup,
        context: &mut Outbox,
        event: &Event,
    ) -> Outcome<State> {
        match event {
            Event::Timer(Timer::RetryReconcile) if *lookup == Lookup::Waiting => {
                *lookup = self.look_up(context);
                Handled
            }
            Event::Input(Input::HistoryRead { call, outcome })
                if *lookup == Lookup::Reading(*call) =>
            {
                self.on_history(lookup, context, outcome)
            }
            Event::Input(Input::DmOpened { call, outcome })
                if *lookup == Lookup::Reopening(*call) =>
            {
                self.on_reopened(lookup, context, outcome)
            }
            Event::Input(Input::Resumed) => {
                *lookup = self.settle(context);
                Handled
            }
            _ => Super,
        }
    }

    /// Stamped with the DM channel and the intro's `ts`. Final until an operator resets it.
    /// - everything => [`settled`](Self::settled) (`mark_complete` is ignored: reset first)
    #[state(superstate = "settled")]
    fn complete() -> Outcome<State> {
        Super
    }

    /// Permanent failure (`last_error` says why); an operator resets it.
    /// - `mark_complete` => [`complete`](Self::complete)
    /// - anything else => [`settled`](Self::settled)
    #[state(superstate = "settled")]
    fn failed(&mut self, event: &Event) -> Outcome<State> {
        match event {
            Event::Input(Input::MarkComplete { channel, ts }) => self.stamp(channel, ts),
            _ => Super,
        }
    }

    /// A post may be stored in Slack (`sending`, `reconciling`): only a lookup that comes back
    /// not-found may lead to another post.
    /// - `restarted` (from `sending`) => [`reconciling`](Self::reconciling)
    /// - anything else => [`incomplete`](Self::incomplete)
    #[superstate(superstate = "incomplete")]
    fn unconfirmed(&mut self, context: &mut Outbox, event: &Event) -> Outcome<State> {
        match event {
            Event::Input(Input::Resumed) => self.reconcile(context),
            _ => Super,
        }
    }

    /// Not yet delivered (`pending`, `backoff`, `unconfirmed`).
    /// - `mark_complete` => [`complete`](Self::complete)
    /// - `reset` => [`pending`](Self::pending), generation bumped (starts at once if the
    ///   channel is ready)
    /// - stale answers, `channel_ready` while busy, anything else => ignored and counted
    #[superstate]
    fn incomplete(&mut self, context: &mut Outbox, event: &Event) -> Outcome<State> {
        match event {
            Event::Input(Input::MarkComplete { channel, ts }) => self.stamp(channel, ts),
            Event::Input(Input::Reset) => self.reset(context),
            Event::Timer(_) => Handled,
            _ => {
                context.ignored();
                Handled
            }
        }
    }

    /// Done, one way or the other (`complete`, `failed`): only an operator moves it.
    /// - `reset` => [`pending`](Self::pending) (stamp cleared, generation bumped; starts at
    ///   once if the channel is ready)
    /// - `restarted` => stays, nothing to do
    /// - anything else => ignored and counted
    #[superstate]
    fn settled(&mut self, context: &mut Outbox, event: &Event) -> Outcome<State> {
        match event {
            Event::Input(Input::Reset) => self.reset(context),
            Event::Input(Input::Resumed) | Event::Timer(_) => Handled,
            _ => {
                context.ignored();
                Handled
            }
        }
    }

    #[action]
    fn leave_pending(context: &mut Outbox) {
        context.timers.clear(Timer::RetryAuth);
    }

    #[action]
    fn leave_backoff(context: &mut Outbox) {
        context.timers.clear(Timer::RetrySend);
    }

    #[action]
    fn leave_reconciling(context: &mut Outbox) {
        context.timers.clear(Timer::RetryReconcile);
    }
}

impl Storage {
    /// Note `channel_ready` before any handler sees it (it stays true for this process).
    fn before_dispatch(
        &mut self,
        _state: StateOrSuperstate<'_, State, Superstate>,
        event: &Event,
        _context: &mut Outbox,
    ) {
        if let Event::Input(Input::ChannelReady) = event {
            self.channel_ready = true;
        }
    }

    /// The one path that records transitions, with the input's name captured by the engine.
    fn after_transition(&mut self, source: &State, target: &State, context: &mut Outbox) {
        context.transition(&self.instance, source.name(), target.name());
    }
}

/// The leaf and superstate names (journal, metric labels, diagram nodes), written once; the
/// `superstate = "..."` attributes above must match them, which the diagram test checks.
pub(crate) mod names {
    pub(crate) const PENDING: &str = "pending";
    pub(crate) const SENDING: &str = "sending";
    pub(crate) const BACKOFF: &str = "backoff";
    pub(crate) const RECONCILING: &str = "reconciling";
    pub(crate) const COMPLETE: &str = "complete";
    pub(crate) const FAILED: &str = "failed";
    pub(crate) const INCOMPLETE: &str = "incomplete";
    pub(crate) const UNCONFIRMED: &str = "unconfirmed";
    pub(crate) const SETTLED: &str = "settled";
}

impl State {
    /// The leaf state's name: the journal's `from`/`to`, the metric label, the diagram node.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            State::Pending { .. } => names::PENDING,
            State::Sending { .. } => names::SENDING,
            State::Backoff { .. } => names::BACKOFF,
            State::Reconciling { .. } => names::RECONCILING,
            State::Complete {} => names::COMPLETE,
            State::Failed {} => names::FAILED,
        }
    }
}
