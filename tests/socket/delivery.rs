//! Ack payloads (responder mode) and load shedding: every envelope that is not shed is acked
//! exactly once within Slack's 3 s, and nothing acked is dropped.

use crate::harness::*;
use phantom_fsm::engine::{EnvelopeOutcome, Signal};
use phantom_fsm::socket::{AckPayload, Command, Input, SocketConfig, Timer};
use serde_json::json;

fn responder() -> Driver {
    Driver::with(SocketConfig {
        responder: true,
        ..SocketConfig::default()
    })
}

fn outcomes(outs: &Outs) -> Vec<EnvelopeOutcome> {
    signals(outs)
        .into_iter()
        .filter_map(|s| match s {
            Signal::Envelope { outcome, .. } => Some(outcome),
            _ => None,
        })
        .collect()
}

fn acks(outs: &Outs) -> Vec<Command> {
    commands(outs)
        .into_iter()
        .filter(|c| matches!(c, Command::Ack { .. }))
        .collect()
}

fn payload() -> AckPayload {
    AckPayload(json!({"response_action": "errors", "errors": {"b": "no"}}))
}

#[test]
fn a_responder_envelope_is_dispatched_first_and_acked_with_the_response() {
    let mut d = responder();
    let link = d.connect();
    let outs = d.envelope(link, slash("s1"));
    let cmds = commands(&outs);
    assert!(
        matches!(
            &cmds[..],
            [Command::Remember { .. }, Command::Dispatch { .. }]
        ),
        "{cmds:?}"
    );
    assert_eq!(outcomes(&outs), vec![EnvelopeOutcome::Dispatched]);
    assert_eq!(
        d.m.timers().get(Timer::AckDeadline).map(|t| t.0),
        Some(2_500)
    );
    d.advance(1_000);
    let outs = d.input(Input::Respond {
        envelope_id: "s1".into(),
        payload: payload(),
    });
    assert_eq!(
        commands(&outs),
        vec![Command::Ack {
            link,
            envelope_id: "s1".into(),
            payload: Some(payload()),
        }]
    );
    assert!(!d.m.timers().is_armed(Timer::AckDeadline));
    // Answered once: a second response is nobody's.
    let outs = d.input(Input::Respond {
        envelope_id: "s1".into(),
        payload: payload(),
    });
    assert!(acks(&outs).is_empty());
}

#[test]
fn a_late_response_is_counted_and_never_sent() {
    let mut d = responder();
    let link = d.connect();
    d.envelope(link, slash("s2"));
    assert!(
        d.advance(2_499)
            .iter()
            .all(|o| !matches!(o, phantom_fsm::engine::Output::Command(Command::Ack { .. })))
    );
    let outs = d.advance(1);
    assert_eq!(
        acks(&outs),
        vec![Command::Ack {
            link,
            envelope_id: "s2".into(),
            payload: None,
        }]
    );
    let outs = d.input(Input::Respond {
        envelope_id: "s2".into(),
        payload: payload(),
    });
    assert!(acks(&outs).is_empty());
    assert_eq!(outcomes(&outs), vec![EnvelopeOutcome::LateResponse]);
}

#[test]
fn without_a_responder_or_a_response_payload_the_ack_goes_first() {
    // No responder registered.
    let mut d = Driver::new();
    let link = d.connect();
    let outs = d.envelope(link, slash("s3"));
    assert!(matches!(
        commands(&outs)[0],
        Command::Ack { payload: None, .. }
    ));
    // A responder, but the envelope accepts no payload.
    let mut d = responder();
    let link = d.connect();
    let outs = d.envelope(link, event("e3", Some("Ev3")));
    assert!(matches!(
        commands(&outs)[0],
        Command::Ack { payload: None, .. }
    ));
    assert!(!d.m.timers().is_armed(Timer::AckDeadline));
}

#[test]
fn a_deferred_ack_goes_out_before_its_link_gets_a_close_frame() {
    let mut d = responder();
    let link = d.connect();
    d.envelope(link, slash("s4"));
    let outs = d.input(Input::Stop);
    assert_eq!(
        commands(&outs),
        vec![
            Command::Ack {
                link,
                envelope_id: "s4".into(),
                payload: None,
            },
            Command::CloseLink { link },
        ]
    );
    assert!(!d.m.timers().is_armed(Timer::AckDeadline));
}

#[test]
fn a_duplicate_of_a_responder_envelope_is_acked_at_once() {
    let mut d = responder();
    let link = d.connect();
    d.envelope(link, slash("s5"));
    let outs = d.envelope(link, slash("s5"));
    assert_eq!(outcomes(&outs), vec![EnvelopeOutcome::Duplicate]);
    assert_eq!(acks(&outs).len(), 1);
}

#[test]
fn events_are_shed_while_max_pending_dispatches_are_unfinished() {
    let mut d = Driver::with(SocketConfig {
        max_pending: 2,
        ..SocketConfig::default()
    });
    let link = d.connect();
    d.envelope(link, event("e1", Some("Ev1")));
    d.envelope(link, event("e2", Some("Ev2")));
    // Full: an event is refused (Slack re-delivers it), neither acked nor dispatched.
    let outs = d.envelope(link, event("e3", Some("Ev3")));
    assert!(commands(&outs).is_empty(), "{outs:?}");
    assert_eq!(outcomes(&outs), vec![EnvelopeOutcome::Shed]);
    // A slash command or an interaction is always accepted: a person is waiting.
    let outs = d.envelope(link, slash("s1"));
    assert_eq!(outcomes(&outs), vec![EnvelopeOutcome::Dispatched]);
    // A duplicate of something accepted is acked (it adds no work).
    let outs = d.envelope(link, event("e1-retry", Some("Ev1")));
    assert_eq!(outcomes(&outs), vec![EnvelopeOutcome::Duplicate]);
    // A handler finishes: the re-delivered event is accepted.
    d.input(Input::Completed {
        envelope_id: "e1".into(),
    });
    d.input(Input::Completed {
        envelope_id: "s1".into(),
    });
    let outs = d.envelope(link, event("e3-retry", Some("Ev3")));
    assert_eq!(outcomes(&outs), vec![EnvelopeOutcome::Dispatched]);
    assert!(matches!(commands(&outs)[0], Command::Ack { .. }));
}

#[test]
fn a_completion_nobody_waits_for_is_counted_ignored() {
    let mut d = Driver::new();
    d.connect();
    let outs = d.input(Input::Completed {
        envelope_id: "never".into(),
    });
    assert!(matches!(
        signals(&outs)[..],
        [Signal::Ignored {
            input: "completed",
            ..
        }]
    ));
}

// Connection facts ---------------------------------------------------------------------------

#[test]
fn hello_and_disconnect_facts_are_signalled() {
    use phantom_fsm::socket::{Disconnect, DisconnectReason, Hello, ServerFrame};
    let mut d = Driver::new();
    d.input(Input::Start);
    let link = d.accept_url();
    let hello = Hello {
        num_connections: Some(4),
        host: Some("applink-7".into()),
        approximate_connection_time: Some(18_060),
        ..Hello::default()
    };
    let outs = d.frame(link, ServerFrame::Hello(hello));
    assert!(signals(&outs).contains(&Signal::ServerHello {
        num_connections: Some(4),
        approximate_connection_time_s: Some(18_060),
        host: Some("applink-7".into()),
    }));
    let outs = d.frame(
        link,
        ServerFrame::Disconnect(Disconnect {
            reason: DisconnectReason::Warning,
            host: Some("applink-7".into()),
        }),
    );
    assert!(signals(&outs).contains(&Signal::ServerDisconnect {
        host: Some("applink-7".into()),
    }));
}

#[test]
fn debug_reconnects_asks_slack_for_short_links_on_every_url() {
    for (url, expected) in [
        (
            "wss://x.invalid/link/?ticket=t",
            "wss://x.invalid/link/?ticket=t&debug_reconnects=true",
        ),
        (
            "wss://x.invalid/link/",
            "wss://x.invalid/link/?debug_reconnects=true",
        ),
    ] {
        let mut d = Driver::with(SocketConfig {
            debug_reconnects: true,
            ..SocketConfig::default()
        });
        d.input(Input::Start);
        let outs = d.answer(phantom_fsm::socket::OpenOutcome::Url(url.into()));
        let opened = commands(&outs).into_iter().find_map(|c| match c {
            Command::OpenLink { url, .. } => Some(url.expose().to_string()),
            _ => None,
        });
        assert_eq!(opened.as_deref(), Some(expected));
    }
    // Off by default: the URL is used as given.
    let mut d = Driver::new();
    d.input(Input::Start);
    let outs = d.answer(phantom_fsm::socket::OpenOutcome::Url(
        "wss://x.invalid/?t=1".into(),
    ));
    assert!(commands(&outs).iter().any(
        |c| matches!(c, Command::OpenLink { url, .. } if url.expose() == "wss://x.invalid/?t=1")
    ));
}

#[test]
fn every_late_response_is_counted_with_its_type_and_an_unknown_one_is_ignored() {
    let mut d = responder();
    let link = d.connect();
    d.envelope(link, slash("late-1"));
    d.envelope(link, slash("late-2"));
    d.advance(2_500); // both acked without a response
    for id in ["late-1", "late-2"] {
        let outs = d.input(Input::Respond {
            envelope_id: id.into(),
            payload: payload(),
        });
        assert_eq!(
            signals(&outs),
            vec![Signal::Envelope {
                kind: "slash_commands",
                outcome: EnvelopeOutcome::LateResponse
            }],
            "{id}"
        );
    }
    let outs = d.input(Input::Respond {
        envelope_id: "never-seen".into(),
        payload: payload(),
    });
    assert!(matches!(
        signals(&outs)[..],
        [Signal::Ignored {
            input: "respond",
            ..
        }]
    ));
}
