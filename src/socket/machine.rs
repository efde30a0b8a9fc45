//! [`SocketMode`]: the public, sans-IO Socket Mode machine (a statig machine driven by the
//! engine).

use super::config::SocketConfig;
use super::dedupe::DedupeWindow;
use super::event::Event;
use super::io::{Command, Input, LinkId, RequestId};
use super::links::Links;
use super::states::{State, names};
use super::storage::{Outbox, Storage};
use super::timer::Timer;
use super::wire;
use crate::engine::{
    Drive, Explore, Machine, Millis, Now, Output, RestoreError, Snapshot, StateNode, TimerTable,
    UnixMs, start,
};
use statig::blocking::InitializedStateMachine;

/// Instance id of the (single) Socket Mode machine of a runtime.
pub const DEFAULT_INSTANCE: &str = "default";

/// The Socket Mode lifecycle machine.
///
/// Feed inputs with [`handle`](Self::handle) (or [`handle_text`](Self::handle_text) for raw
/// frames), then drain [`poll_output`](Self::poll_output) until `None`, then sleep until
/// [`poll_timeout`](Self::poll_timeout) and deliver [`Input::Timeout`]. An input is handled
/// first, then every deadline due by its time (a frame read before its deadline counts).
///
/// ```
/// use phantom_fsm::engine::{Now, Output};
/// use phantom_fsm::socket::{Command, Input, SocketConfig, SocketMode};
///
/// let mut m = SocketMode::new(SocketConfig::default());
/// m.handle(Now::fake(0), Input::Start);
/// assert!(matches!(
///     m.poll_output(),
///     Some(Output::Command(Command::OpenConnection { .. }))
/// ));
/// assert_eq!(m.state_name(), "connecting");
/// ```
#[derive(Clone, Debug)]
pub struct SocketMode {
    d: Driven,
}

/// The statig machine and its outbox, driven by the engine (private: its events are internal).
#[derive(Clone, Debug)]
struct Driven {
    sm: InitializedStateMachine<Storage>,
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
        SocketMode::build(DEFAULT_INSTANCE, config, seen, None)
    }

    fn build(
        instance: &str,
        config: SocketConfig,
        seen: Vec<(String, UnixMs)>,
        state: Option<State>,
    ) -> SocketMode {
        let mut storage = Storage::new(instance, config);
        storage.dedupe.preload(seen);
        SocketMode {
            d: Driven {
                sm: start(super::MACHINE_ID, storage, state),
                out: Outbox::new(super::MACHINE_ID),
            },
        }
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
            State::named(&snapshot.state, code).ok_or_else(|| RestoreError::UnknownState {
                machine: super::MACHINE_ID,
                state: snapshot.state.clone(),
            })?;
        Ok(SocketMode::build(instance, config, seen, Some(state)))
    }

    /// Handle `input`, received at `now`: the input first, then every deadline due by `now`.
    pub fn handle(&mut self, now: Now, input: Input) {
        if let Input::Frame { frame, .. } = &input
            && let Some(facts) = server_facts(frame)
        {
            self.d.out.signal(facts);
        }
        self.d.step(now, input);
    }

    /// Decode a text frame from `link`, read at `now`, and handle it (or its rejection).
    pub fn handle_text(&mut self, now: Now, link: LinkId, text: &str) {
        let input = match wire::decode_text(text, self.storage().config.max_frame_bytes) {
            Ok(frame) => Input::Frame { link, frame },
            Err(reason) => Input::FrameRejected { link, reason },
        };
        self.handle(now, input);
    }

    /// Take the next output, oldest first. Drain until `None` after every input.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output<Command>> {
        self.d.next_output()
    }

    /// The earliest armed deadline: deliver [`Input::Timeout`] then.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.d.next_deadline()
    }

    /// The current leaf state's name (one of [`STATE_NAMES`](super::STATE_NAMES)).
    pub fn state_name(&self) -> &'static str {
        self.d.sm.state().name()
    }

    /// The Slack error code that put the machine in `error`.
    pub fn error_code(&self) -> Option<&str> {
        match self.d.sm.state() {
            State::Error { code } => Some(code),
            _ => None,
        }
    }

    /// Whether envelopes flow (`connected`).
    pub fn is_connected(&self) -> bool {
        matches!(self.d.sm.state(), State::Connected {})
    }

    /// The dedupe window: which dispatch keys count as seen (for checks).
    #[doc(hidden)]
    pub fn dedupe(&self) -> &DedupeWindow {
        &self.storage().dedupe
    }

    /// The links the machine knows, by role (for checks and exploration).
    #[doc(hidden)]
    pub fn links(&self) -> &Links {
        &self.storage().links
    }

    /// The armed deadlines (for checks and exploration).
    #[doc(hidden)]
    pub fn timers(&self) -> &TimerTable<Timer> {
        &self.d.out.timers
    }

    /// The `apps.connections.open` call awaiting its answer (for checks and exploration).
    #[doc(hidden)]
    pub fn in_flight(&self) -> Option<RequestId> {
        self.storage().in_flight
    }

    /// Deferred acks and unfinished dispatches (for checks).
    #[doc(hidden)]
    pub fn acks(&self) -> &super::acks::AckBook {
        &self.storage().acks
    }

    /// Whether a `start` arrived while stopping and is kept for when the links are gone (for
    /// checks and exploration).
    #[doc(hidden)]
    pub fn restart_wanted(&self) -> bool {
        self.storage().restart_wanted
    }

    fn storage(&self) -> &Storage {
        self.d.sm.inner()
    }
}

/// What a `hello` or `disconnect` frame says about the app's links at Slack: signals whatever
/// the state (they are Slack's view, not the machine's).
fn server_facts(frame: &wire::ServerFrame) -> Option<crate::engine::Signal> {
    use crate::engine::Signal;
    match frame {
        wire::ServerFrame::Hello(h) => Some(Signal::ServerHello {
            num_connections: h.num_connections,
            approximate_connection_time_s: h.approximate_connection_time,
            host: h.host.clone(),
        }),
        wire::ServerFrame::Disconnect(d) => Some(Signal::ServerDisconnect {
            host: d.host.clone(),
        }),
        wire::ServerFrame::Envelope(_) => None,
    }
}

impl Drive for Driven {
    type Input = Input;
    type Event = Event;
    type Command = Command;
    type Timer = Timer;

    fn outbox(&self) -> &Outbox {
        &self.out
    }

    fn outbox_mut(&mut self) -> &mut Outbox {
        &mut self.out
    }

    fn leaf_name(&self) -> &'static str {
        self.sm.state().name()
    }

    fn event_of(input: Input) -> Option<Event> {
        Event::from_input(input)
    }

    fn timer_event(timer: Timer) -> Event {
        Event::Timer(timer)
    }

    fn deliver(&mut self, event: &Event) {
        self.sm.handle_with_context(event, &mut self.out);
    }
}

impl Machine for SocketMode {
    type Input = Input;
    type Command = Command;
    type Config = SocketConfig;

    const ID: &'static str = super::MACHINE_ID;
    const LEAVES: &'static [StateNode] = &[
        StateNode::new(names::DISCONNECTED, Some(names::IDLE)),
        StateNode::new(names::ERROR, Some(names::IDLE)),
        StateNode::new(names::CONNECTING, Some(names::LINKING)),
        StateNode::new(names::AUTHENTICATED, Some(names::LINKING)),
        StateNode::new(names::RECONNECTING, Some(names::LINKING)),
        StateNode::new(names::CONNECTED, Some(names::RUNNING)),
        StateNode::new(names::DISCONNECTING, None),
    ];
    const SUPERSTATES: &'static [StateNode] = &[
        StateNode::new(names::IDLE, None),
        StateNode::new(names::RUNNING, None),
        StateNode::new(names::LINKING, Some(names::RUNNING)),
    ];
    const INITIAL: &'static str = names::DISCONNECTED;

    fn instance(&self) -> &str {
        &self.storage().instance
    }

    fn config(&self) -> &SocketConfig {
        &self.storage().config
    }

    fn state_name(&self) -> &'static str {
        SocketMode::state_name(self)
    }

    fn handle(&mut self, now: Now, input: Input) {
        SocketMode::handle(self, now, input);
    }

    fn poll_output(&mut self) -> Option<Output<Command>> {
        SocketMode::poll_output(self)
    }

    fn poll_timeout(&self) -> Option<Millis> {
        SocketMode::poll_timeout(self)
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
}

impl Explore for SocketMode {
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
