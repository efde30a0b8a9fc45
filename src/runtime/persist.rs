//! The store writer: a dedicated thread that owns every heed call of the socket driver, so no
//! LMDB transaction ever runs on (or blocks) an async worker.
//!
//! - Journal rows (each transition with the snapshot after it) are committed as they come, in
//!   order, without waiting for the disk.
//! - Dedupe keys are group-committed: one transaction per batch, at most every
//!   [`GROUP_WINDOW`] or [`GROUP_MAX`] keys, whichever comes first. An ack never waits for
//!   this; a crash may forget the last batch (documented in `docs/storage.md`).
//! - [`Persister::flush`] commits what is buffered and syncs the environment (shutdown).
//!
//! Failures are counted (`phantom_store_errors_total{op}`), shown on the status board (so
//! `/health` degrades after 30 s) and logged; unwritten keys are retried with the next batch.

use super::clock::Clock;
use super::status::StatusBoard;
use crate::engine::{Snapshot, Transition, UnixMs};
use crate::store::{Store, StoreError, StoreOp};
use crate::telemetry::Telemetry;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Longest a dedupe key waits before its batch is committed.
pub(crate) const GROUP_WINDOW: Duration = Duration::from_millis(50);
/// Most keys in one batch.
pub(crate) const GROUP_MAX: usize = 1_000;
/// Keys kept for a retry while the store fails; past it the oldest are given up (they only
/// make a re-delivery after a restart a duplicate dispatch).
const RETRY_KEEP: usize = 100_000;
/// How often expired dedupe keys are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How often, while writes happen, committed transactions are flushed to disk (commits skip
/// LMDB's meta-page sync; see docs/storage.md).
const SYNC_EVERY: Duration = Duration::from_secs(5);

enum Msg {
    Rows(Vec<(Transition, Snapshot)>),
    /// The key buffer went from empty to not empty: start the group window.
    KeysPending,
    /// The key buffer holds [`GROUP_MAX`] keys: commit now.
    KeysFull,
    Flush(oneshot::Sender<()>),
}

/// Keys waiting for their group commit. The driver appends under the lock (uncontended: no
/// syscall) and wakes the writer only for the first key of a batch and at [`GROUP_MAX`], not
/// once per key.
type KeyBuffer = Arc<Mutex<Vec<(String, UnixMs)>>>;

/// The handle the driver writes through. Dropping it ends the thread after a final flush.
pub(crate) struct Persister {
    tx: mpsc::Sender<Msg>,
    pending: KeyBuffer,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the writer reports to.
pub(crate) struct Sinks {
    pub(crate) telemetry: Telemetry,
    pub(crate) board: StatusBoard,
    pub(crate) clock: Clock,
    pub(crate) dedupe_ttl: Duration,
}

impl Persister {
    /// Start the writer thread for `store`.
    pub(crate) fn spawn(store: Arc<Store>, sinks: Sinks) -> std::io::Result<Persister> {
        let (tx, rx) = mpsc::channel();
        let pending = KeyBuffer::default();
        let buffer = pending.clone();
        let thread = std::thread::Builder::new()
            .name("phantom-store".into())
            .spawn(move || Writer::new(store, sinks, buffer).run(rx))?;
        Ok(Persister {
            tx,
            pending,
            thread: Some(thread),
        })
    }

    /// Journal these transitions (in order) with their snapshots.
    pub(crate) fn rows(&self, rows: Vec<(Transition, Snapshot)>) {
        if !rows.is_empty() {
            let _ = self.tx.send(Msg::Rows(rows));
        }
    }

    /// Remember a dedupe key (group-committed).
    pub(crate) fn remember(&self, key: String, at: UnixMs) {
        let len = {
            let mut pending = lock(&self.pending);
            pending.push((key, at));
            pending.len()
        };
        let wake = match len {
            1 => Some(Msg::KeysPending),
            GROUP_MAX => Some(Msg::KeysFull),
            _ => None,
        };
        if let Some(msg) = wake {
            let _ = self.tx.send(msg);
        }
    }

    /// Commit everything buffered and sync to disk; resolves when done.
    pub(crate) async fn flush(&self) {
        let (reply, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(reply)).is_ok() {
            let _ = done.await;
        }
    }
}

impl Drop for Persister {
    fn drop(&mut self) {
        // Closing the channel makes the thread flush and exit; joining is quick (one commit).
        let (tx, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.tx, tx));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock(buffer: &KeyBuffer) -> std::sync::MutexGuard<'_, Vec<(String, UnixMs)>> {
    // A panic while holding it leaves plain keys behind, still worth writing.
    buffer
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Writer {
    store: Arc<Store>,
    sinks: Sinks,
    pending: KeyBuffer,
    /// Keys taken from `pending` and not yet written (kept for a retry after a failure).
    keys: Vec<(String, UnixMs)>,
    first_key: Option<Instant>,
    last_prune: Instant,
    last_sync: Instant,
    /// A commit happened since the last sync.
    dirty: bool,
}

impl Writer {
    fn new(store: Arc<Store>, sinks: Sinks, pending: KeyBuffer) -> Writer {
        Writer {
            store,
            sinks,
            pending,
            keys: Vec::new(),
            first_key: None,
            last_prune: Instant::now(),
            last_sync: Instant::now(),
            dirty: false,
        }
    }

    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        loop {
            let msg = match self.next_wake() {
                Some(wait) => rx.recv_timeout(wait),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match msg {
                Ok(Msg::Rows(rows)) => self.write_rows(&rows),
                Ok(Msg::KeysPending) => {
                    self.first_key.get_or_insert_with(Instant::now);
                }
                Ok(Msg::KeysFull) => self.write_keys(),
                Ok(Msg::Flush(reply)) => {
                    self.flush();
                    let _ = reply.send(());
                }
                Err(RecvTimeoutError::Timeout) => self.write_keys(),
                Err(RecvTimeoutError::Disconnected) => return self.flush(),
            }
            if self.first_key.is_some_and(|t| t.elapsed() >= GROUP_WINDOW) {
                self.write_keys();
            }
            if self.dirty && self.last_sync.elapsed() >= SYNC_EVERY {
                self.sync();
            }
        }
    }

    /// How long to wait for the next message: until the key batch is due, or the sync.
    fn next_wake(&self) -> Option<Duration> {
        let batch = self
            .first_key
            .map(|first| GROUP_WINDOW.saturating_sub(first.elapsed()));
        let sync = self
            .dirty
            .then(|| SYNC_EVERY.saturating_sub(self.last_sync.elapsed()));
        batch.into_iter().chain(sync).min()
    }

    fn write_rows(&mut self, rows: &[(Transition, Snapshot)]) {
        match self.store.record_socket_batch(rows) {
            Ok(Some(last)) => {
                self.dirty = true;
                self.succeeded(StoreOp::JournalWrite);
                let first = last.saturating_sub(rows.len() as u64 - 1);
                for (i, (t, _)) in rows.iter().enumerate() {
                    self.sinks.board.record_journal_row(serde_json::json!({
                        "seq": first + i as u64, "at_unix_ms": t.at_unix.0,
                        "machine": t.machine, "instance": t.instance,
                        "from": t.from, "to": t.to, "event": t.event,
                    }));
                }
            }
            Ok(None) => {}
            Err(e) => self.failed(&e),
        }
    }

    fn write_keys(&mut self) {
        self.first_key = None;
        self.keys.append(&mut lock(&self.pending));
        if self.keys.is_empty() {
            return;
        }
        match self.store.remember_batch(&self.keys) {
            Ok(()) => {
                self.dirty = true;
                self.keys.clear();
                self.succeeded(StoreOp::SeenWrite);
            }
            Err(e) => {
                self.failed(&e);
                let excess = self.keys.len().saturating_sub(RETRY_KEEP);
                self.keys.drain(..excess);
                self.first_key = Some(Instant::now());
            }
        }
        if self.last_prune.elapsed() >= PRUNE_EVERY {
            self.last_prune = Instant::now();
            let now = self.sinks.clock.now().unix;
            if let Err(e) = self.store.prune_seen(now, self.sinks.dedupe_ttl) {
                self.failed(&e);
            }
        }
    }

    fn flush(&mut self) {
        self.write_keys();
        self.sync();
    }

    fn sync(&mut self) {
        self.last_sync = Instant::now();
        self.dirty = false;
        match self.store.force_sync() {
            Ok(()) => self.succeeded(StoreOp::Sync),
            Err(e) => self.failed(&e),
        }
    }

    fn succeeded(&self, op: StoreOp) {
        self.sinks.board.store_succeeded(op.as_str());
    }

    fn failed(&self, e: &StoreError) {
        let op = e.op().as_str();
        tracing::error!(error = %e, "store write failed");
        self.sinks.telemetry.store_error(op);
        self.sinks
            .board
            .store_failed(op, self.sinks.clock.now().mono);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Now;
    use crate::store::StoreConfig;

    fn setup() -> (tempfile::TempDir, Arc<Store>, Persister, StatusBoard) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(StoreConfig::new(dir.path().join("d"))).unwrap());
        let clock = Clock::start();
        let board = StatusBoard::new("test", clock.now());
        let sinks = Sinks {
            telemetry: Telemetry::new(),
            board: board.clone(),
            clock,
            dedupe_ttl: Duration::from_secs(3600),
        };
        let persister = Persister::spawn(store.clone(), sinks).unwrap();
        (dir, store, persister, board)
    }

    fn keys(store: &Store) -> usize {
        store
            .load_unexpired(UnixMs(0), Duration::MAX)
            .unwrap()
            .len()
    }

    #[tokio::test]
    async fn a_lone_key_is_committed_by_the_group_window_without_more_traffic() {
        let (_dir, store, persister, _) = setup();
        persister.remember("ev:1".into(), UnixMs(5));
        let deadline = Instant::now() + Duration::from_secs(2);
        while keys(&store) == 0 {
            assert!(
                Instant::now() < deadline,
                "not committed by the 50 ms window"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn flush_commits_every_key_and_journal_rows_reach_the_board() {
        let (_dir, store, persister, board) = setup();
        for i in 0..2_500 {
            persister.remember(format!("ev:{i}"), UnixMs(i));
        }
        let t = Transition::new(
            "socket_mode",
            "default",
            ("disconnected", "connecting"),
            "start",
            Now::fake(0),
        );
        let snapshot = Snapshot {
            state: "connecting".into(),
            data: serde_json::json!({}),
        };
        persister.rows(vec![(t, snapshot)]);
        persister.flush().await;
        assert_eq!(keys(&store), 2_500);
        let rows = board.debug_state().transitions;
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0]["seq"].as_u64(), rows[0]["to"].as_str()),
            (Some(1), Some("connecting"))
        );
    }
}
