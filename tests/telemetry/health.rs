//! `/health`: the `status` logic of `docs/contracts.md`, case by case, with fake time.

use super::support::*;
use phantom_fsm::engine::{Millis, Now};
use phantom_fsm::runtime::{HealthStatus, OnboardingHealth, StatusBoard};
use phantom_fsm::runtime::{HttpConfig, HttpState};
use phantom_fsm::telemetry::Telemetry;
use serde_json::json;
use std::time::Duration;

fn at(ms: u64) -> Now {
    Now::fake(ms)
}

/// A board whose socket got `connected` at 2 s.
fn connected() -> StatusBoard {
    let board = StatusBoard::new("1.2.3", at(0));
    for (from, to, ms) in [
        ("disconnected", "connecting", 1_000),
        ("connecting", "authenticated", 1_500),
        ("authenticated", "connected", 2_000),
    ] {
        board.observe_transition(&transition_at("socket_mode", from, to, at(ms)));
    }
    board
}

#[test]
fn ok_only_when_connected() {
    let board = StatusBoard::new("1.2.3", at(0));
    let health = board.health(at(500));
    assert_eq!(health.status, HealthStatus::Degraded);
    assert!(!health.channels.slack);
    assert_eq!(health.slack.state, "disconnected");

    let board = connected();
    let health = board.health(at(3_000));
    assert_eq!(health.status, HealthStatus::Ok);
    assert!(health.channels.slack);

    board.observe_transition(&transition_at(
        "socket_mode",
        "connected",
        "reconnecting",
        at(4_000),
    ));
    let health = board.health(at(4_500));
    assert_eq!(health.status, HealthStatus::Degraded);
    assert_eq!(health.slack.state, "reconnecting");
    assert_eq!(health.slack.since_unix_ms, at(4_000).unix.0);
    assert_eq!(health.slack.reconnects, 1);
}

#[test]
fn a_store_error_degrades_only_after_30_s_unresolved() {
    let board = connected();
    board.store_failed("ledger_write", Millis(10_000));
    board.store_failed("ledger_write", Millis(20_000)); // a later failure does not restart the clock
    assert_eq!(
        board.health(at(40_000)).status,
        HealthStatus::Ok,
        "exactly 30 s"
    );
    assert_eq!(board.health(at(40_001)).status, HealthStatus::Degraded);
    board.store_succeeded("journal_write"); // another op's success resolves nothing
    assert_eq!(board.health(at(40_001)).status, HealthStatus::Degraded);
    board.store_succeeded("ledger_write");
    assert_eq!(board.health(at(40_001)).status, HealthStatus::Ok);
    board.store_failed("ledger_write", Millis(50_000));
    assert_eq!(
        board.health(at(60_000)).status,
        HealthStatus::Ok,
        "a new run of failures"
    );
}

#[test]
fn onboarding_failed_degrades_and_other_states_do_not() {
    let board = connected();
    assert_eq!(
        board.health(at(3_000)).onboarding,
        OnboardingHealth::Disabled
    );
    let cases = [
        ("pending", OnboardingHealth::Pending, HealthStatus::Ok),
        ("sending", OnboardingHealth::Pending, HealthStatus::Ok),
        ("backoff", OnboardingHealth::Pending, HealthStatus::Ok),
        ("reconciling", OnboardingHealth::Pending, HealthStatus::Ok),
        ("complete", OnboardingHealth::Complete, HealthStatus::Ok),
        ("failed", OnboardingHealth::Failed, HealthStatus::Degraded),
    ];
    for (state, onboarding, status) in cases {
        board.set_machine("onboarding", "T1/U1", state, at(2_500).unix);
        let health = board.health(at(3_000));
        assert_eq!(
            (health.onboarding, health.status),
            (onboarding, status),
            "{state}"
        );
    }
    board.observe_transition(&transition_at("onboarding", "failed", "pending", at(2_700)));
    assert_eq!(
        board.health(at(3_000)).status,
        HealthStatus::Ok,
        "after an operator reset"
    );
}

#[test]
fn health_json_has_the_exact_shape() {
    let board = connected();
    board.set_machine("onboarding", "T1/U1", "complete", at(1_000).unix);
    let want = json!({
        "status": "ok",
        "uptime": 61,
        "version": "1.2.3",
        "channels": {"slack": true},
        "slack": {"state": "connected", "since_unix_ms": at(2_000).unix.0, "reconnects": 0},
        "onboarding": "complete",
    });
    assert_eq!(
        serde_json::to_value(board.health(at(61_999))).unwrap(),
        want
    );

    // The same over HTTP, with the server's clock at 61.999 s.
    let state = HttpState::new(Telemetry::new(), board, || at(61_999));
    let server = TestServer::start(state, Default::default());
    let reply = server.get("/health");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json(), want);
}

#[test]
fn disabled_and_degraded_over_http() {
    let board = StatusBoard::new("1.2.3", at(0));
    let state = HttpState::new(Telemetry::new(), board, || at(5_000));
    let config = HttpConfig {
        request_timeout: Duration::from_secs(5),
        ..HttpConfig::default()
    };
    let server = TestServer::start(state, config);
    let body = server.get("/health").json();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["onboarding"], "disabled");
    assert_eq!(body["channels"]["slack"], false);
    assert_eq!(body["slack"]["state"], "disconnected");
    assert_eq!(body["uptime"], 5);
}
