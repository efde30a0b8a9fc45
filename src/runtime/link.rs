//! One WebSocket link: a tokio task that connects, reads frames (stamping each with the time it
//! was read) and writes what the driver asks for. The driver owns the task's handle: dropping
//! the [`LinkTask`] aborts it, which drops the socket (`DropLink`), so no link outlives the
//! machine's decision.

use super::driver::DriverEvent;
use crate::engine::{FrameRejectReason, Signal};
use crate::socket::LinkId;
use crate::telemetry::Telemetry;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, error::CapacityError};
use tokio_tungstenite::{Connector, connect_async_tls_with_config};

/// What the driver asks a link to write.
#[derive(Debug)]
pub(crate) enum LinkOp {
    /// An ack frame; `written` fires once it is on the wire (the handler waits for it, so the
    /// ack always precedes the dispatch). `received` is when its envelope was read.
    Ack {
        text: String,
        received: Instant,
        written: oneshot::Sender<()>,
    },
    /// A ping control frame.
    Ping,
    /// A close frame; the task keeps reading until the peer closes.
    Close,
}

/// What a link reports, each stamped with the instant it happened.
#[derive(Debug)]
pub(crate) enum LinkEvent {
    Opened,
    Text(String),
    Rejected(FrameRejectReason),
    Pong,
    Closed,
    Error,
}

/// Bytes read from the socket at a time.
const READ_BUFFER: usize = 16 * 1024;

/// How links are opened.
#[derive(Clone)]
pub(crate) struct LinkSettings {
    pub(crate) ws: WebSocketConfig,
    pub(crate) connector: Option<Connector>,
    pub(crate) events: mpsc::Sender<DriverEvent>,
    pub(crate) telemetry: Telemetry,
}

impl LinkSettings {
    /// Size limits from the machine's frame limit: the socket accepts up to twice it, so a
    /// frame over the limit still arrives whole and is rejected (`oversize`) and skipped by the
    /// machine; only a frame past twice the limit ends the link.
    pub(crate) fn ws_config(max_frame_bytes: usize) -> WebSocketConfig {
        let limit = max_frame_bytes.saturating_mul(2).max(64 * 1024);
        // tungstenite zeroes its read buffer's free space before every socket read: 16 KiB
        // (Slack frames are a few KiB) instead of the default 128 KiB cut that memset, the
        // largest single cost per envelope in a profile.
        WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .max_message_size(Some(limit))
            .max_frame_size(Some(limit))
    }
}

/// The driver's handle on a link task. Dropping it aborts the task and drops the socket.
#[derive(Debug)]
pub(crate) struct LinkTask {
    ops: mpsc::UnboundedSender<LinkOp>,
    task: JoinHandle<()>,
}

impl LinkTask {
    /// Start connecting `link` to `url`.
    pub(crate) fn spawn(link: LinkId, url: String, settings: LinkSettings) -> LinkTask {
        let (ops, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(link, url, settings, rx));
        LinkTask { ops, task }
    }

    /// Queue a write (ignored once the task ended: the driver hears of the end separately).
    pub(crate) fn send(&self, op: LinkOp) {
        let _ = self.ops.send(op);
    }
}

impl Drop for LinkTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn report(settings: &LinkSettings, link: LinkId, event: LinkEvent) {
    let at = Instant::now();
    // The driver is gone only when the runtime stops; nothing is left to tell then.
    let _ = settings
        .events
        .send(DriverEvent::Link { link, at, event })
        .await;
}

async fn run(
    link: LinkId,
    url: String,
    settings: LinkSettings,
    mut ops: mpsc::UnboundedReceiver<LinkOp>,
) {
    let connected =
        connect_async_tls_with_config(url, Some(settings.ws), true, settings.connector.clone())
            .await;
    let ws = match connected {
        Ok((ws, _response)) => ws,
        Err(error) => {
            // The error never carries the URL (it holds a ticket).
            tracing::debug!(%link, error = %error, "link connect failed");
            return report(&settings, link, LinkEvent::Error).await;
        }
    };
    report(&settings, link, LinkEvent::Opened).await;
    let (mut sink, mut stream) = ws.split();
    let mut ops_open = true;
    loop {
        tokio::select! {
            frame = stream.next() => {
                let Some(event) = read_event(frame) else { continue };
                // Only a frame past the socket's own limit is rejected here: the WebSocket
                // cannot skip what it did not read, so the link ends after counting it.
                let oversize = matches!(event, LinkEvent::Rejected(FrameRejectReason::Oversize));
                let end = oversize || matches!(event, LinkEvent::Closed | LinkEvent::Error);
                report(&settings, link, event).await;
                if oversize {
                    report(&settings, link, LinkEvent::Error).await;
                }
                if end { return; }
            }
            op = ops.recv(), if ops_open => match op {
                Some(op) => write_batch(&mut sink, op, &mut ops, &settings.telemetry, link).await,
                None => ops_open = false,
            },
        }
    }
}

type Frame = Option<Result<Message, WsError>>;

fn read_event(frame: Frame) -> Option<LinkEvent> {
    match frame {
        None => Some(LinkEvent::Closed),
        Some(Ok(Message::Text(text))) => Some(LinkEvent::Text(text.as_str().to_owned())),
        Some(Ok(Message::Binary(_))) => Some(LinkEvent::Rejected(FrameRejectReason::Binary)),
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Some(LinkEvent::Pong),
        // The peer's close: tungstenite answers it; the stream ends next.
        Some(Ok(Message::Close(_) | Message::Frame(_))) => None,
        Some(Err(WsError::Capacity(CapacityError::MessageTooLong { .. }))) => {
            Some(LinkEvent::Rejected(FrameRejectReason::Oversize))
        }
        Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => Some(LinkEvent::Closed),
        Some(Err(error)) => {
            tracing::debug!(%error, "link read failed");
            Some(LinkEvent::Error)
        }
    }
}

/// Most writes queued into one flush.
const BATCH: usize = 256;

/// Write `first` and whatever else is already queued (up to [`BATCH`]), then flush once: under
/// load, many acks share one syscall. Each ack counts as written once the flush succeeded.
async fn write_batch<S>(
    sink: &mut S,
    first: LinkOp,
    ops: &mut mpsc::UnboundedReceiver<LinkOp>,
    telemetry: &Telemetry,
    link: LinkId,
) where
    S: futures_util::Sink<Message, Error = WsError> + Unpin,
{
    let mut written = Vec::new();
    let mut next = Some(first);
    let mut result = Ok(());
    let mut queued = 0;
    while let Some(op) = next.take() {
        queued += 1;
        let message = match op {
            LinkOp::Ack {
                text,
                received,
                written: done,
            } => {
                written.push((received, done));
                Message::text(text)
            }
            LinkOp::Ping => Message::Ping(Default::default()),
            LinkOp::Close => Message::Close(None),
        };
        result = sink.feed(message).await;
        if result.is_err() {
            break;
        }
        if queued < BATCH {
            next = ops.try_recv().ok();
        }
    }
    if result.is_ok() {
        result = sink.flush().await;
    }
    match result {
        Ok(()) => {
            for (received, done) in written {
                let latency_us = u64::try_from(received.elapsed().as_micros()).unwrap_or(u64::MAX);
                telemetry.observe_signal(&Signal::Acked { latency_us });
                let _ = done.send(());
            }
        }
        // A write after our close frame, or on a dead socket: the read side reports the end.
        Err(error) => tracing::debug!(%link, %error, "link write failed"),
    }
}
