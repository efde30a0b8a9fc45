//! The engine is generic: a tiny third machine, defined here alone, gets a derived diagram,
//! snapshot/restore and a transition stream from the `Machine` trait.

use phantom_fsm::engine::{
    Format, InputName, Machine, Millis, Now, Output, RestoreError, Snapshot, StateNode, Transition,
    derive,
};
use statig::prelude::*;
use std::collections::VecDeque;

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
            Coin::Timeout => "unlock_expired",
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Ctx {
    now: Now,
    event: &'static str,
    out: VecDeque<Output<&'static str>>,
}

#[derive(Clone, Debug, Default)]
struct Core {
    deadline: Option<Millis>,
}

#[state_machine(
    initial = "State::locked()",
    state(derive(Debug, Clone)),
    after_transition = "Self::after_transition"
)]
impl Core {
    #[state(superstate = "in_service")]
    fn locked(&mut self, event: &Coin, context: &mut Ctx) -> Outcome<State> {
        match event {
            Coin::Insert => {
                self.deadline = Some(context.now.mono.after(std::time::Duration::from_secs(5)));
                context.out.push_back(Output::Command("unlock"));
                Transition(State::unlocked())
            }
            _ => Super,
        }
    }

    #[state(superstate = "in_service")]
    fn unlocked(&mut self, event: &Coin, context: &mut Ctx) -> Outcome<State> {
        match event {
            Coin::Push | Coin::Timeout => {
                self.deadline = None;
                context.out.push_back(Output::Command("lock"));
                Transition(State::locked())
            }
            Coin::Resumed => {
                // After a restart the latch state is unknown: lock it (the resumed side effect).
                context.out.push_back(Output::Command("lock"));
                Transition(State::locked())
            }
            _ => Super,
        }
    }

    #[superstate]
    fn in_service(&mut self, event: &Coin) -> Outcome<State> {
        match event {
            Coin::Service => Transition(State::maintenance()),
            _ => Handled,
        }
    }

    #[state]
    fn maintenance(&mut self, event: &Coin) -> Outcome<State> {
        match event {
            Coin::Service => Transition(State::locked()),
            _ => Handled,
        }
    }
}

impl Core {
    fn after_transition(&mut self, from: &State, to: &State, context: &mut Ctx) {
        let t = Transition::new(
            "turnstile",
            "t1",
            (name(from), name(to)),
            context.event,
            context.now,
        );
        context.out.push_back(Output::Transition(t));
    }
}

fn name(s: &State) -> &'static str {
    match s {
        State::Locked {} => "locked",
        State::Unlocked {} => "unlocked",
        State::Maintenance {} => "maintenance",
    }
}

#[derive(Clone, Debug)]
struct Turnstile {
    sm: statig::blocking::InitializedStateMachine<Core>,
    ctx: Ctx,
}

impl Turnstile {
    fn new() -> Turnstile {
        let mut ctx = Ctx::default();
        let sm = Core::default()
            .uninitialized_state_machine()
            .init_with_context(&mut ctx);
        Turnstile { sm, ctx }
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
        name(self.sm.state())
    }
    fn handle(&mut self, now: Now, input: Coin) {
        self.ctx.now = now;
        self.ctx.event = input.name();
        if input == Coin::Timeout && self.sm.inner().deadline.is_none_or(|d| d > now.mono) {
            return; // spurious timeout
        }
        self.sm.handle_with_context(&input, &mut self.ctx);
    }
    fn poll_output(&mut self) -> Option<Output<&'static str>> {
        self.ctx.out.pop_front()
    }
    fn poll_timeout(&self) -> Option<Millis> {
        self.sm.inner().deadline
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
        let mut t = Turnstile::new();
        // SAFETY: skipping entry actions is what a restore wants; this machine has none.
        unsafe { *t.sm.state_mut() = state };
        Ok(t)
    }
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
    let highlighted = phantom_fsm::engine::render::mermaid(&d, Some("unlocked"));
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
