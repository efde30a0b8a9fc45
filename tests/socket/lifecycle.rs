//! Connect, fail, back off, probe, stop.

use crate::harness::*;
use phantom_fsm::engine::{Output, Signal};
use phantom_fsm::socket::DisconnectReason;
use phantom_fsm::socket::{
    Command, Input, LinkId, OpenOutcome, RequestId, SocketConfig, Timer, UNRECOVERABLE_OPEN_CODES,
};

#[test]
fn happy_path_reaches_connected_with_exact_outputs() {
    let mut d = Driver::new();
    let outs = d.input(Input::Start);
    assert_eq!(
        commands(&outs),
        vec![Command::OpenConnection {
            request: RequestId(1)
        }]
    );
    assert_eq!(d.state(), "connecting");
    let outs = d.answer(OpenOutcome::Url("wss://x.invalid/link".into()));
    assert_eq!(
        commands(&outs),
        vec![Command::OpenLink {
            link: LinkId(1),
            url: "wss://x.invalid/link".into()
        }]
    );
    assert_eq!(d.state(), "authenticated");
    assert!(!d.m.is_connected(), "no envelopes before hello");
    assert_eq!(d.m.timers().get(Timer::HelloDeadline).unwrap().0, 10_000);
    assert!(commands(&d.input(Input::LinkOpened { link: LinkId(1) })).is_empty());
    d.now = d.now.after(std::time::Duration::from_millis(250));
    let outs = d.hello(LinkId(1));
    assert!(commands(&outs).is_empty());
    let t = &transitions(&outs)[0];
    assert_eq!(
        (t.from, t.to, t.event),
        ("authenticated", "connected", "hello")
    );
    assert_eq!(t.at.0, 250);
    assert!(d.m.is_connected());
    assert_eq!(d.m.timers().get(Timer::HelloDeadline), None);
    assert_eq!(d.m.timers().get(Timer::PingDue).unwrap().0, 5_250);
}

#[test]
fn every_unrecoverable_code_enters_error_and_reprobes_after_five_minutes() {
    for code in UNRECOVERABLE_OPEN_CODES {
        let mut d = Driver::new();
        d.input(Input::Start);
        let outs = d.answer(OpenOutcome::Unrecoverable {
            code: code.to_string(),
        });
        assert_eq!(d.state(), "error", "{code}");
        assert_eq!(d.m.error_code(), Some(*code));
        assert_eq!(transitions(&outs)[0].event, "open_unrecoverable");
        assert_eq!(d.m.poll_timeout().unwrap().0, 300_000, "{code}");
        assert!(commands(&d.advance(299_999)).is_empty());
        assert_eq!(d.state(), "error");
        let outs = d.advance(1);
        assert!(has_open_call(&outs));
        assert_eq!(transitions(&outs)[0].event, "reprobe");
        assert_eq!(d.state(), "connecting");
    }
}

#[test]
fn link_disabled_enters_error_from_authenticated_and_connected() {
    let mut d = Driver::new();
    let link = d.connect();
    let outs = d.disconnect(link, DisconnectReason::LinkDisabled);
    assert_eq!(d.state(), "error");
    assert_eq!(d.m.error_code(), Some("link_disabled"));
    assert!(commands(&outs).contains(&Command::CloseLink { link }));

    let mut d = Driver::new();
    d.input(Input::Start);
    let link = d.accept_url();
    d.input(Input::LinkOpened { link });
    d.disconnect(link, DisconnectReason::LinkDisabled);
    assert_eq!(d.state(), "error");
}

#[test]
fn new_tokens_and_start_leave_error_at_once() {
    for input in [Input::NewTokens, Input::Start] {
        let mut d = Driver::new();
        d.input(Input::Start);
        d.answer(OpenOutcome::Unrecoverable {
            code: "token_revoked".into(),
        });
        let outs = d.input(input);
        assert!(has_open_call(&outs));
        assert_eq!(d.state(), "connecting");
        assert_eq!(d.m.timers().get(Timer::Reprobe), None);
    }
}

#[test]
fn rate_limited_waits_at_least_retry_after() {
    for seed in 0..20 {
        let mut d = Driver::with(SocketConfig {
            seed,
            ..SocketConfig::default()
        });
        d.input(Input::Start);
        let outs = d.answer(OpenOutcome::RateLimited {
            retry_after_ms: Some(20_000),
        });
        assert_eq!(d.state(), "reconnecting");
        assert!(retry_delay(&outs) >= 20_000);
        let at = d.m.poll_timeout().unwrap().0;
        assert!(at >= 20_000);
        assert!(!has_open_call(&d.advance(at - 1)));
        assert_eq!(d.state(), "reconnecting");
        assert!(has_open_call(&d.advance(1)));
        assert_eq!(d.state(), "connecting");
    }
}

#[test]
fn transient_failures_back_off_with_growing_jittered_delays() {
    let attempts = 7;
    let mut sums = vec![0u64; attempts];
    let mut distinct = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let mut d = Driver::with(SocketConfig {
            seed,
            ..SocketConfig::default()
        });
        d.input(Input::Start);
        for (n, sum) in sums.iter_mut().enumerate() {
            let delay = retry_delay(&d.answer(OpenOutcome::Transient));
            let ceiling = (1_000u64 << n).min(30_000);
            assert!(delay <= ceiling, "attempt {n}: {delay} > {ceiling}");
            *sum += delay;
            if n == 3 {
                distinct.insert(delay);
            }
            d.fire_next();
            assert_eq!(d.state(), "connecting");
        }
    }
    // Full jitter: delays differ between instances; their mean grows with the attempt until
    // the cap.
    assert!(distinct.len() > 100, "jitter too weak: {}", distinct.len());
    for n in 1..attempts {
        if (1_000u64 << n) <= 30_000 {
            assert!(sums[n] > sums[n - 1], "mean did not grow at attempt {n}");
        }
    }
}

#[test]
fn backoff_resets_after_a_link_that_stayed_connected_sixty_seconds() {
    // Full jitter makes one delay prove little: over many seeds, the delay after a short-lived
    // link (attempt 7, ceiling 30 s) is mostly above the base, and the delay after a link that
    // lived 60 s never is.
    let mut above_base = 0;
    let seeds = 50;
    for seed in 0..seeds {
        let mut d = Driver::with(SocketConfig {
            seed,
            ..SocketConfig::default()
        });
        d.input(Input::Start);
        for _ in 0..6 {
            d.answer(OpenOutcome::Transient);
            d.fire_next();
        }
        // Short-lived link: the backoff keeps growing.
        let link = d.accept_url();
        d.hello(link);
        d.advance(1_000);
        let outs = d.input(Input::LinkClosed { link });
        assert_eq!(d.state(), "reconnecting");
        let short = retry_delay(&outs);
        assert!(short <= 30_000, "the cap is 30 s: {short}");
        if short > 1_000 {
            above_base += 1;
        }
        d.fire_next();
        // A link that lived 60 s resets it: the next delay is at most the base (1 s).
        let link = d.accept_url();
        d.hello(link);
        for _ in 0..12 {
            d.advance(5_000);
            d.input(Input::Pong { link });
        }
        assert_eq!(d.state(), "connected");
        let outs = d.input(Input::LinkClosed { link });
        assert_eq!(d.state(), "reconnecting");
        assert!(retry_delay(&outs) <= 1_000, "seed {seed}: not reset");
        let ended: Vec<_> = signals(&outs)
            .into_iter()
            .filter(|s| {
                matches!(
                    s,
                    Signal::LinkEnded {
                        lifetime_ms: 60_000
                    }
                )
            })
            .collect();
        assert_eq!(ended.len(), 1);
    }
    // Reset after the short link, every delay would be at most 1 s; not reset, a delay drawn
    // uniformly up to 30 s is above 1 s in about 29 cases out of 30.
    assert!(
        above_base * 10 >= seeds * 8,
        "the backoff did not keep growing after a short-lived link: {above_base}/{seeds}"
    );
}

#[test]
fn hello_deadline_leads_to_reconnecting() {
    let mut d = Driver::new();
    d.input(Input::Start);
    let link = d.accept_url();
    d.input(Input::LinkOpened { link });
    assert!(commands(&d.advance(9_999)).is_empty());
    let outs = d.advance(1);
    assert_eq!(d.state(), "reconnecting");
    assert_eq!(transitions(&outs)[0].event, "hello_deadline");
    assert!(commands(&outs).contains(&Command::CloseLink { link }));
}

#[test]
fn a_silent_link_is_found_dead_within_ten_seconds() {
    let mut d = Driver::new();
    let link = d.connect();
    let outs = d.advance(5_000);
    assert_eq!(commands(&outs), vec![Command::Ping { link }]);
    assert_eq!(d.m.timers().get(Timer::PongDeadline).unwrap().0, 10_000);
    let outs = d.advance(4_999);
    assert!(commands(&outs).is_empty());
    assert_eq!(d.state(), "connected");
    let outs = d.advance(1);
    assert_eq!(d.state(), "reconnecting");
    assert!(commands(&outs).contains(&Command::DropLink { link }));
    assert!(signals(&outs).contains(&Signal::LinkEnded {
        lifetime_ms: 10_000
    }));
    assert_eq!(transitions(&outs)[0].event, "pong_deadline");
}

/// The order of time: a frame stamped exactly at its link's pong deadline was read before the
/// deadline fired, so the input is handled first and the link is kept (regression: the machine
/// used to fire the deadline first and drop a live link).
#[test]
fn a_pong_or_frame_handled_exactly_at_the_pong_deadline_keeps_the_link() {
    for frame in 0..3 {
        let mut d = Driver::new();
        let link = d.connect();
        assert_eq!(commands(&d.advance(5_000)), vec![Command::Ping { link }]);
        let deadline = d.m.poll_timeout().unwrap();
        assert_eq!(deadline.0, 10_000, "the pong deadline is the earliest");
        d.now = d.now.advanced_to(deadline);
        let outs = match frame {
            0 => d.input(Input::Pong { link }),
            1 => d.envelope(link, slash("at-deadline")),
            _ => d.input(Input::FrameRejected {
                link,
                reason: phantom_fsm::engine::FrameRejectReason::UnknownType,
            }),
        };
        assert_eq!(d.state(), "connected", "frame {frame}: {outs:?}");
        assert!(transitions(&outs).is_empty(), "frame {frame}: {outs:?}");
        assert!(!commands(&outs).contains(&Command::DropLink { link }));
        // The ping due at the same moment fired after the frame and armed a new deadline.
        assert!(
            commands(&outs).ends_with(&[Command::Ping { link }]),
            "{outs:?}"
        );
        assert_eq!(d.m.timers().get(Timer::PongDeadline).unwrap().0, 15_000);
        // A link silent after that ping is still found dead.
        let outs = d.advance(5_000);
        assert_eq!(d.state(), "reconnecting");
        assert_eq!(transitions(&outs)[0].event, "pong_deadline");
    }
}

#[test]
fn any_frame_after_a_ping_keeps_the_link_alive() {
    let mut d = Driver::new();
    let link = d.connect();
    for step in 0..10 {
        let outs = d.advance(5_000);
        assert_eq!(commands(&outs), vec![Command::Ping { link }], "step {step}");
        d.advance(100);
        match step % 3 {
            0 => d.input(Input::Pong { link }),
            1 => d.envelope(link, slash(&format!("e{step}"))),
            _ => d.input(Input::FrameRejected {
                link,
                reason: phantom_fsm::engine::FrameRejectReason::UnknownType,
            }),
        };
    }
    assert_eq!(d.state(), "connected");
}

#[test]
fn too_many_websockets_leads_to_reconnecting() {
    let mut d = Driver::new();
    let link = d.connect();
    let outs = d.disconnect(link, DisconnectReason::TooManyWebsockets);
    assert_eq!(d.state(), "reconnecting");
    assert!(commands(&outs).contains(&Command::CloseLink { link }));
    assert_eq!(
        transitions(&outs)[0].event,
        "disconnect_too_many_websockets"
    );
}

#[test]
fn a_lost_link_without_standby_backs_off_then_reconnects() {
    let mut d = Driver::new();
    let link = d.connect();
    let outs = d.input(Input::LinkError { link });
    assert_eq!(d.state(), "reconnecting");
    assert!(commands(&outs).is_empty(), "the socket is already gone");
    let outs = d.fire_next();
    assert!(has_open_call(&outs));
    assert_eq!(d.state(), "connecting");
}

#[test]
fn stop_from_every_state_reaches_disconnected() {
    type Setup = fn(&mut Driver);
    let setups: [(&str, Setup); 7] = [
        ("disconnected", |_| {}),
        ("connecting", |d| {
            d.input(Input::Start);
        }),
        ("authenticated", |d| {
            d.input(Input::Start);
            let link = d.accept_url();
            d.input(Input::LinkOpened { link });
        }),
        ("connected", |d| {
            d.connect();
        }),
        ("reconnecting", |d| {
            d.input(Input::Start);
            d.answer(OpenOutcome::Transient);
        }),
        ("disconnecting", |d| {
            d.connect();
            d.input(Input::Stop);
        }),
        ("error", |d| {
            d.input(Input::Start);
            d.answer(OpenOutcome::Unrecoverable {
                code: "invalid_auth".into(),
            });
        }),
    ];
    for (name, setup) in setups {
        // Peer answers the close frame, and peer never answers it.
        for peer_answers in [true, false] {
            let mut d = Driver::new();
            setup(&mut d);
            assert_eq!(d.state(), name);
            d.input(Input::Stop);
            if peer_answers {
                for link in closing_ids(&d) {
                    d.input(Input::LinkClosed { link });
                }
            }
            while d.state() != "disconnected" {
                d.fire_next();
            }
            assert!(d.m.links().is_empty(), "{name}: links left");
            assert_eq!(d.m.poll_timeout(), None, "{name}: timers left");
        }
    }
}

#[test]
fn a_close_frame_never_answered_is_dropped_after_the_grace() {
    let mut d = Driver::new();
    let link = d.connect();
    let outs = d.input(Input::Stop);
    assert_eq!(commands(&outs), vec![Command::CloseLink { link }]);
    assert_eq!(d.state(), "disconnecting");
    assert!(commands(&d.advance(1_999)).is_empty());
    let outs = d.advance(1);
    assert_eq!(commands(&outs), vec![Command::DropLink { link }]);
    assert_eq!(d.state(), "disconnected");
    assert_eq!(transitions(&outs)[0].event, "close_grace");
}

#[test]
fn a_stale_open_answer_is_ignored_and_counted() {
    let mut d = Driver::new();
    d.input(Input::Start);
    let old = d.request();
    d.input(Input::Stop);
    d.input(Input::Start);
    let outs = d.input(Input::OpenResult {
        request: old,
        outcome: OpenOutcome::Url("wss://stale.invalid".into()),
    });
    assert_eq!(d.state(), "connecting");
    assert!(commands(&outs).is_empty());
    assert!(matches!(
        signals(&outs)[..],
        [Signal::Ignored {
            state: "connecting",
            input: "open_ok",
            ..
        }]
    ));
}

#[test]
fn inputs_with_nothing_to_do_are_counted_not_fatal() {
    let mut d = Driver::new();
    for input in [
        Input::Stop,
        Input::NewTokens,
        Input::LinkClosed { link: LinkId(42) },
        Input::Pong { link: LinkId(42) },
    ] {
        let outs = d.input(input.clone());
        assert_eq!(d.state(), "disconnected");
        assert!(commands(&outs).is_empty());
        assert!(
            matches!(
                signals(&outs)[..],
                [Signal::Ignored {
                    state: "disconnected",
                    ..
                }]
            ),
            "{input:?} not counted: {outs:?}"
        );
    }
    // A bare wake-up with nothing due is not an input to count.
    assert!(d.input(Input::Timeout).is_empty());
    // A hello's facts are Slack's view and are signalled; the frame itself has nothing to do.
    let outs = d.hello(LinkId(7));
    assert!(matches!(
        outs[..],
        [
            Output::Signal(Signal::ServerHello { .. }),
            Output::Signal(Signal::Ignored { .. })
        ]
    ));
}

/// The URL from `apps.connections.open` carries a ticket: no `Debug` output shows it, neither
/// the input that brings it, the command that uses it, nor the machine's own `Debug`.
#[test]
fn link_urls_are_redacted_in_every_debug() {
    let secret = "wss://wss-primary.slack.com/link/?ticket=s3cr3t-t1ck3t&app_id=A1";
    let mut d = Driver::new();
    d.input(Input::Start);
    let input = Input::OpenResult {
        request: d.request(),
        outcome: OpenOutcome::Url(secret.into()),
    };
    let shown = format!("{input:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(shown.contains("wss-primary.slack.com"), "{shown}");
    let outs = d.input(input);
    let shown = format!("{outs:?} {:?}", d.m);
    assert!(!shown.contains("s3cr3t"), "{shown}");
    let Some(Command::OpenLink { url, .. }) = commands(&outs).into_iter().next() else {
        panic!("{outs:?}")
    };
    assert_eq!(url.expose(), secret, "the shell still gets the whole URL");
}

/// A pong on a link the machine knows is bookkeeping, not an ignored input; on a link it does
/// not know, it is counted as ignored.
#[test]
fn a_pong_on_a_known_link_is_not_counted_as_ignored() {
    let mut d = Driver::new();
    let link = d.connect();
    let outs = d.input(Input::Pong { link });
    assert!(outs.is_empty(), "{outs:?}");
    let outs = d.input(Input::Pong { link: LinkId(99) });
    assert!(matches!(
        signals(&outs)[..],
        [Signal::Ignored { input: "pong", .. }]
    ));
}

/// A restart forgets every link, call, deadline and deferred ack: a restored machine in any
/// state resumes idle, with nothing armed and nothing owed.
#[test]
fn a_restart_forgets_links_calls_deadlines_and_deferred_acks() {
    let mut d = Driver::with(SocketConfig {
        responder: true,
        ..SocketConfig::default()
    });
    let old = d.connect();
    d.envelope(old, slash("owed"));
    d.disconnect(old, DisconnectReason::Warning);
    let new = d.accept_url();
    d.hello(new);
    d.disconnect(new, DisconnectReason::Warning);
    d.advance(1_000); // `old` closes; a standby call is out
    assert!(!d.m.links().closing.is_empty() && d.m.in_flight().is_some());
    let outs = d.input(Input::Resumed);
    assert_eq!(d.state(), "disconnected");
    assert!(
        commands(&outs).is_empty(),
        "a restart repeats no side effect"
    );
    assert!(d.m.links().is_empty());
    assert!(d.m.in_flight().is_none());
    assert_eq!(d.m.poll_timeout(), None);
    assert!(d.m.acks().awaiting.is_empty() && d.m.acks().unfinished.is_empty());
    // And nothing from before comes back: a start opens a new call, not the old link.
    let outs = d.input(Input::Start);
    assert!(has_open_call(&outs));
}
