//! The statig machine itself: states, superstates and their handlers.
//!
//! Shared storage ([`Core`]) holds the ledger facts, the configuration and the RNG; the
//! context ([`Outbox`]) holds what crosses the boundary during one input: the time, the
//! outputs, the deadlines. Handlers push signals and stage commands; `after_transition` pushes
//! the one [`Transition`] record; the wrapper appends the staged commands last, so a command
//! never precedes the transition that it depends on. Entry and exit actions emit nothing.

use super::MACHINE_ID;
use super::classify::intro_outcome;
use super::config::OnboardingConfig;
use super::io::{
    AuthOutcome, CallId, Command, HistoryOutcome, Input, IntroMetadata, OpenDmOutcome, PostOutcome,
};
use super::timer::{Timer, TimerTable, backoff_delay};
use crate::engine::time::duration_ms;
use crate::engine::{Now, Output, Signal, Transition, UnixMs};
use statig::prelude::*;
use std::collections::VecDeque;
use std::time::Duration;

/// The team part of the instance id before `auth.test` has named the team.
pub(crate) const UNKNOWN_TEAM: &str = "-";

/// What statig dispatches: an input, or a deadline the wrapper found expired.
#[derive(Clone, Debug)]
pub(crate) enum Event {
    Input(Input),
    Fired(Timer),
}

/// The persisted facts of one installer's ledger row (besides the state).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ledger {
    /// Posts attempted (each `PostIntro` emitted).
    pub(crate) attempts: u32,
    /// The last failure, for operators.
    pub(crate) last_error: Option<String>,
    /// The DM channel, once opened.
    pub(crate) channel: Option<String>,
    /// The intro's `ts`, once confirmed.
    pub(crate) ts: Option<String>,
}

/// `pending`'s progress through `auth.test` and `conversations.open`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for the channel to be ready (or for a restart's `Resumed`).
    Idle,
    /// `auth.test` in flight.
    Authenticating(CallId),
    /// `auth.test` failed transiently; `RetryAuth` is armed.
    AuthRetry,
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

/// Everything that crosses the boundary during one input, owned by the wrapper.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outbox {
    /// The time of the input being handled.
    pub(crate) now: Now,
    /// The name of the event being handled (the transition's `event`).
    pub(crate) event: &'static str,
    /// The leaf state when the event was dispatched (for `Signal::Ignored`).
    pub(crate) state: &'static str,
    /// Outputs ready for `poll_output`.
    pub(crate) outputs: VecDeque<Output<Command>>,
    /// Commands of the current event, appended after its transition.
    staged: Vec<Command>,
    /// Armed deadlines.
    pub(crate) timers: TimerTable,
    /// Whether the bot can talk (the socket connected at least once in this process).
    pub(crate) channel_ready: bool,
}

impl Outbox {
    fn command(&mut self, command: Command) {
        self.staged.push(command);
    }

    fn signal(&mut self, signal: Signal) {
        self.outputs.push_back(Output::Signal(signal));
    }

    fn ignored(&mut self) {
        let (state, input) = (self.state, self.event);
        self.signal(Signal::Ignored {
            machine: MACHINE_ID,
            state,
            input,
        });
    }

    /// Move the current event's commands behind its transition.
    pub(crate) fn flush_commands(&mut self) {
        let staged = std::mem::take(&mut self.staged);
        self.outputs.extend(staged.into_iter().map(Output::Command));
    }
}

/// The machine's shared storage.
#[derive(Clone, Debug)]
pub(crate) struct Core {
    pub(crate) config: OnboardingConfig,
    pub(crate) installer: String,
    pub(crate) team: Option<String>,
    pub(crate) instance: String,
    pub(crate) ledger: Ledger,
    rng: fastrand::Rng,
    next_call: u64,
    /// Consecutive failures, the backoff exponent; reset by any success.
    failures: u32,
}

impl Core {
    pub(crate) fn new(
        config: OnboardingConfig,
        installer: &str,
        team: Option<&str>,
        ledger: Ledger,
    ) -> Core {
        let rng = fastrand::Rng::with_seed(config.seed);
        Core {
            instance: instance_id(team, installer),
            config,
            installer: installer.to_string(),
            team: team.map(str::to_string),
            ledger,
            rng,
            next_call: 1,
            failures: 0,
        }
    }
}

/// `<team_id>/<installer_user_id>`, with [`UNKNOWN_TEAM`] until the team is known.
pub(crate) fn instance_id(team: Option<&str>, installer: &str) -> String {
    format!("{}/{installer}", team.unwrap_or(UNKNOWN_TEAM))
}

#[state_machine(
    initial = "State::pending(Phase::Idle)",
    after_transition = "Self::after_transition",
    state(derive(Clone, Debug, PartialEq, Eq)),
    superstate(derive(Debug))
)]
impl Core {
    /// Nothing sent: waiting for the channel to be ready, for `auth.test` (team unknown) or for
    /// `conversations.open`. No ledger row exists until the first transition out of here.
    /// - `channel_ready` (idle) => stays, calls `auth.test` (team unknown) or `conversations.open`
    /// - `auth_ok` => stays, team fixed, calls `conversations.open`
    /// - `auth_rate_limited`, `auth_transient` => stays, arms `RetryAuth`
    /// - `timeout:retry_auth` => stays, calls `auth.test`
    /// - `auth_unrecoverable` => [`failed`](Self::failed)
    /// - `dm_opened` => [`sending`](Self::sending) (emits `PostIntro`)
    /// - `dm_rate_limited`, `dm_transient` => [`backoff`](Self::backoff)
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
            Event::Fired(Timer::RetryAuth) if *phase == Phase::AuthRetry => {
                *phase = Phase::Authenticating(self.call_auth(context));
                Handled
            }
            Event::Input(Input::DmOpened { call, outcome }) if *phase == Phase::Opening(*call) => {
                self.on_dm_opened(context, outcome)
            }
            Event::Input(Input::Resumed) => {
                context.timers.clear(Timer::RetryAuth);
                *phase = match context.channel_ready {
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
    /// - `timeout:retry_send` => [`sending`](Self::sending) if the DM channel is known, else
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
            Event::Fired(Timer::RetrySend) => self.retry(context),
            Event::Input(Input::Resumed) => {
                *retry_at = self.rearm_backoff(context, *retry_at);
                Handled
            }
            _ => Super,
        }
    }

    /// Unknown whether Slack stored the post: look for the marker before any resend. Every
    /// entry (and every restart) waits `reconcile_settle` before the first lookup.
    /// - `timeout:retry_reconcile` => stays, reads `conversations.history` (or reopens the DM
    ///   channel if a restore lost it)
    /// - `history_found` => [`complete`](Self::complete)
    /// - `history_not_found` => [`sending`](Self::sending) (posts again)
    /// - `history_transient` => stays, arms `RetryReconcile` (backoff)
    /// - `history_missing_scope` => [`failed`](Self::failed)
    /// - `dm_opened` => stays, reads history; `dm_permanent` => [`failed`](Self::failed);
    ///   `dm_rate_limited`, `dm_transient` => stays, arms `RetryReconcile`
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
            Event::Fired(Timer::RetryReconcile) if *lookup == Lookup::Waiting => {
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
    fn complete(event: &Event) -> Outcome<State> {
        let _ = event;
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
    /// - `reset` => [`pending`](Self::pending) (starts at once if the channel is ready)
    /// - stale answers, `channel_ready` while busy, anything else => ignored and counted
    #[superstate]
    fn incomplete(&mut self, context: &mut Outbox, event: &Event) -> Outcome<State> {
        match event {
            Event::Input(Input::MarkComplete { channel, ts }) => self.stamp(channel, ts),
            Event::Input(Input::Reset) => self.reset(context),
            Event::Fired(_) => Handled,
            _ => {
                context.ignored();
                Handled
            }
        }
    }

    /// Done, one way or the other (`complete`, `failed`): only an operator moves it.
    /// - `reset` => [`pending`](Self::pending) (stamp cleared; starts at once if the channel is
    ///   ready)
    /// - `restarted` => stays, nothing to do
    /// - anything else => ignored and counted
    #[superstate]
    fn settled(&mut self, context: &mut Outbox, event: &Event) -> Outcome<State> {
        match event {
            Event::Input(Input::Reset) => self.reset(context),
            Event::Input(Input::Resumed) | Event::Fired(_) => Handled,
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

/// Handlers' helpers: each returns where to go, and stages the commands of that step.
impl Core {
    fn after_transition(&mut self, source: &State, target: &State, context: &mut Outbox) {
        context
            .outputs
            .push_back(Output::Transition(Transition::new(
                MACHINE_ID,
                self.instance.clone(),
                (source.name(), target.name()),
                context.event,
                context.now,
            )));
    }

    fn call_id(&mut self) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        id
    }

    pub(crate) fn marker(&self) -> IntroMetadata {
        IntroMetadata::new(&self.installer, self.team.as_deref().unwrap_or_default())
    }

    fn note(&mut self, error: &str) {
        self.ledger.last_error = Some(error.to_string());
    }

    /// Begin the flow: `auth.test` while the team is unknown, else `conversations.open`.
    fn start(&mut self, out: &mut Outbox) -> Phase {
        match self.team {
            None => Phase::Authenticating(self.call_auth(out)),
            Some(_) => Phase::Opening(self.open_dm(out)),
        }
    }

    fn call_auth(&mut self, out: &mut Outbox) -> CallId {
        let call = self.call_id();
        out.command(Command::AuthTest { call });
        call
    }

    fn open_dm(&mut self, out: &mut Outbox) -> CallId {
        let call = self.call_id();
        let user = self.installer.clone();
        out.command(Command::OpenDm { call, user });
        call
    }

    /// Count a failure and arm `timer` at a full-jitter delay honouring `Retry-After`.
    fn arm_retry(
        &mut self,
        out: &mut Outbox,
        timer: Timer,
        retry_after_ms: Option<u64>,
    ) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let limits = (self.config.backoff_base, self.config.backoff_cap);
        let retry_after = retry_after_ms.map(Duration::from_millis);
        let delay = backoff_delay(&mut self.rng, limits, self.failures, retry_after);
        out.timers.set(timer, out.now.mono.after(delay));
        out.signal(Signal::RetryScheduled {
            machine: MACHINE_ID,
            delay_ms: duration_ms(delay),
        });
        delay
    }

    fn on_auth(
        &mut self,
        phase: &mut Phase,
        out: &mut Outbox,
        outcome: &AuthOutcome,
    ) -> Outcome<State> {
        let retry_after_ms = match outcome {
            AuthOutcome::Ok { team_id } => {
                self.team = Some(team_id.clone());
                self.instance = instance_id(self.team.as_deref(), &self.installer);
                self.failures = 0;
                *phase = Phase::Opening(self.open_dm(out));
                return Handled;
            }
            AuthOutcome::Unrecoverable { code } => {
                self.note(code);
                return Transition(State::failed());
            }
            AuthOutcome::RateLimited { retry_after_ms } => {
                self.note("ratelimited");
                *retry_after_ms
            }
            AuthOutcome::Transient { reason } => {
                self.note(reason);
                None
            }
        };
        self.arm_retry(out, Timer::RetryAuth, retry_after_ms);
        *phase = Phase::AuthRetry;
        Handled
    }

    fn on_dm_opened(&mut self, out: &mut Outbox, outcome: &OpenDmOutcome) -> Outcome<State> {
        match outcome {
            OpenDmOutcome::Opened { channel } => {
                self.ledger.channel = Some(channel.clone());
                self.failures = 0;
                self.post(out)
            }
            OpenDmOutcome::RateLimited { retry_after_ms } => {
                self.note("ratelimited");
                self.back_off(out, *retry_after_ms)
            }
            OpenDmOutcome::Transient { reason } => {
                self.note(reason);
                self.back_off(out, None)
            }
            OpenDmOutcome::Permanent { code } => {
                self.note(code);
                Transition(State::failed())
            }
        }
    }

    /// Enter `sending`: count the attempt and stage the post behind the transition.
    fn post(&mut self, out: &mut Outbox) -> Outcome<State> {
        let call = self.call_id();
        self.ledger.attempts = self.ledger.attempts.saturating_add(1);
        out.command(Command::PostIntro {
            call,
            channel: self.ledger.channel.clone().unwrap_or_default(),
            text: self.config.intro_text_for(&self.installer),
            metadata: self.marker(),
        });
        Transition(State::sending(call))
    }

    fn on_posted(&mut self, out: &mut Outbox, outcome: &PostOutcome) -> Outcome<State> {
        out.signal(Signal::IntroAttempt {
            outcome: intro_outcome(outcome),
        });
        match outcome {
            PostOutcome::Sent { ts } => {
                self.ledger.ts = Some(ts.clone());
                self.failures = 0;
                Transition(State::complete())
            }
            PostOutcome::RateLimited { retry_after_ms } => {
                self.note("ratelimited");
                self.back_off(out, *retry_after_ms)
            }
            PostOutcome::NotStored { reason } => {
                self.note(reason);
                self.back_off(out, None)
            }
            PostOutcome::Permanent { code } => {
                self.note(code);
                Transition(State::failed())
            }
            PostOutcome::Ambiguous { reason } => {
                self.note(reason);
                self.reconcile(out)
            }
        }
    }

    fn back_off(&mut self, out: &mut Outbox, retry_after_ms: Option<u64>) -> Outcome<State> {
        let delay = self.arm_retry(out, Timer::RetrySend, retry_after_ms);
        Transition(State::backoff(out.now.unix.after(delay)))
    }

    /// `backoff` after a restart: retry within the base jitter, but not before the stored
    /// retry time (itself at most `backoff_cap` away: wall clocks jump).
    fn rearm_backoff(&mut self, out: &mut Outbox, retry_at: UnixMs) -> UnixMs {
        let remaining = Duration::from_millis(retry_at.0.saturating_sub(out.now.unix.0));
        let limits = (self.config.backoff_base, self.config.backoff_cap);
        let delay = backoff_delay(&mut self.rng, limits, 1, Some(remaining.min(limits.1)));
        out.timers.set(Timer::RetrySend, out.now.mono.after(delay));
        out.signal(Signal::RetryScheduled {
            machine: MACHINE_ID,
            delay_ms: duration_ms(delay),
        });
        out.now.unix.after(delay)
    }

    /// `backoff`'s deadline: post again if the channel is known, else reopen it.
    fn retry(&mut self, out: &mut Outbox) -> Outcome<State> {
        match (&self.ledger.channel, &self.team) {
            (Some(_), Some(_)) => self.post(out),
            _ => Transition(State::pending(self.start(out))),
        }
    }

    /// Enter `reconciling`, waiting `reconcile_settle` before the first lookup.
    fn reconcile(&mut self, out: &mut Outbox) -> Outcome<State> {
        Transition(State::reconciling(self.settle(out)))
    }

    fn settle(&mut self, out: &mut Outbox) -> Lookup {
        let at = out
            .now
            .mono
            .after(self.config.reconcile_settle.max(Duration::from_millis(1)));
        out.timers.set(Timer::RetryReconcile, at);
        Lookup::Waiting
    }

    /// Read the history, or reopen the DM channel first if it is unknown (a hand-made row).
    fn look_up(&mut self, out: &mut Outbox) -> Lookup {
        let Some(channel) = self.ledger.channel.clone() else {
            return Lookup::Reopening(self.open_dm(out));
        };
        let call = self.call_id();
        out.command(Command::LookupHistory {
            call,
            channel,
            limit: self.config.history_limit,
            marker: self.marker(),
        });
        Lookup::Reading(call)
    }

    fn on_history(
        &mut self,
        lookup: &mut Lookup,
        out: &mut Outbox,
        outcome: &HistoryOutcome,
    ) -> Outcome<State> {
        match outcome {
            HistoryOutcome::Found { ts } => {
                self.ledger.ts = Some(ts.clone());
                self.failures = 0;
                Transition(State::complete())
            }
            HistoryOutcome::NotFound => {
                self.failures = 0;
                self.post(out)
            }
            HistoryOutcome::Transient {
                retry_after_ms,
                reason,
            } => {
                self.note(reason);
                self.arm_retry(out, Timer::RetryReconcile, *retry_after_ms);
                *lookup = Lookup::Waiting;
                Handled
            }
            HistoryOutcome::MissingScope => {
                self.note("missing_scope");
                Transition(State::failed())
            }
        }
    }

    fn on_reopened(
        &mut self,
        lookup: &mut Lookup,
        out: &mut Outbox,
        outcome: &OpenDmOutcome,
    ) -> Outcome<State> {
        let retry_after_ms = match outcome {
            OpenDmOutcome::Opened { channel } => {
                self.ledger.channel = Some(channel.clone());
                *lookup = self.look_up(out);
                return Handled;
            }
            OpenDmOutcome::Permanent { code } => {
                self.note(code);
                return Transition(State::failed());
            }
            OpenDmOutcome::RateLimited { retry_after_ms } => {
                self.note("ratelimited");
                *retry_after_ms
            }
            OpenDmOutcome::Transient { reason } => {
                self.note(reason);
                None
            }
        };
        self.arm_retry(out, Timer::RetryReconcile, retry_after_ms);
        *lookup = Lookup::Waiting;
        Handled
    }

    fn stamp(&mut self, channel: &str, ts: &str) -> Outcome<State> {
        self.ledger.channel = Some(channel.to_string());
        self.ledger.ts = Some(ts.to_string());
        Transition(State::complete())
    }

    /// Operator reset: forget the stamp and the counters, and start over.
    fn reset(&mut self, out: &mut Outbox) -> Outcome<State> {
        self.ledger = Ledger::default();
        self.failures = 0;
        let phase = match out.channel_ready {
            true => self.start(out),
            false => Phase::Idle,
        };
        Transition(State::pending(phase))
    }
}

impl State {
    /// The leaf state's name: the journal's `from`/`to`, the metric label, the diagram node.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            State::Pending { .. } => "pending",
            State::Sending { .. } => "sending",
            State::Backoff { .. } => "backoff",
            State::Reconciling { .. } => "reconciling",
            State::Complete {} => "complete",
            State::Failed {} => "failed",
        }
    }
}
