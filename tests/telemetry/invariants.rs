//! Invariants of the metrics over arbitrary streams, and under concurrent scrapes.

use super::support::*;
use phantom_fsm::engine::{EnvelopeOutcome, Now, Signal};
use phantom_fsm::runtime::StatusBoard;
use phantom_fsm::socket::STATE_NAMES;
use phantom_fsm::telemetry::Telemetry;
use proptest::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

#[derive(Clone, Debug)]
enum Step {
    /// The socket machine moves to `STATE_NAMES[i]` (skipped if already there: machines emit
    /// transitions only for a change of leaf state).
    Socket(usize),
    LinkEnded(u64),
    Handover,
    Acked(u64),
    Envelope(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..STATE_NAMES.len()).prop_map(Step::Socket),
        1 => (0u64..100_000_000).prop_map(Step::LinkEnded),
        1 => Just(Step::Handover),
        1 => (0u64..5_000_000).prop_map(Step::Acked),
        1 => (0usize..3).prop_map(Step::Envelope),
    ]
}

/// What the metrics must say, computed independently.
#[derive(Default)]
struct Model {
    state: usize,
    reconnects: u64,
    links_ended: u64,
    handovers: u64,
    acks: u64,
    dispatched: u64,
    transitions: u64,
}

impl Model {
    fn apply(&mut self, t: &Telemetry, step: &Step) {
        match *step {
            Step::Socket(to) if to == self.state => {}
            Step::Socket(to) => {
                let from = STATE_NAMES[self.state];
                t.observe_transition(&transition("socket_mode", from, STATE_NAMES[to]));
                self.state = to;
                self.transitions += 1;
                self.reconnects += u64::from(STATE_NAMES[to] == "reconnecting");
            }
            Step::LinkEnded(ms) => {
                t.observe_signal(&Signal::LinkEnded { lifetime_ms: ms });
                self.links_ended += 1;
            }
            Step::Handover => {
                t.observe_signal(&Signal::Handover);
                self.handovers += 1;
            }
            Step::Acked(us) => {
                t.observe_signal(&Signal::Acked { latency_us: us });
                self.acks += 1;
            }
            Step::Envelope(i) => {
                let outcome = EnvelopeOutcome::ALL[i];
                t.observe_signal(&Signal::Envelope {
                    kind: "events_api",
                    outcome,
                });
                self.dispatched += u64::from(outcome == EnvelopeOutcome::Dispatched);
            }
        }
    }

    fn check(&self, t: &Telemetry) {
        let scrape = parse(&t.render());
        let states = gauge_series(&scrape, "phantom_slack_socket_state", "state");
        assert_eq!(states.len(), 7);
        assert_eq!(the_one(&states), STATE_NAMES[self.state]);
        let count = |name, labels: &[(&str, &str)]| counter(&scrape, name, labels) as u64;
        assert_eq!(
            count("phantom_slack_socket_reconnects_total", &[]),
            self.reconnects
        );
        assert_eq!(
            count("phantom_slack_socket_handovers_total", &[]),
            self.handovers
        );
        let socket = [("machine", "socket_mode")];
        assert_eq!(
            count("phantom_fsm_transitions_total", &socket),
            self.transitions
        );
        let dispatched = [("type", "events_api"), ("outcome", "dispatched")];
        assert_eq!(
            count("phantom_slack_envelopes_total", &dispatched),
            self.dispatched
        );
        let lifetimes = histogram_count(&scrape, "phantom_slack_socket_connection_seconds", &[]);
        assert_eq!(lifetimes as u64, self.links_ended);
        let acks = histogram_count(&scrape, "phantom_slack_ack_seconds", &[]);
        assert_eq!(acks as u64, self.acks);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// At every step: the state gauge is one-hot on the current state, reconnects equal the
    /// entries into `reconnecting`, the connection-lifetime count equals the `LinkEnded`
    /// signals, and every other counter matches the stream.
    #[test]
    fn metrics_are_a_function_of_the_stream(steps in prop::collection::vec(step(), 0..48)) {
        let telemetry = Telemetry::new();
        let mut model = Model::default();
        model.check(&telemetry);
        for step in &steps {
            model.apply(&telemetry, step);
            model.check(&telemetry);
        }
    }
}

/// Scrapes over HTTP while another thread moves the socket machine through its states as fast
/// as it can: every scrape sees exactly one state at 1.
#[test]
fn concurrent_scrapes_during_rapid_transitions_are_always_one_hot() {
    const SCRAPERS: usize = 3;
    const SCRAPES_EACH: usize = 60;
    let telemetry = Telemetry::new();
    let server = TestServer::fresh(&telemetry, &StatusBoard::new("0", Now::fake(0)));
    let done = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(SCRAPERS + 1));

    let writer = {
        let (telemetry, done, start) = (telemetry.clone(), done.clone(), start.clone());
        std::thread::spawn(move || {
            start.wait();
            let mut moves = 0u64;
            let mut from = 0;
            while !done.load(Ordering::Relaxed) {
                let to = (from + 1) % STATE_NAMES.len();
                let t = transition("socket_mode", STATE_NAMES[from], STATE_NAMES[to]);
                telemetry.observe_transition(&t);
                from = to;
                moves += 1;
            }
            moves
        })
    };
    let mut seen = std::collections::BTreeSet::new();
    std::thread::scope(|scope| {
        let scrapers: Vec<_> = (0..SCRAPERS)
            .map(|_| {
                let (server, start) = (&server, start.clone());
                scope.spawn(move || {
                    start.wait();
                    (0..SCRAPES_EACH)
                        .map(|_| {
                            let (_, scrape) = server.scrape();
                            the_one(&gauge_series(
                                &scrape,
                                "phantom_slack_socket_state",
                                "state",
                            ))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for scraper in scrapers {
            seen.extend(scraper.join().expect("scraper"));
        }
    });
    done.store(true, Ordering::Relaxed);
    let moves = writer.join().expect("writer");
    assert!(moves > 0);
    // The final scrape agrees with the transition counter: no update was lost.
    let scrape = parse(&telemetry.render());
    let socket = [("machine", "socket_mode")];
    assert_eq!(
        counter(&scrape, "phantom_fsm_transitions_total", &socket) as u64,
        moves
    );
    let state = the_one(&gauge_series(
        &scrape,
        "phantom_slack_socket_state",
        "state",
    ));
    assert_eq!(state, STATE_NAMES[(moves as usize) % STATE_NAMES.len()]);
    assert!(!seen.is_empty());
}
