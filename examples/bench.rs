//! End-to-end benchmark driver (`bash benches/e2e.sh` runs it for every client).
//!
//! `bench measure NAME -- CMD ARGS...`: start the simulator in-process, start `CMD` with
//! `SLACK_API_URL` / `SLACK_APP_TOKEN` / `SLACK_BOT_TOKEN` / `PHANTOM_DATA_DIR` set, push
//! `BENCH_COUNT` (20,000) `events_api` envelopes over its link with at most `BENCH_WINDOW`
//! (500) unacked, then 2,000 at 1,000/s with a `refresh_requested` in the middle, and print one
//! JSON line of figures. `bench ack-only` and `bench embed` are two of the clients: the
//! smallest client that acks (the simulator's ceiling) and the embedding API with a no-op
//! handler. Every wait is bounded.

use phantom_fsm::runtime::{NoopHandler, Runtime};
use phantom_fsm::sim::{
    AckOutcome, Event, LogFilter, RefreshStyle, SimConfig, SimHandle, Target, TrafficKind,
};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("measure") => measure(&args[1], &args[3..]).await,
        Some("ack-only") => ack_only().await,
        Some("embed") => embed().await,
        _ => Err("usage: bench measure NAME -- CMD... | bench ack-only | bench embed".into()),
    }
}

fn env_num(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every process whose ancestry reaches `root` (including it).
fn tree(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
            continue;
        };
        let ppid = rest
            .split(' ')
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0);
        parents.push((pid, ppid));
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    out
}

/// CPU seconds (user, system) of the tree, and the sum of its processes' peak RSS (KiB).
fn usage(root: u32) -> ((f64, f64), u64) {
    let tick = 100.0; // USER_HZ on Linux
    let (mut user, mut sys, mut hwm) = (0.0, 0.0, 0);
    for pid in tree(root) {
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            let rest: Vec<&str> = stat
                .rsplit_once(") ")
                .map(|(_, r)| r)
                .unwrap_or("")
                .split(' ')
                .collect();
            let t = |i: usize| {
                rest.get(i)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            user += t(11) / tick;
            sys += t(12) / tick;
        }
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            hwm += status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    ((user, sys), hwm)
}

/// Acks (counted, any outcome) logged after `since`, with their latencies; returns the new
/// `since`: the log's last seq as read before the query, or the last ack's if later. (Returning
/// only the last ack's seq left every later record "new", so a wait for the log to grow past
/// `since` returned at once and the loop spun without yielding, starving the in-process
/// simulator until the client's liveness check dropped the link.)
fn new_acks(sim: &SimHandle, since: u64, lat: &mut Vec<u64>, links: &mut Vec<u64>) -> u64 {
    let filter = LogFilter {
        kind: Some("ack".into()),
        link: None,
    };
    // Records appended after this read and before the query are either acks (returned, and
    // `last` moves past them) or not acks (skipped for good): none is counted twice or missed.
    let mut last = sim.last_seq().max(since);
    for r in sim.log(since, &filter) {
        last = last.max(r.seq);
        if let Event::Ack {
            latency_us,
            outcome,
            link,
            ..
        } = r.event
            && outcome != AckOutcome::Unknown
        {
            lat.push(latency_us);
            links.push(link.0);
        }
    }
    last
}

/// Wait until the log grows past `seq` (at most `timeout`): always yields to the simulator.
async fn log_grows(sim: &SimHandle, seq: u64, timeout: Duration) {
    let _ = sim.wait_until(timeout, || sim.last_seq() > seq).await;
    tokio::task::yield_now().await;
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn measure(name: &str, cmd: &[String]) -> Result<(), BoxError> {
    let count = env_num("BENCH_COUNT", 20_000);
    let window = env_num("BENCH_WINDOW", 500);
    let config = SimConfig {
        rate: 0.0,
        ack_timeout: Duration::from_secs(10),
        ..SimConfig::default()
    };
    let sim = SimHandle::start(config).await?;
    let data = tempfile::tempdir_in(std::env::var("BENCH_SCRATCH").unwrap_or_else(|_| ".".into()))?;
    let started = Instant::now();
    let mut child: Child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .env("SLACK_API_URL", sim.api_url())
        .env("SLACK_APP_TOKEN", sim.app_token())
        .env("SLACK_BOT_TOKEN", sim.bot_token())
        .env("PHANTOM_DATA_DIR", data.path())
        .env("PHANTOM_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let result = drive(&sim, pid, started, count, window).await;
    stop(&mut child).await;
    let mut fig = result?;
    fig["client"] = name.into();
    println!("{fig}");
    sim.shutdown().await;
    Ok(())
}

/// SIGTERM, up to 10 s to exit (a client under `valgrind` writes its profile then), SIGKILL.
async fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
}

async fn drive(
    sim: &SimHandle,
    pid: u32,
    started: Instant,
    count: u32,
    window: u32,
) -> Result<serde_json::Value, BoxError> {
    let bound = Duration::from_secs(env_num("BENCH_BOUND_S", 120).into());
    sim.wait_until(Duration::from_secs(30), || {
        sim.links().iter().any(|l| l.ready)
    })
    .await?;
    let connect_ms = started.elapsed().as_secs_f64() * 1e3;
    // Warm up (first-use allocation, JIT in Node), then measure.
    let (mut lat, mut links) = (Vec::new(), Vec::new());
    sim.push_now(200, TrafficKind::EventsApi, Target::All);
    let mut since = 0;
    let warm = Instant::now() + Duration::from_secs(10);
    while lat.len() < 200 && Instant::now() < warm {
        log_grows(sim, since, Duration::from_millis(200)).await;
        since = new_acks(sim, since, &mut lat, &mut links);
    }
    lat.clear();
    let deadline = Instant::now() + bound;
    let (cpu0, _) = usage(pid);
    let t0 = Instant::now();
    let mut pushed = 0u32;
    while (lat.len() as u32) < count && Instant::now() < deadline {
        let in_flight = pushed.saturating_sub(lat.len() as u32);
        let n = (window - in_flight.min(window)).min(count - pushed);
        if n > 0 {
            sim.push_now(n, TrafficKind::EventsApi, Target::All);
            pushed += n;
        }
        log_grows(sim, since, Duration::from_millis(100)).await;
        since = new_acks(sim, since, &mut lat, &mut links);
    }
    let secs = t0.elapsed().as_secs_f64();
    let (cpu1, _) = usage(pid);
    let user = cpu1.0 - cpu0.0;
    let (cpu0, cpu1) = (cpu0.0 + cpu0.1, cpu1.0 + cpu1.1);
    let acked = lat.len();
    lat.sort_unstable();
    let throughput = (
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or(0),
    );

    // 1,000/s for 2 s with a refresh_requested after 1 s.
    lat.clear();
    links.clear();
    let lost0: u64 = sim.lost().values().sum();
    sim.push_at_rate(2000, 1000.0, TrafficKind::EventsApi, Target::All)?;
    let t1 = Instant::now();
    let mut refreshed_at = None;
    let mut old_links = Vec::new();
    let mut gap = Duration::ZERO;
    let mut gap_from: Option<Instant> = None;
    let mut first_new_ack_ms = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while lat.len() < 2000 && Instant::now() < deadline {
        if refreshed_at.is_none() && t1.elapsed() >= Duration::from_secs(1) {
            old_links = sim.links().iter().map(|l| l.id.0).collect();
            sim.refresh(
                Target::All,
                RefreshStyle::RefreshRequested,
                Some(Duration::from_secs(5)),
            );
            refreshed_at = Some(Instant::now());
        }
        let active = sim.links().iter().any(|l| l.ready && !l.ghost);
        match (active, gap_from) {
            (false, None) => gap_from = Some(Instant::now()),
            (true, Some(from)) => {
                gap = gap.max(from.elapsed());
                gap_from = None;
            }
            _ => {}
        }
        log_grows(sim, since, Duration::from_millis(5)).await;
        let before = links.len();
        since = new_acks(sim, since, &mut lat, &mut links);
        if let Some(at) = refreshed_at
            && first_new_ack_ms.is_none()
            && links[before..].iter().any(|l| !old_links.contains(l))
        {
            first_new_ack_ms = Some(at.elapsed().as_secs_f64() * 1e3);
        }
    }
    // What is still unacked is given up on after the retries; count it as lost now.
    let lost = sim.lost().values().sum::<u64>() - lost0 + (2000 - lat.len().min(2000)) as u64;
    lat.sort_unstable();
    let (_, rss_kib) = usage(pid);
    Ok(serde_json::json!({
        "envelopes": acked,
        "acks_per_s": (acked as f64 / secs).round(),
        "p50_us": throughput.0, "p99_us": throughput.1, "max_us": throughput.2,
        "cpu_s_per_10k": ((cpu1 - cpu0) * 10_000.0 / acked.max(1) as f64 * 1000.0).round() / 1000.0,
        "cpu_user_share": ((user / (cpu1 - cpu0).max(1e-9)) * 100.0).round() / 100.0,
        "peak_rss_kib": rss_kib,
        "connect_ms": (connect_ms * 10.0).round() / 10.0,
        "at_1000_per_s": {"p50_us": pct(&lat, 0.5), "p99_us": pct(&lat, 0.99), "max_us": lat.last().copied().unwrap_or(0)},
        "refresh": {
            "lost": lost,
            "longest_gap_ms": (gap.as_secs_f64() * 1e4).round() / 10.0,
            "first_ack_on_new_link_ms": first_new_ack_ms.map(|m| (m * 10.0).round() / 10.0),
        },
    }))
}

/// The smallest client that acks: open a connection, ack every envelope, reconnect on
/// `disconnect`. The ceiling the simulator allows.
async fn ack_only() -> Result<(), BoxError> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let api = std::env::var("SLACK_API_URL")?;
    let token = std::env::var("SLACK_APP_TOKEN")?;
    loop {
        let open = format!("{api}apps.connections.open");
        let token2 = token.clone();
        let reply: serde_json::Value = tokio::task::spawn_blocking(move || {
            ureq::post(&open)
                .header("Authorization", &format!("Bearer {token2}"))
                .send_empty()?
                .body_mut()
                .read_json::<serde_json::Value>()
        })
        .await??;
        let url = reply["url"].as_str().ok_or("no url")?.to_string();
        let (ws, _) = tokio_tungstenite::connect_async(url).await?;
        let (mut tx, mut rx) = ws.split();
        while let Some(msg) = rx.next().await {
            let Message::Text(text) = msg? else { continue };
            let v: serde_json::Value = serde_json::from_str(&text)?;
            if let Some(id) = v["envelope_id"].as_str() {
                tx.send(Message::text(format!(r#"{{"envelope_id":"{id}"}}"#)))
                    .await?;
            } else if v["type"] == "disconnect" {
                break;
            }
        }
    }
}

/// The embedding API with a handler that does nothing.
async fn embed() -> Result<(), BoxError> {
    let data = std::env::var("PHANTOM_DATA_DIR")?;
    let runtime = Runtime::builder()
        .api_url(std::env::var("SLACK_API_URL")?)
        .app_token(std::env::var("SLACK_APP_TOKEN")?)
        .data_dir(data)
        .handler(NoopHandler)
        .build()?;
    runtime.run().await?;
    Ok(())
}
