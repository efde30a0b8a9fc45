//! Telemetry and the operator HTTP server: the Prometheus families of `docs/metrics.md`
//! scraped over real HTTP on 127.0.0.1, their invariants over arbitrary streams and under
//! concurrent scrapes, the dispatch guard, `/health` and `/debug/state` (section 7), and the
//! server's behaviour with unknown, slow and oversized requests.

#[path = "telemetry/dispatch.rs"]
mod dispatch;
#[path = "telemetry/exposition.rs"]
mod exposition;
#[path = "telemetry/health.rs"]
mod health;
#[path = "telemetry/http.rs"]
mod http;
#[path = "telemetry/inspector.rs"]
mod inspector;
#[path = "telemetry/invariants.rs"]
mod invariants;
#[path = "telemetry/support.rs"]
mod support;
