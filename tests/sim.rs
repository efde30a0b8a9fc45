//! Tests of the Slack simulator itself (`phantom_fsm::sim`), driven through its real HTTP and
//! WebSocket endpoints on 127.0.0.1 by ureq and tokio-tungstenite clients.

#[path = "sim/acks.rs"]
mod acks;
#[path = "sim/cli.rs"]
mod cli;
#[path = "sim/common.rs"]
mod common;
#[path = "sim/control_api.rs"]
mod control_api;
#[path = "sim/delivery.rs"]
mod delivery;
#[path = "sim/history.rs"]
mod history;
#[path = "sim/link_faults.rs"]
mod link_faults;
#[path = "sim/links.rs"]
mod links;
#[path = "sim/web_api.rs"]
mod web_api;
