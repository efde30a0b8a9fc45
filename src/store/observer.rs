//! The journal observer: what the shell calls with the outputs it drained from a machine.
//!
//! One call is one write transaction: the journal rows of the drained [`Transition`]s, the
//! instance's snapshot (socket machine) or ledger row (onboarding), and the dedupe keys the
//! drained commands asked to remember. Onboarding writes return only after the commit is
//! synced to disk (meta page included), so the shell may then perform the drained commands
//! (the post is released only once `sending` is durable). Socket-mode writes do not wait for
//! the meta-page sync: with `NO_META_SYNC` each commit still syncs its data pages, but an OS
//! crash may undo the latest commits (never reordered or torn).

use super::error::{KindResult, StoreError, StoreErrorKind, StoreOp};
use super::journal::{self, Seq};
use super::{Dbs, Store, ledger, seen, snapshots};
use crate::engine::{Output, Snapshot, Transition, UnixMs};
use heed::RwTxn;

/// Machine id of the onboarding ledger machine, whose snapshot lives in `ledger`.
const ONBOARDING: &str = crate::onboarding::MACHINE_ID;

/// A machine command that may ask for a dedupe key to be persisted to `seen_events`.
pub trait Remembers {
    /// `(key, first seen)` when this command is a `Remember`.
    fn remembered(&self) -> Option<(&str, UnixMs)>;
}

impl Remembers for crate::socket::Command {
    fn remembered(&self) -> Option<(&str, UnixMs)> {
        match self {
            crate::socket::Command::Remember { key, at_unix } => Some((key, *at_unix)),
            _ => None,
        }
    }
}

/// The onboarding machine persists nothing but its transitions and ledger row.
impl Remembers for crate::onboarding::Command {
    fn remembered(&self) -> Option<(&str, UnixMs)> {
        None
    }
}

/// What one write carries.
struct Batch<'a> {
    transitions: Vec<&'a Transition>,
    snapshot: &'a Snapshot,
    remember: Vec<(&'a str, UnixMs)>,
}

impl Store {
    /// Persist one drain of a machine: its transitions (if any) with `snapshot` — the
    /// machine's state after the drain — and its `Remember` keys, in one transaction.
    /// Returns the last journal sequence written. Onboarding drains are synced before this
    /// returns; perform the drained commands only after it returned `Ok`.
    pub fn observe<C: Remembers>(
        &self,
        outputs: &[Output<C>],
        snapshot: &Snapshot,
    ) -> Result<Option<Seq>, StoreError> {
        let mut batch = Batch {
            transitions: Vec::new(),
            snapshot,
            remember: Vec::new(),
        };
        for output in outputs {
            match output {
                Output::Transition(t) => batch.transitions.push(t),
                Output::Command(c) => batch.remember.extend(c.remembered()),
                Output::Signal(_) => {}
            }
        }
        let onboarding = batch.transitions.first().map(|t| t.machine) == Some(ONBOARDING);
        if onboarding {
            self.write_synced(&batch)
        } else if batch.transitions.is_empty() && batch.remember.is_empty() {
            Ok(None)
        } else {
            let op = match batch.transitions.is_empty() {
                true => StoreOp::SeenWrite,
                false => StoreOp::JournalWrite,
            };
            self.write(op, |dbs, wtxn| {
                write_batch(dbs, wtxn, &batch, self.max_rows())
            })
        }
    }

    /// Persist one onboarding transition and the ledger row of `snapshot` (the machine's state
    /// after it) in one transaction, and return its sequence number only once the commit is
    /// synced to disk. Release the side effect the transition leads to (the post, after
    /// `sending`) only after this returned `Ok`.
    ///
    /// [`StoreErrorKind::Unsynced`] means the row is committed but not known to be on disk.
    /// Do **not** release the side effect, and do not retry the sync (Linux may drop the dirty
    /// pages after a failed `fsync` and then report success): stop the ledger driver, reopen
    /// the store, and let the row reconcile (a `sending` row restarts in `reconciling`).
    pub fn record_onboarding(
        &self,
        t: &Transition,
        snapshot: &Snapshot,
    ) -> Result<Seq, StoreError> {
        if t.machine != ONBOARDING {
            let detail = format!("{t}: not an onboarding transition");
            let kind = StoreErrorKind::Invalid {
                what: "batch",
                detail,
            };
            return Err(StoreError::new(StoreOp::LedgerWrite, kind));
        }
        let batch = Batch {
            transitions: vec![t],
            snapshot,
            remember: Vec::new(),
        };
        self.write_synced(&batch)?.ok_or_else(|| {
            let detail = "no journal row written".to_string();
            StoreError::new(
                StoreOp::LedgerWrite,
                StoreErrorKind::Invalid {
                    what: "batch",
                    detail,
                },
            )
        })
    }

    /// Persist socket-mode transitions, each with the snapshot taken after it, in one
    /// transaction committed without waiting for the meta-page sync (see
    /// [`Store::force_sync`]).
    /// Returns the last sequence number written (`None` for an empty batch).
    pub fn record_socket_batch(
        &self,
        rows: &[(Transition, Snapshot)],
    ) -> Result<Option<Seq>, StoreError> {
        let op = StoreOp::JournalWrite;
        if let Some((t, _)) = rows.iter().find(|(t, _)| t.machine == ONBOARDING) {
            return Err(StoreError::new(op, not_lazy(t)));
        }
        let max_rows = self.max_rows();
        self.write(op, |dbs, wtxn| {
            let mut last = None;
            for (t, snapshot) in rows {
                let batch = Batch {
                    transitions: vec![t],
                    snapshot,
                    remember: Vec::new(),
                };
                last = write_batch(dbs, wtxn, &batch, max_rows)?;
            }
            Ok(last)
        })
    }

    fn write_synced(&self, batch: &Batch<'_>) -> Result<Option<Seq>, StoreError> {
        let seq = self.write(StoreOp::LedgerWrite, |dbs, wtxn| {
            write_batch(dbs, wtxn, batch, self.max_rows())
        })?;
        self.sync_ledger()?;
        Ok(seq)
    }

    fn max_rows(&self) -> u64 {
        self.config.journal_max_rows
    }
}

fn not_lazy(t: &Transition) -> StoreErrorKind {
    StoreErrorKind::Invalid {
        what: "batch",
        detail: format!("{t}: onboarding transitions are recorded synced (record_onboarding)"),
    }
}

/// The journal rows, then the snapshot or ledger row, then the dedupe keys.
fn write_batch(
    dbs: &Dbs,
    wtxn: &mut RwTxn<'_>,
    batch: &Batch<'_>,
    max_rows: u64,
) -> KindResult<Option<Seq>> {
    check(batch)?;
    let seq = journal::append(dbs, wtxn, &batch.transitions, max_rows)?;
    if let (Some(seq), Some(last)) = (seq, batch.transitions.last()) {
        if last.machine == ONBOARDING {
            ledger::put(dbs, wtxn, &last.instance, batch.snapshot, last.at_unix)?;
        } else {
            let key = snapshots::key(last.machine, &last.instance);
            snapshots::put(dbs, wtxn, &key, batch.snapshot, last.at_unix, seq)?;
        }
    }
    for (key, at) in &batch.remember {
        seen::put(dbs, wtxn, key, *at)?;
    }
    Ok(seq)
}

/// One instance per write, and the snapshot is the state the last transition entered: so the
/// stored state always equals the `to` of the instance's last journal row.
fn check(batch: &Batch<'_>) -> KindResult<()> {
    let Some(last) = batch.transitions.last() else {
        return Ok(());
    };
    let invalid = |detail: String| StoreErrorKind::Invalid {
        what: "batch",
        detail,
    };
    if let Some(t) = batch
        .transitions
        .iter()
        .find(|t| t.machine != last.machine || t.instance != last.instance)
    {
        return Err(invalid(format!("{t} and {last} in one write")));
    }
    if batch.snapshot.state != last.to {
        return Err(invalid(format!(
            "snapshot state {:?} after {last}",
            batch.snapshot.state
        )));
    }
    Ok(())
}
