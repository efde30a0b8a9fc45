//! Raw HTTP results for the `classify_*` functions, and the checks that classification keeps
//! the ledger's promise: nothing that may have stored the post is called "not stored".

use crate::onboarding::classify::{classify_history, classify_post};
use crate::onboarding::{CallResult, HistoryOutcome, IntroMetadata, PostOutcome};
use serde_json::Value;

use super::{CHANNEL, TEAM, USER};

/// What the HTTP layer saw, owned.
#[derive(Clone, Debug)]
pub(super) enum Reply {
    NotSent,
    NoResponse,
    Response {
        status: u16,
        retry_after: Option<String>,
        body: String,
    },
}

impl Reply {
    /// Build a reply from the selector bytes of an `Http` step.
    pub(super) fn new(result: u8, status: u8, retry_after: u8, body: u8, raw: &[u8]) -> Reply {
        match result % 4 {
            0 => return Reply::NotSent,
            1 => return Reply::NoResponse,
            _ => {}
        }
        const STATUS: [u16; 10] = [200, 200, 200, 200, 429, 500, 502, 503, 400, 404];
        let retry_after = match retry_after % 6 {
            0 => None,
            1 => Some("30"),
            2 => Some("1.5"),
            3 => Some("-1"),
            4 => Some("Wed, 21 Oct 2015 07:28:00 GMT"),
            _ => Some("0"),
        };
        Reply::Response {
            status: STATUS[usize::from(status) % STATUS.len()],
            retry_after: retry_after.map(str::to_string),
            body: body_of(body, raw),
        }
    }

    pub(super) fn as_call_result(&self) -> CallResult<'_> {
        match self {
            Reply::NotSent => CallResult::NotSent,
            Reply::NoResponse => CallResult::NoResponse,
            Reply::Response {
                status,
                retry_after,
                body,
            } => CallResult::Response {
                status: *status,
                retry_after: retry_after.as_deref(),
                body,
            },
        }
    }

    fn body_json(&self) -> Option<serde_json::Map<String, Value>> {
        match self {
            Reply::Response { body, .. } => match serde_json::from_str(body) {
                Ok(Value::Object(map)) => Some(map),
                _ => None,
            },
            _ => None,
        }
    }
}

const CODES: &[&str] = &[
    "ratelimited",
    "internal_error",
    "fatal_error",
    "channel_not_found",
    "is_archived",
    "missing_scope",
    "invalid_auth",
    "user_not_found",
    "cannot_dm_bot",
    "not_in_channel",
    "request_timeout",
    "some_new_error",
];

fn marker_message(ts: Option<&str>, installer: &str) -> Value {
    let mut m = serde_json::json!({
        "type": "message",
        "text": "Hi, thanks for installing me!",
        "metadata": {
            "event_type": "phantom_intro",
            "event_payload": {"installer": installer, "team": TEAM},
        },
    });
    if let Some(ts) = ts {
        m["ts"] = Value::String(ts.to_string());
    }
    m
}

/// Realistic bodies of the four calls, and near-misses.
fn body_of(sel: u8, raw: &[u8]) -> String {
    use serde_json::json;
    let history =
        |messages: Vec<Value>| json!({"ok": true, "messages": messages, "has_more": false});
    let v = match sel % 12 {
        0 => json!({"ok": true, "channel": CHANNEL, "ts": "1767225600.000100"}),
        1 => json!({"ok": true, "channel": CHANNEL}),
        2 => {
            json!({"ok": true, "team": "Example", "user": "phantom", "team_id": TEAM, "user_id": "U0BOT", "bot_id": "B0BOT"})
        }
        3 => json!({"ok": true, "channel": {"id": CHANNEL}}),
        4 => history(vec![
            json!({"type": "message", "ts": "1767225599.000100", "text": "earlier"}),
            marker_message(Some("1767225600.000100"), USER),
        ]),
        5 => history(vec![
            json!({"type": "message", "ts": "1767225601.000100", "text": "hello"}),
        ]),
        6 => {
            let code = CODES[usize::from(raw.first().copied().unwrap_or(0)) % CODES.len()];
            json!({"ok": false, "error": code})
        }
        7 => history(vec![marker_message(None, USER)]),
        8 => return String::from_utf8_lossy(raw).into_owned(),
        9 => json!({"ok": "yes", "ts": "1767225600.000100"}),
        10 => return String::new(),
        _ => history(vec![marker_message(
            Some("1767225600.000100"),
            "U0SOMEONEELSE",
        )]),
    };
    v.to_string()
}

/// `classify_post` calls "not stored" only what proves it, and "sent" only with a `ts`.
pub(super) fn check_post(reply: &Reply) -> PostOutcome {
    let outcome = classify_post(&reply.as_call_result());
    let body = reply.body_json();
    let ok_field = body.as_ref().and_then(|b| b.get("ok").cloned());
    match (reply, &outcome) {
        (Reply::NotSent, PostOutcome::NotStored { .. }) => {}
        (Reply::NotSent, other) => panic!("connect error classified {other:?}"),
        (Reply::NoResponse, PostOutcome::Ambiguous { .. }) => {}
        (Reply::NoResponse, other) => panic!("no response classified {other:?}"),
        (Reply::Response { status: 429, .. }, PostOutcome::RateLimited { .. }) => {}
        (Reply::Response { status, .. }, other) if *status == 429 => {
            panic!("HTTP 429 classified {other:?}")
        }
        (Reply::Response { status, .. }, PostOutcome::Ambiguous { .. }) if *status >= 500 => {}
        (Reply::Response { status, .. }, other) if *status >= 500 => {
            panic!("HTTP {status} classified {other:?}")
        }
        (_, PostOutcome::Sent { ts }) => {
            let got = body
                .as_ref()
                .and_then(|b| b.get("ts"))
                .and_then(Value::as_str);
            assert!(
                ok_field == Some(Value::Bool(true)) && got == Some(ts.as_str()),
                "{reply:?}"
            );
        }
        (_, PostOutcome::NotStored { .. }) => {
            panic!("only a connect error proves nothing was stored: {reply:?}")
        }
        _ => {}
    }
    outcome
}

/// `classify_history` finds the marker exactly when a message carries it.
pub(super) fn check_history(reply: &Reply, marker: &IntroMetadata) -> HistoryOutcome {
    let outcome = classify_history(&reply.as_call_result(), marker);
    let messages: Vec<Value> = reply
        .body_json()
        .and_then(|b| b.get("messages").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    let marked: Vec<&Value> = messages.iter().filter(|m| marker.is_on(m)).collect();
    match &outcome {
        HistoryOutcome::Found { ts } => assert!(
            marked
                .iter()
                .any(|m| m.get("ts").and_then(Value::as_str) == Some(ts.as_str())),
            "found {ts} in {reply:?}"
        ),
        HistoryOutcome::NotFound => assert!(
            marked.is_empty(),
            "a message carries the marker, yet `not found` (a resend would duplicate): {reply:?}"
        ),
        _ => {}
    }
    outcome
}
