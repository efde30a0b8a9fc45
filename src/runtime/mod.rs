//! The tokio shell around the pure machines: it owns the clock, the sockets and the disk, feeds
//! the machines their inputs, and drains their outputs to the observers (metrics, status,
//! journal).
//!
//! - [`StatusBoard`]: what `/health` and `/debug/state` report, fed from the drained outputs;
//! - [`serve`]: the operator HTTP server (`/metrics`, `/health`, `/debug/state`).

mod http;
mod status;

pub use http::{HttpConfig, HttpState, router, serve};
pub use status::{
    Channels, DebugState, Health, HealthStatus, JOURNAL_TAIL, MachineView, OnboardingHealth,
    STORE_ERROR_GRACE, SlackHealth, StatusBoard, SystemClock,
};
