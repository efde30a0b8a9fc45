//! `GET /debug/events`: the inspector's Server-Sent Events stream (`docs/contracts.md`).
//!
//! On connect: a `retry` hint, the journal tail as `transition` events, then one `transition`
//! event per journal row as it is recorded and a `status` event every second. Bounded
//! everywhere: at most [`HttpConfig::max_event_streams`] streams (503 past it), each fed from
//! the status board's bounded broadcast through a small queue. A reader that falls behind
//! either (a full queue, a lagging broadcast receiver) is dropped, never waited for: the
//! browser's `EventSource` reconnects by itself and gets the tail again.

use super::http::{HttpConfig, HttpState};
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc};

/// The reconnect delay the stream asks `EventSource` for, in milliseconds.
pub const RETRY_MS: u64 = 2000;

/// One SSE frame: `event: NAME`, one `data:` line (JSON has no raw newlines), a blank line.
pub(crate) fn frame(event: &str, data: &str) -> String {
    debug_assert!(!data.contains('\n'));
    format!("event: {event}\ndata: {data}\n\n")
}

/// Answer one `/debug/events` request: 503 when every stream slot is taken, else the stream.
pub(crate) fn respond(state: HttpState, slots: &Arc<Semaphore>, config: &HttpConfig) -> Response {
    let Ok(permit) = slots.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "too many event streams\n",
        )
            .into_response();
    };
    let (tail, rows) = state.board().subscribe();
    let (tx, rx) = mpsc::channel::<Bytes>(config.event_queue.max(1));
    // The tail goes out as one chunk, so it never fills the queue by itself.
    let mut first = format!("retry: {RETRY_MS}\n\n");
    for row in &tail {
        first.push_str(&frame("transition", row));
    }
    let _ = tx.try_send(Bytes::from(first));
    tokio::spawn(forward(state, rows, tx, permit, config.status_interval));
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), rx))
    }));
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// Feed one stream until its reader goes away, falls behind, or the server shuts down. The
/// stream slot is held until then.
async fn forward(
    state: HttpState,
    mut rows: broadcast::Receiver<Arc<str>>,
    tx: mpsc::Sender<Bytes>,
    _slot: OwnedSemaphorePermit,
    every: std::time::Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut closing = state.closing();
    loop {
        let next = tokio::select! {
            row = rows.recv() => match row {
                Ok(row) => frame("transition", &row),
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(missed, "dropping a /debug/events reader that fell behind");
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                let status = state.board().status_event(state.now());
                frame("status", &serde_json::to_string(&status).unwrap_or_default())
            }
            _ = closing.wait_for(|closed| *closed) => return,
            () = tx.closed() => return,
        };
        if tx.try_send(Bytes::from(next)).is_err() {
            tracing::info!("dropping a slow /debug/events reader");
            return;
        }
    }
}
