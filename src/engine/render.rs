//! Mermaid and DOT renderings of a [`Diagram`]: sorted and byte-stable, so the committed files
//! can be compared with what the code derives.

use super::diagram::Diagram;
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
    for sup in diagram.superstates {
        let inner: Vec<_> = diagram
            .superstates_in(Some(sup.name))
            .chain(diagram.leaves_in(Some(sup.name)))
            .collect();
        let _ = writeln!(s, "        {} = {}", sup.name, inner.join(" + "));
    }
    let _ = writeln!(s, "    end note");
    s
}

/// Graphviz DOT, with superstates drawn as nested `subgraph cluster_<name>`.
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
    for (from, to, events) in diagram.grouped_edges() {
        let _ = writeln!(s, "    {from} -> {to} [label=\"{}\"];", events.join("\\n"));
    }
    let _ = writeln!(s, "}}");
    s
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
