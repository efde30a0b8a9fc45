//! Property tests of the Socket Mode lifecycle machine (issue 2, item 6): random input
//! sequences and time steps, generated from a small reference model of the lifecycle at the
//! level of link roles (`socket_props/model.rs`), drive the real [`SocketMode`]
//! (`socket_props/driver.rs`); after every step the machine must agree with the model and keep
//! the shell-level invariants (`socket_props/shell.rs`).
//!
//! Invariants, in one place:
//! - no panic; exactly one leaf state, one of the seven, equal to the model's;
//! - the links by role, the call in flight, every armed deadline to the millisecond, the error
//!   code and the dedupe window equal the model's;
//! - exactly one `Transition` per change of leaf state, chained from the state before to the
//!   state after, never from a state to itself, each an edge of the derived diagram, and the
//!   model's `(from, event, to)`;
//! - no frame (ack, ping, close) written on a link that is not open; at most 2 links open or
//!   opening plus 1 closing; the links the shell holds are exactly the links the machine knows
//!   (nothing leaks, nothing is dropped twice);
//! - at most one `apps.connections.open` in flight: a call counts until its answer is
//!   delivered, or until the model says the machine abandoned it (stop, error, restart,
//!   `too_many_websockets`); the machine's call in flight is the shell's outstanding one;
//! - every envelope with an id acked exactly once per delivery, on its link, before its
//!   dispatch; `unackable` and no ack on a closing link; dispatched on first sight only; no
//!   key dispatched twice within the TTL, across restarts too (the shell persists `Remember`
//!   and loads the unexpired keys back);
//! - deadlines never in the past: `poll_timeout() >= now` after every input (a zero backoff
//!   draw arms a deadline at `now` itself, which the shell fires at once);
//! - `LinkEnded` once per link that said hello and stopped being active, with its lifetime;
//!   `Handover` once per handover; each retry scheduled with its exact delay.
//!
//! Time is deterministic: `backoff_base = 0` makes every jittered delay the `Retry-After`
//! floor (jitter has scripted tests in `tests/socket`). Half of the sequences run the
//! documented timings, the others hello/ping/pong/drain/close durations that reorder the
//! deadlines. Sequences shrink to a few steps; a defect found here gets a scripted sequence in
//! `socket_props/regressions.rs`. `PROPTEST_CASES=N` runs more cases.
//!
//! [`SocketMode`]: phantom_fsm::socket::SocketMode

#[path = "socket_props/checks.rs"]
mod checks;
#[path = "socket_props/coverage.rs"]
mod coverage;
#[path = "socket_props/driver.rs"]
mod driver;
#[path = "socket_props/inputs.rs"]
mod inputs;
#[path = "socket_props/model.rs"]
mod model;
#[path = "socket_props/regressions.rs"]
mod regressions;
#[path = "socket_props/shell.rs"]
mod shell;
#[path = "socket_props/step.rs"]
mod step;
#[path = "socket_props/strategy.rs"]
mod strategy;

use driver::Driver;
use proptest::test_runner::Config;
use proptest_state_machine::{StateMachineTest, prop_state_machine};
use std::ops::Range;

/// Steps per generated sequence.
const STEPS: Range<usize> = 1..60;

/// Cases per property: 256, or `PROPTEST_CASES`.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn config() -> Config {
    Config {
        cases: cases(),
        max_shrink_iters: 4096,
        // Seeds do not survive a change of the step weights; shrunk failures become scripted
        // sequences in `regressions.rs` instead.
        failure_persistence: None,
        ..Config::default()
    }
}

prop_state_machine! {
    #![proptest_config(config())]

    /// Lifecycle churn: operator inputs, restarts, stale calls and links, every answer.
    #[test]
    fn lifecycle_churn_agrees_with_the_model(sequential STEPS => Driver<0>);

    /// Long connected runs: envelopes, duplicates, handovers, liveness deadlines.
    #[test]
    fn connected_traffic_agrees_with_the_model(sequential STEPS => Driver<1>);
}

#[test]
fn scripted_sequences_agree_with_the_model() {
    for (name, steps) in regressions::all() {
        println!("{name}");
        let model = model::Model::new(model::Timings::DEFAULT);
        Driver::<0>::test_sequential(config(), model, steps, None);
    }
}

/// The properties are worth their run time: the steps they generate (plus the scripted ones)
/// take every edge of the derived diagram and reach every situation an invariant is about.
#[test]
fn generated_steps_take_every_diagram_edge() {
    let mut tally = coverage::Tally::default();
    coverage::tally::<0>(&mut tally, 256);
    coverage::tally::<1>(&mut tally, 256);
    for models in regressions::models() {
        let mut before = model::Model::new(model::Timings::DEFAULT);
        for m in models {
            tally.note(&before, &m);
            before = m;
        }
    }
    let diagram = phantom_fsm::registry::diagram("socket_mode").expect("socket_mode");
    let missed: Vec<_> = diagram
        .edges
        .iter()
        .filter(|e| !tally.edges.contains_key(&(e.from, e.event, e.to)))
        .collect();
    assert!(missed.is_empty(), "edges never taken: {missed:#?}");
    let extra: Vec<_> = tally
        .edges
        .keys()
        .filter(|(f, e, t)| !diagram.has_edge(f, e, t))
        .collect();
    assert!(
        extra.is_empty(),
        "the model takes edges the diagram lacks: {extra:?}"
    );
    for (situation, at_least) in [
        ("handover", 20),
        ("dispatched", 100),
        ("duplicate", 50),
        ("dispatched again after the TTL", 10),
        ("unackable", 10),
        ("acked on a draining link", 10),
        ("standby deferred by a drain", 10),
        ("two links and one closing", 10),
        ("call abandoned", 50),
        ("link ended", 50),
        ("ping", 50),
        ("restart", 20),
    ] {
        let n = tally.situations.get(situation).copied().unwrap_or(0);
        assert!(
            n >= at_least,
            "{situation}: {n} times, want {at_least}: {tally:#?}"
        );
    }
}
