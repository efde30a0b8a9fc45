//! The shell's view of the machine, built only from the inputs it delivered and the commands it
//! got back, and the invariants that view must keep whatever the machine's internals say.

use phantom_fsm::engine::{Output, UnixMs};
use phantom_fsm::socket::{Command, Input, LinkId, RequestId};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::model::DEDUPE_TTL;
use phantom_fsm::fuzzing::invariants;

/// One link the shell holds (opened by `OpenLink`, not yet dropped, closed or failed).
#[derive(Clone, Copy, Debug, Default)]
struct LinkView {
    /// The handshake completed (`LinkOpened`, or a frame arrived).
    open: bool,
    /// A close frame was written: nothing more may be.
    closing: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Shell {
    links: BTreeMap<LinkId, LinkView>,
    /// Every link id handed out since the process started (ids are never reused).
    issued_links: BTreeSet<LinkId>,
    /// Calls whose answer the machine awaits.
    outstanding: BTreeSet<RequestId>,
    issued_calls: BTreeSet<RequestId>,
    /// Dedupe key -> monotonic ms of its last dispatch (kept across restarts).
    dispatched: HashMap<String, u64>,
    /// The `seen_events` table: key -> first seen.
    pub(crate) persisted: BTreeMap<String, UnixMs>,
    /// Links that were active since the process started, and how many `LinkEnded` came out.
    ever_active: BTreeSet<LinkId>,
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
        match input {
            Input::LinkOpened { link }
            | Input::Frame { link, .. }
            | Input::FrameRejected { link, .. }
            | Input::Pong { link } => {
                if let Some(view) = self.links.get_mut(link) {
                    view.open = true;
                }
            }
            Input::LinkClosed { link } | Input::LinkError { link } => {
                self.links.remove(link);
            }
            Input::OpenResult { request, .. } => {
                self.outstanding.remove(request);
            }
            _ => {}
        }
    }

    /// Check and record one step's outputs, in order.
    pub(crate) fn outputs(&mut self, now_ms: u64, outputs: &[Output<Command>]) {
        for output in outputs {
            match output {
                Output::Command(c) => self.command(now_ms, c),
                Output::Signal(phantom_fsm::engine::Signal::LinkEnded { .. }) => {
                    self.link_ended += 1
                }
                _ => {}
            }
        }
        let closing = self.links.values().filter(|v| v.closing).count();
        let open = self.links.len() - closing;
        if let Err(e) = invariants::socket::link_limits(open, closing) {
            panic!("{e}: {:?}", self.links);
        }
        if let Err(e) = invariants::socket::ack_then_remember_then_dispatch(outputs) {
            panic!("{e}");
        }
    }

    fn command(&mut self, now_ms: u64, c: &Command) {
        match c {
            Command::OpenConnection { request } => {
                assert!(self.issued_calls.insert(*request), "{request:?} reused");
                self.outstanding.insert(*request);
            }
            Command::OpenLink { link, .. } => {
                assert!(self.issued_links.insert(*link), "{link} reused");
                self.links.insert(*link, LinkView::default());
            }
            Command::Ack { link, .. } => self.writable(*link, "ack"),
            Command::Ping { link } => self.writable(*link, "ping"),
            Command::CloseLink { link } => {
                self.writable(*link, "close frame");
                if let Some(view) = self.links.get_mut(link) {
                    view.closing = true;
                }
            }
            Command::DropLink { link } => {
                assert!(
                    self.links.remove(link).is_some(),
                    "drop of {link}, not held"
                );
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

    fn writable(&self, link: LinkId, what: &str) {
        let view = self.links.get(&link);
        assert!(
            view.is_some_and(|v| v.open && !v.closing),
            "{what} on {link}, which is not open: {view:?}"
        );
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
        let held: BTreeSet<LinkId> = self.links.keys().copied().collect();
        let known: BTreeSet<LinkId> = known.iter().copied().collect();
        assert_eq!(
            held, known,
            "links held by the shell vs known to the machine"
        );
        if let Some(link) = active {
            self.ever_active.insert(link);
        }
        let ended = self.ever_active.len() - usize::from(active.is_some());
        assert_eq!(
            self.link_ended, ended,
            "LinkEnded signals vs links that said hello and stopped being active"
        );
    }
}
