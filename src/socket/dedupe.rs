//! The dedupe window: keys of envelopes already dispatched, remembered for a TTL.
//!
//! Slack re-delivers envelopes it did not see acked, and retries events on its own; a key seen
//! within the window is acked again but not dispatched. The window is bounded: past capacity the
//! oldest keys are evicted first. Keys are persisted by the shell (`Remember` commands) and
//! loaded back at start, so the window survives restarts.

use crate::engine::UnixMs;
use std::collections::{HashMap, VecDeque};

/// Keys seen recently, with their first-seen wall-clock time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DedupeWindow {
    ttl_ms: u64,
    capacity: usize,
    seen: HashMap<String, UnixMs>,
    /// Insertion order, for pruning and eviction.
    order: VecDeque<(UnixMs, String)>,
}

impl DedupeWindow {
    /// An empty window.
    pub fn new(ttl_ms: u64, capacity: usize) -> DedupeWindow {
        DedupeWindow {
            ttl_ms,
            capacity: capacity.max(1),
            ..DedupeWindow::default()
        }
    }

    /// Load persisted keys (any order); expired ones are dropped at the next prune.
    pub fn preload(&mut self, mut keys: Vec<(String, UnixMs)>) {
        keys.sort_by_key(|(_, at)| *at);
        for (key, at) in keys {
            self.insert(key, at);
        }
    }

    /// Drop keys older than the TTL at `now`.
    pub fn prune(&mut self, now: UnixMs) {
        while let Some((at, _)) = self.order.front() {
            if at.0.saturating_add(self.ttl_ms) > now.0 {
                break;
            }
            if let Some((_, key)) = self.order.pop_front() {
                self.seen.remove(&key);
            }
        }
    }

    /// Record `key` at `now`; `true` if it was not in the window (dispatch it).
    pub fn first_sight(&mut self, key: &str, now: UnixMs) -> bool {
        self.prune(now);
        if self.seen.contains_key(key) {
            return false;
        }
        self.insert(key.to_string(), now);
        true
    }

    /// Whether `key` is in the window.
    pub fn contains(&self, key: &str) -> bool {
        self.seen.contains_key(key)
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn insert(&mut self, key: String, at: UnixMs) {
        if self.seen.contains_key(&key) {
            return;
        }
        while self.seen.len() >= self.capacity {
            match self.order.pop_front() {
                Some((_, old)) => {
                    self.seen.remove(&old);
                }
                None => break,
            }
        }
        self.seen.insert(key.clone(), at);
        self.order.push_back((at, key));
    }
}
