//! `phantom-fsm sim`: run the Slack simulator on 127.0.0.1 until SIGINT/SIGTERM.
//!
//! The first stdout line is `api_url=http://127.0.0.1:PORT/api/` (`https://` with
//! `--tls-cert`/`--tls-key`; flushed at once, for
//! scripts); the second `control_url=...`; the third the tokens it accepts (simulator
//! constants, not secrets: a client pointed at it must use them); then one readable line per
//! thing the simulator does.

use super::CliError;
use clap::{Args, ValueEnum};
use phantom_fsm::sim::{
    DEFAULT_APP_TOKEN, DEFAULT_BOT_TOKEN, DEFAULT_HISTORY_PAGE_LIMIT, Event, LogFilter, RetryIds,
    SimConfig, SimHandle, SimTls, TrafficKind,
};
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

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
    /// The app-level token `apps.connections.open` accepts (a simulator constant).
    #[arg(long, default_value = DEFAULT_APP_TOKEN)]
    app_token: String,
    /// The bot token every other method accepts (a simulator constant).
    #[arg(long, default_value = DEFAULT_BOT_TOKEN)]
    bot_token: String,
    /// Factor on Slack's event retry schedule (immediately, 1 min, 5 min); 0.01 makes it
    /// 0 s, 0.6 s, 3 s.
    #[arg(long, default_value_t = 1.0)]
    retry_scale: f64,
    /// Which envelope id a retried event carries.
    #[arg(long, value_enum, default_value = "alternate")]
    retry_ids: RetryIdsArg,
    /// Seconds a link that ended without a close handshake stays registered (a ghost).
    #[arg(long, default_value_t = 120.0)]
    ghost_ttl: f64,
    /// Most messages per `conversations.history` page (Slack: 15 for non-Marketplace apps).
    #[arg(long, default_value_t = DEFAULT_HISTORY_PAGE_LIMIT)]
    history_page_limit: usize,
    /// Least seconds between two `conversations.history` calls per channel (Slack: about 60
    /// for non-Marketplace apps); 0 = no limit.
    #[arg(long, default_value_t = 0.0)]
    history_rate_limit: f64,
    /// PEM certificate chain (leaf first): serve `https://` and `wss://` (needs --tls-key).
    #[arg(long, requires = "tls_key", value_name = "PATH")]
    tls_cert: Option<std::path::PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "PATH")]
    tls_key: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RetryIdsArg {
    Fresh,
    Same,
    Alternate,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TrafficArg {
    EventsApi,
    SlashCommands,
    Interactive,
    BlockSuggestion,
    ViewSubmission,
    Mixed,
}

pub(crate) fn run(args: SimArgs) -> Result<(), CliError> {
    if !(0.0..=10_000.0).contains(&args.rate) {
        return Err("--rate must be within 0..=10000".into());
    }
    for (flag, v) in [
        ("--retry-scale", args.retry_scale),
        ("--ghost-ttl", args.ghost_ttl),
        ("--history-rate-limit", args.history_rate_limit),
    ] {
        if !(0.0..=86_400.0).contains(&v) {
            return Err(format!("{flag} must be within 0..=86400").into());
        }
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(SimTls {
            cert_chain_pem: read_pem(cert, "--tls-cert")?,
            key_pem: read_pem(key, "--tls-key")?,
        }),
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(serve(args, tls))
}

fn read_pem(path: &std::path::Path, flag: &str) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| format!("{flag} {}: {e}", path.display()).into())
}

async fn serve(args: SimArgs, tls: Option<SimTls>) -> Result<(), CliError> {
    let config = SimConfig {
        listen: args.listen,
        rate: args.rate,
        traffic_kind: match args.traffic {
            TrafficArg::EventsApi => TrafficKind::EventsApi,
            TrafficArg::SlashCommands => TrafficKind::SlashCommands,
            TrafficArg::Interactive => TrafficKind::Interactive,
            TrafficArg::BlockSuggestion => TrafficKind::BlockSuggestion,
            TrafficArg::ViewSubmission => TrafficKind::ViewSubmission,
            TrafficArg::Mixed => TrafficKind::Mixed,
        },
        seed: args.seed,
        app_token: args.app_token.clone(),
        bot_token: args.bot_token.clone(),
        retry_scale: args.retry_scale,
        retry_envelope_ids: match args.retry_ids {
            RetryIdsArg::Fresh => RetryIds::Fresh,
            RetryIdsArg::Same => RetryIds::Same,
            RetryIdsArg::Alternate => RetryIds::Alternate,
        },
        ghost_ttl: Duration::from_secs_f64(args.ghost_ttl),
        history_page_limit: args.history_page_limit.max(1),
        history_min_interval: (args.history_rate_limit > 0.0)
            .then(|| Duration::from_secs_f64(args.history_rate_limit)),
        tls,
        ..SimConfig::default()
    };
    let sim = SimHandle::start(config).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "api_url={}", sim.api_url())?;
    out.flush()?;
    writeln!(out, "control_url={}", sim.control_url())?;
    // Simulator constants, not secrets: without them on screen a client gets invalid_auth.
    writeln!(
        out,
        "app_token={} bot_token={}",
        sim.app_token(),
        sim.bot_token()
    )?;
    writeln!(
        out,
        "app_id={} team_id={} bot_user_id={} rate={}/s per link retry_scale={} ghost_ttl={}s \
         history_page_limit={}",
        sim.config().app_id,
        sim.config().team_id,
        sim.config().bot_user_id,
        args.rate,
        args.retry_scale,
        args.ghost_ttl,
        sim.config().history_page_limit,
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
