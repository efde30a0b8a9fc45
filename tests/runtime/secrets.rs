//! Tokens and link URLs never appear in anything a run printed or served.

use crate::common::*;
use phantom_fsm::sim::{ApiFault, Target, TrafficKind};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_link_url_in_logs_metrics_health_debug_state_or_the_inspector() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut proc = Proc::run(&sim, dir.path(), &["--debug-reconnects"]).await;
    proc.wait_state("connected", WAIT).await;
    // The inspector's event stream, read for the whole run: it ends when the run stops.
    let (events, reader) = read_stream(proc.listen);
    // Traffic, a handover, a drop and a failed call: every path that logs.
    let ids = sim.push_now(10, TrafficKind::Mixed, Target::All);
    sim.wait_until(WAIT, || sim.acks().len() >= ids.len())
        .await
        .unwrap();
    sim.disconnect(
        Target::All,
        "refresh_requested",
        Some(Duration::from_secs(10)),
    );
    proc.wait_metric("phantom_slack_socket_handovers_total", WAIT, |v| v == 1.0)
        .await;
    sim.fail_next("apps.connections.open", 1, ApiFault::status(500))
        .unwrap();
    sim.drop_link(Target::All);
    proc.wait_metric("phantom_slack_socket_reconnects_total", WAIT, |v| v >= 1.0)
        .await;
    proc.wait_state("connected", WAIT).await;
    let served = [
        proc.metrics().await,
        proc.health().await.to_string(),
        proc.debug_state().await,
        get(format!("http://{}/debug/ui", proc.listen)).await.1,
    ];
    // A status event (one a second) after the handover.
    eventually("a status event with the handover", WAIT, || {
        let seen = events.lock().unwrap().contains(r#""handovers":1"#);
        async move { seen.then_some(()) }
    })
    .await;
    proc.terminate();
    proc.exit_within(Duration::from_secs(5)).await;
    reader.join().expect("the stream reader");
    let events = events.lock().unwrap().clone();
    // It saw the run live: the handover, the reconnect, the counts.
    for seen in [
        "event: transition",
        r#""to":"reconnecting""#,
        r#""handovers":1"#,
        "event: status",
    ] {
        assert!(events.contains(seen), "{seen} not in the stream: {events}");
    }
    let everything = format!("{}\n{}\n{events}", proc.output(), served.join("\n"));
    for secret in [
        sim.app_token(),
        sim.bot_token(),
        "ticket=",
        "ws://",
        "wss://",
        "/link/",
    ] {
        assert!(!everything.contains(secret), "{secret:?} leaked");
    }
    assert!(everything.contains("socket_mode connected -> disconnecting (stop)"));
}

/// `GET /debug/events` over raw HTTP/1.0 on a thread, read until the server closes it; what
/// was read so far is in the shared string.
fn read_stream(
    addr: std::net::SocketAddr,
) -> (
    std::sync::Arc<std::sync::Mutex<String>>,
    std::thread::JoinHandle<()>,
) {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    tcp.write_all(b"GET /debug/events HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let into = text.clone();
    let thread = std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        while let Ok(n @ 1..) = tcp.read(&mut buf) {
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    (text, thread)
}
