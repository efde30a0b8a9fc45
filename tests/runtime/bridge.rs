//! The HTTP bridge against a small local HTTP app that checks every request the way Slack's
//! HTTP delivery is checked (`v0` signature, compared in constant time, with hmac directly),
//! behind the embedding API and the simulator.

use crate::common::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use phantom_fsm::runtime::bridge::BridgeConfig;
use phantom_fsm::runtime::{Runtime, RuntimeHandle};
use phantom_fsm::sim::{SimHandle, Target, TrafficKind};
use phantom_fsm::slack::Secret;
use phantom_fsm::socket::SocketConfig;
use phantom_fsm::telemetry::Telemetry;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

/// One request as the app saw it.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) content_type: String,
    pub(crate) headers: HashMap<String, String>,
    pub(crate) body: String,
    pub(crate) signed: bool,
}

/// The app: verifies, records, answers like a Bolt app would (after `delay`).
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) delay: Duration,
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
}

fn signed(headers: &HeaderMap, body: &[u8]) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(ts), Some(sig)) = (get("x-slack-request-timestamp"), get("x-slack-signature")) else {
        return false;
    };
    let Ok(ts) = ts.parse::<u64>() else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if now.abs_diff(ts) > 300 {
        return false;
    }
    let Some(tag) = sig.strip_prefix("v0=").and_then(|h| hex::decode(h).ok()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:").as_bytes());
    mac.update(body);
    mac.verify_slice(&tag).is_ok()
}

async fn answer(State(app): State<App>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let ok = signed(&headers, &body);
    let text = String::from_utf8_lossy(&body).to_string();
    app.seen.lock().unwrap().push(Seen {
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: text.clone(),
        signed: ok,
    });
    if !ok {
        return (StatusCode::UNAUTHORIZED, String::new());
    }
    tokio::time::sleep(app.delay).await;
    let form: HashMap<String, String> = serde_urlencoded::from_str(&text).unwrap_or_default();
    if form.contains_key("command") {
        return (StatusCode::OK, "pong".into());
    }
    let Some(payload) = form.get("payload") else {
        return (StatusCode::OK, String::new());
    };
    let payload: Value = serde_json::from_str(payload).unwrap();
    let reply = match payload["type"].as_str() {
        Some("block_suggestion") => {
            json!({"options": [{"text": {"type": "plain_text", "text": "one"}, "value": "1"}]})
        }
        Some("view_submission") => json!({"response_action": "errors", "errors": {"b1": "bad"}}),
        _ => return (StatusCode::OK, String::new()),
    };
    (StatusCode::OK, reply.to_string())
}

/// Serve the app on 127.0.0.1; its request URL.
pub(crate) async fn serve(app: App) -> String {
    let router = axum::Router::new()
        .route("/slack/events", axum::routing::post(answer))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/slack/events")
}

struct Bridged {
    handle: RuntimeHandle,
    telemetry: Telemetry,
    task: tokio::task::JoinHandle<Result<(), phantom_fsm::runtime::RuntimeError>>,
    _dir: tempfile::TempDir,
}

async fn bridged(sim: &SimHandle, config: BridgeConfig) -> Bridged {
    bridged_with(sim, config, SocketConfig::default()).await
}

async fn bridged_with(sim: &SimHandle, config: BridgeConfig, socket: SocketConfig) -> Bridged {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::builder()
        .forward(config)
        // After forward(): the bridge keeps responder mode on whatever the config says.
        .socket_config(socket)
        .api_url(sim.api_url())
        .app_token(sim.app_token())
        .bot_token(sim.bot_token())
        .data_dir(dir.path())
        .seed(7)
        .build()
        .expect("builds");
    let Spawned {
        handle,
        telemetry,
        task,
    } = spawn_connected(runtime).await;
    Bridged {
        handle,
        telemetry,
        task,
        _dir: dir,
    }
}

impl Bridged {
    fn outcome(&self, outcome: &str) -> f64 {
        let series = format!(r#"phantom_bridge_requests_total{{outcome="{outcome}"}}"#);
        metric(&self.telemetry.render(), &series).unwrap_or(-1.0)
    }

    async fn wait_outcome(&self, outcome: &str, n: f64) {
        eventually(&format!("{n} {outcome} requests"), WAIT, || async {
            (self.outcome(outcome) == n).then_some(())
        })
        .await;
    }

    async fn stop(self) {
        self.handle.shutdown();
        self.task.await.unwrap().unwrap();
    }
}

fn config(url: String, secret: &str) -> BridgeConfig {
    BridgeConfig::new(url, Secret::new(secret))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_type_arrives_as_slacks_signed_request_and_answers_ride_in_the_ack() {
    let sim = quiet_sim().await;
    let app = App {
        delay: Duration::ZERO,
        seen: Arc::default(),
    };
    let url = serve(app.clone()).await;
    let bridge = bridged(&sim, config(url, SECRET)).await;
    assert_eq!(bridge.outcome("ok"), 0.0, "families present from the start");

    // events_api: the payload JSON, acked first; a retried one carries the retry headers.
    let event = sim.make_envelope(TrafficKind::EventsApi);
    let mut retried = sim.make_envelope(TrafficKind::EventsApi);
    retried.retry_attempt = 2;
    retried.retry_reason = Some("timeout".into());
    sim.send(event.clone(), Target::All);
    sim.send(retried.clone(), Target::All);
    bridge.wait_outcome("ok", 2.0).await;
    let seen = app.seen.lock().unwrap().clone();
    for s in &seen {
        assert!(s.signed, "signature verifies: {s:?}");
        assert_eq!(s.content_type, "application/json");
    }
    let first = seen
        .iter()
        .find(|s| !s.headers.contains_key("x-slack-retry-num"))
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&first.body).unwrap(),
        event.payload
    );
    let again = seen
        .iter()
        .find(|s| s.headers.contains_key("x-slack-retry-num"))
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&again.body).unwrap(),
        retried.payload
    );
    assert_eq!(again.headers["x-slack-retry-num"], "2");
    assert_eq!(again.headers["x-slack-retry-reason"], "timeout");
    assert_eq!(ack_of(&sim, &event.envelope_id).await.payload, None);

    // A slash command: its fields form-encoded; the text answer is the ack's {"text": ..}.
    let command = sim.make_envelope(TrafficKind::SlashCommands);
    sim.send(command.clone(), Target::All);
    let ack = ack_of(&sim, &command.envelope_id).await;
    assert_eq!(ack.payload, Some(json!({"text": "pong"})));
    assert_eq!(ack.payload_error, None);
    let seen = app.seen.lock().unwrap().last().cloned().unwrap();
    assert!(seen.signed);
    assert_eq!(seen.content_type, "application/x-www-form-urlencoded");
    let form: HashMap<String, String> = serde_urlencoded::from_str(&seen.body).unwrap();
    let expected: HashMap<String, String> = command
        .payload
        .to_value()
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().map_or(v.to_string(), str::to_string)))
        .collect();
    assert_eq!(form, expected);

    // Interactivity: payload=<json>; options and modal errors ride in the ack.
    for (kind, answer) in [
        (TrafficKind::BlockSuggestion, "options"),
        (TrafficKind::ViewSubmission, "response_action"),
    ] {
        let envelope = sim.make_envelope(kind);
        sim.send(envelope.clone(), Target::All);
        let ack = ack_of(&sim, &envelope.envelope_id).await;
        assert!(
            ack.payload
                .as_ref()
                .is_some_and(|p| p.get(answer).is_some()),
            "{ack:?}"
        );
        assert_eq!(ack.payload_error, None);
        let seen = app.seen.lock().unwrap().last().cloned().unwrap();
        assert!(seen.signed);
        let form: HashMap<String, String> = serde_urlencoded::from_str(&seen.body).unwrap();
        assert_eq!(form.len(), 1);
        assert_eq!(
            serde_json::from_str::<Value>(&form["payload"]).unwrap(),
            envelope.payload
        );
    }
    bridge.wait_outcome("ok", 5.0).await;
    assert_eq!(bridge.outcome("http_error"), 0.0);
    bridge.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_rejected_by_the_app_and_counted_http_error() {
    let sim = quiet_sim().await;
    let app = App {
        delay: Duration::ZERO,
        seen: Arc::default(),
    };
    let url = serve(app.clone()).await;
    let bridge = bridged(&sim, config(url, "not-the-secret")).await;
    let command = sim.make_envelope(TrafficKind::SlashCommands);
    sim.send(command.clone(), Target::All);
    let ack = ack_of(&sim, &command.envelope_id).await;
    // The 401 leaves a bare ack at once, not at the deadline.
    assert_eq!(ack.payload, None);
    assert!(ack.latency_us < 1_000_000, "{}", ack.latency_us);
    bridge.wait_outcome("http_error", 1.0).await;
    assert!(app.seen.lock().unwrap().iter().all(|s| !s.signed));
    assert_eq!(bridge.outcome("ok"), 0.0);
    bridge.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_is_down_or_slow_never_delays_acks() {
    let sim = quiet_sim().await;
    // Down: a port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/slack/events", closed.local_addr().unwrap());
    drop(closed);
    let bridge = bridged(&sim, config(url, SECRET)).await;
    let ids = sim.push_now(5, TrafficKind::EventsApi, Target::All);
    let command = sim.push_now(1, TrafficKind::SlashCommands, Target::All);
    for id in ids.iter().chain(&command) {
        let ack = ack_of(&sim, id).await;
        assert!(ack.latency_us < 1_000_000, "{id}: {}", ack.latency_us);
        assert_eq!(ack.payload, None);
    }
    bridge.wait_outcome("refused", 6.0).await;
    bridge.stop().await;

    // Slow: answers after 4 s against a 1 s request timeout.
    let app = App {
        delay: Duration::from_secs(4),
        seen: Arc::default(),
    };
    let url = serve(app.clone()).await;
    let mut slow = config(url, SECRET);
    slow.request_timeout = Duration::from_secs(1);
    let bridge = bridged(&sim, slow).await;
    let ids = sim.push_now(3, TrafficKind::EventsApi, Target::All);
    let command = sim.push_now(1, TrafficKind::SlashCommands, Target::All);
    for id in &ids {
        assert!(ack_of(&sim, id).await.latency_us < 1_000_000);
    }
    let ack = ack_of(&sim, &command[0]).await;
    assert_eq!(ack.payload, None);
    assert!(
        ack.latency_us < 2_000_000,
        "bare ack after the timeout: {}",
        ack.latency_us
    );
    bridge.wait_outcome("timeout", 4.0).await;
    bridge.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_after_the_ack_deadline_leaves_an_empty_ack_by_2_5_s() {
    let sim = quiet_sim().await;
    let app = App {
        delay: Duration::from_millis(2_800),
        seen: Arc::default(),
    };
    let url = serve(app.clone()).await;
    let bridge = bridged(&sim, config(url, SECRET)).await;
    let command = sim.push_now(1, TrafficKind::SlashCommands, Target::All);
    let ack = ack_of(&sim, &command[0]).await;
    assert_eq!(ack.payload, None);
    assert!(ack.latency_us < 2_700_000, "{}", ack.latency_us);
    bridge.wait_outcome("ok", 1.0).await;
    let late = r#"phantom_slack_envelopes_total{outcome="late_response",type="slash_commands"}"#;
    eventually("the late answer is counted", WAIT, || async {
        (metric(&bridge.telemetry.render(), late) == Some(1.0)).then_some(())
    })
    .await;
    bridge.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_app_makes_the_runtime_shed_instead_of_queueing() {
    let sim = quiet_sim().await;
    let app = App {
        delay: Duration::from_secs(30),
        seen: Arc::default(),
    };
    let url = serve(app.clone()).await;
    let mut stuck = config(url, SECRET);
    stuck.max_concurrency = 1;
    stuck.request_timeout = Duration::from_secs(20);
    let socket = SocketConfig {
        max_pending: 3,
        ..SocketConfig::default()
    };
    let bridge = bridged_with(&sim, stuck, socket).await;
    let ids = sim.push_now(6, TrafficKind::EventsApi, Target::All);
    let shed = r#"phantom_slack_envelopes_total{outcome="shed",type="events_api"}"#;
    eventually("three envelopes shed", WAIT, || async {
        (metric(&bridge.telemetry.render(), shed) == Some(3.0)).then_some(())
    })
    .await;
    // The three accepted were acked at once; one request is in flight, two wait for its slot.
    for id in &ids[..3] {
        assert!(ack_of(&sim, id).await.latency_us < 1_000_000);
    }
    // The one request allowed may still be on its way to the app; never more than one.
    eventually("the app holds one request", WAIT, || async {
        (app.seen.lock().unwrap().len() == 1).then_some(())
    })
    .await;
    assert_eq!(app.seen.lock().unwrap().len(), 1);
    // Responder mode survived the socket_config() given after forward(): an answer-bearing
    // envelope waits for the app (here: until the ack deadline).
    let command = sim.push_now(1, TrafficKind::SlashCommands, Target::All);
    let ack = ack_of(&sim, &command[0]).await;
    assert!(ack.latency_us >= 2_000_000, "{}", ack.latency_us);
    bridge.handle.shutdown();
    tokio::time::timeout(WAIT, bridge.task)
        .await
        .expect("stops while the app is stuck")
        .unwrap()
        .unwrap();
}

#[test]
fn without_a_bridge_its_families_are_absent() {
    let text = Telemetry::new().render();
    assert!(!text.contains("phantom_bridge_"), "{text}");
}
