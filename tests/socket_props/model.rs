//! The reference model: the Socket Mode lifecycle of `docs/architecture.md` at the level of link
//! roles, written from the policies and independent of the machine's code (no statig, no
//! machine ids). Links and `apps.connections.open` calls carry model tags (1, 2, ... in the
//! order they are opened), which the driver maps to the machine's ids as they appear.
//!
//! The machine runs with `backoff_base = 0`, so every backoff delay is exactly the
//! `Retry-After` floor (or 0; a deadline is armed at least 1 ms ahead) and every deadline is predictable to the millisecond; the other
//! durations are [`Timings`].

use super::step::{Answer, Env, LinkIn, Reason, Step};
use std::collections::BTreeMap;

#[path = "model_actions.rs"]
mod actions;

use actions::End;

pub(crate) const REPROBE: u64 = 300_000;
pub(crate) const DEDUPE_TTL: u64 = 3_600_000;
/// `OpenDeadline`: an `apps.connections.open` call unanswered this long counts as transient.
pub(crate) const OPEN_TIMEOUT: u64 = 15_000;

/// The durations that vary between sequences (milliseconds): the defaults, and values that
/// reorder deadlines (a pong timeout longer than the ping interval, a drain longer than the
/// close grace, a hello deadline before the first ping).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timings {
    pub(crate) hello_timeout: u64,
    pub(crate) ping_interval: u64,
    pub(crate) pong_timeout: u64,
    pub(crate) drain_grace: u64,
    pub(crate) close_grace: u64,
}

impl Timings {
    /// `docs/architecture.md`.
    pub(crate) const DEFAULT: Timings = Timings {
        hello_timeout: 10_000,
        ping_interval: 5_000,
        pong_timeout: 5_000,
        drain_grace: 1_000,
        close_grace: 2_000,
    };
}

/// Named deadlines, in the machine's tie-break order (earlier fires first at equal times).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Tm {
    Hello,
    Pong,
    PingDue,
    Open,
    Reconnect,
    StandbyRetry,
    Drain,
    Close,
    Reprobe,
}

impl Tm {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tm::Hello => "hello_deadline",
            Tm::PingDue => "ping_due",
            Tm::Pong => "pong_deadline",
            Tm::Open => "open_deadline",
            Tm::Reconnect => "reconnect_backoff",
            Tm::StandbyRetry => "standby_retry",
            Tm::Drain => "drain_grace",
            Tm::Close => "close_grace",
            Tm::Reprobe => "reprobe",
        }
    }
}

/// The seven leaf states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum St {
    Disconnected,
    Connecting,
    Authenticated,
    Connected,
    Reconnecting,
    Disconnecting,
    Error,
}

impl St {
    pub(crate) fn name(self) -> &'static str {
        match self {
            St::Disconnected => "disconnected",
            St::Connecting => "connecting",
            St::Authenticated => "authenticated",
            St::Connected => "connected",
            St::Reconnecting => "reconnecting",
            St::Disconnecting => "disconnecting",
            St::Error => "error",
        }
    }

    fn running(self) -> bool {
        matches!(
            self,
            St::Connecting | St::Authenticated | St::Connected | St::Reconnecting
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Active,
    Pending,
    Draining,
    Closing,
}

/// What happened to one envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EnvFate {
    Ignored,
    /// Read on a closing link: not acked there; its ack tried on the active link (`ack_on`),
    /// and dispatched on first sight all the same.
    Unackable {
        dispatched: bool,
        ack_on: Option<u32>,
    },
    Acked {
        dispatched: bool,
    },
}

/// The outputs one step must produce, as far as the invariants look at them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Expect {
    /// `(from, event, to)` in order.
    pub(crate) transitions: Vec<(&'static str, &'static str, &'static str)>,
    pub(crate) link_ended: Vec<u64>,
    pub(crate) handovers: usize,
    pub(crate) retry_delays: Vec<u64>,
    pub(crate) envelope: Option<EnvFate>,
    pub(crate) opened_link: Option<u32>,
    pub(crate) opened_call: Option<u32>,
    /// Calls the machine gave up on (their answers become stale).
    pub(crate) abandoned: Vec<u32>,
    pub(crate) pings: Vec<u32>,
    pub(crate) closes: Vec<u32>,
    pub(crate) drops: Vec<u32>,
}

#[derive(Clone)]
pub(crate) struct Model {
    pub(crate) t: Timings,
    pub(crate) now: u64,
    pub(crate) state: St,
    pub(crate) code: Option<&'static str>,
    /// `(tag, hello_at)`.
    pub(crate) active: Option<(u32, u64)>,
    /// `(tag, handshake completed)`.
    pub(crate) pending: Option<(u32, bool)>,
    /// `(tag, hello_at)`: it may become active again.
    pub(crate) draining: Option<(u32, u64)>,
    /// `(tag, end of its close grace)`, each closing link with its own grace.
    pub(crate) closing: Vec<(u32, u64)>,
    /// A `start` or `new_tokens` arrived while `disconnecting`.
    pub(crate) restart_wanted: bool,
    /// The active link is a drained one made active again: its end was already counted.
    pub(crate) revived: bool,
    pub(crate) in_flight: Option<u32>,
    /// Abandoned calls whose answer may still come (since the last restart).
    pub(crate) abandoned: Vec<u32>,
    /// Links that ended (since the last restart), for stale inputs.
    pub(crate) ended: Vec<u32>,
    pub(crate) next_tag: u32,
    pub(crate) next_call: u32,
    pub(crate) timers: BTreeMap<Tm, u64>,
    /// A handover was asked for while a link drains or a retry waits.
    pub(crate) standby_wanted: bool,
    /// Dedupe key -> first seen (monotonic ms); survives restarts (the shell persists it).
    pub(crate) dedupe: BTreeMap<String, u64>,
    pub(crate) expect: Expect,
}

/// Compact: what a shrunk failure needs to show (the state before the first step is always
/// [`Model::new`]).
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {} ms, {:?}", self.state.name(), self.now, self.t)
    }
}

/// An event inside the model: a step's input, or an expired deadline.
enum Ev<'a> {
    Start,
    Stop,
    NewTokens,
    Resumed,
    Answer(u32, &'a Answer),
    Link(u32, &'a LinkIn),
    Timer(Tm),
}

impl Ev<'_> {
    fn name(&self) -> &'static str {
        match self {
            Ev::Start => "start",
            Ev::Stop => "stop",
            Ev::NewTokens => "new_tokens",
            Ev::Resumed => "restarted",
            Ev::Answer(_, a) => match a {
                Answer::Url => "open_ok",
                Answer::RateLimited(_) => "open_rate_limited",
                Answer::Transient => "open_transient",
                Answer::Unrecoverable(_) => "open_unrecoverable",
            },
            Ev::Link(_, input) => match input {
                LinkIn::Opened => "link_opened",
                LinkIn::Closed => "link_closed",
                LinkIn::Error => "link_error",
                LinkIn::Pong => "pong",
                LinkIn::Rejected => "frame_rejected",
                LinkIn::Hello => "hello",
                LinkIn::Envelope(_) => "envelope",
                LinkIn::Disconnect(r) => match r {
                    Reason::Warning => "disconnect_warning",
                    Reason::RefreshRequested => "disconnect_refresh_requested",
                    Reason::LinkDisabled => "disconnect_link_disabled",
                    Reason::TooManyWebsockets => "disconnect_too_many_websockets",
                    Reason::Unknown => "disconnect_other",
                },
            },
            Ev::Timer(t) => t.name(),
        }
    }
}

impl Model {
    pub(crate) fn new(t: Timings) -> Model {
        Model {
            t,
            now: 0,
            state: St::Disconnected,
            code: None,
            active: None,
            pending: None,
            draining: None,
            closing: Vec::new(),
            restart_wanted: false,
            revived: false,
            in_flight: None,
            abandoned: Vec::new(),
            ended: Vec::new(),
            next_tag: 0,
            next_call: 0,
            timers: BTreeMap::new(),
            standby_wanted: false,
            dedupe: BTreeMap::new(),
            expect: Expect::default(),
        }
    }

    pub(crate) fn role(&self, tag: u32) -> Option<Role> {
        if self.active.is_some_and(|(t, _)| t == tag) {
            Some(Role::Active)
        } else if self.pending.is_some_and(|(t, _)| t == tag) {
            Some(Role::Pending)
        } else if self.draining.is_some_and(|(t, _)| t == tag) {
            Some(Role::Draining)
        } else if self.closing.iter().any(|(t, _)| *t == tag) {
            Some(Role::Closing)
        } else {
            None
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.timers.values().min().copied()
    }

    /// Apply one step, recording what it must output in `expect`.
    pub(crate) fn apply(&mut self, step: &Step) {
        self.expect = Expect::default();
        match step {
            Step::Advance { ms, deliver } => {
                self.now += ms;
                if *deliver {
                    self.fire_expired();
                }
            }
            Step::NextDeadline => {
                self.now = self.now.max(self.next_deadline().unwrap_or(0));
                self.fire_expired();
            }
            Step::Restart => self.restart(),
            Step::Start => self.input(Ev::Start),
            Step::Stop => self.input(Ev::Stop),
            Step::NewTokens => self.input(Ev::NewTokens),
            Step::Answer { call, answer } => self.input(Ev::Answer(*call, answer)),
            Step::Link { tag, input } => self.input(Ev::Link(*tag, input)),
        }
    }

    /// The input first, then the deadlines its time has reached (the order of time).
    fn input(&mut self, ev: Ev<'_>) {
        if let Ev::Answer(call, _) = ev {
            self.abandoned.retain(|c| *c != call);
        }
        self.dispatch(ev);
        self.fire_expired();
    }

    fn fire_expired(&mut self) {
        while let Some((&t, _)) = self
            .timers
            .iter()
            .filter(|(_, at)| **at <= self.now)
            .min_by_key(|(t, at)| (**at, **t))
        {
            self.dispatch(Ev::Timer(t));
        }
    }

    /// A process restart: a fresh machine in the stored state, then `Resumed`.
    fn restart(&mut self) {
        self.forget();
        self.abandoned.clear();
        self.ended.clear();
        self.dispatch(Ev::Resumed);
        self.fire_expired();
    }

    fn dispatch(&mut self, ev: Ev<'_>) {
        if let Ev::Timer(t) = ev {
            self.timers.remove(&t);
        }
        if let Ev::Link(tag, input) = &ev {
            let frame = !matches!(input, LinkIn::Opened | LinkIn::Closed | LinkIn::Error);
            if frame && self.role(*tag) == Some(Role::Active) {
                self.timers.remove(&Tm::Pong); // any frame proves the active link alive
            }
            if frame && self.role(*tag) == Some(Role::Pending) {
                // Any frame proves the handshake completed: giving the link up closes it.
                self.pending = self.pending.map(|(t, _)| (t, true));
            }
        }
        let from = self.state;
        if let Some(to) = self.on(&ev) {
            if to != from {
                let t = (from.name(), ev.name(), to.name());
                self.expect.transitions.push(t);
            }
            self.state = to;
        }
    }

    /// The state's handler; `Some(state)` is the state to be in afterwards.
    fn on(&mut self, ev: &Ev<'_>) -> Option<St> {
        match (self.state, ev) {
            (St::Disconnected, Ev::Start) => self.start_open(),
            (St::Disconnected, Ev::Resumed) => None,
            (St::Error, Ev::Start | Ev::NewTokens | Ev::Timer(Tm::Reprobe)) => {
                self.timers.remove(&Tm::Reprobe);
                self.start_open()
            }
            (St::Error, Ev::Stop | Ev::Resumed) => {
                self.timers.remove(&Tm::Reprobe);
                Some(St::Disconnected)
            }
            (St::Connecting, Ev::Answer(call, answer)) if self.in_flight == Some(*call) => {
                self.settle_call();
                self.on_first_answer(answer)
            }
            // Calls have deadlines: no answer counts as transient; a late one is stale.
            (St::Connecting, Ev::Timer(Tm::Open)) => {
                self.abandon_call();
                self.reconnect(None)
            }
            (St::Authenticated, _) => self.authenticated(ev),
            (St::Reconnecting, Ev::Timer(Tm::Reconnect)) => self.start_open(),
            (St::Connected, _) => self.connected(ev),
            (St::Disconnecting, Ev::Stop) => {
                self.restart_wanted = false;
                None
            }
            // Kept, and acted on once the links are gone.
            (St::Disconnecting, Ev::Start | Ev::NewTokens) => {
                self.restart_wanted = true;
                None
            }
            (St::Disconnecting, Ev::Resumed) => {
                self.forget();
                Some(St::Disconnected)
            }
            (St::Disconnecting, Ev::Link(_, LinkIn::Closed | LinkIn::Error))
            | (St::Disconnecting, Ev::Timer(Tm::Close)) => {
                self.common(ev);
                if !self.links_empty() {
                    None
                } else if std::mem::take(&mut self.restart_wanted) {
                    self.start_open()
                } else {
                    Some(St::Disconnected)
                }
            }
            _ => self.running(ev),
        }
    }

    fn on_first_answer(&mut self, answer: &Answer) -> Option<St> {
        match answer {
            Answer::Url => {
                self.open_pending();
                Some(St::Authenticated)
            }
            Answer::RateLimited(after) => self.reconnect(*after),
            Answer::Transient => self.reconnect(None),
            Answer::Unrecoverable(code) => self.enter_error(code),
        }
    }

    /// Have a URL, awaiting the pending link's `hello`.
    fn authenticated(&mut self, ev: &Ev<'_>) -> Option<St> {
        let pending = self.pending.map(|(t, _)| t);
        match ev {
            Ev::Link(tag, LinkIn::Hello) if Some(*tag) == pending => {
                self.promote_pending();
                Some(St::Connected)
            }
            Ev::Link(tag, LinkIn::Closed | LinkIn::Error) if Some(*tag) == pending => {
                self.pending = None;
                self.end_link(*tag);
                self.timers.remove(&Tm::Hello);
                self.reconnect(None)
            }
            Ev::Timer(Tm::Hello) => {
                self.abandon_pending();
                self.reconnect(None)
            }
            Ev::Link(tag, LinkIn::Disconnect(reason)) if Some(*tag) == pending => {
                if *reason == Reason::LinkDisabled {
                    return self.enter_error("link_disabled");
                }
                self.abandon_pending();
                self.reconnect(None)
            }
            _ => self.running(ev),
        }
    }

    /// Envelopes flow; handovers happen here without leaving the state.
    fn connected(&mut self, ev: &Ev<'_>) -> Option<St> {
        let role = match ev {
            Ev::Link(tag, _) => self.role(*tag),
            _ => None,
        };
        match (ev, role) {
            (Ev::Link(_, LinkIn::Hello), Some(Role::Pending)) => {
                self.handover();
                None
            }
            (Ev::Link(_, LinkIn::Disconnect(reason)), _) => {
                self.connected_disconnect(role, *reason)
            }
            (Ev::Answer(call, answer), _) if self.in_flight == Some(*call) => {
                self.settle_call();
                match answer {
                    Answer::Url => self.open_pending(),
                    Answer::RateLimited(after) => self.standby_failed(*after),
                    Answer::Transient | Answer::Unrecoverable(_) => self.standby_failed(None),
                }
                None
            }
            (Ev::Timer(Tm::Open), _) => {
                self.abandon_call();
                self.standby_failed(None);
                None
            }
            (Ev::Link(_, LinkIn::Closed | LinkIn::Error), Some(Role::Active)) => {
                self.lose_active(End::Gone)
            }
            (Ev::Timer(Tm::Pong), _) => self.lose_active(End::Drop),
            (Ev::Link(tag, LinkIn::Closed | LinkIn::Error), Some(Role::Pending)) => {
                self.pending = None;
                self.end_link(*tag);
                self.timers.remove(&Tm::Hello);
                self.standby_failed(None);
                None
            }
            (Ev::Timer(Tm::Hello), _) => {
                self.abandon_pending();
                self.standby_failed(None);
                None
            }
            (Ev::Timer(Tm::StandbyRetry), _) => {
                self.want_standby();
                None
            }
            (Ev::Timer(Tm::Drain) | Ev::Link(_, LinkIn::Closed | LinkIn::Error), _) => {
                self.common(ev);
                if self.standby_wanted {
                    self.want_standby();
                }
                None
            }
            _ => self.running(ev),
        }
    }

    fn connected_disconnect(&mut self, role: Option<Role>, reason: Reason) -> Option<St> {
        match (role, reason) {
            (Some(Role::Active | Role::Pending), Reason::LinkDisabled) => {
                self.enter_error("link_disabled")
            }
            // Slack ends that link only; the others are healthy.
            (Some(Role::Active), Reason::TooManyWebsockets) => self.lose_active(End::Close),
            (Some(Role::Active), _) => {
                self.want_standby();
                None
            }
            (Some(Role::Pending), _) => {
                self.abandon_pending();
                self.standby_failed(None);
                None
            }
            _ => None,
        }
    }

    /// Between start and stop: `stop` and the restart, else link bookkeeping.
    fn running(&mut self, ev: &Ev<'_>) -> Option<St> {
        match ev {
            Ev::Stop if self.state.running() => self.stop_all(),
            Ev::Resumed if self.state.running() => {
                self.forget();
                Some(St::Disconnected)
            }
            _ => {
                self.common(ev);
                None
            }
        }
    }

    /// Link-level work that does not depend on the lifecycle state.
    fn common(&mut self, ev: &Ev<'_>) {
        match ev {
            Ev::Link(tag, LinkIn::Envelope(env)) => self.on_envelope(*tag, env),
            Ev::Link(tag, LinkIn::Opened) => {
                if let Some((t, opened)) = &mut self.pending
                    && *t == *tag
                {
                    *opened = true;
                }
            }
            Ev::Link(tag, LinkIn::Closed | LinkIn::Error) => match self.role(*tag) {
                Some(Role::Closing) => {
                    self.closing.retain(|(t, _)| t != tag);
                    self.end_link(*tag);
                    self.arm_close();
                }
                Some(Role::Draining) => {
                    self.draining = None;
                    self.end_link(*tag);
                    self.timers.remove(&Tm::Drain);
                }
                _ => {}
            },
            Ev::Timer(Tm::PingDue) => {
                if let Some((tag, _)) = self.active {
                    self.expect.pings.push(tag);
                    if !self.timers.contains_key(&Tm::Pong) {
                        self.arm(Tm::Pong, self.t.pong_timeout);
                    }
                    self.arm(Tm::PingDue, self.t.ping_interval);
                }
            }
            Ev::Timer(Tm::Drain) => {
                if let Some((tag, _)) = self.draining.take() {
                    self.close_link(tag);
                }
            }
            Ev::Timer(Tm::Close) => {
                let now = self.now;
                let (due, kept) = std::mem::take(&mut self.closing)
                    .into_iter()
                    .partition(|(_, at)| *at <= now);
                self.closing = kept;
                let due: Vec<(u32, u64)> = due;
                for (tag, _) in due {
                    self.drop_link(tag);
                }
                self.arm_close();
            }
            _ => {}
        }
    }

    /// Ack first, then dispatch a key not seen within the TTL. On a closing link (our close
    /// frame is sent) the ack can only be tried on the active link, but nothing read is
    /// dropped: it is dispatched on first sight all the same.
    fn on_envelope(&mut self, tag: u32, env: &Env) {
        let fate = match self.role(tag) {
            None => EnvFate::Ignored,
            Some(Role::Closing) => EnvFate::Unackable {
                dispatched: self.first_sight(env),
                ack_on: self.active.map(|(t, _)| t),
            },
            Some(_) => EnvFate::Acked {
                dispatched: self.first_sight(env),
            },
        };
        self.expect.envelope = Some(fate);
    }

    fn first_sight(&mut self, env: &Env) -> bool {
        let now = self.now;
        self.dedupe.retain(|_, at| *at + DEDUPE_TTL > now);
        let first = !self.dedupe.contains_key(&env.key());
        if first {
            self.dedupe.insert(env.key(), now);
        }
        first
    }
}
