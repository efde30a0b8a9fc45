//! `store_replay`: arbitrary transition histories of both machines — three instances
//! interleaved in one temporary LMDB store — written the way the shell writes them
//! ([`Store::observe`] after every drain), with process restarts (restore from the store) and
//! store reopens in between. After every write the journal grew by exactly the drained
//! transitions; after every reopen and at the end, `docs/storage.md`'s invariants hold
//! against a model of everything written (see `check.rs`).
//!
//! Input grammar: a preset byte (journal bound, map size), then steps (`Step`) until the bytes run
//! out. Inputs come from each machine's own exploration templates, so histories are ones the
//! machines can produce.

mod check;
mod seeds;

use super::{bytes, clock};
use crate::engine::{Explore, Machine, Now, Output, Snapshot, UnixMs};
use crate::onboarding::{Onboarding, OnboardingConfig};
use crate::socket::{SocketConfig, SocketMode};
use crate::store::{Remembers, Store, StoreConfig};
use arbitrary::Unstructured;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use seeds::seeds;

/// Most steps of one scenario (every onboarding write is synced: keep executions short).
const MAX_STEPS: usize = 300;

/// The onboarding instances: the installer, and a second person who installed it later.
const INSTALLERS: [&str; 2] = ["U0123ABCD", "U0SECOND"];
const TEAM: &str = "T0123ABCD";

/// What one scenario did, for the seed stories' own tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Steps applied.
    pub steps: usize,
    /// Journal rows written.
    pub rows: u64,
    /// Process restarts (machines restored from the store).
    pub restarts: usize,
    /// Dedupe keys persisted.
    pub remembered: usize,
    /// States the journal visited, per machine, as `machine:state`.
    pub states: Vec<String>,
}

/// One step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Input template `template` of machine `machine % 3` (socket, installer, second installer).
    Input { machine: u8, template: u8 },
    /// An `events_api` envelope on the socket machine's active link (dedupe keys).
    Envelope { event: u8 },
    /// Time passes: every machine gets `Timeout`.
    Wait { ms: u16 },
    /// The process restarts: every machine is restored from the store.
    Restart,
    /// The store is closed and opened again (the machines keep running).
    Reopen,
    /// Expired dedupe keys are pruned.
    Prune,
}

impl Step {
    fn read(u: &mut Unstructured<'_>) -> Step {
        match bytes::u8(u) % 8 {
            0..=2 => Step::Input {
                machine: bytes::u8(u),
                template: bytes::u8(u),
            },
            3 => Step::Envelope {
                event: bytes::u8(u),
            },
            4 => Step::Wait { ms: bytes::u16(u) },
            5 => Step::Restart,
            6 => Step::Reopen,
            _ => Step::Prune,
        }
    }
}

/// The fuzz target's entry point: [`run`], discarding the summary.
pub fn run_bytes(data: &[u8]) {
    let _ = run(data);
}

/// Decode `data` into a history, write it, check the store.
///
/// # Panics
/// When an invariant breaks, or the store fails (it must not, at these sizes).
pub fn run(data: &[u8]) -> Summary {
    let mut u = Unstructured::new(data);
    let preset = bytes::u8(&mut u);
    let tmp = scratch_dir();
    let mut h = Harness::new(store_config(preset, tmp.path().join("data")));
    while !u.is_empty() && h.summary.steps < MAX_STEPS {
        let step = Step::read(&mut u);
        h.summary.steps += 1;
        h.apply(step);
    }
    h.check_store();
    h.summary.rows = h.model.rows.len() as u64;
    h.summary.remembered = h.model.seen.len();
    h.summary
}

/// A temporary dir, in RAM when the system has one (synced writes are then cheap).
fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    let dir = match shm.is_dir() {
        true => tempfile::tempdir_in(shm),
        false => tempfile::tempdir(),
    };
    dir.expect("a temporary directory")
}

/// Preset bits 0-1: journal bound 4, 50 or the default; bit 2: a 64 KiB map that must grow.
fn store_config(preset: u8, dir: PathBuf) -> StoreConfig {
    let mut c = StoreConfig::new(dir);
    c.journal_max_rows = match preset % 4 {
        0 => 4,
        1 => 50,
        _ => c.journal_max_rows,
    };
    if preset & 4 != 0 {
        c.map_size = 64 << 10;
    }
    c
}

/// Everything the harness wrote, to compare the store against.
#[derive(Clone, Debug, Default)]
struct Model {
    /// Every journal row written, in order (`rows[i]` has sequence `i + 1`).
    rows: Vec<Row>,
    /// The last snapshot written per `(machine, instance)`, with its row's sequence.
    snapshots: BTreeMap<(String, String), (Snapshot, u64)>,
    /// Dedupe keys with their latest remembered time.
    seen: BTreeMap<String, UnixMs>,
}

/// A journal row as the model holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Row {
    machine: &'static str,
    instance: String,
    from: &'static str,
    to: &'static str,
    event: &'static str,
    at_unix_ms: u64,
}

struct Harness {
    config: StoreConfig,
    store: Option<Store>,
    socket: SocketMode,
    onboarding: [Onboarding; 2],
    now: Now,
    model: Model,
    summary: Summary,
}

impl Harness {
    fn new(config: StoreConfig) -> Harness {
        let store = Store::open(config.clone()).expect("a fresh store opens");
        Harness {
            config,
            store: Some(store),
            socket: SocketMode::new(SocketConfig::default()),
            onboarding: INSTALLERS.map(|u| Onboarding::new(TEAM, u, OnboardingConfig::default())),
            now: Now::fake(0),
            model: Model::default(),
            summary: Summary::default(),
        }
    }

    fn store(&self) -> &Store {
        self.store.as_ref().expect("the store is open")
    }

    fn apply(&mut self, step: Step) {
        match step {
            Step::Input { machine, template } => match machine % 3 {
                0 => {
                    let inputs = self.socket.input_templates(self.now);
                    let (at, input) = inputs[usize::from(template) % inputs.len()].clone();
                    self.now = at.max_with(self.now);
                    self.socket.handle(self.now, input);
                    self.persist_socket();
                }
                i => {
                    let i = usize::from(i - 1);
                    let inputs = self.onboarding[i].input_templates(self.now);
                    let (at, input) = inputs[usize::from(template) % inputs.len()].clone();
                    self.now = at.max_with(self.now);
                    self.onboarding[i].handle(self.now, input);
                    self.persist_onboarding(i);
                }
            },
            Step::Envelope { event } => {
                if let Some(input) = envelope(&self.socket, event) {
                    self.socket.handle(self.now, input);
                    self.persist_socket();
                }
            }
            Step::Wait { ms } => {
                self.now = clock::advance(self.now, Duration::from_millis(ms.into()));
                self.socket.handle(self.now, crate::socket::Input::Timeout);
                self.persist_socket();
                for i in 0..2 {
                    self.onboarding[i].handle(self.now, crate::onboarding::Input::Timeout);
                    self.persist_onboarding(i);
                }
            }
            Step::Restart => self.restart(),
            Step::Reopen => self.reopen(),
            Step::Prune => self.prune(),
        }
    }

    fn persist_socket(&mut self) {
        let outputs = self.socket.drain();
        let snapshot = self.socket.snapshot();
        self.persist(&outputs, snapshot);
    }

    fn persist_onboarding(&mut self, i: usize) {
        let outputs = self.onboarding[i].drain();
        let snapshot = self.onboarding[i].snapshot();
        self.persist(&outputs, snapshot);
    }

    /// Write one drain the way the shell does, and record it in the model.
    fn persist<C: Remembers>(&mut self, outputs: &[Output<C>], snapshot: Snapshot) {
        let seq = self
            .store()
            .observe(outputs, &snapshot)
            .unwrap_or_else(|e| panic!("store_replay: write failed: {e}"));
        let before = self.model.rows.len() as u64;
        let mut last = None;
        for output in outputs {
            match output {
                Output::Transition(t) => {
                    self.model.rows.push(Row {
                        machine: t.machine,
                        instance: t.instance.clone(),
                        from: t.from,
                        to: t.to,
                        event: t.event,
                        at_unix_ms: t.at_unix.0,
                    });
                    last = Some((t.machine.to_string(), t.instance.clone()));
                    let state = format!("{}:{}", t.machine, t.to);
                    if !self.summary.states.contains(&state) {
                        self.summary.states.push(state);
                    }
                }
                Output::Command(c) => {
                    if let Some((key, at)) = c.remembered() {
                        // The later time: a key is remembered again only once the
                        // machine's window forgot it.
                        let kept = self.model.seen.entry(key.to_string()).or_insert(at);
                        *kept = (*kept).max(at);
                    }
                }
                Output::Signal(_) => {}
            }
        }
        let after = self.model.rows.len() as u64;
        let expected = (after > before).then_some(after);
        assert_eq!(
            seq, expected,
            "store_replay: the write returned {seq:?}, rows {before}..{after}"
        );
        if let Some(key) = last {
            self.model.snapshots.insert(key, (snapshot, after));
        }
    }

    /// Close the store and open it again; everything written must be there.
    fn reopen(&mut self) {
        self.store = None;
        self.store = Some(Store::open(self.config.clone()).expect("the store reopens"));
        self.check_store();
    }

    fn prune(&mut self) {
        let ttl = SocketConfig::default().dedupe_ttl;
        self.store().prune_seen(self.now.unix, ttl).expect("prune");
        let ttl_ms = crate::engine::time::duration_ms(ttl);
        self.model
            .seen
            .retain(|_, at| self.now.unix.0.saturating_sub(at.0) < ttl_ms);
    }

    /// The process restarts: reopen the store, check it, and restore every machine from it
    /// as the runtime does (onboarding from its ledger row, then `Resumed`; the socket machine
    /// resumed from its snapshot — journaling `X -> disconnected` — then started afresh with
    /// the unexpired dedupe keys).
    fn restart(&mut self) {
        self.reopen();
        self.summary.restarts += 1;
        for (i, installer) in INSTALLERS.iter().enumerate() {
            let instance = self.onboarding[i].instance().to_string();
            let config = OnboardingConfig::default();
            self.onboarding[i] = match self.check_restored_onboarding(i) {
                Some(snapshot) => Onboarding::resume(config, &instance, &snapshot, self.now)
                    .expect("a stored ledger row restores"),
                None => Onboarding::new(TEAM, installer, config),
            };
            self.persist_onboarding(i);
        }
        if let Some(snapshot) = self.check_restored_socket() {
            let config = SocketConfig::default();
            let instance = crate::socket::DEFAULT_INSTANCE;
            self.socket = SocketMode::resume(config, instance, &snapshot, self.now)
                .expect("a stored socket snapshot restores");
            self.persist_socket();
        }
        let ttl = SocketConfig::default().dedupe_ttl;
        let seen = self
            .store()
            .load_unexpired(self.now.unix, ttl)
            .expect("seen keys load");
        self.socket = SocketMode::with_seen(SocketConfig::default(), seen);
    }
}

/// `Now::max` of both clocks (templates may carry a later time; time never goes back).
trait MaxWith {
    fn max_with(self, other: Now) -> Now;
}

impl MaxWith for Now {
    fn max_with(self, other: Now) -> Now {
        Now::new(self.mono.max(other.mono), self.unix.max(other.unix))
    }
}

/// An `events_api` envelope with event id `Ev<n>` on the active link, if any.
fn envelope(m: &SocketMode, n: u8) -> Option<crate::socket::Input> {
    use crate::socket::wire::{Envelope, EnvelopeKind, ServerFrame};
    let link = m.links().active?.id;
    let envelope = Envelope {
        envelope_id: format!("env-{n}"),
        kind: EnvelopeKind::EventsApi,
        payload: serde_json::json!({"event_id": format!("Ev{n}"), "event": {"type": "message"}})
            .into(),
        accepts_response_payload: false,
        retry_attempt: 0,
        retry_reason: None,
    };
    Some(crate::socket::Input::Frame {
        link,
        frame: ServerFrame::Envelope(envelope),
    })
}
