//! Errors of the store, typed by cause, each tagged with the operation that failed (the `op`
//! label of `phantom_store_errors_total{op}`).

use std::path::PathBuf;

/// What the store was doing when it failed: the `op` label of `phantom_store_errors_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreOp {
    /// Opening the data dir and the environment.
    Open,
    /// Writing an onboarding transition and its ledger row (synced).
    LedgerWrite,
    /// Writing socket-mode transitions and their snapshot (batched; data pages synced, the
    /// meta page not waited for).
    JournalWrite,
    /// Writing or pruning dedupe keys.
    SeenWrite,
    /// Reading any database.
    Read,
    /// Flushing committed transactions to disk.
    Sync,
}

impl StoreOp {
    /// Every operation, in label order.
    pub const ALL: [StoreOp; 6] = [
        StoreOp::Open,
        StoreOp::LedgerWrite,
        StoreOp::JournalWrite,
        StoreOp::SeenWrite,
        StoreOp::Read,
        StoreOp::Sync,
    ];

    /// The metric label value: `open`, `ledger_write`, `journal_write`, `seen_write`, `read`
    /// or `sync`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StoreOp::Open => "open",
            StoreOp::LedgerWrite => "ledger_write",
            StoreOp::JournalWrite => "journal_write",
            StoreOp::SeenWrite => "seen_write",
            StoreOp::Read => "read",
            StoreOp::Sync => "sync",
        }
    }
}

impl std::fmt::Display for StoreOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A store failure: the operation ([`StoreError::op`]) and what went wrong ([`StoreError::kind`]).
#[derive(Debug, thiserror::Error)]
#[error("store {op}: {kind}")]
pub struct StoreError {
    op: StoreOp,
    #[source]
    kind: StoreErrorKind,
}

impl StoreError {
    pub(crate) fn new(op: StoreOp, kind: StoreErrorKind) -> StoreError {
        StoreError { op, kind }
    }

    /// The failed operation; [`StoreOp::as_str`] is the metric's `op` label.
    pub fn op(&self) -> StoreOp {
        self.op
    }

    /// What went wrong.
    pub fn kind(&self) -> &StoreErrorKind {
        &self.kind
    }
}

/// What went wrong in the store, by who is at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// Another process holds the data dir for writing (the running service, or another
    /// operator command).
    #[error("{} is held by another process{}; stop it first", dir.display(), holder(*pid))]
    Held {
        /// The data dir.
        dir: PathBuf,
        /// The holder's pid, as it wrote it into the lock file.
        pid: Option<u32>,
    },
    /// The data dir does not exist (read-only opens never create it).
    #[error("data dir {} does not exist", dir.display())]
    MissingDir {
        /// The data dir.
        dir: PathBuf,
    },
    /// The data dir exists but holds no phantom-fsm store.
    #[error("{} holds no phantom-fsm store (no data.mdb)", dir.display())]
    NotAStore {
        /// The data dir.
        dir: PathBuf,
    },
    /// The operating system refused (permissions, disk, ...).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or dir involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The map reached its configured ceiling: the write was NOT stored.
    #[error(
        "database full: map is {map_size} bytes, ceiling {ceiling} bytes; the write was not stored"
    )]
    MapFull {
        /// The map size when it gave up.
        map_size: usize,
        /// The configured ceiling.
        ceiling: usize,
    },
    /// A stored value (or key) does not decode.
    #[error("corrupt value in database {db:?} at key {key}: {detail}")]
    Corrupt {
        /// Database name.
        db: &'static str,
        /// The key, printable (`42` for a journal sequence, the string key otherwise).
        key: String,
        /// Why it does not decode.
        detail: String,
    },
    /// The caller handed the store something it cannot store (API misuse).
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// What was invalid (`snapshot`, `key`, `config`, ...).
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// A write was attempted on a store opened read-only (API misuse).
    #[error("store is open read-only")]
    ReadOnly,
    /// A ledger commit was written but its sync failed: it is not known to be on disk, and
    /// retrying the sync proves nothing (Linux may drop the dirty pages after a failed
    /// `fsync` and report success next time). Do **not** perform the side effect it guarded
    /// (the post): stop the ledger driver, reopen the store, and let the row reconcile.
    #[error(
        "ledger commit not synced ({source}): do not post; stop the ledger, reopen the store and \
         let the row reconcile (a retried sync proves nothing)"
    )]
    Unsynced {
        /// What the sync reported.
        source: LmdbError,
    },
    /// The environment is closed: the last [`Store::reopen`](super::Store::reopen) failed.
    /// Reopen it again before anything else.
    #[error("store is closed after a failed reopen; reopen it")]
    Closed,
    /// LMDB reported an error.
    #[error("lmdb: {0}")]
    Lmdb(#[from] LmdbError),
}

impl StoreErrorKind {
    /// Whether the shell must stop the ledger driver and reopen the store before anything
    /// else ([`StoreErrorKind::Unsynced`], or [`StoreErrorKind::Closed`] after a reopen that
    /// failed).
    pub fn must_reopen(&self) -> bool {
        matches!(
            self,
            StoreErrorKind::Unsynced { .. } | StoreErrorKind::Closed
        )
    }
}

/// An error reported by LMDB (kept opaque so that heed stays inside `store`).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct LmdbError(heed::Error);

impl LmdbError {
    pub(crate) fn is_map_full(&self) -> bool {
        matches!(self.0, heed::Error::Mdb(heed::MdbError::MapFull))
    }

    pub(crate) fn is_map_resized(&self) -> bool {
        matches!(self.0, heed::Error::Mdb(heed::MdbError::MapResized))
    }
}

impl From<heed::Error> for LmdbError {
    fn from(e: heed::Error) -> Self {
        LmdbError(e)
    }
}

impl From<heed::Error> for StoreErrorKind {
    fn from(e: heed::Error) -> Self {
        StoreErrorKind::Lmdb(LmdbError(e))
    }
}

fn holder(pid: Option<u32>) -> String {
    pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
}

/// Shorthand for results inside the store's transactions, before the `op` is attached.
pub(crate) type KindResult<T> = Result<T, StoreErrorKind>;
