//! The simulator's shared state and the one path every change takes: lock, change, log,
//! unlock, wake the waiters.

use super::SimConfig;
use super::auth::{Tickets, Tokens};
use super::deliveries::{Deliveries, DeliveryPolicy};
use super::faults::{FaultQueue, Malformed};
use super::log::{Event, LinkId, Log};
use super::store::{BotIdentity, MessageStore};
use super::traffic::{EnvelopeFactory, TrafficKind, Workspace};
use crate::socket::wire::Envelope;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

/// Envelopes waiting for a link (none open); past it the oldest are dropped.
const MAX_BACKLOG: usize = 1_000;
/// Commands queued per link.
pub(crate) const LINK_QUEUE: usize = 1_024;

/// What a link task is told to do.
#[derive(Debug)]
pub(crate) enum LinkCmd {
    Envelope(Envelope),
    Disconnect {
        reason: String,
        cut_after: Option<Duration>,
    },
    Drop,
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
    /// Whether its `hello` was sent.
    pub ready: bool,
    /// Whether it was silenced.
    pub silenced: bool,
}

#[derive(Debug)]
pub(crate) struct LinkEntry {
    tx: mpsc::Sender<LinkCmd>,
    opened_ms: u64,
    ready: bool,
    silenced: bool,
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
    links: BTreeMap<LinkId, LinkEntry>,
    next_link: u64,
    backlog: VecDeque<Envelope>,
    round_robin: usize,
    now_ms: u64,
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
                max_retries: config.max_retries,
            }),
            factory: EnvelopeFactory::new(config.seed, workspace),
            links: BTreeMap::new(),
            next_link: 0,
            backlog: VecDeque::new(),
            round_robin: 0,
            now_ms: 0,
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

    /// The instant of sim time `at`.
    pub(crate) fn instant(&self, at: Duration) -> Instant {
        self.start + at
    }

    /// Run `f` on the state under the lock; wake log waiters if it logged anything.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let (result, seq) = {
            let mut state = self.lock();
            state.now_ms = millis(self.now());
            let before = state.log.last_seq();
            let result = f(&mut state);
            let after = state.log.last_seq();
            (result, (after != before).then_some(after))
        };
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
    /// ready link it waits in the backlog for the next `hello`.
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

    /// A new link id, registered unless the app is at `max_links`. Returns the id, the
    /// `num_connections` it would have, and its command receiver (`None` when refused).
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
        };
        self.links.insert(id, entry);
        (id, self.links.len() as u32, Some(rx))
    }

    /// The link got its `hello`: it now takes traffic, starting with the backlog.
    pub(crate) fn link_ready(&mut self, id: LinkId) {
        if let Some(l) = self.links.get_mut(&id) {
            l.ready = true;
        }
        let backlog: Vec<Envelope> = self.backlog.drain(..).collect();
        for envelope in backlog {
            self.dispatch(envelope, Target::Link(id), None);
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

    pub(crate) fn remove_link(&mut self, id: LinkId) -> Option<u64> {
        self.links.remove(&id).map(|l| l.opened_ms)
    }

    pub(crate) fn links(&self) -> Vec<LinkInfo> {
        self.links
            .iter()
            .map(|(id, l)| LinkInfo {
                id: *id,
                opened_ms: l.opened_ms,
                ready: l.ready,
                silenced: l.silenced,
            })
            .collect()
    }

    /// Send a command to the targeted links; returns how many took it.
    pub(crate) fn command(&mut self, target: Target, make: impl Fn() -> LinkCmd) -> usize {
        self.targets(target)
            .into_iter()
            .filter(|id| self.links[id].tx.try_send(make()).is_ok())
            .count()
    }

    /// Send `envelope` to `target`, or round robin over ready links preferring any link
    /// but `avoid`; backlog it when no link is ready.
    pub(crate) fn dispatch(&mut self, envelope: Envelope, target: Target, avoid: Option<LinkId>) {
        let chosen = match target {
            Target::All => self.round_robin_link(avoid),
            t => self.targets(t).first().copied(),
        };
        let Some(id) = chosen else {
            self.push_backlog(envelope);
            return;
        };
        if let Err(e) = self.links[&id].tx.try_send(LinkCmd::Envelope(envelope)) {
            let (mpsc::error::TrySendError::Full(LinkCmd::Envelope(envelope))
            | mpsc::error::TrySendError::Closed(LinkCmd::Envelope(envelope))) = e
            else {
                return;
            };
            self.push_backlog(envelope);
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
                .find(|(_, l)| l.ready)
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

    fn push_backlog(&mut self, envelope: Envelope) {
        if self.backlog.len() >= MAX_BACKLOG {
            self.backlog.pop_front();
        }
        self.backlog.push_back(envelope);
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
