//! Snapshots and restarts: the socket machine always restarts at `disconnected`, recording
//! `X -> disconnected (restarted)`, and a restore repeats no side effect.

use crate::harness::*;
use phantom_fsm::engine::{Machine, Now, Snapshot};
use phantom_fsm::socket::{Input, OpenOutcome, SocketConfig, SocketMode};

#[test]
fn restore_then_resumed_goes_to_disconnected_with_event_restarted() {
    let mut d = Driver::new();
    d.connect();
    let snapshot = d.m.snapshot();
    assert_eq!(snapshot.state, "connected");
    let mut m = SocketMode::restore(SocketConfig::default(), "default", &snapshot).unwrap();
    assert_eq!(m.state_name(), "connected");
    assert!(m.drain().is_empty(), "restore emits nothing");
    m.handle(Now::fake(1), Input::Resumed);
    let outs = m.drain();
    assert_eq!(commands(&outs), vec![], "no side effect is repeated");
    let t = transitions(&outs);
    assert_eq!(
        (t[0].from, t[0].to, t[0].event),
        ("connected", "disconnected", "restarted")
    );
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn error_snapshot_keeps_its_code() {
    let mut d = Driver::new();
    d.input(Input::Start);
    d.answer(OpenOutcome::Unrecoverable {
        code: "token_revoked".into(),
    });
    let snapshot = d.m.snapshot();
    assert_eq!(snapshot.data["code"], "token_revoked");
    let m = SocketMode::restore(SocketConfig::default(), "default", &snapshot).unwrap();
    assert_eq!(m.error_code(), Some("token_revoked"));
}

#[test]
fn unknown_state_in_snapshot_is_an_error() {
    let bad = Snapshot {
        state: "levitating".into(),
        data: serde_json::Value::Null,
    };
    assert!(SocketMode::restore(SocketConfig::default(), "default", &bad).is_err());
}

#[test]
fn resumed_in_disconnected_records_nothing() {
    let mut m = SocketMode::new(SocketConfig::default());
    m.handle(Now::fake(0), Input::Resumed);
    assert!(m.drain().is_empty());
}
