//! The invariants of `socket_sequence`, checked after every step. Each `assert!` message
//! says which invariant broke; [`Harness::fail`] adds the step and the state.

use super::{Dispatched, Harness};
use crate::engine::{EnvelopeOutcome, Machine, Now, Output, Signal, Snapshot, Transition};
use crate::fuzzing::invariants;
use crate::fuzzing::invariants::socket::Socket;
use crate::socket::links::ActiveLink;
use crate::socket::wire::Envelope;
use crate::socket::{
    Command, DEFAULT_INSTANCE, LinkId, MACHINE_ID, STATE_NAMES, SocketConfig, SocketMode, Timer,
};

type Out = Output<Command>;

/// States in which no link can carry an ack: nothing is acked or dispatched there.
const NO_ACK_STATES: [&str; 3] = ["disconnected", "error", "disconnecting"];

impl Harness {
    fn fail(&self, what: &str) -> ! {
        panic!(
            "socket_sequence: step {} at {:?}, state {}: {what}\n  links {:?}\n  timers {:?}\n  shell {:?}",
            self.summary.steps,
            self.now,
            self.m.state_name(),
            self.m.links(),
            self.m.timers().armed().collect::<Vec<_>>(),
            self.shell.sockets,
        )
    }

    fn ensure(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.fail(&what());
        }
    }

    /// Check the outputs of one input in order, tracking the state each was emitted in.
    pub(super) fn check_outputs(&mut self, before: &'static str, outputs: &[Out]) {
        let mut scan = before;
        for (i, out) in outputs.iter().enumerate() {
            match out {
                Output::Transition(t) => scan = self.check_transition(scan, t),
                Output::Command(c) => self.check_command(scan, c, &outputs[..i], &outputs[i + 1..]),
                Output::Signal(s) => self.check_signal(scan, s),
            }
        }
        let now_state = self.m.state_name();
        self.ensure(scan == now_state, || {
            format!("transitions end in {scan}, the machine is in {now_state}: {outputs:?}")
        });
    }

    /// A transition leaves the state the previous one entered, is stamped with the input's
    /// time and is an edge of the derived diagram.
    fn check_transition(&mut self, scan: &'static str, t: &Transition) -> &'static str {
        let to = invariants::transition(MACHINE_ID, DEFAULT_INSTANCE, scan, self.now, t)
            .unwrap_or_else(|e| self.fail(&e));
        self.summary
            .transitions
            .push(format!("{} -> {} ({})", t.from, t.to, t.event));
        to
    }

    fn check_command(&mut self, scan: &'static str, c: &Command, prev: &[Out], next: &[Out]) {
        match c {
            Command::OpenConnection { request } => {
                self.ensure(request.0 > self.shell.last_request, || {
                    format!("request {request:?} reuses an id")
                });
                self.ensure(
                    // `disconnecting`: a start kept while stopping, once the links are gone.
                    [
                        "disconnected",
                        "error",
                        "reconnecting",
                        "connected",
                        "disconnecting",
                    ]
                    .contains(&scan),
                    || format!("apps.connections.open called in {scan}"),
                );
                self.shell.last_request = request.0;
                self.shell.outstanding.insert(*request);
            }
            Command::OpenLink { link, url } => {
                let fresh = self.shell.url.take();
                self.ensure(fresh.as_ref() == Some(url), || {
                    format!("OpenLink {link} without a fresh URL from apps.connections.open")
                });
                self.ensure(["connecting", "connected"].contains(&scan), || {
                    format!("OpenLink in {scan}")
                });
                self.sockets_carry_out(c);
            }
            Command::Ack { envelope_id, .. } => self.check_ack(scan, c, envelope_id, next),
            Command::Remember { key, at_unix } => {
                self.ensure(*at_unix == self.now.unix, || {
                    format!("Remember {key} stamped {at_unix:?}")
                });
                // Right after its ack, or first for an envelope read on a closing link while no
                // active link can carry its ack.
                let unackable = matches!(
                    next,
                    [
                        Output::Command(Command::Dispatch { .. }),
                        Output::Signal(Signal::Envelope {
                            outcome: EnvelopeOutcome::Unackable,
                            ..
                        }),
                        ..
                    ]
                );
                // Or first for an envelope whose ack waits for its handler's response.
                let deferred = self.config.responder
                    && matches!(
                        next.first(),
                        Some(Output::Command(Command::Dispatch { envelope, .. }))
                            if envelope.accepts_response_payload
                    );
                self.ensure(
                    matches!(prev.last(), Some(Output::Command(Command::Ack { .. })))
                        || (unackable && self.m.links().active.is_none())
                        || deferred,
                    || format!("Remember {key} not right after its ack"),
                );
                self.shell.remember(key, *at_unix);
            }
            Command::Dispatch { link, envelope } => {
                self.check_dispatch(*link, envelope, prev, next)
            }
            Command::Ping { .. } => {
                self.sockets_carry_out(c);
                self.ensure(scan == "connected", || format!("Ping in {scan}"));
            }
            Command::CloseLink { link } => {
                self.sockets_carry_out(c);
                self.shell.sockets.closed(*link, self.now.mono);
            }
            Command::DropLink { link } => {
                let failed = self.active_before;
                let grace = self.config.close_grace;
                let allowed = self
                    .shell
                    .sockets
                    .drop_allowed(*link, self.now.mono, grace, failed);
                if let Err(e) = allowed {
                    self.fail(&e);
                }
                self.sockets_carry_out(c);
            }
        }
    }

    /// An ack goes out on an open link, for the envelope being handled, and is followed by
    /// either its dispatch (`Remember`, `Dispatch`) or a `duplicate` signal.
    /// The shell's sockets carry out `c` (or the invariant it breaks is reported).
    fn sockets_carry_out(&mut self, c: &Command) {
        if let Err(e) = self.shell.sockets.command(c) {
            self.fail(&e);
        }
    }

    fn check_ack(&mut self, scan: &'static str, c: &Command, id: &str, next: &[Out]) {
        self.sockets_carry_out(c);
        self.ensure(!NO_ACK_STATES.contains(&scan), || format!("Ack in {scan}"));
        let this_input = self.envelope.as_ref().is_some_and(|e| e.envelope_id == id);
        let immediate = matches!(
            next,
            [
                Output::Command(Command::Remember { .. }),
                Output::Command(Command::Dispatch { .. }),
                ..
            ] | [
                Output::Signal(Signal::Envelope {
                    outcome: EnvelopeOutcome::Duplicate | EnvelopeOutcome::Unackable,
                    ..
                }),
                ..
            ]
        );
        // A deferred ack (the handler's response, its deadline, or its link about to close)
        // settles exactly one envelope dispatched before its ack.
        let owed = self.owed.iter().position(|(o, _)| o == id);
        if let (false, Some(i)) = (this_input && immediate, owed) {
            self.owed.remove(i);
            if matches!(
                c,
                Command::Ack {
                    payload: Some(_),
                    ..
                }
            ) {
                self.summary.acks_with_payload += 1;
            }
            return;
        }
        self.ensure(this_input, || {
            format!("Ack {id} for no envelope of this input and none owed")
        });
        let dispatched = matches!(
            next,
            [
                Output::Command(Command::Remember { .. }),
                Output::Command(Command::Dispatch { .. }),
                ..
            ]
        );
        let duplicate = matches!(
            next,
            [
                Output::Signal(Signal::Envelope {
                    outcome: EnvelopeOutcome::Duplicate | EnvelopeOutcome::Unackable,
                    ..
                }),
                ..
            ]
        );
        self.ensure(dispatched || duplicate, || {
            format!("Ack {id} followed by neither its dispatch nor a duplicate signal: {next:?}")
        });
    }

    /// Every dispatch comes right after its ack (same link, same id) and its `Remember`, and
    /// no key is dispatched twice within the TTL (unless the bounded window evicted it).
    fn check_dispatch(&mut self, link: LinkId, envelope: &Envelope, prev: &[Out], next: &[Out]) {
        let key = envelope.dedupe_key();
        let this = Output::Command(Command::Dispatch {
            link,
            envelope: envelope.clone(),
        });
        // With what follows it: an `unackable` signal right after excuses the missing ack.
        let outputs: Vec<Out> = prev
            .iter()
            .cloned()
            .chain([this])
            .chain(next.first().cloned())
            .collect();
        if let Err(e) =
            invariants::socket::ack_then_remember_then_dispatch(&outputs, self.config.responder)
        {
            self.fail(&e);
        }
        self.ensure(self.envelope.as_ref() == Some(envelope), || {
            format!("Dispatch {key} of another envelope than the input's")
        });
        let capacity = self.config.dedupe_capacity as u64;
        if let Some(prev) = self.dispatched.get(&key) {
            // Within a process the window is first-in first-out; keys loaded at the last
            // start leave in first-seen order, so any of them may go once the window overflows.
            let evicted = match prev.epoch == self.summary.restarts as u64 {
                true => self.dispatch_seq - prev.seq >= capacity,
                false => self.dispatch_seq - self.restart_seq + self.preloaded > capacity,
            };
            self.ensure(prev.expired || evicted, || {
                format!(
                    "{key} dispatched again within the TTL (first at {:?})",
                    prev.at
                )
            });
        }
        let record = Dispatched {
            at: self.now.unix,
            expired: false,
            seq: self.dispatch_seq,
            epoch: self.summary.restarts as u64,
        };
        self.dispatched.insert(key, record);
        self.dispatch_seq += 1;
        self.summary.dispatched += 1;
        let acked = prev.iter().any(|o| {
            matches!(o, Output::Command(Command::Ack { envelope_id, .. })
                if *envelope_id == envelope.envelope_id)
        });
        if !acked && self.config.responder && envelope.accepts_response_payload {
            self.owed
                .push((envelope.envelope_id.clone(), self.now.mono));
        }
        self.unfinished.insert(envelope.envelope_id.clone());
    }

    /// An active link that stops being the active one is counted once (`LinkEnded`, the
    /// connection-duration histogram), with its lifetime from its `hello`.
    pub(super) fn check_link_ended(&self, before: Option<ActiveLink>, outputs: &[Out]) {
        let ended: Vec<u64> = outputs
            .iter()
            .filter_map(|o| match o {
                Output::Signal(Signal::LinkEnded { lifetime_ms }) => Some(*lifetime_ms),
                _ => None,
            })
            .collect();
        let after = self.m.links().active.map(|a| a.id);
        let expected: Vec<u64> = before
            .filter(|b| after != Some(b.id) && !b.counted)
            .map(|b| self.now.mono.since(b.hello_at))
            .into_iter()
            .collect();
        self.ensure(ended == expected, || {
            format!("LinkEnded {ended:?}, expected {expected:?} (active {before:?} -> {after:?})")
        });
    }

    fn check_signal(&mut self, scan: &'static str, s: &Signal) {
        match s {
            Signal::Ignored { machine, state, .. } => {
                self.ensure(*machine == MACHINE_ID && *state == scan, || {
                    format!("{s:?} while in {scan}")
                });
            }
            Signal::Envelope {
                outcome: EnvelopeOutcome::Duplicate,
                ..
            } => {
                // A duplicate is never a first sight: that would be a lost event.
                let key = self.envelope.as_ref().map(|e| e.dedupe_key());
                let seen = key
                    .as_ref()
                    .is_some_and(|k| self.dispatched.contains_key(k));
                self.ensure(seen, || {
                    format!("{key:?} called a duplicate, never dispatched")
                });
                self.summary.duplicates += 1;
            }
            Signal::Handover => self.summary.handovers += 1,
            Signal::Envelope {
                outcome: EnvelopeOutcome::Shed,
                kind,
            } => {
                // Only events Slack re-delivers are refused, and only while the handlers are
                // behind; acked and dispatched ones are never shed (`check_ack`).
                self.ensure(*kind == "events_api", || format!("{kind} shed"));
                let behind = self.unfinished.len() >= self.config.max_pending;
                self.ensure(behind, || {
                    format!("shed with {} unfinished", self.unfinished.len())
                });
                self.summary.shed += 1;
            }
            Signal::Envelope {
                outcome: EnvelopeOutcome::LateResponse,
                ..
            } => self.summary.late_responses += 1,
            _ => {}
        }
    }

    /// Invariants of the state after every step: one known leaf state, no deadline in the
    /// past, link limits, the shell and the machine agreeing on every socket, and each
    /// state holding exactly what it needs to make progress.
    pub(super) fn check_state(&mut self) {
        let state = self.m.state_name();
        self.ensure(STATE_NAMES.contains(&state), || {
            format!("unknown state {state}")
        });
        if let Some(at) = self.m.poll_timeout() {
            self.ensure(at >= self.now.mono, || {
                format!("deadline {at:?} is in the past")
            });
        }
        let (open, closing) = self.shell.sockets.counts();
        if let Err(e) = invariants::socket::link_limits(open, closing) {
            self.fail(&e);
        }
        self.check_sockets_agree();
        self.check_state_needs(state);
        self.check_deliveries();
    }

    /// Every envelope dispatched before its ack is acked by its deadline (at most
    /// `ack_deadline` after receipt, within Slack's 3 s) with a deadline armed to wake for it;
    /// one the machine gives up on had no writable link to be acked on. The shell's unfinished
    /// dispatches are the machine's.
    fn check_deliveries(&mut self) {
        let acks = self.m.acks();
        let armed = self.m.timers().get(Timer::AckDeadline);
        let limit = self.config.ack_deadline;
        let now = self.now.mono;
        let gone = invariants::socket::deferred_acks(&self.owed, &acks.awaiting, armed, now, limit)
            .unwrap_or_else(|e| self.fail(&e));
        if let Err(e) = invariants::socket::a_deadline_when_waiting(&self.m) {
            self.fail(&e);
        }
        for i in gone.into_iter().rev() {
            // Not acked, yet no longer awaited: only when nothing could carry its ack.
            let writable = self.shell.sockets.held().any(|(_, s)| s == Socket::Open);
            let id = self.owed.remove(i).0;
            self.ensure(self.m.links().active.is_none() || !writable, || {
                format!("{id} dropped from the deferred acks without an ack")
            });
        }
        self.ensure(acks.unfinished == self.unfinished, || {
            format!(
                "unfinished dispatches: machine {:?}, shell {:?}",
                acks.unfinished, self.unfinished
            )
        });
    }

    /// The machine knows exactly the sockets the shell holds, in compatible roles: no leaked
    /// socket, no socket the machine thinks it has and the shell does not.
    fn check_sockets_agree(&self) {
        let l = self.m.links();
        let mut expected = Vec::new();
        if let Some(a) = l.active {
            expected.push((a.id, vec![Socket::Open]));
        }
        if let Some(p) = l.pending {
            let ok = if p.opened {
                vec![Socket::Open]
            } else {
                vec![Socket::Opening, Socket::Open]
            };
            expected.push((p.id, ok));
        }
        if let Some(d) = l.draining {
            expected.push((d.id, vec![Socket::Open]));
        }
        for c in &l.closing {
            expected.push((c.id, vec![Socket::Closing]));
        }
        self.ensure(expected.len() == self.shell.sockets.len(), || {
            "the machine and the shell disagree on the set of sockets".to_string()
        });
        for (id, ok) in expected {
            let socket = self.shell.sockets.get(&id);
            self.ensure(socket.is_some_and(|s| ok.contains(s)), || {
                format!("{id}: the shell holds it as {socket:?}, expected one of {ok:?}")
            });
        }
    }

    /// Each state holds what it waits on (a deadline, a call or a link), and nothing else
    /// lingers: a leaked deadline fires into a state that ignores it.
    fn check_state_needs(&self, state: &str) {
        let l = self.m.links();
        let t = self.m.timers();
        let in_flight = self.m.in_flight().is_some();
        let facts = [
            (
                "connected <=> an active link",
                (state == "connected") == l.active.is_some(),
            ),
            (
                "authenticated => a pending link",
                state != "authenticated" || l.pending.is_some(),
            ),
            (
                "a pending link => hello deadline",
                l.pending.is_some() == t.is_armed(Timer::HelloDeadline),
            ),
            (
                "a pending link => linking or connected",
                l.pending.is_none() || ["authenticated", "connected"].contains(&state),
            ),
            (
                "connecting => a call in flight",
                state != "connecting" || in_flight,
            ),
            (
                "a call in flight => connecting or connected",
                !in_flight || ["connecting", "connected"].contains(&state),
            ),
            (
                "reconnecting <=> reconnect backoff",
                (state == "reconnecting") == t.is_armed(Timer::ReconnectBackoff),
            ),
            (
                "error <=> reprobe",
                (state == "error") == t.is_armed(Timer::Reprobe),
            ),
            (
                "connected <=> ping due",
                (state == "connected") == t.is_armed(Timer::PingDue),
            ),
            (
                "pong deadline => connected",
                !t.is_armed(Timer::PongDeadline) || state == "connected",
            ),
            (
                "standby retry => connected",
                !t.is_armed(Timer::StandbyRetry) || state == "connected",
            ),
            (
                "a draining link <=> drain grace",
                l.draining.is_some() == t.is_armed(Timer::DrainGrace),
            ),
            (
                "a closing link <=> close grace",
                l.closing.is_empty() != t.is_armed(Timer::CloseGrace),
            ),
            (
                "a call in flight <=> open deadline",
                in_flight == t.is_armed(Timer::OpenDeadline),
            ),
            (
                "an ack awaited <=> ack deadline",
                self.m.acks().awaiting.is_empty() != t.is_armed(Timer::AckDeadline),
            ),
            (
                "a kept start => disconnecting",
                !self.m.restart_wanted() || state == "disconnecting",
            ),
            (
                "idle and disconnecting => only a closing link",
                !NO_ACK_STATES.contains(&state) || l.open_count() == 0,
            ),
            (
                "idle and disconnecting => no call in flight",
                !NO_ACK_STATES.contains(&state) || !in_flight,
            ),
            (
                "disconnecting => a closing link",
                state != "disconnecting" || !l.closing.is_empty(),
            ),
        ];
        for (fact, holds) in facts {
            self.ensure(holds, || format!("broken: {fact}"));
        }
        let graces = invariants::socket::close_graces(
            l,
            t.get(Timer::CloseGrace),
            self.now.mono,
            self.config.close_grace,
        );
        if let Err(e) = graces {
            self.fail(&e);
        }
    }

    /// Restore the current snapshot and deliver `Resumed`: no command (a restore repeats no
    /// side effect), one `X -> disconnected (restarted)` transition unless already there,
    /// nothing left armed or open.
    pub(super) fn check_resume(&self) {
        let snapshot = self.m.snapshot();
        self.ensure(snapshot.state == self.m.state_name(), || {
            format!("snapshot {snapshot:?}")
        });
        let json = serde_json::to_string(&snapshot).expect("snapshot serialises");
        let back: Snapshot = serde_json::from_str(&json).expect("snapshot parses");
        self.ensure(back == snapshot, || {
            format!("snapshot JSON round trip: {json}")
        });
        let r = resume(&self.config, &snapshot, self.now);
        let expected: Vec<(&str, &str, &str)> = match snapshot.state.as_str() {
            "disconnected" => vec![],
            from => vec![(from, "disconnected", "restarted")],
        };
        self.ensure(r.commands.is_empty(), || {
            format!("resume emitted {:?}", r.commands)
        });
        self.ensure(r.transitions == expected, || {
            format!("resume: {:?}", r.transitions)
        });
        let m = &r.machine;
        self.ensure(
            m.state_name() == "disconnected" && m.poll_timeout().is_none() && m.links().is_empty(),
            || "the resumed machine is not an idle `disconnected` one".to_string(),
        );
    }
}

/// What restoring a snapshot and delivering `Resumed` produced.
struct Resumed {
    transitions: Vec<(&'static str, &'static str, &'static str)>,
    commands: Vec<Command>,
    machine: SocketMode,
}

fn resume(config: &SocketConfig, snapshot: &Snapshot, now: Now) -> Resumed {
    let mut machine = SocketMode::resume(config.clone(), DEFAULT_INSTANCE, snapshot, now)
        .unwrap_or_else(|e| panic!("socket_sequence: {snapshot:?} does not restore: {e}"));
    let mut r = Resumed {
        transitions: Vec::new(),
        commands: Vec::new(),
        machine: machine.clone(),
    };
    for out in machine.drain() {
        match out {
            Output::Transition(t) => r.transitions.push((t.from, t.to, t.event)),
            Output::Command(c) => r.commands.push(c),
            Output::Signal(_) => {}
        }
    }
    r.machine = machine;
    r
}
