//! Start, stop and restart: SIGTERM goes through `disconnecting` and exits 0 with the store
//! flushed; a restart journals `-> disconnected (restarted)` and keeps the dedupe window.

use crate::common::*;
use phantom_fsm::engine::UnixMs;
use phantom_fsm::sim::{LogFilter, Target, TrafficKind};
use phantom_fsm::store::Store;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_0_through_disconnecting_with_the_store_flushed() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut proc = Proc::run(&sim, &data, &[]).await;
    proc.wait_state("connected", WAIT).await;
    let ids = sim.push_now(20, TrafficKind::EventsApi, Target::All);
    sim.wait_until(WAIT, || sim.acks().len() >= ids.len())
        .await
        .unwrap();
    // Group commit: the dedupe keys reach LMDB while the process runs (every 50 ms at most),
    // readable by another process.
    eventually("20 dedupe keys on disk", Duration::from_secs(2), || async {
        let store = Store::open_read_only(&data).ok()?;
        let seen = store.load_unexpired(UnixMs(0), Duration::MAX).ok()?;
        (seen.len() == 20).then_some(())
    })
    .await;
    proc.terminate();
    // Within the close grace (2 s) plus start-up slack.
    let status = proc.exit_within(Duration::from_secs(4)).await;
    assert_eq!(status.code(), Some(0), "{}", proc.output());
    let closed = sim.log(
        0,
        &LogFilter {
            kind: Some("link_closed".into()),
            link: None,
        },
    );
    assert_eq!(closed.len(), 1, "our close frame ended the link");
    let store = Store::open_read_only(&data).expect("LMDB readable");
    let rows = store.journal_tail(10, None).unwrap();
    let last = rows.last().unwrap().row().unwrap().clone();
    assert_eq!(
        (last.from.as_str(), last.to.as_str()),
        ("disconnecting", "disconnected")
    );
    let out = proc.output();
    assert!(
        out.contains("socket_mode connected -> disconnecting (stop)"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_journals_restarted_and_logs_one_line_per_transition() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut first = Proc::run(&sim, &data, &[]).await;
    first.wait_state("connected", WAIT).await;
    // The journal is written off the hot path: wait until `connected` is on disk, then kill -9.
    eventually("connected journaled", WAIT, || async {
        let store = Store::open_read_only(&data).ok()?;
        let rows = store.journal_tail(1, None).ok()?;
        let last = rows.last()?.row()?.clone();
        (last.to == "connected").then_some(())
    })
    .await;
    first.kill();
    let proc = Proc::run(&sim, &data, &[]).await;
    proc.wait_state("connected", WAIT).await;
    let out = proc.output();
    assert!(
        out.contains("socket_mode connected -> disconnected (restarted)"),
        "{out}"
    );
    for line in [
        "socket_mode disconnected -> connecting (start)",
        "socket_mode connecting -> authenticated (open_ok)",
        "socket_mode authenticated -> connected (hello)",
    ] {
        assert_eq!(out.matches(line).count(), 1, "{line} in {out}");
    }
    let health = proc.health().await;
    assert_eq!(health["onboarding"], "disabled");
    assert_eq!(health["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installer_is_introduced_and_complete_means_the_row_is_committed() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut proc = Proc::run(&sim, dir.path(), &["--installer-user-id", "U0SIMUSER1"]).await;
    super::common::eventually("onboarding complete", WAIT, || async {
        (proc.health().await["onboarding"] == "complete").then_some(())
    })
    .await;
    // Killed, not stopped: `complete` was reported only after the row was synced.
    proc.kill();
    let store = phantom_fsm::store::Store::open_read_only(dir.path()).unwrap();
    let row = store
        .load_ledger("T0SIMTEAM1/U0SIMUSER1")
        .unwrap()
        .expect("the ledger row");
    assert_eq!(row.state, "complete");
    assert!(row.ts.is_some(), "{row:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_close_is_dropped_after_its_grace() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut proc = Proc::run(&sim, dir.path(), &[]).await;
    proc.wait_state("connected", WAIT).await;
    assert_eq!(sim.ignore_close(Target::All), 1);
    let asked = tokio::time::Instant::now();
    proc.terminate();
    let status = proc.exit_within(Duration::from_secs(5)).await;
    assert_eq!(status.code(), Some(0), "{}", proc.output());
    // Close grace is 2 s: the socket was dropped then, not left to Slack.
    assert!(
        asked.elapsed() >= Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    let out = proc.output();
    assert!(
        out.contains("socket_mode disconnecting -> disconnected (close_grace)"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_a_line() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let proc = Proc::run(&sim, dir.path(), &["--log-format", "json"]).await;
    proc.wait_state("connected", WAIT).await;
    let out = eventually("the hello transition logged", WAIT, || {
        let out = proc.output();
        async move {
            out.contains("authenticated -> connected (hello)")
                .then_some(out)
        }
    })
    .await;
    for line in out.lines().filter(|l| !l.starts_with("listen=")) {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON object per line");
        assert!(v["fields"]["message"].is_string(), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_an_unanswered_open_call_still_exits_promptly() {
    let sim = quiet_sim().await;
    sim.hold_next(
        "apps.connections.open",
        1,
        phantom_fsm::sim::Hold::UntilReleased,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut proc = Proc::run(&sim, dir.path(), &[]).await;
    proc.wait_state("connecting", WAIT).await;
    let asked = tokio::time::Instant::now();
    proc.terminate();
    let status = proc.exit_within(Duration::from_secs(4)).await;
    assert_eq!(status.code(), Some(0), "{}", proc.output());
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );
}
