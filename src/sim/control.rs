//! The control API under `/_sim/` (JSON), for scripts: the same actions as
//! [`SimHandle`](super::SimHandle). Documented in `docs/simulator.md`.

use super::auth::TokenKind;
use super::faults::{ApiFault, Hold, Malformed};
use super::log::{LinkId, LogFilter};
use super::state::{Shared, Target};
use super::traffic::TrafficKind;
use super::{MAX_PUSH, RefreshStyle, SimError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

type Shd = State<Arc<Shared>>;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/state", get(state))
        .route("/log", get(log))
        .route("/messages", get(messages))
        .route("/push", post(push))
        .route("/rate", post(rate))
        .route("/disconnect", post(disconnect))
        .route("/acks", get(acks))
        .route("/refresh", post(refresh))
        .route("/human_messages", post(human_messages))
        .route("/drop", post(link_action))
        .route("/reset", post(link_action))
        .route("/ignore_close", post(link_action))
        .route("/silence", post(silence))
        .route("/malformed", post(malformed))
        .route("/fail", post(fail))
        .route("/hold", post(hold))
        .route("/release", post(release))
        .route("/clear_faults", post(clear_faults))
        .route("/revoke", post(revoke))
}

async fn state(State(shared): Shd) -> Response {
    let (links, pending, scheduled, lost, last_seq) = shared.with(|s| {
        (
            s.links(),
            s.deliveries.pending_count(),
            s.deliveries.scheduled_count(),
            s.lost(),
            s.log.last_seq(),
        )
    });
    ok(json!({
        "api_url": shared.api_url(),
        "links": links,
        "pending_acks": pending,
        "scheduled_retries": scheduled,
        "lost": lost,
        "rate": *shared.rate.borrow(),
        "last_seq": last_seq,
    }))
}

#[derive(Debug, Deserialize)]
struct LogQuery {
    kind: Option<String>,
    link: Option<u64>,
    #[serde(default)]
    since: u64,
    limit: Option<usize>,
}

async fn log(State(shared): Shd, Query(q): Query<LogQuery>) -> Response {
    let filter = LogFilter {
        kind: q.kind,
        link: q.link.map(LinkId),
    };
    let limit = q.limit.unwrap_or(10_000);
    let (records, last_seq, dropped) = shared.with(|s| {
        (
            s.log.query(q.since, limit, &filter),
            s.log.last_seq(),
            s.log.dropped(),
        )
    });
    ok(json!({"records": records, "last_seq": last_seq, "dropped": dropped}))
}

/// Every ack so far, with its payload and what is wrong with it.
async fn acks(State(shared): Shd) -> Response {
    ok(json!({"acks": shared.acks()}))
}

#[derive(Debug, Deserialize)]
struct RefreshReq {
    #[serde(default)]
    style: RefreshStyle,
    link: Option<Value>,
    cut_after_ms: Option<u64>,
}

async fn refresh(State(shared): Shd, body: Bytes) -> Response {
    run(|| {
        let req: RefreshReq = parse_or_default(&body)?;
        let cut_after = req.cut_after_ms.map(Duration::from_millis);
        Ok(json!({"links": shared.refresh(target(req.link)?, req.style, cut_after)}))
    })
}

#[derive(Debug, Deserialize)]
struct HumanReq {
    channel: String,
    #[serde(default = "one")]
    count: u32,
    user: Option<String>,
}

async fn human_messages(State(shared): Shd, body: Bytes) -> Response {
    run(|| {
        let req: HumanReq = parse(&body)?;
        let ts = shared.post_human_messages(&req.channel, req.count, req.user.as_deref())?;
        Ok(json!({"ts": ts}))
    })
}

#[derive(Debug, Deserialize)]
struct ChannelQuery {
    channel: String,
}

async fn messages(State(shared): Shd, Query(q): Query<ChannelQuery>) -> Response {
    let messages = shared.with(|s| s.store.messages(&q.channel));
    ok(json!({"messages": messages}))
}

#[derive(Debug, Deserialize)]
struct PushReq {
    count: u32,
    rate: Option<f64>,
    #[serde(default)]
    kind: TrafficKind,
    link: Option<Value>,
}

async fn push(State(shared): Shd, body: Bytes) -> Response {
    run(|| {
        let req: PushReq = parse(&body)?;
        let target = target(req.link)?;
        if req.count > MAX_PUSH {
            return Err(SimError::InvalidArgument(format!("count over {MAX_PUSH}")));
        }
        match req.rate {
            Some(rate) if rate > 0.0 => {
                shared.push_at_rate(req.count, rate, req.kind, target)?;
                Ok(json!({"scheduled": req.count}))
            }
            _ => Ok(json!({"envelope_ids": shared.push_now(req.count, req.kind, target)})),
        }
    })
}

#[derive(Debug, Deserialize)]
struct RateReq {
    rate: f64,
}

async fn rate(State(shared): Shd, body: Bytes) -> Response {
    run(|| {
        let req: RateReq = parse(&body)?;
        shared.set_rate(req.rate)?;
        Ok(json!({"rate": req.rate}))
    })
}

#[derive(Debug, Deserialize)]
struct DisconnectReq {
    reason: String,
    link: Option<Value>,
    cut_after_ms: Option<u64>,
    #[serde(default)]
    never_cut: bool,
}

async fn disconnect(State(shared): Shd, body: Bytes) -> Response {
    run(|| {
        let req: DisconnectReq = parse(&body)?;
        let cut_after = match (req.never_cut, req.cut_after_ms) {
            (true, _) => None,
            (false, Some(ms)) => Some(Duration::from_millis(ms)),
            (false, None) => Some(shared.config.disconnect_cut_after),
        };
        let n = shared.disconnect(target(req.link)?, &req.reason, cut_after);
        Ok(json!({"links": n}))
    })
}

#[derive(Debug, Deserialize)]
struct LinkReq {
    link: Option<Value>,
}

/// `/drop`, `/reset` and `/ignore_close`, told apart by the path.
async fn link_action(State(shared): Shd, uri: axum::http::Uri, body: Bytes) -> Response {
    run(|| {
        let req: LinkReq = parse_or_default(&body)?;
        let target = target(req.link)?;
        let path = uri.path();
        let n = if path.ends_with("/drop") {
            shared.drop_link(target)
        } else if path.ends_with("/reset") {
            shared.reset_link(target)
        } else {
            shared.ignore_close(target)
        };
        Ok(json!({"links": n}))
    })
}

#[derive(Debug, Deserialize)]
struct SilenceReq {
    link: Option<Value>,
    for_ms: Option<u64>,
}

async fn silence(State(shared): Shd, body: Bytes) -> Response {
    run(|| {
        let req: SilenceReq = parse_or_default(&body)?;
        let n = shared.silence(target(req.link)?, req.for_ms.map(Duration::from_millis));
        Ok(json!({"links": n}))
    })
}

#[derive(Debug, Deserialize)]
struct MalformedReq {
    link: Option<Value>,
    kind: Malformed,
}

async fn malformed(State(shared): Shd, body: Bytes) -> Response {
    run(|| {
        let req: MalformedReq = parse(&body)?;
        Ok(json!({"links": shared.send_malformed(target(req.link)?, req.kind)}))
    })
}

#[derive(Debug, Deserialize)]
struct FailReq {
    method: String,
    #[serde(default = "one")]
    count: u32,
    #[serde(flatten)]
    fault: ApiFault,
}

async fn fail(State(shared): Shd, body: Bytes) -> Response {
    run(|| {
        let req: FailReq = parse(&body)?;
        shared.fail_next(&req.method, req.count, req.fault)?;
        Ok(json!({}))
    })
}

#[derive(Debug, Deserialize)]
struct HoldReq {
    #[serde(default = "post_message")]
    method: String,
    #[serde(default = "one")]
    count: u32,
    delay_ms: Option<u64>,
}

async fn hold(State(shared): Shd, body: Bytes) -> Response {
    run(|| {
        let req: HoldReq = parse_or_default(&body)?;
        let hold = req.delay_ms.map_or(Hold::UntilReleased, |ms| {
            Hold::For(Duration::from_millis(ms))
        });
        shared.hold_next(&req.method, req.count, hold)?;
        Ok(json!({}))
    })
}

async fn release(State(shared): Shd) -> Response {
    shared.release_held();
    ok(json!({}))
}

async fn clear_faults(State(shared): Shd) -> Response {
    shared.clear_faults();
    ok(json!({}))
}

#[derive(Debug, Deserialize)]
struct RevokeReq {
    token: String,
}

async fn revoke(State(shared): Shd, body: Bytes) -> Response {
    run(|| {
        let req: RevokeReq = parse(&body)?;
        let kind = match req.token.as_str() {
            "app" => TokenKind::App,
            "bot" => TokenKind::Bot,
            other => {
                return Err(SimError::InvalidArgument(format!(
                    "token must be \"app\" or \"bot\", not {other:?}"
                )));
            }
        };
        shared.revoke(kind);
        Ok(json!({}))
    })
}

/// `"link"`: absent or `"all"` → every link; `"newest"`; or a link number.
fn target(link: Option<Value>) -> Result<Target, SimError> {
    match link {
        None | Some(Value::Null) => Ok(Target::All),
        Some(Value::Number(n)) if n.as_u64().is_some() => {
            Ok(Target::Link(LinkId(n.as_u64().unwrap_or_default())))
        }
        Some(Value::String(s)) if s == "all" => Ok(Target::All),
        Some(Value::String(s)) if s == "newest" => Ok(Target::Newest),
        Some(other) => Err(SimError::InvalidArgument(format!(
            "link must be a number, \"newest\" or \"all\", not {other}"
        ))),
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, SimError> {
    serde_json::from_slice(body).map_err(|e| SimError::InvalidArgument(e.to_string()))
}

fn parse_or_default<T: DeserializeOwned>(body: &[u8]) -> Result<T, SimError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        parse(b"{}")
    } else {
        parse(body)
    }
}

fn run(f: impl FnOnce() -> Result<Value, SimError>) -> Response {
    match f() {
        Ok(v) => ok(v),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"ok": false, "error": e.to_string()})),
        )
            .into_response(),
    }
}

fn ok(mut v: Value) -> Response {
    v["ok"] = json!(true);
    axum::Json(v).into_response()
}

fn one() -> u32 {
    1
}

fn post_message() -> String {
    "chat.postMessage".into()
}
