//! The machine's shared storage and the actions its states share.
//!
//! Every method here is pure: it mutates [`Core`] and pushes outputs into the [`Outbox`].

use super::config::SocketConfig;
use super::dedupe::DedupeWindow;
use super::io::{Command, RequestId};
use super::links::Links;
use super::timers::Timer;
use crate::engine::time::duration_ms;
use crate::engine::{Backoff, Now, Output, Signal, TimerTable, Transition};
use std::collections::VecDeque;

/// The statig context: the time and name of the input being handled, and the queue of outputs.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outbox {
    /// Time of the input being handled.
    pub(crate) now: Now,
    /// Name of the event being handled (recorded in transitions).
    pub(crate) event: &'static str,
    /// Leaf state when the event was dispatched (recorded in `Ignored` signals).
    pub(crate) state: &'static str,
    queue: VecDeque<Output<Command>>,
}

impl Outbox {
    pub(crate) fn command(&mut self, command: Command) {
        self.queue.push_back(Output::Command(command));
    }

    pub(crate) fn signal(&mut self, signal: Signal) {
        self.queue.push_back(Output::Signal(signal));
    }

    pub(crate) fn push_transition(&mut self, transition: Transition) {
        self.queue.push_back(Output::Transition(transition));
    }

    pub(crate) fn pop(&mut self) -> Option<Output<Command>> {
        self.queue.pop_front()
    }

    pub(crate) fn clear(&mut self) {
        self.queue.clear();
    }
}

/// Shared storage of the Socket Mode machine: configuration, RNG, links, timers, the dedupe
/// window and the in-flight `apps.connections.open` call.
#[derive(Clone, Debug)]
pub(crate) struct Core {
    pub(crate) instance: String,
    pub(crate) config: SocketConfig,
    pub(crate) rng: fastrand::Rng,
    pub(crate) links: Links,
    pub(crate) timers: TimerTable<Timer>,
    /// The one `apps.connections.open` call whose answer is awaited.
    pub(crate) in_flight: Option<RequestId>,
    pub(crate) next_request: u64,
    /// Backoff of `reconnecting`.
    pub(crate) backoff: Backoff,
    /// Backoff of standby retries while `connected`.
    pub(crate) standby_backoff: Backoff,
    /// A handover was asked for but must wait (a link is still draining).
    pub(crate) standby_wanted: bool,
    pub(crate) dedupe: DedupeWindow,
}

impl Core {
    pub(crate) fn new(instance: &str, config: SocketConfig) -> Core {
        Core {
            instance: instance.to_string(),
            rng: fastrand::Rng::with_seed(config.seed),
            links: Links::default(),
            timers: TimerTable::default(),
            in_flight: None,
            next_request: 0,
            backoff: Backoff::new(config.backoff_base, config.backoff_cap),
            standby_backoff: Backoff::new(config.backoff_base, config.backoff_cap),
            standby_wanted: false,
            dedupe: DedupeWindow::new(duration_ms(config.dedupe_ttl), config.dedupe_capacity),
            config,
        }
    }
}
