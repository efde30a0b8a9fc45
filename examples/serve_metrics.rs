//! Serve `/metrics`, `/health` and `/debug/state` after feeding a realistic stream of
//! transitions and signals: a connect, traffic, a handover, a lost link and a reconnect, and
//! an intro DM that needed reconciling. Used by `.ci/telemetry.sh` to run `promtool check
//! metrics` on a live scrape, and handy for looking at the exposition by hand:
//!
//! ```text
//! cargo run --example serve_metrics [-- 127.0.0.1:9464]
//! ```
//!
//! Prints `listen=ADDR` as its first line, then serves until SIGINT or SIGTERM.

use phantom_fsm::engine::{
    EnvelopeOutcome, FrameRejectReason, IntroOutcome, Now, Signal, Transition,
};
use phantom_fsm::runtime::{HttpConfig, HttpState, serve};
use phantom_fsm::runtime::{StatusBoard, SystemClock};
use phantom_fsm::telemetry::Telemetry;
use std::io::Write;

const SOCKET: [(&str, &str, &str); 9] = [
    ("disconnected", "connecting", "start"),
    ("connecting", "authenticated", "open_ok"),
    ("authenticated", "connected", "hello"),
    ("connected", "reconnecting", "link_lost"),
    ("reconnecting", "connecting", "timeout:reconnect_backoff"),
    ("connecting", "reconnecting", "open_transient"),
    ("reconnecting", "connecting", "timeout:reconnect_backoff"),
    ("connecting", "authenticated", "open_ok"),
    ("authenticated", "connected", "hello"),
];

const ONBOARDING: [(&str, &str, &str); 3] = [
    ("pending", "sending", "channel_opened"),
    ("sending", "reconciling", "post_ambiguous"),
    ("reconciling", "complete", "marker_found"),
];

fn signals() -> Vec<Signal> {
    let mut signals = vec![
        Signal::Handover,
        Signal::LinkEnded {
            lifetime_ms: 3_600_000,
        },
        Signal::LinkEnded {
            lifetime_ms: 42_000,
        },
        Signal::FrameRejected {
            reason: FrameRejectReason::InvalidJson,
        },
        Signal::IntroAttempt {
            outcome: IntroOutcome::Ambiguous,
        },
        Signal::Ignored {
            machine: "socket_mode",
            state: "reconnecting",
            input: "pong",
        },
    ];
    for (i, outcome) in EnvelopeOutcome::ALL.into_iter().enumerate() {
        for kind in ["events_api", "slash_commands", "interactive"] {
            signals.push(Signal::Envelope { kind, outcome });
            signals.push(Signal::Acked {
                latency_us: 80 + 40 * i as u64,
            });
        }
    }
    signals
}

fn feed(telemetry: &Telemetry, board: &StatusBoard, now: Now) {
    let mut seq = 0;
    let mut transition = |machine, instance: &str, (from, to, event)| {
        let t = Transition::new(machine, instance, (from, to), event, now);
        telemetry.observe_transition(&t);
        board.observe_transition(&t);
        seq += 1;
        board.record_journal_row(serde_json::json!({
            "seq": seq, "at_unix_ms": t.at_unix.0, "machine": t.machine,
            "instance": t.instance, "from": t.from, "to": t.to, "event": t.event,
        }));
    };
    board.set_machine("onboarding", "T0001/U0001", "pending", now.unix);
    telemetry.set_onboarding(Some("pending"));
    SOCKET
        .into_iter()
        .for_each(|s| transition("socket_mode", "default", s));
    ONBOARDING
        .into_iter()
        .for_each(|s| transition("onboarding", "T0001/U0001", s));
    signals().iter().for_each(|s| telemetry.observe_signal(s));
    for event_type in ["app_mention", "message", "slash_commands", "unknown_type"] {
        drop(telemetry.dispatch_guard(event_type));
    }
    telemetry.store_error("journal");
    board.store_failed("journal", now.mono);
    board.store_succeeded("journal");
}

async fn stopped() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let clock = SystemClock::start();
    let telemetry = Telemetry::new();
    let board = StatusBoard::new(env!("CARGO_PKG_VERSION"), clock.now());
    feed(&telemetry, &board, clock.now());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listen={}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let state = HttpState::new(telemetry, board, move || clock.now());
    serve(listener, state, HttpConfig::default(), stopped()).await;
    Ok(())
}
