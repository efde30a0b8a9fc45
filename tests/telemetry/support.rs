//! Shared helpers: a server on 127.0.0.1 in its own runtime, a raw HTTP/1.1 client (so tests
//! can also send malformed requests), and Prometheus text parsing with `prometheus-parse`.

use phantom_fsm::engine::{Now, Transition};
use phantom_fsm::runtime::StatusBoard;
use phantom_fsm::runtime::{HttpConfig, HttpState, serve};
use phantom_fsm::telemetry::Telemetry;
use prometheus_parse::{HistogramCount, Sample, Scrape, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

/// Upper bound on waiting for any single reply: a deadline, not an expected duration.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The server under test, stopped (gracefully) when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start(state: HttpState, config: HttpConfig) -> TestServer {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind 127.0.0.1:0");
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                serve(listener, state, config, async {
                    let _ = stopped.await;
                })
                .await;
            });
        });
        let addr = addr_rx.recv_timeout(DEADLINE).expect("server started");
        TestServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// A server over fresh metrics and a board started at `Now::fake(0)`, with the clock
    /// fixed at `Now::fake(0)`.
    pub fn fresh(telemetry: &Telemetry, board: &StatusBoard) -> TestServer {
        let state = HttpState::new(telemetry.clone(), board.clone(), || Now::fake(0));
        TestServer::start(state, HttpConfig::default())
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        ))
    }

    /// Send `raw` bytes and read the reply until the server closes the connection.
    pub fn request(&self, raw: &str) -> Reply {
        let mut stream = self.connect();
        stream.write_all(raw.as_bytes()).expect("write request");
        Reply::parse(&read_to_close(&mut stream))
    }

    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).expect("connect");
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        stream
    }

    pub fn scrape(&self) -> (String, Scrape) {
        let reply = self.get("/metrics");
        assert_eq!(reply.status, 200, "{}", reply.body);
        let scrape = parse(&reply.body);
        (reply.body, scrape)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Read until EOF (or a reset, which also ends the exchange).
pub fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return bytes,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return bytes,
            Err(e) => panic!("reading the reply: {e} (after {} bytes)", bytes.len()),
        }
    }
}

/// One HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    fn parse(bytes: &[u8]) -> Reply {
        let text = String::from_utf8_lossy(bytes);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Reply {
            status,
            headers,
            body: body.to_string(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

pub fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text parses")
}

/// The sample of `metric` whose labels are exactly `labels`.
pub fn sample<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> &'a Sample {
    scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == metric
                && s.labels.len() == labels.len()
                && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no sample {metric}{labels:?}"))
}

pub fn counter(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    match sample(scrape, metric, labels).value {
        Value::Counter(v) => v,
        ref other => panic!("{metric} is not a counter: {other:?}"),
    }
}

/// `_count` of a histogram (0 when the series does not exist yet).
pub fn histogram_count(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let name = format!("{metric}_count");
    scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == name
                && s.labels.len() == labels.len()
                && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
        .map_or(0.0, |s| match s.value {
            Value::Untyped(v) | Value::Counter(v) => v,
            ref other => panic!("{name}: {other:?}"),
        })
}

pub fn buckets(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Vec<HistogramCount> {
    match &sample(scrape, metric, labels).value {
        Value::Histogram(b) => b.clone(),
        other => panic!("{metric} is not a histogram: {other:?}"),
    }
}

/// Every series of a one-label gauge family, by label value.
pub fn gauge_series(scrape: &Scrape, metric: &str, label: &str) -> BTreeMap<String, f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .map(|s| {
            let value = match s.value {
                Value::Gauge(v) => v,
                ref other => panic!("{metric} is not a gauge: {other:?}"),
            };
            assert_eq!(s.labels.len(), 1, "{metric} has labels {:?}", s.labels);
            (s.labels.get(label).expect("label").to_string(), value)
        })
        .collect()
}

/// Panics unless exactly one series is 1 and every other is 0; returns the one.
pub fn the_one(series: &BTreeMap<String, f64>) -> String {
    let ones: Vec<_> = series.iter().filter(|(_, v)| **v == 1.0).collect();
    let zeros = series.values().filter(|v| **v == 0.0).count();
    assert!(
        ones.len() == 1 && zeros + 1 == series.len(),
        "not one-hot: {series:?}"
    );
    ones[0].0.clone()
}

pub fn transition(machine: &'static str, from: &'static str, to: &'static str) -> Transition {
    transition_at(machine, from, to, Now::fake(0))
}

pub fn transition_at(
    machine: &'static str,
    from: &'static str,
    to: &'static str,
    now: Now,
) -> Transition {
    let instance = if machine == "onboarding" {
        "T1/U1"
    } else {
        "default"
    };
    Transition::new(machine, instance, (from, to), "test", now)
}
