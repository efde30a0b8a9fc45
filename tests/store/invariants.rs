//! The journal invariants (`docs/storage.md`) on random histories of the real machines:
//! random inputs chosen among each machine's own input templates (the ones diagram
//! exploration uses), random restarts of the machine (restore from the store + `Resumed`) and
//! of the store (reopen), journal bounds small enough to prune. After every history:
//! contiguous sequence numbers, per-instance `from` = previous `to`, every row an edge of the
//! derived diagram, the last row's `to` = the stored snapshot / ledger state; and every
//! dedupe key the machine asked to remember is stored.

use crate::common::*;
use phantom_fsm::engine::{Explore, Machine, Now, Output, Snapshot};
use phantom_fsm::onboarding::{self, Onboarding, OnboardingConfig};
use phantom_fsm::socket::{self, SocketConfig, SocketMode};
use phantom_fsm::store::{Remembers, Store, StoreConfig};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::time::Duration;

/// One step of a random history.
#[derive(Clone, Debug)]
enum Step {
    /// Deliver the input template `n % len` of the current state.
    Input(u16),
    /// Machine-specific extra input (socket: an envelope with event id `Ev<n>`).
    Extra(u8),
    /// Let `ms` pass, then deliver what the machine's timeout template says.
    Wait(u16),
    /// Drop the machine and restore it from the store (`Resumed`).
    Restart,
    /// Close and reopen the store.
    Reopen,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        12 => any::<u16>().prop_map(Step::Input),
        5 => (0u8..16).prop_map(Step::Extra),
        2 => any::<u16>().prop_map(Step::Wait),
        1 => Just(Step::Restart),
        1 => Just(Step::Reopen),
    ];
    prop::collection::vec(step, 1..150)
}

/// How the walk treats one machine type.
struct Kind<M: Machine> {
    fresh: fn() -> M,
    /// The stored state of `instance`, to restore from.
    load: fn(&Store, &str) -> Option<Snapshot>,
    extra: fn(&M, u8) -> Option<M::Input>,
    /// The input that fires expired deadlines.
    timeout: fn() -> M::Input,
}

struct Walk<'k, M: Machine> {
    kind: &'k Kind<M>,
    dir: std::path::PathBuf,
    max_rows: u64,
    store: Option<Store>,
    machine: M,
    now: Now,
    remembered: BTreeSet<String>,
}

impl<M: Explore> Walk<'_, M>
where
    M::Command: Remembers,
{
    fn store(&self) -> &Store {
        self.store.as_ref().unwrap()
    }

    fn open(&mut self) {
        let config = StoreConfig {
            journal_max_rows: self.max_rows,
            ..StoreConfig::new(&self.dir)
        };
        self.store = Some(reopen(config));
    }

    fn deliver(&mut self, at: Now, input: M::Input) {
        self.now = Now::new(self.now.mono.max(at.mono), self.now.unix.max(at.unix));
        self.machine.handle(self.now, input);
        self.persist();
    }

    /// Drain and persist, checking that the write appended exactly the drained transitions.
    fn persist(&mut self) {
        let outputs = self.machine.drain();
        let before = self
            .store()
            .journal_bounds()
            .unwrap()
            .map_or(0, |(_, last)| last);
        let transitions = outputs
            .iter()
            .filter(|o| matches!(o, Output::Transition(_)))
            .count() as u64;
        for o in &outputs {
            if let Output::Command(c) = o {
                self.remembered
                    .extend(c.remembered().map(|(k, _)| k.to_string()));
            }
        }
        let seq = self
            .store()
            .observe(&outputs, &self.machine.snapshot())
            .unwrap();
        assert_eq!(seq.unwrap_or(before), before + transitions);
    }

    fn step(&mut self, step: &Step) {
        match step {
            Step::Input(n) => {
                let templates = self.machine.input_templates(self.now);
                let (at, input) = templates[*n as usize % templates.len()].clone();
                self.deliver(at, input);
            }
            Step::Extra(n) => {
                if let Some(input) = (self.kind.extra)(&self.machine, *n) {
                    self.deliver(self.now, input);
                }
            }
            Step::Wait(ms) => {
                let at = self.now.after(Duration::from_millis(u64::from(*ms)));
                self.deliver(at, (self.kind.timeout)());
            }
            Step::Restart => self.restart(),
            Step::Reopen => {
                self.store = None;
                self.open();
            }
        }
    }

    fn restart(&mut self) {
        let instance = self.machine.instance().to_string();
        self.machine = match (self.kind.load)(self.store(), &instance) {
            Some(snapshot) => {
                M::resume(M::Config::default(), &instance, &snapshot, self.now).unwrap()
            }
            None => (self.kind.fresh)(),
        };
        self.persist();
    }
}

fn is_edge(machine: &str, from: &str, event: &str, to: &str) -> bool {
    phantom_fsm::registry::diagram(machine).is_some_and(|d| d.has_edge(from, event, to))
}

fn run_walk<M: Explore>(kind: &Kind<M>, steps: &[Step], max_rows: u64) -> Result<(), TestCaseError>
where
    M::Command: Remembers,
{
    let tmp = tempfile::tempdir().unwrap();
    let mut walk = Walk {
        kind,
        dir: tmp.path().join("data"),
        max_rows,
        store: None,
        machine: (kind.fresh)(),
        now: Now::fake(0),
        remembered: BTreeSet::new(),
    };
    walk.open();
    for step in steps {
        walk.step(step);
    }
    let checked = check_invariants(walk.store(), &is_edge).map_err(TestCaseError::fail)?;
    prop_assert!(checked.rows as u64 <= max_rows);
    prop_assert!(checked.instances <= 1, "one machine instance per history");
    let stored: BTreeSet<String> = walk
        .store()
        .load_unexpired(phantom_fsm::engine::UnixMs(0), Duration::MAX)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    prop_assert!(
        walk.remembered.is_subset(&stored),
        "remembered {:?}, stored {:?}",
        walk.remembered,
        stored
    );
    Ok(())
}

fn socket_envelope(m: &SocketMode, n: u8) -> Option<socket::Input> {
    use socket::{Envelope, EnvelopeKind, ServerFrame};
    let link = m.links().active?.id;
    let envelope = Envelope {
        envelope_id: format!("env-{n}"),
        kind: EnvelopeKind::EventsApi,
        payload:
            serde_json::json!({"event_id": format!("Ev{n}"), "event": {"type": "app_mention"}})
                .into(),
        accepts_response_payload: false,
        retry_attempt: 0,
        retry_reason: None,
    };
    Some(socket::Input::Frame {
        link,
        frame: ServerFrame::Envelope(envelope),
    })
}

const SOCKET: Kind<SocketMode> = Kind {
    fresh: || SocketMode::new(SocketConfig::default()),
    load: |store, instance| {
        store
            .load_snapshot("socket_mode", instance)
            .unwrap()
            .map(|s| s.snapshot())
    },
    extra: socket_envelope,
    timeout: || socket::Input::Timeout,
};

const ONBOARDING: Kind<Onboarding> = Kind {
    fresh: || Onboarding::new("T1", "U1", OnboardingConfig::default()),
    load: |store, instance| {
        store
            .load_ledger(instance)
            .unwrap()
            .map(|row| row.snapshot())
    },
    // Its templates already hold every input (operator ones included).
    extra: |_, _| None,
    timeout: || onboarding::Input::Timeout,
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Socket Mode histories (restarts journal `X -> disconnected`, `restarted`).
    #[test]
    fn socket_histories_keep_the_journal_invariants(steps in steps(), small in any::<bool>()) {
        run_walk(&SOCKET, &steps, if small { 7 } else { 100_000 })?;
    }

    /// Onboarding histories: each transition's ledger row is written with its journal row
    /// (restarts resume from the ledger row alone, e.g. `sending -> reconciling`, `restarted`).
    #[test]
    fn onboarding_histories_keep_the_journal_invariants(steps in steps(), small in any::<bool>()) {
        run_walk(&ONBOARDING, &steps, if small { 7 } else { 100_000 })?;
    }
}
