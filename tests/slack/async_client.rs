//! The async wrapper: calls run on the blocking pool, at most `max_in_flight` at once.

use crate::common::{Action, SHORT, TestServer, json};
use crate::failures::{bot, client};
use phantom_fsm::slack::{AsyncSlackClient, HttpOptions, Observation, SlackClient};
use std::sync::{Arc, Barrier};
use std::time::Duration;
use std::time::Instant;

async fn two_hanging_calls(max_in_flight: usize) -> std::time::Duration {
    let server = TestServer::start(|_| Action::Hang);
    let client = AsyncSlackClient::new(client(&server.http_url("/api")), max_in_flight);
    let started = Instant::now();
    let (a, b) = tokio::join!(client.auth_test(bot()), client.auth_test(bot()));
    for observed in [a, b] {
        assert!(
            matches!(observed, Observation::NoResponse(_)),
            "{observed:?}"
        );
    }
    assert_eq!(server.requests().len(), 2);
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_in_flight_serialises_calls() {
    // Each call waits out its own timeout; with one permit the second starts after the first.
    let elapsed = two_hanging_calls(1).await;
    assert!(elapsed >= SHORT * 2, "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_run_side_by_side_up_to_the_bound() {
    // The server answers only once both requests are in: that needs two calls in flight.
    let barrier = Arc::new(Barrier::new(2));
    let server = TestServer::start(move |_| {
        barrier.wait();
        json(r#"{"ok":true,"team_id":"T1","user_id":"U1"}"#)
    });
    let options = HttpOptions {
        timeout: Duration::from_secs(10),
        ..HttpOptions::default()
    };
    let client = SlackClient::new(&server.http_url("/api"), &options).unwrap();
    let client = AsyncSlackClient::new(client, 2);
    let (a, b) = tokio::join!(client.auth_test(bot()), client.auth_test(bot()));
    for observed in [a, b] {
        assert!(observed.error().is_none(), "{observed:?}");
    }
}
