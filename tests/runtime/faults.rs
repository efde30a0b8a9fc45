//! Faults: dropped and silent links, bad frames, rate limits, revoked tokens.

use crate::common::*;
use phantom_fsm::sim::{ApiFault, Event, LogFilter, Malformed, Target, TrafficKind};
use std::time::Duration;

const RECONNECTS: &str = "phantom_slack_socket_reconnects_total";

fn links_opened(sim: &phantom_fsm::sim::SimHandle) -> Vec<u64> {
    let filter = LogFilter {
        kind: Some("link_opened".into()),
        link: None,
    };
    sim.log(0, &filter).iter().map(|r| r.at_ms).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abrupt_drop_reconnects() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let proc = Proc::run(&sim, dir.path(), &[]).await;
    proc.wait_state("connected", WAIT).await;
    assert_eq!(sim.drop_link(Target::All), 1);
    proc.wait_metric(RECONNECTS, WAIT, |v| v == 1.0).await;
    proc.wait_state("connected", WAIT).await;
    assert_eq!(metric(&proc.metrics().await, RECONNECTS), Some(1.0));
    let ids = sim.push_now(5, TrafficKind::EventsApi, Target::All);
    sim.wait_until(WAIT, || sim.acks().len() >= ids.len())
        .await
        .expect("the new link acks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn total_silence_is_detected_and_replaced_within_10s() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let proc = Proc::run(&sim, dir.path(), &[]).await;
    proc.wait_state("connected", WAIT).await;
    let silenced = tokio::time::Instant::now();
    assert_eq!(sim.silence(Target::All, Some(Duration::from_secs(60))), 1);
    // Detected: pings go unanswered, the link is given up (a reconnect) within 10 s. The
    // silenced link reads nothing, so only our side can tell.
    proc.wait_metric(RECONNECTS, Duration::from_millis(10_500), |v| v == 1.0)
        .await;
    let detected = silenced.elapsed();
    // Replaced: a new link after the first (jittered, at most 1 s) backoff.
    sim.wait_until(Duration::from_secs(5), || links_opened(&sim).len() == 2)
        .await
        .expect("a new link");
    proc.wait_state("connected", WAIT).await;
    assert!(detected <= Duration::from_millis(10_500), "{detected:?}");
    let ids = sim.push_now(3, TrafficKind::EventsApi, Target::Newest);
    sim.wait_until(WAIT, || sim.acks().len() >= ids.len())
        .await
        .expect("the new link acks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversize_frames_are_counted_and_skipped() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let proc = Proc::run(&sim, dir.path(), &[]).await;
    proc.wait_state("connected", WAIT).await;
    let kinds = [
        (Malformed::InvalidJson, "invalid_json"),
        (Malformed::Binary, "binary"),
        (Malformed::UnknownType, "unknown_type"),
        (Malformed::Oversize, "oversize"),
        (Malformed::MissingEnvelopeId, "missing_envelope_id"),
    ];
    for (kind, _) in kinds {
        assert_eq!(sim.send_malformed(Target::All, kind), 1);
    }
    let ids = sim.push_now(1, TrafficKind::EventsApi, Target::All);
    sim.wait_until(WAIT, || sim.acks().iter().any(|a| a.envelope_id == ids[0]))
        .await
        .expect("the next envelope is acked");
    for (_, reason) in kinds {
        let series = format!("phantom_slack_frames_rejected_total{{reason=\"{reason}\"}}");
        proc.wait_metric(&series, WAIT, |v| v == 1.0).await;
    }
    let text = proc.metrics().await;
    assert_eq!(metric(&text, RECONNECTS), Some(0.0), "the link survived");
    assert_eq!(links_opened(&sim).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_is_honoured() {
    let sim = quiet_sim().await;
    sim.fail_next("apps.connections.open", 1, ApiFault::rate_limited(2))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let proc = Proc::run(&sim, dir.path(), &[]).await;
    proc.wait_state("connected", WAIT).await;
    let filter = LogFilter {
        kind: Some("call".into()),
        link: None,
    };
    let calls: Vec<_> = sim
        .log(0, &filter)
        .into_iter()
        .filter_map(|r| match r.event {
            Event::Call {
                method,
                http_status,
                ..
            } if method == "apps.connections.open" => Some((r.at_ms, http_status)),
            _ => None,
        })
        .collect();
    assert_eq!(calls[0].1, 429);
    assert_eq!(calls[1].1, 200);
    let waited = calls[1].0 - calls[0].0;
    assert!(
        waited >= 2_000,
        "retried after {waited} ms, Retry-After was 2 s"
    );
    assert_eq!(metric(&proc.metrics().await, RECONNECTS), Some(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_auth_sets_the_error_state() {
    let sim = quiet_sim().await;
    sim.fail_next("apps.connections.open", 1, ApiFault::error("invalid_auth"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let proc = Proc::run(&sim, dir.path(), &[]).await;
    proc.wait_state("error", WAIT).await;
    let health = proc.health().await;
    assert_eq!(health["slack"]["state"], "error");
    assert_eq!(health["status"], "degraded");
    assert!(sim.links().is_empty());
}
