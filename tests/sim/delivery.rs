//! Slack's delivery facts: no backlog while no link is open, events retried on Slack's
//! (scaled) schedule, commands and interactions lost, ghost links, refresh variants.

use crate::common::*;
use phantom_fsm::sim::{
    AckOutcome, CloseCause, Event, LogFilter, RefreshStyle, RetryIds, SimConfig, SimHandle, Target,
    TrafficKind,
};
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn kind(k: &str) -> LogFilter {
    LogFilter {
        kind: Some(k.into()),
        link: None,
    }
}

/// Fast retries: 0 ms, 600 ms, 3 s; acks due in 200 ms.
fn fast() -> SimConfig {
    SimConfig {
        ack_timeout: Duration::from_millis(200),
        retry_scale: 0.01,
        ..quiet()
    }
}

fn lost(sim: &SimHandle, k: &str) -> u64 {
    sim.lost().get(k).copied().unwrap_or(0)
}

/// The sim time (ms) of the frame that carried `retry_attempt` of the event `event_id`.
fn sent_at(sim: &SimHandle, attempt: u32) -> Option<u64> {
    sim.log(0, &kind("frame_sent"))
        .into_iter()
        .find_map(|r| match r.event {
            Event::FrameSent {
                retry_attempt: Some(a),
                envelope_id: Some(_),
                ..
            } if a == attempt => Some(r.at_ms),
            _ => None,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelopes_pushed_with_no_link_are_not_queued_for_the_next_hello() {
    let sim = start(fast()).await;
    let event = sim.push_now(1, TrafficKind::EventsApi, Target::All)[0].clone();
    let cmd = sim.push_now(1, TrafficKind::SlashCommands, Target::All)[0].clone();
    sim.push_now(1, TrafficKind::Interactive, Target::All);
    assert_eq!(lost(&sim, "slash_commands"), 1, "never retried");
    assert_eq!(lost(&sim, "interactive"), 1);
    // The event's first retry (immediate) finds no link either; the second is due later.
    sim.wait_until(WAIT, || {
        sim.log(0, &kind("retry_scheduled")).iter().any(|r| {
            matches!(
                r.event,
                Event::RetryScheduled {
                    retry_attempt: 2,
                    ..
                }
            )
        })
    })
    .await
    .unwrap();
    let (mut ws, _) = connect(&sim).await;
    let first = next_text(&mut ws).await;
    assert_eq!(first["type"], "events_api", "no backlog: {first}");
    assert_eq!(first["retry_attempt"], 2);
    assert_eq!(first["retry_reason"], "connection_failed");
    ack(&mut ws, first["envelope_id"].as_str().unwrap()).await;
    sim.wait_until(WAIT, || sim.acks().len() == 1)
        .await
        .unwrap();
    assert_eq!(sim.acks()[0].outcome, AckOutcome::OnTime);
    let undeliverable = sim.log(0, &kind("undeliverable"));
    assert_eq!(undeliverable.len(), 4, "3 pushes + the immediate retry");
    let sent_ids: Vec<String> = sim
        .log(0, &kind("frame_sent"))
        .into_iter()
        .filter_map(|r| match r.event {
            Event::FrameSent { envelope_id, .. } => envelope_id,
            _ => None,
        })
        .collect();
    assert!(!sent_ids.contains(&cmd), "a lost command is never sent");
    assert_eq!(lost(&sim, "events_api"), 0, "{event} was delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacked_event_is_retried_on_slacks_scaled_schedule_then_lost() {
    let sim = start(SimConfig {
        retry_envelope_ids: RetryIds::Fresh,
        ..fast()
    })
    .await;
    let (mut ws, _) = connect(&sim).await;
    sim.push_now(1, TrafficKind::EventsApi, Target::All);
    let mut frames: Vec<Value> = Vec::new();
    for _ in 0..4 {
        frames.push(next_text(&mut ws).await);
    }
    let attempts: Vec<&Value> = frames.iter().map(|f| &f["retry_attempt"]).collect();
    assert_eq!(attempts, [0, 1, 2, 3]);
    let reasons: Vec<&Value> = frames.iter().map(|f| &f["retry_reason"]).collect();
    assert_eq!(reasons, ["", "timeout", "timeout", "timeout"]);
    let event_ids: Vec<&Value> = frames.iter().map(|f| &f["payload"]["event_id"]).collect();
    assert!(event_ids.iter().all(|e| *e == event_ids[0]));
    sim.wait_until(WAIT, || lost(&sim, "events_api") == 1)
        .await
        .unwrap();
    let at: Vec<u64> = (0..4).map(|a| sent_at(&sim, a).unwrap()).collect();
    // Ack timeout (200 ms) + 0, + 600 ms, + 3 s.
    assert!(at[1] - at[0] >= 200, "{at:?}");
    assert!(at[2] - at[1] >= 800, "{at:?}");
    assert!(at[3] - at[2] >= 3_200, "{at:?}");
    let lost_rec = sim.log(0, &kind("lost")).pop().unwrap();
    assert!(
        matches!(&lost_rec.event, Event::Lost { cause, retry_attempt: 3, .. } if cause == "retries_exhausted"),
        "{lost_rec:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_can_keep_its_envelope_id() {
    let sim = start(SimConfig {
        retry_envelope_ids: RetryIds::Same,
        // Long enough that the retry's ack is surely in time on a loaded machine.
        ack_timeout: Duration::from_secs(2),
        ..fast()
    })
    .await;
    let (mut ws, _) = connect(&sim).await;
    let id = sim.push_now(1, TrafficKind::EventsApi, Target::All)[0].clone();
    assert_eq!(next_text(&mut ws).await["envelope_id"], id.as_str());
    let again = next_text(&mut ws).await;
    assert_eq!(again["envelope_id"], id.as_str());
    assert_eq!(again["retry_attempt"], 1);
    ack(&mut ws, &id).await;
    let acks = sim
        .wait_for(WAIT, || Some(sim.acks()).filter(|a| !a.is_empty()))
        .await
        .unwrap();
    assert_eq!(acks[0].outcome, AckOutcome::OnTime, "counts for the retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_and_interactions_that_miss_their_ack_are_lost_and_counted() {
    let sim = start(fast()).await;
    let (mut ws, _) = connect(&sim).await;
    sim.push_now(1, TrafficKind::SlashCommands, Target::All);
    sim.push_now(1, TrafficKind::Interactive, Target::All);
    next_text(&mut ws).await;
    next_text(&mut ws).await;
    sim.wait_until(WAIT, || {
        lost(&sim, "slash_commands") == 1 && lost(&sim, "interactive") == 1
    })
    .await
    .unwrap();
    let causes: Vec<String> = sim
        .log(0, &kind("lost"))
        .into_iter()
        .filter_map(|r| match r.event {
            Event::Lost { cause, .. } => Some(cause),
            _ => None,
        })
        .collect();
    assert_eq!(causes, ["not_acked", "not_acked"]);
    let state = get(format!("{}state", sim.control_url())).await.json();
    assert_eq!(state["lost"]["slash_commands"], 1, "{state}");
    assert_eq!(state["lost"]["interactive"], 1, "{state}");
    assert_eq!(state["lost"]["events_api"], 0, "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_gone_without_close_is_a_ghost_that_counts_and_swallows_envelopes() {
    let sim = start(SimConfig {
        ghost_ttl: Duration::from_millis(1500),
        ..fast()
    })
    .await;
    let (a, _) = connect(&sim).await;
    let (mut b, _) = connect(&sim).await;
    drop(a); // TCP ends with no close frame.
    sim.wait_until(WAIT, || sim.links().iter().any(|l| l.ghost))
        .await
        .unwrap();
    let (mut c, hello) = connect(&sim).await;
    assert_eq!(hello["num_connections"], 3, "the ghost still counts");
    let ids = sim.push_now(6, TrafficKind::EventsApi, Target::All);
    // Every event reaches a live link in the end (the ghost's after a retry).
    let mut events = std::collections::HashSet::new();
    while events.len() < ids.len() {
        let (frame, from_b) = tokio::select! {
            f = next_text(&mut b) => (f, true),
            f = next_text(&mut c) => (f, false),
        };
        events.insert(frame["payload"]["event_id"].as_str().unwrap().to_string());
        let id = frame["envelope_id"].as_str().unwrap();
        ack(if from_b { &mut b } else { &mut c }, id).await;
    }
    let swallowed = sim
        .log(0, &kind("frame_sent"))
        .into_iter()
        .any(|r| matches!(r.event, Event::FrameSent { link, lost: true, .. } if link.0 == 1));
    assert!(swallowed, "round robin sent something to the ghost");
    sim.wait_until(WAIT, || !sim.links().iter().any(|l| l.ghost))
        .await
        .unwrap();
    assert!(
        sim.log(0, &kind("link_fault")).iter().any(
            |r| matches!(&r.event, Event::LinkFault { fault, .. } if fault == "ghost_expired")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ghosts_count_toward_the_link_cap() {
    let sim = start(SimConfig {
        max_links: 2,
        ..quiet()
    })
    .await;
    let (a, _) = connect(&sim).await;
    drop(a);
    sim.wait_until(WAIT, || sim.links().iter().any(|l| l.ghost))
        .await
        .unwrap();
    let (_b, hello) = connect(&sim).await;
    assert_eq!(hello["num_connections"], 2);
    let url = open_url(&sim).await;
    let (mut third, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let frame = next_text(&mut third).await;
    assert_eq!(frame["reason"], "too_many_websockets");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_close_leaves_no_ghost() {
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;
    ws.close(None).await.unwrap();
    read_until_end(&mut ws).await;
    sim.wait_until(WAIT, || sim.links().is_empty())
        .await
        .unwrap();
}

async fn refresh_frames(style: RefreshStyle) -> (SimHandle, Vec<Message>) {
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;
    assert_eq!(
        sim.refresh(Target::All, style, Some(Duration::from_millis(100))),
        1
    );
    let frames = read_until_end(&mut ws).await;
    (sim, frames)
}

fn texts(frames: &[Message]) -> Vec<Value> {
    frames
        .iter()
        .filter_map(|m| match m {
            Message::Text(t) => serde_json::from_str(t.as_str()).ok(),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_variants_are_what_they_say() {
    let (_sim, frames) = refresh_frames(RefreshStyle::RefreshRequested).await;
    let t = texts(&frames);
    assert_eq!(t.len(), 1, "no warning first: {t:?}");
    assert_eq!(t[0]["reason"], "refresh_requested");
    assert!(frames.iter().any(|m| matches!(m, Message::Close(_))));

    let (_sim, frames) = refresh_frames(RefreshStyle::Warning).await;
    assert_eq!(texts(&frames)[0]["reason"], "warning");
    assert!(frames.iter().any(|m| matches!(m, Message::Close(_))));

    let (sim, frames) = refresh_frames(RefreshStyle::Reset).await;
    assert!(
        frames
            .iter()
            .all(|m| matches!(m, Message::Ping(_) | Message::Pong(_))),
        "no disconnect, no close frame: {frames:?}"
    );
    let closed = sim
        .wait_for(WAIT, || sim.log(0, &kind("link_closed")).pop())
        .await
        .unwrap();
    assert!(matches!(
        closed.event,
        Event::LinkClosed {
            cause: CloseCause::Reset,
            ..
        }
    ));
    assert!(sim.links()[0].ghost, "a reset leaves a ghost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_periodic_refresh_can_come_as_refresh_requested() {
    let sim = start(SimConfig {
        refresh_after: Some(Duration::from_millis(100)),
        refresh_style: RefreshStyle::RefreshRequested,
        disconnect_cut_after: Duration::from_millis(100),
        ..quiet()
    })
    .await;
    let (mut ws, _) = connect(&sim).await;
    let frame = next_text(&mut ws).await;
    assert_eq!(frame["reason"], "refresh_requested");
}
