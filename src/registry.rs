//! The registry of phantom-fsm's machines by id, for the CLI, the diagram files and the
//! drift test.

use crate::engine::{Diagram, Format, derive};
use std::sync::OnceLock;

/// Every machine id, in file order.
pub const MACHINE_IDS: &[&str] = &[crate::socket::MACHINE_ID, crate::onboarding::MACHINE_ID];

/// Resolve a machine id as typed on the command line (`socket` is accepted for `socket_mode`).
pub fn parse_machine_id(s: &str) -> Option<&'static str> {
    match s {
        "socket" | "socket_mode" => Some(crate::socket::MACHINE_ID),
        "onboarding" => Some(crate::onboarding::MACHINE_ID),
        other => MACHINE_IDS.iter().copied().find(|id| *id == other),
    }
}

/// The diagram of the machine `id` (`socket` is accepted for `socket_mode`), derived by
/// exploring the machine once per process: the one place the CLI, `/debug/state`, the fuzz
/// checks and the tests get it from.
pub fn diagram(id: &str) -> Option<&'static Diagram> {
    static SOCKET: OnceLock<Diagram> = OnceLock::new();
    static ONBOARDING: OnceLock<Diagram> = OnceLock::new();
    match parse_machine_id(id)? {
        crate::socket::MACHINE_ID => Some(SOCKET.get_or_init(derive::<crate::socket::SocketMode>)),
        crate::onboarding::MACHINE_ID => {
            Some(ONBOARDING.get_or_init(derive::<crate::onboarding::Onboarding>))
        }
        _ => None,
    }
}

/// Every diagram file: `(file name, contents)`, e.g. `("socket_mode.mmd", "...")`.
pub fn diagram_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for id in MACHINE_IDS {
        let Some(d) = diagram(id) else { continue };
        for format in [Format::Mermaid, Format::Dot] {
            files.push((format!("{id}.{}", format.extension()), format.render(d)));
        }
    }
    files
}
