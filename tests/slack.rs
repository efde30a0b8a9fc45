//! The Slack Web API client (`phantom_fsm::slack`) against the in-process simulator and
//! against small local servers for the failures the simulator cannot produce.

#[path = "slack/common.rs"]
mod common;

#[path = "slack/async_client.rs"]
mod async_client;
#[path = "slack/classify.rs"]
mod classify;
#[path = "slack/failures.rs"]
mod failures;
#[path = "slack/gateway.rs"]
mod gateway;
#[path = "slack/redaction.rs"]
mod redaction;
#[path = "slack/requests.rs"]
mod requests;
// The simulator is a default feature; an embedder's `--no-default-features` build tests the
// client against the small local servers only.
#[cfg(feature = "sim")]
#[path = "slack/sim_calls.rs"]
mod sim_calls;
#[path = "slack/tls.rs"]
mod tls;
#[path = "slack/wss.rs"]
mod wss;
