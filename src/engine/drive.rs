//! What every machine shares around its statig core: dispatch with the input's name captured,
//! the one rule for the order of time, and restore.
//!
//! **Order of time** (one rule for every machine): an input carries the time it was received;
//! the machine handles the input first, then fires every deadline due by that time, earliest
//! first. So a frame read before its deadline always counts, even when it is handled at the
//! deadline, and an operator's input cancels a retry that was due at the same moment.

use super::contract::{InputName, Output};
use super::outbox::Outbox;
use super::time::{Millis, Now};
use super::timer::TimerKind;
use statig::blocking::{InitializedStateMachine, IntoStateMachine, IntoStateMachineExt as _};

/// A statig machine driven by the engine. Implement the few required methods (where the outbox
/// is, the current leaf's name, how an input and a deadline become events, and the one-line
/// statig call); the provided methods are the shared behaviour.
pub trait Drive {
    /// The public inputs.
    type Input: InputName;
    /// What statig dispatches (inputs, and expired named deadlines).
    type Event;
    /// Side effects requested from the shell.
    type Command;
    /// The machine's timer names.
    type Timer: TimerKind;

    /// The outbox.
    fn outbox(&self) -> &Outbox<Self::Command, Self::Timer>;
    /// The outbox, mutably.
    fn outbox_mut(&mut self) -> &mut Outbox<Self::Command, Self::Timer>;
    /// The current leaf state's name.
    fn leaf_name(&self) -> &'static str;
    /// The event of an input; `None` for a bare wake-up (`Timeout`), which only fires deadlines.
    fn event_of(input: Self::Input) -> Option<Self::Event>;
    /// The event of an expired deadline.
    fn timer_event(timer: Self::Timer) -> Self::Event;
    /// Hand `event` to statig with the outbox as context.
    fn deliver(&mut self, event: &Self::Event);

    /// Handle one input received at `now`: the input first, then every deadline due by `now`.
    fn step(&mut self, now: Now, input: Self::Input) {
        let name = input.name();
        if let Some(event) = Self::event_of(input) {
            self.dispatch(now, name, &event);
        }
        self.fire_due(now);
    }

    /// Dispatch one event named `name` (the transition's `event`) at `now`.
    fn dispatch(&mut self, now: Now, name: &'static str, event: &Self::Event) {
        let leaf = self.leaf_name();
        self.outbox_mut().begin(now, name, leaf);
        self.deliver(event);
        self.outbox_mut().finish();
    }

    /// Fire every deadline at or before `now`, earliest first, each disarmed before its
    /// handler runs (so a timeout is never handled twice). A handler that re-arms a timer at or
    /// before `now` would loop: the bound stops it, and the next input fires the rest.
    fn fire_due(&mut self, now: Now) {
        for _ in 0..Self::Timer::ALL.len() * 4 {
            let Some(timer) = self.outbox().timers.expired(now.mono) else {
                return;
            };
            self.outbox_mut().timers.clear(timer);
            self.dispatch(now, timer.name(), &Self::timer_event(timer));
        }
    }

    /// Take the next output, oldest first.
    fn next_output(&mut self) -> Option<Output<Self::Command>> {
        self.outbox_mut().pop()
    }

    /// The earliest armed deadline.
    fn next_deadline(&self) -> Option<Millis> {
        self.outbox().next_deadline()
    }
}

/// Build a statig machine from `storage` and, for a restore, put it into `state` **without**
/// running entry actions (`docs/architecture.md`: a restore must not repeat a side effect; the
/// restored state's work starts from the `Resumed` input). Initialisation runs in a discarded
/// outbox, so nothing of it leaks.
pub fn start<M, C, T>(
    machine: &'static str,
    storage: M,
    state: Option<M::State>,
) -> InitializedStateMachine<M>
where
    T: TimerKind,
    M: for<'c> IntoStateMachine<Context<'c> = Outbox<C, T>>,
    M::State: statig::blocking::State<M>,
    for<'sub> M::Superstate<'sub>: statig::blocking::Superstate<M>,
{
    let mut scratch = Outbox::new(machine);
    let mut sm = storage
        .uninitialized_state_machine()
        .init_with_context(&mut scratch);
    if let Some(state) = state {
        // SAFETY: statig marks `state_mut` unsafe only because the new state is entered
        // without its entry actions (and the old one left without its exit actions). That is
        // exactly what a restore wants; the machine has just been initialised, so no
        // outstanding work of the discarded initial state can be lost.
        unsafe { *sm.state_mut() = state };
    }
    sm
}
