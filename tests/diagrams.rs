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

/// A small hierarchy for the collapsing rule: `top` = `inner` + `c`, `inner` = `a` + `b`, and
/// `d` outside both.
mod shared_edges {
    use phantom_fsm::engine::{Diagram, Edge, StateNode};
    use phantom_fsm::engine::{SharedEdge, dot, mermaid, shared_edges};

    const LEAVES: &[StateNode] = &[
        StateNode::new("a", Some("inner")),
        StateNode::new("b", Some("inner")),
        StateNode::new("c", Some("top")),
        StateNode::new("d", None),
    ];
    const SUPERSTATES: &[StateNode] = &[
        StateNode::new("top", None),
        StateNode::new("inner", Some("top")),
    ];

    fn diagram(edges: &[(&'static str, &'static str, &'static str)]) -> Diagram {
        Diagram {
            machine: "m",
            initial: "d",
            leaves: LEAVES,
            superstates: SUPERSTATES,
            edges: edges
                .iter()
                .map(|&(from, event, to)| Edge { from, event, to })
                .collect(),
        }
    }

    fn shared(superstate: &'static str, event: &'static str, to: &'static str) -> SharedEdge {
        SharedEdge {
            superstate,
            event,
            to,
        }
    }

    #[test]
    fn an_edge_every_leaf_has_is_drawn_once_from_the_outermost_superstate() {
        let d = diagram(&[
            ("a", "stop", "d"),
            ("b", "stop", "d"),
            ("c", "stop", "d"),
            ("d", "go", "a"),
        ]);
        assert_eq!(shared_edges(&d), [shared("top", "stop", "d")]);
        let text = dot(&d);
        // Drawn from `b`, the first leaf not already joined to `d` (`d -> a` would overlap it).
        assert!(
            text.contains("    b -> d [ltail=cluster_top, label=\"stop\"];\n"),
            "{text}"
        );
        assert_eq!(text.matches("-> d [").count(), 1, "{text}");
        assert!(text.contains("    d -> a [label=\"go\"];\n"), "{text}");
        let note = mermaid(&d, None);
        assert!(
            note.contains("        top = inner + c\n          from every state: stop -> d\n"),
            "{note}"
        );
        // Mermaid keeps drawing every leaf's arrow: it cannot draw one from a group.
        assert_eq!(note.matches(" --> d : stop").count(), 3, "{note}");
    }

    #[test]
    fn an_edge_one_leaf_lacks_is_not_collapsed_there_but_in_the_superstate_that_has_it() {
        let d = diagram(&[("a", "stop", "d"), ("b", "stop", "d"), ("d", "go", "a")]);
        assert_eq!(shared_edges(&d), [shared("inner", "stop", "d")]);
        let text = dot(&d);
        assert!(
            text.contains("    b -> d [ltail=cluster_inner, label=\"stop\"];\n"),
            "{text}"
        );
        assert!(!text.contains("cluster_top,"), "{text}");
    }

    #[test]
    fn an_edge_shared_by_all_leaves_but_one_is_drawn_per_leaf() {
        let d = diagram(&[("a", "stop", "d"), ("c", "stop", "d"), ("d", "go", "a")]);
        assert_eq!(shared_edges(&d), []);
        let text = dot(&d);
        assert!(!text.contains("ltail"), "{text}");
        assert!(text.contains("    a -> d [label=\"stop\"];\n"), "{text}");
        assert!(text.contains("    c -> d [label=\"stop\"];\n"), "{text}");
        assert!(!mermaid(&d, None).contains("from every state"));
    }

    #[test]
    fn the_same_event_to_another_target_is_not_shared() {
        let d = diagram(&[("a", "stop", "d"), ("b", "stop", "c"), ("d", "go", "a")]);
        assert_eq!(shared_edges(&d), []);
    }

    #[test]
    fn an_edge_into_the_superstate_itself_is_not_drawn_from_its_border() {
        // `a` and `b` both go to `c` on `next`: shared by `inner` (c is outside it), but not by
        // `top`, which contains `c` (and `c` lacks the edge anyway).
        let d = diagram(&[("a", "next", "c"), ("b", "next", "c"), ("d", "go", "a")]);
        assert_eq!(shared_edges(&d), [shared("inner", "next", "c")]);
        // An edge that every leaf of `inner` has into `inner` itself cannot exist without a
        // self-transition; between its two leaves it is never shared.
        let d = diagram(&[("a", "swap", "b"), ("b", "swap", "a"), ("d", "go", "a")]);
        assert_eq!(shared_edges(&d), []);
    }

    #[test]
    fn the_socket_diagram_draws_stop_and_restarted_once_per_superstate() {
        let d = phantom_fsm::engine::derive::<phantom_fsm::socket::SocketMode>();
        let found = shared_edges(&d);
        assert!(
            found.contains(&shared("running", "stop", "disconnecting")),
            "{found:?}"
        );
        assert!(
            found.contains(&shared("running", "restarted", "disconnected")),
            "{found:?}"
        );
        let text = dot(&d);
        let stop_to_disconnecting = text
            .lines()
            .filter(|l| l.contains("-> disconnecting ") && l.contains("stop"))
            .count();
        assert_eq!(stop_to_disconnecting, 1, "{text}");
    }
}
