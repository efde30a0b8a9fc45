//! The classification table of `docs/onboarding.md`, the marker, `/health` and the metric outcome.

use super::common::*;
use phantom_fsm::engine::IntroOutcome;
use phantom_fsm::onboarding::retry_after_ms;
use phantom_fsm::onboarding::{
    AuthOutcome, CallResult, HistoryOutcome, IntroMetadata, OpenDmOutcome, PostOutcome,
    STATE_NAMES, classify_auth, classify_history, classify_open_dm, classify_post, health_label,
    intro_outcome,
};
use serde_json::json;

fn ok200(body: &str) -> CallResult<'_> {
    CallResult::Response {
        status: 200,
        retry_after: None,
        body,
    }
}

#[test]
fn post_replies_are_classified_by_what_they_prove() {
    let amb = |r: &str| PostOutcome::Ambiguous { reason: r.into() };
    let cases: Vec<(CallResult<'_>, PostOutcome)> = vec![
        (
            ok200(r#"{"ok":true,"channel":"D1","ts":"1.2"}"#),
            PostOutcome::Sent { ts: "1.2".into() },
        ),
        (ok200(r#"{"ok":true}"#), amb("ok_without_ts")),
        (ok200(r#"{"ok":true,"ts":""}"#), amb("ok_without_ts")),
        (
            CallResult::Response {
                status: 429,
                retry_after: Some("7"),
                body: "",
            },
            PostOutcome::RateLimited {
                retry_after_ms: Some(7_000),
            },
        ),
        (
            ok200(r#"{"ok":false,"error":"ratelimited"}"#),
            PostOutcome::RateLimited {
                retry_after_ms: None,
            },
        ),
        (
            CallResult::NotSent,
            PostOutcome::NotStored {
                reason: "connect_error".into(),
            },
        ),
        (CallResult::NoResponse, amb("no_response")),
        (
            CallResult::Response {
                status: 500,
                retry_after: None,
                body: r#"{"ok":false,"error":"channel_not_found"}"#,
            },
            amb("http_500"),
        ),
        (ok200("not json"), amb("unparseable_reply")),
        (ok200("[1,2]"), amb("unparseable_reply")),
        (ok200(r#"{"channel":"D1"}"#), amb("unparseable_reply")),
        (
            ok200(r#"{"ok":false,"error":"fatal_error"}"#),
            amb("fatal_error"),
        ),
        (
            ok200(r#"{"ok":false,"error":"msg_too_long"}"#),
            PostOutcome::Permanent {
                code: "msg_too_long".into(),
            },
        ),
        (
            ok200(r#"{"ok":false,"error":"invalid_blocks"}"#),
            PostOutcome::NotStored {
                reason: "invalid_blocks".into(),
            },
        ),
    ];
    for (reply, expected) in cases {
        assert_eq!(classify_post(&reply), expected, "{reply:?}");
    }
}

#[test]
fn open_and_auth_replies() {
    assert_eq!(
        classify_open_dm(&ok200(r#"{"ok":true,"channel":{"id":"D9"}}"#)),
        OpenDmOutcome::Opened {
            channel: "D9".into()
        }
    );
    assert_eq!(
        classify_open_dm(&ok200(r#"{"ok":true,"channel":{}}"#)),
        OpenDmOutcome::Transient {
            reason: "ok_without_channel".into()
        }
    );
    assert_eq!(
        classify_open_dm(&ok200(r#"{"ok":false,"error":"invalid_auth"}"#)),
        OpenDmOutcome::Transient {
            reason: "invalid_auth".into()
        },
        "only the listed codes are permanent"
    );
    assert_eq!(
        classify_auth(&ok200(r#"{"ok":true,"team_id":"T9","user_id":"U9"}"#)),
        AuthOutcome::Ok {
            team_id: "T9".into()
        }
    );
    assert_eq!(
        classify_auth(&ok200(r#"{"ok":false,"error":"token_revoked"}"#)),
        AuthOutcome::Unrecoverable {
            code: "token_revoked".into()
        }
    );
    assert_eq!(
        classify_auth(&CallResult::NoResponse),
        AuthOutcome::Transient {
            reason: "no_response".into()
        }
    );
    assert_eq!(
        classify_auth(&CallResult::Response {
            status: 429,
            retry_after: Some("1"),
            body: ""
        }),
        AuthOutcome::RateLimited {
            retry_after_ms: Some(1_000)
        }
    );
}

#[test]
fn history_finds_only_this_installers_marker_and_the_earliest_copy() {
    let other = |installer: &str, team: &str, ts: &str| {
        json!({"ts": ts, "metadata": {"event_type": "phantom_intro",
            "event_payload": {"installer": installer, "team": team}}})
    };
    let body = json!({"ok": true, "messages": [
        other("U0OTHER", TEAM, "1.1"),
        other(USER, "T0OTHER", "1.2"),
        {"ts": "1.3", "metadata": {"event_type": "something_else",
            "event_payload": {"installer": USER, "team": TEAM}}},
        other(USER, TEAM, "1767225602.000100"),
        other(USER, TEAM, "1767225601.000900"),
    ]})
    .to_string();
    assert_eq!(
        classify_history(&ok200(&body), &marker()),
        HistoryOutcome::Found {
            ts: "1767225601.000900".into()
        }
    );
    let body = json!({"ok": true, "messages": [other("U0OTHER", TEAM, "1.1")]}).to_string();
    assert_eq!(
        classify_history(&ok200(&body), &marker()),
        HistoryOutcome::NotFound
    );
}

#[test]
fn history_failures_are_transient_except_missing_scope() {
    let t = |reason: &str, retry_after_ms| HistoryOutcome::Transient {
        retry_after_ms,
        reason: reason.into(),
    };
    let cases = vec![
        (
            ok200(r#"{"ok":false,"error":"missing_scope"}"#),
            HistoryOutcome::Permanent {
                code: "missing_scope".into(),
            },
        ),
        (
            ok200(r#"{"ok":false,"error":"channel_not_found"}"#),
            HistoryOutcome::Permanent {
                code: "channel_not_found".into(),
            },
        ),
        (ok200(r#"{"ok":true}"#), t("ok_without_messages", None)),
        (ok200("<html>"), t("unparseable_reply", None)),
        (CallResult::NoResponse, t("no_response", None)),
        (CallResult::NotSent, t("connect_error", None)),
        (
            CallResult::Response {
                status: 429,
                retry_after: Some("3"),
                body: "",
            },
            t("ratelimited", Some(3_000)),
        ),
        (
            CallResult::Response {
                status: 502,
                retry_after: None,
                body: "",
            },
            t("http_502", None),
        ),
    ];
    for (reply, expected) in cases {
        assert_eq!(classify_history(&reply, &marker()), expected, "{reply:?}");
    }
}

#[test]
fn retry_after_is_read_in_seconds() {
    assert_eq!(retry_after_ms("30"), Some(30_000));
    assert_eq!(retry_after_ms(" 1.5 "), Some(1_500));
    assert_eq!(retry_after_ms("-1"), None);
    assert_eq!(retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), None);
}

#[test]
fn the_marker_serializes_exactly() {
    let meta = IntroMetadata::new("U1", "T1");
    assert_eq!(
        serde_json::to_string(&meta).unwrap(),
        r#"{"event_type":"phantom_intro","event_payload":{"installer":"U1","team":"T1"}}"#
    );
    assert_eq!(
        meta.to_json(),
        json!({"event_type":"phantom_intro","event_payload":{"installer":"U1","team":"T1"}})
    );
    assert!(meta.is_on(&json!({"ts": "1.0", "metadata": meta.to_json()})));
    assert!(!meta.is_on(&json!({"ts": "1.0"})));
}

#[test]
fn health_and_metric_outcomes() {
    let labels: Vec<_> = STATE_NAMES.iter().map(|s| health_label(s)).collect();
    assert_eq!(
        labels,
        [
            "pending", "pending", "pending", "pending", "complete", "failed"
        ]
    );
    let outcomes = [
        (PostOutcome::Sent { ts: "1".into() }, IntroOutcome::Sent),
        (
            PostOutcome::RateLimited {
                retry_after_ms: None,
            },
            IntroOutcome::RateLimited,
        ),
        (
            PostOutcome::NotStored { reason: "x".into() },
            IntroOutcome::Transient,
        ),
        (
            PostOutcome::Ambiguous { reason: "x".into() },
            IntroOutcome::Ambiguous,
        ),
        (
            PostOutcome::Permanent { code: "x".into() },
            IntroOutcome::Permanent,
        ),
    ];
    for (post, metric) in outcomes {
        assert_eq!(intro_outcome(&post), metric);
    }
}
