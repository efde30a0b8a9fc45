//! The `snapshots` database: the last state of each non-ledger machine instance (today the
//! socket machine), keyed `<machine>/<instance>`. Informative: the socket machine always
//! restarts at `disconnected`, journaling `X -> disconnected` (`restarted`) from what it finds.

use super::error::{KindResult, StoreError, StoreErrorKind};
use super::journal::Seq;
use super::{Dbs, Store, db};
use crate::engine::{Snapshot, UnixMs};
use heed::RwTxn;
use serde::{Deserialize, Serialize};

/// A stored snapshot: JSON `{"state","data","at_unix_ms","seq"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredSnapshot {
    /// Leaf state name.
    pub state: String,
    /// The state's local data.
    #[serde(default)]
    pub data: serde_json::Value,
    /// When the transition that produced it happened, Unix ms.
    pub at_unix_ms: u64,
    /// The journal row that produced it.
    pub seq: Seq,
}

impl StoredSnapshot {
    /// The machine snapshot `{"state","data"}` to restore from.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            state: self.state.clone(),
            data: self.data.clone(),
        }
    }
}

/// The key of a machine instance: `<machine>/<instance>`.
pub(crate) fn key(machine: &str, instance: &str) -> String {
    format!("{machine}/{instance}")
}

pub(crate) fn put(
    dbs: &Dbs,
    wtxn: &mut RwTxn<'_>,
    key: &str,
    snapshot: &Snapshot,
    at: UnixMs,
    seq: Seq,
) -> KindResult<()> {
    let value = StoredSnapshot {
        state: snapshot.state.clone(),
        data: snapshot.data.clone(),
        at_unix_ms: at.0,
        seq,
    };
    let bytes = serde_json::to_vec(&value).map_err(|e| StoreErrorKind::Invalid {
        what: "snapshot",
        detail: e.to_string(),
    })?;
    dbs.snapshots.put(wtxn, key.as_bytes(), &bytes)?;
    Ok(())
}

impl Store {
    /// The stored snapshot of `machine`/`instance`, if any.
    pub fn load_snapshot(
        &self,
        machine: &str,
        instance: &str,
    ) -> Result<Option<StoredSnapshot>, StoreError> {
        let key = key(machine, instance);
        self.read(|dbs, rtxn| {
            let Some(bytes) = dbs.snapshots.get(rtxn, key.as_bytes())? else {
                return Ok(None);
            };
            serde_json::from_slice(bytes)
                .map(Some)
                .map_err(|e| StoreErrorKind::Corrupt {
                    db: db::SNAPSHOTS,
                    key: key.clone(),
                    detail: e.to_string(),
                })
        })
    }
}
