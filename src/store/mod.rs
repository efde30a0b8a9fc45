//! Persistence in LMDB (through heed): the journal of every transition, the socket machine's
//! snapshot, the onboarding ledger and the dedupe keys. The only module that imports heed.
//!
//! Layout (`docs/storage.md`): one environment in the data
//! dir (created `0700`) with four named databases:
//!
//! | database      | key                                | value                                   |
//! |---------------|------------------------------------|-----------------------------------------|
//! | `journal`     | u64 big-endian sequence, from 1    | [`JournalRow`] JSON                     |
//! | `snapshots`   | `<machine>/<instance>`             | [`StoredSnapshot`] JSON                 |
//! | `ledger`      | `<team_id>/<installer_user_id>`    | [`LedgerRow`] JSON                      |
//! | `seen_events` | the dedupe key                     | u64 big-endian first-seen Unix ms       |
//!
//! A transition's journal row and its snapshot or ledger row are written in one transaction
//! ([`Store::observe`], [`Store::record_onboarding`], [`Store::record_socket_batch`]). Ledger
//! writes return only after the commit is synced to disk; socket-mode writes are committed
//! without waiting for the disk ([`Store::force_sync`] flushes them).
//!
//! Every call is synchronous and short: call it from a blocking context (`spawn_blocking`),
//! never across an `.await` with a transaction open (heed's transactions are `!Send`).
//!
//! ```
//! use phantom_fsm::engine::{Now, Snapshot, Transition};
//! use phantom_fsm::store::{Store, StoreConfig};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(StoreConfig::new(dir.path().join("data")))?;
//! let t = Transition::new("socket_mode", "default", ("disconnected", "connecting"), "start", Now::fake(0));
//! let snap = Snapshot { state: "connecting".into(), data: serde_json::Value::Null };
//! let seq = store.record_socket_batch(&[(t, snap)])?;
//! assert_eq!(seq, Some(1));
//! assert_eq!(store.journal_tail(10, None)?.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod grow;
mod journal;
mod ledger;
mod lock;
mod observer;
mod open;
mod reopen;
mod seen;
mod snapshots;

pub use error::{LmdbError, StoreError, StoreErrorKind, StoreOp};
pub use journal::{JournalEntry, JournalRow, Seq};
pub use ledger::{LedgerEntry, LedgerRow};
pub use observer::Remembers;
pub use seen::kept_seen_time;
pub use snapshots::StoredSnapshot;

use heed::types::{Bytes, U64};
use heed::{Database, Env, WithoutTls};
use lock::DirLock;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

/// Database names: the four of the storage contract, and `ledger_retry` (all in
/// `docs/storage.md`).
pub mod db {
    /// Every transition of both machines.
    pub const JOURNAL: &str = "journal";
    /// The socket machine's snapshot (informative).
    pub const SNAPSHOTS: &str = "snapshots";
    /// The onboarding machine's source of truth.
    pub const LEDGER: &str = "ledger";
    /// Dedupe keys with their first-seen time.
    pub const SEEN_EVENTS: &str = "seen_events";
    /// When a `backoff` ledger row's retry is due (key `<team_id>/<installer_user_id>`, value
    /// u64 big-endian Unix ms), so a restart still honours `Retry-After` while the `ledger`
    /// row keeps exactly the fields of its contract. Written in the ledger row's transaction.
    pub const LEDGER_RETRY: &str = "ledger_retry";
}

/// Where and how big the store is. `StoreConfig::new(dir)` gives the documented defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// The data dir (created `0700` when missing).
    pub dir: PathBuf,
    /// Initial map size in bytes (default 64 MiB; rounded up to 64 KiB).
    pub map_size: usize,
    /// The map grows (doubling) on `MDB_MAP_FULL` up to this many bytes (default 1 GiB);
    /// past it a write fails with [`StoreErrorKind::MapFull`].
    pub map_ceiling: usize,
    /// Journal rows kept; the oldest are pruned in the writing transaction (default 100,000).
    pub journal_max_rows: u64,
}

/// Default initial map size: 64 MiB.
pub const DEFAULT_MAP_SIZE: usize = 64 << 20;
/// Default map ceiling: 1 GiB.
pub const DEFAULT_MAP_CEILING: usize = 1 << 30;
/// Default journal bound: 100,000 rows.
pub const DEFAULT_JOURNAL_MAX_ROWS: u64 = 100_000;

impl StoreConfig {
    /// The documented defaults for `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            dir: dir.into(),
            map_size: DEFAULT_MAP_SIZE,
            map_ceiling: DEFAULT_MAP_CEILING,
            journal_max_rows: DEFAULT_JOURNAL_MAX_ROWS,
        }
    }
}

/// The four databases, raw bytes in and out: values are decoded by hand so that a corrupt one
/// is reported with its database and key instead of an anonymous decoding error.
#[derive(Clone, Copy)]
pub(crate) struct Dbs {
    journal: Database<'static, U64<heed::byteorder::BigEndian>, Bytes>,
    snapshots: Database<'static, Bytes, Bytes>,
    ledger: Database<'static, Bytes, Bytes>,
    ledger_retry: Database<'static, Bytes, Bytes>,
    seen: Database<'static, Bytes, Bytes>,
}

/// An open store: the environment, its databases and (for a writer) the data dir's lock.
///
/// `Send + Sync`; share it behind an `Arc`. One writer process per data dir: a second
/// [`Store::open`] of the same dir fails with [`StoreErrorKind::Held`] until the first store is
/// dropped or its process exits. [`Store::open_read_only`] never conflicts.
pub struct Store {
    /// The environment and its databases. Every transaction holds this shared; growing the map
    /// and [`Store::reopen`] hold it exclusively, because LMDB may only remap (or close) while
    /// no transaction of this process is open. `None` after a reopen that failed.
    gate: RwLock<Option<Handle>>,
    config: StoreConfig,
    /// `Some` for a writer; `None` for a read-only store.
    lock: Option<DirLock>,
    /// Successful [`Store::reopen`]s.
    reopens: AtomicU64,
    /// Ledger syncs still to fail (fault injection for the tests of the reopen path).
    #[cfg(any(test, feature = "fuzzing"))]
    failing_syncs: std::sync::atomic::AtomicU32,
    /// Reads still to fail (fault injection: a read error must never pass for "no row").
    #[cfg(any(test, feature = "fuzzing"))]
    failing_reads: std::sync::atomic::AtomicU32,
}

/// One open environment with its databases.
pub(crate) struct Handle {
    /// Read transactions take no per-thread reader slot (`WithoutTls`), so the tokio blocking
    /// pool can never exhaust LMDB's readers.
    env: Env<WithoutTls>,
    dbs: Dbs,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.config.dir)
            .field("writable", &self.lock.is_some())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The data dir.
    pub fn dir(&self) -> &Path {
        &self.config.dir
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Whether this store may write (it holds the data dir's lock).
    pub fn is_writable(&self) -> bool {
        self.lock.is_some()
    }

    /// The current map size in bytes (grows on demand up to the ceiling); 0 while closed.
    pub fn map_size(&self) -> usize {
        self.gate
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or(0, |h| h.env.info().map_size)
    }

    /// How many times [`Store::reopen`] succeeded.
    pub fn reopens(&self) -> u64 {
        self.reopens.load(Ordering::Relaxed)
    }

    /// Fault injection: the next `n` ledger syncs fail with [`StoreErrorKind::Unsynced`] (the
    /// commit itself happens), as an `fsync` reporting `EIO` would.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn fail_next_ledger_syncs(&self, n: u32) {
        self.failing_syncs.store(n, Ordering::SeqCst);
    }

    /// Fault injection: the next `n` reads fail (with an I/O error from LMDB).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn fail_next_reads(&self, n: u32) {
        self.failing_reads.store(n, Ordering::SeqCst);
    }

    /// Whether an injected read failure is due (always false outside tests and fuzzing).
    pub(crate) fn read_fault(&self) -> bool {
        #[cfg(any(test, feature = "fuzzing"))]
        return self
            .failing_reads
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        #[cfg(not(any(test, feature = "fuzzing")))]
        false
    }

    /// Run `f` on the open environment, or fail with [`StoreErrorKind::Closed`].
    fn with_env<T>(
        &self,
        op: StoreOp,
        f: impl FnOnce(&Env<WithoutTls>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let slot = self.gate.read().unwrap_or_else(PoisonError::into_inner);
        match slot.as_ref() {
            Some(handle) => f(&handle.env),
            None => Err(StoreError::new(op, StoreErrorKind::Closed)),
        }
    }

    /// Flush every committed transaction to disk (`fdatasync`, meta page included): call it
    /// periodically and at shutdown so socket-mode commits become durable. (With
    /// `NO_META_SYNC`, every commit already syncs its data pages; only the meta page that
    /// makes the latest commit the current one waits for this.) Never use it to "retry" a
    /// failed ledger sync: see [`StoreErrorKind::Unsynced`].
    pub fn force_sync(&self) -> Result<(), StoreError> {
        self.with_env(StoreOp::Sync, |env| {
            env.force_sync()
                .map_err(|e| StoreError::new(StoreOp::Sync, e.into()))
        })
    }

    /// Sync after a ledger commit; a failure is [`StoreErrorKind::Unsynced`] (stop, reopen,
    /// reconcile), never something to retry.
    pub(crate) fn sync_ledger(&self) -> Result<(), StoreError> {
        let unsynced = |e: heed::Error| {
            StoreError::new(
                StoreOp::Sync,
                StoreErrorKind::Unsynced {
                    source: LmdbError::from(e),
                },
            )
        };
        #[cfg(any(test, feature = "fuzzing"))]
        if self
            .failing_syncs
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            let injected = std::io::Error::other("injected fsync failure");
            return Err(unsynced(heed::Error::Io(injected)));
        }
        self.with_env(StoreOp::Sync, |env| env.force_sync().map_err(unsynced))
    }
}
