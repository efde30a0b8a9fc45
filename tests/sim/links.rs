//! Links: hello, traffic, acks and their latency, re-delivery, the link limit.

use crate::common::*;
use futures_util::SinkExt;
use phantom_fsm::sim::{
    AckOutcome, CloseCause, Event, LogFilter, RetryIds, SimConfig, Target, TrafficKind,
};
use phantom_fsm::socket::{DEFAULT_MAX_FRAME_BYTES, ServerFrame, decode_text};
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn kind(k: &str) -> LogFilter {
    LogFilter {
        kind: Some(k.into()),
        link: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_comes_first_with_slack_fields() {
    let sim = start_quiet().await;
    let (_ws, hello) = connect(&sim).await;
    assert_eq!(hello["num_connections"], 1);
    assert_eq!(hello["debug_info"]["host"], "applink-1");
    assert!(hello["debug_info"]["build_number"].is_u64());
    assert_eq!(hello["debug_info"]["approximate_connection_time"], 18060);
    // Slack's documented form: "2020-10-11 12:12:12.120".
    let started = hello["debug_info"]["started"].as_str().unwrap();
    assert_eq!(started.len(), 23, "{started}");
    assert_eq!(
        (&started[4..5], &started[10..11], &started[19..20]),
        ("-", " ", ".")
    );
    assert_eq!(hello["connection_info"]["app_id"], "A0SIMAPP01");
    let parsed = decode_text(&hello.to_string(), DEFAULT_MAX_FRAME_BYTES).unwrap();
    assert!(matches!(parsed, ServerFrame::Hello(h) if h.num_connections == Some(1)));
    let (_ws2, hello2) = connect(&sim).await;
    assert_eq!(hello2["num_connections"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_traffic_flows_and_acks_are_recorded_with_latency() {
    let sim = start(SimConfig {
        rate: 20.0,
        traffic_kind: TrafficKind::Mixed,
        ..SimConfig::default()
    })
    .await;
    let (mut ws, _) = connect(&sim).await;
    let mut kinds = Vec::new();
    for _ in 0..6 {
        let env = next_text(&mut ws).await;
        let ServerFrame::Envelope(e) =
            decode_text(&env.to_string(), DEFAULT_MAX_FRAME_BYTES).expect("a valid envelope")
        else {
            panic!("not an envelope: {env}");
        };
        kinds.push(e.kind.as_str().to_string());
        // Node's client acks with an empty payload.
        let ack = serde_json::json!({"envelope_id": e.envelope_id, "payload": {}});
        ws.send(Message::text(ack.to_string())).await.unwrap();
    }
    for k in ["events_api", "slash_commands", "interactive"] {
        assert!(kinds.iter().any(|x| x == k), "{kinds:?}");
    }
    let acks = sim
        .wait_for(WAIT, || Some(sim.acks()).filter(|a| a.len() >= 6))
        .await
        .unwrap();
    assert!(
        acks.iter().all(|a| a.outcome == AckOutcome::OnTime),
        "{acks:?}"
    );
    assert!(acks.iter().all(|a| a.latency_us > 0));
    let with_payload = sim.log(0, &kind("ack"));
    assert!(with_payload.iter().all(|r| matches!(
        r.event,
        Event::Ack {
            with_payload: true,
            ..
        }
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacked_event_is_delivered_again_after_3_s() {
    let sim = start(SimConfig {
        retry_envelope_ids: RetryIds::Fresh,
        ..quiet()
    })
    .await;
    let (mut ws, _) = connect(&sim).await;
    let ids = sim.push_now(1, TrafficKind::EventsApi, Target::All);
    let first = next_text(&mut ws).await;
    assert_eq!(first["envelope_id"], ids[0].as_str());
    assert_eq!(first["retry_attempt"], 0);
    assert_eq!(first["retry_reason"], "");
    // No ack: Slack tries again.
    let again = next_text(&mut ws).await;
    assert_eq!(again["retry_attempt"], 1);
    assert_eq!(again["retry_reason"], "timeout");
    assert_eq!(again["payload"]["event_id"], first["payload"]["event_id"]);
    assert_ne!(again["envelope_id"], first["envelope_id"]);
    ack(&mut ws, again["envelope_id"].as_str().unwrap()).await;
    ack(&mut ws, first["envelope_id"].as_str().unwrap()).await;
    let acks = sim
        .wait_for(WAIT, || Some(sim.acks()).filter(|a| a.len() == 2))
        .await
        .unwrap();
    assert_eq!(acks[0].outcome, AckOutcome::OnTime);
    assert_eq!(acks[1].outcome, AckOutcome::Late);
    assert!(acks[1].latency_us >= 3_000_000, "{acks:?}");

    let log = sim.log(0, &LogFilter::default());
    let sent_at = log.iter().find_map(|r| match &r.event {
        Event::FrameSent {
            envelope_id: Some(id),
            ..
        } if *id == ids[0] => Some(r.at_ms),
        _ => None,
    });
    let expired_at = log.iter().find_map(|r| match &r.event {
        Event::Expired {
            envelope_id,
            redelivered: true,
            ..
        } if *envelope_id == ids[0] => Some(r.at_ms),
        _ => None,
    });
    let (sent_at, expired_at) = (sent_at.unwrap(), expired_at.unwrap());
    assert!(
        expired_at - sent_at >= 3_000,
        "expired {expired_at} sent {sent_at}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_bounded_and_commands_are_never_delivered_again() {
    let sim = start(SimConfig {
        ack_timeout: Duration::from_millis(200),
        retry_scale: 0.001,
        ..quiet()
    })
    .await;
    let (mut ws, _) = connect(&sim).await;
    sim.push_now(1, TrafficKind::EventsApi, Target::All);
    let attempts: Vec<Value> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(next_text(&mut ws).await["retry_attempt"].clone());
        }
        v
    };
    assert_eq!(attempts, [0, 1, 2, 3]);
    sim.push_now(1, TrafficKind::SlashCommands, Target::All);
    let cmd = next_text(&mut ws).await;
    assert_eq!(cmd["type"], "slash_commands");
    assert!(cmd.get("retry_attempt").is_none(), "{cmd}");
    let expiries = sim
        .wait_for(WAIT, || {
            let e = sim.log(0, &kind("expired"));
            (e.len() == 5).then_some(e)
        })
        .await
        .unwrap();
    let redelivered: Vec<bool> = expiries
        .iter()
        .map(|r| {
            matches!(
                r.event,
                Event::Expired {
                    redelivered: true,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(redelivered, [true, true, true, false, false]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_on_another_link_does_not_count() {
    let sim = start(SimConfig {
        ack_timeout: Duration::from_millis(300),
        ..quiet()
    })
    .await;
    let (mut a, _) = connect(&sim).await;
    let (mut b, _) = connect(&sim).await;
    let id = sim.push_now(1, TrafficKind::EventsApi, Target::Link(sim.links()[0].id))[0].clone();
    let env = next_text(&mut a).await;
    assert_eq!(env["envelope_id"], id.as_str());
    ack(&mut b, &id).await;
    let again = next_text(&mut b).await;
    assert_eq!(again["retry_attempt"], 1, "re-delivered on the other link");
    let first = sim
        .wait_for(WAIT, || sim.acks().first().cloned())
        .await
        .unwrap();
    assert_eq!(first.outcome, AckOutcome::WrongLink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_eleventh_link_gets_too_many_websockets() {
    let sim = start_quiet().await;
    let mut links = Vec::new();
    for n in 1..=10 {
        let (ws, hello) = connect(&sim).await;
        assert_eq!(hello["num_connections"], n);
        links.push(ws);
    }
    let url = open_url(&sim).await;
    let (mut eleventh, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let frame = next_text(&mut eleventh).await;
    assert_eq!(frame["type"], "disconnect");
    assert_eq!(frame["reason"], "too_many_websockets");
    let rest = read_until_end(&mut eleventh).await;
    assert!(matches!(rest.first(), Some(Message::Close(_))), "{rest:?}");
    assert_eq!(sim.links().len(), 10);
    assert_eq!(sim.log(0, &kind("link_refused")).len(), 1);
    // A slot frees when a link closes.
    links.pop().unwrap().close(None).await.unwrap();
    sim.wait_until(WAIT, || sim.links().len() == 9)
        .await
        .unwrap();
    let (_ws, hello) = connect(&sim).await;
    assert_eq!(hello["num_connections"], 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_envelopes_go_out_at_a_rate() {
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;
    sim.push_at_rate(3, 50.0, TrafficKind::Interactive, Target::Newest)
        .unwrap();
    for _ in 0..3 {
        let env = next_text(&mut ws).await;
        assert_eq!(env["payload"]["type"], "block_actions");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_pings_each_link() {
    let sim = start(SimConfig {
        ping_interval: Duration::from_millis(100),
        ..quiet()
    })
    .await;
    let (mut ws, _) = connect(&sim).await;
    let ping = loop {
        if let Some(Message::Ping(p)) = next_frame(&mut ws).await {
            break p;
        }
    };
    assert_eq!(&ping[..], b"Ping from applink-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_close_is_answered_and_logged() {
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;
    ws.close(None).await.unwrap();
    let rest = read_until_end(&mut ws).await;
    assert!(matches!(rest.last(), Some(Message::Close(_))), "{rest:?}");
    let closed = sim
        .wait_for(WAIT, || sim.log(0, &kind("link_closed")).pop())
        .await
        .unwrap();
    assert!(matches!(
        closed.event,
        Event::LinkClosed {
            cause: CloseCause::ClientClosed,
            ..
        }
    ));
}
