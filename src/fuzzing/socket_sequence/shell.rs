//! What a faithful shell knows, rebuilt from the machine's commands and the inputs it was
//! given: the sockets it holds, the `apps.connections.open` calls it has out, and the dedupe
//! keys it persisted. The checks compare the machine against this.

use crate::engine::UnixMs;
use crate::fuzzing::invariants::socket::Sockets;
use crate::socket::{Input, RequestId};
use std::collections::{BTreeMap, BTreeSet};

/// The shell's state for one process lifetime, plus what it persisted (which survives).
#[derive(Clone, Debug, Default)]
pub(super) struct Shell {
    /// The sockets held (and the link ids issued) in this process.
    pub(super) sockets: Sockets,
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
        self.sockets.observe(input);
        if let Input::OpenResult { request, outcome } = input {
            self.outstanding.remove(request);
            if let crate::socket::OpenOutcome::Url(url) = outcome {
                self.url = Some(url.clone());
            }
        }
    }
}
