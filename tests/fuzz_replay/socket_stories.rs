//! The seed stories of `socket_sequence` reach what they are named for, so the seed corpus
//! keeps starting the fuzzer in deep states.

use phantom_fsm::fuzzing::socket_sequence::{Summary, run, seeds};

fn story(name: &str) -> Summary {
    let seed = seeds()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no seed {name}"));
    run(&seed.bytes)
}

fn has(summary: &Summary, transition: &str) -> bool {
    summary.transitions.iter().any(|t| t == transition)
}

#[test]
fn connect_envelopes_dispatches_each_once_and_stops() {
    let s = story("seed-connect-envelopes");
    assert!(has(&s, "authenticated -> connected (hello)"), "{s:#?}");
    assert_eq!((s.dispatched, s.duplicates), (3, 1), "{s:#?}");
    assert_eq!(s.final_state, "disconnected", "{s:#?}");
}

#[test]
fn refresh_hands_over_without_leaving_connected() {
    let s = story("seed-refresh-handover");
    assert_eq!(s.handovers, 1, "{s:#?}");
    assert_eq!(s.transitions.len(), 3, "start, open_ok, hello only: {s:#?}");
    assert_eq!((s.dispatched, s.duplicates), (3, 1), "{s:#?}");
    assert_eq!(s.final_state, "connected");
}

#[test]
fn old_link_dying_first_waits_for_the_standby() {
    let s = story("seed-refresh-old-link-dies-first");
    assert!(
        has(&s, "connected -> authenticated (link_closed)"),
        "{s:#?}"
    );
    assert_eq!(s.final_state, "connected", "{s:#?}");
    assert_eq!(s.dispatched, 1);
}

#[test]
fn backoff_and_errors_visit_every_linking_state() {
    let s = story("seed-backoff-and-errors");
    for t in [
        "connecting -> reconnecting (open_rate_limited)",
        "connecting -> reconnecting (open_transient)",
        "authenticated -> reconnecting (hello_deadline)",
        "connecting -> error (open_unrecoverable)",
        "error -> connecting (reprobe)",
        "connected -> error (disconnect_link_disabled)",
        "error -> connecting (new_tokens)",
        "connected -> reconnecting (disconnect_too_many_websockets)",
    ] {
        assert!(has(&s, t), "{t}: {s:#?}");
    }
}

#[test]
fn silent_link_is_found_dead() {
    let s = story("seed-silent-link");
    assert!(
        has(&s, "connected -> reconnecting (pong_deadline)"),
        "{s:#?}"
    );
}

#[test]
fn restart_keeps_the_dedupe_window() {
    let s = story("seed-restart-dedupe");
    assert_eq!(s.restarts, 1);
    assert_eq!((s.dispatched, s.duplicates), (2, 1), "{s:#?}");
}

#[test]
fn stop_waits_out_the_close_grace() {
    let s = story("seed-stop-close-grace");
    assert!(has(&s, "connected -> disconnecting (stop)"), "{s:#?}");
    assert!(
        has(&s, "disconnecting -> disconnected (close_grace)"),
        "{s:#?}"
    );
}

#[test]
fn fast_config_overflows_the_window_and_restarts() {
    let s = story("seed-fast-config");
    assert_eq!(s.handovers, 1, "{s:#?}");
    assert_eq!(s.restarts, 1);
    assert!(s.dispatched >= 21, "{s:#?}");
}

#[test]
fn responder_answers_in_the_ack_counts_late_answers_and_sheds_events() {
    let s = story("seed-responder-shedding");
    assert_eq!(s.acks_with_payload, 1, "{s:#?}");
    assert_eq!(s.late_responses, 1, "{s:#?}");
    assert!(s.shed >= 1, "{s:#?}");
    assert_eq!(s.final_state, "disconnected", "{s:#?}");
}
