//! What `GET /health` and `GET /debug/state` report (`docs/contracts.md`).
//!
//! The runtime feeds a [`StatusBoard`] from the same drained [`Transition`] stream as the
//! metrics and the journal, plus the facts only the shell knows (store failures and
//! recoveries, journal rows as the store wrote them, states restored at start). Time is always
//! passed in, so the `/health` logic is tested with fake time.

use super::inspect::{Activity, EVENT_CAPACITY, LinkCounts, StatusEvent, StatusMachine};
use crate::engine::{Diagram, Millis, Now, Output, Transition, UnixMs};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// Rows of the journal tail shown by `/debug/state`.
pub const JOURNAL_TAIL: usize = 50;

/// A store error unresolved for longer than this makes `/health` say `degraded`.
pub const STORE_ERROR_GRACE: Duration = Duration::from_secs(30);

const SOCKET_MACHINE: &str = crate::socket::MACHINE_ID;
const ONBOARDING_MACHINE: &str = crate::onboarding::MACHINE_ID;
/// Instance id of the (single) socket machine.
const SOCKET_INSTANCE: &str = crate::socket::DEFAULT_INSTANCE;

/// The runtime's status, shared between the observer that updates it and the HTTP server that
/// reads it: a cheap, cloneable handle (clones share the board).
#[derive(Clone, Debug)]
pub struct StatusBoard {
    inner: Arc<Mutex<Board>>,
    /// Journal rows as they are recorded, serialized, for `/debug/events`. Bounded: a
    /// receiver that falls [`EVENT_CAPACITY`] rows behind lags and is dropped by its stream.
    rows: tokio::sync::broadcast::Sender<Arc<str>>,
}

#[derive(Debug)]
struct Board {
    version: String,
    started: Millis,
    /// Every machine instance's current leaf state, keyed by `(machine, instance)`.
    machines: BTreeMap<(String, String), Current>,
    reconnects: u64,
    /// First failure time of each store operation that has not succeeded since.
    store_errors: BTreeMap<&'static str, Millis>,
    journal: VecDeque<serde_json::Value>,
    /// Links and envelope counts for the inspector.
    activity: Activity,
}

#[derive(Clone, Debug)]
struct Current {
    state: String,
    since: UnixMs,
}

impl StatusBoard {
    /// A board for a runtime of `version` started at `started`: the socket machine
    /// (`socket_mode/default`) is `disconnected` since then, and onboarding is disabled until a
    /// ledger instance is registered with [`set_machine`](Self::set_machine).
    pub fn new(version: impl Into<String>, started: Now) -> StatusBoard {
        let mut machines = BTreeMap::new();
        machines.insert(
            (SOCKET_MACHINE.to_string(), SOCKET_INSTANCE.to_string()),
            Current {
                state: "disconnected".to_string(),
                since: started.unix,
            },
        );
        StatusBoard {
            inner: Arc::new(Mutex::new(Board {
                version: version.into(),
                started: started.mono,
                machines,
                reconnects: 0,
                store_errors: BTreeMap::new(),
                journal: VecDeque::with_capacity(JOURNAL_TAIL),
                activity: Activity::default(),
            })),
            rows: tokio::sync::broadcast::channel(EVENT_CAPACITY).0,
        }
    }

    fn board(&self) -> MutexGuard<'_, Board> {
        // A panic while holding the lock leaves plain data behind, still worth reporting.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Observe one drained machine output: transitions change the states, signals the
    /// inspector's counts.
    pub fn observe<C>(&self, output: &Output<C>) {
        match output {
            Output::Transition(t) => self.observe_transition(t),
            Output::Signal(s) => self.board().activity.observe(s),
            Output::Command(_) => {}
        }
    }

    /// The socket machine's links after the last drain, for the inspector.
    pub fn set_links(&self, links: LinkCounts) {
        self.board().activity.links = links;
    }

    /// Observe a change of leaf state.
    pub fn observe_transition(&self, t: &Transition) {
        let mut board = self.board();
        if t.machine == SOCKET_MACHINE && t.to == "reconnecting" {
            board.reconnects += 1;
        }
        board.machines.insert(
            (t.machine.to_string(), t.instance.clone()),
            Current {
                state: t.to.to_string(),
                since: t.at_unix,
            },
        );
    }

    /// Register an instance in `state` since `since` (a state restored at start-up, e.g. the
    /// onboarding ledger row of the configured installer).
    pub fn set_machine(&self, machine: &str, instance: &str, state: &str, since: UnixMs) {
        self.board().machines.insert(
            (machine.to_string(), instance.to_string()),
            Current {
                state: state.to_string(),
                since,
            },
        );
    }

    /// Forget an instance (the onboarding placeholder `-/<installer>` once `auth.test` named
    /// the team).
    pub(crate) fn forget_machine(&self, machine: &str, instance: &str) {
        self.board()
            .machines
            .remove(&(machine.to_string(), instance.to_string()));
    }

    /// A store operation failed at `at` (monotonic). Only the first failure of a run of
    /// failures counts towards [`STORE_ERROR_GRACE`].
    pub fn store_failed(&self, op: &'static str, at: Millis) {
        self.board().store_errors.entry(op).or_insert(at);
    }

    /// A store operation succeeded: its earlier failures are resolved.
    pub fn store_succeeded(&self, op: &'static str) {
        self.board().store_errors.remove(op);
    }

    /// Append a journal row as the store wrote it (`{"seq","at_unix_ms","machine","instance",
    /// "from","to","event"}`); only the last [`JOURNAL_TAIL`] are kept.
    pub fn record_journal_row(&self, row: serde_json::Value) {
        let text: Arc<str> = row.to_string().into();
        let mut board = self.board();
        if board.journal.len() == JOURNAL_TAIL {
            board.journal.pop_front();
        }
        board.journal.push_back(row);
        // Sent under the lock, so a subscriber that reads the tail under it sees each row once
        // (in the tail or on the channel). No subscriber is not an error.
        let _ = self.rows.send(text);
    }

    /// The journal tail (oldest first, serialized) and a receiver of every row recorded after
    /// it, for one `/debug/events` stream.
    pub fn subscribe(&self) -> (Vec<Arc<str>>, tokio::sync::broadcast::Receiver<Arc<str>>) {
        let board = self.board();
        let tail = board
            .journal
            .iter()
            .map(|row| row.to_string().into())
            .collect();
        (tail, self.rows.subscribe())
    }

    /// The `status` event of `/debug/events` at `now`.
    pub fn status_event(&self, now: Now) -> StatusEvent {
        let health = self.health(now);
        let board = self.board();
        StatusEvent {
            health,
            machines: board
                .machines
                .iter()
                .map(|((machine, instance), current)| StatusMachine {
                    machine: machine.clone(),
                    instance: instance.clone(),
                    state: current.state.clone(),
                    since_unix_ms: current.since.0,
                    in_state_ms: now.unix.0.saturating_sub(current.since.0),
                })
                .collect(),
            links: board.activity.links,
            envelopes: board.activity.envelopes,
            reconnects: board.reconnects,
            handovers: board.activity.handovers,
        }
    }

    /// The `/health` report at `now`.
    pub fn health(&self, now: Now) -> Health {
        let board = self.board();
        let socket = board.socket();
        let onboarding = board.onboarding();
        let connected = socket.state == "connected";
        let store_ok = board
            .store_errors
            .values()
            .all(|first| Duration::from_millis(now.mono.since(*first)) <= STORE_ERROR_GRACE);
        let ok = connected && store_ok && onboarding != OnboardingHealth::Failed;
        Health {
            status: if ok {
                HealthStatus::Ok
            } else {
                HealthStatus::Degraded
            },
            uptime: now.mono.since(board.started) / 1000,
            version: board.version.clone(),
            channels: Channels { slack: connected },
            slack: SlackHealth {
                state: socket.state.clone(),
                since_unix_ms: socket.since.0,
                reconnects: board.reconnects,
            },
            onboarding,
        }
    }

    /// The `/debug/state` report. Derives the machines' diagrams on first use (they are then
    /// cached for the process), so call it off the async executor.
    pub fn debug_state(&self) -> DebugState {
        let board = self.board();
        let machines = board
            .machines
            .iter()
            .map(|((machine, instance), current)| MachineView {
                superstates: crate::registry::diagram(machine)
                    .map(|d| superstates_of(d, &current.state))
                    .unwrap_or_default(),
                machine: machine.clone(),
                instance: instance.clone(),
                state: current.state.clone(),
                since_unix_ms: current.since.0,
            })
            .collect();
        let mermaid = crate::registry::MACHINE_IDS
            .iter()
            .filter_map(|id| crate::registry::diagram(id))
            .map(|d| {
                let current = board.first_of(d.machine).map(|c| c.state.as_str());
                (d.machine, crate::engine::render::mermaid(d, current))
            })
            .collect();
        DebugState {
            machines,
            transitions: board.journal.iter().cloned().collect(),
            mermaid,
        }
    }
}

impl Board {
    fn first_of(&self, machine: &str) -> Option<&Current> {
        self.machines
            .iter()
            .find(|((m, _), _)| m == machine)
            .map(|(_, current)| current)
    }

    fn socket(&self) -> &Current {
        self.machines
            .get(&(SOCKET_MACHINE.to_string(), SOCKET_INSTANCE.to_string()))
            .or_else(|| self.first_of(SOCKET_MACHINE))
            .expect("the socket machine is registered at construction")
    }

    /// `disabled` without a ledger instance; else the worst of the instances: any `failed` →
    /// `failed`, all `complete` → `complete`, anything else → `pending`.
    fn onboarding(&self) -> OnboardingHealth {
        let mut states = self
            .machines
            .iter()
            .filter(|((m, _), _)| m == ONBOARDING_MACHINE)
            .map(|(_, c)| c.state.as_str())
            .peekable();
        if states.peek().is_none() {
            return OnboardingHealth::Disabled;
        }
        states.fold(OnboardingHealth::Complete, |worst, state| {
            match (worst, state) {
                (OnboardingHealth::Failed, _) | (_, "failed") => OnboardingHealth::Failed,
                (OnboardingHealth::Complete, "complete") => OnboardingHealth::Complete,
                _ => OnboardingHealth::Pending,
            }
        })
    }
}

/// `GET /health`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Health {
    /// `ok` only when the socket is `connected`, no store error is unresolved for more than
    /// [`STORE_ERROR_GRACE`], and onboarding is not `failed`.
    pub status: HealthStatus,
    /// Whole seconds since the runtime started.
    pub uptime: u64,
    /// The runtime's version.
    pub version: String,
    /// Which channels can receive events.
    pub channels: Channels,
    /// The Socket Mode connection.
    pub slack: SlackHealth,
    /// The intro DM of the configured installer.
    pub onboarding: OnboardingHealth,
}

/// `/health` `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Connected, store healthy, onboarding not failed.
    Ok,
    /// Anything else.
    Degraded,
}

/// `/health` `channels`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Channels {
    /// True when the Socket Mode machine is `connected`.
    pub slack: bool,
}

/// `/health` `slack`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlackHealth {
    /// The Socket Mode machine's leaf state.
    pub state: String,
    /// When it entered that state (Unix ms).
    pub since_unix_ms: u64,
    /// Entries into `reconnecting` since start.
    pub reconnects: u64,
}

/// `/health` `onboarding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnboardingHealth {
    /// Not yet sent (any state but `complete` and `failed`).
    Pending,
    /// The intro DM was posted.
    Complete,
    /// Permanently failed; an operator must reset it.
    Failed,
    /// No installer configured.
    Disabled,
}

/// `GET /debug/state`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DebugState {
    /// Every machine instance's current state.
    pub machines: Vec<MachineView>,
    /// The last [`JOURNAL_TAIL`] journal rows, oldest first.
    pub transitions: Vec<serde_json::Value>,
    /// Each machine's Mermaid diagram with its current state highlighted, by machine id.
    pub mermaid: BTreeMap<&'static str, String>,
}

/// One machine instance in `/debug/state`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MachineView {
    /// Machine id.
    pub machine: String,
    /// Instance id.
    pub instance: String,
    /// Current leaf state.
    pub state: String,
    /// The superstates around it, innermost first.
    pub superstates: Vec<&'static str>,
    /// When it entered the state (Unix ms).
    pub since_unix_ms: u64,
}

/// The chain of superstates around `leaf`, innermost first.
fn superstates_of(diagram: &Diagram, leaf: &str) -> Vec<&'static str> {
    let mut chain = Vec::new();
    let mut parent = diagram.parent_of(leaf);
    while let Some(name) = parent {
        chain.push(name);
        parent = diagram
            .superstates
            .iter()
            .find(|n| n.name == name)
            .and_then(|n| n.parent);
    }
    chain
}

/// The shell's clock: monotonic milliseconds from when it was started, and the wall clock.
#[derive(Clone, Copy, Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose monotonic origin is now.
    pub fn start() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }

    /// Both clocks, read now.
    pub fn now(&self) -> Now {
        let mono = crate::engine::time::duration_ms(self.origin.elapsed());
        let unix = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(crate::engine::time::duration_ms)
            .unwrap_or(0);
        Now::new(Millis(mono), UnixMs(unix))
    }
}
