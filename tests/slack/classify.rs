//! The adapter: observations become exactly what the machines' classifiers take.

use crate::common::{Action, json, reply};
use crate::failures::{bot, client, serving};
use phantom_fsm::onboarding::{CallResult, PostOutcome, classify_post};
use phantom_fsm::slack::{Observation, PostMessage, RawReply, Secret, SlackError, TransportError};
use phantom_fsm::socket::OpenOutcome;
use std::net::TcpListener;

fn post(client: &phantom_fsm::slack::SlackClient) -> PostOutcome {
    let message = PostMessage {
        channel: "D1".into(),
        text: "hi".into(),
        metadata: None,
    };
    classify_post(&client.post_message(&bot(), &message).call_result())
}

#[test]
fn call_result_carries_status_retry_after_and_body() {
    let observed = Observation::Response(RawReply {
        status: 429,
        retry_after: Some("2".into()),
        body: "{}".into(),
    });
    assert_eq!(
        observed.call_result(),
        CallResult::Response {
            status: 429,
            retry_after: Some("2"),
            body: "{}"
        }
    );
    let not_sent = Observation::NotSent(TransportError::Refused);
    assert_eq!(not_sent.call_result(), CallResult::NotSent);
    let no_response = Observation::NoResponse(TransportError::Timeout("x".into()));
    assert_eq!(no_response.call_result(), CallResult::NoResponse);
}

#[test]
fn a_refused_post_was_not_stored() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = client(&format!("http://127.0.0.1:{port}/api"));
    assert!(matches!(post(&client), PostOutcome::NotStored { .. }));
}

#[test]
fn a_post_that_hangs_or_is_cut_is_ambiguous() {
    let actions: [fn() -> Action; 2] = [|| Action::Hang, || Action::Raw(Vec::new())];
    for action in actions {
        let (_server, client) = serving(action);
        assert!(matches!(post(&client), PostOutcome::Ambiguous { .. }));
    }
}

#[test]
fn a_post_answered_without_ts_or_unparseable_or_5xx_is_ambiguous() {
    let replies: [fn() -> Action; 3] = [
        || json(r#"{"ok":true,"channel":"D1"}"#),
        || reply(200, &[], "<html>"),
        || reply(503, &[], ""),
    ];
    for action in replies {
        let (_server, client) = serving(action);
        assert!(matches!(post(&client), PostOutcome::Ambiguous { .. }));
    }
}

#[test]
fn a_rate_limited_post_keeps_retry_after() {
    let (_server, client) = serving(|| reply(429, &[("Retry-After", "4")], ""));
    assert_eq!(
        post(&client),
        PostOutcome::RateLimited {
            retry_after_ms: Some(4000)
        }
    );
}

#[test]
fn open_failures_map_to_the_socket_machines_outcomes() {
    let cases: [(fn() -> Action, OpenOutcome); 5] = [
        (
            || reply(429, &[("Retry-After", "3")], ""),
            OpenOutcome::RateLimited {
                retry_after_ms: Some(3000),
            },
        ),
        (
            || json(r#"{"ok":false,"error":"invalid_auth"}"#),
            OpenOutcome::Unrecoverable {
                code: "invalid_auth".into(),
            },
        ),
        (
            || json(r#"{"ok":false,"error":"internal_error"}"#),
            OpenOutcome::Transient,
        ),
        (|| reply(502, &[], "bad gateway"), OpenOutcome::Transient),
        (|| Action::Hang, OpenOutcome::Transient),
    ];
    for (action, expected) in cases {
        let (_server, client) = serving(action);
        let error = client.open_connection(&Secret::new("xapp-1")).unwrap_err();
        assert_eq!(OpenOutcome::from(&error), expected, "{error}");
    }
    let refused = SlackError::NotSent(TransportError::Refused);
    assert_eq!(OpenOutcome::from(&refused), OpenOutcome::Transient);
}
