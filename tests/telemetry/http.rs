//! The routes, `/debug/state`, and what the server does with unknown, slow and oversized
//! requests.

use super::support::*;
use phantom_fsm::engine::Now;
use phantom_fsm::runtime::StatusBoard;
use phantom_fsm::runtime::{HttpConfig, HttpState};
use phantom_fsm::telemetry::Telemetry;
use serde_json::json;
use std::io::Write;
use std::time::Duration;

fn server() -> TestServer {
    TestServer::fresh(&Telemetry::new(), &StatusBoard::new("0", Now::fake(0)))
}

#[test]
fn unknown_paths_are_404() {
    let server = server();
    for path in [
        "/",
        "/metrics/",
        "/debug",
        "/debug/state/x",
        "/debug/ui/",
        "/debug/events/x",
        "/healthz",
        "/%2e%2e/etc",
    ] {
        assert_eq!(server.get(path).status, 404, "{path}");
    }
}

#[test]
fn other_methods_are_405() {
    let server = server();
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        for path in [
            "/metrics",
            "/health",
            "/debug/state",
            "/debug/ui",
            "/debug/events",
        ] {
            let reply = server.request(&format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            ));
            assert_eq!(reply.status, 405, "{method} {path}");
            assert!(reply.header("allow").is_some_and(|a| a.contains("GET")));
        }
    }
}

#[test]
fn head_is_answered_like_get_without_a_body() {
    let server = server();
    let reply = server.request("HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(reply.body.is_empty());
}

#[test]
fn debug_state_has_the_exact_shape() {
    let board = StatusBoard::new("0", Now::fake(0));
    for (from, to, ms) in [
        ("disconnected", "connecting", 1_000),
        ("connecting", "authenticated", 1_500),
        ("authenticated", "connected", 2_000),
    ] {
        board.observe_transition(&transition_at("socket_mode", from, to, Now::fake(ms)));
    }
    board.set_machine("onboarding", "T1/U1", "backoff", Now::fake(500).unix);
    for seq in 1..=60u64 {
        board.record_journal_row(json!({
            "seq": seq, "at_unix_ms": seq, "machine": "socket_mode", "instance": "default",
            "from": "connecting", "to": "authenticated", "event": "open_ok",
        }));
    }
    let server = TestServer::fresh(&Telemetry::new(), &board);
    let reply = server.get("/debug/state");
    assert_eq!(reply.status, 200);
    let body = reply.json();
    let keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["machines", "mermaid", "transitions"]);

    let machines = body["machines"].as_array().unwrap();
    let socket = machines
        .iter()
        .find(|m| m["machine"] == "socket_mode")
        .expect("socket machine listed");
    assert_eq!(socket["instance"], "default");
    assert_eq!(socket["state"], "connected");
    assert_eq!(socket["since_unix_ms"], Now::fake(2_000).unix.0);
    let superstates = socket["superstates"].as_array().unwrap();
    assert!(
        !superstates.is_empty(),
        "connected sits inside a superstate"
    );
    let onboarding = machines
        .iter()
        .find(|m| m["machine"] == "onboarding")
        .unwrap();
    assert_eq!(
        (&onboarding["instance"], &onboarding["state"]),
        (&json!("T1/U1"), &json!("backoff"))
    );
    for machine in machines {
        let mut keys: Vec<_> = machine.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "instance",
                "machine",
                "since_unix_ms",
                "state",
                "superstates"
            ]
        );
    }

    let rows = body["transitions"].as_array().unwrap();
    assert_eq!(rows.len(), 50, "the last 50 journal rows");
    assert_eq!(
        (rows[0]["seq"].as_u64(), rows[49]["seq"].as_u64()),
        (Some(11), Some(60))
    );

    let mermaid = body["mermaid"]["socket_mode"]
        .as_str()
        .expect("socket diagram");
    assert!(mermaid.contains("stateDiagram-v2"));
    assert!(
        mermaid.contains("class connected current"),
        "current state highlighted"
    );
}

#[test]
fn a_client_that_never_finishes_its_head_is_disconnected() {
    let state = HttpState::new(
        Telemetry::new(),
        StatusBoard::new("0", Now::fake(0)),
        || Now::fake(0),
    );
    let config = HttpConfig {
        header_read_timeout: Duration::from_millis(200),
        ..HttpConfig::default()
    };
    let server = TestServer::start(state, config);
    let mut slow = server.connect();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // The server closes the connection well before the read deadline; nothing is served.
    let reply = read_to_close(&mut slow);
    assert!(!String::from_utf8_lossy(&reply).contains("200 OK"));
    // An idle connection that sends nothing at all is closed too.
    let mut idle = server.connect();
    assert!(read_to_close(&mut idle).is_empty());
    assert_eq!(server.get("/health").status, 200, "others are still served");
}

#[test]
fn oversized_heads_and_bodies_are_refused() {
    let server = server();
    let big = "a".repeat(64 * 1024);
    let reply = server.request(&format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(reply.status, 431);

    let reply = server.request(
        "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(reply.status, 413);
    assert_eq!(server.get("/health").status, 200);
}

#[test]
fn idle_connections_holding_every_slot_time_out_and_new_clients_are_served() {
    let state = HttpState::new(
        Telemetry::new(),
        StatusBoard::new("0", Now::fake(0)),
        || Now::fake(0),
    );
    let config = HttpConfig {
        max_connections: 2,
        header_read_timeout: Duration::from_millis(300),
        ..HttpConfig::default()
    };
    let server = TestServer::start(state, config);
    // Two idle connections take both slots; a third client waits in the backlog and is served
    // once the idle ones are timed out.
    let _idle: Vec<_> = (0..2).map(|_| server.connect()).collect();
    assert_eq!(server.get("/metrics").status, 200);
}
