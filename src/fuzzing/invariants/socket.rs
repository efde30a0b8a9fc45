//! The Socket Mode machine's own invariants.

use crate::engine::Output;
use crate::socket::Command;

/// At most two links open or opening (the active one and a standby) and at most one closing.
pub fn link_limits(open: usize, closing: usize) -> Result<(), String> {
    if open <= 2 && closing <= 1 {
        Ok(())
    } else {
        Err(format!(
            "link limits: {open} open or opening, {closing} closing"
        ))
    }
}

/// Ack first: every `Dispatch` of one input's outputs comes right after the `Ack` of the
/// same envelope on the same link and the `Remember` of its dedupe key.
pub fn ack_then_remember_then_dispatch(outputs: &[Output<Command>]) -> Result<(), String> {
    for (i, output) in outputs.iter().enumerate() {
        let Output::Command(Command::Dispatch { link, envelope }) = output else {
            continue;
        };
        let key = envelope.dedupe_key();
        let in_order = matches!(
            &outputs[..i],
            [.., Output::Command(Command::Ack { link: l, envelope_id }), Output::Command(Command::Remember { key: k, .. })]
                if l == link && *envelope_id == envelope.envelope_id && *k == key
        );
        if !in_order {
            return Err(format!(
                "Dispatch {key} not right after its ack and Remember"
            ));
        }
    }
    Ok(())
}
