//! [`SocketMode`]: the public, sans-IO Socket Mode machine.

use super::config::SocketConfig;
use super::core::{Core, Outbox};
use super::dedupe::DedupeWindow;
use super::event::Event;
use super::io::{Command, Input, LinkId, RequestId};
use super::links::Links;
use super::machine::{State, state_name, state_named};
use super::timers::Timer;
use super::wire;
use crate::engine::{
    InputName, Machine, Millis, Now, Output, RestoreError, Snapshot, StateNode, TimerKind,
    TimerTable, UnixMs,
};
use statig::blocking::{InitializedStateMachine, IntoStateMachineExt as _};

/// Instance id of the (single) Socket Mode machine of a runtime.
pub const DEFAULT_INSTANCE: &str = "default";

/// The Socket Mode lifecycle machine.
///
/// Feed inputs with [`handle`](Machine::handle) (or [`handle_text`](Self::handle_text) for raw
/// frames), then drain [`poll_output`](Machine::poll_output) until `None`, then sleep until
/// [`poll_timeout`](Machine::poll_timeout) and deliver [`Input::Timeout`].
///
/// ```
/// use phantom_fsm::engine::{Machine, Now, Output};
/// use phantom_fsm::socket::{Command, Input, SocketConfig, SocketMode};
///
/// let mut m = SocketMode::new(SocketConfig::default());
/// m.handle(Now::fake(0), Input::Start);
/// let outputs = m.drain();
/// assert!(matches!(outputs[0], Output::Command(Command::OpenConnection { .. })));
/// assert_eq!(m.state_name(), "connecting");
/// ```
#[derive(Clone, Debug)]
pub struct SocketMode {
    sm: InitializedStateMachine<Core>,
    out: Outbox,
}

impl SocketMode {
    /// A machine in `disconnected` with an empty dedupe window.
    pub fn new(config: SocketConfig) -> SocketMode {
        SocketMode::with_seen(config, Vec::new())
    }

    /// A machine in `disconnected` whose dedupe window holds `seen` (the unexpired keys the
    /// shell loaded from `seen_events`).
    pub fn with_seen(config: SocketConfig, seen: Vec<(String, UnixMs)>) -> SocketMode {
        SocketMode::build(DEFAULT_INSTANCE, config, seen)
    }

    fn build(instance: &str, config: SocketConfig, seen: Vec<(String, UnixMs)>) -> SocketMode {
        let mut core = Core::new(instance, config);
        core.dedupe.preload(seen);
        let mut out = Outbox::default();
        let sm = core
            .uninitialized_state_machine()
            .init_with_context(&mut out);
        out.clear(); // no entry actions emit anything; keep the queue empty regardless
        SocketMode { sm, out }
    }

    /// [`Machine::restore`] for a process that starts again: the stored state, plus the
    /// unexpired dedupe keys the shell loaded from `seen_events` (a restart must not forget
    /// which envelopes were already dispatched). Deliver [`Input::Resumed`] next.
    pub fn restore_with_seen(
        config: SocketConfig,
        instance: &str,
        snapshot: &Snapshot,
        seen: Vec<(String, UnixMs)>,
    ) -> Result<SocketMode, RestoreError> {
        let code = snapshot
            .data
            .get("code")
            .and_then(|c| c.as_str())
            .map(str::to_string);
        let state =
            state_named(&snapshot.state, code).ok_or_else(|| RestoreError::UnknownState {
                machine: super::MACHINE_ID,
                state: snapshot.state.clone(),
            })?;
        let mut machine = SocketMode::build(instance, config, seen);
        // SAFETY: statig marks `state_mut` unsafe because the new state skips its entry actions
        // (and the old one its exit actions). That is what a restore wants (`docs/architecture.md`); this machine has no entry or exit actions, and the shared storage is fresh (only
        // the dedupe window is loaded).
        unsafe {
            *machine.sm.state_mut() = state;
        }
        Ok(machine)
    }

    /// Decode a text frame from `link` and handle it (or its rejection).
    pub fn handle_text(&mut self, now: Now, link: LinkId, text: &str) {
        let input = match wire::decode_text(text, self.core().config.max_frame_bytes) {
            Ok(frame) => Input::Frame { link, frame },
            Err(reason) => Input::FrameRejected { link, reason },
        };
        self.handle(now, input);
    }

    /// Whether an envelope's dispatch key is in the dedupe window.
    pub fn dedupe(&self) -> &DedupeWindow {
        &self.core().dedupe
    }

    /// The links the machine knows, by role.
    pub fn links(&self) -> &Links {
        &self.core().links
    }

    /// The armed deadlines.
    pub fn timers(&self) -> &TimerTable<Timer> {
        &self.core().timers
    }

    /// The `apps.connections.open` call awaiting its answer.
    pub fn in_flight(&self) -> Option<RequestId> {
        self.core().in_flight
    }

    /// The Slack error code that put the machine in `error`.
    pub fn error_code(&self) -> Option<&str> {
        match self.sm.state() {
            State::Error { code } => Some(code),
            _ => None,
        }
    }

    /// Whether envelopes flow (`connected`).
    pub fn is_connected(&self) -> bool {
        matches!(self.sm.state(), State::Connected {})
    }

    fn core(&self) -> &Core {
        self.sm.inner()
    }

    fn dispatch(&mut self, now: Now, event: Event, name: &'static str) {
        self.out.now = now;
        self.out.event = name;
        self.out.state = state_name(self.sm.state());
        self.sm.handle_with_context(&event, &mut self.out);
    }

    /// Fire every deadline at or before `now`, earliest first. Each fired timer is disarmed
    /// before its handler runs, so this ends; the bound is a second guard.
    fn fire_expired(&mut self, now: Now) {
        for _ in 0..(Timer::ALL.len() * 4) {
            let Some(timer) = self.core().timers.expired(now.mono) else {
                return;
            };
            self.dispatch(now, Event::Timer(timer), timer.name());
        }
    }
}

impl Machine for SocketMode {
    type Input = Input;
    type Command = Command;
    type Config = SocketConfig;

    const ID: &'static str = super::MACHINE_ID;
    const LEAVES: &'static [StateNode] = &[
        StateNode::new("disconnected", Some("idle")),
        StateNode::new("error", Some("idle")),
        StateNode::new("connecting", Some("linking")),
        StateNode::new("authenticated", Some("linking")),
        StateNode::new("reconnecting", Some("linking")),
        StateNode::new("connected", Some("running")),
        StateNode::new("disconnecting", None),
    ];
    const SUPERSTATES: &'static [StateNode] = &[
        StateNode::new("idle", None),
        StateNode::new("running", None),
        StateNode::new("linking", Some("running")),
    ];
    const INITIAL: &'static str = "disconnected";

    fn instance(&self) -> &str {
        &self.core().instance
    }

    fn config(&self) -> &SocketConfig {
        &self.core().config
    }

    fn state_name(&self) -> &'static str {
        state_name(self.sm.state())
    }

    /// Expired deadlines fire first (time has passed them), then the input.
    fn handle(&mut self, now: Now, input: Input) {
        self.fire_expired(now);
        let name = input.name();
        if let Some(event) = Event::from_input(input) {
            self.dispatch(now, event, name);
        }
    }

    fn poll_output(&mut self) -> Option<Output<Command>> {
        self.out.pop()
    }

    fn poll_timeout(&self) -> Option<Millis> {
        self.core().next_deadline()
    }

    fn resumed() -> Input {
        Input::Resumed
    }

    fn snapshot(&self) -> Snapshot {
        let data = match self.error_code() {
            Some(code) => serde_json::json!({ "code": code }),
            None => serde_json::json!({}),
        };
        Snapshot {
            state: self.state_name().to_string(),
            data,
        }
    }

    fn restore(
        config: SocketConfig,
        instance: &str,
        snapshot: &Snapshot,
    ) -> Result<SocketMode, RestoreError> {
        SocketMode::restore_with_seen(config, instance, snapshot, Vec::new())
    }

    fn explore_roots() -> Vec<(Now, SocketMode)> {
        vec![(Now::fake(0), SocketMode::new(SocketConfig::default()))]
    }

    fn input_templates(&self, now: Now) -> Vec<(Now, Input)> {
        super::explore::templates(self, now)
    }

    fn exploration_key(&self) -> String {
        super::explore::key(self)
    }
}
