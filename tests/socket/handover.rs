//! Planned refreshes: a standby link is opened and said `hello` before the old one is closed,
//! so there is no instant without an active link, and the old link keeps acking while it drains.

use crate::harness::*;
use phantom_fsm::engine::Signal;
use phantom_fsm::socket::DisconnectReason;
use phantom_fsm::socket::{Command, Input, LinkId, OpenOutcome, Timer};

/// Connected on `old`, Slack asks to leave it: returns (old, standby).
fn refresh(d: &mut Driver, reason: DisconnectReason) -> (LinkId, LinkId) {
    let old = d.connect();
    d.advance(30_000);
    d.input(Input::Pong { link: old });
    let outs = d.disconnect(old, reason);
    assert!(has_open_call(&outs), "a standby is requested at once");
    assert_eq!(d.state(), "connected");
    let standby = d.accept_url();
    assert_eq!(d.state(), "connected");
    d.input(Input::LinkOpened { link: standby });
    (old, standby)
}

#[test]
fn handover_on_warning_refresh_and_unknown_reasons_keeps_connected() {
    for reason in [
        DisconnectReason::Warning,
        DisconnectReason::RefreshRequested,
        DisconnectReason::Other("something_new".into()),
    ] {
        let mut d = Driver::new();
        let (old, standby) = refresh(&mut d, reason.clone());
        assert_eq!(d.m.links().active.unwrap().id, old);
        assert_eq!(d.m.links().open_count(), 2, "active and standby");
        let outs = d.hello(standby);
        assert_eq!(d.state(), "connected", "{reason:?}");
        assert!(
            transitions(&outs).is_empty(),
            "a handover is not a transition"
        );
        assert_eq!(d.m.links().active.unwrap().id, standby);
        assert_eq!(d.m.links().draining.map(|l| l.id), Some(old));
        assert_eq!(d.m.links().open_count(), 2, "active and draining");
        let sigs = signals(&outs);
        assert!(sigs.contains(&Signal::Handover));
        assert!(sigs.contains(&Signal::LinkEnded {
            lifetime_ms: 30_000
        }));
    }
}

#[test]
fn old_link_acks_and_dispatches_during_drain_then_is_closed_then_dropped() {
    let mut d = Driver::new();
    let (old, standby) = refresh(&mut d, DisconnectReason::Warning);
    d.hello(standby);
    let t0 = d.now.mono.0;
    assert_eq!(d.m.timers().get(Timer::DrainGrace).unwrap().0, t0 + 1_000);

    d.advance(500);
    let outs = d.envelope(old, event("late-on-old", Some("Ev1")));
    assert_eq!(
        commands(&outs)[0],
        Command::Ack {
            link: old,
            envelope_id: "late-on-old".into(),
            payload: None
        }
    );
    assert!(matches!(commands(&outs)[2], Command::Dispatch { link, .. } if link == old));

    let outs = d.advance(500);
    assert_eq!(commands(&outs), vec![Command::CloseLink { link: old }]);
    assert_eq!(closing_ids(&d), vec![old]);

    // Close frame sent: nothing more may be written on it; the ack is tried on the new link.
    let outs = d.envelope(old, event("after-close", Some("Ev2")));
    assert_eq!(
        commands(&outs)[0],
        Command::Ack {
            link: standby,
            envelope_id: "after-close".into(),
            payload: None
        }
    );
    assert!(matches!(
        signals(&outs)[..],
        [Signal::Envelope {
            outcome: phantom_fsm::engine::EnvelopeOutcome::Unackable,
            ..
        }]
    ));

    assert!(commands(&d.advance(1_999)).is_empty());
    let outs = d.advance(1);
    assert_eq!(commands(&outs), vec![Command::DropLink { link: old }]);
    assert_eq!(d.state(), "connected");
    assert!(d.m.links().closing.is_empty());
}

#[test]
fn there_is_no_instant_without_an_active_link_during_a_handover() {
    let mut d = Driver::new();
    let (old, standby) = refresh(&mut d, DisconnectReason::RefreshRequested);
    let mut script: Vec<Input> = vec![
        Input::Frame {
            link: standby,
            frame: phantom_fsm::socket::ServerFrame::Hello(Default::default()),
        },
        Input::Pong { link: old },
    ];
    script.extend((0..5).map(|_| Input::Timeout));
    for input in script {
        d.now = d.now.after(std::time::Duration::from_millis(700));
        d.input(input);
        assert_eq!(d.state(), "connected");
        assert!(d.m.links().active.is_some());
    }
}

#[test]
fn old_link_dying_before_the_standby_hello_goes_to_authenticated() {
    let mut d = Driver::new();
    let (old, standby) = refresh(&mut d, DisconnectReason::Warning);
    let outs = d.input(Input::LinkClosed { link: old });
    assert_eq!(d.state(), "authenticated");
    assert_eq!(transitions(&outs)[0].event, "link_closed");
    let outs = d.hello(standby);
    assert_eq!(d.state(), "connected");
    assert_eq!(transitions(&outs)[0].event, "hello");
    assert_eq!(d.m.links().active.unwrap().id, standby);
}

#[test]
fn old_link_dying_while_the_standby_url_is_fetched_goes_to_connecting() {
    let mut d = Driver::new();
    let old = d.connect();
    d.disconnect(old, DisconnectReason::Warning);
    d.input(Input::LinkError { link: old });
    assert_eq!(d.state(), "connecting");
    d.accept_url();
    assert_eq!(d.state(), "authenticated");
}

#[test]
fn a_failing_standby_keeps_connected_and_is_retried_after_backoff() {
    for failure in ["transient", "rate_limited", "link_error", "hello_deadline"] {
        let mut d = Driver::new();
        let old = d.connect();
        d.disconnect(old, DisconnectReason::Warning);
        match failure {
            "transient" => {
                d.answer(OpenOutcome::Transient);
            }
            "rate_limited" => {
                d.answer(OpenOutcome::RateLimited {
                    retry_after_ms: Some(7_000),
                });
                assert!(d.m.timers().get(Timer::StandbyRetry).unwrap().0 >= d.now.mono.0 + 7_000);
            }
            "link_error" => {
                let standby = d.accept_url();
                d.input(Input::LinkError { link: standby });
            }
            _ => {
                d.accept_url();
                while d.m.links().pending.is_some() {
                    d.fire_next();
                    d.input(Input::Pong { link: old });
                }
            }
        }
        assert_eq!(d.state(), "connected", "{failure}");
        assert_eq!(d.m.links().active.unwrap().id, old);
        assert!(d.m.timers().is_armed(Timer::StandbyRetry), "{failure}");
        // Keep the old link alive until the retry fires.
        let mut retried = false;
        for _ in 0..20 {
            let outs = d.fire_next();
            d.input(Input::Pong { link: old });
            if has_open_call(&outs) {
                retried = true;
                break;
            }
        }
        assert!(retried, "{failure}: standby retried");
        assert_eq!(d.state(), "connected");
    }
}

#[test]
fn at_most_two_links_open_and_one_closing_across_repeated_refreshes() {
    let mut d = Driver::new();
    let mut active = d.connect();
    for _ in 0..5 {
        d.disconnect(active, DisconnectReason::Warning);
        // A second warning during the handover does not open a third link.
        d.disconnect(active, DisconnectReason::RefreshRequested);
        let standby = d.accept_url();
        d.hello(standby);
        // Slack asks to leave the new link while the old one still drains: wait for the drain.
        d.disconnect(standby, DisconnectReason::Warning);
        assert!(d.m.in_flight().is_none(), "no standby while a link drains");
        assert!(d.m.links().open_count() <= 2);
        d.fire_next(); // drain grace: the old link closes, then the wanted standby is requested
        assert!(d.m.in_flight().is_some());
        assert!(d.m.links().open_count() <= 2);
        assert!(!d.m.links().closing.is_empty());
        let next = d.accept_url();
        d.hello(next);
        assert_eq!(d.m.links().active.unwrap().id, next);
        assert!(d.m.links().open_count() <= 2);
        while d.m.links().draining.is_some() || !d.m.links().closing.is_empty() {
            d.fire_next();
            d.input(Input::Pong { link: next });
            assert!(d.m.links().open_count() <= 2);
        }
        active = next;
    }
    assert_eq!(d.state(), "connected");
}
