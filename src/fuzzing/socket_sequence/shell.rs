//! What a faithful shell knows, rebuilt from the machine's commands and the inputs it was
//! given: the sockets it holds, the `apps.connections.open` calls it has out, and the dedupe
//! keys it persisted. The checks compare the machine against this.

use crate::engine::UnixMs;
use crate::socket::{Input, LinkId, RequestId};
use std::collections::{BTreeMap, BTreeSet};

/// A socket as the shell sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Socket {
    /// `OpenLink` received; the handshake has not completed.
    Opening,
    /// Open: frames may be written.
    Open,
    /// A close frame was written; nothing more may be.
    Closing,
}

/// The shell's state for one process lifetime, plus what it persisted (which survives).
#[derive(Clone, Debug, Default)]
pub(super) struct Shell {
    pub(super) sockets: BTreeMap<LinkId, Socket>,
    /// Every link id the machine opened in this process, oldest first.
    pub(super) used_links: Vec<LinkId>,
    /// Calls asked for and not answered yet (including ones the machine abandoned).
    pub(super) outstanding: BTreeSet<RequestId>,
    pub(super) last_request: u64,
    /// The URL of the `OpenResult` delivered in the current step, until an `OpenLink` uses it.
    pub(super) url: Option<crate::socket::LinkUrl>,
    /// `seen_events`: every `Remember`ed key with its first-seen time.
    pub(super) persisted: BTreeMap<String, UnixMs>,
}

impl Shell {
    /// A process restart: sockets and calls die with the process; persisted keys stay.
    pub(super) fn restart(&mut self) {
        *self = Shell {
            persisted: std::mem::take(&mut self.persisted),
            ..Shell::default()
        };
    }

    /// Persist a `Remember` with the store's own rule for a key it already holds.
    pub(super) fn remember(&mut self, key: &str, at: UnixMs) {
        let stored = self.persisted.get(key).copied();
        let kept = crate::store::kept_seen_time(stored, at);
        self.persisted.insert(key.to_string(), kept);
    }

    /// The unexpired persisted keys a starting shell loads into the machine.
    pub(super) fn load_seen(&self, now: UnixMs, ttl_ms: u64) -> Vec<(String, UnixMs)> {
        self.persisted
            .iter()
            .filter(|(_, at)| at.0.saturating_add(ttl_ms) > now.0)
            .map(|(k, at)| (k.clone(), *at))
            .collect()
    }

    /// Update the shell's view for an input it is about to deliver.
    pub(super) fn observe(&mut self, input: &Input) {
        match input {
            Input::LinkOpened { link } => {
                if let Some(s @ Socket::Opening) = self.sockets.get_mut(link) {
                    *s = Socket::Open;
                }
            }
            // The machine handles this input before any deadline due now, so nothing it
            // writes afterwards may target the socket.
            Input::LinkClosed { link } | Input::LinkError { link } => {
                self.sockets.remove(link);
            }
            Input::Frame { link, .. }
            | Input::FrameRejected { link, .. }
            | Input::Pong { link } => self.frame_on(*link),
            Input::OpenResult { request, outcome } => {
                self.outstanding.remove(request);
                if let crate::socket::OpenOutcome::Url(url) = outcome {
                    self.url = Some(url.clone());
                }
            }
            _ => {}
        }
    }

    /// A frame arrived on `link`: a socket still opening has completed its handshake (the
    /// driver's `LinkOpened` may be late).
    pub(super) fn frame_on(&mut self, link: LinkId) {
        if let Some(s @ Socket::Opening) = self.sockets.get_mut(&link) {
            *s = Socket::Open;
        }
    }

    /// Sockets open or opening, and sockets closing.
    pub(super) fn counts(&self) -> (usize, usize) {
        let closing = self
            .sockets
            .values()
            .filter(|s| **s == Socket::Closing)
            .count();
        (self.sockets.len() - closing, closing)
    }
}
