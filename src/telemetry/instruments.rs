//! Building the OpenTelemetry instruments of every family, with the series of bounded label
//! sets created at 0 so dashboards and `rate()` see them from start-up.

use super::families::*;
use super::one_hot::OneHot;
use crate::engine::{EnvelopeOutcome, FrameRejectReason, IntroOutcome};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter, ObservableGauge};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every instrument a [`Telemetry`](super::Telemetry) records into.
pub(crate) struct Instruments {
    pub(crate) reconnects: Counter<u64>,
    pub(crate) connection: Histogram<f64>,
    pub(crate) dispatch: Histogram<f64>,
    pub(crate) handovers: Counter<u64>,
    pub(crate) ack: Histogram<f64>,
    pub(crate) envelopes: Counter<u64>,
    pub(crate) frames_rejected: Counter<u64>,
    pub(crate) intro_attempts: Counter<u64>,
    pub(crate) transitions: Counter<u64>,
    pub(crate) ignored: Counter<u64>,
    pub(crate) store_errors: Counter<u64>,
    /// Kept for clarity of ownership: the callbacks live as long as the meter provider.
    _gauges: [ObservableGauge<u64>; 3],
}

impl Instruments {
    /// Create every instrument on `meter`; the state gauges read `socket` and `onboarding`.
    pub(crate) fn new(
        meter: &Meter,
        socket: &OneHot,
        onboarding: &OneHot,
        server_connections: &Arc<AtomicU64>,
    ) -> Instruments {
        let instruments = Instruments {
            reconnects: counter(meter, RECONNECTS, RECONNECTS_HELP),
            connection: histogram(meter, CONNECTION, CONNECTION_HELP, &CONNECTION_BUCKETS),
            dispatch: histogram(meter, DISPATCH, DISPATCH_HELP, &DISPATCH_BUCKETS),
            handovers: counter(meter, HANDOVERS, HANDOVERS_HELP),
            ack: histogram(meter, ACK, ACK_HELP, &ACK_BUCKETS),
            envelopes: counter(meter, ENVELOPES, ENVELOPES_HELP),
            frames_rejected: counter(meter, FRAMES_REJECTED, FRAMES_REJECTED_HELP),
            intro_attempts: counter(meter, INTRO_ATTEMPTS, INTRO_ATTEMPTS_HELP),
            transitions: counter(meter, TRANSITIONS, TRANSITIONS_HELP),
            ignored: counter(meter, IGNORED, IGNORED_HELP),
            store_errors: counter(meter, STORE_ERRORS, STORE_ERRORS_HELP),
            _gauges: [
                state_gauge(meter, SOCKET_STATE, SOCKET_STATE_HELP, socket.clone()),
                state_gauge(
                    meter,
                    ONBOARDING_STATE,
                    ONBOARDING_STATE_HELP,
                    onboarding.clone(),
                ),
                value_gauge(
                    meter,
                    SERVER_CONNECTIONS,
                    SERVER_CONNECTIONS_HELP,
                    server_connections.clone(),
                ),
            ],
        };
        instruments.create_zero_series();
        instruments
    }

    /// Counters exist at 0 from start-up, with every value of their bounded labels. The
    /// ignored-inputs family is not pre-created: its label space is every (state, input) pair.
    fn create_zero_series(&self) {
        self.reconnects.add(0, &[]);
        self.handovers.add(0, &[]);
        for kind in ENVELOPE_TYPES {
            for outcome in EnvelopeOutcome::ALL {
                self.envelopes.add(0, &envelope_labels(kind, outcome));
            }
        }
        for reason in FrameRejectReason::ALL {
            self.frames_rejected.add(0, &[reason_label(reason)]);
        }
        for outcome in IntroOutcome::ALL {
            self.intro_attempts
                .add(0, &[outcome_label(outcome.as_str())]);
        }
        for machine in MACHINES {
            self.transitions.add(0, &[machine_label(machine)]);
        }
        for op in STORE_OPS {
            self.store_errors.add(0, &[KeyValue::new("op", op)]);
        }
    }
}

pub(crate) fn machine_label(machine: &'static str) -> KeyValue {
    KeyValue::new("machine", machine)
}

pub(crate) fn outcome_label(outcome: &'static str) -> KeyValue {
    KeyValue::new("outcome", outcome)
}

pub(crate) fn reason_label(reason: FrameRejectReason) -> KeyValue {
    KeyValue::new("reason", reason.as_str())
}

/// `{type, outcome}` of `phantom_slack_envelopes_total`; an unknown type is counted as `other`.
pub(crate) fn envelope_labels(kind: &str, outcome: EnvelopeOutcome) -> [KeyValue; 2] {
    let kind = ENVELOPE_TYPES
        .iter()
        .copied()
        .find(|known| *known == kind)
        .unwrap_or("other");
    [KeyValue::new("type", kind), outcome_label(outcome.as_str())]
}

fn counter(meter: &Meter, name: &'static str, help: &'static str) -> Counter<u64> {
    meter.u64_counter(name).with_description(help).build()
}

fn histogram(
    meter: &Meter,
    name: &'static str,
    help: &'static str,
    buckets: &[f64],
) -> Histogram<f64> {
    meter
        .f64_histogram(name)
        .with_description(help)
        .with_unit(SECONDS)
        .with_boundaries(buckets.to_vec())
        .build()
}

/// An observable gauge of one value, read from one atomic.
fn value_gauge(
    meter: &Meter,
    name: &'static str,
    help: &'static str,
    value: Arc<AtomicU64>,
) -> ObservableGauge<u64> {
    meter
        .u64_observable_gauge(name)
        .with_description(help)
        .with_callback(move |observer| observer.observe(value.load(Ordering::Relaxed), &[]))
        .build()
}

/// An observable gauge whose callback reports every series of `states` from one atomic load.
fn state_gauge(
    meter: &Meter,
    name: &'static str,
    help: &'static str,
    states: OneHot,
) -> ObservableGauge<u64> {
    meter
        .u64_observable_gauge(name)
        .with_description(help)
        .with_callback(move |observer| {
            for (state, value) in states.series() {
                observer.observe(value, &[KeyValue::new("state", state)]);
            }
        })
        .build()
}
