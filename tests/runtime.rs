//! End-to-end tests of the runtime: the real `phantom-fsm run` binary (and the embedding API)
//! against the in-process Slack simulator on 127.0.0.1, with faults. Every wait is bounded and
//! polls `/metrics`, `/health` or the simulator's log.

#[path = "runtime/bridge.rs"]
mod bridge;
#[path = "runtime/common.rs"]
mod common;
#[path = "runtime/config.rs"]
mod config;
#[path = "runtime/demo.rs"]
mod demo;
#[path = "runtime/embed.rs"]
mod embed;
#[path = "runtime/faults.rs"]
mod faults;
#[path = "runtime/ghosts.rs"]
mod ghosts;
#[path = "runtime/ledger.rs"]
mod ledger;
#[path = "runtime/lifecycle.rs"]
mod lifecycle;
#[path = "runtime/reset.rs"]
mod reset;
#[path = "runtime/respond.rs"]
mod respond;
#[path = "runtime/scaled.rs"]
mod scaled;
#[path = "runtime/secrets.rs"]
mod secrets;
#[path = "runtime/tls.rs"]
mod tls;
#[path = "runtime/traffic.rs"]
mod traffic;
#[path = "runtime/wss.rs"]
mod wss;
