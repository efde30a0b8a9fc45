//! `Retry-After` on a 5xx is honoured, not dropped: `auth.test`, `conversations.open` (on the
//! way to the post and when `reconciling` reopens the DM) and `chat.postMessage`, through the
//! classifier and the machine, with fake time.

use super::common::*;
use phantom_fsm::engine::{Machine, Snapshot};
use phantom_fsm::onboarding::{
    AuthOutcome, CallResult, Command, Input, OnboardingConfig, OpenDmOutcome, PostOutcome, Timer,
    classify_auth, classify_open_dm, classify_post,
};

/// An HTTP 503 carrying `Retry-After: 45`.
const UNAVAILABLE: CallResult<'static> = CallResult::Response {
    status: 503,
    retry_after: Some("45"),
    body: "",
};

#[test]
fn the_classifier_keeps_a_5xx_retry_after_on_every_call() {
    assert_eq!(
        classify_auth(&UNAVAILABLE),
        AuthOutcome::Transient {
            reason: "http_503".into(),
            retry_after_ms: Some(45_000),
        }
    );
    assert_eq!(
        classify_open_dm(&UNAVAILABLE),
        OpenDmOutcome::Transient {
            reason: "http_503".into(),
            retry_after_ms: Some(45_000),
        }
    );
    assert_eq!(
        classify_post(&UNAVAILABLE),
        PostOutcome::Ambiguous {
            reason: "http_503".into(),
            retry_after_ms: Some(45_000),
        }
    );
}

#[test]
fn auth_test_503_retries_no_sooner_than_retry_after() {
    let mut r = Run::awaiting_team();
    r.feed(Input::ChannelReady);
    let out = r.feed(auth(1, classify_auth(&UNAVAILABLE)));
    // Without the header the first retry is within the 2 s base.
    assert!(retry_delay(&out) >= 45_000, "{out:?}");
    assert!(r.wait_ms() >= 45_000);
    r.advance(44_999);
    assert_eq!(r.feed(Input::Timeout), vec![], "not before Retry-After");
    assert!(
        matches!(r.fire().as_slice(), [o] if *o == cmd(Command::AuthTest { call: phantom_fsm::onboarding::CallId(2) }))
    );
}

#[test]
fn conversations_open_503_backs_off_no_sooner_than_retry_after() {
    let mut r = Run::known_team();
    r.feed(Input::ChannelReady);
    let out = r.feed(dm(1, classify_open_dm(&UNAVAILABLE)));
    assert_eq!(r.m.state_name(), "backoff");
    assert!(retry_delay(&out) >= 45_000, "{out:?}");
    assert_eq!(r.m.next_timer().map(|(t, _)| t), Some(Timer::RetrySend));
    assert!(r.wait_ms() >= 45_000);
    // The stored retry time carries it across a restart too.
    let retry_at = r.m.snapshot().data["retry_at_unix_ms"].as_u64().unwrap();
    assert!(retry_at >= r.now.unix.0 + 45_000);
}

#[test]
fn a_reopen_503_while_reconciling_waits_no_sooner_than_retry_after() {
    // A `reconciling` row that lost its DM channel reopens it first.
    let snapshot: Snapshot = row("reconciling", 1, None, None, None);
    let m = phantom_fsm::onboarding::Onboarding::restore(
        OnboardingConfig::default(),
        INSTANCE,
        &snapshot,
    )
    .unwrap();
    let mut r = Run::with(m);
    r.feed(Input::Resumed);
    assert_eq!(r.fire(), vec![open_cmd(1)]);
    let out = r.feed(dm(1, classify_open_dm(&UNAVAILABLE)));
    assert!(retry_delay(&out) >= 45_000, "{out:?}");
    assert!(r.wait_ms() >= 45_000);
}

#[test]
fn a_post_503_looks_no_sooner_than_retry_after() {
    let mut r = Run::to_sending();
    let slow = CallResult::Response {
        status: 503,
        retry_after: Some("120"),
        body: "",
    };
    let out = r.feed(post(2, classify_post(&slow)));
    assert_eq!(r.m.state_name(), "reconciling");
    assert_eq!(posts(&out), 0);
    assert_eq!(
        r.wait_ms(),
        120_000,
        "the settle (15 s) is raised to Retry-After"
    );
    // Without a header the settle time stands.
    let mut plain = Run::to_sending();
    plain.feed(post(
        2,
        classify_post(&CallResult::Response {
            status: 503,
            retry_after: None,
            body: "",
        }),
    ));
    assert_eq!(plain.wait_ms(), 15_000);
}
