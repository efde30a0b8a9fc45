//! The exported metric families, in one place: names, help texts, buckets and the bounded label
//! value sets. Operators alert on these names (`docs/metrics.md`).
//!
//! Instrument names here are what OpenTelemetry is given; the Prometheus exporter appends
//! `_total` to counters and `_seconds` to instruments with unit `s` (and de-duplicates nothing),
//! so the names below carry neither suffix. [`FAMILIES`] lists the exported names.

/// Unit given to every duration histogram: the exporter turns it into the `_seconds` suffix.
pub(crate) const SECONDS: &str = "s";

/// `phantom_slack_socket_state{state}`.
pub(crate) const SOCKET_STATE: &str = "phantom_slack_socket_state";
pub(crate) const SOCKET_STATE_HELP: &str = "Socket Mode lifecycle state: 1 for the current state, \
     0 for the other six (exactly one series is 1 at every scrape).";

/// `phantom_slack_socket_reconnects_total`.
pub(crate) const RECONNECTS: &str = "phantom_slack_socket_reconnects";
pub(crate) const RECONNECTS_HELP: &str =
    "Entries of the Socket Mode machine into the reconnecting state.";

/// `phantom_slack_socket_connection_seconds`.
pub(crate) const CONNECTION: &str = "phantom_slack_socket_connection";
pub(crate) const CONNECTION_HELP: &str = "Lifetime of each Socket Mode link that received hello, \
     from its hello until it stopped being the active link (lost, stopped or handed over).";
/// The seed runtime's buckets, so existing dashboards keep their `le` values.
pub(crate) const CONNECTION_BUCKETS: [f64; 11] = [
    1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 21600.0, 86400.0,
];

/// `phantom_slack_event_dispatch_seconds{event_type}`.
pub(crate) const DISPATCH: &str = "phantom_slack_event_dispatch";
pub(crate) const DISPATCH_HELP: &str = "Time the runtime's handler spent on one dispatched event, \
     recorded also when the handler fails or panics.";
/// The seed runtime's buckets plus 3 s, Slack's ack deadline.
pub(crate) const DISPATCH_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0,
];

/// `phantom_slack_socket_handovers_total`.
pub(crate) const HANDOVERS: &str = "phantom_slack_socket_handovers";
pub(crate) const HANDOVERS_HELP: &str =
    "Planned link refreshes completed without a gap: a standby link received hello and took over.";

/// `phantom_slack_ack_seconds`.
pub(crate) const ACK: &str = "phantom_slack_ack";
pub(crate) const ACK_HELP: &str =
    "Time from receipt of an envelope to its ack being written to the link.";
pub(crate) const ACK_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 3.0,
];

/// `phantom_slack_envelopes_total{type,outcome}`.
pub(crate) const ENVELOPES: &str = "phantom_slack_envelopes";
pub(crate) const ENVELOPES_HELP: &str = "Envelopes received, by envelope type and by what \
     happened to them (dispatched; duplicate: acked, not dispatched; unackable: arrived on a closing \
     link, dispatched, ack tried on the active link; shed: refused while handlers are behind; \
     late_response: the handler answered after the ack deadline).";

/// `phantom_slack_frames_rejected_total{reason}`.
pub(crate) const FRAMES_REJECTED: &str = "phantom_slack_frames_rejected";
pub(crate) const FRAMES_REJECTED_HELP: &str =
    "Frames from Slack rejected before reaching the Socket Mode machine, by reason.";

/// `phantom_onboarding_state{state}`.
pub(crate) const ONBOARDING_STATE: &str = "phantom_onboarding_state";
pub(crate) const ONBOARDING_STATE_HELP: &str = "Onboarding ledger state of the configured \
     installer: 1 for the current state, 0 for the others; all 0 when no installer is configured.";

/// `phantom_onboarding_intro_attempts_total{outcome}`.
pub(crate) const INTRO_ATTEMPTS: &str = "phantom_onboarding_intro_attempts";
pub(crate) const INTRO_ATTEMPTS_HELP: &str =
    "Attempts to post the introduction DM, by how each ended.";

/// `phantom_fsm_transitions_total{machine}`.
pub(crate) const TRANSITIONS: &str = "phantom_fsm_transitions";
pub(crate) const TRANSITIONS_HELP: &str = "Changes of leaf state, by machine.";

/// `phantom_fsm_ignored_inputs_total{machine,state,input}` (documented in `docs/metrics.md`).
pub(crate) const IGNORED: &str = "phantom_fsm_ignored_inputs";
pub(crate) const IGNORED_HELP: &str =
    "Inputs a machine had nothing to do with in its current state, ignored and counted.";

/// `phantom_store_errors_total{op}`.
pub(crate) const STORE_ERRORS: &str = "phantom_store_errors";
pub(crate) const STORE_ERRORS_HELP: &str =
    "Failed LMDB operations, by operation (retried; the socket is never taken down by them).";

/// `phantom_slack_socket_server_connections`.
pub(crate) const SERVER_CONNECTIONS: &str = "phantom_slack_socket_server_connections";
pub(crate) const SERVER_CONNECTIONS_HELP: &str = "num_connections of the last hello: Slack's \
     count of this app's registered links, ghosts of links dropped without a close included.";

/// Every exported family name with its Prometheus type, in contract order (the exposition
/// itself is sorted by name).
pub const FAMILIES: [(&str, &str); 14] = [
    ("phantom_slack_socket_state", "gauge"),
    ("phantom_slack_socket_reconnects_total", "counter"),
    ("phantom_slack_socket_connection_seconds", "histogram"),
    ("phantom_slack_event_dispatch_seconds", "histogram"),
    ("phantom_slack_socket_handovers_total", "counter"),
    ("phantom_slack_ack_seconds", "histogram"),
    ("phantom_slack_envelopes_total", "counter"),
    ("phantom_slack_frames_rejected_total", "counter"),
    ("phantom_slack_socket_server_connections", "gauge"),
    ("phantom_onboarding_state", "gauge"),
    ("phantom_onboarding_intro_attempts_total", "counter"),
    ("phantom_fsm_transitions_total", "counter"),
    ("phantom_fsm_ignored_inputs_total", "counter"),
    ("phantom_store_errors_total", "counter"),
];

/// Machine id of the onboarding ledger machine.
pub(crate) const ONBOARDING_MACHINE: &str = crate::onboarding::MACHINE_ID;

/// Machine ids, the bounded values of the `machine` label.
pub const MACHINES: [&str; 2] = [crate::socket::MACHINE_ID, crate::onboarding::MACHINE_ID];

/// Onboarding ledger leaf states, in the order of the `phantom_onboarding_state{state}` series.
pub const ONBOARDING_STATES: [&str; 6] = crate::onboarding::STATE_NAMES;

/// Envelope types, the bounded values of `phantom_slack_envelopes_total{type}`.
pub const ENVELOPE_TYPES: [&str; 4] = crate::socket::wire::EnvelopeKind::LABELS;

/// Store operations, the values of `phantom_store_errors_total{op}` pre-created at 0: those of
/// [`crate::store::StoreOp`], in its order.
pub const STORE_OPS: [&str; 6] = {
    let all = crate::store::StoreOp::ALL;
    let mut ops = [""; 6];
    let mut i = 0;
    while i < all.len() {
        ops[i] = all[i].as_str();
        i += 1;
    }
    ops
};

pub use crate::socket::wire::{EVENT_TYPES, event_type_label};

/// `phantom_bridge_requests_total{outcome}`.
pub(crate) const BRIDGE_REQUESTS: &str = "phantom_bridge_requests";
pub(crate) const BRIDGE_REQUESTS_HELP: &str = "Requests the HTTP bridge forwarded, by outcome \
     (ok: a 200; http_error: another status; timeout: no answer within the request timeout; \
     refused: the app could not be reached).";

/// `phantom_bridge_request_seconds`.
pub(crate) const BRIDGE_SECONDS: &str = "phantom_bridge_request";
pub(crate) const BRIDGE_SECONDS_HELP: &str =
    "Time from sending a forwarded request to its answer (or failure).";

/// The bounded values of `phantom_bridge_requests_total`'s `outcome` label.
pub const BRIDGE_OUTCOMES: [&str; 4] = ["ok", "http_error", "timeout", "refused"];

/// The families exported only when the HTTP bridge is on (`run --forward-url`).
pub const BRIDGE_FAMILIES: [(&str, &str); 2] = [
    ("phantom_bridge_requests_total", "counter"),
    ("phantom_bridge_request_seconds", "histogram"),
];
