//! The operator HTTP server (`docs/contracts.md`): `GET /metrics`, `GET /health`,
//! `GET /debug/state`, and the live inspector `GET /debug/ui` with its event stream
//! `GET /debug/events`. Unknown paths are 404, other methods 405.
//!
//! It drives hyper itself rather than `axum::serve`, because only hyper's builder can bound the
//! time a client takes to send its request head: together with the request timeout, the head
//! and body size limits, the connection cap and the write-stall timeout (a client that stops
//! reading its response), a slow or malformed client cannot hold the server. Nothing it serves contains a token: the metrics, the status board and the journal
//! carry only states, counts and Slack ids.

use super::status::StatusBoard;
use crate::engine::Now;
use crate::telemetry::{self, Telemetry};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// Limits of the HTTP server. `Default` gives the documented defaults.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// A connection that has not sent a complete request head within this time (also while
    /// idle between keep-alive requests) is closed. Default 10 s.
    pub header_read_timeout: Duration,
    /// A request not answered within this time gets 408. Default 10 s.
    pub request_timeout: Duration,
    /// Largest request head accepted; larger gets 431. At least 8 KiB. Default 16 KiB.
    pub max_head_bytes: usize,
    /// Largest request body accepted (no route reads one); larger gets 413. Default 4 KiB.
    pub max_body_bytes: usize,
    /// Connections served at once; further clients wait in the listen backlog. Default 64.
    pub max_connections: usize,
    /// After shutdown is requested, how long open connections may finish. Default 5 s.
    pub shutdown_grace: Duration,
    /// A connection whose response writes make no progress for this long (the client stopped
    /// reading) is closed. Default 30 s.
    pub write_stall_timeout: Duration,
    /// `/debug/events` streams open at once; more get 503. Default 8.
    pub max_event_streams: usize,
    /// Frames queued for one `/debug/events` reader; a reader this far behind is dropped.
    /// Default 64.
    pub event_queue: usize,
    /// How often `/debug/events` sends a `status` event. Default 1 s.
    pub status_interval: Duration,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            max_head_bytes: 16 * 1024,
            max_body_bytes: 4 * 1024,
            max_connections: 64,
            shutdown_grace: Duration::from_secs(5),
            write_stall_timeout: Duration::from_secs(30),
            max_event_streams: 8,
            event_queue: 64,
            status_interval: Duration::from_secs(1),
        }
    }
}

/// What the handlers read: the metrics, the status board, and the clock `/health` is computed
/// at. Cheap to clone.
#[derive(Clone)]
pub struct HttpState {
    telemetry: Telemetry,
    board: StatusBoard,
    clock: Arc<dyn Fn() -> Now + Send + Sync>,
    /// Set when the server shuts down: ends the event streams, which never end by themselves.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl std::fmt::Debug for HttpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpState")
            .field("telemetry", &self.telemetry)
            .field("board", &self.board)
            .finish_non_exhaustive()
    }
}

impl HttpState {
    /// Serve `telemetry` and `board`; `clock` gives the time `/health` is computed at (the
    /// same clock, and origin, the board was started with).
    pub fn new(
        telemetry: Telemetry,
        board: StatusBoard,
        clock: impl Fn() -> Now + Send + Sync + 'static,
    ) -> HttpState {
        HttpState {
            telemetry,
            board,
            clock: Arc::new(clock),
            closing: Arc::new(tokio::sync::watch::Sender::new(false)),
        }
    }

    pub(crate) fn board(&self) -> &StatusBoard {
        &self.board
    }

    pub(crate) fn now(&self) -> Now {
        (self.clock)()
    }

    pub(crate) fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }
}

/// The routes with their request limits, as a tower service (for embedding in another server;
/// [`serve`] adds the connection-level limits).
pub fn router(state: HttpState, config: &HttpConfig) -> Router {
    let slots = Arc::new(Semaphore::new(config.max_event_streams));
    let events_config = config.clone();
    Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/debug/state", get(debug_state))
        .route("/debug/ui", get(super::ui::page))
        .route(
            "/debug/events",
            get(move |State(state): State<HttpState>| {
                std::future::ready(super::events::respond(state, &slots, &events_config))
            }),
        )
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
}

async fn metrics(State(state): State<HttpState>) -> Response {
    (
        [(header::CONTENT_TYPE, telemetry::CONTENT_TYPE)],
        state.telemetry.render(),
    )
        .into_response()
}

async fn health(State(state): State<HttpState>) -> Response {
    Json(state.board.health((state.clock)())).into_response()
}

async fn debug_state(State(state): State<HttpState>) -> Response {
    // The first call derives the diagrams by exploring the machines: keep it off the executor.
    match tokio::task::spawn_blocking(move || state.board.debug_state()).await {
        Ok(report) => Json(report).into_response(),
        Err(error) => {
            tracing::error!(%error, "building /debug/state failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Serve the routes on `listener` until `shutdown` completes, then let open connections finish
/// for up to [`HttpConfig::shutdown_grace`] and drop the rest. Accept errors (e.g. out of file
/// descriptors) are logged and retried, never fatal.
pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    config: HttpConfig,
    shutdown: impl Future<Output = ()>,
) {
    let closing = state.closing.clone();
    let app = router(state, &config);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut connections = JoinSet::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_head_bytes.max(8192));
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "accepting an HTTP connection failed");
                    // Out of descriptors and the like: give the process a moment to recover.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(builder.serve_connection(
            TokioIo::new(super::stall::StallGuard::new(
                stream,
                config.write_stall_timeout,
            )),
            service,
        ));
        connections.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "HTTP connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    closing.send_replace(true);
    if tokio::time::timeout(config.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("HTTP connections still open after the shutdown grace: dropping them");
    }
    connections.abort_all();
}
