//! The embedding API: runtimes as values in the test's own process, with handlers that count.

use crate::common::*;
use phantom_fsm::runtime::{Delivery, HandlerError, Runtime, RuntimeHandle, handler_fn};
use phantom_fsm::sim::{SimHandle, Target, TrafficKind};
use phantom_fsm::socket::SocketConfig;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Dispatches seen by a handler, by envelope id.
type Seen = Arc<Mutex<HashMap<String, u32>>>;

fn counting(seen: Seen) -> impl phantom_fsm::runtime::EventHandler {
    handler_fn(move |d: Delivery| {
        let seen = seen.clone();
        async move {
            *seen
                .lock()
                .unwrap()
                .entry(d.envelope_id().to_string())
                .or_default() += 1;
            Ok::<(), HandlerError>(())
        }
    })
}

fn total(seen: &Seen) -> u32 {
    seen.lock().unwrap().values().sum()
}

struct Running {
    handle: RuntimeHandle,
    task: JoinHandle<Result<(), phantom_fsm::runtime::RuntimeError>>,
    telemetry: phantom_fsm::telemetry::Telemetry,
}

impl Running {
    async fn connected(&self) {
        let mut state = self.handle.state();
        tokio::time::timeout(WAIT, state.wait_for(|s| *s == "connected"))
            .await
            .expect("connected in time")
            .expect("runtime alive");
    }

    async fn stop(self) {
        self.handle.shutdown();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("stops in time")
            .expect("task")
            .expect("runs cleanly");
    }
}

fn start(
    sim: &SimHandle,
    data: &Path,
    handler: impl phantom_fsm::runtime::EventHandler,
) -> Running {
    start_with(sim, data, handler, SocketConfig::default())
}

fn start_with(
    sim: &SimHandle,
    data: &Path,
    handler: impl phantom_fsm::runtime::EventHandler,
    socket: SocketConfig,
) -> Running {
    let runtime = Runtime::builder()
        .socket_config(socket)
        .api_url(sim.api_url())
        .app_token(sim.app_token())
        .bot_token(sim.bot_token())
        .data_dir(data)
        .handler(handler)
        .seed(7)
        .build()
        .expect("builds");
    let telemetry = runtime.telemetry().clone();
    let handle = runtime.handle();
    let task = tokio::spawn(runtime.run());
    Running {
        handle,
        task,
        telemetry,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runtimes_side_by_side_against_one_simulator() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (a_seen, b_seen) = (Seen::default(), Seen::default());
    let a = start(&sim, &dir.path().join("a"), counting(a_seen.clone()));
    let b = start(&sim, &dir.path().join("b"), counting(b_seen.clone()));
    a.connected().await;
    b.connected().await;
    let links = sim.links();
    assert_eq!(links.len(), 2);
    let mut ids = Vec::new();
    for link in &links {
        ids.extend(sim.push_now(20, TrafficKind::EventsApi, Target::Link(link.id)));
    }
    eventually("every envelope dispatched once", WAIT, || async {
        (total(&a_seen) + total(&b_seen) == 40).then_some(())
    })
    .await;
    // 20 on each link: each runtime got the 20 of its own link, counted in its own metrics.
    let (na, nb) = (total(&a_seen), total(&b_seen));
    assert_eq!((na, nb), (20, 20));
    let series = r#"phantom_slack_envelopes_total{outcome="dispatched",type="events_api"}"#;
    assert_eq!(metric(&a.telemetry.render(), series), Some(f64::from(na)));
    assert_eq!(metric(&b.telemetry.render(), series), Some(f64::from(nb)));
    for id in &ids {
        let n = a_seen.lock().unwrap().get(id).copied().unwrap_or(0)
            + b_seen.lock().unwrap().get(id).copied().unwrap_or(0);
        assert_eq!(n, 1, "{id}");
    }
    a.stop().await;
    assert_eq!(sim.links().len(), 1, "stopping one leaves the other");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_envelope_is_acked_and_dispatched_once_also_after_a_restart() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let seen = Seen::default();
    let first = start(&sim, &data, counting(seen.clone()));
    first.connected().await;
    let envelope = sim.make_envelope(TrafficKind::EventsApi);
    let id = envelope.envelope_id.clone();
    let sim = &sim;
    let acked = |n: usize| {
        let id = id.clone();
        move || sim.acks().iter().filter(|a| a.envelope_id == id).count() >= n
    };
    sim.send(envelope.clone(), Target::All);
    sim.wait_until(WAIT, acked(1)).await.unwrap();
    eventually("dispatched", WAIT, || async {
        (total(&seen) == 1).then_some(())
    })
    .await;
    // Slack's retry: same event, same envelope id, retry_attempt 1.
    let mut retry = envelope.clone();
    retry.retry_attempt = 1;
    retry.retry_reason = Some("timeout".into());
    sim.send(retry.clone(), Target::All);
    sim.wait_until(WAIT, acked(2)).await.unwrap();
    let duplicate = r#"phantom_slack_envelopes_total{outcome="duplicate",type="events_api"}"#;
    eventually("counted duplicate", WAIT, || async {
        (metric(&first.telemetry.render(), duplicate) == Some(1.0)).then_some(())
    })
    .await;
    first.stop().await;
    // A new process on the same data dir keeps the dedupe window.
    let second = start(sim, &data, counting(seen.clone()));
    second.connected().await;
    retry.retry_attempt = 2;
    sim.send(retry, Target::All);
    sim.wait_until(WAIT, acked(3)).await.unwrap();
    eventually("counted duplicate after restart", WAIT, || async {
        (metric(&second.telemetry.render(), duplicate) == Some(1.0)).then_some(())
    })
    .await;
    assert_eq!(total(&seen), 1, "dispatched exactly once");
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_failing_and_panicking_handlers_never_delay_acks_and_are_timed() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let calls = Arc::new(Mutex::new(0u32));
    let counter = calls.clone();
    let handler = handler_fn(move |_d: Delivery| {
        let n = {
            let mut c = counter.lock().unwrap();
            *c += 1;
            *c
        };
        async move {
            match n % 3 {
                // Stuck: never returns while the test runs.
                0 => std::future::pending::<()>().await,
                1 => return Err::<(), HandlerError>("handler error".into()),
                _ => panic!("handler panic"),
            }
            Ok(())
        }
    });
    let config = SocketConfig {
        ping_interval: Duration::from_millis(300),
        pong_timeout: Duration::from_millis(2_000),
        ..SocketConfig::default()
    };
    let runtime = Runtime::builder()
        .api_url(sim.api_url())
        .app_token(sim.app_token())
        .data_dir(dir.path().join("data"))
        .handler(handler)
        .socket_config(config)
        .build()
        .unwrap();
    let Spawned {
        handle,
        telemetry,
        task,
    } = spawn_connected(runtime).await;
    let mut state = handle.state();
    let ids = sim.push_now(60, TrafficKind::EventsApi, Target::All);
    sim.wait_until(WAIT, || sim.acks().len() >= ids.len())
        .await
        .unwrap();
    assert!(sim.acks().iter().all(|a| a.latency_us < 3_000_000));
    // 20 returned an error and 20 panicked: all 40 timed; the 20 stuck ones are still running.
    let timed = || {
        let text = telemetry.render();
        ["app_mention", "message"]
            .iter()
            .filter_map(|t| {
                metric(
                    &text,
                    &format!("phantom_slack_event_dispatch_seconds_count{{event_type=\"{t}\"}}"),
                )
            })
            .sum::<f64>()
    };
    eventually("40 handler calls timed", WAIT, || async {
        (timed() == 40.0).then_some(())
    })
    .await;
    // Pings went on while 20 handlers were stuck: the link is still the first one.
    tokio::time::timeout(
        Duration::from_secs(2),
        state.wait_for(|s| *s != "connected"),
    )
    .await
    .expect_err("stays connected");
    assert_eq!(sim.links().len(), 1);
    handle.shutdown();
    tokio::time::timeout(WAIT, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// A token source of the embedder's own that always answers 429 with an absurd Retry-After.
struct Throttled(Arc<Mutex<u32>>);

impl phantom_fsm::runtime::ConnectionOpener for Throttled {
    fn open_connection(&self) -> phantom_fsm::socket::OpenOutcome {
        *self.0.lock().unwrap() += 1;
        phantom_fsm::socket::OpenOutcome::RateLimited {
            retry_after_ms: Some(u64::MAX),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_retry_after_waits_without_overflow_and_still_stops() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Arc::new(Mutex::new(0));
    let runtime = Runtime::builder()
        .connection_opener(Throttled(calls.clone()))
        .data_dir(dir.path().join("data"))
        .build()
        .unwrap();
    let handle = runtime.handle();
    let mut state = handle.state();
    let task = tokio::spawn(runtime.run());
    tokio::time::timeout(WAIT, state.wait_for(|s| *s == "reconnecting"))
        .await
        .unwrap()
        .unwrap();
    // It waits (no busy loop of calls, no panic) ...
    tokio::time::timeout(
        Duration::from_millis(500),
        state.wait_for(|s| *s != "reconnecting"),
    )
    .await
    .expect_err("still waiting out Retry-After");
    assert_eq!(*calls.lock().unwrap(), 1);
    // ... and a stop still ends it at once.
    handle.shutdown();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(*state.borrow(), "disconnected");
}

/// A token source whose token is revoked until it is rotated, then opens links on the sim.
struct Rotating {
    sim_api: String,
    app_token: String,
    rotated: Arc<std::sync::atomic::AtomicBool>,
}

impl phantom_fsm::runtime::ConnectionOpener for Rotating {
    fn open_connection(&self) -> phantom_fsm::socket::OpenOutcome {
        if !self.rotated.load(std::sync::atomic::Ordering::SeqCst) {
            return phantom_fsm::socket::OpenOutcome::Unrecoverable {
                code: "token_revoked".into(),
            };
        }
        let client = phantom_fsm::slack::SlackClient::new(&self.sim_api, &Default::default())
            .expect("client");
        let token = phantom_fsm::slack::Secret::new(self.app_token.clone());
        match client.open_connection(&token) {
            Ok(url) => phantom_fsm::socket::OpenOutcome::Url(url.expose().into()),
            Err(e) => phantom_fsm::socket::OpenOutcome::from(&e),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_tokens_leave_error_at_once() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let rotated = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runtime = Runtime::builder()
        .connection_opener(Rotating {
            sim_api: sim.api_url(),
            app_token: sim.app_token().into(),
            rotated: rotated.clone(),
        })
        .data_dir(dir.path().join("data"))
        .build()
        .unwrap();
    let handle = runtime.handle();
    let mut state = handle.state();
    let task = tokio::spawn(runtime.run());
    tokio::time::timeout(WAIT, state.wait_for(|s| *s == "error"))
        .await
        .unwrap()
        .unwrap();
    rotated.store(true, std::sync::atomic::Ordering::SeqCst);
    handle.tokens_changed();
    // Well before the 5-minute re-probe.
    tokio::time::timeout(WAIT, state.wait_for(|s| *s == "connected"))
        .await
        .expect("connected after the rotation")
        .unwrap();
    handle.shutdown();
    tokio::time::timeout(WAIT, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// Load shedding counts unfinished handlers: the driver must report every handler's end, or
/// after `max_pending` dispatches every later `events_api` envelope would be shed for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_handlers_free_their_pending_slot() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let seen = Seen::default();
    let socket = SocketConfig {
        max_pending: 2,
        ..SocketConfig::default()
    };
    let running = start_with(&sim, dir.path(), counting(seen.clone()), socket);
    running.connected().await;
    // One at a time, each after the previous handler ran: never more than one unfinished.
    for n in 1..=10 {
        sim.push_now(1, TrafficKind::EventsApi, Target::All);
        eventually("the envelope is dispatched", WAIT, || async {
            (total(&seen) == n).then_some(())
        })
        .await;
    }
    let shed = r#"phantom_slack_envelopes_total{outcome="shed",type="events_api"}"#;
    assert_eq!(
        metric(&running.telemetry.render(), shed).unwrap_or(0.0),
        0.0
    );
    running.stop().await;
}
