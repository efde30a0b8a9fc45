//! The live inspector: `GET /debug/ui` is self-contained, `GET /debug/events` frames the
//! journal and the status as Server-Sent Events, and every stream is bounded (cap, slow reader).

use super::support::*;
use phantom_fsm::engine::Now;
use phantom_fsm::runtime::{EVENTS_RETRY_MS, HttpConfig, HttpState, StatusBoard, inspector_page};
use phantom_fsm::telemetry::Telemetry;
use serde_json::{Value, json};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn row(seq: u64, from: &str, to: &str, event: &str) -> Value {
    json!({
        "seq": seq, "at_unix_ms": 1_000 + seq, "machine": "socket_mode", "instance": "default",
        "from": from, "to": to, "event": event,
    })
}

fn server_with(board: &StatusBoard, config: HttpConfig) -> TestServer {
    let state = HttpState::new(Telemetry::new(), board.clone(), || Now::fake(2_500));
    TestServer::start(state, config)
}

fn fast() -> HttpConfig {
    HttpConfig {
        status_interval: Duration::from_millis(100),
        ..HttpConfig::default()
    }
}

/// An open `/debug/events` stream read as raw SSE text (HTTP/1.0: no chunked framing).
struct Stream {
    tcp: TcpStream,
    head: String,
    buf: String,
}

impl Stream {
    fn open(server: &TestServer) -> Stream {
        let mut tcp = server.connect();
        tcp.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        tcp.write_all(b"GET /debug/events HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        let mut stream = Stream {
            tcp,
            head: String::new(),
            buf: String::new(),
        };
        let deadline = Instant::now() + DEADLINE;
        while !stream.buf.contains("\r\n\r\n") {
            assert!(
                Instant::now() < deadline,
                "no response head: {}",
                stream.buf
            );
            stream.fill();
        }
        let (head, rest) = stream.buf.split_once("\r\n\r\n").unwrap();
        (stream.head, stream.buf) = (head.to_string(), rest.to_string());
        stream
    }

    fn status(&self) -> u16 {
        self.head.split(' ').nth(1).unwrap().parse().unwrap()
    }

    /// Read what is available (waits at most the 50 ms read timeout); false at EOF.
    fn fill(&mut self) -> bool {
        let mut bytes = [0u8; 65536];
        match self.tcp.read(&mut bytes) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.push_str(&String::from_utf8_lossy(&bytes[..n]));
                true
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => true,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => false,
            Err(e) => panic!("reading the stream: {e}"),
        }
    }

    /// The next frame's fields, as (name, value) lines.
    fn frame(&mut self) -> Vec<(String, String)> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some((frame, rest)) = self.buf.split_once("\n\n") {
                let fields = frame
                    .lines()
                    .map(|l| {
                        let (k, v) = l.split_once(": ").unwrap_or((l, ""));
                        (k.to_string(), v.to_string())
                    })
                    .collect();
                self.buf = rest.to_string();
                return fields;
            }
            assert!(Instant::now() < deadline, "no frame: {:?}", self.buf);
            assert!(self.fill(), "the stream ended: {:?}", self.buf);
        }
    }

    /// The next event named `name` (skipping others), as JSON.
    fn next(&mut self, name: &str) -> Value {
        loop {
            let frame = self.frame();
            if frame
                .first()
                .is_some_and(|(k, v)| k == "event" && v == name)
            {
                assert_eq!(frame.len(), 2, "one data line: {frame:?}");
                assert_eq!(frame[1].0, "data");
                return serde_json::from_str(&frame[1].1).unwrap();
            }
        }
    }
}

#[test]
fn the_page_is_self_contained() {
    let server = server_with(&StatusBoard::new("0", Now::fake(0)), HttpConfig::default());
    let reply = server.get("/debug/ui");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = reply.header("content-security-policy").expect("a CSP");
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let page = &reply.body;
    assert_eq!(page, inspector_page());
    // Both diagrams, with the nodes the script lights and the edges it marks.
    for title in [
        "<title>connected</title>",
        "<title>reconnecting</title>",
        "<title>cluster_running</title>",
        "<title>connected&#45;&gt;reconnecting</title>",
        "<title>complete</title>",
    ] {
        assert!(page.contains(title), "{title} missing");
    }
    assert!(page.contains("new EventSource(\"/debug/events\")"));
    // No external asset: no URL at all but loopback ones, nothing loaded by src/href.
    for (i, _) in page.match_indices("http") {
        let rest = &page[i..];
        assert!(
            rest.starts_with("http://127.0.0.1") || rest.starts_with("http://localhost"),
            "external URL at {i}: {}",
            &rest[..rest.len().min(80)]
        );
    }
    for attr in ["src=", "href="] {
        for (i, _) in page.match_indices(attr) {
            let value = &page[i + attr.len()..];
            assert!(
                value.starts_with("\"data:"),
                "{}",
                &value[..value.len().min(80)]
            );
        }
    }
    for css in ["@import", "url("] {
        assert!(!page.contains(css), "{css} in the page");
    }
}

#[test]
fn events_frame_the_tail_then_live_rows_and_status() {
    let board = StatusBoard::new("0", Now::fake(0));
    board.record_journal_row(row(1, "disconnected", "connecting", "start"));
    board.record_journal_row(row(2, "connecting", "authenticated", "open_ok"));
    let server = server_with(&board, fast());
    let mut stream = Stream::open(&server);
    assert_eq!(stream.status(), 200, "{}", stream.head);
    let head = stream.head.to_ascii_lowercase();
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert!(head.contains("cache-control: no-store"), "{head}");
    assert_eq!(
        stream.frame(),
        [("retry".to_string(), EVENTS_RETRY_MS.to_string())]
    );
    // The tail, oldest first, exactly as the journal rows.
    let first = stream.frame();
    assert_eq!(first.len(), 2, "{first:?}");
    assert_eq!(first[0], ("event".into(), "transition".into()));
    assert_eq!(first[1].0, "data");
    let data: Value = serde_json::from_str(&first[1].1).unwrap();
    assert_eq!(data, row(1, "disconnected", "connecting", "start"));
    let second = stream.next("transition");
    assert_eq!(second, row(2, "connecting", "authenticated", "open_ok"));
    // A row recorded now arrives as it is recorded.
    board.observe_transition(&transition_at(
        "socket_mode",
        "authenticated",
        "connected",
        Now::fake(2_000),
    ));
    board.record_journal_row(row(3, "authenticated", "connected", "hello"));
    assert_eq!(
        stream.next("transition"),
        row(3, "authenticated", "connected", "hello")
    );
    // The status: /health's report, the machines, links and envelope counts.
    let status = stream.next("status");
    let keys: Vec<_> = status.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "envelopes",
            "handovers",
            "health",
            "links",
            "machines",
            "reconnects"
        ]
    );
    assert_eq!(status["health"]["slack"]["state"], "connected");
    assert_eq!(status["health"]["status"], "ok");
    assert_eq!(
        status["machines"],
        json!([{"machine": "socket_mode", "instance": "default", "state": "connected",
                "since_unix_ms": Now::fake(2_000).unix.0, "in_state_ms": 500}])
    );
    assert_eq!(
        status["links"],
        json!({"active": 0, "standby": 0, "draining": 0})
    );
    assert_eq!(
        status["envelopes"],
        json!({"acked": 0, "duplicate": 0, "shed": 0, "unackable": 0, "late_response": 0})
    );
    // Status events keep coming, about every status_interval.
    let started = Instant::now();
    stream.next("status");
    stream.next("status");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn streams_past_the_cap_get_503_and_a_freed_slot_is_reused() {
    let board = StatusBoard::new("0", Now::fake(0));
    let server = server_with(
        &board,
        HttpConfig {
            max_event_streams: 2,
            ..fast()
        },
    );
    let first = Stream::open(&server);
    let second = Stream::open(&server);
    assert_eq!((first.status(), second.status()), (200, 200));
    let third = Stream::open(&server);
    assert_eq!(third.status(), 503, "{}", third.head);
    assert!(third.head.to_ascii_lowercase().contains("retry-after: 5"));
    // Other routes still answer while the streams are open.
    assert_eq!(server.get("/health").status, 200);
    drop(first);
    // The server notices the closed reader on its next write (a status event): poll.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let again = Stream::open(&server);
        if again.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the slot was never freed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_reader_that_does_not_read_is_dropped_not_waited_for() {
    let board = StatusBoard::new("0", Now::fake(0));
    let server = server_with(
        &board,
        HttpConfig {
            max_event_streams: 1,
            max_connections: 1,
            event_queue: 4,
            write_stall_timeout: Duration::from_millis(500),
            ..fast()
        },
    );
    let mut slow = Stream::open(&server);
    assert_eq!(slow.status(), 200);
    // Far more than the socket buffers hold: the server's writes block, its queue fills.
    let big = "x".repeat(64 * 1024);
    for seq in 0..400u64 {
        board.record_journal_row(row(seq, "connecting", "authenticated", &big));
    }
    // Dropped: its stream slot and its connection (the only one allowed: the next client waits
    // in the backlog until it is closed) are free for another reader, although `slow` never
    // read a byte more.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let other = Stream::open(&server);
        if other.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slow reader still holds the slot"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // And its stream ends once what was already queued is read: it is not fed the rest.
    let deadline = Instant::now() + DEADLINE;
    while slow.fill() {
        assert!(
            Instant::now() < deadline,
            "the slow reader's stream never ended"
        );
    }
    let received = slow.buf.matches("event: transition").count();
    assert!(received < 400, "received all {received} rows");
}

#[test]
fn open_streams_do_not_hold_up_shutdown() {
    let board = StatusBoard::new("0", Now::fake(0));
    let server = server_with(&board, fast());
    let mut stream = Stream::open(&server);
    stream.next("status");
    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < HttpConfig::default().shutdown_grace,
        "shutdown waited {:?} for an event stream",
        started.elapsed()
    );
}
