//! The derived diagram: committed files up to date, the hierarchy, and the edges that carry the
//! safety argument.

use phantom_fsm::engine::{Format, Machine, derive};
use phantom_fsm::onboarding::{Onboarding, STATE_NAMES};
use std::collections::BTreeSet;

#[test]
fn committed_diagram_files_match_the_derived_ones() {
    let diagram = derive::<Onboarding>();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("state-diagrams");
    for format in [Format::Mermaid, Format::Dot] {
        let path = dir.join(format!("onboarding.{}", format.extension()));
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == format.render(&diagram),
            "{} is out of date: run `phantom-fsm diagram --write` (cargo run -- diagram --write)",
            path.display()
        );
    }
}

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
fn the_onboarding_doc_embeds_the_current_diagram() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/onboarding.md")).unwrap_or_default();
    let mermaid = Format::Mermaid.render(&derive::<Onboarding>());
    assert!(
        doc.contains(&format!("```mermaid\n{mermaid}```")),
        "docs/onboarding.md embeds a stale diagram: paste state-diagrams/onboarding.mmd \
         (after `phantom-fsm diagram --write`)"
    );
}

#[test]
fn telemetry_gauges_the_same_six_states_in_the_same_order() {
    assert_eq!(phantom_fsm::telemetry::ONBOARDING_STATES, STATE_NAMES);
    assert!(phantom_fsm::telemetry::MACHINES.contains(&phantom_fsm::onboarding::MACHINE_ID));
}
