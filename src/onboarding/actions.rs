//! The policies of the flow (the steps), called by the state handlers: each returns where to go (or updates
//! the state's local progress) and stages the commands of that step behind its transition.

use super::states::{Lookup, Phase, State};
use super::storage::{Ledger, Outbox, Storage, future, instance_id, valid_id};
use crate::engine::time::duration_ms;
use crate::engine::{Backoff, Signal, UnixMs};
use crate::onboarding::MACHINE_ID;
use crate::onboarding::classify::intro_outcome;
use crate::onboarding::io::{
    AuthOutcome, CallId, Command, HistoryOutcome, IntroMetadata, OpenDmOutcome, PostOutcome,
    RowState, StoredRow,
};
use crate::onboarding::timer::Timer;
use statig::prelude::*;
use std::time::Duration;

impl Storage {
    fn call_id(&mut self) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        id
    }

    fn marker(&self) -> IntroMetadata {
        IntroMetadata::of_generation(
            &self.installer,
            self.team.as_deref().unwrap_or_default(),
            self.ledger.generation,
        )
    }

    fn note(&mut self, error: &str) {
        self.ledger.last_error = Some(error.to_string());
    }

    /// Count a `Rejected` reply (a code this build does not classify). True once
    /// `max_attempts` of them came in a row, or `max_age` passed since the first: then the row
    /// goes to `failed` with the code rather than stay `pending` forever.
    fn rejected(&mut self, context: &Outbox, code: &str) -> bool {
        self.note(code);
        let now = context.now().unix.0;
        let since = *self.ledger.rejected_since.get_or_insert(now);
        self.ledger.rejections = self.ledger.rejections.saturating_add(1);
        self.ledger.rejections >= self.config.max_attempts
            || now.saturating_sub(since) >= duration_ms(self.config.max_age)
    }

    /// A reply that answered the question: the run of `Rejected` replies is over.
    fn accepted(&mut self) {
        self.ledger.rejections = 0;
        self.ledger.rejected_since = None;
    }

    /// Begin the flow: `auth.test` while the team is unknown, then the ledger row, then
    /// `conversations.open`.
    pub(crate) fn start(&mut self, context: &mut Outbox) -> Phase {
        match (&self.team, self.row_loaded) {
            (None, _) => Phase::Authenticating(self.call_auth(context)),
            (Some(_), false) => self.load_row(context),
            (Some(_), true) => Phase::Opening(self.open_dm(context)),
        }
    }

    /// Ask for this instance's ledger row; nothing happens until it is answered.
    fn load_row(&mut self, context: &mut Outbox) -> Phase {
        context.stage(Command::LoadRow {
            key: self.instance.clone(),
        });
        Phase::Loading
    }

    /// The ledger row was read: with none, open the DM; else adopt the row and do what its
    /// state needs after a restart (a row that may have posted looks before posting again).
    pub(crate) fn on_row(
        &mut self,
        phase: &mut Phase,
        context: &mut Outbox,
        row: Option<&StoredRow>,
    ) -> Outcome<State> {
        self.row_loaded = true;
        let Some(row) = row else {
            *phase = Phase::Opening(self.open_dm(context));
            return Handled;
        };
        self.ledger = row.ledger();
        match row.state {
            RowState::Pending => {
                *phase = Phase::Opening(self.open_dm(context));
                Handled
            }
            RowState::Sending | RowState::Reconciling => self.reconcile(context),
            RowState::Backoff => {
                let stored = UnixMs(row.retry_at_unix_ms.unwrap_or(0));
                let retry_at = self.rearm_backoff(context, stored);
                Transition(State::Backoff { retry_at })
            }
            RowState::Complete => Transition(State::Complete {}),
            RowState::Failed => Transition(State::Failed {}),
        }
    }

    pub(crate) fn call_auth(&mut self, context: &mut Outbox) -> CallId {
        let call = self.call_id();
        context.stage(Command::AuthTest { call });
        call
    }

    fn open_dm(&mut self, context: &mut Outbox) -> CallId {
        let call = self.call_id();
        let user = self.installer.clone();
        context.stage(Command::OpenDm { call, user });
        call
    }

    /// Count a failure and arm `timer` at a full-jitter delay (`[0, min(cap, base * 2^n)]` after
    /// the n+1-th consecutive failure) but never before `Retry-After`.
    fn arm_retry(
        &mut self,
        context: &mut Outbox,
        timer: Timer,
        retry_after_ms: Option<u64>,
    ) -> Duration {
        let retry_after = retry_after_ms.map(Duration::from_millis);
        let delay = future(self.backoff.next_delay_at_least(&mut self.rng, retry_after));
        context.timers.set(timer, context.now().mono.after(delay));
        context.signal(Signal::RetryScheduled {
            machine: MACHINE_ID,
            delay_ms: duration_ms(delay),
        });
        delay
    }

    pub(crate) fn on_auth(
        &mut self,
        phase: &mut Phase,
        context: &mut Outbox,
        outcome: &AuthOutcome,
    ) -> Outcome<State> {
        let retry_after_ms = match outcome {
            AuthOutcome::Ok { team_id } if !valid_id(team_id) => {
                self.note("bad_team_id");
                None
            }
            AuthOutcome::Ok { team_id } => {
                self.accepted();
                self.team = Some(team_id.clone());
                self.instance = instance_id(self.team.as_deref(), &self.installer);
                self.backoff.reset();
                *phase = self.load_row(context);
                return Handled;
            }
            AuthOutcome::Unrecoverable { code } => {
                self.note(code);
                return Transition(State::Failed {});
            }
            AuthOutcome::RateLimited { retry_after_ms } => {
                self.note("ratelimited");
                *retry_after_ms
            }
            AuthOutcome::Transient {
                reason,
                retry_after_ms,
            } => {
                self.note(reason);
                *retry_after_ms
            }
            AuthOutcome::Rejected { code } => match self.rejected(context, code) {
                true => return Transition(State::Failed {}),
                false => None,
            },
        };
        self.arm_retry(context, Timer::RetryAuth, retry_after_ms);
        *phase = Phase::AuthRetry;
        Handled
    }

    pub(crate) fn on_dm_opened(
        &mut self,
        context: &mut Outbox,
        outcome: &OpenDmOutcome,
    ) -> Outcome<State> {
        match outcome {
            OpenDmOutcome::Opened { channel } => {
                self.accepted();
                self.ledger.channel = Some(channel.clone());
                self.backoff.reset();
                self.post(context)
            }
            OpenDmOutcome::Rejected { code } => match self.rejected(context, code) {
                true => Transition(State::Failed {}),
                false => self.back_off(context, None),
            },
            OpenDmOutcome::RateLimited { retry_after_ms } => {
                self.note("ratelimited");
                self.back_off(context, *retry_after_ms)
            }
            OpenDmOutcome::Transient {
                reason,
                retry_after_ms,
            } => {
                self.note(reason);
                self.back_off(context, *retry_after_ms)
            }
            OpenDmOutcome::Permanent { code } => {
                self.note(code);
                Transition(State::Failed {})
            }
        }
    }

    /// Enter `sending`: count the attempt, note when this generation's first post went out
    /// (where a later history scan starts), and stage the post behind the transition.
    fn post(&mut self, context: &mut Outbox) -> Outcome<State> {
        let call = self.call_id();
        self.ledger.attempts = self.ledger.attempts.saturating_add(1);
        self.ledger
            .sending_since
            .get_or_insert(context.now().unix.0);
        context.stage(Command::PostIntro {
            call,
            channel: self.ledger.channel.clone().unwrap_or_default(),
            text: self.config.intro_text_for(&self.installer),
            metadata: self.marker(),
        });
        Transition(State::Sending { call })
    }

    pub(crate) fn on_posted(
        &mut self,
        context: &mut Outbox,
        outcome: &PostOutcome,
    ) -> Outcome<State> {
        context.signal(Signal::IntroAttempt {
            outcome: intro_outcome(outcome),
        });
        match outcome {
            PostOutcome::Sent { ts } => {
                self.ledger.ts = Some(ts.clone());
                self.backoff.reset();
                Transition(State::Complete {})
            }
            PostOutcome::RateLimited { retry_after_ms } => {
                self.note("ratelimited");
                self.back_off(context, *retry_after_ms)
            }
            PostOutcome::NotStored { reason } => {
                self.note(reason);
                self.back_off(context, None)
            }
            PostOutcome::Permanent { code } => {
                self.note(code);
                Transition(State::Failed {})
            }
            PostOutcome::Ambiguous {
                reason,
                retry_after_ms,
            } => {
                self.note(reason);
                Transition(State::Reconciling {
                    lookup: self.settle_at_least(context, *retry_after_ms),
                })
            }
        }
    }

    fn back_off(&mut self, context: &mut Outbox, retry_after_ms: Option<u64>) -> Outcome<State> {
        let delay = self.arm_retry(context, Timer::RetrySend, retry_after_ms);
        Transition(State::Backoff {
            retry_at: context.now().unix.after(delay),
        })
    }

    /// `backoff` after a restart: retry within the base jitter, but not before the stored
    /// retry time (itself at most `backoff_cap` away: wall clocks jump).
    pub(crate) fn rearm_backoff(&mut self, context: &mut Outbox, retry_at: UnixMs) -> UnixMs {
        let remaining = Duration::from_millis(retry_at.0.saturating_sub(context.now().unix.0));
        let (base, cap) = (self.config.backoff_base, self.config.backoff_cap);
        let first =
            Backoff::new(base, cap).next_delay_at_least(&mut self.rng, Some(remaining.min(cap)));
        let delay = future(first);
        context
            .timers
            .set(Timer::RetrySend, context.now().mono.after(delay));
        context.signal(Signal::RetryScheduled {
            machine: MACHINE_ID,
            delay_ms: duration_ms(delay),
        });
        context.now().unix.after(delay)
    }

    /// `backoff`'s deadline: post again if the channel is known, else reopen it.
    pub(crate) fn retry(&mut self, context: &mut Outbox) -> Outcome<State> {
        match (&self.ledger.channel, &self.team) {
            (Some(_), Some(_)) => self.post(context),
            _ => Transition(State::Pending {
                phase: self.start(context),
            }),
        }
    }

    /// Enter `reconciling`, waiting `reconcile_settle` before the first lookup.
    pub(crate) fn reconcile(&mut self, context: &mut Outbox) -> Outcome<State> {
        Transition(State::Reconciling {
            lookup: self.settle(context),
        })
    }

    /// Wait `reconcile_settle`, then scan from the first page, needing two "not found"
    /// answers again (a new post may have gone out, or a restart forgot the first one).
    pub(crate) fn settle(&mut self, context: &mut Outbox) -> Lookup {
        self.settle_at_least(context, None)
    }

    /// [`settle`](Self::settle), waiting at least `retry_after_ms` (a 5xx's `Retry-After`).
    fn settle_at_least(&mut self, context: &mut Outbox, retry_after_ms: Option<u64>) -> Lookup {
        self.cursor = None;
        self.not_found_at = None;
        let retry_after = Duration::from_millis(retry_after_ms.unwrap_or(0));
        let wait = self.config.reconcile_settle.max(retry_after);
        let at = context.now().mono.after(wait.max(Duration::from_millis(1)));
        context.timers.set(Timer::RetryReconcile, at);
        Lookup::Waiting
    }

    /// Read the history, or reopen the DM channel first if it is unknown (a hand-made row).
    pub(crate) fn look_up(&mut self, context: &mut Outbox) -> Lookup {
        let Some(channel) = self.ledger.channel.clone() else {
            return Lookup::Reopening(self.open_dm(context));
        };
        let call = self.call_id();
        let lookback = duration_ms(self.config.history_lookback);
        let oldest = self
            .ledger
            .sending_since
            .map(|since| slack_ts(since.saturating_sub(lookback)));
        context.stage(Command::LookupHistory {
            call,
            channel,
            oldest,
            limit: self.config.history_limit,
            cursor: self.cursor.clone(),
            marker: self.marker(),
        });
        Lookup::Reading(call)
    }

    pub(crate) fn on_history(
        &mut self,
        lookup: &mut Lookup,
        context: &mut Outbox,
        outcome: &HistoryOutcome,
    ) -> Outcome<State> {
        match outcome {
            HistoryOutcome::Found { ts } => {
                self.accepted();
                self.ledger.ts = Some(ts.clone());
                self.backoff.reset();
                Transition(State::Complete {})
            }
            HistoryOutcome::NextPage { cursor } => {
                self.accepted();
                self.backoff.reset();
                self.cursor = Some(cursor.clone());
                *lookup = self.look_up(context);
                Handled
            }
            HistoryOutcome::NotFound => {
                self.accepted();
                self.backoff.reset();
                self.cursor = None;
                self.on_not_found(lookup, context)
            }
            HistoryOutcome::Transient {
                retry_after_ms,
                reason,
            } => {
                self.note(reason);
                self.arm_retry(context, Timer::RetryReconcile, *retry_after_ms);
                *lookup = Lookup::Waiting;
                Handled
            }
            HistoryOutcome::Permanent { code } => {
                self.note(code);
                Transition(State::Failed {})
            }
            HistoryOutcome::Rejected { code } => {
                if self.rejected(context, code) {
                    return Transition(State::Failed {});
                }
                self.arm_retry(context, Timer::RetryReconcile, None);
                *lookup = Lookup::Waiting;
                Handled
            }
        }
    }

    /// A complete scan found nothing. A post may still surface (Slack's pipeline, a replica
    /// behind): resend only when a second complete scan, at least `resend_confirm_gap` after
    /// the first, finds nothing too.
    fn on_not_found(&mut self, lookup: &mut Lookup, context: &mut Outbox) -> Outcome<State> {
        let now = context.now().mono;
        let gap = future(self.config.resend_confirm_gap);
        let due = self.not_found_at.take();
        if due.is_some_and(|first| now.since(first) >= duration_ms(gap)) {
            return self.post(context);
        }
        // The first complete scan (or, defensively, one too soon after it): look again later.
        self.not_found_at = Some(now);
        context.timers.set(Timer::RetryReconcile, now.after(gap));
        *lookup = Lookup::Waiting;
        Handled
    }

    pub(crate) fn on_reopened(
        &mut self,
        lookup: &mut Lookup,
        context: &mut Outbox,
        outcome: &OpenDmOutcome,
    ) -> Outcome<State> {
        let retry_after_ms = match outcome {
            OpenDmOutcome::Opened { channel } => {
                self.ledger.channel = Some(channel.clone());
                *lookup = self.look_up(context);
                return Handled;
            }
            OpenDmOutcome::Permanent { code } => {
                self.note(code);
                return Transition(State::Failed {});
            }
            OpenDmOutcome::RateLimited { retry_after_ms } => {
                self.note("ratelimited");
                *retry_after_ms
            }
            OpenDmOutcome::Transient {
                reason,
                retry_after_ms,
            } => {
                self.note(reason);
                *retry_after_ms
            }
            OpenDmOutcome::Rejected { code } => match self.rejected(context, code) {
                true => return Transition(State::Failed {}),
                false => None,
            },
        };
        self.arm_retry(context, Timer::RetryReconcile, retry_after_ms);
        *lookup = Lookup::Waiting;
        Handled
    }

    pub(crate) fn stamp(&mut self, channel: &str, ts: &str) -> Outcome<State> {
        self.ledger.channel = Some(channel.to_string());
        self.ledger.ts = Some(ts.to_string());
        Transition(State::Complete {})
    }

    /// Operator reset: forget the stamp and the counters, bump the generation (the fresh
    /// intro's marker differs from the old one's), and start over.
    pub(crate) fn reset(&mut self, context: &mut Outbox) -> Outcome<State> {
        self.ledger = Ledger {
            generation: self.ledger.generation.saturating_add(1),
            ..Ledger::default()
        };
        self.cursor = None;
        self.not_found_at = None;
        self.backoff.reset();
        let phase = match self.channel_ready {
            true => self.start(context),
            false => Phase::Idle,
        };
        Transition(State::Pending { phase })
    }
}

/// A Slack `ts` (`"<secs>.<micros>"`) for the Unix time `unix_ms`.
fn slack_ts(unix_ms: u64) -> String {
    format!("{}.{:06}", unix_ms / 1000, (unix_ms % 1000) * 1000)
}
