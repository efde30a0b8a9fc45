//! The simulator's shared state and the one path every change takes: lock, change, log,
//! unlock, wake the waiters.

use super::SimConfig;
use super::auth::{Tickets, Tokens};
use super::deliveries::{Deliveries, DeliveryPolicy, RetryIds};
use super::faults::{FaultQueue, Malformed};
use super::log::{CloseCause, Event, LinkId, Log};
use super::store::{BotIdentity, MessageStore};
use super::traffic::{EnvelopeFactory, TrafficKind, Workspace};
use crate::socket::wire::{Envelope, EnvelopeKind};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

/// Commands queued per link. Slack buffers what it has to send to a connected app that reads
/// slowly (TCP back-pressure), it does not drop it: a burst pushed at once (a benchmark's
/// window, `push` of thousands) must wait in this queue, not become "undeliverable". Large,
/// yet bounded.
pub(crate) const LINK_QUEUE: usize = 1 << 16;

/// What a link task is told to do.
#[derive(Debug)]
pub(crate) enum LinkCmd {
    Envelope(Envelope),
    Disconnect {
        reason: String,
        cut_after: Option<Duration>,
    },
    Drop,
    /// End the connection with a TCP reset (RST): no close frame, no FIN.
    Reset,
    Silence(Duration),
    IgnoreClose,
    Malformed(Malformed),
}

/// Which links a fault is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Target {
    /// Every open link.
    #[default]
    All,
    /// The most recently opened link that got its `hello`.
    Newest,
    /// One link.
    Link(LinkId),
}

/// What the simulator shows about one open link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkInfo {
    /// The link.
    pub id: LinkId,
    /// Milliseconds since the simulator started, when it opened.
    pub opened_ms: u64,
    /// Whether it takes traffic (from just before its `hello` is written).
    pub ready: bool,
    /// Whether it was silenced.
    pub silenced: bool,
    /// Whether it is a ghost: the connection ended without a close handshake, but Slack still
    /// counts it (toward the link cap and `num_connections`) and sends envelopes to it.
    pub ghost: bool,
}

#[derive(Debug)]
pub(crate) struct LinkEntry {
    tx: mpsc::Sender<LinkCmd>,
    opened_ms: u64,
    ready: bool,
    silenced: bool,
    /// Sim time (ms) at which a ghost stops counting.
    ghost_until_ms: Option<u64>,
}

/// Everything behind the lock.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) log: Log,
    pub(crate) tokens: Tokens,
    pub(crate) tickets: Tickets,
    pub(crate) store: MessageStore,
    pub(crate) faults: FaultQueue,
    pub(crate) deliveries: Deliveries,
    pub(crate) factory: EnvelopeFactory,
    /// Per (method, channel): when the last rate-limited call was accepted.
    pub(crate) last_limited_call: HashMap<(String, String), Duration>,
    links: BTreeMap<LinkId, LinkEntry>,
    next_link: u64,
    round_robin: usize,
    now_ms: u64,
    now: Duration,
    ghost_ttl: Duration,
    retry_ids: RetryIds,
    /// Envelopes Slack gave up on, by envelope type.
    lost: BTreeMap<String, u64>,
    /// Set when a new ack deadline or retry exists, so the delivery task re-arms.
    wake_deliveries: bool,
}

/// Shared by the HTTP handlers, the link tasks and the handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) addr: SocketAddr,
    start: Instant,
    state: Mutex<State>,
    log_seq: watch::Sender<u64>,
    /// Wakes the re-delivery task when a new ack deadline exists.
    pub(crate) deliveries_changed: Notify,
    /// Default traffic rate per link (envelopes/s); links watch it.
    pub(crate) rate: watch::Sender<f64>,
    /// Bumped to release held replies.
    pub(crate) release: watch::Sender<u64>,
    /// True once the simulator is shutting down.
    pub(crate) shutdown: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn new(config: SimConfig, addr: SocketAddr) -> Self {
        let workspace = Workspace {
            team_id: config.team_id.clone(),
            app_id: config.app_id.clone(),
            bot_user_id: config.bot_user_id.clone(),
            channel_id: config.channel_id.clone(),
            human_user_id: config.human_user_id.clone(),
        };
        let bot = BotIdentity {
            user_id: config.bot_user_id.clone(),
            bot_id: config.bot_id.clone(),
            app_id: config.app_id.clone(),
            team_id: config.team_id.clone(),
        };
        let state = State {
            log: Log::default(),
            tokens: Tokens::new(
                vec![config.app_token.clone()],
                vec![config.bot_token.clone()],
            ),
            tickets: Tickets::new(config.seed ^ 0x7469_636b),
            store: MessageStore::new(bot, std::slice::from_ref(&config.channel_id)),
            faults: FaultQueue::default(),
            deliveries: Deliveries::new(DeliveryPolicy {
                ack_timeout: config.ack_timeout,
                retry_delays: config.scaled_retry_delays(),
            }),
            factory: EnvelopeFactory::new(config.seed, workspace),
            last_limited_call: HashMap::new(),
            links: BTreeMap::new(),
            next_link: 0,
            round_robin: 0,
            now_ms: 0,
            now: Duration::ZERO,
            ghost_ttl: config.ghost_ttl,
            retry_ids: config.retry_envelope_ids,
            lost: BTreeMap::new(),
            wake_deliveries: false,
        };
        Shared {
            rate: watch::Sender::new(config.rate),
            config,
            addr,
            start: Instant::now(),
            state: Mutex::new(state),
            log_seq: watch::Sender::new(0),
            deliveries_changed: Notify::new(),
            release: watch::Sender::new(0),
            shutdown: watch::Sender::new(false),
        }
    }

    /// Sim time: since the simulator started.
    pub(crate) fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// `https` when the simulator serves TLS, else `http`.
    pub(crate) fn http_scheme(&self) -> &'static str {
        match self.config.tls {
            Some(_) => "https",
            None => "http",
        }
    }

    /// `wss` when the simulator serves TLS, else `ws`.
    pub(crate) fn ws_scheme(&self) -> &'static str {
        match self.config.tls {
            Some(_) => "wss",
            None => "ws",
        }
    }

    /// The Web API base URL, with the trailing slash.
    pub(crate) fn api_url(&self) -> String {
        format!("{}://{}/api/", self.http_scheme(), self.addr)
    }

    /// The instant of sim time `at`.
    pub(crate) fn instant(&self, at: Duration) -> Instant {
        self.start + at
    }

    /// Run `f` on the state under the lock; wake log waiters if it logged anything.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let (result, seq, wake) = {
            let mut state = self.lock();
            state.now = self.now();
            state.now_ms = millis(state.now);
            let before = state.log.last_seq();
            state.prune_ghosts();
            let result = f(&mut state);
            let after = state.log.last_seq();
            let wake = std::mem::take(&mut state.wake_deliveries);
            (result, (after != before).then_some(after), wake)
        };
        if wake {
            self.deliveries_changed.notify_one();
        }
        if let Some(seq) = seq {
            self.log_seq.send_replace(seq);
        }
        result
    }

    /// A receiver that changes whenever the log grows.
    pub(crate) fn subscribe_log(&self) -> watch::Receiver<u64> {
        self.log_seq.subscribe()
    }

    /// Send `envelope` to a link (`target`, else round robin over ready links); with no
    /// link it is undeliverable: an event is retried later, anything else is lost.
    pub(crate) fn dispatch(&self, envelope: Envelope, target: Target) {
        self.with(|s| s.dispatch(envelope, target, None));
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every change is a single
        // insertion or removal); keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// Append to the log at the current sim time.
    pub(crate) fn log(&mut self, event: Event) {
        let at = self.now_ms;
        self.log.push(at, event);
    }

    /// Sim time of the current change.
    pub(crate) fn now(&self) -> Duration {
        self.now
    }

    /// A new link id, registered unless the app is at `max_links` (ghosts count). Returns
    /// the id, the `num_connections` it would have, and its command receiver (`None` when
    /// refused).
    pub(crate) fn register_link(
        &mut self,
        max_links: usize,
    ) -> (LinkId, u32, Option<mpsc::Receiver<LinkCmd>>) {
        self.next_link += 1;
        let id = LinkId(self.next_link);
        if self.links.len() >= max_links {
            return (id, self.links.len() as u32 + 1, None);
        }
        let (tx, rx) = mpsc::channel(LINK_QUEUE);
        let entry = LinkEntry {
            tx,
            opened_ms: self.now_ms,
            ready: false,
            silenced: false,
            ghost_until_ms: None,
        };
        self.links.insert(id, entry);
        (id, self.links.len() as u32, Some(rx))
    }

    /// The link got its `hello`: it now takes traffic. Nothing was kept for it: Slack does
    /// not queue envelopes while an app has no link.
    pub(crate) fn link_ready(&mut self, id: LinkId) {
        if let Some(l) = self.links.get_mut(&id) {
            l.ready = true;
        }
    }

    pub(crate) fn link_silenced(&mut self, id: LinkId) {
        if let Some(l) = self.links.get_mut(&id) {
            l.silenced = true;
        }
        self.log(Event::LinkFault {
            link: id,
            fault: "silenced".into(),
        });
    }

    /// The link's connection ended. Without a close handshake it stays registered as a
    /// ghost for the configured time, as Slack keeps such links.
    pub(crate) fn link_ended(&mut self, id: LinkId, cause: CloseCause, lifetime_ms: u64) {
        self.log(Event::LinkClosed {
            link: id,
            cause,
            lifetime_ms,
        });
        let ttl = millis(self.ghost_ttl);
        match self.links.get_mut(&id) {
            Some(l) if cause.leaves_ghost() && ttl > 0 => {
                l.ghost_until_ms = Some(self.now_ms.saturating_add(ttl));
                self.log(Event::LinkFault {
                    link: id,
                    fault: format!("ghost for {ttl} ms"),
                });
            }
            _ => {
                self.links.remove(&id);
            }
        }
    }

    /// Forget ghosts whose time is up.
    fn prune_ghosts(&mut self) {
        let now = self.now_ms;
        let done: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, l)| l.ghost_until_ms.is_some_and(|until| until <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            self.links.remove(&id);
            self.log(Event::LinkFault {
                link: id,
                fault: "ghost_expired".into(),
            });
        }
    }

    pub(crate) fn links(&self) -> Vec<LinkInfo> {
        self.links
            .iter()
            .map(|(id, l)| LinkInfo {
                id: *id,
                opened_ms: l.opened_ms,
                ready: l.ready,
                silenced: l.silenced,
                ghost: l.ghost_until_ms.is_some(),
            })
            .collect()
    }

    /// Envelopes lost so far, by envelope type (`events_api`, `slash_commands`,
    /// `interactive`); every type is present.
    pub(crate) fn lost(&self) -> BTreeMap<String, u64> {
        let mut all: BTreeMap<String, u64> = ["events_api", "slash_commands", "interactive"]
            .into_iter()
            .map(|k| (k.to_string(), 0))
            .collect();
        all.extend(self.lost.iter().map(|(k, v)| (k.clone(), *v)));
        all
    }

    /// Send a command to the targeted live links; returns how many took it.
    pub(crate) fn command(&mut self, target: Target, make: impl Fn() -> LinkCmd) -> usize {
        self.targets(target)
            .into_iter()
            .filter(|id| self.links[id].tx.try_send(make()).is_ok())
            .count()
    }

    /// Send `envelope` to `target`, or round robin over ready links (ghosts included, as
    /// Slack cannot tell them apart) preferring any link but `avoid`.
    pub(crate) fn dispatch(&mut self, envelope: Envelope, target: Target, avoid: Option<LinkId>) {
        let chosen = match target {
            Target::All => self.round_robin_link(avoid),
            t => self.targets(t).first().copied(),
        };
        let Some(id) = chosen else {
            self.undeliverable(envelope, avoid);
            return;
        };
        match self.links[&id].tx.try_send(LinkCmd::Envelope(envelope)) {
            Ok(()) => {}
            // A ghost (or a link whose task just ended): written into the void.
            Err(mpsc::error::TrySendError::Closed(LinkCmd::Envelope(envelope))) => {
                self.envelope_written(id, envelope, true);
            }
            Err(mpsc::error::TrySendError::Full(LinkCmd::Envelope(envelope))) => {
                self.undeliverable(envelope, avoid);
            }
            Err(_) => {}
        }
    }

    /// The envelope went out on `link` (or, when `lost`, vanished on the way: a silenced
    /// link or a ghost): it now awaits its ack.
    pub(crate) fn envelope_written(&mut self, link: LinkId, envelope: Envelope, lost: bool) {
        self.log(Event::FrameSent {
            link,
            frame: envelope.kind.as_str().to_string(),
            envelope_id: Some(envelope.envelope_id.clone()),
            retry_attempt: Some(envelope.retry_attempt),
            reason: None,
            lost,
        });
        let now = self.now;
        self.deliveries.written(now, link, envelope);
        self.wake_deliveries = true;
    }

    /// No link to send it on: an event is retried later, anything else is lost.
    fn undeliverable(&mut self, envelope: Envelope, avoid: Option<LinkId>) {
        self.log(Event::Undeliverable {
            envelope_id: envelope.envelope_id.clone(),
            frame: envelope.kind.as_str().to_string(),
            retry_attempt: envelope.retry_attempt,
        });
        self.failed(envelope, "connection_failed", avoid);
    }

    /// A delivery failed (`reason` becomes the retry's `retry_reason`): schedule the retry,
    /// or count the envelope lost.
    pub(crate) fn failed(&mut self, envelope: Envelope, reason: &str, avoid: Option<LinkId>) {
        let now = self.now;
        let kind = envelope.kind.clone();
        let (id, attempt) = (envelope.envelope_id.clone(), envelope.retry_attempt);
        match self.deliveries.failed(now, envelope, reason, avoid) {
            Some(at) => {
                self.wake_deliveries = true;
                self.log(Event::RetryScheduled {
                    envelope_id: id,
                    retry_attempt: attempt + 1,
                    due_ms: millis(at),
                    reason: reason.to_string(),
                });
            }
            None => {
                let cause = match (&kind, reason) {
                    (EnvelopeKind::EventsApi, _) => "retries_exhausted",
                    (_, "timeout") => "not_acked",
                    _ => "no_link",
                };
                *self.lost.entry(kind.as_str().to_string()).or_default() += 1;
                self.log(Event::Lost {
                    envelope_id: id,
                    frame: kind.as_str().to_string(),
                    retry_attempt: attempt,
                    cause: cause.into(),
                });
            }
        }
    }

    /// Expire unacked envelopes and send the retries that are due.
    pub(crate) fn run_due(&mut self) {
        let now = self.now;
        for e in self.deliveries.poll_expired(now) {
            self.log(Event::Expired {
                link: e.link,
                envelope_id: e.envelope.envelope_id.clone(),
                retry_attempt: e.envelope.retry_attempt,
                redelivered: self.deliveries.will_retry(&e.envelope),
            });
            self.failed(e.envelope, "timeout", Some(e.link));
        }
        for due in self.deliveries.poll_retries(now) {
            let keep = self.retry_ids.keeps_id(due.previous.retry_attempt + 1);
            let again = self.factory.redelivery(&due.previous, &due.reason, keep);
            self.dispatch(again, Target::All, due.avoid);
        }
    }

    /// A fresh realistic envelope.
    pub(crate) fn make_envelope(&mut self, kind: TrafficKind) -> Envelope {
        let unix = unix_ms();
        self.factory.make(kind, unix)
    }

    fn targets(&self, target: Target) -> Vec<LinkId> {
        match target {
            Target::All => self.links.keys().copied().collect(),
            Target::Newest => self
                .links
                .iter()
                .rev()
                .find(|(_, l)| l.ready && l.ghost_until_ms.is_none())
                .map(|(id, _)| *id)
                .into_iter()
                .collect(),
            Target::Link(id) => self
                .links
                .contains_key(&id)
                .then_some(id)
                .into_iter()
                .collect(),
        }
    }

    fn round_robin_link(&mut self, avoid: Option<LinkId>) -> Option<LinkId> {
        let ready: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, l)| l.ready)
            .map(|(id, _)| *id)
            .collect();
        let preferred: Vec<LinkId> = ready
            .iter()
            .copied()
            .filter(|id| Some(*id) != avoid)
            .collect();
        let pool = if preferred.is_empty() {
            ready
        } else {
            preferred
        };
        if pool.is_empty() {
            return None;
        }
        self.round_robin = self.round_robin.wrapping_add(1);
        Some(pool[self.round_robin % pool.len()])
    }
}

/// Wall-clock milliseconds since the Unix epoch.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, millis)
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
