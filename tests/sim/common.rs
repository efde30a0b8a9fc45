//! Test clients for the simulator: ureq for the Web API and the control API (in
//! `spawn_blocking`), tokio-tungstenite for the links. Every wait is bounded.

use futures_util::{SinkExt, StreamExt};
use phantom_fsm::sim::{SimConfig, SimHandle};
use serde_json::Value;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Bound of every wait in these tests.
pub const WAIT: Duration = Duration::from_secs(15);

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A simulator with no default traffic.
pub async fn start_quiet() -> SimHandle {
    start(quiet()).await
}

pub fn quiet() -> SimConfig {
    SimConfig {
        rate: 0.0,
        ..SimConfig::default()
    }
}

pub async fn start(config: SimConfig) -> SimHandle {
    SimHandle::start(config).await.expect("simulator starts")
}

/// A Web API request body.
pub enum Body {
    Empty,
    Form(Vec<(&'static str, String)>),
    Json(Value),
}

/// An HTTP reply, whatever its status.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub content_type: String,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

/// POST to `url` with an optional Bearer token.
pub async fn post(url: String, token: Option<String>, body: Body) -> Reply {
    tokio::task::spawn_blocking(move || post_blocking(&url, token.as_deref(), body, WAIT))
        .await
        .expect("request task")
        .expect("request completes")
}

/// The blocking request, with a client timeout.
pub fn post_blocking(
    url: &str,
    token: Option<&str>,
    body: Body,
    timeout: Duration,
) -> Result<Reply, ureq::Error> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into();
    let mut req = agent.post(url);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let resp = match body {
        Body::Empty => req.send_empty(),
        Body::Form(pairs) => req.send_form(pairs.iter().map(|(k, v)| (*k, v.as_str()))),
        Body::Json(v) => req.send_json(v),
    }?;
    into_reply(resp)
}

pub async fn get(url: String) -> Reply {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(WAIT))
            .build()
            .into();
        into_reply(agent.get(&url).call()?)
    })
    .await
    .expect("request task")
    .expect("request completes")
}

fn into_reply(mut resp: ureq::http::Response<ureq::Body>) -> Result<Reply, ureq::Error> {
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let retry_after = header("retry-after");
    let content_type = header("content-type").unwrap_or_default();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string()?;
    Ok(Reply {
        status,
        retry_after,
        content_type,
        text,
    })
}

/// Call a Web API method.
pub async fn api(sim: &SimHandle, method: &str, token: Option<&str>, body: Body) -> Reply {
    post(
        format!("{}{method}", sim.api_url()),
        token.map(str::to_string),
        body,
    )
    .await
}

/// Call a Web API method with the bot token and a form body.
pub async fn bot(sim: &SimHandle, method: &str, form: &[(&'static str, &str)]) -> Value {
    let form = form.iter().map(|(k, v)| (*k, v.to_string())).collect();
    api(sim, method, Some(sim.bot_token()), Body::Form(form))
        .await
        .json()
}

/// POST to the control API.
pub async fn control(sim: &SimHandle, path: &str, body: Value) -> Reply {
    post(
        format!("{}{path}", sim.control_url()),
        None,
        Body::Json(body),
    )
    .await
}

/// A fresh `ws://` URL from `apps.connections.open`.
pub async fn open_url(sim: &SimHandle) -> String {
    let reply = api(
        sim,
        "apps.connections.open",
        Some(sim.app_token()),
        Body::Empty,
    )
    .await;
    let v = reply.json();
    assert_eq!(v["ok"], true, "{v}");
    v["url"].as_str().expect("url").to_string()
}

/// Open a link and read its `hello`.
pub async fn connect(sim: &SimHandle) -> (Ws, Value) {
    let url = open_url(sim).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket connects");
    let hello = next_text(&mut ws).await;
    assert_eq!(hello["type"], "hello", "{hello}");
    (ws, hello)
}

/// The next frame (pings and pongs included), or `None` when the link ended.
pub async fn next_frame(ws: &mut Ws) -> Option<Message> {
    match tokio::time::timeout(WAIT, ws.next()).await {
        Ok(Some(Ok(m))) => Some(m),
        Ok(_) => None,
        Err(_) => panic!("no frame within {WAIT:?}"),
    }
}

/// The next text frame as JSON, skipping pings and pongs.
pub async fn next_text(ws: &mut Ws) -> Value {
    loop {
        match next_frame(ws).await {
            Some(Message::Text(t)) => {
                return serde_json::from_str(t.as_str()).expect("server text is JSON");
            }
            Some(Message::Ping(_) | Message::Pong(_)) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Every frame until the link ends.
pub async fn read_until_end(ws: &mut Ws) -> Vec<Message> {
    let mut frames = Vec::new();
    while let Some(m) = next_frame(ws).await {
        frames.push(m);
    }
    frames
}

/// Ack as Slack's Python client does: `{"envelope_id": ...}`.
pub async fn ack(ws: &mut Ws, envelope_id: &str) {
    let text = serde_json::json!({ "envelope_id": envelope_id }).to_string();
    ws.send(Message::text(text)).await.expect("ack sent");
}
