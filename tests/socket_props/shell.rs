//! The shell's view of the machine, built only from the inputs it delivered and the commands it
//! got back, and the invariants that view must keep whatever the machine's internals say.

use phantom_fsm::engine::{Output, UnixMs};
use phantom_fsm::socket::{Command, Input, LinkId, RequestId};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::model::DEDUPE_TTL;
use phantom_fsm::fuzzing::invariants;
use phantom_fsm::fuzzing::invariants::socket::Sockets;

#[derive(Debug, Default)]
pub(crate) struct Shell {
    /// The sockets held and the link ids issued since the process started.
    sockets: Sockets,
    /// Calls whose answer the machine awaits.
    outstanding: BTreeSet<RequestId>,
    issued_calls: BTreeSet<RequestId>,
    /// Dedupe key -> monotonic ms of its last dispatch (kept across restarts).
    dispatched: HashMap<String, u64>,
    /// The `seen_events` table: key -> first seen.
    pub(crate) persisted: BTreeMap<String, UnixMs>,
    /// The active link after the last step, the links that stopped being active since the
    /// process started (a drained link may become active again, and is counted once), and how
    /// many `LinkEnded` came out.
    last_active: Option<LinkId>,
    stopped: BTreeSet<LinkId>,
    link_ended: usize,
}

impl Shell {
    /// The process restarted: every link and call is gone; the persisted table stays.
    pub(crate) fn restarted(&mut self) {
        let persisted = std::mem::take(&mut self.persisted);
        let dispatched = std::mem::take(&mut self.dispatched);
        *self = Shell {
            persisted,
            dispatched,
            ..Shell::default()
        };
    }

    /// What delivering `input` tells the shell about its links and calls.
    pub(crate) fn delivered(&mut self, input: &Input) {
        self.sockets.observe(input);
        if let Input::OpenResult { request, .. } = input {
            self.outstanding.remove(request);
        }
    }

    /// Check and record one step's outputs, in order.
    /// `active` is the active link before the step: the only open link that may be dropped
    /// without a close (it was found dead).
    pub(crate) fn outputs(
        &mut self,
        now_ms: u64,
        active: Option<LinkId>,
        grace: std::time::Duration,
        outputs: &[Output<Command>],
    ) {
        let now = phantom_fsm::engine::Millis(now_ms);
        for output in outputs {
            match output {
                Output::Command(Command::DropLink { link }) => {
                    if let Err(e) = self.sockets.drop_allowed(*link, now, grace, active) {
                        panic!("{e}: {:?}", self.sockets);
                    }
                    self.command(now_ms, &Command::DropLink { link: *link });
                }
                Output::Command(c @ Command::CloseLink { link }) => {
                    self.command(now_ms, c);
                    self.sockets.closed(*link, now);
                }
                Output::Command(c) => self.command(now_ms, c),
                Output::Signal(phantom_fsm::engine::Signal::LinkEnded { .. }) => {
                    self.link_ended += 1
                }
                _ => {}
            }
        }
        let (open, closing) = self.sockets.counts();
        if let Err(e) = invariants::socket::link_limits(open, closing) {
            panic!("{e}: {:?}", self.sockets);
        }
        if let Err(e) = invariants::socket::ack_then_remember_then_dispatch(outputs, false) {
            panic!("{e}");
        }
    }

    fn command(&mut self, now_ms: u64, c: &Command) {
        match c {
            Command::OpenConnection { request } => {
                assert!(self.issued_calls.insert(*request), "{request:?} reused");
                self.outstanding.insert(*request);
            }
            Command::OpenLink { .. }
            | Command::Ack { .. }
            | Command::Ping { .. }
            | Command::CloseLink { .. }
            | Command::DropLink { .. } => {
                if let Err(e) = self.sockets.command(c) {
                    panic!("{e}: {:?}", self.sockets);
                }
            }
            Command::Dispatch { envelope, .. } => {
                let key = envelope.dedupe_key();
                if let Some(last) = self.dispatched.insert(key.clone(), now_ms) {
                    assert!(
                        now_ms >= last + DEDUPE_TTL,
                        "{key} dispatched at {last} and again at {now_ms}, within the TTL"
                    );
                }
            }
            Command::Remember { key, at_unix } => {
                self.persisted.insert(key.clone(), *at_unix);
            }
        }
    }

    /// Calls the machine gave up on will never be awaited again.
    pub(crate) fn abandoned(&mut self, request: RequestId) {
        self.outstanding.remove(&request);
    }

    /// After every step: the calls and links the shell holds are the ones the machine knows.
    pub(crate) fn agrees(
        &mut self,
        in_flight: Option<RequestId>,
        known: &[LinkId],
        active: Option<LinkId>,
    ) {
        assert!(
            self.outstanding.len() <= 1,
            "calls in flight: {:?}",
            self.outstanding
        );
        assert_eq!(
            self.outstanding.iter().next().copied(),
            in_flight,
            "the machine awaits another call than the shell has out"
        );
        let held: BTreeSet<LinkId> = self.sockets.held().map(|(link, _)| link).collect();
        let known: BTreeSet<LinkId> = known.iter().copied().collect();
        assert_eq!(
            held, known,
            "links held by the shell vs known to the machine"
        );
        if let Some(last) = self.last_active.filter(|l| Some(*l) != active) {
            self.stopped.insert(last);
        }
        self.last_active = active;
        assert_eq!(
            self.link_ended,
            self.stopped.len(),
            "LinkEnded signals vs links that said hello and stopped being active"
        );
    }
}
