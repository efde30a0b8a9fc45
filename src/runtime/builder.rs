//! The embedding API: [`Runtime::builder`] → [`Runtime`] → [`Runtime::run`], with a
//! [`RuntimeHandle`] to stop it and watch the socket state.

use super::clock::Clock;
use super::driver::{Driver, Parts};
use super::error::{RuntimeError, check_token};
use super::handler::{ErasedHandler, EventHandler, NoopHandler};
use super::http::{HttpConfig, HttpState};
use super::ledger::LedgerParts;
use super::link::LinkSettings;
use super::opener::{ConnectionOpener, SlackOpener};
use super::persist::{Persister, Sinks};
use super::status::StatusBoard;
use crate::engine::Snapshot;
use crate::onboarding::OnboardingConfig;
use crate::slack::{AsyncSlackClient, HttpOptions, Secret, SlackClient};
use crate::socket::{DEFAULT_INSTANCE, MACHINE_ID, SocketConfig, SocketMode};
use crate::store::{Store, StoreConfig};
use crate::telemetry::Telemetry;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_tungstenite::Connector;

/// Slack's Web API.
pub const DEFAULT_API_URL: &str = "https://slack.com/api/";
/// The data dir when none is given.
pub const DEFAULT_DATA_DIR: &str = "./phantom-data";

/// Builds a [`Runtime`]. Start with [`Runtime::builder`].
pub struct RuntimeBuilder {
    api_url: String,
    app_token: Option<Secret>,
    bot_token: Option<Secret>,
    opener: Option<Arc<dyn ConnectionOpener>>,
    data_dir: PathBuf,
    listen: Option<SocketAddr>,
    handler: Arc<dyn ErasedHandler>,
    forward: Option<super::bridge::BridgeConfig>,
    socket: SocketConfig,
    seed: Option<u64>,
    debug_reconnects: bool,
    /// `Some`: set by [`responder`](Self::responder) or [`forward`](Self::forward), and wins
    /// over the [`socket_config`](Self::socket_config)'s field whatever the call order.
    responder: Option<bool>,
    http: HttpConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    installer: Option<String>,
    onboarding: OnboardingConfig,
}

impl std::fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("api_url", &self.api_url)
            .field("app_token", &self.app_token)
            .field("bot_token", &self.bot_token)
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("socket", &self.socket)
            .field("debug_reconnects", &self.debug_reconnects)
            .finish_non_exhaustive()
    }
}

impl RuntimeBuilder {
    fn new() -> RuntimeBuilder {
        RuntimeBuilder {
            api_url: DEFAULT_API_URL.to_string(),
            app_token: None,
            bot_token: None,
            opener: None,
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            listen: None,
            handler: Arc::new(NoopHandler),
            forward: None,
            socket: SocketConfig::default(),
            seed: None,
            debug_reconnects: false,
            responder: None,
            http: HttpConfig::default(),
            tls: None,
            installer: None,
            onboarding: OnboardingConfig::default(),
        }
    }

    /// The installer's Slack user id (`U..`): once connected, send them the intro DM exactly
    /// once (needs the bot token). `None` (the default) disables onboarding.
    pub fn installer(mut self, user_id: Option<String>) -> Self {
        self.installer = user_id;
        self
    }

    /// The onboarding machine's timings and intro text (default: the documented ones; the
    /// jitter seed is replaced by a random one unless [`seed`](Self::seed) is set).
    pub fn onboarding_config(mut self, config: OnboardingConfig) -> Self {
        self.onboarding = config;
        self
    }

    /// The Web API base URL (default [`DEFAULT_API_URL`]; with or without the trailing slash).
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = url.into();
        self
    }

    /// The app-level token (`xapp-...`) for `apps.connections.open`.
    pub fn app_token(mut self, token: impl Into<String>) -> Self {
        self.app_token = Some(Secret::new(token));
        self
    }

    /// The bot token (`xoxb-...`), for the Web API calls of the onboarding ledger.
    pub fn bot_token(mut self, token: impl Into<String>) -> Self {
        self.bot_token = Some(Secret::new(token));
        self
    }

    /// Call `apps.connections.open` through `opener` instead of the built-in client (a token
    /// source of your own). No app token is needed then.
    pub fn connection_opener(mut self, opener: impl ConnectionOpener) -> Self {
        self.opener = Some(Arc::new(opener));
        self
    }

    /// The LMDB data dir (default [`DEFAULT_DATA_DIR`]; created `0700`). One runtime per dir.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = dir.into();
        self
    }

    /// Serve `/metrics`, `/health` and `/debug/state` on `addr` (port 0: a free port, see
    /// [`Runtime::http_addr`]); `None` (the default) serves nothing.
    pub fn listen(mut self, addr: Option<SocketAddr>) -> Self {
        self.listen = addr;
        self
    }

    /// Let handlers answer inside the ack ([`Delivery::respond`](super::Delivery::respond)):
    /// envelopes with `accepts_response_payload` are dispatched before they are acked, and
    /// the ack waits for the answer until the ack deadline (default off: acked first).
    pub fn responder(mut self, on: bool) -> Self {
        self.responder = Some(on);
        self
    }

    /// Forward every envelope to an HTTP app as Slack's HTTP delivery would
    /// ([`bridge::Bridge`](super::bridge::Bridge)), replacing the handler, with responder mode
    /// on so the app's answers ride inside the acks. The URL is checked by [`build`](Self::build).
    pub fn forward(mut self, config: super::bridge::BridgeConfig) -> Self {
        self.forward = Some(config);
        self.responder = Some(true);
        self
    }

    /// The handler of every accepted envelope (default: none; envelopes are still acked).
    pub fn handler(mut self, handler: impl EventHandler) -> Self {
        self.handler = Arc::new(handler);
        self
    }

    /// The Socket Mode machine's timings and limits (default: the documented ones).
    pub fn socket_config(mut self, config: SocketConfig) -> Self {
        self.socket = config;
        self
    }

    /// Seed of the backoff jitter (default: random per runtime).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Ask Slack for 360 s link lifetimes, to rehearse handovers.
    pub fn debug_reconnects(mut self, on: bool) -> Self {
        self.debug_reconnects = on;
        self
    }

    /// Limits of the HTTP server.
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.http = config;
        self
    }

    /// The rustls configuration of the Web API client and the `wss://` links (default:
    /// [`platform_client_config`](crate::slack::platform_client_config): the platform trust
    /// store, honouring `SSL_CERT_FILE` / `SSL_CERT_DIR`, with the `ring` provider).
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Check the settings, bind the HTTP address, open the data dir and restore the socket
    /// machine. Fails with the setting at fault ([`RuntimeError::flag`]); a bad token or a
    /// busy port fails before anything is written to the data dir.
    ///
    /// ```
    /// use phantom_fsm::runtime::Runtime;
    ///
    /// let error = Runtime::builder().app_token("xoxb-1-2-3").build().unwrap_err();
    /// assert_eq!(error.flag(), Some("--app-token"));
    /// ```
    pub fn build(self) -> Result<Runtime, RuntimeError> {
        let tls = self.tls()?;
        let opener = self.opener(tls.clone())?;
        if let Some(bot) = &self.bot_token {
            check_token("bot", "xoxb-", bot.expose())?;
        }
        let telemetry = Telemetry::new();
        let handler = match self.forward.clone() {
            Some(config) => Arc::new(
                super::bridge::Bridge::new(config, telemetry.clone())
                    .map_err(|_| RuntimeError::ForwardUrl)?,
            ) as Arc<dyn ErasedHandler>,
            None => self.handler.clone(),
        };
        let ledger = self.ledger_setup(tls.clone())?;
        let listener = self.bind()?;
        let store = Store::open(StoreConfig::new(&self.data_dir)).map_err(RuntimeError::DataDir)?;
        let clock = Clock::start();
        let mut socket = self.socket;
        socket.seed = self.seed.unwrap_or_else(|| fastrand::u64(..));
        // The machine adds `debug_reconnects=true` to the link URLs it hands out.
        socket.debug_reconnects = self.debug_reconnects;
        if let Some(on) = self.responder {
            socket.responder = on;
        }
        // The bridge answers inside the acks whatever was asked.
        socket.responder |= self.forward.is_some();
        let machine = restore(&store, socket, &clock)?;
        let ledger = ledger.map(|mut setup| {
            setup.config.seed = self.seed.unwrap_or_else(|| fastrand::u64(..));
            setup
        });
        let (stop, _) = watch::channel(false);
        let (state, _) = watch::channel(machine.state_name());
        let (tokens, _) = watch::channel(0);
        Ok(Runtime {
            machine,
            store: Arc::new(store),
            clock,
            opener,
            handler,
            listener,
            http: self.http,
            tls,
            ledger,
            telemetry,
            board: StatusBoard::new(env!("CARGO_PKG_VERSION"), clock.now()),
            handle: RuntimeHandle {
                stop: Arc::new(stop),
                state: Arc::new(state),
                tokens: Arc::new(tokens),
            },
        })
    }

    /// The TLS configuration: the one given, else the platform's for an `https` API (a
    /// missing trust store is an error then), else (a local `http` simulator) the platform's
    /// if it loads.
    fn tls(&self) -> Result<Option<Arc<rustls::ClientConfig>>, RuntimeError> {
        if let Some(tls) = &self.tls {
            return Ok(Some(tls.clone()));
        }
        match crate::slack::platform_client_config() {
            Ok(tls) => Ok(Some(tls)),
            Err(e) if self.api_url.starts_with("https://") => Err(RuntimeError::Tls(e)),
            Err(_) => Ok(None),
        }
    }

    fn opener(
        &self,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<Arc<dyn ConnectionOpener>, RuntimeError> {
        if !(self.api_url.starts_with("http://") || self.api_url.starts_with("https://")) {
            return Err(RuntimeError::ApiUrl);
        }
        if let Some(opener) = &self.opener {
            return Ok(opener.clone());
        }
        let token = self
            .app_token
            .clone()
            .ok_or(RuntimeError::MissingToken { which: "app" })?;
        check_token("app", "xapp-", token.expose())?;
        let options = HttpOptions {
            tls,
            ..HttpOptions::default()
        };
        let client = SlackClient::new(&self.api_url, &options).map_err(|_| RuntimeError::ApiUrl)?;
        Ok(Arc::new(SlackOpener::new(client, token)))
    }

    /// The intro-DM driver's settings, when an installer is configured (the bot token is
    /// required then).
    fn ledger_setup(
        &self,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<Option<LedgerSetup>, RuntimeError> {
        let Some(installer) = self.installer.clone() else {
            return Ok(None);
        };
        let valid = !installer.is_empty() && !installer.contains('/') && installer != "-";
        if !valid {
            return Err(RuntimeError::Installer);
        }
        let bot_token = self
            .bot_token
            .clone()
            .ok_or(RuntimeError::MissingToken { which: "bot" })?;
        let options = HttpOptions {
            tls,
            ..HttpOptions::default()
        };
        let client = SlackClient::new(&self.api_url, &options).map_err(|_| RuntimeError::ApiUrl)?;
        Ok(Some(LedgerSetup {
            installer,
            bot_token,
            client: AsyncSlackClient::new(client, 2),
            config: self.onboarding.clone(),
        }))
    }

    fn bind(&self) -> Result<Option<std::net::TcpListener>, RuntimeError> {
        let Some(addr) = self.listen else {
            return Ok(None);
        };
        let listen = |source| RuntimeError::Listen { addr, source };
        let listener = std::net::TcpListener::bind(addr).map_err(listen)?;
        listener.set_nonblocking(true).map_err(listen)?;
        Ok(Some(listener))
    }
}

/// The machine as the store left it: restored from its snapshot (the driver then journals
/// `X -> disconnected (restarted)`), with the unexpired dedupe keys loaded.
fn restore(store: &Store, config: SocketConfig, clock: &Clock) -> Result<SocketMode, RuntimeError> {
    let now = clock.now().unix;
    let ttl = config.dedupe_ttl;
    let read = |e| RuntimeError::DataDir(e);
    store.prune_seen(now, ttl).map_err(read)?;
    let seen = store.load_unexpired(now, ttl).map_err(read)?;
    let snapshot = store
        .load_snapshot(MACHINE_ID, DEFAULT_INSTANCE)
        .map_err(read)?;
    tracing::info!(keys = seen.len(), "dedupe window restored");
    let machine = match snapshot {
        Some(stored) => {
            let snapshot: Snapshot = stored.snapshot();
            SocketMode::restore_with_seen(config.clone(), DEFAULT_INSTANCE, &snapshot, seen.clone())
                .unwrap_or_else(|error| {
                    tracing::warn!(%error, "socket snapshot not restorable; starting fresh");
                    SocketMode::with_seen(config, seen)
                })
        }
        None => SocketMode::with_seen(config, seen),
    };
    Ok(machine)
}

/// A tenant's runtime: one Socket Mode connection, its store, metrics and (optionally) its HTTP
/// server. A value with no process globals: several run side by side in one process.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sim = phantom_fsm::sim::SimHandle::start(Default::default()).await?;
/// # let (api_url, app_token) = (sim.api_url(), sim.app_token().to_string());
/// # let dir = tempfile::tempdir()?;
/// use phantom_fsm::runtime::{Runtime, handler_fn};
///
/// let runtime = Runtime::builder()
///     .api_url(api_url)
///     .app_token(app_token)
///     .data_dir(dir.path())
///     .handler(handler_fn(|delivery| async move {
///         println!("{} {:?}", delivery.envelope_type(), delivery.event_type());
///         Ok(())
///     }))
///     .build()?;
/// let handle = runtime.handle();
/// let mut state = handle.state();
/// let running = tokio::spawn(runtime.run());
/// state.wait_for(|s| *s == "connected").await?;
/// handle.shutdown(); // e.g. on SIGTERM
/// running.await??;
/// # Ok(()) }
/// ```
pub struct Runtime {
    machine: SocketMode,
    store: Arc<Store>,
    clock: Clock,
    opener: Arc<dyn ConnectionOpener>,
    handler: Arc<dyn ErasedHandler>,
    listener: Option<std::net::TcpListener>,
    http: HttpConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    ledger: Option<LedgerSetup>,
    telemetry: Telemetry,
    board: StatusBoard,
    handle: RuntimeHandle,
}

/// The intro-DM driver's settings (see [`RuntimeBuilder::installer`]).
struct LedgerSetup {
    installer: String,
    bot_token: Secret,
    client: AsyncSlackClient,
    config: OnboardingConfig,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("state", &*self.handle.state.borrow())
            .field("store", &self.store)
            .field("http", &self.http_addr())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A builder with the documented defaults.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::new()
    }

    /// A handle to stop the runtime and watch its socket state (cheap to clone).
    pub fn handle(&self) -> RuntimeHandle {
        self.handle.clone()
    }

    /// The bound HTTP address (the actual port when the builder was given port 0).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// This runtime's metrics (render them with [`Telemetry::render`]).
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// This runtime's status board (what `/health` and `/debug/state` report).
    pub fn status(&self) -> &StatusBoard {
        &self.board
    }

    /// Connect and serve until [`RuntimeHandle::shutdown`]; then stop through `disconnecting`
    /// (close frames sent, each with its grace), flush the store, stop the HTTP server and
    /// return.
    ///
    /// An `apps.connections.open` call still waiting for its reply is abandoned; its thread on
    /// tokio's blocking pool ends with the HTTP client's timeout. Shut the tokio runtime down
    /// with `shutdown_timeout` if the process should not wait for it (`phantom-fsm run` does).
    pub async fn run(self) -> Result<(), RuntimeError> {
        let stop = self.handle.stop.subscribe();
        let (http_stop, http_task) = self.serve_http()?;
        let persister = Persister::spawn(
            self.store.clone(),
            Sinks {
                telemetry: self.telemetry.clone(),
                board: self.board.clone(),
                clock: self.clock,
                dedupe_ttl: crate::engine::Machine::config(&self.machine).dedupe_ttl,
            },
        )
        .map_err(RuntimeError::Io)?;
        let (events_tx, events) = tokio::sync::mpsc::channel(1024);
        let config = crate::engine::Machine::config(&self.machine).clone();
        let links = LinkSettings {
            ws: LinkSettings::ws_config(config.max_frame_bytes),
            connector: self.tls.map(Connector::Rustls),
            events: events_tx,
            telemetry: self.telemetry.clone(),
        };
        let stop_bound = config.close_grace.saturating_mul(2) + Duration::from_secs(1);
        let ledger_task = self.ledger.map(|setup| {
            let parts = LedgerParts {
                installer: setup.installer,
                bot_token: setup.bot_token,
                client: setup.client,
                store: self.store.clone(),
                config: setup.config,
                clock: self.clock,
                telemetry: self.telemetry.clone(),
                board: self.board.clone(),
                socket: self.handle.state.subscribe(),
            };
            tokio::spawn(super::ledger::run(parts, self.handle.stop.subscribe()))
        });
        let parts = Parts {
            clock: self.clock,
            opener: self.opener,
            handler: self.handler,
            telemetry: self.telemetry,
            board: self.board,
            persister,
            state: self.handle.state.clone(),
            tokens: self.handle.tokens.clone(),
            links,
            events,
            stop_bound,
        };
        Driver::new(self.machine, parts).run(stop).await;
        if let Some(task) = ledger_task {
            // It ends on the stop signal; a call in flight is abandoned with it.
            let _ = task.await;
        }
        http_stop.send_replace(true);
        if let Some(task) = http_task {
            let _ = task.await;
        }
        Ok(())
    }

    fn serve_http(
        &self,
    ) -> Result<(watch::Sender<bool>, Option<tokio::task::JoinHandle<()>>), RuntimeError> {
        let (tx, mut rx) = watch::channel(false);
        let Some(listener) = &self.listener else {
            return Ok((tx, None));
        };
        let listener = listener.try_clone().map_err(RuntimeError::Io)?;
        let listener = tokio::net::TcpListener::from_std(listener).map_err(RuntimeError::Io)?;
        let clock = self.clock;
        let state = HttpState::new(self.telemetry.clone(), self.board.clone(), move || {
            clock.now()
        });
        let config = self.http.clone();
        let task = tokio::spawn(async move {
            let stopped = async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            super::http::serve(listener, state, config, stopped).await;
        });
        Ok((tx, Some(task)))
    }
}

/// Stops a [`Runtime`] and watches its socket state. Cheap to clone; usable from any task.
#[derive(Clone, Debug)]
pub struct RuntimeHandle {
    stop: Arc<watch::Sender<bool>>,
    state: Arc<watch::Sender<&'static str>>,
    /// Bumped by [`RuntimeHandle::tokens_changed`].
    tokens: Arc<watch::Sender<u64>>,
}

impl RuntimeHandle {
    /// Ask the runtime to stop: [`Runtime::run`] then closes every link (through
    /// `disconnecting`), flushes the store and returns. Idempotent.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }

    /// The Socket Mode machine's leaf state (`disconnected`, `connecting`, `authenticated`,
    /// `connected`, `reconnecting`, `disconnecting`, `error`), updated on every transition.
    pub fn state(&self) -> watch::Receiver<&'static str> {
        self.state.subscribe()
    }

    /// Tell the runtime that its tokens changed (your [`ConnectionOpener`] now hands out new
    /// ones): a machine in `error` (e.g. after `invalid_auth`) tries again at once instead of
    /// at its next 5-minute re-probe.
    pub fn tokens_changed(&self) {
        self.tokens.send_modify(|generation| *generation += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_token() {
        let builder = Runtime::builder()
            .app_token("xapp-1-A1-1-appsecret")
            .bot_token("xoxb-1-2-botsecret");
        let text = format!("{builder:?}");
        assert!(
            !text.contains("appsecret") && !text.contains("botsecret"),
            "{text}"
        );
        let dir = tempfile::tempdir().unwrap();
        let runtime = builder.data_dir(dir.path().join("d")).build().unwrap();
        let text = format!("{runtime:?}");
        assert!(
            !text.contains("appsecret") && !text.contains("botsecret"),
            "{text}"
        );
    }

    #[test]
    fn settings_are_checked_before_the_data_dir_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("d");
        let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let error = Runtime::builder()
            .app_token("xapp-1")
            .data_dir(&data)
            .listen(Some(busy.local_addr().unwrap()))
            .build()
            .unwrap_err();
        assert_eq!(error.flag(), Some("--listen"));
        let error = Runtime::builder().data_dir(&data).build().unwrap_err();
        assert_eq!(error.flag(), Some("--app-token"));
        assert!(!data.exists());
    }
}
