//! Diagrams derived from the machines themselves, never hand-written.
//!
//! statig cannot enumerate its transitions, so [`derive()`] drives the real machine: breadth-first
//! from [`Explore::explore_roots`], applying every input template bound to the current
//! representative, recording each `(from, event, to)` from the [`Transition`] records the machine
//! emits. From every representative it also restores the representative's snapshot and delivers
//! `Resumed`, so the edges taken after a process restart are part of the diagram.

use super::contract::{Explore, Machine, Output, StateNode};
use super::time::Now;
use super::transition::Transition;
use std::collections::{BTreeSet, HashSet, VecDeque};

/// One edge of a diagram.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Edge {
    /// Leaf state left.
    pub from: &'static str,
    /// Input name.
    pub event: &'static str,
    /// Leaf state entered.
    pub to: &'static str,
}

/// A machine's derived state diagram: its hierarchy and every edge exploration found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagram {
    /// Machine id.
    pub machine: &'static str,
    /// The initial leaf state.
    pub initial: &'static str,
    /// Leaf states with their innermost superstate.
    pub leaves: &'static [StateNode],
    /// Superstates with their parents.
    pub superstates: &'static [StateNode],
    /// Every edge, sorted.
    pub edges: BTreeSet<Edge>,
}

impl Diagram {
    /// Whether `(from, event, to)` is an edge.
    pub fn has_edge(&self, from: &str, event: &str, to: &str) -> bool {
        self.edges
            .iter()
            .any(|e| e.from == from && e.event == event && e.to == to)
    }

    /// Leaf states that no edge enters and that are not initial: a test asserts there are none.
    pub fn unreached(&self) -> Vec<&'static str> {
        self.leaves
            .iter()
            .map(|n| n.name)
            .filter(|name| *name != self.initial && !self.edges.iter().any(|e| e.to == *name))
            .collect()
    }

    /// Leaf states directly inside superstate `name` (or at top level for `None`).
    pub fn leaves_in<'a>(
        &'a self,
        parent: Option<&'a str>,
    ) -> impl Iterator<Item = &'static str> + 'a {
        self.leaves
            .iter()
            .filter(move |n| n.parent == parent)
            .map(|n| n.name)
    }

    /// Superstates directly inside `parent` (or at top level for `None`).
    pub fn superstates_in<'a>(
        &'a self,
        parent: Option<&'a str>,
    ) -> impl Iterator<Item = &'static str> + 'a {
        self.superstates
            .iter()
            .filter(move |n| n.parent == parent)
            .map(|n| n.name)
    }

    /// The innermost superstate of a leaf.
    pub fn parent_of(&self, leaf: &str) -> Option<&'static str> {
        self.leaves
            .iter()
            .find(|n| n.name == leaf)
            .and_then(|n| n.parent)
    }

    /// Edges grouped by `(from, to)`, with their events joined in sorted order.
    pub(crate) fn grouped_edges(&self) -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
        let mut pairs: BTreeSet<(&str, &str)> = BTreeSet::new();
        for e in &self.edges {
            pairs.insert((e.from, e.to));
        }
        pairs
            .into_iter()
            .map(|(from, to)| {
                let events = self
                    .edges
                    .iter()
                    .filter(|e| e.from == from && e.to == to)
                    .map(|e| e.event)
                    .collect();
                (from, to, events)
            })
            .collect()
    }
}

/// Bound on explored representatives: exploration keys are a small finite set, so hitting this
/// means a machine's `exploration_key` leaks unbounded data.
const MAX_REPRESENTATIVES: usize = 10_000;

/// Derive `M`'s diagram by exploring it (see the module docs).
///
/// # Panics
/// If exploration visits more than 10,000 distinct representatives (a bug in the machine's
/// `exploration_key`, caught by the diagram tests).
pub fn derive<M: Explore>() -> Diagram {
    let mut edges = BTreeSet::new();
    let mut seen = HashSet::new();
    let mut queue = VecDeque::new();
    for (now, machine) in M::explore_roots() {
        if seen.insert(machine.exploration_key()) {
            queue.push_back((now, machine));
        }
    }
    while let Some((now, machine)) = queue.pop_front() {
        assert!(
            seen.len() <= MAX_REPRESENTATIVES,
            "{}: exploration did not converge",
            M::ID
        );
        for (at, next) in successors(&machine, now) {
            for t in &next.1 {
                edges.insert(Edge {
                    from: t.from,
                    event: t.event,
                    to: t.to,
                });
            }
            if seen.insert(next.0.exploration_key()) {
                queue.push_back((at, next.0));
            }
        }
    }
    Diagram {
        machine: M::ID,
        initial: M::INITIAL,
        leaves: M::LEAVES,
        superstates: M::SUPERSTATES,
        edges,
    }
}

/// Every machine one input away from `machine`, with the transitions that input produced.
/// Includes the restore-then-`Resumed` successor.
fn successors<M: Explore>(machine: &M, now: Now) -> Vec<(Now, (M, Vec<Transition>))> {
    let mut out = Vec::new();
    for (at, input) in machine.input_templates(now) {
        let mut next = machine.clone();
        next.handle(at, input);
        let transitions = transitions_of(&mut next);
        out.push((at, (next, transitions)));
    }
    let snapshot = machine.snapshot();
    if let Ok(mut resumed) = M::restore(machine.config().clone(), machine.instance(), &snapshot) {
        resumed.handle(now, M::resumed());
        let transitions = transitions_of(&mut resumed);
        out.push((now, (resumed, transitions)));
    }
    out
}

fn transitions_of<M: Machine>(machine: &mut M) -> Vec<Transition> {
    machine
        .drain()
        .into_iter()
        .filter_map(|o| match o {
            Output::Transition(t) => Some(t),
            _ => None,
        })
        .collect()
}
