//! The tokio shell around the pure machines: it owns the clock, the sockets and the disk, feeds
//! the machines their inputs, and drains their outputs to the observers (metrics, status,
//! journal).
//!
//! - [`status`]: what `/health` and `/debug/state` report, fed from the drained outputs;
//! - [`http`]: the operator HTTP server (`/metrics`, `/health`, `/debug/state`).

pub mod http;
pub mod status;
