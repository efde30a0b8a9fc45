//! `phantom-fsm sim`: run the Slack simulator on 127.0.0.1 until SIGINT/SIGTERM.
//!
//! The first stdout line is `api_url=http://127.0.0.1:PORT/api/` (flushed at once, for
//! scripts); the second `control_url=...`; then one readable line per thing the simulator does.

use super::CliError;
use clap::{Args, ValueEnum};
use phantom_fsm::sim::{Event, LogFilter, SimConfig, SimHandle, TrafficKind};
use std::io::Write;
use std::net::SocketAddr;

#[derive(Debug, Args)]
pub(crate) struct SimArgs {
    /// Address to listen on (loopback only; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Default traffic: envelopes per second on every connected link (0 = only pushed ones).
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// What default traffic carries.
    #[arg(long, value_enum, default_value = "events-api")]
    traffic: TrafficArg,
    /// Seed for every id the simulator makes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TrafficArg {
    EventsApi,
    SlashCommands,
    Interactive,
    Mixed,
}

pub(crate) fn run(args: SimArgs) -> Result<(), CliError> {
    if !(0.0..=10_000.0).contains(&args.rate) {
        return Err("--rate must be within 0..=10000".into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: SimArgs) -> Result<(), CliError> {
    let config = SimConfig {
        listen: args.listen,
        rate: args.rate,
        traffic_kind: match args.traffic {
            TrafficArg::EventsApi => TrafficKind::EventsApi,
            TrafficArg::SlashCommands => TrafficKind::SlashCommands,
            TrafficArg::Interactive => TrafficKind::Interactive,
            TrafficArg::Mixed => TrafficKind::Mixed,
        },
        seed: args.seed,
        ..SimConfig::default()
    };
    let sim = SimHandle::start(config).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "api_url={}", sim.api_url())?;
    out.flush()?;
    writeln!(out, "control_url={}", sim.control_url())?;
    writeln!(
        out,
        "app_id={} team_id={} bot_user_id={} rate={}/s per link (tokens: docs/simulator.md)",
        sim.config().app_id,
        sim.config().team_id,
        sim.config().bot_user_id,
        args.rate
    )?;
    out.flush()?;
    drop(out);
    tokio::select! {
        r = print_log(&sim) => r?,
        r = shutdown_signal() => r?,
    }
    println!("stopping");
    sim.shutdown().await;
    Ok(())
}

/// Print every new log record (server pings left out) as it happens.
async fn print_log(sim: &SimHandle) -> Result<(), CliError> {
    let mut since = 0;
    loop {
        let records = sim.log(since, &LogFilter::default());
        let mut out = std::io::stdout().lock();
        for r in &records {
            since = r.seq;
            let ping = matches!(&r.event, Event::FrameSent { frame, .. } if frame == "ping");
            if !ping {
                writeln!(out, "{r}")?;
            }
        }
        out.flush()?;
        drop(out);
        // Wait for the log to grow past what was printed.
        let _ = sim
            .wait_until(std::time::Duration::from_secs(3600), || {
                sim.last_seq() > since
            })
            .await;
    }
}

async fn shutdown_signal() -> Result<(), CliError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
