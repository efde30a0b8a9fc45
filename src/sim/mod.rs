//! A faithful Slack double on 127.0.0.1: the Web API methods phantom-fsm uses and the Socket
//! Mode wire protocol, with scripted traffic and faults. Used by `phantom-fsm sim`, the demo,
//! the runtime's tests and the benchmarks. See `docs/simulator.md`.
//!
//! Start one with [`SimHandle::start`], point a client at [`SimHandle::api_url`] with
//! [`SimHandle::app_token`] / [`SimHandle::bot_token`], then script it (traffic, link faults,
//! Web API faults) and read what happened from its log.
//!
//! ```no_run
//! # async fn demo() -> Result<(), phantom_fsm::sim::SimError> {
//! use phantom_fsm::sim::{ApiFault, SimConfig, SimHandle, Target};
//! use std::time::Duration;
//!
//! let sim = SimHandle::start(SimConfig { rate: 0.0, ..SimConfig::default() }).await?;
//! println!("point the client at {}", sim.api_url());
//! // ... start the client; wait until it is connected:
//! sim.wait_until(Duration::from_secs(10), || sim.links().iter().any(|l| l.ready)).await?;
//! sim.push_now(3, Default::default(), Target::All);
//! sim.wait_until(Duration::from_secs(10), || sim.acks().len() >= 3).await?;
//! sim.disconnect(Target::All, "refresh_requested", Some(Duration::from_secs(10)));
//! sim.fail_next("chat.postMessage", 1, ApiFault::status(500).after_effect())?;
//! # Ok(()) }
//! ```
//!
//! Time is real time (this is an IO shell); the decisions (ack deadlines and re-delivery,
//! tokens and tickets, message storage, fault queues, envelope generation) live in pure
//! modules with their own tests.

mod ack_payload;
mod auth;
mod control;
mod deliveries;
mod faults;
mod listener;
mod log;
mod ops;
mod server;
mod socket;
mod state;
mod store;
mod traffic;
mod web_api;

pub use deliveries::{RetryIds, SLACK_RETRY_SCHEDULE};
pub use faults::{ApiFault, FaultReply, Hold, MAX_HOLD, Malformed, OVERSIZE_BYTES};
pub use log::{AckOutcome, CloseCause, Event, LOG_CAPACITY, LinkId, LogFilter, LogRecord};
pub use state::{LinkInfo, Target};
pub use store::StoredMessage;
pub use traffic::TrafficKind;

use crate::socket::wire::Envelope;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use state::Shared;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The app-level token the simulator accepts by default (not a secret: a simulator constant).
pub const DEFAULT_APP_TOKEN: &str = "xapp-1-A0SIMAPP01-1-simulated";
/// The bot token the simulator accepts by default (not a secret: a simulator constant).
pub const DEFAULT_BOT_TOKEN: &str = "xoxb-0-0-simulated";
/// Most envelopes one push may ask for.
pub const MAX_PUSH: u32 = 100_000;
/// How long a link that ended without a close handshake stays registered by default.
pub const DEFAULT_GHOST_TTL: Duration = Duration::from_secs(120);
/// `conversations.history` page cap by default (Slack's, for non-Marketplace apps).
pub const DEFAULT_HISTORY_PAGE_LIMIT: usize = 15;

/// How the simulated Slack behaves. `Default` is what `phantom-fsm sim` runs.
#[derive(Clone)]
pub struct SimConfig {
    /// Where to listen: a loopback address (port 0 = a free port).
    pub listen: SocketAddr,
    /// Default traffic: envelopes per second on every open link (0 = none until pushed).
    pub rate: f64,
    /// What default traffic carries.
    pub traffic_kind: TrafficKind,
    /// The app-level token `apps.connections.open` accepts.
    pub app_token: String,
    /// The bot token the other methods accept.
    pub bot_token: String,
    /// `connection_info.app_id`, `api_app_id`.
    pub app_id: String,
    /// The workspace id (`auth.test` `team_id`).
    pub team_id: String,
    /// The bot's user id (`auth.test` `user_id`).
    pub bot_user_id: String,
    /// The bot id (`auth.test` `bot_id`).
    pub bot_id: String,
    /// The public channel events come from (it also accepts posts).
    pub channel_id: String,
    /// The person who mentions the bot in generated events.
    pub human_user_id: String,
    /// Slack's ack deadline (3 s).
    pub ack_timeout: Duration,
    /// Delays before each retry of an undelivered or unacked event; its length is the number
    /// of retries (Slack: [`SLACK_RETRY_SCHEDULE`], immediately, ~1 min, ~5 min).
    pub retry_schedule: Vec<Duration>,
    /// Factor applied to [`retry_schedule`](Self::retry_schedule) (1.0 = Slack's; tests
    /// shorten it, e.g. 0.01 makes 1 min 600 ms).
    pub retry_scale: f64,
    /// Which envelope id a retry carries.
    pub retry_envelope_ids: RetryIds,
    /// How long a link that ended without a close handshake stays registered as a ghost
    /// (counting toward the cap and `num_connections`, swallowing envelopes). Zero: never.
    pub ghost_ttl: Duration,
    /// How often the server pings each link.
    pub ping_interval: Duration,
    /// Links per app before `too_many_websockets` (Slack: 10).
    pub max_links: usize,
    /// Default delay between a `disconnect` frame and the cut of the link (Slack: ~10 s).
    pub disconnect_cut_after: Duration,
    /// Slack's periodic refresh: after this long a link is refreshed in
    /// [`refresh_style`](Self::refresh_style). `None`: never.
    pub refresh_after: Option<Duration>,
    /// How the periodic refresh comes.
    pub refresh_style: RefreshStyle,
    /// Most messages one `conversations.history` page returns, whatever `limit` asks (Slack:
    /// 15 for apps not approved for the Marketplace).
    pub history_page_limit: usize,
    /// Least time between two `conversations.history` calls for one channel; a call sooner
    /// gets HTTP 429 with `Retry-After` (Slack: about a minute for non-Marketplace apps).
    /// `None`: no limit.
    pub history_min_interval: Option<Duration>,
    /// Default bound of a silenced link (after which the simulator drops it).
    pub silence_limit: Duration,
    /// Seed of every id the simulator makes.
    pub seed: u64,
    /// Serve `https://` and `wss://` with this certificate instead of `http://` and `ws://`.
    pub tls: Option<SimTls>,
}

/// The simulator's TLS identity: a PEM certificate chain (leaf first) and its PEM private
/// key. The leaf must name the address clients use (e.g. IP `127.0.0.1`).
#[derive(Clone)]
pub struct SimTls {
    /// PEM `CERTIFICATE` blocks, the server's own first.
    pub cert_chain_pem: String,
    /// A PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_pem: String,
}

impl fmt::Debug for SimTls {
    /// The key is redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimTls")
            .field("cert_chain_pem", &self.cert_chain_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            rate: 1.0,
            traffic_kind: TrafficKind::EventsApi,
            app_token: DEFAULT_APP_TOKEN.into(),
            bot_token: DEFAULT_BOT_TOKEN.into(),
            app_id: "A0SIMAPP01".into(),
            team_id: "T0SIMTEAM1".into(),
            bot_user_id: "U0SIMBOT01".into(),
            bot_id: "B0SIMBOT01".into(),
            channel_id: "C0SIMCHAN1".into(),
            human_user_id: "U0SIMUSER1".into(),
            ack_timeout: Duration::from_secs(3),
            retry_schedule: SLACK_RETRY_SCHEDULE.to_vec(),
            retry_scale: 1.0,
            retry_envelope_ids: RetryIds::default(),
            ghost_ttl: DEFAULT_GHOST_TTL,
            ping_interval: Duration::from_secs(10),
            max_links: 10,
            disconnect_cut_after: Duration::from_secs(10),
            refresh_after: None,
            refresh_style: RefreshStyle::Warning,
            history_page_limit: DEFAULT_HISTORY_PAGE_LIMIT,
            history_min_interval: None,
            silence_limit: Duration::from_secs(60),
            seed: 1,
            tls: None,
        }
    }
}

impl fmt::Debug for SimConfig {
    /// Tokens are redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("listen", &self.listen)
            .field("rate", &self.rate)
            .field("traffic_kind", &self.traffic_kind)
            .field("app_token", &"<redacted>")
            .field("bot_token", &"<redacted>")
            .field("app_id", &self.app_id)
            .field("team_id", &self.team_id)
            .field("ack_timeout", &self.ack_timeout)
            .field("retry_schedule", &self.retry_schedule)
            .field("retry_scale", &self.retry_scale)
            .field("retry_envelope_ids", &self.retry_envelope_ids)
            .field("ghost_ttl", &self.ghost_ttl)
            .field("refresh_style", &self.refresh_style)
            .field("history_page_limit", &self.history_page_limit)
            .field("history_min_interval", &self.history_min_interval)
            .field("ping_interval", &self.ping_interval)
            .field("max_links", &self.max_links)
            .field("disconnect_cut_after", &self.disconnect_cut_after)
            .field("refresh_after", &self.refresh_after)
            .field("silence_limit", &self.silence_limit)
            .field("seed", &self.seed)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl SimConfig {
    /// [`retry_schedule`](Self::retry_schedule) times [`retry_scale`](Self::retry_scale).
    pub fn scaled_retry_delays(&self) -> Vec<Duration> {
        let scale = if self.retry_scale.is_finite() {
            self.retry_scale.max(0.0)
        } else {
            1.0
        };
        self.retry_schedule
            .iter()
            .map(|d| d.mul_f64(scale))
            .collect()
    }
}

/// How a refresh comes (Slack uses all three).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshStyle {
    /// `disconnect` `warning`, then the cut (close frame) some seconds later.
    #[default]
    Warning,
    /// `disconnect` `refresh_requested` with no warning first, then the cut.
    RefreshRequested,
    /// The connection just ends, with a TCP reset: no `disconnect`, no close frame (the link
    /// becomes a ghost).
    Reset,
}

/// What can go wrong driving the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The simulator only listens on loopback addresses.
    #[error("the simulator listens on loopback addresses only, not {0}")]
    NotLoopback(SocketAddr),
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A request to the simulator was out of bounds (caller's fault).
    #[error("invalid request: {0}")]
    InvalidArgument(String),
    /// The TLS certificate or key could not be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// A wait ended before its condition held.
    #[error("condition not met within {0:?}")]
    Timeout(Duration),
}

/// One ack, as the log recorded it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AckRecord {
    /// The link it came in on.
    pub link: LinkId,
    /// The acked envelope id.
    pub envelope_id: String,
    /// Microseconds from the envelope written to the ack read.
    pub latency_us: u64,
    /// How it was counted.
    pub outcome: AckOutcome,
    /// The ack's `payload`, as received.
    pub payload: Option<Value>,
    /// What is wrong with that payload for its envelope, if anything.
    pub payload_error: Option<String>,
}

/// A running simulator. Dropping it stops the simulator (as [`shutdown`](Self::shutdown)
/// does, without waiting).
#[derive(Debug)]
pub struct SimHandle {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// Listen on `config.listen` (loopback only) and serve.
    pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        let (shared, tasks) = server::start(config).await?;
        Ok(SimHandle { shared, tasks })
    }

    /// `http://127.0.0.1:PORT/api/` (`https://` with [`SimConfig::tls`]): the Web API base
    /// URL (with the trailing slash).
    pub fn api_url(&self) -> String {
        self.shared.api_url()
    }

    /// `http://127.0.0.1:PORT/_sim/` (`https://` with [`SimConfig::tls`]): the control API.
    pub fn control_url(&self) -> String {
        format!("{}://{}/_sim/", self.shared.http_scheme(), self.shared.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// The app-level token it accepts.
    pub fn app_token(&self) -> &str {
        &self.shared.config.app_token
    }

    /// The bot token it accepts.
    pub fn bot_token(&self) -> &str {
        &self.shared.config.bot_token
    }

    /// The open links.
    pub fn links(&self) -> Vec<LinkInfo> {
        self.shared.with(|s| s.links())
    }

    /// Change the default traffic rate (envelopes/s per link; 0 stops it).
    pub fn set_rate(&self, rate: f64) -> Result<(), SimError> {
        self.shared.set_rate(rate)
    }

    /// Send `count` fresh envelopes of `kind` now, round robin over `target`'s links. With
    /// no link open they are undeliverable, as with Slack: events are retried later, the
    /// rest lost. Returns their envelope ids.
    pub fn push_now(&self, count: u32, kind: TrafficKind, target: Target) -> Vec<String> {
        self.shared.push_now(count.min(MAX_PUSH), kind, target)
    }

    /// Send `count` envelopes of `kind` spread at `rate` per second, in the background.
    pub fn push_at_rate(
        &self,
        count: u32,
        rate: f64,
        kind: TrafficKind,
        target: Target,
    ) -> Result<(), SimError> {
        self.shared.push_at_rate(count, rate, kind, target)
    }

    /// A fresh realistic envelope (not sent): tweak it and [`send`](Self::send) it.
    pub fn make_envelope(&self, kind: TrafficKind) -> Envelope {
        self.shared.with(|s| s.make_envelope(kind))
    }

    /// Send this envelope (as is) to `target`.
    pub fn send(&self, envelope: Envelope, target: Target) {
        self.shared.dispatch(envelope, target);
    }

    /// Send `{"type":"disconnect","reason":reason}` and cut the link `cut_after` later
    /// (`None`: never). Returns how many links took it.
    pub fn disconnect(&self, target: Target, reason: &str, cut_after: Option<Duration>) -> usize {
        self.shared.disconnect(target, reason, cut_after)
    }

    /// Drop the TCP connection without a close frame (the client reads end of stream).
    pub fn drop_link(&self, target: Target) -> usize {
        self.shared.drop_link(target)
    }

    /// End the TCP connection with a reset (RST) instead of a FIN: no close frame, and the
    /// client's next read or write fails with "connection reset". The link becomes a ghost.
    pub fn reset_link(&self, target: Target) -> usize {
        self.shared.reset_link(target)
    }

    /// Refresh links in `style`; a disconnect is followed by the cut after `cut_after`
    /// (default [`SimConfig::disconnect_cut_after`]). Returns how many links took it.
    pub fn refresh(
        &self,
        target: Target,
        style: RefreshStyle,
        cut_after: Option<Duration>,
    ) -> usize {
        self.shared.refresh(target, style, cut_after)
    }

    /// Envelopes Slack gave up on so far, by type (`events_api`, `slash_commands`,
    /// `interactive`).
    pub fn lost(&self) -> BTreeMap<String, u64> {
        self.shared.with(|s| s.lost())
    }

    /// Store `count` messages from a person (`user`, default: the DM's other member, or
    /// [`SimConfig::human_user_id`]) in `channel`, as if they typed them. Returns their `ts`.
    pub fn post_human_messages(
        &self,
        channel: &str,
        count: u32,
        user: Option<&str>,
    ) -> Result<Vec<String>, SimError> {
        self.shared.post_human_messages(channel, count, user)
    }

    /// Total silence: no frames, no pongs, nothing read, for `limit` (default
    /// [`SimConfig::silence_limit`]); then the simulator drops the link.
    pub fn silence(&self, target: Target, limit: Option<Duration>) -> usize {
        self.shared.silence(target, limit)
    }

    /// Never answer the client's close frame on these links.
    pub fn ignore_close(&self, target: Target) -> usize {
        self.shared.ignore_close(target)
    }

    /// Send a malformed frame.
    pub fn send_malformed(&self, target: Target, kind: Malformed) -> usize {
        self.shared.send_malformed(target, kind)
    }

    /// Answer the next `count` calls of `method` with `fault`.
    pub fn fail_next(&self, method: &str, count: u32, fault: ApiFault) -> Result<(), SimError> {
        self.shared.fail_next(method, count, fault)
    }

    /// Apply the next `count` calls of `method` but hold their replies.
    pub fn hold_next(&self, method: &str, count: u32, hold: Hold) -> Result<(), SimError> {
        self.shared.hold_next(method, count, hold)
    }

    /// Let every reply held with [`Hold::UntilReleased`] go now.
    pub fn release_held(&self) {
        self.shared.release_held();
    }

    /// Forget queued Web API faults and holds.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// Revoke the app-level token: `apps.connections.open` answers `token_revoked`.
    pub fn revoke_app_token(&self) {
        self.shared.revoke(auth::TokenKind::App);
    }

    /// Revoke the bot token: the other methods answer `token_revoked`.
    pub fn revoke_bot_token(&self) {
        self.shared.revoke(auth::TokenKind::Bot);
    }

    /// The messages stored in `channel`, oldest first.
    pub fn messages(&self, channel: &str) -> Vec<StoredMessage> {
        self.shared.with(|s| s.store.messages(channel))
    }

    /// Log records after `since` (a `seq`) matching `filter`.
    pub fn log(&self, since: u64, filter: &LogFilter) -> Vec<LogRecord> {
        self.shared.with(|s| s.log.query(since, usize::MAX, filter))
    }

    /// The `seq` of the newest log record (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.shared.with(|s| s.log.last_seq())
    }

    /// Every ack in the log.
    pub fn acks(&self) -> Vec<AckRecord> {
        self.shared.acks()
    }

    /// Wait until `cond` holds, re-checking whenever the log grows, at most `timeout`.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut cond: impl FnMut() -> bool,
    ) -> Result<(), SimError> {
        self.wait_for(timeout, || cond().then_some(())).await
    }

    /// Wait until `probe` returns a value, re-checking whenever the log grows.
    pub async fn wait_for<T>(
        &self,
        timeout: Duration,
        mut probe: impl FnMut() -> Option<T>,
    ) -> Result<T, SimError> {
        let mut changes = self.shared.subscribe_log();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            changes.borrow_and_update();
            if let Some(v) = probe() {
                return Ok(v);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return probe().ok_or(SimError::Timeout(timeout)),
            }
        }
    }

    /// Stop: close frames to every link, stop listening, wait for the tasks.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.send_replace(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
    }
}
