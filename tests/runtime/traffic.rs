//! Envelopes flow: every one acked within Slack's 3 s, none lost; handovers leave no gap.

use crate::common::*;
use phantom_fsm::sim::{Event, LogFilter, Target, TrafficKind};
use std::time::Duration;

const CONNECTED: &str = r#"phantom_slack_socket_state{state="connected"}"#;

/// The link and Web API records of the simulator's log, for failure messages.
fn links_log(sim: &phantom_fsm::sim::SimHandle) -> String {
    sim.log(0, &LogFilter::default())
        .iter()
        .filter(|r| !matches!(r.event, Event::Ack { .. } | Event::FrameSent { .. }))
        .map(|r| format!("\n{} {:?}", r.at_ms, r.event))
        .collect()
}

/// Distinct envelope ids the simulator counted acked on time (a retry keeping its id counts
/// once).
fn on_time(sim: &phantom_fsm::sim::SimHandle) -> usize {
    let ids: std::collections::HashSet<String> = sim
        .acks()
        .into_iter()
        .filter(|a| a.outcome == phantom_fsm::sim::AckOutcome::OnTime)
        .map(|a| a.envelope_id)
        .collect();
    ids.len()
}

fn expired(sim: &phantom_fsm::sim::SimHandle) -> usize {
    let filter = LogFilter {
        kind: Some("expired".into()),
        link: None,
    };
    sim.log(0, &filter).len()
}

/// Envelopes of the many-events test (issue 13: 1,000).
const EVENTS: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_many_events_each_within_3s_and_loses_none() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let proc = Proc::run(&sim, dir.path(), &[]).await;
    proc.wait_state("connected", WAIT).await;
    // 1,000 envelopes, as issue 13 asks, pushed in batches of 100 every 100 ms (about
    // 1,000/s) rather than in one burst: each ack is timed from its own send, so a burst on a
    // loaded 2-core CI machine would measure the machine's queueing, not the runtime. The
    // interval only paces the sender; nothing here waits by sleeping.
    let mut ids = Vec::with_capacity(EVENTS);
    let mut pace = tokio::time::interval(Duration::from_millis(100));
    while ids.len() < EVENTS {
        pace.tick().await;
        ids.extend(sim.push_now(100, TrafficKind::Mixed, Target::All));
    }
    sim.wait_until(WAIT, || sim.acks().len() >= ids.len())
        .await
        .expect("every envelope acked");
    let acks = sim.acks();
    let slowest = acks.iter().map(|a| a.latency_us).max().unwrap();
    assert!(slowest < 3_000_000, "slowest ack {slowest} us");
    for id in &ids {
        assert!(acks.iter().any(|a| &a.envelope_id == id), "{id} not acked");
    }
    assert_eq!(expired(&sim), 0, "the simulator saw no envelope expire");
    assert!(
        sim.lost().values().all(|n| *n == 0),
        "lost: {:?}",
        sim.lost()
    );
    let dispatched = r#"phantom_slack_envelopes_total{outcome="dispatched",type="events_api"}"#;
    let text = proc.metrics().await;
    let total: f64 = ["events_api", "slash_commands", "interactive"]
        .iter()
        .filter_map(|t| metric(&text, &dispatched.replace("events_api", t)))
        .sum();
    assert_eq!(total, EVENTS as f64);
    assert_eq!(
        metric(&text, "phantom_slack_ack_seconds_count"),
        Some(EVENTS as f64)
    );
}

/// The simulator's link log proves there was always a ready link: the new link opened (got
/// its hello) before the old one closed.
async fn handover(reason: &str) {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let proc = Proc::run(&sim, dir.path(), &[]).await;
    proc.wait_state("connected", WAIT).await;
    sim.push_at_rate(100, 50.0, TrafficKind::EventsApi, Target::All)
        .expect("traffic");
    sim.disconnect(Target::All, reason, Some(Duration::from_secs(10)));
    proc.wait_metric("phantom_slack_socket_handovers_total", WAIT, |v| v == 1.0)
        .await;
    sim.wait_until(WAIT, || on_time(&sim) >= 100)
        .await
        .unwrap_or_else(|e| panic!("{e}: {} acks; {}", on_time(&sim), links_log(&sim)));
    // The old link is closed by us after its drain grace, long before Slack's cut.
    let closed = sim
        .wait_for(WAIT, || {
            let log = sim.log(0, &LogFilter::default());
            let opened: Vec<_> = log
                .iter()
                .filter_map(|r| match &r.event {
                    Event::LinkOpened { link, .. } => Some((*link, r.at_ms)),
                    _ => None,
                })
                .collect();
            let closed = log.iter().find_map(|r| match &r.event {
                Event::LinkClosed { link, cause, .. } if *link == opened[0].0 => {
                    Some((r.at_ms, *cause))
                }
                _ => None,
            })?;
            (opened.len() >= 2).then_some((opened[1].1, closed))
        })
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{e}: no second link or the first not closed: {}",
                links_log(&sim)
            )
        });
    let (second_opened_ms, (first_closed_ms, cause)) = closed;
    let first_link = phantom_fsm::sim::LinkId(1);
    assert!(
        second_opened_ms <= first_closed_ms,
        "gap: new link at {second_opened_ms} ms, old one closed at {first_closed_ms} ms"
    );
    assert_eq!(cause, phantom_fsm::sim::CloseCause::ClientClosed);
    // Nothing lost, and nothing unacked on a link we did not close: an envelope the simulator
    // wrote to the old link while our close frame was on its way (a race a loaded machine
    // widens) is read on a closing link, which cannot carry its ack any more; Slack then
    // retries it at once, on the new link, and we ack it there (without dispatching it
    // again). That retry is Slack's design, not a gap.
    for r in sim.log(0, &LogFilter::default()) {
        if let Event::Expired {
            link, redelivered, ..
        } = r.event
        {
            assert_eq!(
                link,
                first_link,
                "expired on a link we kept: {}",
                links_log(&sim)
            );
            assert!(redelivered, "expired for good: {}", links_log(&sim));
        }
    }
    assert!(
        sim.lost().values().all(|n| *n == 0),
        "lost: {:?}",
        sim.lost()
    );
    let text = proc.metrics().await;
    assert_eq!(metric(&text, CONNECTED), Some(1.0));
    assert_eq!(
        metric(&text, "phantom_slack_socket_reconnects_total"),
        Some(0.0),
        "a handover is not a reconnect"
    );
    let out = proc.output();
    assert!(out.contains("handover"), "{out}");
    assert!(
        out.contains(&format!(
            "disconnect requested by Slack link=link#1 reason=\"{reason}\""
        )),
        "{out}"
    );
    assert!(out.contains("hello link=link#2 num_connections="), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_requested_hands_over_without_a_gap() {
    handover("refresh_requested").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warning_hands_over_without_a_gap() {
    handover("warning").await;
}
