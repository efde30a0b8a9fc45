//! The committed diagrams are exactly what the machines derive, and every state is reachable.

use phantom_fsm::registry;
use std::path::Path;

#[test]
fn committed_diagrams_equal_the_derived_ones() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("state-diagrams");
    let mut stale = Vec::new();
    for (name, derived) in registry::diagram_files() {
        let committed = std::fs::read_to_string(dir.join(&name)).unwrap_or_default();
        if committed != derived {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "state-diagrams/ differs from the machines for {stale:?}: run `phantom-fsm diagram --write` \
         (cargo run -- diagram --write) and commit the result"
    );
}

#[test]
fn every_leaf_state_is_reached_and_named_consistently() {
    for id in registry::MACHINE_IDS {
        let d = registry::diagram(id).expect("registered");
        assert!(
            d.unreached().is_empty(),
            "{id}: unreached {:?}",
            d.unreached()
        );
        for e in &d.edges {
            assert_ne!(e.from, e.to, "{id}: self-transition {e:?} (use Handled)");
            assert!(d.leaves.iter().any(|n| n.name == e.from));
            assert!(d.leaves.iter().any(|n| n.name == e.to));
        }
    }
}

#[test]
fn socket_mode_diagram_has_the_documented_edges() {
    let d = registry::diagram("socket").unwrap();
    for (from, event, to) in [
        ("disconnected", "start", "connecting"),
        ("connecting", "open_ok", "authenticated"),
        ("connecting", "open_transient", "reconnecting"),
        ("connecting", "open_rate_limited", "reconnecting"),
        ("connecting", "open_unrecoverable", "error"),
        ("authenticated", "hello", "connected"),
        ("authenticated", "hello_deadline", "reconnecting"),
        ("connected", "pong_deadline", "reconnecting"),
        ("connected", "link_closed", "authenticated"),
        (
            "connected",
            "disconnect_too_many_websockets",
            "reconnecting",
        ),
        ("connected", "disconnect_link_disabled", "error"),
        ("connected", "stop", "disconnecting"),
        ("connected", "restarted", "disconnected"),
        ("disconnecting", "close_grace", "disconnected"),
        ("reconnecting", "reconnect_backoff", "connecting"),
        ("error", "reprobe", "connecting"),
        ("error", "new_tokens", "connecting"),
    ] {
        assert!(
            d.has_edge(from, event, to),
            "missing {from} --{event}--> {to}"
        );
    }
    let states: Vec<_> = d.leaves.iter().map(|n| n.name).collect();
    let mut sorted = states.clone();
    sorted.sort();
    let mut expected = phantom_fsm::socket::STATE_NAMES.to_vec();
    expected.sort();
    assert_eq!(sorted, expected);
}

#[test]
fn the_docs_embed_the_current_diagrams() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (id, doc) in [
        ("socket_mode", "docs/architecture.md"),
        ("onboarding", "docs/onboarding.md"),
    ] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap_or_default();
        let mermaid = phantom_fsm::engine::Format::Mermaid.render(registry::diagram(id).unwrap());
        assert!(
            text.contains(&format!("```mermaid\n{mermaid}```")),
            "{doc} embeds a stale {id} diagram: paste state-diagrams/{id}.mmd \
             (after `phantom-fsm diagram --write`)"
        );
    }
}
