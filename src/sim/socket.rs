//! WebSocket links: `GET /link/?ticket=...`, then `hello`, envelopes at the configured rate,
//! server pings, `disconnect` frames and the link faults (drop, silence, unanswered close,
//! malformed frames). One task per link.

use super::RefreshStyle;
use super::ack_payload;
use super::faults::{Malformed, RawFrame};
use super::listener::ResetSwitch;
use super::log::{CloseCause, Event, LinkId};
use super::state::{LinkCmd, Shared, Target, millis, unix_ms};
use crate::socket::wire::{Disconnect, DisconnectReason, Envelope, Hello};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until, timeout};

/// Largest frame a client may send (acks are tiny).
const MAX_CLIENT_FRAME: usize = 1 << 20;
/// How long the simulator waits for the client's close reply after its own close frame.
const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(2);
/// How long a link whose close frame was ignored is held open before it is dropped.
pub(crate) const CLOSE_IGNORE_HOLD: Duration = Duration::from_secs(60);
/// Slack's `debug_info.approximate_connection_time` (seconds).
const APPROXIMATE_CONNECTION_TIME: u64 = 18_060;
/// Fastest default traffic per link.
pub(crate) const MAX_RATE: f64 = 10_000.0;

#[derive(Debug, Deserialize)]
pub(crate) struct LinkQuery {
    ticket: Option<String>,
}

/// `GET /link/?ticket=...`: redeem the one-time ticket, then upgrade.
pub(crate) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(reset): ConnectInfo<ResetSwitch>,
    Query(query): Query<LinkQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let now = shared.now();
    let ticket = query.ticket.unwrap_or_default();
    let redeemed = shared.with(|s| {
        let r = s.tickets.redeem(now, &ticket);
        if let Err(e) = r {
            s.log(Event::Control {
                action: "ticket_refused".into(),
                detail: format!("{e:?}"),
            });
        }
        r
    });
    if redeemed.is_err() {
        return (StatusCode::UNAUTHORIZED, "invalid or used ticket\n").into_response();
    }
    ws.max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| accept(shared, socket, reset))
}

async fn accept(shared: Arc<Shared>, ws: WebSocket, reset: ResetSwitch) {
    let (id, num, rx) = shared.with(|s| s.register_link(shared.config.max_links));
    match rx {
        Some(rx) => Link::new(shared, id, ws, rx, reset).run(num).await,
        None => refuse(shared, id, ws).await,
    }
}

/// Over the link limit: `disconnect` `too_many_websockets`, then close.
async fn refuse(shared: Arc<Shared>, id: LinkId, mut ws: WebSocket) {
    let reason = DisconnectReason::TooManyWebsockets;
    let frame = disconnect_frame(id, &reason);
    let _ = ws.send(Message::text(frame)).await;
    shared.with(|s| {
        s.log(Event::LinkRefused {
            link: id,
            reason: reason.as_str().into(),
        })
    });
    let _ = ws.send(close_message(1000)).await;
    let _ = timeout(CLOSE_REPLY_WAIT, ws.recv()).await;
}

/// What woke a link that neither reads nor writes (silenced, or holding an unanswered close).
enum Quiet {
    Stop,
    Drop,
    /// Ended with a TCP reset (the switch is armed).
    Reset,
    Bound,
    Envelope(Envelope),
    Traffic,
    Other,
}

/// What woke the link task.
enum Step {
    Command(Option<LinkCmd>),
    Frame(Option<Result<Message, axum::Error>>),
    Ping,
    Traffic,
    Cut,
    Refresh,
    RateChanged,
    Shutdown,
}

struct Link {
    shared: Arc<Shared>,
    id: LinkId,
    ws: WebSocket,
    rx: mpsc::Receiver<LinkCmd>,
    /// Armed by a reset: the connection then ends with a TCP RST when `ws` is dropped.
    reset: ResetSwitch,
    rate: watch::Receiver<f64>,
    shutdown: watch::Receiver<bool>,
    opened: Instant,
    ignore_close: bool,
    next_ping: Instant,
    next_traffic: Option<Instant>,
    cut_at: Option<Instant>,
    refresh_at: Option<Instant>,
}

impl Link {
    fn new(
        shared: Arc<Shared>,
        id: LinkId,
        ws: WebSocket,
        rx: mpsc::Receiver<LinkCmd>,
        reset: ResetSwitch,
    ) -> Self {
        let now = Instant::now();
        let refresh_at = shared.config.refresh_after.map(|d| now + d);
        Link {
            rate: shared.rate.subscribe(),
            shutdown: shared.shutdown.subscribe(),
            next_ping: now + shared.config.ping_interval,
            shared,
            id,
            ws,
            rx,
            reset,
            opened: now,
            ignore_close: false,
            next_traffic: None,
            cut_at: None,
            refresh_at,
        }
    }

    async fn run(mut self, num_connections: u32) {
        let cause = self.serve(num_connections).await;
        let lifetime_ms = millis(self.opened.elapsed());
        let id = self.id;
        self.shared.with(|s| s.link_ended(id, cause, lifetime_ms));
    }

    async fn serve(&mut self, num_connections: u32) -> CloseCause {
        if self.send_hello(num_connections).await.is_err() {
            return CloseCause::ClientGone;
        }
        self.arm_traffic();
        loop {
            let step = self.next_step().await;
            if let Some(cause) = self.apply(step).await {
                return cause;
            }
        }
    }

    async fn send_hello(&mut self, num_connections: u32) -> Result<(), axum::Error> {
        let hello = Hello {
            num_connections: Some(num_connections),
            host: Some(host(self.id)),
            build_number: Some(1),
            approximate_connection_time: Some(APPROXIMATE_CONNECTION_TIME),
            app_id: Some(self.shared.config.app_id.clone()),
        };
        let mut frame = hello.to_json();
        // Slack's documented hello also says when the serving host started.
        frame["debug_info"]["started"] = Value::String(utc_stamp(unix_ms()));
        let id = self.id;
        // Ready before the hello is written: a client that reads its hello and is pushed to
        // at once must find the link taking traffic (what it is sent queues behind the hello).
        self.shared.with(|s| s.link_ready(id));
        self.ws.send(Message::text(frame.to_string())).await?;
        self.shared.with(|s| {
            s.log(Event::LinkOpened {
                link: id,
                num_connections,
            });
            s.log(sent(id, "hello"));
        });
        Ok(())
    }

    async fn next_step(&mut self) -> Step {
        let traffic = self.next_traffic;
        let cut = self.cut_at;
        let refresh = self.refresh_at;
        tokio::select! {
            biased;
            _ = self.shutdown.wait_for(|stop| *stop) => Step::Shutdown,
            cmd = self.rx.recv() => Step::Command(cmd),
            frame = self.ws.recv() => Step::Frame(frame),
            _ = sleep_until(self.next_ping) => Step::Ping,
            _ = sleep_opt(traffic) => Step::Traffic,
            _ = sleep_opt(cut) => Step::Cut,
            _ = sleep_opt(refresh) => Step::Refresh,
            _ = self.rate.changed() => Step::RateChanged,
        }
    }

    /// Act on one step; `Some(cause)` ends the link.
    async fn apply(&mut self, step: Step) -> Option<CloseCause> {
        match step {
            Step::Shutdown | Step::Command(None) => {
                let _ = self.ws.send(close_message(1001)).await;
                Some(CloseCause::Shutdown)
            }
            Step::Command(Some(cmd)) => self.command(cmd).await,
            Step::Frame(frame) => self.client_frame(frame).await,
            Step::Ping => {
                self.next_ping += self.shared.config.ping_interval;
                let payload = format!("Ping from {}", host(self.id));
                self.write(
                    Message::Ping(payload.into_bytes().into()),
                    sent(self.id, "ping"),
                )
                .await
            }
            Step::Traffic => {
                self.arm_traffic();
                let id = self.id;
                let kind = self.shared.config.traffic_kind;
                self.shared.with(|s| {
                    let envelope = s.make_envelope(kind);
                    s.dispatch(envelope, Target::Link(id), None);
                });
                None
            }
            Step::Cut => Some(self.cut().await),
            Step::Refresh => {
                // Slack's periodic refresh, in the configured style.
                self.refresh_at = None;
                let cut_after = Some(self.shared.config.disconnect_cut_after);
                let cmd = match self.shared.config.refresh_style {
                    RefreshStyle::Warning => LinkCmd::Disconnect {
                        reason: DisconnectReason::Warning.as_str().to_string(),
                        cut_after,
                    },
                    RefreshStyle::RefreshRequested => LinkCmd::Disconnect {
                        reason: "refresh_requested".to_string(),
                        cut_after,
                    },
                    RefreshStyle::Reset => LinkCmd::Reset,
                };
                self.command(cmd).await
            }
            Step::RateChanged => {
                self.arm_traffic();
                None
            }
        }
    }

    async fn command(&mut self, cmd: LinkCmd) -> Option<CloseCause> {
        match cmd {
            LinkCmd::Envelope(envelope) => self.send_envelope(envelope).await,
            LinkCmd::Disconnect { reason, cut_after } => {
                if let Some(after) = cut_after {
                    let at = Instant::now() + after;
                    self.cut_at = Some(self.cut_at.map_or(at, |c| c.min(at)));
                }
                let reason = DisconnectReason::parse(&reason);
                let frame = disconnect_frame(self.id, &reason);
                let mut event = sent(self.id, "disconnect");
                if let Event::FrameSent { reason: r, .. } = &mut event {
                    *r = Some(reason.as_str().to_string());
                }
                self.write(Message::text(frame), event).await
            }
            LinkCmd::Drop => Some(CloseCause::Dropped),
            LinkCmd::Reset => {
                // The task returns at once and drops the socket: RST, not FIN.
                self.reset.arm();
                Some(CloseCause::Reset)
            }
            LinkCmd::Silence(limit) => Some(self.silent(limit).await),
            LinkCmd::IgnoreClose => {
                self.ignore_close = true;
                let id = self.id;
                self.shared.with(|s| {
                    s.log(Event::LinkFault {
                        link: id,
                        fault: "ignoring_close".into(),
                    })
                });
                None
            }
            LinkCmd::Malformed(kind) => self.send_malformed(kind).await,
        }
    }

    async fn send_envelope(&mut self, envelope: Envelope) -> Option<CloseCause> {
        let text = envelope.to_text();
        // Recorded before the write, so an ack that races in on another link finds it. If
        // the write fails the envelope expires and is delivered again, as with Slack.
        self.record_envelope(envelope, false);
        if self.ws.send(Message::text(text)).await.is_err() {
            return Some(CloseCause::ClientGone);
        }
        None
    }

    /// The envelope went out (or, when `lost`, vanished on a silenced link): it now awaits
    /// its ack.
    fn record_envelope(&self, envelope: Envelope, lost: bool) {
        let id = self.id;
        self.shared.with(|s| s.envelope_written(id, envelope, lost));
    }

    async fn send_malformed(&mut self, kind: Malformed) -> Option<CloseCause> {
        let envelope_id = self
            .shared
            .with(|s| s.make_envelope(Default::default()).envelope_id);
        let message = match kind.frame(&envelope_id) {
            RawFrame::Text(t) => Message::text(t),
            RawFrame::Binary(b) => Message::binary(b),
        };
        let event = sent(self.id, &format!("malformed_{}", kind.as_str()));
        self.write(message, event).await
    }

    async fn write(&mut self, message: Message, event: Event) -> Option<CloseCause> {
        if self.ws.send(message).await.is_err() {
            return Some(CloseCause::ClientGone);
        }
        self.shared.with(|s| s.log(event));
        None
    }

    async fn client_frame(
        &mut self,
        frame: Option<Result<Message, axum::Error>>,
    ) -> Option<CloseCause> {
        match frame {
            Some(Ok(Message::Text(text))) => {
                self.client_text(text.as_str());
                None
            }
            Some(Ok(Message::Binary(_))) => {
                self.client_other("binary");
                None
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
            Some(Ok(Message::Close(_))) if self.ignore_close => {
                self.client_other("close (ignored)");
                Some(self.hold_after_close().await)
            }
            Some(Ok(Message::Close(_))) => {
                self.client_other("close");
                // The close reply is queued by the WebSocket layer; flush it out.
                let _ = timeout(CLOSE_REPLY_WAIT, self.ws.flush()).await;
                Some(CloseCause::ClientClosed)
            }
            Some(Err(e)) if is_capacity_error(&e) => Some(CloseCause::ProtocolError),
            Some(Err(_)) | None => Some(CloseCause::ClientGone),
        }
    }

    /// A text frame from the client: an ack (`{"envelope_id": ..}`, with or without a
    /// `payload`) or something else.
    fn client_text(&self, text: &str) {
        let parsed: Option<Value> = serde_json::from_str(text).ok();
        let envelope_id = parsed
            .as_ref()
            .and_then(|v| v.get("envelope_id"))
            .and_then(Value::as_str);
        let Some(envelope_id) = envelope_id else {
            self.client_other("text");
            return;
        };
        let payload = parsed.as_ref().and_then(|v| v.get("payload")).cloned();
        let id = self.id;
        self.shared.with(|s| {
            let now = s.now();
            let count = s.deliveries.ack(now, id, envelope_id);
            let payload_error = count
                .expect
                .and_then(|e| ack_payload::check(e, payload.as_ref()).err());
            s.log(Event::Ack {
                link: id,
                envelope_id: envelope_id.to_string(),
                latency_us: count.latency_us,
                outcome: count.outcome,
                with_payload: payload.is_some(),
                payload,
                payload_error: payload_error.clone(),
            });
            if let Some(error) = payload_error {
                s.log(Event::AckPayloadError {
                    link: id,
                    envelope_id: envelope_id.to_string(),
                    error,
                });
            }
        });
    }

    fn client_other(&self, what: &str) {
        let id = self.id;
        self.shared.with(|s| {
            s.log(Event::ClientFrame {
                link: id,
                what: what.into(),
            })
        });
    }

    /// Cut the link: close frame, then wait briefly for the client's reply (still counting
    /// acks that arrive meanwhile).
    async fn cut(&mut self) -> CloseCause {
        if self.ws.send(close_message(1000)).await.is_err() {
            return CloseCause::ClientGone;
        }
        let id = self.id;
        self.shared.with(|s| s.log(sent(id, "close")));
        let deadline = Instant::now() + CLOSE_REPLY_WAIT;
        while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, self.ws.recv()).await {
            match msg {
                Message::Text(t) => self.client_text(t.as_str()),
                Message::Close(_) => break,
                _ => {}
            }
        }
        CloseCause::Cut
    }

    /// Total silence: no frame is written or read (so no pong either) until the bound, a
    /// drop, or shutdown. Envelopes routed here are lost and expire.
    async fn silent(&mut self, limit: Duration) -> CloseCause {
        let id = self.id;
        self.shared.with(|s| s.link_silenced(id));
        let until = Instant::now() + limit;
        loop {
            match self.quiet_step(until, true).await {
                Quiet::Stop => return CloseCause::Shutdown,
                Quiet::Drop => return CloseCause::Dropped,
                Quiet::Reset => return CloseCause::Reset,
                Quiet::Bound => return CloseCause::SilenceEnded,
                Quiet::Envelope(envelope) => self.record_envelope(envelope, true),
                Quiet::Other => {}
                Quiet::Traffic => {
                    self.arm_traffic();
                    let kind = self.shared.config.traffic_kind;
                    self.shared.with(|s| {
                        let envelope = s.make_envelope(kind);
                        s.dispatch(envelope, Target::Link(id), None);
                    });
                }
            }
        }
    }

    /// The client's close frame is never answered: hold the TCP connection without reading
    /// or writing (any read would flush the queued close reply) until the bound, a drop, or
    /// shutdown.
    async fn hold_after_close(&mut self) -> CloseCause {
        let until = Instant::now() + CLOSE_IGNORE_HOLD;
        loop {
            match self.quiet_step(until, false).await {
                Quiet::Stop => return CloseCause::Shutdown,
                Quiet::Drop | Quiet::Reset | Quiet::Bound => return CloseCause::CloseIgnored,
                Quiet::Envelope(envelope) => self.record_envelope(envelope, true),
                Quiet::Other | Quiet::Traffic => {}
            }
        }
    }

    /// Wait for something to do on a link that neither reads nor writes.
    async fn quiet_step(&mut self, until: Instant, with_traffic: bool) -> Quiet {
        let traffic = self.next_traffic.filter(|_| with_traffic);
        tokio::select! {
            biased;
            _ = self.shutdown.wait_for(|stop| *stop) => Quiet::Stop,
            cmd = self.rx.recv() => match cmd {
                Some(LinkCmd::Envelope(envelope)) => Quiet::Envelope(envelope),
                Some(LinkCmd::Reset) => {
                    self.reset.arm();
                    Quiet::Reset
                }
                Some(LinkCmd::Drop) | None => Quiet::Drop,
                Some(_) => Quiet::Other,
            },
            _ = sleep_until(until) => Quiet::Bound,
            _ = sleep_opt(traffic) => Quiet::Traffic,
        }
    }

    /// Schedule the next default-traffic envelope from the current rate.
    fn arm_traffic(&mut self) {
        let rate = (*self.rate.borrow_and_update()).clamp(0.0, MAX_RATE);
        self.next_traffic =
            (rate > 0.0).then(|| Instant::now() + Duration::from_secs_f64(1.0 / rate));
    }
}

/// `"2020-10-11 12:12:12.120"` (UTC), the form of Slack's `debug_info.started`.
pub(crate) fn utc_stamp(unix_ms: u64) -> String {
    let (days, ms) = (unix_ms / 86_400_000, unix_ms % 86_400_000);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02}.{milli:03}")
}

fn host(id: LinkId) -> String {
    format!("applink-{}", id.0)
}

fn disconnect_frame(id: LinkId, reason: &DisconnectReason) -> String {
    Disconnect {
        reason: reason.clone(),
        host: Some(host(id)),
    }
    .to_json()
    .to_string()
}

fn close_message(code: u16) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: "".into(),
    }))
}

fn sent(link: LinkId, frame: &str) -> Event {
    Event::FrameSent {
        link,
        frame: frame.to_string(),
        envelope_id: None,
        retry_attempt: None,
        reason: None,
        lost: false,
    }
}

fn is_capacity_error(e: &axum::Error) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    text.contains("too long") || text.contains("capacity") || text.contains("space limit")
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_stamp_is_slacks_started_form() {
        assert_eq!(super::utc_stamp(0), "1970-01-01 00:00:00.000");
        assert_eq!(
            super::utc_stamp(1_602_418_332_120),
            "2020-10-11 12:12:12.120"
        );
        assert_eq!(super::utc_stamp(951_782_400_000), "2000-02-29 00:00:00.000");
    }
}
