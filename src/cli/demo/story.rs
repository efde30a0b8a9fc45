//! The demo's scripted story against the in-process simulator, and its summary.

use super::output::{Paint, Printer, percentile};
use crate::cli::CliError;
use phantom_fsm::engine::mermaid;
use phantom_fsm::onboarding::OnboardingConfig;
use phantom_fsm::registry;
use phantom_fsm::runtime::{Runtime, StatusBoard, SystemClock, handler_fn};
use phantom_fsm::sim::{ApiFault, Event, RefreshStyle, SimConfig, SimHandle, Target, TrafficKind};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

/// Events pushed at each traffic beat.
const BURST: u32 = 5;

/// Play the story for `duration` (or until Ctrl-C), then print the summary.
pub(crate) async fn play(
    duration: Duration,
    data_dir: Option<PathBuf>,
    listen: SocketAddr,
) -> Result<(), CliError> {
    let printer = Printer::new();
    // Slack's retries and cuts shortened, so the story fits in seconds.
    let sim = SimHandle::start(SimConfig {
        rate: 0.0,
        retry_scale: 0.01,
        ghost_ttl: Duration::from_secs(1),
        disconnect_cut_after: Duration::from_millis(1500),
        ..SimConfig::default()
    })
    .await?;
    let temp = tempfile::tempdir()?;
    let dir = data_dir.unwrap_or_else(|| temp.path().join("data"));
    let installer = sim.config().human_user_id.clone();
    // The first intro post is rate-limited: the ledger retries it after Retry-After.
    sim.fail_next("chat.postMessage", 1, ApiFault::rate_limited(1))?;
    let onboarding = OnboardingConfig {
        reconcile_settle: Duration::from_millis(500),
        resend_confirm_gap: Duration::from_secs(1),
        ..OnboardingConfig::default()
    };
    let runtime = Runtime::builder()
        .api_url(sim.api_url())
        .app_token(sim.app_token())
        .bot_token(sim.bot_token())
        .data_dir(&dir)
        .listen(Some(listen))
        .installer(Some(installer.clone()))
        .onboarding_config(onboarding)
        // Slash commands are answered inside their ack, as Slack lets a handler do.
        .responder(true)
        .handler(handler_fn(
            |delivery: phantom_fsm::runtime::Delivery| async move {
                if delivery.can_respond() {
                    delivery
                        .respond(serde_json::json!({ "text": "Hello from phantom-fsm's demo" }));
                }
                Ok(())
            },
        ))
        .build()?;
    let metrics_url = runtime
        .http_addr()
        .map(|a| format!("http://{a}/metrics"))
        .unwrap_or_default();
    let board = runtime.status().clone();
    let handle = runtime.handle();
    printer.line(&printer.paint(
        Paint::Bold,
        &format!(
            "phantom-fsm demo: {}s against the simulated Slack at {} (metrics: {metrics_url})",
            duration.as_secs(),
            sim.api_url()
        ),
    ));
    let transitions = tokio::spawn(log_transitions(printer.clone(), board.clone()));
    let running = tokio::spawn(runtime.run());
    let start = Instant::now();
    let progress = tokio::spawn(show_progress(
        printer.clone(),
        board.clone(),
        start,
        duration,
    ));

    let mut state = handle.state();
    tokio::select! {
        () = script(&printer, &sim, start, duration, &mut state) => {}
        _ = tokio::signal::ctrl_c() => printer.line(&printer.paint(Paint::Yellow, "▶ Ctrl-C: stopping early")),
    }
    let socket_state = *state.borrow();
    progress.abort();
    handle.shutdown();
    running.await??;
    transitions.abort();
    printer.end_progress();
    summary(
        &printer,
        &sim,
        &board,
        &installer,
        &metrics_url,
        socket_state,
    );
    sim.shutdown().await;
    Ok(())
}

/// The beats, each at its fraction of `duration`.
async fn script(
    printer: &Printer,
    sim: &SimHandle,
    start: Instant,
    duration: Duration,
    state: &mut tokio::sync::watch::Receiver<&'static str>,
) {
    let say = |text: &str| {
        printer.line(&printer.paint(Paint::Yellow, &format!("{} ▶ {text}", printer.clock())))
    };
    let at = |fraction: f64| tokio::time::sleep_until(start + duration.mul_f64(fraction));
    say("connecting (apps.connections.open, then the WebSocket hello)");
    let _ = tokio::time::timeout(duration / 4, state.wait_for(|s| *s == "connected")).await;
    at(0.10).await;
    say(&format!("Slack sends {BURST} events"));
    sim.push_now(BURST, TrafficKind::EventsApi, Target::All);
    at(0.25).await;
    say("Slack warns the link will be refreshed: a standby link takes over (handover)");
    sim.refresh(Target::All, RefreshStyle::Warning, None);
    at(0.40).await;
    say(&format!("Slack sends {BURST} more events"));
    sim.push_now(BURST, TrafficKind::EventsApi, Target::All);
    at(0.55).await;
    say("the link drops abruptly (no close frame): reconnect");
    sim.drop_link(Target::All);
    at(0.70).await;
    say("a slash command (answered inside its ack) and more events");
    // Slack never retries a slash command: send it once the reconnected link is up (the
    // reconnect waits a jittered backoff), or it is lost like any sent into a gap.
    let _ = sim
        .wait_until(Duration::from_secs(5), || {
            sim.links().iter().any(|l| l.ready && !l.ghost)
        })
        .await;
    sim.push_now(1, TrafficKind::SlashCommands, Target::All);
    sim.push_now(BURST, TrafficKind::EventsApi, Target::All);
    at(0.85).await;
    say(&format!("Slack sends {BURST} more events"));
    sim.push_now(BURST, TrafficKind::EventsApi, Target::All);
    at(1.0).await;
    say("the story is over: stopping (close frames, store flushed)");
}

/// One line per transition, from the journal rows the runtime records.
async fn log_transitions(printer: Printer, board: StatusBoard) {
    let (_, mut rows) = board.subscribe();
    let clock = SystemClock::start();
    loop {
        let row = match rows.recv().await {
            Ok(row) => row,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => return,
        };
        let Ok(row) = serde_json::from_str::<serde_json::Value>(&row) else {
            continue;
        };
        let text = |key: &str| row[key].as_str().unwrap_or("?").to_string();
        let machine = text("machine");
        let paint = if machine == "onboarding" {
            Paint::Magenta
        } else {
            Paint::Cyan
        };
        let status = board.status_event(clock.now());
        let links = status.links.active + status.links.standby + status.links.draining;
        printer.line(&format!(
            "{} {} {} → {} {}  {}",
            printer.paint(Paint::Dim, &printer.clock()),
            printer.paint(paint, &format!("{machine:<11}")),
            text("from"),
            printer.paint(Paint::Green, &text("to")),
            printer.paint(Paint::Dim, &format!("({})", text("event"))),
            printer.paint(
                Paint::Dim,
                &format!("links={links} acked={}", status.envelopes.acked)
            ),
        ));
    }
}

/// The progress line: redrawn in place on a terminal, a line every quarter when piped.
async fn show_progress(printer: Printer, board: StatusBoard, start: Instant, duration: Duration) {
    let clock = SystemClock::start();
    let tick = if printer.tty() {
        Duration::from_millis(250)
    } else {
        duration / 4
    };
    loop {
        tokio::time::sleep(tick).await;
        let done = start.elapsed().as_secs_f64() / duration.as_secs_f64();
        let width = 20;
        let filled = ((done.min(1.0)) * width as f64) as usize;
        let status = board.status_event(clock.now());
        printer.progress(format!(
            "[{}{}] {:>4.1}s/{}s  socket {}  acked {}  onboarding {}",
            "#".repeat(filled),
            " ".repeat(width - filled),
            start.elapsed().as_secs_f64(),
            duration.as_secs(),
            status.health.slack.state,
            status.envelopes.acked,
            serde_json::to_value(status.health.onboarding)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        ));
    }
}

fn summary(
    printer: &Printer,
    sim: &SimHandle,
    board: &StatusBoard,
    installer: &str,
    metrics_url: &str,
    socket_state: &str,
) {
    let status = board.status_event(SystemClock::start().now());
    let links = sim
        .log(0, &Default::default())
        .iter()
        .filter(|r| matches!(r.event, Event::LinkOpened { .. }))
        .count();
    let acks = sim.acks();
    let mut latencies: Vec<u64> = acks.iter().map(|a| a.latency_us).collect();
    latencies.sort_unstable();
    let ms = |p| {
        percentile(&latencies, p)
            .map(|us| format!("{:.2} ms", us as f64 / 1e3))
            .unwrap_or_else(|| "-".into())
    };
    let lost: u64 = sim.lost().values().sum();
    let onboarding = board
        .debug_state()
        .machines
        .iter()
        .find(|m| m.machine == "onboarding")
        .map(|m| m.state.clone())
        .unwrap_or_else(|| "disabled".into());
    let dms = (1..=4)
        .flat_map(|n| sim.messages(&format!("D{n:010}")))
        .filter(|m| m.bot && m.metadata.is_some())
        .count();
    let row = |label: &str, value: String| printer.line(&format!("  {label:<18} {value}"));
    printer.line(&printer.paint(Paint::Bold, "summary"));
    row("links opened", links.to_string());
    row("handovers", status.handovers.to_string());
    row("reconnects", status.reconnects.to_string());
    row("envelopes acked", acks.len().to_string());
    let answered = acks.iter().filter(|a| a.payload.is_some()).count();
    row("answered in acks", answered.to_string());
    row("envelopes lost", lost.to_string());
    row("ack latency", format!("p50 {}  p99 {}", ms(50), ms(99)));
    row("onboarding", onboarding.clone());
    row("intro DMs", format!("{dms} (to {installer})"));
    row(
        "metrics served at",
        format!("{metrics_url} (while the demo ran)"),
    );
    for (machine, state) in [
        ("socket_mode", socket_state),
        ("onboarding", onboarding.as_str()),
    ] {
        if let Some(diagram) = registry::diagram(machine) {
            printer.line(&printer.paint(
                Paint::Bold,
                &format!("{machine} (mermaid; final state `{state}` highlighted):"),
            ));
            printer.line(mermaid(diagram, Some(state)).trim_end());
        }
    }
}
