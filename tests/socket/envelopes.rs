//! Ack first, dispatch after, never twice within the window.

use crate::harness::*;
use phantom_fsm::engine::{EnvelopeOutcome, Machine, Now, Output, Signal, UnixMs};
use phantom_fsm::socket::{Command, Input, SocketConfig, SocketMode};

fn outcome(outs: &Outs) -> EnvelopeOutcome {
    signals(outs)
        .into_iter()
        .find_map(|s| match s {
            Signal::Envelope { outcome, .. } => Some(outcome),
            _ => None,
        })
        .expect("an envelope signal")
}

#[test]
fn an_envelope_is_acked_before_it_is_dispatched() {
    let mut d = Driver::new();
    let link = d.connect();
    let outs = d.envelope(link, event("e1", Some("Ev1")));
    let cmds = commands(&outs);
    assert_eq!(
        cmds[0],
        Command::Ack {
            link,
            envelope_id: "e1".into(),
            payload: None
        }
    );
    assert_eq!(
        cmds[1],
        Command::Remember {
            key: "ev:Ev1".into(),
            at_unix: d.now.unix
        }
    );
    assert!(matches!(&cmds[2], Command::Dispatch { envelope, .. } if envelope.envelope_id == "e1"));
    assert_eq!(cmds.len(), 3);
    assert_eq!(
        signals(&outs),
        vec![Signal::Envelope {
            kind: "events_api",
            outcome: EnvelopeOutcome::Dispatched
        }]
    );
}

#[test]
fn a_duplicate_is_acked_and_not_dispatched() {
    let mut d = Driver::new();
    let link = d.connect();
    d.envelope(link, event("e1", Some("Ev1")));
    // Slack re-delivers the same event in a new envelope (retry), and the same envelope.
    for envelope_id in ["e2", "e1"] {
        let outs = d.envelope(link, event(envelope_id, Some("Ev1")));
        assert_eq!(
            commands(&outs),
            vec![Command::Ack {
                link,
                envelope_id: envelope_id.into(),
                payload: None
            }]
        );
        assert_eq!(outcome(&outs), EnvelopeOutcome::Duplicate);
    }
}

#[test]
fn envelopes_without_event_id_dedupe_by_envelope_id() {
    let mut d = Driver::new();
    let link = d.connect();
    assert_eq!(
        outcome(&d.envelope(link, slash("s1"))),
        EnvelopeOutcome::Dispatched
    );
    assert_eq!(
        outcome(&d.envelope(link, slash("s1"))),
        EnvelopeOutcome::Duplicate
    );
    assert_eq!(
        outcome(&d.envelope(link, slash("s2"))),
        EnvelopeOutcome::Dispatched
    );
    assert_eq!(
        outcome(&d.envelope(link, event("e9", None))),
        EnvelopeOutcome::Dispatched
    );
    assert!(d.m.dedupe().contains("env:e9"));
}

#[test]
fn a_key_is_forgotten_after_the_ttl() {
    let mut d = Driver::new();
    let link = d.connect();
    d.envelope(link, event("e1", Some("Ev1")));
    d.now = d.now.after(std::time::Duration::from_secs(3_599));
    d.input(Input::Pong { link });
    assert_eq!(
        outcome(&d.envelope(link, event("e2", Some("Ev1")))),
        EnvelopeOutcome::Duplicate
    );
    d.now = d.now.after(std::time::Duration::from_secs(2));
    assert_eq!(
        outcome(&d.envelope(link, event("e3", Some("Ev1")))),
        EnvelopeOutcome::Dispatched
    );
}

#[test]
fn keys_loaded_at_start_are_duplicates() {
    let now = Now::fake(0);
    let seen = vec![("ev:EvOld".to_string(), UnixMs(now.unix.0 - 60_000))];
    let mut d = Driver::new();
    d.m = SocketMode::with_seen(SocketConfig::default(), seen);
    let link = d.connect();
    assert_eq!(
        outcome(&d.envelope(link, event("e1", Some("EvOld")))),
        EnvelopeOutcome::Duplicate
    );
}

#[test]
fn the_window_is_bounded() {
    let mut d = Driver::with(SocketConfig {
        dedupe_capacity: 3,
        ..SocketConfig::default()
    });
    let link = d.connect();
    for i in 0..10 {
        d.envelope(link, slash(&format!("s{i}")));
    }
    assert_eq!(d.m.dedupe().len(), 3);
    assert!(d.m.dedupe().contains("env:s9"));
    assert!(!d.m.dedupe().contains("env:s0"));
}

#[test]
fn an_envelope_on_an_unknown_link_is_ignored() {
    let mut d = Driver::new();
    d.connect();
    let outs = d.envelope(phantom_fsm::socket::LinkId(99), slash("x"));
    assert!(commands(&outs).is_empty());
    assert!(matches!(outs[..], [Output::Signal(Signal::Ignored { .. })]));
}

#[test]
fn raw_frames_are_decoded_or_rejected_with_a_reason() {
    let mut d = Driver::new();
    let link = d.connect();
    d.m.handle_text(d.now, link, r#"{"envelope_id":"r1","type":"events_api","payload":{"event_id":"EvR","event":{"type":"message"}},"extra":1}"#);
    let outs = d.m.drain();
    assert!(matches!(commands(&outs)[0], Command::Ack { .. }));
    for (text, reason) in [
        ("not json", "invalid_json"),
        (
            r#"{"type":"events_api","payload":{}}"#,
            "missing_envelope_id",
        ),
        (r#"{"type":"brand_new"}"#, "unknown_type"),
    ] {
        d.m.handle_text(d.now, link, text);
        let outs = d.m.drain();
        assert!(commands(&outs).is_empty());
        match &signals(&outs)[..] {
            [Signal::FrameRejected { reason: r }] => assert_eq!(r.as_str(), reason),
            other => panic!("{text}: {other:?}"),
        }
    }
    let big = format!(r#"{{"type":"hello","pad":"{}"}}"#, "x".repeat(2 << 20));
    d.m.handle_text(d.now, link, &big);
    assert!(matches!(
        signals(&d.m.drain())[..],
        [Signal::FrameRejected {
            reason: phantom_fsm::engine::FrameRejectReason::Oversize
        }]
    ));
}

#[test]
fn the_window_is_pruned_by_the_passage_of_time_alone() {
    let mut d = Driver::new();
    let link = d.connect();
    d.envelope(link, event("e1", Some("Ev1")));
    assert_eq!(d.m.dedupe().len(), 1);
    assert!(!d.m.dedupe().is_empty());
    for _ in 0..800 {
        d.advance(5_000); // ping
        d.input(Input::Pong { link });
    }
    assert_eq!(d.state(), "connected");
    assert!(
        d.m.dedupe().is_empty(),
        "expired keys are forgotten without new envelopes"
    );
}
