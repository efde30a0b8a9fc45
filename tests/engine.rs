//! The engine is generic: a tiny third machine, defined here alone, gets a derived diagram,
//! snapshot/restore and a transition stream from the `Machine` trait.

use phantom_fsm::engine::{
    Drive, Explore, Format, InputName, Machine, Millis, Now, Output, RestoreError, Signal,
    Snapshot, StateNode, TimerKind, derive, start,
};
use statig::prelude::*;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
enum Coin {
    Insert,
    Push,
    Service,
    Resumed,
    Timeout,
}

impl InputName for Coin {
    fn name(&self) -> &'static str {
        match self {
            Coin::Insert => "coin",
            Coin::Push => "push",
            Coin::Service => "service",
            Coin::Resumed => "resumed",
            Coin::Timeout => "timeout",
        }
    }
}

/// The turnstile's one deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unlock {
    /// When to lock an unlocked turnstile nobody pushed.
    Expired,
}

impl TimerKind for Unlock {
    const ALL: &'static [Unlock] = &[Unlock::Expired];
    fn index(self) -> usize {
        0
    }
    fn name(self) -> &'static str {
        "unlock_expired"
    }
}

/// What statig dispatches: a coin-slot input, or the expired deadline.
#[derive(Clone, Debug, PartialEq)]
enum Event {
    Input(Coin),
    Expired,
}

type Outbox = phantom_fsm::engine::Outbox<&'static str, Unlock>;

#[derive(Clone, Debug, Default)]
struct Storage;

#[state_machine(
    initial = "State::locked()",
    state(derive(Debug, Clone)),
    after_transition = "Self::after_transition"
)]
impl Storage {
    #[state(superstate = "in_service")]
    fn locked(&mut self, event: &Event, context: &mut Outbox) -> Outcome<State> {
        match event {
            Event::Input(Coin::Insert) => {
                context.arm(Unlock::Expired, Duration::from_secs(5));
                context.command("unlock");
                Transition(State::unlocked())
            }
            _ => Super,
        }
    }

    #[state(superstate = "in_service")]
    fn unlocked(&mut self, event: &Event, context: &mut Outbox) -> Outcome<State> {
        match event {
            Event::Input(Coin::Push) | Event::Expired => {
                context.timers.clear(Unlock::Expired);
                context.command("lock");
                Transition(State::locked())
            }
            Event::Input(Coin::Resumed) => {
                // After a restart the latch state is unknown: lock it (the resumed side effect).
                context.command("lock");
                Transition(State::locked())
            }
            _ => Super,
        }
    }

    #[superstate]
    fn in_service(&mut self, event: &Event, context: &mut Outbox) -> Outcome<State> {
        match event {
            Event::Input(Coin::Service) => Transition(State::maintenance()),
            _ => {
                context.ignored();
                Handled
            }
        }
    }

    #[state]
    fn maintenance(&mut self, event: &Event, context: &mut Outbox) -> Outcome<State> {
        match event {
            Event::Input(Coin::Service) => Transition(State::locked()),
            _ => {
                context.ignored();
                Handled
            }
        }
    }
}

impl Storage {
    fn after_transition(&mut self, from: &State, to: &State, context: &mut Outbox) {
        context.transition("t1", name(from), name(to));
    }
}

fn name(s: &State) -> &'static str {
    match s {
        State::Locked {} => "locked",
        State::Unlocked {} => "unlocked",
        State::Maintenance {} => "maintenance",
    }
}

/// The whole wrapper: the statig machine, the engine's outbox, and the few methods of `Drive`.
#[derive(Clone, Debug)]
struct Turnstile {
    sm: statig::blocking::InitializedStateMachine<Storage>,
    out: Outbox,
}

impl Turnstile {
    fn new() -> Turnstile {
        Turnstile::started(None)
    }

    fn started(state: Option<State>) -> Turnstile {
        Turnstile {
            sm: start("turnstile", Storage, state),
            out: Outbox::new("turnstile"),
        }
    }
}

impl Drive for Turnstile {
    type Input = Coin;
    type Event = Event;
    type Command = &'static str;
    type Timer = Unlock;

    fn outbox(&self) -> &Outbox {
        &self.out
    }
    fn outbox_mut(&mut self) -> &mut Outbox {
        &mut self.out
    }
    fn leaf_name(&self) -> &'static str {
        name(self.sm.state())
    }
    fn event_of(input: Coin) -> Option<Event> {
        (input != Coin::Timeout).then_some(Event::Input(input))
    }
    fn timer_event(_: Unlock) -> Event {
        Event::Expired
    }
    fn deliver(&mut self, event: &Event) {
        self.sm.handle_with_context(event, &mut self.out);
    }
}

impl Machine for Turnstile {
    type Input = Coin;
    type Command = &'static str;
    type Config = ();
    const ID: &'static str = "turnstile";
    const LEAVES: &'static [StateNode] = &[
        StateNode::new("locked", Some("in_service")),
        StateNode::new("unlocked", Some("in_service")),
        StateNode::new("maintenance", None),
    ];
    const SUPERSTATES: &'static [StateNode] = &[StateNode::new("in_service", None)];
    const INITIAL: &'static str = "locked";

    fn instance(&self) -> &str {
        "t1"
    }
    fn config(&self) -> &() {
        &()
    }
    fn state_name(&self) -> &'static str {
        self.leaf_name()
    }
    fn handle(&mut self, now: Now, input: Coin) {
        self.step(now, input);
    }
    fn poll_output(&mut self) -> Option<Output<&'static str>> {
        self.next_output()
    }
    fn poll_timeout(&self) -> Option<Millis> {
        self.next_deadline()
    }
    fn resumed() -> Coin {
        Coin::Resumed
    }
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            state: self.state_name().into(),
            data: serde_json::json!({}),
        }
    }
    fn restore(_: (), _: &str, snapshot: &Snapshot) -> Result<Turnstile, RestoreError> {
        let state = match snapshot.state.as_str() {
            "locked" => State::locked(),
            "unlocked" => State::unlocked(),
            "maintenance" => State::maintenance(),
            other => {
                return Err(RestoreError::UnknownState {
                    machine: "turnstile",
                    state: other.into(),
                });
            }
        };
        Ok(Turnstile::started(Some(state)))
    }
}

impl Explore for Turnstile {
    fn explore_roots() -> Vec<(Now, Turnstile)> {
        vec![(Now::fake(0), Turnstile::new())]
    }
    fn input_templates(&self, now: Now) -> Vec<(Now, Coin)> {
        let mut v: Vec<_> = [Coin::Insert, Coin::Push, Coin::Service]
            .into_iter()
            .map(|c| (now, c))
            .collect();
        if let Some(d) = self.poll_timeout() {
            v.push((now.advanced_to(d), Coin::Timeout));
        }
        v
    }
}

#[test]
fn a_third_machine_gets_a_derived_diagram() {
    let d = derive::<Turnstile>();
    let edges: Vec<_> = d.edges.iter().map(|e| (e.from, e.event, e.to)).collect();
    assert_eq!(
        edges,
        vec![
            ("locked", "coin", "unlocked"),
            ("locked", "service", "maintenance"),
            ("maintenance", "service", "locked"),
            ("unlocked", "push", "locked"),
            ("unlocked", "resumed", "locked"),
            ("unlocked", "service", "maintenance"),
            ("unlocked", "unlock_expired", "locked"),
        ]
    );
    assert!(d.unreached().is_empty());
    let mermaid = Format::Mermaid.render(&d);
    assert!(mermaid.contains("stateDiagram-v2"));
    assert!(mermaid.contains("    [*] --> locked\n"));
    assert!(mermaid.contains("    unlocked --> locked : push, resumed, unlock_expired\n"));
    assert!(mermaid.contains("    class locked,unlocked in_service\n"));
    assert!(mermaid.contains("in_service = locked + unlocked"));
    let dot = Format::Dot.render(&d);
    assert!(dot.contains("subgraph cluster_in_service {"));
    assert!(dot.contains("    unlocked -> locked [label=\"push\\nresumed\\nunlock_expired\"];"));
    // Byte-stable.
    assert_eq!(mermaid, Format::Mermaid.render(&derive::<Turnstile>()));
    let highlighted = phantom_fsm::engine::mermaid(&d, Some("unlocked"));
    assert!(highlighted.contains("class unlocked current"));
}

#[test]
fn snapshot_restore_and_resumed_through_the_trait() {
    let mut t = Turnstile::new();
    t.handle(Now::fake(10), Coin::Insert);
    let outs = t.drain();
    assert_eq!(outs[0], Output::Command("unlock"));
    let Output::Transition(tr) = &outs[1] else {
        panic!("{outs:?}")
    };
    assert_eq!(
        (tr.from, tr.to, tr.event, tr.at),
        ("locked", "unlocked", "coin", Millis(10))
    );
    let snap = t.snapshot();
    let json = serde_json::to_value(&snap).unwrap();
    assert_eq!(json, serde_json::json!({"state": "unlocked", "data": {}}));
    let restored = Turnstile::restore((), "t1", &snap).unwrap();
    assert_eq!(restored.state_name(), "unlocked");
    let mut resumed = Turnstile::resume((), "t1", &snap, Now::fake(20)).unwrap();
    let outs = resumed.drain();
    assert_eq!(outs[0], Output::Command("lock"));
    assert!(matches!(&outs[1], Output::Transition(t) if t.event == "resumed"));
    assert!(
        Turnstile::restore(
            (),
            "t1",
            &Snapshot {
                state: "x".into(),
                data: serde_json::Value::Null
            }
        )
        .is_err()
    );
    assert_eq!(Turnstile::superstates_of("locked"), vec!["in_service"]);
    assert!(Turnstile::superstates_of("maintenance").is_empty());
}

#[test]
fn a_spurious_timeout_is_a_no_op() {
    let mut t = Turnstile::new();
    t.handle(Now::fake(0), Coin::Insert);
    let _ = t.drain();
    t.handle(Now::fake(4_999), Coin::Timeout);
    assert!(t.drain().is_empty());
    t.handle(Now::fake(5_000), Coin::Timeout);
    assert_eq!(t.state_name(), "locked");
}

#[test]
fn the_input_comes_first_then_due_deadlines() {
    let mut t = Turnstile::new();
    t.handle(Now::fake(0), Coin::Insert);
    let _ = t.drain();
    // A push read at the very moment the unlock expires is handled before the deadline: the
    // transition is caused by the push, and the disarmed deadline never fires.
    t.handle(Now::fake(5_000), Coin::Push);
    let outs = t.drain();
    assert!(
        matches!(&outs[..], [Output::Command("lock"), Output::Transition(tr)] if tr.event == "push"),
        "{outs:?}"
    );
    assert_eq!(t.poll_timeout(), None);
    // Past the deadline, an input is still handled first, and the deadline fires after it.
    t.handle(Now::fake(6_000), Coin::Insert);
    let _ = t.drain();
    t.handle(Now::fake(20_000), Coin::Service);
    let events: Vec<_> = t
        .drain()
        .into_iter()
        .filter_map(|o| match o {
            Output::Transition(tr) => Some((tr.from, tr.to, tr.event)),
            _ => None,
        })
        .collect();
    assert_eq!(events, vec![("unlocked", "maintenance", "service")]);
}

#[test]
fn the_engine_counts_ignored_inputs_in_the_dispatch_state() {
    let mut t = Turnstile::new();
    t.handle(Now::fake(0), Coin::Push);
    assert_eq!(
        t.drain(),
        vec![Output::Signal(Signal::Ignored {
            machine: "turnstile",
            state: "locked",
            input: "push",
        })]
    );
}

/// The runtime, the store and telemetry see both machines only through `Machine`: its methods
/// must answer what the machines' own methods answer.
#[test]
fn both_machines_answer_through_the_trait_as_they_do_directly() {
    use phantom_fsm::onboarding::{
        Command, Input as OnboardingInput, Onboarding, OnboardingConfig, OpenDmOutcome,
    };
    use phantom_fsm::socket::{DEFAULT_INSTANCE, Input, SocketConfig, SocketMode};

    fn through<M: Machine>(m: &M) -> (String, &'static str, Option<Millis>) {
        (m.instance().to_string(), m.state_name(), m.poll_timeout())
    }

    let config = SocketConfig {
        ping_interval: Duration::from_secs(7),
        ..SocketConfig::default()
    };
    let mut socket = SocketMode::new(config);
    socket.handle(Now::fake(1_000), Input::Start);
    let (instance, state, deadline) = through(&socket);
    assert_eq!(instance, DEFAULT_INSTANCE);
    assert_eq!(state, "connecting");
    assert_eq!(deadline, socket.poll_timeout());
    assert!(deadline.is_some_and(|d| d.0 > 1_000), "{deadline:?}");
    assert_eq!(
        Machine::config(&socket).ping_interval,
        Duration::from_secs(7)
    );

    let config = OnboardingConfig {
        max_attempts: 3,
        ..OnboardingConfig::default()
    };
    let mut ledger = Onboarding::new("T0TEAM", "U0INSTALLER", config);
    // Into `backoff`, which waits on a deadline: the DM cannot be opened for now.
    ledger.handle(Now::fake(1_000), OnboardingInput::ChannelReady);
    let call = std::iter::from_fn(|| ledger.poll_output())
        .find_map(|o| match o {
            Output::Command(Command::OpenDm { call, .. }) => Some(call),
            _ => None,
        })
        .expect("the DM is opened");
    ledger.handle(
        Now::fake(1_000),
        OnboardingInput::DmOpened {
            call,
            outcome: OpenDmOutcome::Transient {
                reason: "service_unavailable".into(),
                retry_after_ms: None,
            },
        },
    );
    let (instance, state, deadline) = through(&ledger);
    assert_eq!(instance, "T0TEAM/U0INSTALLER");
    assert_eq!(state, "backoff");
    assert_eq!(deadline, ledger.poll_timeout());
    assert!(deadline.is_some_and(|d| d.0 > 1_000), "{deadline:?}");
    assert_eq!(Machine::config(&ledger).max_attempts, 3);
}
