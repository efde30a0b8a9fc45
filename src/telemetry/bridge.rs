//! The HTTP bridge's instruments, created on first use so its families appear only when the
//! bridge is on.

use super::families::*;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};

/// `phantom_bridge_requests_total{outcome}` and `phantom_bridge_request_seconds`.
pub(crate) struct BridgeInstruments {
    requests: Counter<u64>,
    seconds: Histogram<f64>,
}

impl BridgeInstruments {
    /// Create both instruments, every outcome series at 0.
    pub(crate) fn new(meter: &Meter) -> BridgeInstruments {
        let requests = meter
            .u64_counter(BRIDGE_REQUESTS)
            .with_description(BRIDGE_REQUESTS_HELP)
            .build();
        for outcome in BRIDGE_OUTCOMES {
            requests.add(0, &[KeyValue::new("outcome", outcome)]);
        }
        let seconds = meter
            .f64_histogram(BRIDGE_SECONDS)
            .with_description(BRIDGE_SECONDS_HELP)
            .with_unit(SECONDS)
            .with_boundaries(DISPATCH_BUCKETS.to_vec())
            .build();
        BridgeInstruments { requests, seconds }
    }

    /// Count one request with its outcome (one of [`BRIDGE_OUTCOMES`]) and time.
    pub(crate) fn record(&self, outcome: &'static str, seconds: f64) {
        self.requests.add(1, &[KeyValue::new("outcome", outcome)]);
        self.seconds.record(seconds, &[]);
    }
}
