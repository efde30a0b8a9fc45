//! The exposition over real HTTP: exact family names, types, labels, label values, buckets.

use super::support::*;
use phantom_fsm::engine::{EnvelopeOutcome, FrameRejectReason, IntroOutcome, Now, Signal};
use phantom_fsm::runtime::StatusBoard;
use phantom_fsm::telemetry::Telemetry;
use std::collections::BTreeSet;

/// `docs/metrics.md`, written out independently of the crate's own constants.
const CONTRACT: [(&str, &str); 14] = [
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

/// Families that exist only after their first observation: OpenTelemetry creates a histogram
/// series on its first measurement, and the ignored-inputs label space is not enumerated.
const CREATED_ON_FIRST_USE: [&str; 4] = [
    "phantom_slack_socket_connection_seconds",
    "phantom_slack_event_dispatch_seconds",
    "phantom_slack_ack_seconds",
    "phantom_fsm_ignored_inputs_total",
];

const SOCKET_STATES: [&str; 7] = [
    "disconnected",
    "connecting",
    "authenticated",
    "connected",
    "reconnecting",
    "disconnecting",
    "error",
];

fn types(text: &str) -> BTreeSet<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| {
            let (name, ty) = l.split_once(' ').expect("TYPE line");
            (name.to_string(), ty.to_string())
        })
        .collect()
}

fn expected(
    families: impl Iterator<Item = (&'static str, &'static str)>,
) -> BTreeSet<(String, String)> {
    families
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

fn feed_one_of_everything(t: &Telemetry) {
    t.observe_signal(&Signal::LinkEnded { lifetime_ms: 1500 });
    t.observe_signal(&Signal::Acked { latency_us: 150 });
    t.observe_signal(&Signal::Ignored {
        machine: "socket_mode",
        state: "disconnected",
        input: "hello",
    });
    drop(t.dispatch_guard("app_mention"));
}

#[test]
fn start_up_scrape_has_every_counter_and_gauge_and_nothing_else() {
    let telemetry = Telemetry::new();
    let server = TestServer::fresh(&telemetry, &StatusBoard::new("0", Now::fake(0)));
    let reply = server.get("/metrics");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let want = expected(
        CONTRACT
            .into_iter()
            .filter(|(n, _)| !CREATED_ON_FIRST_USE.contains(n)),
    );
    assert_eq!(types(&reply.body), want);
}

#[test]
fn every_family_has_exact_type_help_and_no_otel_artifacts() {
    let telemetry = Telemetry::new();
    feed_one_of_everything(&telemetry);
    let server = TestServer::fresh(&telemetry, &StatusBoard::new("0", Now::fake(0)));
    let (text, scrape) = server.scrape();
    assert_eq!(types(&text), expected(CONTRACT.into_iter()));
    for (name, _) in CONTRACT {
        let help = scrape.docs.get(name).map(String::as_str).unwrap_or("");
        assert!(
            help.len() > 20,
            "{name} needs a HELP line that says what it means"
        );
    }
    assert!(!text.contains("otel_scope"), "{text}");
    assert!(!text.contains("target_info"), "{text}");
    for sample in &scrape.samples {
        assert!(
            sample.labels.keys().all(|k| !k.starts_with("otel")),
            "{sample:?}"
        );
    }
}

#[test]
fn bounded_label_sets_exist_at_zero_from_start_up() {
    let telemetry = Telemetry::new();
    let server = TestServer::fresh(&telemetry, &StatusBoard::new("0", Now::fake(0)));
    let (_, scrape) = server.scrape();

    let socket = gauge_series(&scrape, "phantom_slack_socket_state", "state");
    let names: BTreeSet<_> = socket.keys().map(String::as_str).collect();
    assert_eq!(names, SOCKET_STATES.into_iter().collect());
    assert_eq!(the_one(&socket), "disconnected");

    let onboarding = gauge_series(&scrape, "phantom_onboarding_state", "state");
    let names: BTreeSet<_> = onboarding.keys().map(String::as_str).collect();
    let ledger = [
        "pending",
        "sending",
        "backoff",
        "reconciling",
        "complete",
        "failed",
    ];
    assert_eq!(names, ledger.into_iter().collect());
    assert!(onboarding.values().all(|v| *v == 0.0), "disabled: all 0");

    assert_eq!(
        counter(&scrape, "phantom_slack_socket_reconnects_total", &[]),
        0.0
    );
    assert_eq!(
        counter(&scrape, "phantom_slack_socket_handovers_total", &[]),
        0.0
    );
    for kind in ["events_api", "slash_commands", "interactive", "other"] {
        for outcome in [
            "dispatched",
            "duplicate",
            "unackable",
            "shed",
            "late_response",
        ] {
            let labels = [("type", kind), ("outcome", outcome)];
            assert_eq!(
                counter(&scrape, "phantom_slack_envelopes_total", &labels),
                0.0
            );
        }
    }
    for reason in [
        "invalid_json",
        "binary",
        "unknown_type",
        "oversize",
        "missing_envelope_id",
    ] {
        let labels = [("reason", reason)];
        assert_eq!(
            counter(&scrape, "phantom_slack_frames_rejected_total", &labels),
            0.0
        );
    }
    for outcome in [
        "sent",
        "rate_limited",
        "transient",
        "ambiguous",
        "permanent",
    ] {
        let labels = [("outcome", outcome)];
        assert_eq!(
            counter(&scrape, "phantom_onboarding_intro_attempts_total", &labels),
            0.0
        );
    }
    for machine in ["socket_mode", "onboarding"] {
        let labels = [("machine", machine)];
        assert_eq!(
            counter(&scrape, "phantom_fsm_transitions_total", &labels),
            0.0
        );
    }
    for op in phantom_fsm::telemetry::STORE_OPS {
        assert_eq!(
            counter(&scrape, "phantom_store_errors_total", &[("op", op)]),
            0.0
        );
    }
}

fn bounds(b: &[prometheus_parse::HistogramCount]) -> Vec<f64> {
    b.iter().map(|c| c.less_than).collect()
}

fn with_inf(v: &[f64]) -> Vec<f64> {
    v.iter().copied().chain([f64::INFINITY]).collect()
}

#[test]
fn histograms_have_the_contract_buckets() {
    let telemetry = Telemetry::new();
    feed_one_of_everything(&telemetry);
    let server = TestServer::fresh(&telemetry, &StatusBoard::new("0", Now::fake(0)));
    let (_, scrape) = server.scrape();

    let connection = buckets(&scrape, "phantom_slack_socket_connection_seconds", &[]);
    let seed = [
        1., 5., 10., 30., 60., 300., 600., 1800., 3600., 21600., 86400.,
    ];
    assert_eq!(bounds(&connection), with_inf(&seed));
    // 1.5 s: above the 1 s bucket, inside the 5 s one.
    assert_eq!(connection[0].count, 0.0);
    assert_eq!(connection[1].count, 1.0);

    let labels = [("event_type", "app_mention")];
    let dispatch = buckets(&scrape, "phantom_slack_event_dispatch_seconds", &labels);
    let seed = [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1., 2., 3., 5., 10., 30.,
    ];
    assert_eq!(bounds(&dispatch), with_inf(&seed));
    assert_eq!(dispatch.last().unwrap().count, 1.0);

    let ack = buckets(&scrape, "phantom_slack_ack_seconds", &[]);
    let seed = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1., 3.,
    ];
    assert_eq!(bounds(&ack), with_inf(&seed));
    // 150 us: above 100 us, inside 250 us.
    assert_eq!((ack[0].count, ack[1].count), (0.0, 1.0));
}

#[test]
fn the_server_connections_gauge_follows_the_last_hello() {
    let t = Telemetry::new();
    let value = |t: &Telemetry| {
        let scrape = parse(&t.render());
        let s = scrape
            .samples
            .iter()
            .find(|s| s.metric == "phantom_slack_socket_server_connections")
            .expect("the gauge exists from start-up");
        assert!(s.labels.is_empty());
        match s.value {
            prometheus_parse::Value::Gauge(v) => v,
            ref other => panic!("not a gauge: {other:?}"),
        }
    };
    assert_eq!(value(&t), 0.0);
    for (n, expected) in [(Some(3), 3.0), (None, 3.0), (Some(2), 2.0)] {
        t.observe_signal(&Signal::ServerHello {
            num_connections: n,
            approximate_connection_time_s: Some(18_060),
            host: Some("applink-1".into()),
        });
        assert_eq!(value(&t), expected, "after a hello with {n:?}");
    }
}

#[test]
fn signals_and_transitions_count_into_their_series() {
    let t = Telemetry::new();
    t.observe_signal(&Signal::Handover);
    t.observe_signal(&Signal::Envelope {
        kind: "events_api",
        outcome: EnvelopeOutcome::Duplicate,
    });
    t.observe_signal(&Signal::Envelope {
        kind: "made_up_type",
        outcome: EnvelopeOutcome::Dispatched,
    });
    t.observe_signal(&Signal::FrameRejected {
        reason: FrameRejectReason::Oversize,
    });
    t.observe_signal(&Signal::IntroAttempt {
        outcome: IntroOutcome::Ambiguous,
    });
    t.observe_signal(&Signal::Ignored {
        machine: "socket_mode",
        state: "connected",
        input: "hello",
    });
    t.store_error("ledger_write");
    t.observe_transition(&transition("socket_mode", "disconnected", "connecting"));
    t.observe_transition(&transition("onboarding", "pending", "sending"));
    drop(t.dispatch_guard("some_future_event"));

    let scrape = parse(&t.render());
    assert_eq!(
        counter(&scrape, "phantom_slack_socket_handovers_total", &[]),
        1.0
    );
    let envelopes = "phantom_slack_envelopes_total";
    let dup = [("type", "events_api"), ("outcome", "duplicate")];
    assert_eq!(counter(&scrape, envelopes, &dup), 1.0);
    let other = [("type", "other"), ("outcome", "dispatched")];
    assert_eq!(
        counter(&scrape, envelopes, &other),
        1.0,
        "unknown types count as other"
    );
    let oversize = [("reason", "oversize")];
    assert_eq!(
        counter(&scrape, "phantom_slack_frames_rejected_total", &oversize),
        1.0
    );
    let ambiguous = [("outcome", "ambiguous")];
    assert_eq!(
        counter(
            &scrape,
            "phantom_onboarding_intro_attempts_total",
            &ambiguous
        ),
        1.0
    );
    let ignored = [
        ("machine", "socket_mode"),
        ("state", "connected"),
        ("input", "hello"),
    ];
    assert_eq!(
        counter(&scrape, "phantom_fsm_ignored_inputs_total", &ignored),
        1.0
    );
    assert_eq!(
        counter(
            &scrape,
            "phantom_store_errors_total",
            &[("op", "ledger_write")]
        ),
        1.0
    );
    for machine in ["socket_mode", "onboarding"] {
        let labels = [("machine", machine)];
        assert_eq!(
            counter(&scrape, "phantom_fsm_transitions_total", &labels),
            1.0
        );
    }
    let socket = gauge_series(&scrape, "phantom_slack_socket_state", "state");
    assert_eq!(the_one(&socket), "connecting");
    let onboarding = gauge_series(&scrape, "phantom_onboarding_state", "state");
    assert_eq!(the_one(&onboarding), "sending");
    let dispatch = "phantom_slack_event_dispatch_seconds";
    assert_eq!(
        histogram_count(&scrape, dispatch, &[("event_type", "other")]),
        1.0
    );
}

#[test]
fn onboarding_gauge_follows_the_ledger_and_clears_when_disabled() {
    let t = Telemetry::new();
    t.set_onboarding(Some("reconciling"));
    let series = gauge_series(&parse(&t.render()), "phantom_onboarding_state", "state");
    assert_eq!(the_one(&series), "reconciling");
    t.observe_transition(&transition("onboarding", "reconciling", "complete"));
    let series = gauge_series(&parse(&t.render()), "phantom_onboarding_state", "state");
    assert_eq!(the_one(&series), "complete");
    t.set_onboarding(Some("no_such_state"));
    let series = gauge_series(&parse(&t.render()), "phantom_onboarding_state", "state");
    assert_eq!(
        the_one(&series),
        "complete",
        "an unknown name changes nothing"
    );
    t.set_onboarding(None);
    let series = gauge_series(&parse(&t.render()), "phantom_onboarding_state", "state");
    assert!(series.values().all(|v| *v == 0.0));
}

#[test]
fn two_instances_in_one_process_do_not_collide() {
    let a = Telemetry::new();
    let b = Telemetry::new();
    a.observe_transition(&transition("socket_mode", "disconnected", "connecting"));
    a.observe_transition(&transition("socket_mode", "connecting", "reconnecting"));
    let (sa, sb) = (parse(&a.render()), parse(&b.render()));
    let reconnects = "phantom_slack_socket_reconnects_total";
    assert_eq!(counter(&sa, reconnects, &[]), 1.0);
    assert_eq!(counter(&sb, reconnects, &[]), 0.0);
    let state = "phantom_slack_socket_state";
    assert_eq!(the_one(&gauge_series(&sa, state, "state")), "reconnecting");
    assert_eq!(the_one(&gauge_series(&sb, state, "state")), "disconnected");
}

#[test]
fn store_error_ops_are_the_store_operations() {
    let ops: Vec<&str> = phantom_fsm::store::StoreOp::ALL
        .iter()
        .map(|op| op.as_str())
        .collect();
    assert_eq!(ops, phantom_fsm::telemetry::STORE_OPS.to_vec());
}
