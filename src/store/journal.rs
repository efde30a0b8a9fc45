//! The `journal` database: every transition of both machines, keyed by a contiguous sequence
//! number (u64 big-endian, from 1), bounded by pruning the oldest rows in the writing
//! transaction.

use super::error::{KindResult, StoreError, StoreErrorKind};
use super::{Dbs, Store, db};
use crate::engine::Transition;
use heed::RwTxn;
use serde::{Deserialize, Serialize};

/// A journal sequence number (contiguous from 1).
pub type Seq = u64;

/// One journal row, as stored: JSON `{"seq","at_unix_ms","machine","instance","from","to",
/// "event"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalRow {
    /// Sequence number (the key).
    pub seq: Seq,
    /// Wall-clock time of the input, Unix ms.
    pub at_unix_ms: u64,
    /// Machine id (`socket_mode` or `onboarding`).
    pub machine: String,
    /// Instance id.
    pub instance: String,
    /// Leaf state left.
    pub from: String,
    /// Leaf state entered.
    pub to: String,
    /// Input name.
    pub event: String,
}

/// The borrowed form written for a [`Transition`], field for field the same JSON.
#[derive(Serialize)]
struct RowRef<'a> {
    seq: Seq,
    at_unix_ms: u64,
    machine: &'a str,
    instance: &'a str,
    from: &'a str,
    to: &'a str,
    event: &'a str,
}

/// A journal row as read back: decoded, or reported corrupt with its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JournalEntry {
    /// A row that decoded.
    Row(JournalRow),
    /// A row whose value does not decode.
    Corrupt {
        /// Its key.
        seq: Seq,
        /// Why it does not decode.
        detail: String,
    },
}

impl JournalEntry {
    /// The row, if it decoded.
    pub fn row(&self) -> Option<&JournalRow> {
        match self {
            JournalEntry::Row(row) => Some(row),
            JournalEntry::Corrupt { .. } => None,
        }
    }

    /// The row, or [`StoreErrorKind::Corrupt`] naming the database and key.
    pub fn into_row(self) -> Result<JournalRow, StoreErrorKind> {
        match self {
            JournalEntry::Row(row) => Ok(row),
            JournalEntry::Corrupt { seq, detail } => Err(StoreErrorKind::Corrupt {
                db: db::JOURNAL,
                key: seq.to_string(),
                detail,
            }),
        }
    }

    fn machine(&self) -> Option<&str> {
        self.row().map(|r| r.machine.as_str())
    }
}

fn decode(seq: Seq, bytes: &[u8]) -> JournalEntry {
    match serde_json::from_slice::<JournalRow>(bytes) {
        Ok(row) if row.seq == seq => JournalEntry::Row(row),
        Ok(row) => JournalEntry::Corrupt {
            seq,
            detail: format!("row says seq {} under key {seq}", row.seq),
        },
        Err(e) => JournalEntry::Corrupt {
            seq,
            detail: e.to_string(),
        },
    }
}

/// Append `transitions` in order after the last row, prune to `max_rows`, and return the
/// sequence number of the last row written (`None` when `transitions` is empty).
pub(crate) fn append(
    dbs: &Dbs,
    wtxn: &mut RwTxn<'_>,
    transitions: &[&Transition],
    max_rows: u64,
) -> KindResult<Option<Seq>> {
    let mut seq = dbs.journal.last(wtxn)?.map_or(0, |(key, _)| key);
    for t in transitions {
        seq += 1;
        let value = serde_json::to_vec(&RowRef {
            seq,
            at_unix_ms: t.at_unix.0,
            machine: t.machine,
            instance: &t.instance,
            from: t.from,
            to: t.to,
            event: t.event,
        })
        .map_err(|e| StoreErrorKind::Invalid {
            what: "transition",
            detail: e.to_string(),
        })?;
        dbs.journal.put(wtxn, &seq, &value)?;
    }
    if transitions.is_empty() {
        return Ok(None);
    }
    if let Some(cut) = seq.checked_sub(max_rows) {
        dbs.journal.delete_range(wtxn, &(..=cut))?;
    }
    Ok(Some(seq))
}

impl Store {
    /// The last `n` rows (oldest first), of machine `machine` only when given. Corrupt rows
    /// are included (they cannot be attributed to a machine) and reported with their key.
    pub fn journal_tail(
        &self,
        n: usize,
        machine: Option<&str>,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        self.read(|dbs, rtxn| {
            let mut out = Vec::new();
            for item in dbs.journal.rev_iter(rtxn)? {
                if out.len() >= n {
                    break;
                }
                let (seq, bytes) = item?;
                let entry = decode(seq, bytes);
                if machine.is_none() || entry.machine().is_none() || entry.machine() == machine {
                    out.push(entry);
                }
            }
            out.reverse();
            Ok(out)
        })
    }

    /// Up to `limit` rows from sequence `start` on, oldest first.
    pub fn journal_from(&self, start: Seq, limit: usize) -> Result<Vec<JournalEntry>, StoreError> {
        self.read(|dbs, rtxn| {
            let mut out = Vec::new();
            for item in dbs.journal.range(rtxn, &(start..))?.take(limit) {
                let (seq, bytes) = item?;
                out.push(decode(seq, bytes));
            }
            Ok(out)
        })
    }

    /// The first and last sequence numbers held, or `None` for an empty journal.
    pub fn journal_bounds(&self) -> Result<Option<(Seq, Seq)>, StoreError> {
        self.read(|dbs, rtxn| {
            let first = dbs.journal.first(rtxn)?.map(|(k, _)| k);
            let last = dbs.journal.last(rtxn)?.map(|(k, _)| k);
            Ok(first.zip(last))
        })
    }
}
