//! Timing the runtime's handler: a guard that records when it is dropped, so the time is
//! recorded whether the handler returns, fails, or panics (the guard drops during unwinding).

use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use std::time::Instant;

/// Records one `phantom_slack_event_dispatch_seconds{event_type}` observation when dropped.
///
/// Create it with [`Telemetry::dispatch_guard`](super::Telemetry::dispatch_guard) just before
/// calling the handler and keep it alive across the call (also across `.await`s: it is
/// `Send`):
///
/// ```
/// # let telemetry = phantom_fsm::telemetry::Telemetry::new();
/// let _timer = telemetry.dispatch_guard("app_mention");
/// // ... run the handler; the time is recorded when `_timer` goes out of scope ...
/// ```
#[must_use = "the time is recorded when the guard is dropped; bind it to a variable"]
#[derive(Debug)]
pub struct DispatchGuard {
    histogram: Histogram<f64>,
    event_type: &'static str,
    started: Instant,
}

impl DispatchGuard {
    pub(crate) fn new(histogram: Histogram<f64>, event_type: &'static str) -> DispatchGuard {
        DispatchGuard {
            histogram,
            event_type,
            started: Instant::now(),
        }
    }

    /// The bounded `event_type` label this guard records under.
    pub fn event_type(&self) -> &'static str {
        self.event_type
    }
}

impl Drop for DispatchGuard {
    fn drop(&mut self) {
        let seconds = self.started.elapsed().as_secs_f64();
        self.histogram
            .record(seconds, &[KeyValue::new("event_type", self.event_type)]);
    }
}
