//! Reopening the environment after a ledger sync failed ([`StoreErrorKind::Unsynced`]).
//!
//! After a failed `fsync`, Linux may have marked the unwritten pages clean: the page cache
//! then shows a commit the disk does not hold, and a later sync reports success. Reading on
//! from the same environment would trust that cache. So the environment is closed (every
//! transaction of this process is excluded by the gate), the file's cached pages are dropped
//! (`posix_fadvise(DONTNEED)` evicts clean pages, which is what the failed ones became), and a
//! fresh environment reads the meta pages and the rows from what the disk holds.

use super::Store;
use super::error::{StoreError, StoreErrorKind, StoreOp};
use super::open::{reader_handle, writer_handle};
use std::path::Path;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How long a reopen waits for the old environment to close (every reference to it lives
/// behind the gate, so it closes at once unless something leaked one).
const CLOSE_WAIT: Duration = Duration::from_secs(5);

impl Store {
    /// Close the environment and open it again from the files, re-reading what is on disk.
    /// The writer keeps its data-dir lock throughout. Shared users (`Arc<Store>`) wait for the
    /// few milliseconds it takes, then run on the fresh environment.
    ///
    /// Call it on [`StoreErrorKind::must_reopen`]. If it fails, the store stays closed (every
    /// call fails with [`StoreErrorKind::Closed`]) until a later reopen succeeds.
    pub fn reopen(&self) -> Result<(), StoreError> {
        let err = |kind: StoreErrorKind| StoreError::new(StoreOp::Open, kind);
        let mut slot = self.gate.write().unwrap_or_else(PoisonError::into_inner);
        let mut map_size = self.config.map_size;
        if let Some(old) = slot.take() {
            map_size = map_size.max(old.env.info().map_size);
            let closing = old.env.prepare_for_closing();
            if !closing.wait_timeout(CLOSE_WAIT) {
                return Err(err(StoreErrorKind::Invalid {
                    what: "reopen",
                    detail: "the environment did not close (a reference outlives the gate)"
                        .to_string(),
                }));
            }
        }
        drop_cached_pages(&self.config.dir);
        let handle = match self.lock {
            Some(_) => writer_handle(&self.config.dir, map_size),
            None => reader_handle(&self.config.dir),
        }
        .map_err(err)?;
        *slot = Some(handle);
        self.reopens.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(dir = %self.config.dir.display(), "store reopened from disk");
        Ok(())
    }
}

/// Evict `data.mdb`'s clean cached pages, so the fresh environment reads the disk. Best
/// effort: without it the reopen still re-reads the meta pages.
fn drop_cached_pages(dir: &Path) {
    #[cfg(target_os = "linux")]
    match std::fs::File::open(dir.join("data.mdb")) {
        Ok(file) => {
            if let Err(error) = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed) {
                tracing::warn!(%error, "could not drop the store's cached pages");
            }
        }
        Err(error) => tracing::warn!(%error, "could not open data.mdb to drop its cached pages"),
    }
    #[cfg(not(target_os = "linux"))]
    let _ = dir;
}
