//! Responder mode in the embedding API: a handler's answer rides inside the ack, a late one
//! leaves an empty ack by the deadline and is counted.

use crate::common::*;
use phantom_fsm::runtime::{Delivery, HandlerError, Runtime, handler_fn};
use phantom_fsm::sim::{AckOutcome, Target, TrafficKind};
use std::time::Duration;

fn responding(delay: Duration) -> impl phantom_fsm::runtime::EventHandler {
    handler_fn(move |d: Delivery| async move {
        tokio::time::sleep(delay).await;
        let answered = d.respond(serde_json::json!({ "text": format!("hi {}", d.envelope_id()) }));
        assert_eq!(answered, d.accepts_response_payload());
        Ok::<(), HandlerError>(())
    })
}

async fn run_with(
    sim: &phantom_fsm::sim::SimHandle,
    data: &std::path::Path,
    delay: Duration,
) -> (
    phantom_fsm::runtime::RuntimeHandle,
    phantom_fsm::telemetry::Telemetry,
    tokio::task::JoinHandle<Result<(), phantom_fsm::runtime::RuntimeError>>,
) {
    let runtime = Runtime::builder()
        .api_url(sim.api_url())
        .app_token(sim.app_token())
        .bot_token(sim.bot_token())
        .data_dir(data)
        .handler(responding(delay))
        .responder(true)
        .seed(7)
        .build()
        .expect("builds");
    let s = spawn_connected(runtime).await;
    (s.handle, s.telemetry, s.task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_command_answer_rides_inside_the_ack() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (handle, _telemetry, task) = run_with(&sim, dir.path(), Duration::ZERO).await;
    let ids = sim.push_now(1, TrafficKind::SlashCommands, Target::All);
    let id = ids[0].clone();
    let ack = ack_of(&sim, &id).await;
    assert_eq!(
        ack.payload,
        Some(serde_json::json!({ "text": format!("hi {id}") }))
    );
    assert_eq!(ack.payload_error, None);
    assert_eq!(ack.outcome, AckOutcome::OnTime);
    // Events are acked first, as without a responder: the handler's respond() is refused.
    let events = sim.push_now(1, TrafficKind::EventsApi, Target::All);
    sim.wait_until(WAIT, || {
        sim.acks().iter().any(|a| a.envelope_id == events[0])
    })
    .await
    .expect("event acked");
    handle.shutdown();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_answer_leaves_an_empty_ack_by_the_deadline_and_is_counted() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (handle, telemetry, task) = run_with(&sim, dir.path(), Duration::from_millis(2_700)).await;
    let ids = sim.push_now(1, TrafficKind::SlashCommands, Target::All);
    let id = ids[0].clone();
    let ack = ack_of(&sim, &id).await;
    assert_eq!(ack.payload, None);
    assert!(
        ack.latency_us < 2_700_000,
        "acked by the deadline: {}",
        ack.latency_us
    );
    assert!(
        ack.latency_us >= 2_000_000,
        "the ack waited: {}",
        ack.latency_us
    );
    let late = r#"phantom_slack_envelopes_total{outcome="late_response",type="slash_commands"}"#;
    eventually("the late answer is counted", WAIT, || async {
        (metric(&telemetry.render(), late) == Some(1.0)).then_some(())
    })
    .await;
    handle.shutdown();
    task.await.unwrap().unwrap();
}
