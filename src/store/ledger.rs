//! The `ledger` database: the onboarding machine's source of truth, one row per installer
//! identity (`<team_id>/<installer_user_id>`). The onboarding snapshot lives here, not in
//! `snapshots`.
//!
//! Contract with the onboarding machine: the row's `state` is the snapshot's `state`; the
//! row's `attempts`, `last_error`, `channel` and `ts` are the snapshot data's keys of the same
//! names; restoring builds `{"state", "data": {"attempts","last_error","channel","ts"}}`.
//! A `backoff` row also keeps the snapshot's `retry_at_unix_ms`, so a restart does not retry
//! before a `Retry-After` (found by the `store_replay` fuzz target).

use super::error::{KindResult, StoreError, StoreErrorKind};
use super::{Dbs, Store, db};
use crate::engine::{Snapshot, UnixMs};
use heed::RwTxn;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One ledger row: JSON `{"state","attempts","last_error","channel","ts","created_unix_ms",
/// "updated_unix_ms"}`, plus `"retry_at_unix_ms"` in `backoff` rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRow {
    /// The onboarding machine's leaf state.
    pub state: String,
    /// Post attempts made so far.
    pub attempts: u32,
    /// The last failure, for operators.
    pub last_error: Option<String>,
    /// The DM channel, once opened.
    pub channel: Option<String>,
    /// The introduction's message `ts`, once confirmed.
    pub ts: Option<String>,
    /// When the row was first written, Unix ms.
    pub created_unix_ms: u64,
    /// When the row was last written, Unix ms.
    pub updated_unix_ms: u64,
    /// `backoff` only: when the retry is due, Unix ms, so that a restart still honours a
    /// `Retry-After` (absent from every other row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at_unix_ms: Option<u64>,
}

impl LedgerRow {
    /// The row for `snapshot`, stamped `created` / `updated`.
    pub fn from_snapshot(
        snapshot: &Snapshot,
        created: UnixMs,
        updated: UnixMs,
    ) -> Result<LedgerRow, String> {
        let data = &snapshot.data;
        if !(data.is_object() || data.is_null()) {
            return Err(format!("data must be an object, found {data}"));
        }
        let attempts = match &data["attempts"] {
            Value::Null => 0,
            v => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| format!("attempts must be a small unsigned integer, found {v}"))?,
        };
        Ok(LedgerRow {
            state: snapshot.state.clone(),
            attempts,
            last_error: optional_string(data, "last_error")?,
            channel: optional_string(data, "channel")?,
            ts: optional_string(data, "ts")?,
            created_unix_ms: created.0,
            updated_unix_ms: updated.0,
            retry_at_unix_ms: optional_u64(data, "retry_at_unix_ms")?,
        })
    }

    /// The snapshot to restore the onboarding machine from.
    pub fn snapshot(&self) -> Snapshot {
        let mut data = json!({
            "attempts": self.attempts,
            "last_error": self.last_error,
            "channel": self.channel,
            "ts": self.ts,
        });
        if let Some(at) = self.retry_at_unix_ms {
            data["retry_at_unix_ms"] = json!(at);
        }
        Snapshot {
            state: self.state.clone(),
            data,
        }
    }
}

/// A ledger row as listed: its key and the row, or why it does not decode.
#[derive(Debug)]
pub struct LedgerEntry {
    /// The key: `<team_id>/<installer_user_id>`.
    pub instance: String,
    /// The row, or [`StoreErrorKind::Corrupt`].
    pub row: Result<LedgerRow, StoreErrorKind>,
}

fn optional_string(data: &Value, name: &str) -> Result<Option<String>, String> {
    match &data[name] {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        v => Err(format!("{name} must be a string or null, found {v}")),
    }
}

fn optional_u64(data: &Value, name: &str) -> Result<Option<u64>, String> {
    match &data[name] {
        Value::Null => Ok(None),
        v => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{name} must be an unsigned integer or null, found {v}")),
    }
}

fn decode(key: &str, bytes: &[u8]) -> KindResult<LedgerRow> {
    serde_json::from_slice(bytes).map_err(|e| StoreErrorKind::Corrupt {
        db: db::LEDGER,
        key: key.to_string(),
        detail: e.to_string(),
    })
}

/// Write `instance`'s row from `snapshot` at `at`, keeping the existing row's creation time.
pub(crate) fn put(
    dbs: &Dbs,
    wtxn: &mut RwTxn<'_>,
    instance: &str,
    snapshot: &Snapshot,
    at: UnixMs,
) -> KindResult<()> {
    let created = match dbs.ledger.get(wtxn, instance.as_bytes())? {
        None => at,
        Some(bytes) => match decode(instance, bytes) {
            Ok(old) => UnixMs(old.created_unix_ms),
            // The new row replaces the unreadable one; only its creation time is lost.
            Err(e) => {
                tracing::warn!(error = %e, "replacing a corrupt ledger row");
                at
            }
        },
    };
    let row = LedgerRow::from_snapshot(snapshot, created, at).map_err(|detail| {
        StoreErrorKind::Invalid {
            what: "onboarding snapshot",
            detail,
        }
    })?;
    let bytes = serde_json::to_vec(&row).map_err(|e| StoreErrorKind::Invalid {
        what: "ledger row",
        detail: e.to_string(),
    })?;
    dbs.ledger.put(wtxn, instance.as_bytes(), &bytes)?;
    Ok(())
}

impl Store {
    /// `instance`'s ledger row (`<team_id>/<installer_user_id>`), if any; restore the machine
    /// from [`LedgerRow::snapshot`]. A row that does not decode is
    /// [`StoreErrorKind::Corrupt`].
    pub fn load_ledger(&self, instance: &str) -> Result<Option<LedgerRow>, StoreError> {
        self.read(|dbs, rtxn| {
            dbs.ledger
                .get(rtxn, instance.as_bytes())?
                .map(|bytes| decode(instance, bytes))
                .transpose()
        })
    }

    /// Every ledger row in key order, each decoded or reported corrupt.
    pub fn ledger_rows(&self) -> Result<Vec<LedgerEntry>, StoreError> {
        self.read(|dbs, rtxn| {
            let mut rows = Vec::new();
            for item in dbs.ledger.iter(rtxn)? {
                let (key, bytes) = item?;
                let instance = String::from_utf8_lossy(key).into_owned();
                let row = decode(&instance, bytes);
                rows.push(LedgerEntry { instance, row });
            }
            Ok(rows)
        })
    }
}
