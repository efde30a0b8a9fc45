//! The trait every phantom-fsm machine implements, and its output type.

use super::signal::Signal;
use super::time::{Millis, Now};
use super::transition::Transition;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// One output of a machine, drained by the shell with [`Machine::poll_output`] after every input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output<C> {
    /// A side effect the shell must perform (call an API, write a frame, persist a key, ...).
    Command(C),
    /// A change of leaf state, for the journal and the metrics.
    Transition(Transition),
    /// A countable fact, for the metrics and the logs.
    Signal(Signal),
}

/// A node of the state hierarchy: a leaf state or a superstate, with its parent superstate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateNode {
    /// Name (`connected`, `running`, ...): the journal, metric label and diagram name.
    pub name: &'static str,
    /// The enclosing superstate, if any.
    pub parent: Option<&'static str>,
}

impl StateNode {
    /// A node named `name` inside `parent`.
    pub const fn new(name: &'static str, parent: Option<&'static str>) -> StateNode {
        StateNode { name, parent }
    }
}

/// A machine's persisted state: the leaf state's name and its local data, as JSON
/// `{"state": name, "data": {...}}`. Shared storage (config, RNG, outbox) is not part of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Leaf state name.
    pub state: String,
    /// The state's local data (`null` when it has none).
    #[serde(default)]
    pub data: serde_json::Value,
}

/// Why a [`Snapshot`] could not be restored.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RestoreError {
    /// The snapshot names a state this machine does not have.
    #[error("{machine}: unknown state {state:?} in snapshot")]
    UnknownState {
        /// Machine id.
        machine: &'static str,
        /// The name found.
        state: String,
    },
    /// The state's data does not have the expected shape.
    #[error("{machine}: bad data for state {state:?}: {detail}")]
    BadData {
        /// Machine id.
        machine: &'static str,
        /// Leaf state name.
        state: String,
        /// What was wrong.
        detail: String,
    },
}

/// The common surface of phantom-fsm's machines: everything diagram export, journaling,
/// snapshot/restore and transition metrics need, generic over the machine.
///
/// Contract (sans-IO, after quinn-proto and str0m): inputs go in through [`handle`](Self::handle)
/// with the time as an argument; after every input the shell drains
/// [`poll_output`](Self::poll_output) until it returns `None`, then sleeps until
/// [`poll_timeout`](Self::poll_timeout) or the next input. A machine never reads a clock, never
/// touches a socket or a disk, and never panics on peer input.
pub trait Machine: Clone + Sized {
    /// Inputs: peer frames, API results, timer expiries, operator actions.
    type Input: Clone + Debug + InputName;
    /// Side effects requested from the shell.
    type Command: Clone + Debug;
    /// Configuration (timings, limits); `Default` gives the documented defaults.
    type Config: Clone + Debug + Default;

    /// Machine id: `socket_mode` or `onboarding`.
    const ID: &'static str;
    /// The leaf states, in display order, each with its innermost superstate.
    const LEAVES: &'static [StateNode];
    /// The superstates, outermost first, each with its parent.
    const SUPERSTATES: &'static [StateNode];
    /// The leaf state a new machine starts in.
    const INITIAL: &'static str;

    /// This instance's id.
    fn instance(&self) -> &str;
    /// This instance's configuration.
    fn config(&self) -> &Self::Config;
    /// The current leaf state's name.
    fn state_name(&self) -> &'static str;
    /// Feed one input at time `now`.
    fn handle(&mut self, now: Now, input: Self::Input);
    /// Take the next output, oldest first.
    #[must_use]
    fn poll_output(&mut self) -> Option<Output<Self::Command>>;
    /// The earliest armed deadline, if any.
    #[must_use]
    fn poll_timeout(&self) -> Option<Millis>;
    /// The input delivered after a restore, whose handling emits what the stored state needs.
    fn resumed() -> Self::Input;
    /// The current state as `{"state","data"}`.
    fn snapshot(&self) -> Snapshot;
    /// Build a machine with `config` and put it into the stored state **without** running entry
    /// actions; deliver [`Machine::resumed`] next (see [`Machine::resume`]).
    fn restore(
        config: Self::Config,
        instance: &str,
        snapshot: &Snapshot,
    ) -> Result<Self, RestoreError>;

    /// Restore from `snapshot` and deliver the `Resumed` input at `now`.
    fn resume(
        config: Self::Config,
        instance: &str,
        snapshot: &Snapshot,
        now: Now,
    ) -> Result<Self, RestoreError> {
        let mut machine = Self::restore(config, instance, snapshot)?;
        machine.handle(now, Self::resumed());
        Ok(machine)
    }

    /// Drain every pending output.
    fn drain(&mut self) -> Vec<Output<Self::Command>> {
        std::iter::from_fn(|| self.poll_output()).collect()
    }

    /// The chain of superstates around `leaf`, innermost first (empty for an unknown name).
    fn superstates_of(leaf: &str) -> Vec<&'static str> {
        let mut chain = Vec::new();
        let mut parent = Self::LEAVES
            .iter()
            .find(|n| n.name == leaf)
            .and_then(|n| n.parent);
        while let Some(name) = parent {
            chain.push(name);
            parent = Self::SUPERSTATES
                .iter()
                .find(|n| n.name == name)
                .and_then(|n| n.parent);
        }
        chain
    }
}

/// Exploration hooks for deriving a machine's diagram (`docs/architecture.md`): where to start,
/// which inputs to try in a state, and how to tell representatives apart. Only the diagram
/// derivation uses them; a shell never does.
pub trait Explore: Machine {
    /// Machines to start the diagram exploration from (at least a fresh one in
    /// [`INITIAL`](Machine::INITIAL)), each with the time it is at.
    fn explore_roots() -> Vec<(Now, Self)>;
    /// Every input worth trying in the current state, bound to its data (the pending link's
    /// id, the armed deadline, each error class), each with the time to deliver it at.
    fn input_templates(&self, now: Now) -> Vec<(Now, Self::Input)>;
    /// The key under which exploration deduplicates representatives. The state name by
    /// default; a machine whose guards depend on local data refines it (e.g. `connected` with
    /// or without a standby link).
    fn exploration_key(&self) -> String {
        self.state_name().to_string()
    }
}

/// Inputs have a stable name: the journal's `event` and the diagram's edge label.
pub trait InputName {
    /// The name of this input (`hello`, `link_lost`, `timeout:ping_due`, ...).
    fn name(&self) -> &'static str;
}
