//! Checks of one step against the model: the outputs it produced (transitions and diagram
//! edges, link ends, handovers, retry delays, the fate of an envelope) and the state after it
//! (links by role, deadlines, dedupe window).

use super::model::{EnvFate, Model, Tm};
use phantom_fsm::engine::{EnvelopeOutcome, Output, Signal};
use phantom_fsm::fuzzing::invariants;
use phantom_fsm::socket::ServerFrame;
use phantom_fsm::socket::{Command, Input, LinkId, SocketMode, Timer};
use std::collections::HashMap;

pub(crate) fn commands(outputs: &[Output<Command>]) -> impl Iterator<Item = &Command> {
    outputs.iter().filter_map(|o| match o {
        Output::Command(c) => Some(c),
        _ => None,
    })
}

fn signals(outputs: &[Output<Command>]) -> impl Iterator<Item = &Signal> {
    outputs.iter().filter_map(|o| match o {
        Output::Signal(s) => Some(s),
        _ => None,
    })
}

/// One step's outputs against the model: transitions (and diagram edges), link ends,
/// handovers, backoff delays, and the fate of an envelope (ack first, at most one dispatch).
pub(crate) fn check_outputs(
    model: &Model,
    before: Option<&'static str>,
    input: &Option<Input>,
    outputs: &[Output<Command>],
    links: &HashMap<u32, LinkId>,
) {
    let transitions: Vec<(&str, &str, &str)> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Transition(t) => Some((t.from, t.event, t.to)),
            _ => None,
        })
        .collect();
    assert_eq!(transitions, model.expect.transitions, "transitions");
    let now = phantom_fsm::engine::Now::fake(model.now);
    let mut state = before;
    for output in outputs {
        if let Output::Transition(t) = output {
            // After a restart the first transition leaves whatever state was restored.
            let from = state.unwrap_or(t.from);
            let to = invariants::transition("socket_mode", "default", from, now, t)
                .unwrap_or_else(|e| panic!("{e}"));
            state = Some(to);
        }
    }
    let ended: Vec<u64> = signals(outputs)
        .filter_map(|s| match s {
            Signal::LinkEnded { lifetime_ms } => Some(*lifetime_ms),
            _ => None,
        })
        .collect();
    assert_eq!(ended, model.expect.link_ended, "LinkEnded");
    let handovers = signals(outputs)
        .filter(|s| matches!(s, Signal::Handover))
        .count();
    assert_eq!(handovers, model.expect.handovers, "Handover");
    let delays: Vec<u64> = signals(outputs)
        .filter_map(|s| match s {
            Signal::RetryScheduled { delay_ms, .. } => Some(*delay_ms),
            _ => None,
        })
        .collect();
    assert_eq!(delays, model.expect.retry_delays, "retry delays");
    check_envelope(model.expect.envelope, input, outputs, links);
}

/// Acked exactly once per delivery on a writable link, before its dispatch; on a closing link
/// acked on the active link if there is one; dispatched only on first sight within the TTL,
/// whatever link it came on.
fn check_envelope(
    fate: Option<EnvFate>,
    input: &Option<Input>,
    outputs: &[Output<Command>],
    links: &HashMap<u32, LinkId>,
) {
    let acks: Vec<usize> = (0..outputs.len())
        .filter(|i| matches!(&outputs[*i], Output::Command(Command::Ack { .. })))
        .collect();
    let dispatches: Vec<usize> = (0..outputs.len())
        .filter(|i| matches!(&outputs[*i], Output::Command(Command::Dispatch { .. })))
        .collect();
    let outcome = signals(outputs).find_map(|s| match s {
        Signal::Envelope { outcome, .. } => Some(*outcome),
        _ => None,
    });
    let Some(fate) = fate else {
        assert!(
            acks.is_empty() && dispatches.is_empty() && outcome.is_none(),
            "envelope outputs without an envelope"
        );
        return;
    };
    let Some(Input::Frame {
        link,
        frame: ServerFrame::Envelope(env),
    }) = input
    else {
        panic!("model expects an envelope fate for {input:?}");
    };
    let ack_link = match fate {
        EnvFate::Acked { .. } => Some(*link),
        EnvFate::Unackable { ack_on, .. } => ack_on.map(|t| links[&t]),
        EnvFate::Ignored => None,
    };
    let expect_ack = usize::from(ack_link.is_some());
    assert_eq!(acks.len(), expect_ack, "acks for {fate:?}");
    if let Some(i) = acks.first() {
        let Output::Command(Command::Ack {
            link: l,
            envelope_id,
            payload: None,
        }) = &outputs[*i]
        else {
            unreachable!()
        };
        assert_eq!(
            (Some(*l), envelope_id),
            (ack_link, &env.envelope_id),
            "ack on its link (or the active one), with its id"
        );
    }
    let dispatched = matches!(
        fate,
        EnvFate::Acked { dispatched: true }
            | EnvFate::Unackable {
                dispatched: true,
                ..
            }
    );
    assert_eq!(
        dispatches.len(),
        usize::from(dispatched),
        "dispatches for {fate:?}"
    );
    if let (Some(d), Some(a)) = (dispatches.first(), acks.first()) {
        assert!(a < d, "ack after dispatch");
    }
    let expected = match fate {
        EnvFate::Ignored => None,
        EnvFate::Unackable { .. } => Some(EnvelopeOutcome::Unackable),
        EnvFate::Acked { dispatched: true } => Some(EnvelopeOutcome::Dispatched),
        EnvFate::Acked { dispatched: false } => Some(EnvelopeOutcome::Duplicate),
    };
    assert_eq!(outcome, expected, "envelope outcome");
}

/// The machine's links by role, deadlines and dedupe window are the model's (links through
/// the tag map).
pub(crate) fn check_state(m: &SocketMode, links: &HashMap<u32, LinkId>, model: &Model) {
    let l = m.links();
    let id = |tag: u32| links.get(&tag).copied();
    assert_eq!(
        l.active.map(|a| a.id),
        model.active.and_then(|(t, _)| id(t)),
        "active link"
    );
    assert_eq!(
        l.pending.map(|p| p.id),
        model.pending.and_then(|(t, _)| id(t)),
        "pending link"
    );
    assert_eq!(
        l.pending.map(|p| p.opened),
        model.pending.map(|(_, o)| o),
        "pending link opened"
    );
    assert_eq!(
        l.draining.map(|d| d.id),
        model.draining.and_then(|(t, _)| id(t)),
        "draining link"
    );
    let closing: Vec<(LinkId, u64)> = l.closing.iter().map(|c| (c.id, c.drop_at.0)).collect();
    let expected: Vec<(LinkId, u64)> = model
        .closing
        .iter()
        .filter_map(|(t, at)| id(*t).map(|l| (l, *at)))
        .collect();
    assert_eq!(closing, expected, "closing links and their graces");
    let timers: Vec<(Timer, u64)> = m.timers().armed().map(|(t, at)| (t, at.0)).collect();
    let expected: Vec<(Timer, u64)> = model
        .timers
        .iter()
        .map(|(t, at)| (timer(*t), *at))
        .collect();
    assert_eq!(timers, expected, "armed deadlines");
    for (key, at) in &model.dedupe {
        if at + super::model::DEDUPE_TTL > model.now {
            assert!(
                m.dedupe().contains(key),
                "{key} fell out of the window early"
            );
        }
    }
    assert!(
        m.dedupe().len() <= model.dedupe.len(),
        "unknown keys in the window"
    );
}

fn timer(t: Tm) -> Timer {
    match t {
        Tm::Hello => Timer::HelloDeadline,
        Tm::PingDue => Timer::PingDue,
        Tm::Pong => Timer::PongDeadline,
        Tm::Open => Timer::OpenDeadline,
        Tm::Reconnect => Timer::ReconnectBackoff,
        Tm::StandbyRetry => Timer::StandbyRetry,
        Tm::Drain => Timer::DrainGrace,
        Tm::Close => Timer::CloseGrace,
        Tm::Reprobe => Timer::Reprobe,
    }
}
