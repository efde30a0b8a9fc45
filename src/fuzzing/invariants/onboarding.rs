//! The onboarding ledger's own invariants.

use crate::engine::Output;
use crate::onboarding::Command;

/// Commit before side effect: within one input's outputs no transition follows a command, so
/// the shell records the new state before it performs the command that depends on it.
pub fn commands_after_transitions(outputs: &[Output<Command>]) -> Result<(), String> {
    let mut commands_started = false;
    for output in outputs {
        match output {
            Output::Command(_) => commands_started = true,
            Output::Transition(t) if commands_started => {
                return Err(format!("{t} after a command"));
            }
            _ => {}
        }
    }
    Ok(())
}
