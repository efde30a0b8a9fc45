//! The invariants of each machine, written once: the fuzz targets (`socket_sequence`,
//! `onboarding_sequence`) and the property tests (`tests/socket_props`,
//! `tests/onboarding/props.rs`) call these same checks. Each returns `Err` with a message
//! naming the invariant that broke; the caller adds its own context (step, seed, state).
//!
//! - this module: what every machine owes its transition stream;
//! - [`socket`]: the Socket Mode machine's own invariants;
//! - [`onboarding`]: the onboarding ledger's own invariants.

pub mod onboarding;
pub mod socket;

use crate::engine::{Now, Output, Transition};

/// One transition record of an input handled at `now` by `machine`/`instance` while the
/// scanned leaf state was `state`: it leaves that state, changes the leaf state, carries the
/// machine's ids and the input's time, and is an edge of the derived diagram. Returns the
/// state it enters.
pub fn transition(
    machine: &str,
    instance: &str,
    state: &str,
    now: Now,
    t: &Transition,
) -> Result<&'static str, String> {
    if t.from != state {
        return Err(format!("{t} does not leave {state}"));
    }
    if t.from == t.to {
        return Err(format!("{t} is a self-transition record"));
    }
    if t.machine != machine || t.instance != instance {
        return Err(format!("{t}: wrong machine or instance"));
    }
    if t.at != now.mono || t.at_unix != now.unix {
        return Err(format!(
            "{t} stamped {:?}/{:?}, not {now:?}",
            t.at, t.at_unix
        ));
    }
    let edge = crate::registry::diagram(machine).is_some_and(|d| d.has_edge(t.from, t.event, t.to));
    if !edge {
        return Err(format!("{t} is not an edge of the derived diagram"));
    }
    Ok(t.to)
}

/// Every transition of one input's outputs, in order (see [`transition`]), starting in
/// `before` and ending in `after`, the state the machine reports afterwards.
pub fn transitions<C>(
    machine: &str,
    instance: &str,
    (before, after): (&str, &str),
    now: Now,
    outputs: &[Output<C>],
) -> Result<(), String> {
    let mut state = before;
    for output in outputs {
        if let Output::Transition(t) = output {
            state = transition(machine, instance, state, now, t)?;
        }
    }
    if state != after {
        return Err(format!(
            "transitions end in {state}, the machine is in {after}"
        ));
    }
    Ok(())
}

/// A deadline the machine reports is never in the past after an input is handled at `now`
/// (the engine fires every due deadline after the input).
pub fn no_deadline_in_the_past(
    next: Option<crate::engine::Millis>,
    now: Now,
) -> Result<(), String> {
    match next {
        Some(at) if at <= now.mono => Err(format!("deadline {at:?} not after {now:?}")),
        _ => Ok(()),
    }
}
