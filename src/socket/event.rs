//! The machine's internal events: the public [`Input`]s, with `Timeout` expanded into one event
//! per expired named timer (so a transition records *which* deadline caused it).

use super::io::{AckPayload, Input, LinkId, OpenOutcome, RequestId};
use super::timer::Timer;
use super::wire::{DisconnectReason, Envelope, ServerFrame};
use crate::engine::FrameRejectReason;

/// One event dispatched into the statig machine.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Event {
    /// [`Input::Start`].
    Start,
    /// [`Input::Stop`].
    Stop,
    /// [`Input::NewTokens`].
    NewTokens,
    /// [`Input::Resumed`].
    Resumed,
    /// [`Input::OpenResult`].
    Open {
        /// Which call.
        request: RequestId,
        /// Its outcome.
        outcome: OpenOutcome,
    },
    /// [`Input::LinkOpened`].
    LinkOpened(LinkId),
    /// [`Input::LinkClosed`] or [`Input::LinkError`]: the link is gone either way.
    LinkDown(LinkId),
    /// A `hello` frame.
    Hello(LinkId),
    /// An envelope frame.
    Envelope(LinkId, Envelope),
    /// A `disconnect` frame.
    Disconnect(LinkId, DisconnectReason),
    /// [`Input::FrameRejected`].
    Rejected(LinkId, FrameRejectReason),
    /// [`Input::Pong`].
    Pong(LinkId),
    /// [`Input::Respond`].
    Respond(String, AckPayload),
    /// [`Input::Completed`].
    Completed(String),
    /// A named deadline expired.
    Timer(Timer),
}

impl Event {
    /// The event for a public input (`None` for `Timeout`, which the wrapper expands).
    pub(crate) fn from_input(input: Input) -> Option<Event> {
        Some(match input {
            Input::Start => Event::Start,
            Input::Stop => Event::Stop,
            Input::NewTokens => Event::NewTokens,
            Input::Resumed => Event::Resumed,
            Input::OpenResult { request, outcome } => Event::Open { request, outcome },
            Input::LinkOpened { link } => Event::LinkOpened(link),
            Input::LinkClosed { link } | Input::LinkError { link } => Event::LinkDown(link),
            Input::Frame { link, frame } => match frame {
                ServerFrame::Hello(_) => Event::Hello(link),
                ServerFrame::Envelope(envelope) => Event::Envelope(link, envelope),
                ServerFrame::Disconnect(d) => Event::Disconnect(link, d.reason),
            },
            Input::FrameRejected { link, reason } => Event::Rejected(link, reason),
            Input::Pong { link } => Event::Pong(link),
            Input::Respond {
                envelope_id,
                payload,
            } => Event::Respond(envelope_id, payload),
            Input::Completed { envelope_id } => Event::Completed(envelope_id),
            Input::Timeout => return None,
        })
    }

    /// The link whose liveness this event proves: any frame received on it.
    pub(crate) fn link(&self) -> Option<LinkId> {
        match self {
            Event::Hello(link)
            | Event::Envelope(link, _)
            | Event::Disconnect(link, _)
            | Event::Rejected(link, _)
            | Event::Pong(link) => Some(*link),
            _ => None,
        }
    }
}
