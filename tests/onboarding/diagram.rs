//! The derived diagram: the hierarchy, and the edges that carry the safety argument (the
//! committed files and the docs' copies are checked for every machine in tests/diagrams.rs).

use phantom_fsm::engine::{Machine, derive};
use phantom_fsm::onboarding::{Onboarding, STATE_NAMES};
use std::collections::BTreeSet;

#[test]
fn leaves_are_the_six_states_and_every_one_is_reached() {
    let diagram = derive::<Onboarding>();
    let leaves: Vec<_> = Onboarding::LEAVES.iter().map(|n| n.name).collect();
    assert_eq!(leaves, STATE_NAMES);
    assert_eq!(diagram.unreached(), Vec::<&str>::new());
    assert_eq!(
        Onboarding::superstates_of("sending"),
        ["unconfirmed", "incomplete"]
    );
    assert_eq!(Onboarding::superstates_of("complete"), ["settled"]);
}

#[test]
fn a_restart_in_sending_reconciles() {
    let diagram = derive::<Onboarding>();
    assert!(diagram.has_edge("sending", "restarted", "reconciling"));
    assert!(diagram.has_edge("sending", "post_ambiguous", "reconciling"));
}

#[test]
fn only_three_edges_lead_to_a_post() {
    let diagram = derive::<Onboarding>();
    let into_sending: BTreeSet<_> = diagram
        .edges
        .iter()
        .filter(|e| e.to == "sending")
        .map(|e| (e.from, e.event))
        .collect();
    let expected: BTreeSet<_> = [
        ("pending", "dm_opened"),
        ("backoff", "retry_send"),
        ("reconciling", "history_not_found"),
    ]
    .into_iter()
    .collect();
    assert_eq!(into_sending, expected);
}

#[test]
fn complete_is_left_only_by_a_reset() {
    let diagram = derive::<Onboarding>();
    let exits: Vec<_> = diagram
        .edges
        .iter()
        .filter(|e| e.from == "complete")
        .map(|e| (e.event, e.to))
        .collect();
    assert_eq!(exits, [("reset", "pending")]);
}

#[test]
fn telemetry_gauges_the_same_six_states_in_the_same_order() {
    assert_eq!(phantom_fsm::telemetry::ONBOARDING_STATES, STATE_NAMES);
    assert!(phantom_fsm::telemetry::MACHINES.contains(&phantom_fsm::onboarding::MACHINE_ID));
}
