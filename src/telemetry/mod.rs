//! Metrics: the only module that imports `opentelemetry` and `prometheus`.
//!
//! [`Telemetry`] is an observer over the drained [`Transition`] and [`Signal`] streams (plus the
//! few facts only the shell knows: handler time, store errors, the restored onboarding state).
//! It records into OpenTelemetry instruments exported by `opentelemetry-prometheus` into a
//! registry owned by this instance — there is no process-global meter provider, so two
//! runtimes in one process keep separate metrics. [`Telemetry::render`] produces the Prometheus
//! text served at `GET /metrics`; the families are listed in [`FAMILIES`] and documented in
//! `docs/metrics.md`.
//!
//! ```
//! use phantom_fsm::engine::{Now, Transition};
//! use phantom_fsm::telemetry::Telemetry;
//!
//! let telemetry = Telemetry::new();
//! let t = Transition::new("socket_mode", "default", ("disconnected", "connecting"), "start", Now::fake(0));
//! telemetry.observe_transition(&t);
//! let text = telemetry.render();
//! assert!(text.contains(r#"phantom_slack_socket_state{state="connecting"} 1"#));
//! ```

mod bridge;
mod dispatch;
mod families;
mod instruments;
mod one_hot;

pub use dispatch::DispatchGuard;
pub use families::{
    BRIDGE_FAMILIES, BRIDGE_OUTCOMES, ENVELOPE_TYPES, EVENT_TYPES, FAMILIES, MACHINES,
    ONBOARDING_STATES, STORE_OPS, event_type_label,
};

use crate::engine::{Output, Signal, Transition};
use instruments::{Instruments, envelope_labels, machine_label, outcome_label, reason_label};
use one_hot::OneHot;
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// `Content-Type` of [`Telemetry::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metrics of one runtime instance: a cheap, cloneable handle (clones share the metrics).
#[derive(Clone)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

struct Inner {
    registry: prometheus::Registry,
    /// Owns the pipeline: dropping it would empty the exposition.
    provider: SdkMeterProvider,
    /// The HTTP bridge's instruments, once it is on.
    bridge: std::sync::OnceLock<bridge::BridgeInstruments>,
    instruments: Instruments,
    socket: OneHot,
    onboarding: OneHot,
    /// `num_connections` of the last `hello`.
    server_connections: Arc<AtomicU64>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}

impl Default for Telemetry {
    fn default() -> Telemetry {
        Telemetry::new()
    }
}

impl Telemetry {
    /// Fresh metrics with its own registry: the socket gauge at `disconnected`, onboarding
    /// disabled (all 0), every counter at 0.
    pub fn new() -> Telemetry {
        let registry = prometheus::Registry::new();
        let exporter = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .without_target_info()
            .scope_info_enabled(false)
            .build()
            .expect("a fresh registry accepts its only collector");
        let provider = SdkMeterProvider::builder().with_reader(exporter).build();
        let meter = provider.meter("phantom_fsm");
        let socket = OneHot::new(&crate::socket::STATE_NAMES, Some("disconnected"));
        let onboarding = OneHot::new(&ONBOARDING_STATES, None);
        let server_connections = Arc::new(AtomicU64::new(0));
        let instruments = Instruments::new(&meter, &socket, &onboarding, &server_connections);
        Telemetry {
            inner: Arc::new(Inner {
                registry,
                provider,
                bridge: std::sync::OnceLock::new(),
                instruments,
                socket,
                onboarding,
                server_connections,
            }),
        }
    }

    /// Observe one drained machine output (commands are not metrics).
    pub fn observe<C>(&self, output: &Output<C>) {
        match output {
            Output::Transition(t) => self.observe_transition(t),
            Output::Signal(s) => self.observe_signal(s),
            Output::Command(_) => {}
        }
    }

    /// Observe a change of leaf state: the transition counter, the state gauges, and
    /// reconnects (entries of `socket_mode` into `reconnecting`).
    pub fn observe_transition(&self, t: &Transition) {
        let i = &self.inner.instruments;
        i.transitions.add(1, &[machine_label(t.machine)]);
        let gauge = match t.machine {
            crate::socket::MACHINE_ID => &self.inner.socket,
            families::ONBOARDING_MACHINE => &self.inner.onboarding,
            _ => return,
        };
        if !gauge.set(Some(t.to)) {
            tracing::warn!(
                machine = t.machine,
                state = t.to,
                "unknown state for the gauge"
            );
        }
        if t.machine == crate::socket::MACHINE_ID && t.to == "reconnecting" {
            i.reconnects.add(1, &[]);
        }
    }

    /// Observe a countable fact.
    pub fn observe_signal(&self, signal: &Signal) {
        let i = &self.inner.instruments;
        match signal {
            Signal::LinkEnded { lifetime_ms } => {
                i.connection.record(*lifetime_ms as f64 / 1e3, &[]);
            }
            Signal::Handover => i.handovers.add(1, &[]),
            Signal::Acked { latency_us } => i.ack.record(*latency_us as f64 / 1e6, &[]),
            Signal::Envelope { kind, outcome } => {
                i.envelopes.add(1, &envelope_labels(kind, *outcome));
            }
            Signal::FrameRejected { reason } => {
                i.frames_rejected.add(1, &[reason_label(*reason)]);
            }
            Signal::IntroAttempt { outcome } => {
                i.intro_attempts.add(1, &[outcome_label(outcome.as_str())]);
            }
            Signal::Ignored {
                machine,
                state,
                input,
            } => i.ignored.add(
                1,
                &[
                    machine_label(machine),
                    KeyValue::new("state", *state),
                    KeyValue::new("input", *input),
                ],
            ),
            Signal::ServerHello {
                num_connections: Some(n),
                ..
            } => self
                .inner
                .server_connections
                .store(u64::from(*n), std::sync::atomic::Ordering::Relaxed),
            // Logged by the shell; no metric.
            Signal::RetryScheduled { .. }
            | Signal::ServerHello { .. }
            | Signal::ServerDisconnect { .. } => {}
        }
    }

    /// Set the onboarding gauge from a restored ledger row (`None`: no installer configured,
    /// every series 0). Later onboarding transitions move it.
    pub fn set_onboarding(&self, state: Option<&str>) {
        if !self.inner.onboarding.set(state) {
            tracing::warn!(state, "unknown onboarding state for the gauge");
        }
    }

    /// Count a failed store operation (`op`: one of [`STORE_OPS`]).
    pub fn store_error(&self, op: &'static str) {
        self.inner
            .instruments
            .store_errors
            .add(1, &[KeyValue::new("op", op)]);
    }

    /// Start timing one handler call for `event_type` (`payload.event.type` for `events_api`,
    /// else the envelope type; values outside [`EVENT_TYPES`] are recorded as `other`).
    pub fn dispatch_guard(&self, event_type: &str) -> DispatchGuard {
        DispatchGuard::new(
            self.inner.instruments.dispatch.clone(),
            event_type_label(event_type),
        )
    }

    /// Export the HTTP bridge's families ([`BRIDGE_FAMILIES`]), every outcome at 0. Called
    /// when a bridge is built; without one they are absent.
    pub fn enable_bridge(&self) {
        self.bridge();
    }

    /// Count one forwarded request: `outcome` is one of [`BRIDGE_OUTCOMES`].
    pub fn bridge_request(&self, outcome: &'static str, seconds: f64) {
        self.bridge().record(outcome, seconds);
    }

    fn bridge(&self) -> &bridge::BridgeInstruments {
        self.inner.bridge.get_or_init(|| {
            bridge::BridgeInstruments::new(&self.inner.provider.meter("phantom_fsm"))
        })
    }

    /// The Prometheus text exposition of every family ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let families = self.inner.registry.gather();
        let mut text = String::new();
        if let Err(error) = prometheus::TextEncoder::new().encode_utf8(&families, &mut text) {
            tracing::error!(%error, "encoding the metrics failed");
        }
        text
    }
}
