//! Ack payloads: `block_suggestion` needs options, `view_submission` a valid
//! `response_action`, a slash command a message; a malformed one is an error in the log, and
//! every payload received is visible through `SimHandle::acks` and `GET /_sim/acks`.

use crate::common::*;
use futures_util::SinkExt;
use phantom_fsm::sim::{AckOutcome, LogFilter, Target, TrafficKind};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn ack_with(ws: &mut Ws, envelope_id: &str, payload: Value) {
    let text = json!({"envelope_id": envelope_id, "payload": payload}).to_string();
    ws.send(Message::text(text)).await.expect("ack sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelopes_that_accept_a_response_say_so() {
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;
    for (kind, ty, accepts) in [
        (TrafficKind::Interactive, "block_actions", false),
        (TrafficKind::BlockSuggestion, "block_suggestion", true),
        (TrafficKind::ViewSubmission, "view_submission", true),
    ] {
        sim.push_now(1, kind, Target::All);
        let env = next_text(&mut ws).await;
        assert_eq!(env["type"], "interactive");
        assert_eq!(env["payload"]["type"], ty);
        assert_eq!(env["accepts_response_payload"], accepts, "{env}");
        assert!(env.get("retry_attempt").is_none(), "never retried: {env}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_payloads_are_checked_and_exposed() {
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;
    let cases = [
        (TrafficKind::BlockSuggestion, json!({}), false),
        (
            TrafficKind::BlockSuggestion,
            json!({"options": [{"text": {"type": "plain_text", "text": "A"}, "value": "a"}]}),
            true,
        ),
        (
            TrafficKind::ViewSubmission,
            json!({"response_action": "errors", "errors": {"sim-input": "Too short"}}),
            true,
        ),
        (
            TrafficKind::ViewSubmission,
            json!({"response_action": "update"}),
            false,
        ),
        (TrafficKind::SlashCommands, json!({"text": "done"}), true),
        (
            TrafficKind::EventsApi,
            json!({"text": "nobody reads this"}),
            false,
        ),
    ];
    for (kind, payload, _) in &cases {
        let id = sim.push_now(1, *kind, Target::All)[0].clone();
        assert_eq!(next_text(&mut ws).await["envelope_id"], id.as_str());
        ack_with(&mut ws, &id, payload.clone()).await;
    }
    let acks = sim
        .wait_for(WAIT, || Some(sim.acks()).filter(|a| a.len() == cases.len()))
        .await
        .unwrap();
    for (ack, (kind, payload, valid)) in acks.iter().zip(&cases) {
        assert_eq!(ack.outcome, AckOutcome::OnTime);
        assert_eq!(ack.payload.as_ref(), Some(payload));
        assert_eq!(ack.payload_error.is_none(), *valid, "{kind:?}: {ack:?}");
    }
    let errors = sim.log(
        0,
        &LogFilter {
            kind: Some("ack_payload_error".into()),
            link: None,
        },
    );
    assert_eq!(errors.len(), 3, "{errors:?}");
    let listed = get(format!("{}acks", sim.control_url())).await.json();
    let listed = listed["acks"].as_array().unwrap();
    assert_eq!(listed.len(), cases.len());
    assert_eq!(listed[1]["payload"]["options"][0]["value"], "a");
    assert!(
        listed[0]["payload_error"]
            .as_str()
            .unwrap()
            .contains("options")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_suggestion_and_view_submission_can_be_pushed_through_the_control_api() {
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;
    for kind in ["block_suggestion", "view_submission"] {
        let r = control(&sim, "push", json!({"count": 1, "kind": kind})).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(next_text(&mut ws).await["payload"]["type"], kind);
    }
}
