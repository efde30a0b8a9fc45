//! The tokio shell around the pure machines: it owns the clock, the sockets and the disk, feeds
//! the machines their inputs, and drains their outputs to the observers (metrics, status,
//! journal, logs).
//!
//! - [`Runtime`]: the embedding API (one tenant's Socket Mode connection, store, metrics and
//!   HTTP server), built with [`Runtime::builder`];
//! - [`EventHandler`]: what the embedder implements to receive envelopes;
//! - [`ConnectionOpener`]: how `apps.connections.open` is called (the built-in [`SlackOpener`]
//!   over [`crate::slack::SlackClient`], or a token source of your own);
//! - [`bridge::Bridge`]: the HTTP bridge, a handler forwarding each envelope to an HTTP app
//!   as Slack's HTTP delivery would (`run --forward-url`);
//! - [`StatusBoard`]: what `/health` and `/debug/state` report, fed from the drained outputs;
//! - [`serve`]: the operator HTTP server (`/metrics`, `/health`, `/debug/state`, and the live
//!   inspector `/debug/ui` with its event stream `/debug/events`).
//!
//! Inside: a driver task per runtime owns the socket machine and waits on one resettable sleep
//! for its next deadline; each WebSocket link is a task; each handler call is a task; the store
//! is written by one thread (dedupe keys group-committed); `apps.connections.open` runs on the
//! blocking pool. With an installer configured, a second task owns the onboarding machine
//! (`ledger.rs`): it commits and syncs each ledger transition on the blocking pool before it
//! performs the Web API calls drained with it, and a failure there never reaches the socket.
//! See `docs/operations.md`.

pub mod bridge;
mod builder;
mod clock;
mod driver;
mod error;
mod events;
mod handler;
mod http;
mod inspect;
mod ledger;
mod link;
mod opener;
mod persist;
mod stall;
mod status;
mod ui;

pub use builder::{DEFAULT_API_URL, DEFAULT_DATA_DIR, Runtime, RuntimeBuilder, RuntimeHandle};
pub use error::RuntimeError;
pub use events::RETRY_MS as EVENTS_RETRY_MS;
pub use handler::{Delivery, EventHandler, HandlerError, HandlerFn, NoopHandler, handler_fn};
pub use http::{HttpConfig, HttpState, router, serve};
pub use inspect::{EVENT_CAPACITY, EnvelopeCounts, LinkCounts, StatusEvent, StatusMachine};
pub use opener::{ConnectionOpener, SlackOpener};
pub use status::{
    Channels, DebugState, Health, HealthStatus, JOURNAL_TAIL, MachineView, OnboardingHealth,
    STORE_ERROR_GRACE, SlackHealth, StatusBoard, SystemClock,
};
pub use ui::page_html as inspector_page;

/// The one log line per transition both drivers write (`machine from -> to (event)`, target
/// `phantom_fsm::transition`): operators grep for this shape.
pub(crate) fn log_transition(t: &crate::engine::Transition) {
    tracing::info!(
        target: "phantom_fsm::transition",
        "{} {} -> {} ({})",
        t.machine,
        t.from,
        t.to,
        t.event
    );
}
