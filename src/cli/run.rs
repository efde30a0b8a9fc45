//! `phantom-fsm run`: hold the Socket Mode connection, serve `/metrics`, `/health` and
//! `/debug/state`, stop cleanly on SIGTERM/SIGINT.
//!
//! The first stdout line is `listen=ADDR` (the bound address; useful with port 0); logs go to
//! stderr (`RUST_LOG`, `--log-format pretty|json`). A bad setting is one line naming the flag,
//! exit status 2, with nothing written.

use super::{CliError, UsageError};
use clap::{Args, ValueEnum};
use phantom_fsm::onboarding::OnboardingConfig;
use phantom_fsm::runtime::bridge::BridgeConfig;
use phantom_fsm::runtime::{DEFAULT_API_URL, DEFAULT_DATA_DIR, Runtime, RuntimeError};
use phantom_fsm::slack::{GatewayError, HttpOptions, MetadataGateway, Secret, SecretName};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Slack's Web API base URL (with or without the trailing slash).
    #[arg(long, env = "SLACK_API_URL", default_value = DEFAULT_API_URL)]
    slack_api_url: String,
    /// The app-level token (xapp-...), for apps.connections.open.
    #[arg(long, env = "SLACK_APP_TOKEN", hide_env_values = true, value_parser = secret)]
    app_token: Option<Secret>,
    /// The bot token (xoxb-...).
    #[arg(long, env = "SLACK_BOT_TOKEN", hide_env_values = true, value_parser = secret)]
    bot_token: Option<Secret>,
    /// The installer's Slack user id (U...): enables the onboarding intro DM.
    #[arg(long, env = "SLACK_INSTALLER_USER_ID")]
    installer_user_id: Option<String>,
    /// How long the intro waits after an ambiguous post before reading history, in ms
    /// (default 15000; shorten only against the simulator).
    #[arg(long, env = "PHANTOM_INTRO_SETTLE_MS")]
    intro_settle_ms: Option<u64>,
    /// The gap between the two "not found" history scans before a resend, in ms (default
    /// 60000; shorten only against the simulator).
    #[arg(long, env = "PHANTOM_INTRO_CONFIRM_GAP_MS")]
    intro_confirm_gap_ms: Option<u64>,
    /// The LMDB data dir (created 0700).
    #[arg(long, env = "PHANTOM_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// Where /metrics, /health, /debug/state and the inspector /debug/ui are served.
    #[arg(long, env = "PHANTOM_LISTEN", default_value = "127.0.0.1:9464")]
    listen: SocketAddr,
    /// The metadata gateway: missing tokens are read from GET {base}/secrets/{name}.
    #[arg(long, env = "METADATA_BASE_URL")]
    metadata_base_url: Option<String>,
    /// The HTTP bridge: forward every envelope to this URL as Slack's HTTP delivery would
    /// (e.g. a Bolt app's http://127.0.0.1:3000/slack/events).
    #[arg(long, env = "PHANTOM_FORWARD_URL")]
    forward_url: Option<String>,
    /// The app's signing secret, to sign forwarded requests (required with --forward-url; else
    /// read from the metadata gateway's slack_gateway_signing_secret).
    #[arg(long, env = "SLACK_SIGNING_SECRET", hide_env_values = true, value_parser = secret)]
    signing_secret: Option<Secret>,
    /// Ask Slack for 360 s link lifetimes, to rehearse handovers.
    #[arg(long)]
    debug_reconnects: bool,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "pretty")]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

fn secret(s: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(s.trim()))
}

pub(crate) fn run(args: RunArgs) -> Result<(), CliError> {
    init_logging(args.log_format);
    let runtime = build(&args)?;
    // One thread: the binary's tasks (driver, links, HTTP) are all short and async, the store
    // has its own thread and Web API calls use the blocking pool. Measured against the
    // simulator, this halves CPU per envelope and ack latency compared with the multi-thread
    // scheduler (no cross-thread wake-ups), on the small VMs a tenant runs on. An embedder with
    // CPU-heavy handlers brings its own multi-thread runtime.
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = tokio.block_on(serve(runtime));
    // An `apps.connections.open` call may still sit on the blocking pool (a reply that never
    // comes): the driver gave up on it, and exiting must not wait for its HTTP timeout.
    tokio.shutdown_timeout(std::time::Duration::from_millis(200));
    result
}

fn build(args: &RunArgs) -> Result<Runtime, CliError> {
    let app = token(
        args,
        SecretName::SlackAppToken,
        &args.app_token,
        "--app-token",
    )?;
    let bot = token(
        args,
        SecretName::SlackBotToken,
        &args.bot_token,
        "--bot-token",
    )?;
    let mut builder = Runtime::builder()
        .api_url(args.slack_api_url.clone())
        .app_token(app.expose())
        .bot_token(bot.expose())
        .data_dir(args.data_dir.clone())
        .listen(Some(args.listen))
        .debug_reconnects(args.debug_reconnects)
        .installer(args.installer_user_id.clone().filter(|u| !u.is_empty()))
        .onboarding_config(onboarding_config(args));
    if let Some(url) = args.forward_url.as_deref().filter(|u| !u.is_empty()) {
        let secret = token(
            args,
            SecretName::SlackGatewaySigningSecret,
            &args.signing_secret,
            "--signing-secret",
        )?;
        builder = builder.forward(BridgeConfig::new(url, secret));
    }
    builder.build().map_err(|e| match e.flag() {
        Some(flag) => UsageError::new(flag, e.to_string()).into(),
        None => e.into(),
    })
}

/// The onboarding timings: the documented defaults, with the test/demo shortenings given.
fn onboarding_config(args: &RunArgs) -> OnboardingConfig {
    let mut config = OnboardingConfig::default();
    if let Some(ms) = args.intro_settle_ms {
        config.reconcile_settle = std::time::Duration::from_millis(ms);
    }
    if let Some(ms) = args.intro_confirm_gap_ms {
        config.resend_confirm_gap = std::time::Duration::from_millis(ms);
    }
    config
}

/// A token (or the signing secret) from its flag or env var, else from the metadata gateway,
/// else a usage error.
fn token(
    args: &RunArgs,
    name: SecretName,
    given: &Option<Secret>,
    flag: &'static str,
) -> Result<Secret, CliError> {
    if let Some(token) = given.as_ref().filter(|t| !t.expose().is_empty()) {
        return Ok(token.clone());
    }
    let missing = || {
        let env = match flag {
            "--app-token" => "SLACK_APP_TOKEN",
            "--signing-secret" => "SLACK_SIGNING_SECRET",
            _ => "SLACK_BOT_TOKEN",
        };
        UsageError::new(flag, format!("missing (set {flag} or {env})"))
    };
    let Some(base) = &args.metadata_base_url else {
        return Err(missing().into());
    };
    let gateway = MetadataGateway::new(base, &HttpOptions::default())
        .map_err(|e| UsageError::new("--metadata-base-url", e.to_string()))?;
    match gateway.fetch(name) {
        Ok(token) => Ok(token),
        Err(GatewayError::Unknown { .. }) => Err(missing().into()),
        Err(e) => Err(UsageError::new("--metadata-base-url", e.to_string()).into()),
    }
}

async fn serve(runtime: Runtime) -> Result<(), CliError> {
    if let Some(addr) = runtime.http_addr() {
        println!("listen={addr}");
        std::io::stdout().flush()?;
    }
    let handle = runtime.handle();
    tokio::spawn(async move {
        stopped().await;
        tracing::info!("stop requested: disconnecting");
        handle.shutdown();
    });
    runtime.run().await.map_err(|e: RuntimeError| e.into())
}

async fn stopped() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Pretty => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
