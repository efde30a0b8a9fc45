//! Tokens and link URLs never appear in anything a run printed or served.

use crate::common::*;
use phantom_fsm::sim::{ApiFault, Target, TrafficKind};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_link_url_in_logs_metrics_health_or_debug_state() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut proc = Proc::run(&sim, dir.path(), &["--debug-reconnects"]).await;
    proc.wait_state("connected", WAIT).await;
    // Traffic, a handover, a drop and a failed call: every path that logs.
    let ids = sim.push_now(10, TrafficKind::Mixed, Target::All);
    sim.wait_until(WAIT, || sim.acks().len() >= ids.len())
        .await
        .unwrap();
    sim.disconnect(
        Target::All,
        "refresh_requested",
        Some(Duration::from_secs(10)),
    );
    proc.wait_metric("phantom_slack_socket_handovers_total", WAIT, |v| v == 1.0)
        .await;
    sim.fail_next("apps.connections.open", 1, ApiFault::status(500))
        .unwrap();
    sim.drop_link(Target::All);
    proc.wait_metric("phantom_slack_socket_reconnects_total", WAIT, |v| v >= 1.0)
        .await;
    proc.wait_state("connected", WAIT).await;
    let served = [
        proc.metrics().await,
        proc.health().await.to_string(),
        proc.debug_state().await,
    ];
    proc.terminate();
    proc.exit_within(Duration::from_secs(5)).await;
    let everything = format!("{}\n{}", proc.output(), served.join("\n"));
    for secret in [
        sim.app_token(),
        sim.bot_token(),
        "ticket=",
        "ws://",
        "wss://",
        "/link/",
    ] {
        assert!(!everything.contains(secret), "{secret:?} leaked");
    }
    assert!(everything.contains("socket_mode connected -> disconnecting (stop)"));
}
