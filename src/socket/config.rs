//! Timings and limits of the Socket Mode machine. Every field has the documented default.

use std::time::Duration;

/// Socket Mode machine configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketConfig {
    /// How long a new link may take to send `hello` after the open command (default 10 s).
    pub hello_timeout: Duration,
    /// Interval between client pings on the active link (default 5 s).
    pub ping_interval: Duration,
    /// How long after a ping a frame of any kind must arrive (default 5 s).
    pub pong_timeout: Duration,
    /// How long a replaced link keeps acking and dispatching after a handover (default 1 s).
    pub drain_grace: Duration,
    /// How long to wait for the peer to answer a close frame before dropping (default 2 s).
    pub close_grace: Duration,
    /// How long an `apps.connections.open` call may go unanswered before it counts as a
    /// transient failure (default 15 s).
    pub open_timeout: Duration,
    /// Backoff base (default 1 s).
    pub backoff_base: Duration,
    /// Backoff cap (default 30 s).
    pub backoff_cap: Duration,
    /// A link that stayed connected this long resets the backoff (default 60 s).
    pub backoff_reset_after: Duration,
    /// Re-probe interval in `error` (default 5 min).
    pub reprobe_interval: Duration,
    /// How long a dedupe key is remembered (default 1 h).
    pub dedupe_ttl: Duration,
    /// Most dedupe keys held; the oldest are evicted first (default 100,000).
    pub dedupe_capacity: usize,
    /// Largest accepted text frame in bytes (default 1 MiB).
    pub max_frame_bytes: usize,
    /// The embedder registered a responder: envelopes with `accepts_response_payload` are
    /// dispatched first and acked with the handler's [`Input::Respond`] (default off).
    ///
    /// [`Input::Respond`]: super::Input::Respond
    pub responder: bool,
    /// How long after receipt a deferred ack waits for the handler's response before it goes
    /// out without one (default 2.5 s; Slack's limit is 3 s).
    pub ack_deadline: Duration,
    /// Unfinished dispatches beyond which a new `events_api` envelope is shed: neither acked
    /// nor dispatched, so Slack re-delivers it later (default 1,000).
    pub max_pending: usize,
    /// Ask Slack for short (360 s) link lifetimes to rehearse handovers: adds
    /// `debug_reconnects=true` to every link URL (default off).
    pub debug_reconnects: bool,
    /// Seed of the jitter RNG (the shell passes a random seed; tests pass a fixed one).
    pub seed: u64,
}

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig {
            hello_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(5),
            pong_timeout: Duration::from_secs(5),
            drain_grace: Duration::from_secs(1),
            close_grace: Duration::from_secs(2),
            open_timeout: Duration::from_secs(15),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(30),
            backoff_reset_after: Duration::from_secs(60),
            reprobe_interval: Duration::from_secs(300),
            dedupe_ttl: Duration::from_secs(3600),
            dedupe_capacity: 100_000,
            max_frame_bytes: super::wire::DEFAULT_MAX_FRAME_BYTES,
            responder: false,
            ack_deadline: Duration::from_millis(2_500),
            max_pending: 1_000,
            debug_reconnects: false,
            seed: 0x5eed,
        }
    }
}
