//! What the runtime hands the embedder: one [`Delivery`] per accepted envelope, to an async
//! [`EventHandler`].

use super::driver::DriverEvent;
use crate::socket::AckPayload;
use crate::socket::wire::Envelope;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// An error a handler returns: logged (without the payload) and timed like a success.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// The embedder's handler of Slack envelopes.
///
/// Each call runs on its own tokio task, after the envelope's ack was written, so a slow or
/// stuck handler never delays acks or pings; its time is recorded in
/// `phantom_slack_event_dispatch_seconds{event_type}` whether it returns `Ok`, `Err` or
/// panics. A duplicate (same `event_id`, or same envelope id, within the dedupe window, also
/// across restarts) is acked and not delivered again.
///
/// ```
/// use phantom_fsm::runtime::{Delivery, EventHandler, HandlerError};
///
/// struct Mentions;
///
/// impl EventHandler for Mentions {
///     async fn handle(&self, delivery: Delivery) -> Result<(), HandlerError> {
///         if delivery.event_type() == Some("app_mention") {
///             let payload: serde_json::Value = delivery.payload().parse()?;
///             println!("mentioned: {}", payload["event"]["text"]);
///         }
///         Ok(())
///     }
/// }
/// ```
///
/// Responding inside the ack (`accepts_response_payload`: slash commands, options, modal
/// validation): build the runtime with [`RuntimeBuilder::responder`] and call
/// [`Delivery::respond`] before the ack deadline (2.5 s after receipt).
///
/// [`RuntimeBuilder::responder`]: super::RuntimeBuilder::responder
pub trait EventHandler: Send + Sync + 'static {
    /// Handle one delivery. Called concurrently for concurrent envelopes.
    fn handle(&self, delivery: Delivery) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// A handler made of a closure returning a future; see [`handler_fn`].
#[derive(Clone, Debug)]
pub struct HandlerFn<F>(F);

/// A handler from a closure: `handler_fn(|delivery| async move { ...; Ok(()) })`.
///
/// ```
/// use phantom_fsm::runtime::handler_fn;
///
/// let handler = handler_fn(|delivery| async move {
///     println!("{} {}", delivery.envelope_type(), delivery.envelope_id());
///     Ok(())
/// });
/// # let _ = handler;
/// ```
pub fn handler_fn<F, Fut>(f: F) -> HandlerFn<F>
where
    F: Fn(Delivery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    HandlerFn(f)
}

impl<F, Fut> EventHandler for HandlerFn<F>
where
    F: Fn(Delivery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    fn handle(&self, delivery: Delivery) -> impl Future<Output = Result<(), HandlerError>> + Send {
        (self.0)(delivery)
    }
}

/// A handler that does nothing (the default: the runtime still acks and dedupes).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopHandler;

impl EventHandler for NoopHandler {
    async fn handle(&self, _delivery: Delivery) -> Result<(), HandlerError> {
        Ok(())
    }
}

/// One accepted envelope, as the handler sees it.
#[derive(Clone, Debug)]
pub struct Delivery {
    envelope: Envelope,
    /// Present when the ack waits for this handler's answer (responder mode and
    /// `accepts_response_payload`).
    responder: Option<Responder>,
}

/// Where [`Delivery::respond`] sends its answer: the driver's input queue.
#[derive(Clone)]
pub(crate) struct Responder {
    pub(crate) events: tokio::sync::mpsc::Sender<DriverEvent>,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Responder")
    }
}

impl Delivery {
    pub(crate) fn new(envelope: Envelope, responder: Option<Responder>) -> Delivery {
        Delivery {
            envelope,
            responder,
        }
    }

    /// Whether this envelope's ack waits for [`Delivery::respond`]: the runtime was built with
    /// [`responder`](super::RuntimeBuilder::responder) on and Slack accepts a payload for it.
    /// Its ack goes out without a payload by the ack deadline (2.5 s after receipt) otherwise.
    pub fn can_respond(&self) -> bool {
        self.responder.is_some()
    }

    /// Answer inside the ack: `payload` becomes the ack's `payload` (a slash command's
    /// `{"text": ..}`, an external select's `{"options": [..]}`, a modal's
    /// `{"response_action": ..}`). Returns `false`, doing nothing, when this delivery cannot
    /// respond ([`Delivery::can_respond`]). An answer after the ack deadline is dropped and
    /// counted `late_response`; only the first answer counts.
    pub fn respond(&self, payload: serde_json::Value) -> bool {
        let Some(responder) = &self.responder else {
            return false;
        };
        let event = DriverEvent::Respond {
            envelope_id: self.envelope.envelope_id.clone(),
            payload: AckPayload(payload),
        };
        if let Err(tokio::sync::mpsc::error::TrySendError::Full(event)) =
            responder.events.try_send(event)
        {
            // The driver's queue is full: deliver it without blocking the handler.
            let events = responder.events.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = events.send(event).await;
                });
            }
        }
        true
    }

    /// `events_api`, `slash_commands`, `interactive`, or a type Slack added later.
    pub fn envelope_type(&self) -> &str {
        self.envelope.kind.as_str()
    }

    /// The envelope id (already acked).
    pub fn envelope_id(&self) -> &str {
        &self.envelope.envelope_id
    }

    /// `payload.event.type` of an `events_api` envelope (`app_mention`, `message`, ...).
    pub fn event_type(&self) -> Option<&str> {
        self.envelope.payload.event_type()
    }

    /// The payload as Slack sent it, unparsed: [`Payload::parse`](crate::socket::Payload::parse)
    /// into a `serde_json::Value` or a type of your own.
    pub fn payload(&self) -> &crate::socket::Payload {
        &self.envelope.payload
    }

    /// Slack's re-delivery counter (0 on the first delivery).
    pub fn retry_attempt(&self) -> u32 {
        self.envelope.retry_attempt
    }

    /// Why Slack re-delivered it (`timeout`, ...), if it did.
    pub fn retry_reason(&self) -> Option<&str> {
        self.envelope
            .retry_reason
            .as_deref()
            .filter(|r| !r.is_empty())
    }

    /// Whether Slack would accept a response payload in the ack (slash commands, options,
    /// view submissions).
    pub fn accepts_response_payload(&self) -> bool {
        self.envelope.accepts_response_payload
    }
}

/// The object-safe form the driver stores.
pub(crate) type BoxedCall = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send>>;

/// An [`EventHandler`] behind an `Arc`, callable without knowing its type.
pub(crate) trait ErasedHandler: Send + Sync + 'static {
    fn call(self: Arc<Self>, delivery: Delivery) -> BoxedCall;
}

impl<H: EventHandler> ErasedHandler for H {
    fn call(self: Arc<Self>, delivery: Delivery) -> BoxedCall {
        Box::pin(async move { self.handle(delivery).await })
    }
}
