//! Running transactions, and growing the map when it is full.
//!
//! A write that hits `MDB_MAP_FULL` is aborted whole (nothing of it is stored), the map is
//! doubled while no transaction of this process is open, and the write is run again from the
//! start; at the configured ceiling the write fails with [`StoreErrorKind::MapFull`], which the
//! caller counts and retries later. A write is never dropped silently.

use super::error::{KindResult, StoreError, StoreErrorKind, StoreOp};
use super::{Dbs, Handle, Store};
use heed::{RoTxn, RwTxn, WithoutTls};
use std::sync::PoisonError;

/// Map sizes are multiples of 64 KiB, a multiple of every page size LMDB runs with.
const MAP_GRANULE: usize = 64 << 10;

/// Round `size` up to a whole number of [`MAP_GRANULE`]s (at least one).
pub(crate) fn round_map_size(size: usize) -> usize {
    size.max(1)
        .div_ceil(MAP_GRANULE)
        .saturating_mul(MAP_GRANULE)
}

impl Store {
    /// Run `f` in a write transaction and commit it, growing the map and re-running `f` on
    /// `MDB_MAP_FULL`. `f` must be a pure function of the database content and its captures,
    /// because it may run more than once.
    pub(crate) fn write<T>(
        &self,
        op: StoreOp,
        mut f: impl FnMut(&Dbs, &mut RwTxn<'_>) -> KindResult<T>,
    ) -> Result<T, StoreError> {
        if self.lock.is_none() {
            return Err(StoreError::new(op, StoreErrorKind::ReadOnly));
        }
        loop {
            let (outcome, map_size) = {
                let slot = self.gate.read().unwrap_or_else(PoisonError::into_inner);
                let Some(handle) = slot.as_ref() else {
                    return Err(StoreError::new(op, StoreErrorKind::Closed));
                };
                (write_once(handle, &mut f), handle.env.info().map_size)
            };
            match outcome {
                Err(StoreErrorKind::Lmdb(e)) if e.is_map_full() => self.grow(op, map_size)?,
                Err(StoreErrorKind::Lmdb(e)) if e.is_map_resized() => self.adopt_map(op)?,
                other => return other.map_err(|kind| StoreError::new(op, kind)),
            }
        }
    }

    /// Run `f` in a read transaction, adopting a map another process grew.
    pub(crate) fn read<T>(
        &self,
        mut f: impl FnMut(&Dbs, &RoTxn<'_, WithoutTls>) -> KindResult<T>,
    ) -> Result<T, StoreError> {
        if self.read_fault() {
            let injected = heed::Error::Io(std::io::Error::other("injected read failure"));
            return Err(StoreError::new(StoreOp::Read, injected.into()));
        }
        loop {
            let outcome = {
                let slot = self.gate.read().unwrap_or_else(PoisonError::into_inner);
                match slot.as_ref() {
                    None => Err(StoreErrorKind::Closed),
                    Some(handle) => handle
                        .env
                        .read_txn()
                        .map_err(StoreErrorKind::from)
                        .and_then(|rtxn| f(&handle.dbs, &rtxn)),
                }
            };
            match outcome {
                Err(StoreErrorKind::Lmdb(e)) if e.is_map_resized() => {
                    self.adopt_map(StoreOp::Read)?
                }
                other => return other.map_err(|kind| StoreError::new(StoreOp::Read, kind)),
            }
        }
    }

    /// Double the map (up to the ceiling) with every transaction of this process closed,
    /// unless another thread already grew it past `full_at`, the size the write failed at.
    fn grow(&self, op: StoreOp, full_at: usize) -> Result<(), StoreError> {
        let closed = self.gate.write().unwrap_or_else(PoisonError::into_inner);
        let Some(handle) = closed.as_ref() else {
            return Err(StoreError::new(op, StoreErrorKind::Closed));
        };
        let current = handle.env.info().map_size;
        if current > full_at {
            return Ok(());
        }
        let ceiling = self.config.map_ceiling;
        let cap = ceiling / MAP_GRANULE * MAP_GRANULE;
        if current >= cap {
            return Err(StoreError::new(
                op,
                StoreErrorKind::MapFull {
                    map_size: current,
                    ceiling,
                },
            ));
        }
        let next = round_map_size(current.saturating_mul(2)).min(cap);
        // SAFETY: `closed` excludes every transaction of this process (they all hold the gate
        // shared), which is what `mdb_env_set_mapsize` requires.
        unsafe { handle.env.resize(next) }.map_err(|e| StoreError::new(op, e.into()))?;
        tracing::info!(from = current, to = next, %op, "store map grown");
        Ok(())
    }

    /// Adopt the map size another process set (`MDB_MAP_RESIZED`).
    fn adopt_map(&self, op: StoreOp) -> Result<(), StoreError> {
        let closed = self.gate.write().unwrap_or_else(PoisonError::into_inner);
        let Some(handle) = closed.as_ref() else {
            return Err(StoreError::new(op, StoreErrorKind::Closed));
        };
        // SAFETY: as in `grow`; size 0 means "the size currently in the file".
        unsafe { handle.env.resize(0) }.map_err(|e| StoreError::new(op, e.into()))
    }
}

fn write_once<T>(
    handle: &Handle,
    f: &mut impl FnMut(&Dbs, &mut RwTxn<'_>) -> KindResult<T>,
) -> KindResult<T> {
    let mut wtxn = handle.env.write_txn()?;
    let value = f(&handle.dbs, &mut wtxn)?;
    wtxn.commit()?;
    Ok(value)
}
