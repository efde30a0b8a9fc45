//! Scripted runs: inputs and fake time in, exact outputs out, for every outcome of `docs/onboarding.md`.

use super::common::*;
use phantom_fsm::engine::{IntroOutcome, Machine, Millis};
use phantom_fsm::onboarding::{
    AuthOutcome, CallId, CallResult, Command, HistoryOutcome, Input, OpenDmOutcome, PostOutcome,
    classify_history, classify_open_dm, classify_post,
};
use serde_json::json;

#[test]
fn success_from_auth_test_stamps_complete_with_channel_and_ts() {
    let mut r = Run::awaiting_team();
    assert_eq!(r.m.instance(), "-/U0INSTALLER");
    assert_eq!(
        r.feed(Input::ChannelReady),
        vec![cmd(Command::AuthTest { call: CallId(1) })]
    );
    let out = r.feed(auth(
        1,
        AuthOutcome::Ok {
            team_id: TEAM.into(),
        },
    ));
    assert_eq!(
        out,
        vec![load_cmd()],
        "team fixed, no transition, the row asked for"
    );
    assert_eq!(r.m.instance(), INSTANCE);
    assert_eq!(r.feed(Input::RowLoaded { row: None }), vec![open_cmd(2)]);
    let out = r.feed(dm(
        2,
        OpenDmOutcome::Opened {
            channel: CHANNEL.into(),
        },
    ));
    assert_eq!(
        out,
        vec![r.tr("pending", "sending", "dm_opened"), post_cmd(3)]
    );
    assert_eq!(
        r.m.snapshot(),
        posted_at(row("sending", 1, None, Some(CHANNEL), None), 1_000)
    );
    let out = r.feed(post(3, PostOutcome::Sent { ts: TS.into() }));
    assert_eq!(
        out,
        vec![
            attempt(IntroOutcome::Sent),
            r.tr("sending", "complete", "post_sent")
        ]
    );
    assert_eq!(
        r.m.snapshot(),
        posted_at(row("complete", 1, None, Some(CHANNEL), Some(TS)), 1_000)
    );
    assert_eq!(r.m.health(), "complete");
    assert_eq!(r.m.poll_timeout(), None);
}

#[test]
fn nothing_starts_before_the_channel_is_ready() {
    let mut r = Run::known_team();
    assert_eq!(r.feed(Input::Timeout), vec![]);
    assert_eq!(r.feed(Input::Resumed), vec![]);
    assert_eq!(r.m.poll_timeout(), None);
    assert_eq!(r.feed(Input::ChannelReady), vec![open_cmd(1)]);
    assert_eq!(
        r.feed(Input::ChannelReady),
        vec![Run::ignored("pending", "channel_ready")],
        "a reconnect while opening starts nothing twice"
    );
}

#[test]
fn transient_auth_failure_retries_in_process_without_a_transition() {
    let mut r = Run::awaiting_team();
    r.feed(Input::ChannelReady);
    let out = r.feed(auth(
        1,
        AuthOutcome::Transient {
            reason: "no_response".into(),
            retry_after_ms: None,
        },
    ));
    let delay = retry_delay(&out);
    assert_eq!(
        out,
        vec![retry(delay)],
        "no transition: the row is not created"
    );
    assert!(
        (1..=2_000).contains(&delay),
        "first retry within the base: {delay}"
    );
    assert_eq!(r.wait_ms(), delay);
    assert_eq!(r.fire_early(), vec![]);
    assert_eq!(r.fire(), vec![cmd(Command::AuthTest { call: CallId(2) })]);
    assert_eq!(r.m.state_name(), "pending");
    assert_eq!(r.m.last_error(), Some("no_response"));
}

#[test]
fn rate_limited_auth_waits_at_least_retry_after() {
    let mut r = Run::awaiting_team();
    r.feed(Input::ChannelReady);
    let out = r.feed(auth(
        1,
        AuthOutcome::RateLimited {
            retry_after_ms: Some(30_000),
        },
    ));
    assert!(retry_delay(&out) >= 30_000);
    assert!(r.wait_ms() >= 30_000);
}

#[test]
fn unrecoverable_auth_fails_with_the_team_unknown() {
    let mut r = Run::awaiting_team();
    r.feed(Input::ChannelReady);
    let out = r.feed(auth(
        1,
        AuthOutcome::Unrecoverable {
            code: "invalid_auth".into(),
        },
    ));
    assert_eq!(out, vec![r.tr("pending", "failed", "auth_unrecoverable")]);
    assert_eq!(r.m.instance(), "-/U0INSTALLER");
    assert_eq!(r.m.team_id(), None);
    assert_eq!(r.m.last_error(), Some("invalid_auth"));
    assert_eq!(r.m.health(), "failed");
}

#[test]
fn every_permanent_open_code_fails() {
    for code in [
        "user_not_found",
        "cannot_dm_bot",
        "missing_scope",
        "account_inactive",
        "user_disabled",
    ] {
        let mut r = Run::known_team();
        r.feed(Input::ChannelReady);
        let body = json!({"ok": false, "error": code}).to_string();
        let outcome = classify_open_dm(&CallResult::Response {
            status: 200,
            retry_after: None,
            body: &body,
        });
        assert_eq!(
            r.feed(dm(1, outcome)),
            vec![r.tr("pending", "failed", "dm_permanent")]
        );
        assert_eq!(r.m.last_error(), Some(code));
        assert_eq!(r.m.attempts(), 0);
    }
}

#[test]
fn open_429_backs_off_then_reopens() {
    let mut r = Run::known_team();
    r.feed(Input::ChannelReady);
    let outcome = classify_open_dm(&CallResult::Response {
        status: 429,
        retry_after: Some("12"),
        body: "",
    });
    let out = r.feed(dm(1, outcome));
    let delay = retry_delay(&out);
    assert_eq!(
        out,
        vec![retry(delay), r.tr("pending", "backoff", "dm_rate_limited")]
    );
    assert!(delay >= 12_000);
    assert_eq!(r.fire_early(), vec![]);
    let out = r.fire();
    assert_eq!(
        out,
        vec![r.tr("backoff", "pending", "retry_send"), open_cmd(2)]
    );
    let out = r.feed(dm(
        2,
        OpenDmOutcome::Opened {
            channel: CHANNEL.into(),
        },
    ));
    assert_eq!(
        out,
        vec![r.tr("pending", "sending", "dm_opened"), post_cmd(3)]
    );
}

#[test]
fn open_5xx_and_timeouts_back_off() {
    for result in [
        CallResult::Response {
            status: 502,
            retry_after: None,
            body: "",
        },
        CallResult::NoResponse,
        CallResult::NotSent,
    ] {
        let mut r = Run::known_team();
        r.feed(Input::ChannelReady);
        let out = r.feed(dm(1, classify_open_dm(&result)));
        let delay = retry_delay(&out);
        assert_eq!(
            out,
            vec![retry(delay), r.tr("pending", "backoff", "dm_transient")]
        );
    }
}

#[test]
fn post_429_backs_off_and_retries_after_at_least_retry_after() {
    let mut r = Run::to_sending();
    let outcome = classify_post(&CallResult::Response {
        status: 429,
        retry_after: Some("30"),
        body: "",
    });
    let out = r.feed(post(2, outcome));
    let delay = retry_delay(&out);
    assert_eq!(
        out,
        vec![
            attempt(IntroOutcome::RateLimited),
            retry(delay),
            r.tr("sending", "backoff", "post_rate_limited")
        ]
    );
    assert!(delay >= 30_000, "Retry-After honoured: {delay}");
    assert_eq!(r.wait_ms(), delay);
    assert_eq!(r.fire_early(), vec![], "an early timeout is a no-op");
    let out = r.fire();
    assert_eq!(
        out,
        vec![r.tr("backoff", "sending", "retry_send"), post_cmd(3)]
    );
    assert_eq!(r.m.attempts(), 2);
    assert_eq!(r.m.last_error(), Some("ratelimited"));
}

#[test]
fn connect_error_before_writing_backs_off() {
    let mut r = Run::to_sending();
    let out = r.feed(post(2, classify_post(&CallResult::NotSent)));
    let delay = retry_delay(&out);
    assert_eq!(
        out,
        vec![
            attempt(IntroOutcome::Transient),
            retry(delay),
            r.tr("sending", "backoff", "post_not_stored")
        ]
    );
    assert_eq!(r.m.last_error(), Some("connect_error"));
}

#[test]
fn every_permanent_post_code_fails() {
    for code in [
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "msg_too_long",
        "no_text",
        "restricted_action",
        "missing_scope",
    ] {
        let mut r = Run::to_sending();
        let body = json!({"ok": false, "error": code}).to_string();
        let outcome = classify_post(&CallResult::Response {
            status: 200,
            retry_after: None,
            body: &body,
        });
        assert_eq!(
            r.feed(post(2, outcome)),
            vec![
                attempt(IntroOutcome::Permanent),
                r.tr("sending", "failed", "post_permanent")
            ]
        );
        assert_eq!(r.m.last_error(), Some(code));
        assert_eq!(r.m.health(), "failed");
    }
}

/// Replies that do not prove the post was not stored.
fn ambiguous_replies() -> Vec<CallResult<'static>> {
    vec![
        CallResult::Response {
            status: 503,
            retry_after: None,
            body: "",
        },
        CallResult::NoResponse,
        CallResult::Response {
            status: 200,
            retry_after: None,
            body: r#"{"ok":true,"channel":"D0DM"}"#,
        },
        CallResult::Response {
            status: 200,
            retry_after: None,
            body: "<html>upstream</html>",
        },
        CallResult::Response {
            status: 200,
            retry_after: None,
            body: r#"{"ok":false,"error":"internal_error"}"#,
        },
    ]
}

/// The history reply listing the marker message at `ts` (plus an unrelated message).
fn history_with_marker(ts: &str) -> String {
    json!({"ok": true, "messages": [
        {"type": "message", "ts": "1767225699.000001", "text": "hello"},
        {"type": "message", "ts": ts, "text": "Hi", "metadata": {
            "event_type": "phantom_intro",
            "event_payload": {"installer": USER, "team": TEAM, "generation": 0}}}
    ]})
    .to_string()
}

#[test]
fn ambiguous_post_reconciles_and_a_found_marker_completes_without_a_second_post() {
    for reply in ambiguous_replies() {
        let mut r = Run::to_sending();
        let out = r.feed(post(2, classify_post(&reply)));
        assert_eq!(
            out,
            vec![
                attempt(IntroOutcome::Ambiguous),
                r.tr("sending", "reconciling", "post_ambiguous")
            ],
            "{reply:?}"
        );
        assert_eq!(
            r.wait_ms(),
            15_000,
            "settle (the post's HTTP timeout + 5 s) before the first lookup"
        );
        assert_eq!(r.fire_early(), vec![]);
        assert_eq!(r.fire(), vec![lookup_page(3, Some(1_000), None)]);
        let body = history_with_marker("1767225601.000300");
        let found = classify_history(
            &CallResult::Response {
                status: 200,
                retry_after: None,
                body: &body,
            },
            &marker(),
        );
        assert_eq!(
            r.feed(history(3, found)),
            vec![r.tr("reconciling", "complete", "history_found")]
        );
        assert_eq!(r.m.ts(), Some("1767225601.000300"));
        assert_eq!(r.m.attempts(), 1, "no second post");
    }
}

#[test]
fn not_found_sends_again_only_after_two_complete_scans_a_minute_apart() {
    let mut r = Run::to_reconciling();
    assert_eq!(r.fire(), vec![lookup_page(3, Some(1_000), None)]);
    let body = json!({"ok": true, "messages": [{"ts": "1.2", "text": "unrelated"}]}).to_string();
    let outcome = classify_history(
        &CallResult::Response {
            status: 200,
            retry_after: None,
            body: &body,
        },
        &marker(),
    );
    assert_eq!(outcome, HistoryOutcome::NotFound);
    assert_eq!(
        r.feed(history(3, outcome.clone())),
        vec![],
        "one answer is not enough"
    );
    assert_eq!(r.wait_ms(), 60_000, "the second scan a minute later");
    assert_eq!(r.fire_early(), vec![]);
    assert_eq!(r.fire(), vec![lookup_page(4, Some(1_000), None)]);
    assert_eq!(
        r.feed(history(4, outcome)),
        vec![
            r.tr("reconciling", "sending", "history_not_found"),
            post_cmd(5)
        ]
    );
    assert_eq!(r.m.attempts(), 2);
    let out = r.feed(post(5, PostOutcome::Sent { ts: TS.into() }));
    assert_eq!(
        out,
        vec![
            attempt(IntroOutcome::Sent),
            r.tr("sending", "complete", "post_sent")
        ]
    );
}

/// Crash in `sending`, the installer writes more than a page of messages, restart: the scan
/// starts 5 min before the first post, follows the cursor page by page, and finds the intro
/// on the second page (one page read used to answer "not found" and post a second intro).
#[test]
fn the_scan_follows_the_cursor_to_an_intro_beyond_the_first_page() {
    let mut r = Run::to_sending();
    r.advance(120_000);
    assert_eq!(
        r.restart(),
        vec![r.tr("sending", "reconciling", "restarted")]
    );
    assert_eq!(r.fire(), vec![lookup_page(1, Some(1_000), None)]);
    let chatter: Vec<_> = (0..15)
        .map(|i| json!({"type": "message", "ts": format!("1767225700.{i:06}"), "text": "hi"}))
        .collect();
    let page1 = json!({"ok": true, "messages": chatter, "has_more": true,
        "response_metadata": {"next_cursor": "bmV4dA=="}})
    .to_string();
    let reply = |body: &str| {
        classify_history(
            &CallResult::Response {
                status: 200,
                retry_after: None,
                body,
            },
            &marker(),
        )
    };
    assert_eq!(
        r.feed(history(1, reply(&page1))),
        vec![lookup_page(2, Some(1_000), Some("bmV4dA=="))]
    );
    // A 429 on the second page: wait Retry-After, then read that same page again.
    let limited = classify_history(
        &CallResult::Response {
            status: 429,
            retry_after: Some("60"),
            body: "",
        },
        &marker(),
    );
    let out = r.feed(history(2, limited));
    assert!(retry_delay(&out) >= 60_000);
    assert_eq!(
        r.fire(),
        vec![lookup_page(3, Some(1_000), Some("bmV4dA=="))]
    );
    let page2 = history_with_marker("1767225601.000300");
    assert_eq!(
        r.feed(history(3, reply(&page2))),
        vec![r.tr("reconciling", "complete", "history_found")]
    );
    assert_eq!(r.m.ts(), Some("1767225601.000300"));
    assert_eq!(r.m.attempts(), 1, "no second intro");
}

#[test]
fn missing_scope_on_history_fails_rather_than_resend() {
    let mut r = Run::to_reconciling();
    r.fire();
    let outcome = classify_history(
        &CallResult::Response {
            status: 200,
            retry_after: None,
            body: r#"{"ok":false,"error":"missing_scope","needed":"im:history"}"#,
        },
        &marker(),
    );
    assert_eq!(
        r.feed(history(3, outcome)),
        vec![r.tr("reconciling", "failed", "history_permanent")]
    );
    assert_eq!(r.m.last_error(), Some("missing_scope"));
    assert_eq!(r.m.attempts(), 1);
}

#[test]
fn transient_history_failure_looks_again_after_backoff_never_posts() {
    let mut r = Run::to_reconciling();
    r.fire();
    let outcome = classify_history(
        &CallResult::Response {
            status: 429,
            retry_after: Some("20"),
            body: "",
        },
        &marker(),
    );
    let out = r.feed(history(3, outcome));
    let delay = retry_delay(&out);
    assert_eq!(out, vec![retry(delay)]);
    assert!(delay >= 20_000);
    assert_eq!(r.m.state_name(), "reconciling");
    assert_eq!(r.fire_early(), vec![]);
    assert_eq!(r.fire(), vec![lookup_page(4, Some(1_000), None)]);
    let out = r.feed(history(
        4,
        HistoryOutcome::Transient {
            retry_after_ms: None,
            reason: "http_500".into(),
        },
    ));
    assert_eq!(posts(&out), 0);
    assert_eq!(r.m.last_error(), Some("http_500"));
}

#[test]
fn backoff_grows_with_consecutive_failures_up_to_the_cap() {
    let mut r = Run::to_sending();
    let mut delays = Vec::new();
    for call in 2..16 {
        let out = r.feed(post(
            call,
            PostOutcome::NotStored {
                reason: "connect_error".into(),
            },
        ));
        delays.push(retry_delay(&out));
        r.fire();
    }
    for (i, d) in delays.iter().enumerate() {
        let ceiling = (2_000u64 << i.min(20)).min(300_000);
        assert!(*d <= ceiling, "failure {}: {d} > {ceiling}", i + 1);
    }
    assert!(delays.iter().skip(9).any(|d| *d > 64_000), "{delays:?}");
    assert!(
        delays.windows(2).any(|w| w[0] != w[1]),
        "jittered: {delays:?}"
    );
}

#[test]
fn a_late_input_fires_the_expired_deadline_and_leaves_none_in_the_past() {
    let mut r = Run::to_backoff(5_000);
    let deadline = r.m.poll_timeout().unwrap();
    r.now = r.now.advanced_to(Millis(deadline.0 + 10));
    let out = r.feed(Input::ChannelReady);
    assert_eq!(
        out,
        vec![
            Run::ignored("backoff", "channel_ready"),
            r.tr("backoff", "sending", "retry_send"),
            post_cmd(3)
        ]
    );
    assert_eq!(r.m.poll_timeout(), None);
}

#[test]
fn answers_to_calls_nobody_waits_for_are_ignored() {
    let mut r = Run::to_sending();
    assert_eq!(
        r.feed(post(99, PostOutcome::Sent { ts: TS.into() })),
        vec![Run::ignored("sending", "post_sent")]
    );
    assert_eq!(
        r.feed(history(2, HistoryOutcome::NotFound)),
        vec![Run::ignored("sending", "history_not_found")]
    );
    assert_eq!(r.m.state_name(), "sending");
}

#[test]
fn complete_never_posts_again() {
    let mut r = Run::to_complete();
    let inputs = [
        Input::ChannelReady,
        post(2, PostOutcome::Sent { ts: TS.into() }),
        history(3, HistoryOutcome::NotFound),
        dm(
            1,
            OpenDmOutcome::Opened {
                channel: CHANNEL.into(),
            },
        ),
        Input::Timeout,
        Input::Resumed,
    ];
    for input in inputs {
        let out = r.feed(input.clone());
        assert_eq!(posts(&out), 0, "{input:?}");
        assert_eq!(r.m.state_name(), "complete");
    }
}

#[test]
fn the_machine_moves_between_threads() {
    fn send_and_sync<T: Send + Sync + 'static>() {}
    send_and_sync::<phantom_fsm::onboarding::Onboarding>();
}

/// A code this build does not classify is retried, but no row stays pending forever: after
/// `max_attempts` of them in a row it is `failed` with the last code.
#[test]
fn unknown_codes_are_retried_at_most_max_attempts_times() {
    let mut r = Run::known_team();
    r.feed(Input::ChannelReady);
    let rejected = || OpenDmOutcome::Rejected {
        code: "some_new_code".into(),
    };
    let mut call = 1;
    for _ in 1..10 {
        let out = r.feed(dm(call, rejected()));
        assert_eq!(r.m.state_name(), "backoff", "{out:?}");
        assert_eq!(r.m.last_error(), Some("some_new_code"));
        r.fire();
        assert_eq!(r.m.state_name(), "pending");
        call += 1;
    }
    let out = r.feed(dm(call, rejected()));
    assert_eq!(out, vec![r.tr("pending", "failed", "dm_rejected")]);
    assert_eq!(r.m.last_error(), Some("some_new_code"));
}

/// ... or after `max_age` since the first of them, however few there were.
#[test]
fn unknown_codes_are_retried_at_most_max_age() {
    let mut r = Run::to_reconciling();
    r.fire();
    let rejected = || HistoryOutcome::Rejected {
        code: "some_new_code".into(),
    };
    r.feed(history(3, rejected()));
    assert_eq!(r.m.state_name(), "reconciling");
    r.advance(24 * 3600 * 1000);
    r.fire();
    assert_eq!(
        r.feed(history(4, rejected())),
        vec![r.tr("reconciling", "failed", "history_rejected")]
    );
    assert_eq!(r.m.attempts(), 1, "never a blind resend");
}

/// Any answer that settles the question ends the run of rejections.
#[test]
fn a_success_resets_the_rejection_count() {
    let mut r = Run::known_team();
    r.feed(Input::ChannelReady);
    for call in 1..=9 {
        r.feed(dm(
            call,
            OpenDmOutcome::Rejected {
                code: "some_new_code".into(),
            },
        ));
        r.fire();
    }
    assert_eq!(r.m.snapshot().data["rejections"], 9);
    r.feed(dm(
        10,
        OpenDmOutcome::Opened {
            channel: CHANNEL.into(),
        },
    ));
    assert_eq!(r.m.snapshot().data["rejections"], 0);
    assert_eq!(
        r.m.snapshot().data["rejected_since_unix_ms"],
        serde_json::Value::Null
    );
}
