//! What real Slack does that a naive machine mishandles (issue 11): a quick stop/start, a
//! call that never answers, closes that follow each other, the new link dying while the old one
//! drains, envelopes read on a closing link. Each test failed before its fix.

use crate::harness::*;
use phantom_fsm::engine::{EnvelopeOutcome, Signal};
use phantom_fsm::socket::{Command, DisconnectReason, Input, LinkId, SocketConfig, Timer};
use std::time::Duration;

/// Connected on `old`, a warning, the standby `new` opened (no `hello` yet).
fn standby_opening(d: &mut Driver) -> (LinkId, LinkId) {
    let old = d.connect();
    d.disconnect(old, DisconnectReason::Warning);
    let new = d.accept_url();
    d.input(Input::LinkOpened { link: new });
    (old, new)
}

/// Handed over from `old` to `new`; `old` drains.
fn handed_over(d: &mut Driver) -> (LinkId, LinkId) {
    let (old, new) = standby_opening(d);
    d.hello(new);
    assert_eq!(d.m.links().draining.map(|l| l.id), Some(old));
    (old, new)
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

// Defect 1 -------------------------------------------------------------------------------

#[test]
fn a_start_while_disconnecting_is_kept_and_acted_on_once_the_links_are_gone() {
    for start in [Input::Start, Input::NewTokens] {
        for peer_answers in [true, false] {
            let mut d = Driver::new();
            let link = d.connect();
            d.input(Input::Stop);
            let outs = d.input(start.clone());
            assert_eq!(d.state(), "disconnecting");
            assert!(
                !has_open_call(&outs),
                "not while the old link is still closing"
            );
            let outs = if peer_answers {
                d.input(Input::LinkClosed { link })
            } else {
                d.fire_next()
            };
            assert_eq!(
                d.state(),
                "connecting",
                "{start:?}, peer answers {peer_answers}"
            );
            assert!(has_open_call(&outs));
            assert!(
                d.m.poll_timeout().is_some(),
                "connecting waits on a deadline"
            );
        }
    }
}

#[test]
fn a_stop_after_the_kept_start_wins() {
    let mut d = Driver::new();
    d.connect();
    d.input(Input::Stop);
    d.input(Input::Start);
    d.input(Input::Stop);
    let outs = d.fire_next();
    assert_eq!(d.state(), "disconnected");
    assert!(!has_open_call(&outs));
    assert_eq!(d.m.poll_timeout(), None);
}

// Defect 2 -------------------------------------------------------------------------------

#[test]
fn an_unanswered_open_call_counts_as_transient_at_its_deadline() {
    let mut d = Driver::new();
    d.input(Input::Start);
    let first = d.request();
    assert_eq!(
        d.m.timers().get(Timer::OpenDeadline).map(|t| t.0),
        Some(15_000)
    );
    assert!(d.advance(14_999).is_empty());
    let outs = d.advance(1);
    assert_eq!(d.state(), "reconnecting");
    assert_eq!(transitions(&outs)[0].event, "open_deadline");
    assert!(d.m.in_flight().is_none());
    d.fire_next();
    assert_eq!(d.state(), "connecting");
    // The first call's answer arrives late: ignored by its request id.
    let outs = d.input(Input::OpenResult {
        request: first,
        outcome: phantom_fsm::socket::OpenOutcome::Url("wss://late.invalid".into()),
    });
    assert!(opened_link(&outs).is_none());
    assert_eq!(d.state(), "connecting");
}

#[test]
fn a_standby_call_that_hangs_is_retried_and_the_active_link_kept() {
    let mut d = Driver::with(SocketConfig {
        ping_interval: Duration::from_secs(60),
        ..SocketConfig::default()
    });
    let link = d.connect();
    d.disconnect(link, DisconnectReason::Warning);
    assert!(d.m.in_flight().is_some());
    d.advance(15_000);
    assert_eq!(d.state(), "connected");
    assert!(d.m.in_flight().is_none());
    assert!(d.m.timers().is_armed(Timer::StandbyRetry));
}

#[test]
fn slack_cutting_the_old_link_while_the_standby_call_hangs_does_not_wait_forever() {
    let mut d = Driver::new();
    let link = d.connect();
    d.disconnect(link, DisconnectReason::Warning);
    d.input(Input::LinkClosed { link });
    assert_eq!(d.state(), "connecting");
    d.fire_next();
    assert_eq!(d.state(), "reconnecting");
}

// Defect 3 -------------------------------------------------------------------------------

#[test]
fn a_stop_during_a_handover_closes_both_links_each_with_its_grace() {
    // Standby opening, and standby active with the old link draining.
    for said_hello in [false, true] {
        let mut d = Driver::new();
        let (old, new) = standby_opening(&mut d);
        if said_hello {
            d.hello(new);
        }
        let outs = d.input(Input::Stop);
        let cmds = commands(&outs);
        assert!(cmds.contains(&Command::CloseLink { link: old }), "{cmds:?}");
        assert!(cmds.contains(&Command::CloseLink { link: new }), "{cmds:?}");
        assert!(
            !cmds.iter().any(|c| matches!(c, Command::DropLink { .. })),
            "a link dropped without its close grace stays a ghost at Slack: {cmds:?}"
        );
        assert!(commands(&d.advance(1_999)).is_empty());
        let outs = d.advance(1);
        let mut dropped: Vec<Command> = commands(&outs);
        dropped.sort_by_key(|c| format!("{c:?}"));
        assert_eq!(
            dropped,
            vec![
                Command::DropLink { link: old },
                Command::DropLink { link: new }
            ]
        );
        assert_eq!(d.state(), "disconnected");
    }
}

#[test]
fn each_closing_link_is_dropped_at_the_end_of_its_own_grace() {
    let mut d = Driver::new();
    let (old, new) = handed_over(&mut d);
    d.advance(1_000); // drain grace: `old` gets its close frame
    assert_eq!(closing_ids(&d), vec![old]);
    d.advance(500);
    d.input(Input::Pong { link: new });
    d.input(Input::Stop); // `new` closes 500 ms after `old`
    assert_eq!(closing_ids(&d), vec![old, new]);
    assert_eq!(
        commands(&d.advance(1_500)),
        vec![Command::DropLink { link: old }]
    );
    assert_eq!(d.state(), "disconnecting");
    assert_eq!(
        commands(&d.advance(500)),
        vec![Command::DropLink { link: new }]
    );
    assert_eq!(d.state(), "disconnected");
}

#[test]
fn too_many_websockets_on_the_active_link_keeps_the_opening_standby() {
    let mut d = Driver::new();
    let (old, new) = standby_opening(&mut d);
    let outs = d.disconnect(old, DisconnectReason::TooManyWebsockets);
    assert_eq!(commands(&outs), vec![Command::CloseLink { link: old }]);
    assert_eq!(d.state(), "authenticated");
    assert_eq!(d.m.links().pending.map(|p| p.id), Some(new));
    d.hello(new);
    assert_eq!(d.state(), "connected");
}

#[test]
fn too_many_websockets_on_the_standby_keeps_the_active_link() {
    let mut d = Driver::new();
    let (old, new) = standby_opening(&mut d);
    let outs = d.disconnect(new, DisconnectReason::TooManyWebsockets);
    assert_eq!(commands(&outs), vec![Command::CloseLink { link: new }]);
    assert_eq!(d.state(), "connected");
    assert_eq!(d.m.links().active.map(|a| a.id), Some(old));
}

// Defect 4 -------------------------------------------------------------------------------

#[test]
fn the_draining_link_becomes_active_again_when_the_new_one_dies() {
    for kill in ["closed", "too_many_websockets", "pong_deadline"] {
        // A drain grace long enough for the new link's pong deadline to pass within it.
        let mut d = Driver::with(SocketConfig {
            drain_grace: Duration::from_secs(30),
            ..SocketConfig::default()
        });
        let (old, new) = handed_over(&mut d);
        let outs = match kill {
            "closed" => d.input(Input::LinkClosed { link: new }),
            "too_many_websockets" => d.disconnect(new, DisconnectReason::TooManyWebsockets),
            _ => {
                // The new link goes silent; the old one still answers (it is not pinged).
                let mut outs = Vec::new();
                while d.m.links().active.map(|a| a.id) == Some(new) {
                    outs = d.fire_next();
                }
                outs
            }
        };
        assert_eq!(d.state(), "connected", "{kill}");
        assert!(
            transitions(&outs).is_empty(),
            "{kill}: no gap, no transition"
        );
        assert_eq!(d.m.links().active.map(|a| a.id), Some(old), "{kill}");
        assert!(d.m.links().draining.is_none());
        assert!(!commands(&outs).contains(&Command::CloseLink { link: old }));
        assert!(
            has_open_call(&outs),
            "{kill}: Slack had asked `old` to go: a new standby"
        );
        // `old` acks again as the active link, and is pinged.
        let outs = d.envelope(old, event("on-revived", Some("EvR")));
        assert_eq!(
            commands(&outs)[0],
            Command::Ack {
                link: old,
                envelope_id: "on-revived".into(),
                payload: None
            }
        );
        assert!(d.m.timers().is_armed(Timer::PingDue));
    }
}

// Defect 5 -------------------------------------------------------------------------------

#[test]
fn an_envelope_on_a_closing_link_is_dispatched_and_its_ack_tried_on_the_active_link() {
    let mut d = Driver::new();
    let (old, new) = handed_over(&mut d);
    d.advance(1_000);
    assert_eq!(closing_ids(&d), vec![old]);
    let outs = d.envelope(old, slash("slash-on-closing"));
    let cmds = commands(&outs);
    assert_eq!(
        cmds[0],
        Command::Ack {
            link: new,
            envelope_id: "slash-on-closing".into(),
            payload: None
        }
    );
    assert!(matches!(&cmds[1], Command::Remember { key, .. } if key == "env:slash-on-closing"));
    assert!(matches!(&cmds[2], Command::Dispatch { link, .. } if *link == old));
    assert_eq!(outcomes(&outs), vec![EnvelopeOutcome::Unackable]);

    // Slack retries an events_api envelope it saw unacked: acked on the live link, not
    // dispatched again.
    let outs = d.envelope(old, event("ev-on-closing", Some("EvC")));
    assert!(
        commands(&outs)
            .iter()
            .any(|c| matches!(c, Command::Dispatch { .. }))
    );
    let outs = d.envelope(new, event("ev-retry", Some("EvC")));
    assert_eq!(
        commands(&outs),
        vec![Command::Ack {
            link: new,
            envelope_id: "ev-retry".into(),
            payload: None
        }]
    );
    assert_eq!(outcomes(&outs), vec![EnvelopeOutcome::Duplicate]);
}

#[test]
fn an_envelope_read_while_stopping_still_reaches_its_handler() {
    let mut d = Driver::new();
    let link = d.connect();
    d.input(Input::Stop);
    let outs = d.envelope(link, slash("slash-while-stopping"));
    let cmds = commands(&outs);
    assert!(
        matches!(
            &cmds[..],
            [Command::Remember { .. }, Command::Dispatch { .. }]
        ),
        "{cmds:?}"
    );
    assert_eq!(outcomes(&outs), vec![EnvelopeOutcome::Unackable]);
}

// Found by the new "no ghost" invariant -----------------------------------------------------

#[test]
fn a_standby_that_sent_a_frame_is_closed_not_dropped_when_given_up() {
    // `link_opened` is late: the frame proves the handshake completed, so the link must get a
    // close frame (dropped without one, it would stay registered at Slack as a ghost).
    let mut d = Driver::new();
    let old = d.connect();
    d.disconnect(old, DisconnectReason::Warning);
    let new = d.accept_url();
    let outs = d.disconnect(new, DisconnectReason::RefreshRequested);
    assert_eq!(commands(&outs), vec![Command::CloseLink { link: new }]);
    assert_eq!(d.state(), "connected");
}
