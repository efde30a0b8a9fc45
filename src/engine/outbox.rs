//! The outbox every machine shares: the statig *context* of one dispatch (the input's time and
//! name, the leaf state it was dispatched in), the queue of outputs, and the table of armed
//! deadlines.
//!
//! Handlers push into it and never do IO; the wrapper drains it through `poll_output`. Keeping
//! the timers here (not in the shared storage) lets the engine disarm a deadline before it
//! fires and answer `poll_timeout` without reaching into the statig machine.

use super::contract::Output;
use super::signal::Signal;
use super::time::{Millis, Now};
use super::timer::{TimerKind, TimerTable};
use super::transition::Transition;
use std::collections::VecDeque;
use std::time::Duration;

/// The statig context of a phantom-fsm machine: outputs, deadlines, and what is being handled.
#[derive(Clone, Debug)]
pub struct Outbox<C, T: TimerKind> {
    machine: &'static str,
    now: Now,
    event: &'static str,
    state: &'static str,
    queue: VecDeque<Output<C>>,
    staged: Vec<C>,
    /// The armed deadlines (at most one per timer name).
    pub timers: TimerTable<T>,
}

impl<C, T: TimerKind> Outbox<C, T> {
    /// An empty outbox of machine `machine` (its id, recorded in signals).
    pub fn new(machine: &'static str) -> Self {
        Outbox {
            machine,
            now: Now::default(),
            event: "",
            state: "",
            queue: VecDeque::new(),
            staged: Vec::new(),
            timers: TimerTable::default(),
        }
    }

    /// Time of the input being handled.
    pub fn now(&self) -> Now {
        self.now
    }

    /// Name of the input being handled (a transition's `event`).
    pub fn event(&self) -> &'static str {
        self.event
    }

    /// Start one dispatch: `event` at `now`, while the leaf state is `state`.
    pub(crate) fn begin(&mut self, now: Now, event: &'static str, state: &'static str) {
        self.now = now;
        self.event = event;
        self.state = state;
    }

    /// End one dispatch: staged commands go behind everything the dispatch pushed.
    pub(crate) fn finish(&mut self) {
        let staged = std::mem::take(&mut self.staged);
        self.queue.extend(staged.into_iter().map(Output::Command));
    }

    /// Queue a command now (before the transition the handler returns, if any).
    pub fn command(&mut self, command: C) {
        self.queue.push_back(Output::Command(command));
    }

    /// Queue a command behind the transition of this dispatch, for a shell that must record
    /// the new state before it performs the command (the onboarding ledger's commit-then-post).
    pub fn stage(&mut self, command: C) {
        self.staged.push(command);
    }

    /// Queue a countable fact.
    pub fn signal(&mut self, signal: Signal) {
        self.queue.push_back(Output::Signal(signal));
    }

    /// Count the input being handled as ignored in the state it was dispatched in.
    pub fn ignored(&mut self) {
        let (machine, state, input) = (self.machine, self.state, self.event);
        self.signal(Signal::Ignored {
            machine,
            state,
            input,
        });
    }

    /// Record a change of leaf state caused by the input being handled. Called only from the
    /// machine's `after_transition` hook.
    pub fn transition(&mut self, instance: &str, from: &'static str, to: &'static str) {
        let t = Transition::new(self.machine, instance, (from, to), self.event, self.now);
        self.queue.push_back(Output::Transition(t));
    }

    /// Arm `timer` for `after` from the input's time, at least 1 ms later: a deadline armed
    /// while handling an input is never due within that same input (the engine fires due
    /// deadlines right after the input), so the shell sees every state, a zero jittered backoff
    /// included.
    pub fn arm(&mut self, timer: T, after: Duration) {
        let after = after.max(Duration::from_millis(1));
        self.timers.set(timer, self.now.mono.after(after));
    }

    /// Take the oldest output.
    pub(crate) fn pop(&mut self) -> Option<Output<C>> {
        self.queue.pop_front()
    }

    /// The earliest armed deadline.
    pub(crate) fn next_deadline(&self) -> Option<Millis> {
        self.timers.next().map(|(_, at)| at)
    }
}
