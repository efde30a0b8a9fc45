//! Mermaid and DOT renderings of a [`Diagram`]: sorted and byte-stable, so the committed files
//! can be compared with what the code derives.

use super::diagram::Diagram;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Fill colours given to superstates in declaration order (leaf states take their innermost
/// superstate's colour).
const PALETTE: [&str; 6] = [
    "#dbeafe", "#dcfce7", "#fef9c3", "#fce7f3", "#ede9fe", "#ffedd5",
];

/// Diagram text formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Mermaid `stateDiagram-v2` (`.mmd`).
    Mermaid,
    /// Graphviz DOT (`.dot`).
    Dot,
}

impl Format {
    /// File extension for this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Mermaid => "mmd",
            Format::Dot => "dot",
        }
    }

    /// Render `diagram` in this format.
    pub fn render(self, diagram: &Diagram) -> String {
        match self {
            Format::Mermaid => mermaid(diagram, None),
            Format::Dot => dot(diagram),
        }
    }
}

fn colour_of(diagram: &Diagram, superstate: &str) -> &'static str {
    let index = diagram
        .superstates
        .iter()
        .position(|s| s.name == superstate)
        .unwrap_or(0);
    PALETTE[index % PALETTE.len()]
}

/// Mermaid `stateDiagram-v2`. Mermaid cannot draw edges between states inside different
/// composite states, so leaf states are drawn flat, coloured by their innermost superstate
/// (`classDef`), and the hierarchy is listed in a note. `current`, if given, is highlighted.
pub fn mermaid(diagram: &Diagram, current: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "---\ntitle: {}\n---\nstateDiagram-v2", diagram.machine);
    let _ = writeln!(s, "    [*] --> {}", diagram.initial);
    for (from, to, events) in diagram.grouped_edges() {
        let _ = writeln!(s, "    {from} --> {to} : {}", events.join(", "));
    }
    for sup in diagram.superstates {
        let _ = writeln!(
            s,
            "    classDef {} fill:{},stroke:#475569",
            sup.name,
            colour_of(diagram, sup.name)
        );
    }
    for sup in diagram.superstates {
        let members: Vec<_> = diagram.leaves_in(Some(sup.name)).collect();
        if !members.is_empty() {
            let _ = writeln!(s, "    class {} {}", members.join(","), sup.name);
        }
    }
    if let Some(cur) = current {
        let _ = writeln!(s, "    classDef current stroke:#dc2626,stroke-width:4px");
        let _ = writeln!(s, "    class {cur} current");
    }
    let _ = writeln!(s, "    note left of {}", diagram.initial);
    let _ = writeln!(s, "        superstates (outermost first):");
    let shared = shared_edges(diagram);
    for sup in diagram.superstates {
        let inner: Vec<_> = diagram
            .superstates_in(Some(sup.name))
            .chain(diagram.leaves_in(Some(sup.name)))
            .collect();
        let _ = writeln!(s, "        {} = {}", sup.name, inner.join(" + "));
        for e in shared.iter().filter(|e| e.superstate == sup.name) {
            let _ = writeln!(s, "          from every state: {} -> {}", e.event, e.to);
        }
    }
    let _ = writeln!(s, "    end note");
    s
}

/// Graphviz DOT, with superstates drawn as nested `subgraph cluster_<name>`. An edge that every
/// leaf of a superstate has ([`shared_edges`]) is drawn once, from the cluster's border
/// (`ltail`), so the picture shows where the hierarchy handles an input.
pub fn dot(diagram: &Diagram) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "digraph {} {{", diagram.machine);
    let _ = writeln!(s, "    rankdir=LR;");
    let _ = writeln!(s, "    compound=true;");
    let _ = writeln!(s, "    fontname=\"Helvetica\";");
    let _ = writeln!(
        s,
        "    node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\"];"
    );
    let _ = writeln!(s, "    edge [fontname=\"Helvetica\", fontsize=10];");
    let _ = writeln!(s, "    __start [shape=point, width=0.15, label=\"\"];");
    for top in diagram.superstates_in(None) {
        cluster(&mut s, diagram, top, 1);
    }
    for leaf in diagram.leaves_in(None) {
        let _ = writeln!(s, "    {leaf};");
    }
    let _ = writeln!(s, "    __start -> {};", diagram.initial);
    let drawn = drawn_edges(diagram);
    // Pairs of nodes already joined by an arrow: Graphviz draws a second arrow between the same
    // two nodes on top of the first, labels overlapping.
    let mut joined: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (tail, to) in drawn.keys() {
        if let Tail::Leaf(from) = tail {
            joined.insert(pair(from, to));
        }
    }
    for ((tail, to), events) in &drawn {
        let label = events.join("\\n");
        match tail {
            Tail::Leaf(from) => {
                let _ = writeln!(s, "    {from} -> {to} [label=\"{label}\"];");
            }
            Tail::Superstate(sup) => {
                // Graphviz draws a cluster's edge as an edge from one of its nodes, clipped at
                // the cluster's border: pick a node not yet joined to the target.
                let leaves = leaves_under(diagram, sup);
                let from = leaves
                    .iter()
                    .find(|l| !joined.contains(&pair(l, to)))
                    .or(leaves.first())
                    .copied()
                    .unwrap_or(sup);
                joined.insert(pair(from, to));
                let _ = writeln!(
                    s,
                    "    {from} -> {to} [ltail=cluster_{sup}, label=\"{label}\"];"
                );
            }
        }
    }
    let _ = writeln!(s, "}}");
    s
}

/// An edge that every leaf state inside a superstate has: the same input leads from each of
/// them to the same state. Diagrams draw it once for the superstate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SharedEdge {
    /// The superstate whose every leaf has the edge.
    pub superstate: &'static str,
    /// Input name.
    pub event: &'static str,
    /// Leaf state entered, outside the superstate.
    pub to: &'static str,
}

/// The edges shared by all the leaves of a superstate (of two leaves or more), each under the
/// outermost superstate for which it holds (a nested superstate does not repeat it). An edge
/// into the superstate itself is never shared: an arrow from a cluster's border to a node
/// inside it has no meaning in DOT.
pub fn shared_edges(diagram: &Diagram) -> Vec<SharedEdge> {
    let mut shared: Vec<SharedEdge> = Vec::new();
    let mut supers: Vec<_> = diagram.superstates.iter().map(|n| n.name).collect();
    // Outermost first, so the largest superstate claims an edge before its children.
    supers.sort_by_key(|name| ancestors(diagram, Some(name)).len());
    for sup in supers {
        let leaves = leaves_under(diagram, sup);
        let Some(first) = leaves.first() else {
            continue;
        };
        if leaves.len() < 2 {
            continue;
        }
        for e in diagram.edges.iter().filter(|e| e.from == *first) {
            let everywhere = leaves.iter().all(|l| diagram.has_edge(l, e.event, e.to));
            let claimed = shared.iter().any(|c| {
                c.event == e.event
                    && c.to == e.to
                    && ancestors(diagram, Some(sup)).contains(&c.superstate)
            });
            if everywhere && !leaves.contains(&e.to) && !claimed {
                shared.push(SharedEdge {
                    superstate: sup,
                    event: e.event,
                    to: e.to,
                });
            }
        }
    }
    shared.sort();
    shared
}

/// Where a drawn edge starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Tail {
    Leaf(&'static str),
    Superstate(&'static str),
}

/// The arrows to draw: every edge not covered by a [`SharedEdge`] from its leaf, every shared
/// edge once from its superstate; grouped by (tail, target) with the events in sorted order.
fn drawn_edges(diagram: &Diagram) -> BTreeMap<(Tail, &'static str), Vec<&'static str>> {
    let shared = shared_edges(diagram);
    let mut drawn: BTreeMap<(Tail, &'static str), BTreeSet<&'static str>> = BTreeMap::new();
    for e in &diagram.edges {
        let leaf_ancestors = ancestors(diagram, diagram.parent_of(e.from));
        let tail = shared
            .iter()
            .find(|c| c.event == e.event && c.to == e.to && leaf_ancestors.contains(&c.superstate))
            .map_or(Tail::Leaf(e.from), |c| Tail::Superstate(c.superstate));
        drawn.entry((tail, e.to)).or_default().insert(e.event);
    }
    drawn
        .into_iter()
        .map(|(key, events)| (key, events.into_iter().collect()))
        .collect()
}

/// Two node names in a fixed order, so `a -> b` and `b -> a` are the same pair.
fn pair<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
    if a <= b { (a, b) } else { (b, a) }
}

/// `start` and the superstates enclosing it, innermost first.
fn ancestors(diagram: &Diagram, start: Option<&'static str>) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut cur = start;
    while let Some(name) = cur {
        // A malformed hierarchy with a cycle must not hang the renderer.
        if out.contains(&name) {
            break;
        }
        out.push(name);
        cur = diagram
            .superstates
            .iter()
            .find(|n| n.name == name)
            .and_then(|n| n.parent);
    }
    out
}

/// Every leaf inside superstate `sup`, at any depth, in the order the DOT clusters list them.
fn leaves_under(diagram: &Diagram, sup: &str) -> Vec<&'static str> {
    let mut out: Vec<_> = Vec::new();
    for inner in diagram.superstates_in(Some(sup)) {
        out.extend(leaves_under(diagram, inner));
    }
    out.extend(diagram.leaves_in(Some(sup)));
    out
}

fn cluster(s: &mut String, diagram: &Diagram, name: &str, depth: usize) {
    let pad = "    ".repeat(depth);
    let _ = writeln!(s, "{pad}subgraph cluster_{name} {{");
    let _ = writeln!(s, "{pad}    label=\"{name}\";");
    let _ = writeln!(s, "{pad}    style=\"rounded,filled\";");
    let _ = writeln!(s, "{pad}    fillcolor=\"{}\";", colour_of(diagram, name));
    for inner in diagram.superstates_in(Some(name)) {
        cluster(s, diagram, inner, depth + 1);
    }
    for leaf in diagram.leaves_in(Some(name)) {
        let _ = writeln!(s, "{pad}    {leaf};");
    }
    let _ = writeln!(s, "{pad}}}");
}
