//! The `ledger` database: the onboarding machine's source of truth, one row per installer
//! identity (`<team_id>/<installer_user_id>`). The onboarding snapshot lives here, not in
//! `snapshots`.
//!
//! Contract with the onboarding machine: the row's `state` is the snapshot's `state`; the
//! row's `attempts`, `last_error`, `channel`, `ts` and the documented additions `generation`,
//! `sending_since_unix_ms`, `rejections`, `rejected_since_unix_ms` are the snapshot data's keys
//! of the same names; restoring builds `{"state", "data": {...}}` from them. Rows written
//! before the additions read them as 0 / null.
//! A `backoff` row's retry time (the snapshot's `retry_at_unix_ms`) is kept beside the row, in
//! the `ledger_retry` database, written in the same transaction: a restart does not retry
//! before a `Retry-After` (found by the `store_replay` fuzz target), and the row's JSON keeps
//! exactly the fields of its contract.

use super::error::{KindResult, StoreError, StoreErrorKind, StoreOp};
use super::{Dbs, Store, db};
use crate::engine::{Snapshot, UnixMs};
use heed::{RoTxn, RwTxn};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One ledger row: JSON `{"state","attempts","last_error","channel","ts","generation",
/// "sending_since_unix_ms","rejections","rejected_since_unix_ms","created_unix_ms",
/// "updated_unix_ms"}`, and (not in the JSON) a `backoff` row's retry time.
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
    /// Bumped by every operator reset; the intro's marker carries it.
    #[serde(default)]
    pub generation: u32,
    /// When this generation's first post went out, Unix ms (the history scan starts 5 min
    /// before it).
    #[serde(default)]
    pub sending_since_unix_ms: Option<u64>,
    /// Consecutive replies with a code the machine does not classify.
    #[serde(default)]
    pub rejections: u32,
    /// When the first of those came, Unix ms.
    #[serde(default)]
    pub rejected_since_unix_ms: Option<u64>,
    /// When the row was first written, Unix ms.
    pub created_unix_ms: u64,
    /// When the row was last written, Unix ms.
    pub updated_unix_ms: u64,
    /// `backoff` only: when the retry is due, Unix ms, so that a restart still honours a
    /// `Retry-After`. Stored in `ledger_retry`, not in the row's JSON.
    #[serde(skip)]
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
        Ok(LedgerRow {
            state: snapshot.state.clone(),
            attempts: small(data, "attempts")?,
            last_error: optional_string(data, "last_error")?,
            channel: optional_string(data, "channel")?,
            ts: optional_string(data, "ts")?,
            generation: small(data, "generation")?,
            sending_since_unix_ms: optional_u64(data, "sending_since_unix_ms")?,
            rejections: small(data, "rejections")?,
            rejected_since_unix_ms: optional_u64(data, "rejected_since_unix_ms")?,
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
            "generation": self.generation,
            "sending_since_unix_ms": self.sending_since_unix_ms,
            "rejections": self.rejections,
            "rejected_since_unix_ms": self.rejected_since_unix_ms,
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

/// A `u32` key; absent or null is 0.
fn small(data: &Value, name: &str) -> Result<u32, String> {
    match &data[name] {
        Value::Null => Ok(0),
        v => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("{name} must be a small unsigned integer, found {v}")),
    }
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
    check_key(instance)?;
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
    match row.retry_at_unix_ms {
        Some(at) => dbs
            .ledger_retry
            .put(wtxn, instance.as_bytes(), &at.to_be_bytes())?,
        None => {
            dbs.ledger_retry.delete(wtxn, instance.as_bytes())?;
        }
    }
    Ok(())
}

/// A ledger key names a known team: `-/<U>` (the team not yet named by `auth.test`) would be a
/// row the next start, with the real team, never finds — and then posts again.
fn check_key(instance: &str) -> KindResult<()> {
    let valid = |id: &str| !id.is_empty() && id != "-" && !id.contains('/');
    match instance.split_once('/') {
        Some((team, user)) if valid(team) && valid(user) => Ok(()),
        _ => Err(StoreErrorKind::Invalid {
            what: "ledger key",
            detail: format!("{instance:?} is not <team_id>/<installer_user_id> with a known team"),
        }),
    }
}

/// `instance`'s row with its retry time from `ledger_retry`.
fn load(dbs: &Dbs, rtxn: &RoTxn<'_>, instance: &str, bytes: &[u8]) -> KindResult<LedgerRow> {
    let mut row = decode(instance, bytes)?;
    if let Some(at) = dbs.ledger_retry.get(rtxn, instance.as_bytes())? {
        let at: [u8; 8] = at.try_into().map_err(|_| StoreErrorKind::Corrupt {
            db: db::LEDGER_RETRY,
            key: instance.to_string(),
            detail: format!("{} bytes, expected 8", at.len()),
        })?;
        row.retry_at_unix_ms = Some(u64::from_be_bytes(at));
    }
    Ok(row)
}

impl Store {
    /// Write `instance`'s row from `snapshot` when its data changed without a transition
    /// (`last_error`, the DM channel, the retry counters), synced like every ledger write.
    /// The row must exist and be in `snapshot.state`: a change of state is a transition and
    /// goes through [`Store::observe`] / [`Store::record_onboarding`] with its journal row.
    pub fn save_ledger(
        &self,
        instance: &str,
        snapshot: &Snapshot,
        at: UnixMs,
    ) -> Result<(), StoreError> {
        self.write(StoreOp::LedgerWrite, |dbs, wtxn| {
            let stored = dbs
                .ledger
                .get(wtxn, instance.as_bytes())?
                .map(|bytes| decode(instance, bytes))
                .transpose()?;
            match stored {
                Some(row) if row.state == snapshot.state => put(dbs, wtxn, instance, snapshot, at),
                other => Err(StoreErrorKind::Invalid {
                    what: "ledger update",
                    detail: format!(
                        "{instance} is {:?}, the update is {:?}: a change of state needs its \
                         transition",
                        other.map(|r| r.state),
                        snapshot.state
                    ),
                }),
            }
        })?;
        self.sync_ledger()
    }

    /// `instance`'s ledger row (`<team_id>/<installer_user_id>`), if any; restore the machine
    /// from [`LedgerRow::snapshot`]. A row that does not decode is
    /// [`StoreErrorKind::Corrupt`].
    pub fn load_ledger(&self, instance: &str) -> Result<Option<LedgerRow>, StoreError> {
        self.read(|dbs, rtxn| {
            dbs.ledger
                .get(rtxn, instance.as_bytes())?
                .map(|bytes| load(dbs, rtxn, instance, bytes))
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
                let row = load(dbs, rtxn, &instance, bytes);
                rows.push(LedgerEntry { instance, row });
            }
            Ok(rows)
        })
    }
}
