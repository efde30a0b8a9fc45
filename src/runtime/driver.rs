//! The socket driver: one tokio task that owns the [`SocketMode`] machine and turns its
//! commands into IO.
//!
//! The loop: wait for the next input (a link event stamped with its read time, the answer of an
//! `apps.connections.open` call, the stop request) or for the machine's next deadline on ONE
//! resettable sleep; hand the input to the machine; drain every output; perform the commands in
//! drain order (so an envelope's ack is queued before its dispatch) and show the transitions and
//! signals to the observers (metrics, status board, journal, logs, the state watch).
//!
//! Nothing in the loop waits for a handler, the disk or the network: handlers run on their own
//! tasks, the store on its own thread, Web API calls on the blocking pool, and each link on its
//! own task.

use super::clock::Clock;
use super::handler::{Delivery, ErasedHandler, Responder};
use super::link::{LinkEvent, LinkOp, LinkSettings, LinkTask};
use super::opener::ConnectionOpener;
use super::persist::Persister;
use super::status::StatusBoard;
use crate::engine::{Machine as _, Now, Output, Signal, Snapshot, Transition};
use crate::socket::wire::{self, Envelope, ServerFrame, encode_ack_with};
use crate::socket::{Command, Input, LinkId, OpenOutcome, RequestId, SocketMode};
use crate::telemetry::Telemetry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How long a handler waits for its envelope's ack to be written before running anyway (the
/// link may be stuck or gone; the envelope was accepted either way).
const ACK_WAIT: Duration = Duration::from_secs(3);

/// An input for the driver, from a link task or a Web API call.
#[derive(Debug)]
pub(crate) enum DriverEvent {
    /// Something happened on a link, at `at`.
    Link {
        link: LinkId,
        at: Instant,
        event: LinkEvent,
    },
    /// The handler of a dispatched envelope returned, failed or panicked: it no longer counts
    /// toward the machine's `max_pending` (load shedding).
    Completed { envelope_id: String },
    /// The handler answered an envelope whose ack waits for it (responder mode).
    Respond {
        envelope_id: String,
        payload: crate::socket::AckPayload,
    },
    /// An `apps.connections.open` call ended.
    Opened {
        request: RequestId,
        outcome: OpenOutcome,
    },
}

/// What the driver reports to and calls.
pub(crate) struct Parts {
    pub(crate) clock: Clock,
    pub(crate) opener: Arc<dyn ConnectionOpener>,
    pub(crate) handler: Arc<dyn ErasedHandler>,
    pub(crate) telemetry: Telemetry,
    pub(crate) board: StatusBoard,
    pub(crate) persister: Persister,
    pub(crate) state: Arc<watch::Sender<&'static str>>,
    /// Bumped when the embedder's tokens changed (the sender lives as long as the driver).
    pub(crate) tokens: Arc<watch::Sender<u64>>,
    pub(crate) links: LinkSettings,
    pub(crate) events: tokio::sync::mpsc::Receiver<DriverEvent>,
    /// How long a stop may take before the remaining links are dropped regardless.
    pub(crate) stop_bound: Duration,
}

/// The socket driver.
pub(crate) struct Driver {
    machine: SocketMode,
    parts: Parts,
    links: HashMap<LinkId, LinkTask>,
    calls: JoinSet<()>,
    dispatches: JoinSet<()>,
    /// Read time of the input being handled: the receipt time of the envelopes it carries.
    received: Instant,
    /// The machine's frame limit (frames are decoded here, so hello and disconnect are logged).
    max_frame_bytes: usize,
}

impl Driver {
    pub(crate) fn new(machine: SocketMode, parts: Parts) -> Driver {
        let max_frame_bytes = machine.config().max_frame_bytes;
        Driver {
            max_frame_bytes,
            machine,
            parts,
            links: HashMap::new(),
            calls: JoinSet::new(),
            dispatches: JoinSet::new(),
            received: Instant::now(),
        }
    }

    /// Journal the restore (`X -> disconnected (restarted)`), start, and run until `stop`
    /// turns true (or its sender goes away); then stop through `disconnecting`, flush the
    /// store, and return.
    pub(crate) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let now = self.parts.clock.now();
        self.input(now, Input::Resumed);
        self.input(now, Input::Start);
        let sleep = tokio::time::sleep_until(Instant::now());
        tokio::pin!(sleep);
        let mut stop_by: Option<Instant> = None;
        let mut tokens = self.parts.tokens.subscribe();
        loop {
            if stop_by.is_some() && self.machine.state_name() == "disconnected" {
                break;
            }
            let deadline = self.machine.poll_timeout();
            if let Some(at) = deadline {
                sleep.as_mut().reset(self.parts.clock.instant_of(at));
            }
            let bound = stop_by.unwrap_or_else(Instant::now);
            tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s), if stop_by.is_none() => {
                    stop_by = Some(Instant::now() + self.parts.stop_bound);
                    self.input(self.parts.clock.now(), Input::Stop);
                }
                Some(event) = self.parts.events.recv() => self.on_event(event),
                Ok(()) = tokens.changed() => {
                    tracing::info!("new tokens");
                    self.input(self.parts.clock.now(), Input::NewTokens);
                }
                () = &mut sleep, if deadline.is_some() => {
                    self.input(self.parts.clock.now(), Input::Timeout);
                }
                Some(done) = self.dispatches.join_next() => report_handler_end(done),
                () = tokio::time::sleep_until(bound), if stop_by.is_some() => {
                    tracing::warn!("stop bound reached: dropping the remaining links");
                    break;
                }
            }
        }
        self.finish().await;
    }

    async fn finish(mut self) {
        self.links.clear();
        self.calls.abort_all();
        self.dispatches.abort_all();
        while let Some(done) = self.dispatches.join_next().await {
            report_handler_end(done);
        }
        self.parts.persister.flush().await;
        tracing::info!("socket driver stopped; store flushed");
    }

    fn on_event(&mut self, event: DriverEvent) {
        match event {
            DriverEvent::Link { link, at, event } => {
                self.received = at;
                let now = self.parts.clock.at(at);
                match event {
                    LinkEvent::Opened => {
                        tracing::info!(%link, "link open, waiting for hello");
                        self.input(now, Input::LinkOpened { link });
                    }
                    LinkEvent::Text(text) => {
                        let input = match wire::decode_text(&text, self.max_frame_bytes) {
                            Ok(frame) => {
                                log_frame(link, &frame);
                                Input::Frame { link, frame }
                            }
                            Err(reason) => Input::FrameRejected { link, reason },
                        };
                        self.input(now, input);
                    }
                    LinkEvent::Rejected(reason) => {
                        self.input(now, Input::FrameRejected { link, reason });
                    }
                    LinkEvent::Pong => self.input(now, Input::Pong { link }),
                    LinkEvent::Closed => {
                        tracing::info!(%link, "link closed");
                        self.links.remove(&link);
                        self.input(now, Input::LinkClosed { link });
                    }
                    LinkEvent::Error => {
                        tracing::info!(%link, "link failed");
                        self.links.remove(&link);
                        self.input(now, Input::LinkError { link });
                    }
                }
            }
            DriverEvent::Completed { envelope_id } => {
                let now = self.parts.clock.now();
                self.input(now, Input::Completed { envelope_id });
            }
            DriverEvent::Respond {
                envelope_id,
                payload,
            } => {
                let now = self.parts.clock.now();
                self.input(
                    now,
                    Input::Respond {
                        envelope_id,
                        payload,
                    },
                );
            }
            DriverEvent::Opened { request, outcome } => {
                self.received = Instant::now();
                let now = self.parts.clock.now();
                self.input(now, Input::OpenResult { request, outcome });
            }
        }
    }

    fn input(&mut self, now: Now, input: Input) {
        self.machine.handle(now, input);
        self.drain();
    }

    /// Every output of the last input, in order: observers first see each output, then the
    /// commands run in drain order.
    fn drain(&mut self) {
        let outputs: Vec<_> = std::iter::from_fn(|| self.machine.poll_output()).collect();
        let last_transition = outputs
            .iter()
            .rposition(|o| matches!(o, Output::Transition(_)));
        let mut rows = Vec::new();
        let mut acks = HashMap::new();
        for (i, output) in outputs.into_iter().enumerate() {
            self.parts.telemetry.observe(&output);
            self.parts.board.observe(&output);
            match output {
                Output::Transition(t) => {
                    let snapshot = self.snapshot_after(&t, Some(i) == last_transition);
                    self.on_transition(&t);
                    rows.push((t, snapshot));
                }
                Output::Signal(s) => log_signal(&s),
                Output::Command(c) => self.execute(c, &mut acks),
            }
        }
        self.parts.persister.rows(rows);
        self.parts
            .board
            .set_links(super::inspect::LinkCounts::of(self.machine.links()));
    }

    /// The snapshot stored with `t`: the machine's own after the drain's last transition
    /// (it carries the error code), the bare state before it.
    fn snapshot_after(&self, t: &Transition, last: bool) -> Snapshot {
        if last {
            self.machine.snapshot()
        } else {
            Snapshot {
                state: t.to.to_string(),
                data: serde_json::json!({}),
            }
        }
    }

    fn on_transition(&self, t: &Transition) {
        super::log_transition(t);
        self.parts.state.send_replace(t.to);
    }

    fn execute(&mut self, command: Command, acks: &mut HashMap<String, oneshot::Receiver<()>>) {
        match command {
            Command::OpenConnection { request } => self.open_connection(request),
            Command::OpenLink { link, url } => {
                // Never the URL: it carries a ticket.
                tracing::info!(%link, "opening link");
                let task =
                    LinkTask::spawn(link, url.expose().to_string(), self.parts.links.clone());
                self.links.insert(link, task);
            }
            Command::Ack {
                link,
                envelope_id,
                payload,
            } => {
                let Some(task) = self.links.get(&link) else {
                    return;
                };
                let (written, done) = oneshot::channel();
                task.send(LinkOp::Ack {
                    text: encode_ack_with(&envelope_id, payload.as_ref()),
                    received: self.received,
                    written,
                });
                acks.insert(envelope_id, done);
            }
            Command::Ping { link } => self.send(link, LinkOp::Ping),
            Command::CloseLink { link } => {
                tracing::info!(%link, "closing link (close frame sent)");
                self.send(link, LinkOp::Close);
            }
            Command::DropLink { link } => {
                // Dropping the task aborts it, which drops the socket.
                if self.links.remove(&link).is_some() {
                    tracing::info!(%link, "link dropped");
                }
            }
            Command::Dispatch { envelope, .. } => {
                let written = acks.remove(&envelope.envelope_id);
                self.dispatch(envelope, written);
            }
            Command::Remember { key, at_unix } => self.parts.persister.remember(key, at_unix),
        }
    }

    fn send(&self, link: LinkId, op: LinkOp) {
        if let Some(task) = self.links.get(&link) {
            task.send(op);
        }
    }

    fn open_connection(&mut self, request: RequestId) {
        tracing::info!(request = request.0, "calling apps.connections.open");
        let opener = self.parts.opener.clone();
        let events = self.parts.links.events.clone();
        self.calls.spawn(async move {
            let outcome = tokio::task::spawn_blocking(move || opener.open_connection())
                .await
                .unwrap_or(OpenOutcome::Transient);
            let _ = events.send(DriverEvent::Opened { request, outcome }).await;
        });
        // Reap finished calls so the set stays small.
        while self.calls.try_join_next().is_some() {}
    }

    /// Run the handler on its own task, after the ack is written (or [`ACK_WAIT`] passed).
    fn dispatch(&mut self, envelope: Envelope, written: Option<oneshot::Receiver<()>>) {
        let handler = self.parts.handler.clone();
        let telemetry = self.parts.telemetry.clone();
        let event_type = envelope.event_type_label();
        let completed = Completion {
            envelope_id: Some(envelope.envelope_id.clone()),
            events: self.parts.links.events.clone(),
        };
        // The ack waits for this handler's answer: no ack was queued in this drain.
        let responder = (written.is_none()
            && self.machine.config().responder
            && envelope.accepts_response_payload)
            .then(|| Responder {
                events: self.parts.links.events.clone(),
            });
        let delivery = Delivery::new(envelope, responder);
        self.dispatches.spawn(async move {
            // Dropped last: the machine hears of the end however the handler ended.
            let _completed = completed;
            if let Some(written) = written {
                let _ = tokio::time::timeout(ACK_WAIT, written).await;
            }
            // Recorded when dropped: on return, on error, and while unwinding from a panic.
            let _timer = telemetry.dispatch_guard(event_type);
            if let Err(error) = handler.call(delivery).await {
                tracing::warn!(event_type, %error, "handler failed");
            }
        });
    }
}

/// Slack's connection facts (`num_connections` grows with ghost links) and its
/// requests to move, one line each; envelopes are not logged.
fn log_frame(link: LinkId, frame: &ServerFrame) {
    match frame {
        ServerFrame::Hello(hello) => tracing::info!(
            %link,
            num_connections = hello.num_connections,
            approximate_connection_time = hello.approximate_connection_time,
            host = hello.host.as_deref(),
            "hello"
        ),
        ServerFrame::Disconnect(d) => tracing::info!(
            %link,
            reason = d.reason.as_str(),
            host = d.host.as_deref(),
            "disconnect requested by Slack"
        ),
        ServerFrame::Envelope(_) => {}
    }
}

/// Tells the driver that a handler ended (returned, failed, panicked or was aborted), so the
/// machine's count of unfinished dispatches (`max_pending`, load shedding) goes down.
struct Completion {
    envelope_id: Option<String>,
    events: tokio::sync::mpsc::Sender<DriverEvent>,
}

impl Drop for Completion {
    fn drop(&mut self) {
        let Some(envelope_id) = self.envelope_id.take() else {
            return;
        };
        let event = DriverEvent::Completed { envelope_id };
        if let Err(tokio::sync::mpsc::error::TrySendError::Full(event)) =
            self.events.try_send(event)
        {
            // The queue is full: deliver it without blocking the dropping task.
            let events = self.events.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = events.send(event).await;
                });
            }
        }
    }
}

fn report_handler_end(done: Result<(), tokio::task::JoinError>) {
    if let Err(error) = done
        && error.is_panic()
    {
        tracing::error!("handler panicked");
    }
}

fn log_signal(signal: &Signal) {
    match signal {
        Signal::Handover => tracing::info!("handover: the standby link is now active"),
        Signal::LinkEnded { lifetime_ms } => tracing::info!(lifetime_ms, "link ended"),
        Signal::FrameRejected { reason } => {
            tracing::warn!(reason = reason.as_str(), "frame rejected and skipped");
        }
        Signal::RetryScheduled { machine, delay_ms } => {
            tracing::info!(machine, delay_ms, "retry scheduled");
        }
        Signal::Ignored {
            machine,
            state,
            input,
        } => tracing::debug!(machine, state, input, "input ignored"),
        Signal::Envelope { kind, outcome } => {
            tracing::debug!(kind, outcome = outcome.as_str(), "envelope");
        }
        other => tracing::debug!(?other, "signal"),
    }
}
