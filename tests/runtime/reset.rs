//! A link cut by a TCP reset (RST, no close frame, no FIN): the runtime reconnects within
//! its backoff, and the events Slack could not deliver in the gap come back as its retries,
//! are acked, and reach the handler once each.

use crate::common::*;
use phantom_fsm::runtime::{Delivery, HandlerError, Runtime, handler_fn};
use phantom_fsm::sim::{
    CloseCause, Event, Hold, LogFilter, SimConfig, SimHandle, Target, TrafficKind,
};
use phantom_fsm::socket::SocketConfig;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Dispatches by `event_id`.
type Seen = Arc<Mutex<HashMap<String, u32>>>;

fn event_id(payload: &phantom_fsm::socket::Payload) -> String {
    payload.event_id().expect("an event_id").to_string()
}

/// When the simulator logged `link`'s end, and why.
fn closed(sim: &SimHandle, link: phantom_fsm::sim::LinkId) -> Option<(u64, CloseCause)> {
    sim.log(0, &LogFilter::default())
        .into_iter()
        .find_map(|r| match r.event {
            Event::LinkClosed { link: l, cause, .. } if l == link => Some((r.at_ms, cause)),
            _ => None,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_sent_into_a_tcp_reset_gap_arrive_by_retry_once_each() {
    // Retries after 0 s, 3 s, 15 s: short enough for a test, long enough that one of them
    // falls after the reconnect however the gap's traffic was lost (a ghost swallowing it
    // for the 3 s ack timeout, or no link at all).
    let sim = sim(SimConfig {
        rate: 0.0,
        retry_scale: 0.05,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let seen = Seen::default();
    let counter = seen.clone();
    let handler = handler_fn(move |d: Delivery| {
        let counter = counter.clone();
        async move {
            *counter
                .lock()
                .unwrap()
                .entry(event_id(d.payload()))
                .or_default() += 1;
            Ok::<(), HandlerError>(())
        }
    });
    let socket = SocketConfig::default();
    let backoff_base = socket.backoff_base;
    let runtime = Runtime::builder()
        .socket_config(socket)
        .api_url(sim.api_url())
        .app_token(sim.app_token())
        .bot_token(sim.bot_token())
        .data_dir(dir.path())
        .handler(handler)
        .seed(7)
        .build()
        .expect("builds");
    let running = spawn_connected(runtime).await;
    let first = sim.links()[0].id;
    // The reconnect's `apps.connections.open` answers 500 ms late: the gap lasts at least
    // that long whatever the jitter drew, so the pushes below fall into it.
    let hold = Duration::from_millis(500);
    sim.hold_next("apps.connections.open", 1, Hold::For(hold))
        .unwrap();
    assert_eq!(sim.reset_link(Target::Link(first)), 1);
    let mut state = running.handle.state();
    tokio::time::timeout(WAIT, state.wait_for(|s| *s != "connected"))
        .await
        .expect("the reset is noticed")
        .expect("runtime alive");
    assert!(
        sim.links().iter().all(|l| l.ghost),
        "no live link in the gap"
    );
    let envelopes: Vec<_> = (0..10)
        .map(|_| sim.make_envelope(TrafficKind::EventsApi))
        .collect();
    for e in &envelopes {
        sim.send(e.clone(), Target::All);
    }
    tokio::time::timeout(WAIT, state.wait_for(|s| *s == "connected"))
        .await
        .expect("reconnected")
        .expect("runtime alive");

    // Every event reaches the handler once, by a retry.
    let events: Vec<String> = envelopes.iter().map(|e| event_id(&e.payload)).collect();
    let all_seen = || {
        let seen = seen.lock().unwrap();
        events.iter().all(|e| seen.contains_key(e))
    };
    eventually("every event dispatched", Duration::from_secs(40), || {
        let done = all_seen();
        async move { done.then_some(()) }
    })
    .await;
    let on_time = || {
        sim.acks()
            .iter()
            .filter(|a| a.outcome == phantom_fsm::sim::AckOutcome::OnTime)
            .count()
    };
    sim.wait_until(WAIT, || on_time() >= envelopes.len())
        .await
        .unwrap_or_else(|e| panic!("{e}: {} on-time acks", on_time()));
    let log = sim.log(0, &LogFilter::default());
    for e in &envelopes {
        let id = &e.envelope_id;
        // Not delivered on a live link in the gap: undeliverable, or swallowed by the ghost.
        let first_try = log.iter().find_map(|r| match &r.event {
            Event::Undeliverable { envelope_id, .. } if envelope_id == id => Some(true),
            Event::FrameSent {
                envelope_id: Some(eid),
                lost,
                retry_attempt,
                ..
            } if eid == id && *retry_attempt == Some(0) => Some(*lost),
            _ => None,
        });
        assert_eq!(first_try, Some(true), "{id} was delivered in the gap");
    }
    assert!(
        sim.lost().values().all(|n| *n == 0),
        "lost: {:?}",
        sim.lost()
    );
    let seen = seen.lock().unwrap().clone();
    for e in &events {
        assert_eq!(
            seen.get(e),
            Some(&1),
            "{e} dispatched {:?} times",
            seen.get(e)
        );
    }
    // The reset was a reset, and the reconnect came within the first backoff (full jitter,
    // at most the base) plus the held reply.
    let (reset_at, cause) = closed(&sim, first).expect("the reset is logged");
    assert_eq!(cause, CloseCause::Reset);
    let second_opened = log
        .iter()
        .find_map(|r| match &r.event {
            Event::LinkOpened { link, .. } if *link != first => Some(r.at_ms),
            _ => None,
        })
        .expect("a second link");
    let took = Duration::from_millis(second_opened - reset_at);
    let margin = Duration::from_millis(500);
    assert!(
        took <= backoff_base + hold + margin,
        "reconnected {took:?} after the reset"
    );
    running.handle.shutdown();
    tokio::time::timeout(WAIT, running.task)
        .await
        .expect("stops in time")
        .expect("task")
        .expect("runs cleanly");
}
