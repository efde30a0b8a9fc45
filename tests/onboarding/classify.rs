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
    let amb = |r: &str| PostOutcome::Ambiguous {
        reason: r.into(),
        retry_after_ms: None,
    };
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
            amb("invalid_blocks"),
        ),
        (
            ok200(r#"{"ok":false,"error":"service_unavailable"}"#),
            amb("service_unavailable"),
        ),
        (
            ok200(r#"{"ok":false,"error":"request_timeout"}"#),
            amb("request_timeout"),
        ),
        (
            ok200(r#"{"ok":false,"error":"rate_limited"}"#),
            PostOutcome::RateLimited {
                retry_after_ms: None,
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
            reason: "ok_without_channel".into(),
            retry_after_ms: None
        }
    );
    assert_eq!(
        classify_open_dm(&ok200(r#"{"ok":false,"error":"invalid_auth"}"#)),
        OpenDmOutcome::Permanent {
            code: "invalid_auth".into()
        },
        "an auth code is permanent on every call"
    );
    assert_eq!(
        classify_open_dm(&ok200(r#"{"ok":false,"error":"some_new_code"}"#)),
        OpenDmOutcome::Rejected {
            code: "some_new_code".into()
        },
        "an unknown code is retried, bounded"
    );
    assert_eq!(
        classify_auth(&ok200(r#"{"ok":false,"error":"some_new_code"}"#)),
        AuthOutcome::Rejected {
            code: "some_new_code".into()
        }
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
            reason: "no_response".into(),
            retry_after_ms: None
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
    let meta = IntroMetadata::of_generation("U1", "T1", 2);
    assert_eq!(
        serde_json::to_string(&meta).unwrap(),
        r#"{"event_type":"phantom_intro","event_payload":{"installer":"U1","team":"T1","generation":2}}"#
    );
    assert_eq!(
        meta.to_json(),
        json!({"event_type":"phantom_intro","event_payload":{"installer":"U1","team":"T1","generation":2}})
    );
    assert!(meta.is_on(&json!({"ts": "1.0", "metadata": meta.to_json()})));
    assert!(!meta.is_on(&json!({"ts": "1.0"})));
    // Another generation's intro (before or after a reset) is not this one.
    let older = IntroMetadata::of_generation("U1", "T1", 1);
    assert!(!meta.is_on(&json!({"ts": "1.0", "metadata": older.to_json()})));
    // A marker written before generations existed is generation 0.
    let legacy = json!({"ts": "1.0", "metadata": {"event_type": "phantom_intro",
        "event_payload": {"installer": "U1", "team": "T1"}}});
    assert!(IntroMetadata::new("U1", "T1").is_on(&legacy));
    assert!(!meta.is_on(&legacy));
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
            PostOutcome::Ambiguous {
                reason: "x".into(),
                retry_after_ms: None,
            },
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

/// DESIGN's classification table, for all three calls alike: auth / installation and
/// recipient codes fail the row; nothing Slack lists loops forever.
#[test]
fn auth_and_recipient_codes_are_final_on_every_call() {
    let auth = [
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "not_allowed_token_type",
        "missing_scope",
        "team_disabled",
        "ekm_access_denied",
        "org_login_required",
    ];
    let recipient = [
        "user_not_found",
        "user_not_visible",
        "user_disabled",
        "cannot_dm_bot",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "msg_too_long",
        "no_text",
        "restricted_action",
        "restricted_action_read_only_channel",
        "messages_tab_disabled",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "invalid_arguments",
    ];
    for code in auth.iter().chain(&recipient) {
        let body = format!(r#"{{"ok":false,"error":"{code}"}}"#);
        let reply = ok200(&body);
        let code = code.to_string();
        assert_eq!(
            classify_post(&reply),
            PostOutcome::Permanent { code: code.clone() }
        );
        assert_eq!(
            classify_open_dm(&reply),
            OpenDmOutcome::Permanent { code: code.clone() }
        );
        assert_eq!(
            classify_history(&reply, &marker()),
            HistoryOutcome::Permanent { code: code.clone() }
        );
    }
    for code in auth {
        let body = format!(r#"{{"ok":false,"error":"{code}"}}"#);
        assert_eq!(
            classify_auth(&ok200(&body)),
            AuthOutcome::Unrecoverable { code: code.into() }
        );
    }
}

/// A 5xx reply's `Retry-After` is honoured by the history lookup, and an unknown code there is
/// `Rejected` (bounded), never "not found".
#[test]
fn history_honours_retry_after_on_5xx_and_bounds_unknown_codes() {
    let reply = CallResult::Response {
        status: 503,
        retry_after: Some("20"),
        body: "",
    };
    assert_eq!(
        classify_history(&reply, &marker()),
        HistoryOutcome::Transient {
            retry_after_ms: Some(20_000),
            reason: "http_503".into()
        }
    );
    assert_eq!(
        classify_history(&ok200(r#"{"ok":false,"error":"some_new_code"}"#), &marker()),
        HistoryOutcome::Rejected {
            code: "some_new_code".into()
        }
    );
}

/// Only the last page may answer "not found": `has_more` with a cursor is the next page, and
/// `has_more` without one proves nothing.
#[test]
fn a_page_without_the_marker_is_not_found_only_when_it_is_the_last() {
    let page = |has_more: bool, cursor: &str| {
        json!({"ok": true, "messages": [{"ts": "1.1", "text": "hi"}], "has_more": has_more,
            "response_metadata": {"next_cursor": cursor}})
        .to_string()
    };
    assert_eq!(
        classify_history(&ok200(&page(true, "dXNlcjpVMDYx")), &marker()),
        HistoryOutcome::NextPage {
            cursor: "dXNlcjpVMDYx".into()
        }
    );
    assert_eq!(
        classify_history(&ok200(&page(false, "")), &marker()),
        HistoryOutcome::NotFound
    );
    assert_eq!(
        classify_history(&ok200(&page(true, "")), &marker()),
        HistoryOutcome::Transient {
            retry_after_ms: None,
            reason: "has_more_without_cursor".into()
        }
    );
    // The marker on this page wins whatever follows.
    let found = json!({"ok": true, "has_more": true,
        "response_metadata": {"next_cursor": "abc"},
        "messages": [{"ts": "5.5", "metadata": marker().to_json()}]})
    .to_string();
    assert_eq!(
        classify_history(&ok200(&found), &marker()),
        HistoryOutcome::Found { ts: "5.5".into() }
    );
}
