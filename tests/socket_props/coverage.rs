//! The generated steps are worth running: over as many sequences as the properties run, the
//! model (with the scripted sequences) takes every edge of the derived diagram and reaches the
//! situations the invariants are about.

use super::model::{EnvFate, Model};
use super::strategy::Lifecycle;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use proptest_state_machine::ReferenceStateMachine;
use std::collections::BTreeMap;

/// What the model went through, counted over many sequences.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) edges: BTreeMap<(&'static str, &'static str, &'static str), usize>,
    pub(crate) situations: BTreeMap<&'static str, usize>,
}

impl Tally {
    /// Count one step from `before` to `m`.
    pub(crate) fn note(&mut self, before: &Model, m: &Model) {
        for t in &m.expect.transitions {
            *self.edges.entry(*t).or_default() += 1;
        }
        let e = &m.expect;
        let acked = |dispatched| e.envelope == Some(EnvFate::Acked { dispatched });
        for (name, yes) in [
            ("handover", e.handovers > 0),
            ("dispatched", acked(true)),
            ("duplicate", acked(false)),
            (
                "dispatched again after the TTL",
                acked(true) && m.now >= super::model::DEDUPE_TTL,
            ),
            (
                "unackable",
                matches!(e.envelope, Some(EnvFate::Unackable { .. })),
            ),
            (
                "unackable, dispatched, ack tried on the active link",
                matches!(
                    e.envelope,
                    Some(EnvFate::Unackable {
                        dispatched: true,
                        ack_on: Some(_)
                    })
                ),
            ),
            (
                "draining link active again",
                before.draining.is_some() && m.active.map(|a| a.0) == before.draining.map(|d| d.0),
            ),
            ("start kept while disconnecting", m.restart_wanted),
            (
                "open deadline",
                e.transitions.iter().any(|t| t.1 == "open_deadline")
                    || (before.in_flight.is_some()
                        && m.in_flight.is_none()
                        && e.abandoned.contains(&before.in_flight.unwrap_or(0))),
            ),
            ("two closing links", m.closing.len() >= 2),
            (
                "acked on a draining link",
                e.envelope.is_some() && before.draining.is_some(),
            ),
            ("standby deferred by a drain", m.standby_wanted),
            (
                "two links and one closing",
                !m.closing.is_empty()
                    && m.active.is_some()
                    && (m.pending.is_some() || m.draining.is_some()),
            ),
            ("call abandoned", !e.abandoned.is_empty()),
            ("link ended", !e.link_ended.is_empty()),
            ("ping", !e.pings.is_empty()),
            (
                "restart",
                m.expect.transitions.iter().any(|t| t.1 == "restarted"),
            ),
        ] {
            if yes {
                *self.situations.entry(name).or_default() += 1;
            }
        }
    }
}

/// Run `sequences` generated sequences of profile `P` through the model alone (a fixed seed).
pub(crate) fn tally<const P: u8>(tally: &mut Tally, sequences: u32) {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let strategy = Lifecycle::<P>::sequential_strategy(super::STEPS);
    for _ in 0..sequences {
        let (mut m, steps, _) = strategy
            .new_tree(&mut runner)
            .expect("a sequence")
            .current();
        for step in &steps {
            let before = m.clone();
            m = Lifecycle::<P>::apply(m, step);
            tally.note(&before, &m);
        }
    }
}
