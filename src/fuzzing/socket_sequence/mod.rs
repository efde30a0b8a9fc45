//! `socket_sequence`: arbitrary Socket Mode inputs at arbitrary times through the pure
//! [`SocketMode`], with a faithful shell model beside it, checking every invariant after every
//! step (see `check.rs` and `docs/testing.md`).
//!
//! Input grammar: a config preset byte, a `u16` RNG seed, then steps (`step.rs`) until the bytes run
//! out. Links and calls are picked among those the machine knows right now most of the time,
//! so random bytes reach handovers, drains and closes rather than being ignored.

mod check;
mod seeds;
mod shell;
mod step;

use super::{bytes, clock};
use crate::engine::{Machine, Millis, Now, UnixMs};
use crate::socket::{Input, LinkId, RequestId, SocketConfig, SocketMode};
use arbitrary::Unstructured;
use shell::Shell;
use std::collections::HashMap;
use std::time::Duration;
use step::{Pick, Step};

pub use seeds::seeds;

/// Most steps of one scenario (longer inputs are truncated).
const MAX_STEPS: usize = 2_000;

/// What one scenario did, for the seed stories' own tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Steps applied.
    pub steps: usize,
    /// Every transition, as `from -> to (event)`.
    pub transitions: Vec<String>,
    /// Envelopes dispatched.
    pub dispatched: usize,
    /// Envelopes acked and recognised as duplicates.
    pub duplicates: usize,
    /// Handovers to a standby link.
    pub handovers: usize,
    /// Acks that carried the handler's response.
    pub acks_with_payload: usize,
    /// Responses that came after their envelope's ack deadline.
    pub late_responses: usize,
    /// `events_api` envelopes shed while the handlers were behind.
    pub shed: usize,
    /// Process restarts.
    pub restarts: usize,
    /// The leaf state at the end.
    pub final_state: &'static str,
}

/// The fuzz target's entry point: [`run`], discarding the summary.
pub fn run_bytes(data: &[u8]) {
    let _ = run(data);
}

/// Decode `data` into a scenario, run it, check every step.
///
/// # Panics
/// When an invariant breaks; the message names the step and the invariant.
pub fn run(data: &[u8]) -> Summary {
    let mut u = Unstructured::new(data);
    let config = config(bytes::u8(&mut u), bytes::u16(&mut u));
    let mut h = Harness::new(config);
    while !u.is_empty() && h.summary.steps < MAX_STEPS {
        let Ok(step) = Step::read(&mut u) else { break };
        h.summary.steps += 1;
        h.apply(step);
    }
    h.summary.final_state = h.m.state_name();
    h.summary
}

/// Bit 0 clear: the documented defaults; set: short timings, a 16-key dedupe window with a
/// 30 s TTL and a 512-byte frame limit, so expiry, eviction and oversize happen within a few
/// steps. Bit 1 set: a responder is registered (acks wait for the handler's answer) and at
/// most 3 dispatches may be unfinished, so deferred acks and shedding happen too.
fn config(preset: u8, seed: u16) -> SocketConfig {
    let mut c = SocketConfig {
        seed: u64::from(seed),
        ..SocketConfig::default()
    };
    if preset % 2 == 1 {
        let ms = Duration::from_millis;
        c.hello_timeout = ms(2_000);
        c.ping_interval = ms(1_000);
        c.pong_timeout = ms(1_000);
        c.drain_grace = ms(300);
        c.close_grace = ms(500);
        c.backoff_base = ms(100);
        c.backoff_cap = ms(2_000);
        c.backoff_reset_after = ms(5_000);
        c.reprobe_interval = ms(3_000);
        c.dedupe_ttl = ms(30_000);
        c.dedupe_capacity = 16;
        c.max_frame_bytes = 512;
    }
    if preset & 2 != 0 {
        c.responder = true;
        c.max_pending = 3;
    }
    c
}

/// When a key was last dispatched (across restarts).
#[derive(Clone, Copy, Debug)]
struct Dispatched {
    at: UnixMs,
    /// The machine was given a wall-clock time at or past `at + ttl` since: it may forget
    /// the key (the wall clock may jump back afterwards).
    expired: bool,
    /// Dispatch counter at the time (eviction needs `capacity` newer keys).
    seq: u64,
    /// Restart counter at the time.
    epoch: u64,
}

/// What the checks need from before an input.
#[derive(Clone, Copy, Debug)]
struct Before {
    state: &'static str,
    active: Option<crate::socket::links::ActiveLink>,
}

/// The machine, the clocks, the shell model and the dispatch history.
struct Harness {
    config: SocketConfig,
    m: SocketMode,
    now: Now,
    shell: Shell,
    dispatched: HashMap<String, Dispatched>,
    dispatch_seq: u64,
    /// Dispatches before the last restart, and keys loaded into the window at it: the window
    /// evicts by first-seen time, not dispatch order, so any loaded key may go once it
    /// overflows.
    restart_seq: u64,
    preloaded: u64,
    /// The envelope carried by the input being handled, if any.
    envelope: Option<crate::socket::wire::Envelope>,
    /// Envelope ids dispatched before their ack (responder mode), with their receipt time,
    /// until their ack goes out.
    owed: Vec<(String, Millis)>,
    /// Envelope ids dispatched and not reported finished, as the shell knows them.
    unfinished: std::collections::BTreeSet<String>,
    /// The active link before the input being handled (the only open link that may be
    /// dropped without a close: it was found dead).
    active_before: Option<LinkId>,
    summary: Summary,
}

impl Harness {
    fn new(config: SocketConfig) -> Harness {
        Harness {
            m: SocketMode::new(config.clone()),
            config,
            now: Now::fake(0),
            shell: Shell::default(),
            dispatched: HashMap::new(),
            dispatch_seq: 0,
            restart_seq: 0,
            preloaded: 0,
            envelope: None,
            active_before: None,
            owed: Default::default(),
            unfinished: Default::default(),
            summary: Summary::default(),
        }
    }

    fn apply(&mut self, step: Step) {
        match step {
            Step::Advance { ms } => {
                self.now = clock::advance(self.now, Duration::from_millis(ms.into()))
            }
            Step::ToDeadline { offset } => {
                if let Some(at) = self.m.poll_timeout() {
                    let at = Millis(at.0.saturating_add(u64::from(offset % 3)).saturating_sub(1));
                    self.now = clock::advance_to(self.now, at);
                }
                self.deliver(Input::Timeout);
            }
            Step::AdvanceMinutes { minutes } => {
                self.now = clock::advance(self.now, Duration::from_secs(60 * u64::from(minutes)));
            }
            Step::WallJump { seconds } => {
                let ms = u64::from(seconds.unsigned_abs()) * 1_000;
                let unix = self.now.unix.0;
                let unix = if seconds < 0 {
                    unix.saturating_sub(ms)
                } else {
                    unix.saturating_add(ms)
                };
                self.now.unix = UnixMs(unix);
            }
            Step::Restart => self.restart(),
            Step::Start => self.deliver(Input::Start),
            Step::Stop => self.deliver(Input::Stop),
            Step::NewTokens => self.deliver(Input::NewTokens),
            Step::Timeout => self.deliver(Input::Timeout),
            Step::OpenOk { request }
            | Step::OpenRateLimited { request, .. }
            | Step::OpenTransient { request }
            | Step::OpenUnrecoverable { request, .. } => {
                let outcome = step::open_outcome(&step).expect("an open step");
                let request = self.request(request);
                self.deliver(Input::OpenResult { request, outcome });
            }
            Step::LinkOpened { link } => self.deliver(Input::LinkOpened {
                link: self.link(link),
            }),
            Step::LinkClosed { link } => self.deliver(Input::LinkClosed {
                link: self.link(link),
            }),
            Step::LinkError { link } => self.deliver(Input::LinkError {
                link: self.link(link),
            }),
            Step::Pong { link } => self.deliver(Input::Pong {
                link: self.link(link),
            }),
            Step::Hello { link } | Step::Envelope { link, .. } | Step::Disconnect { link, .. } => {
                let frame = step::frame(&step).expect("a frame step");
                self.deliver(Input::Frame {
                    link: self.link(link),
                    frame,
                });
            }
            Step::Rejected { link, reason } => {
                let reason = step::reject_reason(reason);
                self.deliver(Input::FrameRejected {
                    link: self.link(link),
                    reason,
                });
            }
            Step::Text { link, text } => self.deliver_text(self.link(link), &text),
            Step::Raw {
                link,
                request,
                input,
            } => match self.remap(link, request, input) {
                Some(input) => self.deliver(input),
                None => self.restart(),
            },
            Step::Respond { envelope } => {
                let envelope_id = self.envelope_id(envelope, true);
                let payload = crate::socket::AckPayload(serde_json::json!({"text": "ok"}));
                self.deliver(Input::Respond {
                    envelope_id,
                    payload,
                });
            }
            Step::Completed { envelope } => {
                let envelope_id = self.envelope_id(envelope, false);
                self.deliver(Input::Completed { envelope_id });
            }
        }
    }

    /// Pick an envelope id: one awaiting its ack (`awaiting`) or one unfinished most of the
    /// time, else one of the small id space the steps use (maybe unknown, maybe late).
    fn envelope_id(&self, pick: Pick, awaiting: bool) -> String {
        let acks = self.m.acks();
        let mut known: Vec<String> = match awaiting {
            true => acks
                .awaiting
                .iter()
                .map(|a| a.envelope_id.clone())
                .collect(),
            false => Vec::new(),
        };
        known.extend(acks.unfinished.iter().cloned());
        match pick.0 {
            b @ 0..200 if !known.is_empty() => known[usize::from(b) % known.len()].clone(),
            b => format!("env-{b:03}"),
        }
    }

    /// Pick a link: one of the machine's (oldest first) for most values, else one this
    /// process used before (stale), else a small id that may never have existed.
    fn link(&self, pick: Pick) -> LinkId {
        let l = self.m.links();
        let mut known: Vec<LinkId> = [l.active.map(|a| a.id), l.pending.map(|p| p.id)]
            .into_iter()
            .flatten()
            .chain(l.draining.map(|d| d.id))
            .chain(l.closing.iter().map(|c| c.id))
            .collect();
        known.sort();
        let used = self.shell.sockets.issued();
        match pick.0 {
            b @ 0..200 if !known.is_empty() => known[usize::from(b) % known.len()],
            b @ 0..232 if !used.is_empty() => used[usize::from(b) % used.len()],
            b => LinkId(u64::from(b % 24)),
        }
    }

    /// Pick a call: the one in flight for most values, else one still out (abandoned by the
    /// machine: its late answer is realistic), else an id that may never have existed.
    fn request(&self, pick: Pick) -> RequestId {
        let out: Vec<RequestId> = self.shell.outstanding.iter().copied().collect();
        match (pick.0, self.m.in_flight()) {
            (0..200, Some(request)) => request,
            (b @ 0..232, _) if !out.is_empty() => out[usize::from(b) % out.len()],
            (b, _) => RequestId(u64::from(b % 24)),
        }
    }

    /// Re-target an `arbitrary`-derived input at picked links and calls; `None` for
    /// `Resumed`, which only a restart delivers.
    fn remap(&self, link: Pick, request: Pick, input: Input) -> Option<Input> {
        let link = self.link(link);
        Some(match input {
            Input::Resumed => return None,
            Input::OpenResult { outcome, .. } => Input::OpenResult {
                request: self.request(request),
                outcome,
            },
            Input::LinkOpened { .. } => Input::LinkOpened { link },
            Input::LinkClosed { .. } => Input::LinkClosed { link },
            Input::LinkError { .. } => Input::LinkError { link },
            Input::Frame { frame, .. } => Input::Frame { link, frame },
            Input::FrameRejected { reason, .. } => Input::FrameRejected { link, reason },
            Input::Pong { .. } => Input::Pong { link },
            other => other,
        })
    }

    /// The machine is about to see `now`: keys whose TTL has run out by then may be forgotten.
    fn note_time(&mut self) {
        let ttl_ms = crate::engine::time::duration_ms(self.config.dedupe_ttl);
        let now = self.now.unix.0;
        for d in self.dispatched.values_mut() {
            d.expired |= d.at.0.saturating_add(ttl_ms) <= now;
        }
    }

    fn deliver(&mut self, input: Input) {
        self.note_time();
        // A handler's end, however the step made it (`Completed` or a raw input).
        if let Input::Completed { envelope_id } = &input {
            self.unfinished.remove(envelope_id);
        }
        self.envelope = match &input {
            Input::Frame {
                frame: crate::socket::wire::ServerFrame::Envelope(e),
                ..
            } => Some(e.clone()),
            _ => None,
        };
        self.shell.observe(&input);
        let before = self.before();
        self.m.handle(self.now, input);
        self.after_input(before);
    }

    fn deliver_text(&mut self, link: LinkId, text: &str) {
        self.note_time();
        let decoded = crate::socket::wire::decode_text(text, self.config.max_frame_bytes);
        self.envelope = match decoded {
            Ok(crate::socket::wire::ServerFrame::Envelope(e)) => Some(e),
            _ => None,
        };
        self.shell.sockets.frame_on(link);
        let before = self.before();
        self.m.handle_text(self.now, link, text);
        self.after_input(before);
    }

    fn before(&self) -> Before {
        Before {
            state: self.m.state_name(),
            active: self.m.links().active,
        }
    }

    fn after_input(&mut self, before: Before) {
        let outputs = self.m.drain();
        self.active_before = before.active.map(|a| a.id);
        self.check_outputs(before.state, &outputs);
        self.check_link_ended(before.active, &outputs);
        self.check_state();
    }

    /// The process restarts the way the runtime does it: the old machine's snapshot (which
    /// must also restore and resume cleanly on its own, see `check_resume`) is restored with
    /// the persisted, unexpired dedupe keys, and `Resumed` takes it to `disconnected`.
    fn restart(&mut self) {
        self.check_resume();
        let snapshot = self.m.snapshot();
        self.summary.restarts += 1;
        self.note_time();
        self.shell.restart();
        // The process is gone, and its handlers with it.
        self.owed.clear();
        self.unfinished.clear();
        let ttl_ms = crate::engine::time::duration_ms(self.config.dedupe_ttl);
        let seen = self.shell.load_seen(self.now.unix, ttl_ms);
        self.restart_seq = self.dispatch_seq;
        self.preloaded = seen.len() as u64;
        let instance = crate::socket::DEFAULT_INSTANCE;
        self.m = SocketMode::restore_with_seen(self.config.clone(), instance, &snapshot, seen)
            .unwrap_or_else(|e| panic!("socket_sequence: {snapshot:?} does not restore: {e}"));
        self.deliver(Input::Resumed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::OpenOutcome;

    /// A fuzzed `Retry-After` of `u64::MAX` ms puts `ReconnectBackoff` at the end of time;
    /// waking for it must not carry the clock there (where every deadline a handler arms is
    /// due at once: a ping, its pong deadline and a drop in one input). The CI fuzz run found
    /// that cascade dropping a link that had just said `hello`.
    #[test]
    fn a_deadline_at_the_end_of_time_stops_the_clock_at_the_horizon() {
        let mut h = Harness::new(config(0, 1));
        h.apply(Step::Start);
        h.apply(Step::Raw {
            link: Pick(0),
            request: Pick(0),
            input: Input::OpenResult {
                request: RequestId(0),
                outcome: OpenOutcome::RateLimited {
                    retry_after_ms: Some(u64::MAX),
                },
            },
        });
        assert_eq!(h.m.state_name(), "reconnecting");
        assert_eq!(h.m.poll_timeout(), Some(Millis(u64::MAX)));
        h.apply(Step::ToDeadline { offset: 1 });
        assert_eq!(h.now.mono, clock::MONO_HORIZON);
        assert_eq!(
            h.m.state_name(),
            "reconnecting",
            "the backoff is not due yet"
        );
        h.apply(Step::Stop);
        assert_eq!(h.m.state_name(), "disconnected");
    }
}
