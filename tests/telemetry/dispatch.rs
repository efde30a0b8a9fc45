//! The dispatch guard records when the handler returns, fails, or panics.

use super::support::*;
use phantom_fsm::telemetry::Telemetry;
use std::panic::{AssertUnwindSafe, catch_unwind};

const DISPATCH: &str = "phantom_slack_event_dispatch_seconds";

fn recorded(t: &Telemetry, event_type: &str) -> f64 {
    histogram_count(&parse(&t.render()), DISPATCH, &[("event_type", event_type)])
}

/// A handler as the runtime calls it: the guard lives across the call.
fn dispatch(t: &Telemetry, handler: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let _timer = t.dispatch_guard("app_mention");
    handler()
}

#[test]
fn guard_records_on_success_error_and_panic() {
    let t = Telemetry::new();
    assert_eq!(recorded(&t, "app_mention"), 0.0);

    assert_eq!(dispatch(&t, || Ok(())), Ok(()));
    assert_eq!(recorded(&t, "app_mention"), 1.0, "success");

    assert!(dispatch(&t, || Err("handler failed".into())).is_err());
    assert_eq!(recorded(&t, "app_mention"), 2.0, "error");

    let panicked = catch_unwind(AssertUnwindSafe(|| {
        dispatch(&t, || panic!("handler panicked"))
    }));
    assert!(panicked.is_err());
    assert_eq!(recorded(&t, "app_mention"), 3.0, "panic");
}

#[test]
fn guard_records_when_an_async_handler_panics_in_a_task() {
    let t = Telemetry::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let task = {
        let t = t.clone();
        rt.spawn(async move {
            let _timer = t.dispatch_guard("message");
            tokio::task::yield_now().await;
            panic!("handler panicked after an await");
        })
    };
    let outcome = rt.block_on(task);
    assert!(outcome.unwrap_err().is_panic());
    assert_eq!(recorded(&t, "message"), 1.0);
}

#[test]
fn unknown_event_types_are_recorded_as_other() {
    let t = Telemetry::new();
    let guard = t.dispatch_guard("x_attacker_chosen_type");
    assert_eq!(guard.event_type(), "other");
    drop(guard);
    drop(t.dispatch_guard("slash_commands"));
    let scrape = parse(&t.render());
    assert_eq!(
        histogram_count(&scrape, DISPATCH, &[("event_type", "other")]),
        1.0
    );
    let slash = [("event_type", "slash_commands")];
    assert_eq!(histogram_count(&scrape, DISPATCH, &slash), 1.0);
    let series = scrape
        .samples
        .iter()
        .filter(|s| s.metric == format!("{DISPATCH}_count"));
    assert_eq!(series.count(), 2, "no series for the raw type");
}
