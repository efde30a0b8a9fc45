//! The Web API under `/api/<method>`: `apps.connections.open`, `auth.test`,
//! `conversations.open`, `chat.postMessage`, `conversations.history`.
//!
//! As Slack does, it takes arguments from the query string, a form-encoded body, or (for write
//! methods) a JSON body; the token from `Authorization: Bearer` (or a form body's `token`);
//! answers errors as HTTP 200 `{"ok":false,"error":"..."}`; and rate limits with HTTP 429,
//! `Retry-After` and `{"ok":false,"error":"ratelimited"}`.

use super::auth::TokenKind;
use super::faults::{ApiFault, FaultReply, Hold, MAX_HOLD};
use super::log::Event;
use super::state::{Shared, State, millis, unix_ms};
use super::store::HistoryQuery;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Methods that take JSON bodies (Slack's write methods). Read methods ignore a JSON body.
const JSON_METHODS: &[&str] = &[
    "chat.postMessage",
    "conversations.open",
    "apps.connections.open",
];

/// Arguments of one call, from the query string and the body.
#[derive(Debug, Default)]
pub(crate) struct Params {
    values: Map<String, Value>,
    body_token: Option<String>,
}

impl Params {
    /// Parse the query and body; a JSON body that is not an object → `invalid_json`.
    pub(crate) fn parse(
        method: &str,
        query: Option<&str>,
        content_type: &str,
        body: &[u8],
    ) -> Result<Params, &'static str> {
        let mut p = Params::default();
        for (k, v) in form_pairs(query.unwrap_or("").as_bytes()) {
            if k != "token" {
                p.values.insert(k, Value::String(v));
            }
        }
        if content_type.starts_with("application/json") {
            if !JSON_METHODS.contains(&method) || body.is_empty() {
                return Ok(p);
            }
            let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
                return Err("invalid_json");
            };
            p.values
                .extend(obj.into_iter().filter(|(k, _)| k != "token"));
        } else {
            for (k, v) in form_pairs(body) {
                if k == "token" {
                    p.body_token = Some(v);
                } else {
                    p.values.insert(k, Value::String(v));
                }
            }
        }
        Ok(p)
    }

    fn str(&self, key: &str) -> Option<String> {
        match self.values.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    fn flag(&self, key: &str) -> bool {
        match self.values.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true" || s == "1",
            Some(Value::Number(n)) => n.as_u64() == Some(1),
            _ => false,
        }
    }

    /// A JSON-valued argument: an object as is, or a string holding JSON (form encoding).
    fn json(&self, key: &str) -> Result<Option<Value>, ()> {
        match self.values.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => serde_json::from_str(s).map(Some).map_err(|_| ()),
            Some(v) => Ok(Some(v.clone())),
        }
    }
}

fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(bytes).unwrap_or_default()
}

/// A reply before it becomes an HTTP response.
#[derive(Debug, PartialEq)]
pub(crate) struct Reply {
    status: StatusCode,
    body: ReplyBody,
    retry_after: Option<u64>,
    fault: Option<String>,
}

#[derive(Debug, PartialEq)]
enum ReplyBody {
    Json(Value),
    Text(&'static str),
    /// No reply: the connection is dropped.
    Lost,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Reply {
            status: StatusCode::OK,
            body: ReplyBody::Json(body),
            retry_after: None,
            fault: None,
        }
    }

    fn error(code: &str) -> Self {
        Self::ok(json!({"ok": false, "error": code}))
    }

    fn from_fault(fault: &ApiFault, real: Reply) -> Reply {
        let mut reply = match &fault.reply {
            FaultReply::Error { error } => Reply::error(error),
            FaultReply::RateLimited { retry_after } => Reply {
                status: StatusCode::TOO_MANY_REQUESTS,
                retry_after: Some(*retry_after),
                ..Reply::error("ratelimited")
            },
            FaultReply::Status { status } => Reply {
                status: StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                body: ReplyBody::Text("<html><body>Internal Server Error</body></html>\n"),
                retry_after: None,
                fault: None,
            },
            FaultReply::OkWithoutTs => Reply::ok(strip_ts(real)),
            FaultReply::Unparseable => Reply {
                body: ReplyBody::Text("<html><body>upstream hiccup</body></html>\n"),
                ..Reply::ok(Value::Null)
            },
            FaultReply::Lost => Reply {
                body: ReplyBody::Lost,
                ..Reply::ok(Value::Null)
            },
        };
        reply.fault = Some(fault.label());
        reply
    }

    /// `ok`, `error` of the body, for the log.
    fn summary(&self) -> (bool, Option<String>) {
        match &self.body {
            ReplyBody::Json(v) => (
                v["ok"].as_bool().unwrap_or(false),
                v["error"].as_str().map(str::to_string),
            ),
            ReplyBody::Text(_) | ReplyBody::Lost => (false, None),
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            ReplyBody::Json(v) => (self.status, axum::Json(v)).into_response(),
            ReplyBody::Text(t) => (
                self.status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                t,
            )
                .into_response(),
            // A body that fails at once makes the server drop the connection before the
            // reply's head is flushed: the client sees a reset, not an answer.
            ReplyBody::Lost => {
                let failing = futures_util::stream::once(async {
                    Err::<Bytes, std::io::Error>(std::io::Error::other("reply lost (fault)"))
                });
                Response::new(axum::body::Body::from_stream(failing))
            }
        };
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// `{"ok":true,...}` of a real reply, without `ts` and `message`.
fn strip_ts(real: Reply) -> Value {
    let mut body = match real.body {
        ReplyBody::Json(Value::Object(m)) if m.get("ok") == Some(&Value::Bool(true)) => m,
        _ => Map::new(),
    };
    body.remove("ts");
    body.remove("message");
    body.insert("ok".into(), Value::Bool(true));
    Value::Object(body)
}

/// `/api/{method}` (GET or POST).
pub(crate) async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let bearer = bearer_token(&headers);
    // Subscribed before the effect, so a release that follows the effect is never missed.
    let release = shared.release.subscribe();
    let (reply, hold) = shared.with(|s| {
        let hold = s.faults.take_hold(&method);
        let reply = match Params::parse(&method, query.as_deref(), content_type, &body) {
            Ok(params) => {
                let token = bearer.clone().or(params.body_token.clone());
                answer(s, &shared, &method, token.as_deref(), &params)
            }
            Err(code) => Reply::error(code),
        };
        (reply, hold)
    });
    let Some(hold) = hold else {
        log_call(&shared, &method, &reply, None);
        return reply.into_response();
    };
    held_reply(shared, method, reply, hold, release).await
}

/// Apply the queued fault (if any) around the real method.
fn answer(s: &mut State, shared: &Shared, method: &str, token: Option<&str>, p: &Params) -> Reply {
    let fault = s.faults.take_fault(method);
    match fault {
        Some(f) if f.after_effect => {
            let real = call(s, shared, method, token, p);
            Reply::from_fault(&f, real)
        }
        Some(f) => Reply::from_fault(&f, Reply::error("unused")),
        None => call(s, shared, method, token, p),
    }
}

/// The real method.
fn call(s: &mut State, shared: &Shared, method: &str, token: Option<&str>, p: &Params) -> Reply {
    let allowed = match method {
        "apps.connections.open" => TokenKind::App,
        "auth.test" | "conversations.open" | "chat.postMessage" | "conversations.history" => {
            TokenKind::Bot
        }
        _ => {
            return Reply {
                status: StatusCode::NOT_FOUND,
                ..Reply::ok(json!({"ok": false, "error": "unknown_method", "req_method": method}))
            };
        }
    };
    if let Err(e) = s.tokens.check(token, allowed) {
        return Reply::error(e.code());
    }
    let c = &shared.config;
    if method == "conversations.history"
        && let Some(limited) = rate_limit(s, c.history_min_interval, method, p)
    {
        return limited;
    }
    match method {
        "apps.connections.open" => {
            let ticket = s.tickets.issue(shared.now());
            let url = format!(
                "{}://{}/link/?ticket={ticket}&app_id={}",
                shared.ws_scheme(),
                shared.addr,
                c.app_id
            );
            Reply::ok(json!({"ok": true, "url": url}))
        }
        "auth.test" => Reply::ok(json!({
            "ok": true,
            "url": "https://phantom-sim.slack.com/",
            "team": "Phantom Sim",
            "user": "phantom",
            "team_id": c.team_id,
            "user_id": c.bot_user_id,
            "bot_id": c.bot_id,
            "is_enterprise_install": false,
        })),
        "conversations.open" => conversations_open(s, p),
        "chat.postMessage" => post_message(s, p),
        _ => history(s, p, c.history_page_limit),
    }
}

/// Slack's per-method, per-channel limit for non-Marketplace apps: a second call within
/// `min_interval` gets HTTP 429 with `Retry-After` (whole seconds, at least 1).
fn rate_limit(
    s: &mut State,
    min_interval: Option<Duration>,
    method: &str,
    p: &Params,
) -> Option<Reply> {
    let min_interval = min_interval?;
    let key = (method.to_string(), p.str("channel").unwrap_or_default());
    let now = s.now();
    if let Some(last) = s.last_limited_call.get(&key) {
        let wait = (*last + min_interval).saturating_sub(now);
        if !wait.is_zero() {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Some(Reply {
                status: StatusCode::TOO_MANY_REQUESTS,
                retry_after: Some(secs.max(1)),
                fault: Some("history rate limit".into()),
                ..Reply::error("ratelimited")
            });
        }
    }
    s.last_limited_call.insert(key, now);
    None
}

fn conversations_open(s: &mut State, p: &Params) -> Reply {
    if let Some(channel) = p.str("channel") {
        return match s.store.has_channel(&channel) {
            true => Reply::ok(json!({"ok": true, "no_op": true, "already_open": true,
                                     "channel": {"id": channel}})),
            false => Reply::error("channel_not_found"),
        };
    }
    match s.store.open_dm(&p.str("users").unwrap_or_default()) {
        Ok((id, true)) => Reply::ok(json!({"ok": true, "no_op": true, "already_open": true,
                                          "channel": {"id": id}})),
        Ok((id, false)) => Reply::ok(json!({"ok": true, "channel": {"id": id}})),
        Err(code) => Reply::error(code),
    }
}

fn post_message(s: &mut State, p: &Params) -> Reply {
    let Ok(metadata) = p.json("metadata") else {
        return Reply::error("invalid_metadata_format");
    };
    let channel = p.str("channel").unwrap_or_default();
    let text = p.str("text").unwrap_or_default();
    match s.store.post(unix_ms(), &channel, &text, metadata) {
        Ok(m) => {
            let message = s.store.message_json(&m, true);
            Reply::ok(json!({"ok": true, "channel": m.channel, "ts": m.ts, "message": message}))
        }
        Err(code) => Reply::error(code),
    }
}

fn history(s: &mut State, p: &Params, page_cap: usize) -> Reply {
    let q = HistoryQuery {
        limit: p.str("limit").and_then(|l| l.parse().ok()),
        cursor: p.str("cursor").filter(|c| !c.is_empty()),
        oldest: p.str("oldest"),
        latest: p.str("latest"),
        inclusive: p.flag("inclusive"),
        include_all_metadata: p.flag("include_all_metadata"),
    };
    let channel = p.str("channel").unwrap_or_default();
    match s.store.history(&channel, &q, page_cap) {
        Ok(body) => Reply::ok(body),
        Err(code) => Reply::error(code),
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// The effect already happened; the reply waits (the crash window between Slack's accept and
/// the client's stamp). If the client goes away first, the log says so.
async fn held_reply(
    shared: Arc<Shared>,
    method: String,
    reply: Reply,
    hold: Hold,
    mut release: watch::Receiver<u64>,
) -> Response {
    let started = Instant::now();
    let wait = match hold {
        Hold::UntilReleased => MAX_HOLD,
        Hold::For(d) => d.min(MAX_HOLD),
    };
    shared.with(|s| {
        s.log(Event::Control {
            action: "hold".into(),
            detail: format!("{method} reply held (effect applied)"),
        })
    });
    let mut guard = AbandonGuard {
        shared: shared.clone(),
        method: method.clone(),
        started,
        armed: true,
    };
    let released = async {
        if hold == Hold::UntilReleased {
            let _ = release.changed().await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let mut stop = shared.shutdown.subscribe();
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = released => {}
        _ = stop.wait_for(|s| *s) => {}
    }
    guard.armed = false;
    log_call(&shared, &method, &reply, Some(started.elapsed()));
    reply.into_response()
}

/// Logs a held call whose client went away before the reply.
struct AbandonGuard {
    shared: Arc<Shared>,
    method: String,
    started: Instant,
    armed: bool,
}

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        if self.armed {
            let held = millis(self.started.elapsed());
            let method = self.method.clone();
            self.shared.with(|s| {
                s.log(Event::Call {
                    method,
                    http_status: 0,
                    ok: false,
                    error: None,
                    fault: Some("client went away while the reply was held".into()),
                    held_ms: Some(held),
                })
            });
        }
    }
}

fn log_call(shared: &Shared, method: &str, reply: &Reply, held: Option<Duration>) {
    let (ok, error) = reply.summary();
    let lost = reply.body == ReplyBody::Lost;
    let event = Event::Call {
        method: method.to_string(),
        http_status: if lost { 0 } else { reply.status.as_u16() },
        ok,
        error,
        fault: reply.fault.clone(),
        held_ms: held.map(millis),
    };
    shared.with(|s| s.log(event));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_from_query_form_and_json() {
        let p = Params::parse(
            "conversations.history",
            Some("channel=C1&limit=5"),
            "application/x-www-form-urlencoded",
            b"include_all_metadata=1&token=xoxb-x",
        )
        .unwrap();
        assert_eq!(p.str("channel").as_deref(), Some("C1"));
        assert_eq!(p.str("limit").as_deref(), Some("5"));
        assert!(p.flag("include_all_metadata"));
        assert_eq!(p.body_token.as_deref(), Some("xoxb-x"));

        let meta = br#"{"channel":"D1","text":"hi","metadata":{"event_type":"x","event_payload":{}},"token":"t"}"#;
        let p = Params::parse(
            "chat.postMessage",
            None,
            "application/json; charset=utf-8",
            meta,
        )
        .unwrap();
        assert_eq!(p.json("metadata").unwrap().unwrap()["event_type"], "x");
        assert_eq!(
            p.body_token, None,
            "JSON bodies need the Authorization header"
        );

        let form = b"metadata=%7B%22event_type%22%3A%22x%22%7D";
        let p = Params::parse("chat.postMessage", None, "", form).unwrap();
        assert_eq!(p.json("metadata").unwrap().unwrap()["event_type"], "x");
    }

    #[test]
    fn json_bodies_are_ignored_by_read_methods_and_checked_by_write_methods() {
        let p = Params::parse(
            "conversations.history",
            None,
            "application/json",
            br#"{"channel":"C1"}"#,
        )
        .unwrap();
        assert_eq!(p.str("channel"), None);
        let bad = Params::parse("chat.postMessage", None, "application/json", b"[1]");
        assert_eq!(bad.err(), Some("invalid_json"));
    }

    #[test]
    fn query_string_tokens_are_not_accepted() {
        let p = Params::parse("auth.test", Some("token=xoxb-1"), "", b"").unwrap();
        assert_eq!(p.body_token, None);
        assert_eq!(p.str("token"), None);
    }

    #[test]
    fn fault_replies_have_slack_shapes() {
        let real = Reply::ok(json!({"ok": true, "channel": "D1", "ts": "1.000001", "message": {}}));
        let r = Reply::from_fault(&ApiFault::ok_without_ts(), real);
        assert_eq!(
            r.body,
            ReplyBody::Json(json!({"ok": true, "channel": "D1"}))
        );
        let r = Reply::from_fault(&ApiFault::rate_limited(7), Reply::error("x"));
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.retry_after, Some(7));
        assert_eq!(r.summary(), (false, Some("ratelimited".into())));
        let r = Reply::from_fault(&ApiFault::status(503), Reply::error("x"));
        assert_eq!(r.status.as_u16(), 503);
        assert!(matches!(r.body, ReplyBody::Text(_)));
    }
}
