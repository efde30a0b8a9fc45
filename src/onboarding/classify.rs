//! Classification of Slack Web API replies into what they *prove*, for the four calls the
//! onboarding machine makes, plus the `/health` mapping and the metric outcome.
//!
//! The shell's HTTP client reports what it observed as a [`CallResult`] (it must not treat
//! 4xx/5xx as errors that lose the headers: `Retry-After` matters). These pure functions turn
//! it into the machine's inputs. The rule that matters most: for `chat.postMessage`, anything
//! that does not prove the post was not stored is [`PostOutcome::Ambiguous`].

use super::io::{AuthOutcome, HistoryOutcome, IntroMetadata, OpenDmOutcome, PostOutcome};
use crate::engine::IntroOutcome;
use serde_json::{Map, Value};

/// What the HTTP layer observed of one Web API call, before classification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallResult<'a> {
    /// The request was never written: DNS failure, connection refused, TLS handshake failure.
    NotSent,
    /// The request was (or may have been) written, but no complete response came back: a
    /// timeout, a reset, a truncated body.
    NoResponse,
    /// A complete HTTP response.
    Response {
        /// HTTP status.
        status: u16,
        /// The raw `Retry-After` header, if any.
        retry_after: Option<&'a str>,
        /// The body.
        body: &'a str,
    },
}

/// Auth / installation codes, the same for every call: the bot token does not work, so no
/// retry can help (`failed` with the code).
pub const AUTH_UNRECOVERABLE_CODES: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_allowed_token_type",
    "missing_scope",
    "no_permission",
    "team_disabled",
    "access_denied",
    "ekm_access_denied",
    "org_login_required",
    "team_access_not_granted",
    "two_factor_setup_required",
    "enterprise_is_restricted",
];

/// Request / recipient codes that no retry can fix, the same for every call that names a
/// recipient or a channel (`failed` with the code). Codes starting `restricted_action` count
/// too (see [`is_permanent_code`]).
pub const RECIPIENT_CODES: &[&str] = &[
    "user_not_found",
    "user_not_visible",
    "user_disabled",
    "users_not_found",
    "cannot_dm_bot",
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "msg_too_long",
    "no_text",
    "messages_tab_disabled",
    "invalid_metadata_format",
    "invalid_metadata_schema",
    "metadata_too_large",
    "metadata_must_be_sent_from_app",
    "invalid_arguments",
    "invalid_arg_name",
    "invalid_array_arg",
    "invalid_charset",
    "invalid_form_data",
    "invalid_post_type",
    "missing_post_type",
    "invalid_cursor",
    "invalid_ts_oldest",
    "invalid_ts_latest",
    "too_many_users",
    "not_enough_users",
    "method_deprecated",
    "deprecated_endpoint",
    "as_user_not_supported",
    "duplicate_channel_not_found",
    "slack_connect_blocked_file_type",
];

/// `chat.postMessage` codes that do not prove the post was not stored: Slack documents
/// `internal_error` and `fatal_error` as "it's possible some aspect of the operation succeeded
/// before the error was raised"; `service_unavailable` and `request_timeout` say the server
/// gave up, not that it did nothing.
pub const POST_AMBIGUOUS_CODES: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// Whether no retry can fix `code`: an auth / installation code, a request / recipient code,
/// or a `restricted_action*` code.
pub fn is_permanent_code(code: &str) -> bool {
    AUTH_UNRECOVERABLE_CODES.contains(&code)
        || RECIPIENT_CODES.contains(&code)
        || code.starts_with("restricted_action")
}

/// What a reply says, independent of the method.
enum Reply {
    NotSent,
    NoResponse,
    RateLimited(Option<u64>),
    ServerError(u16, Option<u64>),
    Unparseable,
    Error(String),
    Ok(Map<String, Value>),
}

fn read(result: &CallResult<'_>) -> Reply {
    let CallResult::Response {
        status,
        retry_after,
        body,
    } = *result
    else {
        return match result {
            CallResult::NotSent => Reply::NotSent,
            _ => Reply::NoResponse,
        };
    };
    let retry_after_ms = retry_after.and_then(retry_after_ms);
    if status == 429 {
        return Reply::RateLimited(retry_after_ms);
    }
    if status >= 500 {
        return Reply::ServerError(status, retry_after_ms);
    }
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) else {
        return Reply::Unparseable;
    };
    match map.get("ok") {
        Some(Value::Bool(true)) => Reply::Ok(map),
        Some(Value::Bool(false)) => {
            let code = map.get("error").and_then(Value::as_str);
            match code {
                // Slack spells it `ratelimited`; a few methods and proxies say `rate_limited`.
                Some("ratelimited" | "rate_limited") => Reply::RateLimited(retry_after_ms),
                _ => Reply::Error(code.unwrap_or("unknown_error").to_string()),
            }
        }
        _ => Reply::Unparseable,
    }
}

/// Parse a `Retry-After` header given in seconds (`"30"`, `"1.5"`) into milliseconds. The
/// HTTP-date form is not used by Slack and yields `None` (the jittered backoff applies).
pub fn retry_after_ms(header: &str) -> Option<u64> {
    let secs: f64 = header.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| (secs * 1000.0).min(u64::MAX as f64) as u64)
}

fn string_at<'a>(map: &'a Map<String, Value>, path: &[&str]) -> Option<&'a str> {
    let (last, parents) = path.split_last()?;
    let mut object = map;
    for key in parents {
        object = object.get(*key)?.as_object()?;
    }
    object.get(*last)?.as_str().filter(|s| !s.is_empty())
}

/// Classify an `auth.test` reply. Auth / installation codes are unrecoverable; network
/// failures and 5xx are transient (the call is read-only, so nothing is ambiguous); any
/// other `ok:false` code is `Rejected` (retried, bounded).
pub fn classify_auth(result: &CallResult<'_>) -> AuthOutcome {
    let transient = |reason: &str| AuthOutcome::Transient {
        reason: reason.to_string(),
        retry_after_ms: None,
    };
    match read(result) {
        Reply::Ok(map) => match string_at(&map, &["team_id"]) {
            Some(team) => AuthOutcome::Ok {
                team_id: team.to_string(),
            },
            None => transient("ok_without_team_id"),
        },
        // A 5xx's `Retry-After` is the server's word on when to come back: kept, not dropped.
        Reply::ServerError(status, retry_after_ms) => AuthOutcome::Transient {
            reason: format!("http_{status}"),
            retry_after_ms,
        },
        Reply::RateLimited(retry_after_ms) => AuthOutcome::RateLimited { retry_after_ms },
        Reply::Error(code) if AUTH_UNRECOVERABLE_CODES.contains(&code.as_str()) => {
            AuthOutcome::Unrecoverable { code }
        }
        Reply::Error(code) => AuthOutcome::Rejected { code },
        other => transient(&failure_reason(other)),
    }
}

/// Classify a `conversations.open` reply. Auth / installation and recipient codes
/// ([`is_permanent_code`]) are permanent; opening a DM is idempotent, so network failures and
/// 5xx are retried; any other `ok:false` code is `Rejected` (retried, bounded).
pub fn classify_open_dm(result: &CallResult<'_>) -> OpenDmOutcome {
    match read(result) {
        Reply::Ok(map) => match string_at(&map, &["channel", "id"]) {
            Some(channel) => OpenDmOutcome::Opened {
                channel: channel.to_string(),
            },
            None => OpenDmOutcome::Transient {
                reason: "ok_without_channel".to_string(),
                retry_after_ms: None,
            },
        },
        Reply::ServerError(status, retry_after_ms) => OpenDmOutcome::Transient {
            reason: format!("http_{status}"),
            retry_after_ms,
        },
        Reply::RateLimited(retry_after_ms) => OpenDmOutcome::RateLimited { retry_after_ms },
        Reply::Error(code) if is_permanent_code(&code) => OpenDmOutcome::Permanent { code },
        Reply::Error(code) => OpenDmOutcome::Rejected { code },
        other => OpenDmOutcome::Transient {
            reason: failure_reason(other),
            retry_after_ms: None,
        },
    }
}

/// Classify a `chat.postMessage` reply (`docs/onboarding.md`):
///
/// | observed | outcome |
/// |---|---|
/// | `ok:true` with `ts` | `Sent` |
/// | HTTP 429, `ratelimited` | `RateLimited` |
/// | connect error before the request was written | `NotStored` |
/// | `ok:false` with a code for which [`is_permanent_code`] holds | `Permanent` |
/// | timeout/reset after writing, 5xx, `ok:true` without `ts`, unparseable, [`POST_AMBIGUOUS_CODES`] | `Ambiguous` |
/// | `ok:false` with any other code | `Ambiguous` (it does not prove nothing was stored) |
pub fn classify_post(result: &CallResult<'_>) -> PostOutcome {
    let ambiguous = |reason: &str| PostOutcome::Ambiguous {
        reason: reason.to_string(),
        retry_after_ms: None,
    };
    match read(result) {
        Reply::Ok(map) => match string_at(&map, &["ts"]) {
            Some(ts) => PostOutcome::Sent { ts: ts.to_string() },
            None => ambiguous("ok_without_ts"),
        },
        Reply::RateLimited(retry_after_ms) => PostOutcome::RateLimited { retry_after_ms },
        Reply::NotSent => PostOutcome::NotStored {
            reason: "connect_error".to_string(),
        },
        Reply::ServerError(status, retry_after_ms) => PostOutcome::Ambiguous {
            reason: format!("http_{status}"),
            retry_after_ms,
        },
        Reply::Error(code) if is_permanent_code(&code) => PostOutcome::Permanent { code },
        // `POST_AMBIGUOUS_CODES` and every code this build does not know: only a reply that
        // proves nothing was stored may lead to a resend without looking first.
        Reply::Error(code) => ambiguous(&code),
        other => ambiguous(&failure_reason(other)),
    }
}

/// Classify one page of `conversations.history(include_all_metadata=true)`: look for `marker`
/// in `messages` (the earliest matching `ts` wins). Without it, `has_more` with a
/// `response_metadata.next_cursor` is `NextPage`, and only the last page is `NotFound`.
/// Auth / installation and channel codes ([`is_permanent_code`]) are final; network, 5xx and
/// 429 are transient (honouring `Retry-After`); other codes are `Rejected` (bounded).
pub fn classify_history(result: &CallResult<'_>, marker: &IntroMetadata) -> HistoryOutcome {
    let transient = |reason: String, retry_after_ms| HistoryOutcome::Transient {
        retry_after_ms,
        reason,
    };
    match read(result) {
        Reply::Ok(map) => match map.get("messages").and_then(Value::as_array) {
            Some(messages) => match find_marker(messages, marker) {
                HistoryOutcome::NotFound => next_page(&map),
                other => other,
            },
            None => transient("ok_without_messages".to_string(), None),
        },
        Reply::Error(code) if is_permanent_code(&code) => HistoryOutcome::Permanent { code },
        Reply::Error(code) => HistoryOutcome::Rejected { code },
        Reply::RateLimited(retry_after_ms) => transient("ratelimited".to_string(), retry_after_ms),
        Reply::ServerError(status, retry_after_ms) => {
            transient(format!("http_{status}"), retry_after_ms)
        }
        other => transient(failure_reason(other), None),
    }
}

/// A page without the marker: the last one (`NotFound`) unless `has_more` says otherwise; a
/// page that claims more without a cursor cannot be followed, so it proves nothing.
fn next_page(map: &Map<String, Value>) -> HistoryOutcome {
    if map.get("has_more") != Some(&Value::Bool(true)) {
        return HistoryOutcome::NotFound;
    }
    match string_at(map, &["response_metadata", "next_cursor"]) {
        Some(cursor) => HistoryOutcome::NextPage {
            cursor: cursor.to_string(),
        },
        None => HistoryOutcome::Transient {
            retry_after_ms: None,
            reason: "has_more_without_cursor".to_string(),
        },
    }
}

/// A message carrying the marker proves the intro was stored: without a `ts` to stamp, the
/// lookup is retried rather than answered `NotFound`, which would post a duplicate (found by
/// the `onboarding_sequence` fuzz target).
fn find_marker(messages: &[Value], marker: &IntroMetadata) -> HistoryOutcome {
    let marked: Vec<&Value> = messages.iter().filter(|m| marker.is_on(m)).collect();
    let earliest = marked
        .iter()
        .filter_map(|m| m.get("ts").and_then(Value::as_str))
        .min_by_key(|ts| ts_key(ts));
    match (earliest, marked.is_empty()) {
        (Some(ts), _) => HistoryOutcome::Found { ts: ts.to_string() },
        (None, true) => HistoryOutcome::NotFound,
        (None, false) => HistoryOutcome::Transient {
            retry_after_ms: None,
            reason: "marker_without_ts".to_string(),
        },
    }
}

/// Order Slack timestamps (`"1700000000.000100"`) numerically; malformed ones sort last.
fn ts_key(ts: &str) -> (u64, u64, String) {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, "0"));
    match (secs.parse(), frac.parse()) {
        (Ok(s), Ok(f)) => (s, f, String::new()),
        _ => (u64::MAX, u64::MAX, ts.to_string()),
    }
}

fn failure_reason(reply: Reply) -> String {
    match reply {
        Reply::NotSent => "connect_error".to_string(),
        Reply::NoResponse => "no_response".to_string(),
        Reply::RateLimited(_) => "ratelimited".to_string(),
        Reply::ServerError(status, _) => format!("http_{status}"),
        Reply::Unparseable => "unparseable_reply".to_string(),
        Reply::Error(code) => code,
        Reply::Ok(_) => "ok".to_string(),
    }
}

/// The metric outcome of one post (`phantom_onboarding_intro_attempts_total{outcome}`).
pub fn intro_outcome(outcome: &PostOutcome) -> IntroOutcome {
    match outcome {
        PostOutcome::Sent { .. } => IntroOutcome::Sent,
        PostOutcome::RateLimited { .. } => IntroOutcome::RateLimited,
        PostOutcome::NotStored { .. } => IntroOutcome::Transient,
        PostOutcome::Permanent { .. } => IntroOutcome::Permanent,
        PostOutcome::Ambiguous { .. } => IntroOutcome::Ambiguous,
    }
}

/// The `/health` `"onboarding"` value of a leaf state: `complete` → `"complete"`, `failed` →
/// `"failed"`, every other state → `"pending"`. (`"disabled"`, when no installer is
/// configured, is the runtime's: there is no machine then.)
pub fn health_label(state: &str) -> &'static str {
    match state {
        "complete" => "complete",
        "failed" => "failed",
        _ => "pending",
    }
}
