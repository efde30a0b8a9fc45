//! Timings `phantom-fsm run` has no flag for (the 15 s open deadline, the 5 min re-probe in
//! `error`), scaled down through the embedding API's `SocketConfig`, against the simulator.

use crate::common::*;
use phantom_fsm::runtime::Runtime;
use phantom_fsm::sim::{ApiFault, Event, Hold, LogFilter, LogRecord, SimHandle};
use phantom_fsm::socket::SocketConfig;
use std::path::Path;
use std::time::Duration;

const OPEN: &str = "apps.connections.open";

fn runtime(sim: &SimHandle, data: &Path, socket: SocketConfig) -> Runtime {
    Runtime::builder()
        .socket_config(socket)
        .api_url(sim.api_url())
        .app_token(sim.app_token())
        .bot_token(sim.bot_token())
        .data_dir(data)
        .seed(7)
        .build()
        .expect("builds")
}

/// The simulator's `apps.connections.open` replies: (at_ms, HTTP status, error code).
fn open_calls(sim: &SimHandle) -> Vec<(u64, u16, Option<String>)> {
    let filter = LogFilter {
        kind: Some("call".into()),
        link: None,
    };
    sim.log(0, &filter)
        .into_iter()
        .filter_map(|r| match r.event {
            Event::Call {
                method,
                http_status,
                error,
                ..
            } if method == OPEN => Some((r.at_ms, http_status, error)),
            _ => None,
        })
        .collect()
}

fn first_hold(log: &[LogRecord]) -> Option<u64> {
    log.iter().find_map(|r| match &r.event {
        Event::Control { action, detail } if action == "hold" && detail.starts_with(OPEN) => {
            Some(r.at_ms)
        }
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_open_call_is_given_up_at_its_deadline_and_retried() {
    let sim = quiet_sim().await;
    // The first call takes effect at the simulator but is never answered (until released).
    sim.hold_next(OPEN, 1, Hold::UntilReleased).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let open_timeout = Duration::from_secs(1);
    let config = SocketConfig {
        open_timeout,
        ..SocketConfig::default()
    };
    let running = spawn_connected(runtime(&sim, dir.path(), config)).await;
    let held_at = first_hold(&sim.log(0, &LogFilter::default())).expect("the first call held");
    // The second call was made only after the first one's deadline, and it connected.
    let calls = open_calls(&sim);
    assert_eq!(calls.len(), 1, "only the retry answered so far: {calls:?}");
    let (retry_at, status, _) = calls[0].clone();
    assert_eq!(status, 200);
    assert!(
        retry_at >= held_at + open_timeout.as_millis() as u64,
        "retried {} ms after the held call, deadline {open_timeout:?}",
        retry_at - held_at
    );
    assert_eq!(sim.links().len(), 1);
    let reconnects = "phantom_slack_socket_reconnects_total";
    assert_eq!(metric(&running.telemetry.render(), reconnects), Some(1.0));
    // The abandoned call's answer arrives late: its URL is not used, the link stays alone.
    sim.release_held();
    sim.wait_until(WAIT, || open_calls(&sim).len() == 2)
        .await
        .expect("the held reply went out");
    let ids = sim.push_now(
        3,
        phantom_fsm::sim::TrafficKind::EventsApi,
        phantom_fsm::sim::Target::All,
    );
    for id in &ids {
        ack_of(&sim, id).await;
    }
    assert_eq!(sim.links().len(), 1, "the late URL opened no link");
    assert_eq!(*running.handle.state().borrow(), "connected");
    running.handle.shutdown();
    tokio::time::timeout(WAIT, running.task)
        .await
        .expect("stops in time")
        .expect("task")
        .expect("runs cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_auth_is_reprobed_at_most_once_per_interval_and_recovers() {
    let sim = quiet_sim().await;
    // The token is refused three times (the start and two re-probes), then works again.
    let refusals = 3;
    sim.fail_next(OPEN, refusals, ApiFault::error("invalid_auth"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let interval = Duration::from_millis(1_500);
    let config = SocketConfig {
        reprobe_interval: interval,
        ..SocketConfig::default()
    };
    let runtime = runtime(&sim, dir.path(), config);
    let handle = runtime.handle();
    let mut state = handle.state();
    let task = tokio::spawn(runtime.run());
    tokio::time::timeout(WAIT, state.wait_for(|s| *s == "error"))
        .await
        .expect("error in time")
        .expect("runtime alive");
    let bound = interval * (refusals + 2) + WAIT;
    tokio::time::timeout(bound, state.wait_for(|s| *s == "connected"))
        .await
        .expect("connected after the token works again")
        .expect("runtime alive");
    let calls = open_calls(&sim);
    assert_eq!(calls.len(), refusals as usize + 1, "{calls:?}");
    for (_, status, error) in &calls[..refusals as usize] {
        assert_eq!((*status, error.as_deref()), (200, Some("invalid_auth")));
    }
    assert_eq!(calls[refusals as usize].2, None);
    // At most one call per interval: every re-probe comes a full interval after the refusal
    // before it (the simulator logs a reply before the runtime can arm its timer).
    for pair in calls.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(
            gap >= interval.as_millis() as u64,
            "re-probed {gap} ms after a refusal, interval {interval:?}: {calls:?}"
        );
    }
    // No other Web API call was made meanwhile (a re-probe is one `apps.connections.open`).
    let filter = LogFilter {
        kind: Some("call".into()),
        link: None,
    };
    let others: Vec<_> = sim
        .log(0, &filter)
        .into_iter()
        .filter(|r| matches!(&r.event, Event::Call { method, .. } if method == "auth.test"))
        .collect();
    assert!(others.len() <= 1, "auth.test calls: {others:?}");
    handle.shutdown();
    tokio::time::timeout(WAIT, task)
        .await
        .expect("stops in time")
        .expect("task")
        .expect("runs cleanly");
}
