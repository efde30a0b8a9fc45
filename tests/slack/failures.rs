//! Failures the simulator cannot produce, against scripted local servers: each ends in the
//! observation (and typed error) that says whether the request was written.

use crate::common::{Action, SHORT, TestServer, json, reply};
use phantom_fsm::slack::{
    HttpOptions, Observation, Posted, Secret, SlackClient, SlackError, TransportError,
};
use std::net::TcpListener;
use std::time::{Duration, Instant};

pub fn bot() -> Secret {
    Secret::new("xoxb-1-test-token")
}

pub fn client(base: &str) -> SlackClient {
    let options = HttpOptions {
        connect_timeout: SHORT,
        timeout: SHORT,
        tls: None,
    };
    SlackClient::new(base, &options).expect("client")
}

pub fn serving(action: impl Fn() -> Action + Send + Sync + 'static) -> (TestServer, SlackClient) {
    let server = TestServer::start(move |_| action());
    let client = client(&server.http_url("/api"));
    (server, client)
}

#[test]
fn a_429_keeps_its_retry_after() {
    let (_server, client) = serving(|| {
        reply(
            429,
            &[("Retry-After", "3")],
            r#"{"ok":false,"error":"ratelimited"}"#,
        )
    });
    let observed = client.auth_test(&bot());
    let Observation::Response(raw) = &observed else {
        panic!("{observed:?}")
    };
    assert_eq!((raw.status, raw.retry_after.as_deref()), (429, Some("3")));
    assert_eq!(
        observed.error(),
        Some(SlackError::RateLimited {
            retry_after: Some(Duration::from_secs(3))
        })
    );
}

#[test]
fn ratelimited_code_without_429_is_a_rate_limit() {
    let (_server, client) = serving(|| json(r#"{"ok":false,"error":"ratelimited"}"#));
    assert_eq!(
        client.auth_test(&bot()).error(),
        Some(SlackError::RateLimited { retry_after: None })
    );
}

#[test]
fn a_500_is_a_server_error_whatever_the_body() {
    let (_server, client) = serving(|| reply(500, &[], "<html>oops</html>"));
    assert_eq!(
        client.auth_test(&bot()).error(),
        Some(SlackError::Server { status: 500 })
    );
}

#[test]
fn a_truncated_body_is_no_response() {
    let (server, client) = serving(|| {
        Action::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"ok\":tr".to_vec())
    });
    let observed = client.auth_test(&bot());
    assert!(
        matches!(observed, Observation::NoResponse(TransportError::Io(_))),
        "{observed:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_close_without_reply_is_no_response() {
    let (server, client) = serving(|| Action::Raw(Vec::new()));
    let observed = client.auth_test(&bot());
    assert!(
        matches!(observed, Observation::NoResponse(_)),
        "{observed:?}"
    );
    assert_eq!(server.requests().len(), 1, "the request was written");
}

#[test]
fn connection_refused_is_not_sent() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = client(&format!("http://127.0.0.1:{port}/api/"));
    let observed = client.auth_test(&bot());
    assert_eq!(observed, Observation::NotSent(TransportError::Refused));
    let error = client
        .open_connection(&Secret::new("xapp-1-x"))
        .unwrap_err();
    assert!(error.not_sent(), "{error}");
}

#[test]
fn a_hang_times_out_as_no_response() {
    let (server, client) = serving(|| Action::Hang);
    let started = Instant::now();
    let observed = client.auth_test(&bot());
    assert!(
        matches!(
            observed,
            Observation::NoResponse(TransportError::Timeout(_))
        ),
        "{observed:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the timeout"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn ok_without_ts_is_malformed_for_a_post() {
    let (_server, client) = serving(|| json(r#"{"ok":true,"channel":"D1"}"#));
    let observed = client.auth_test(&bot());
    let error = observed.reply::<Posted>().unwrap_err();
    assert!(
        matches!(&error, SlackError::Malformed { status: 200, reason } if reason.contains("ts")),
        "{error}"
    );
}

#[test]
fn unparseable_json_is_malformed() {
    let (_server, client) = serving(|| reply(200, &[], "<html>upstream hiccup</html>"));
    assert!(matches!(
        client.auth_test(&bot()).error(),
        Some(SlackError::Malformed { status: 200, .. })
    ));
}

#[test]
fn a_redirect_is_not_followed() {
    let (server, client) = serving(|| reply(302, &[("Location", "http://127.0.0.1:1/")], ""));
    assert!(matches!(
        client.auth_test(&bot()).error(),
        Some(SlackError::Malformed { status: 302, .. })
    ));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn ok_false_is_an_api_error_with_its_code() {
    let (_server, client) = serving(|| json(r#"{"ok":false,"error":"channel_not_found"}"#));
    let error = client.auth_test(&bot()).error().unwrap();
    assert_eq!(error.code(), Some("channel_not_found"));
    assert_eq!(
        error,
        SlackError::Api {
            code: "channel_not_found".into(),
            status: 200
        }
    );
}

#[test]
fn a_reply_over_the_size_limit_is_no_response() {
    let size = phantom_fsm::slack::MAX_REPLY_BYTES as usize + 1;
    let (_server, client) = serving(move || reply(200, &[], &" ".repeat(size)));
    let observed = client.auth_test(&bot());
    assert!(
        matches!(observed, Observation::NoResponse(_)),
        "{observed:?}"
    );
}
