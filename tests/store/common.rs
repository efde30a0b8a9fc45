//! Helpers shared by the store tests: stores in temporary dirs, hand-built transitions, and
//! the journal invariant checker (`docs/storage.md`).

use phantom_fsm::engine::{Now, Snapshot, Transition};
use phantom_fsm::store::{JournalRow, Store, StoreConfig, StoreErrorKind};
use std::collections::HashMap;
use std::path::Path;

/// A writer store in a fresh temporary dir (kept alive by the returned guard).
pub fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path().join("data"))).unwrap();
    (dir, store)
}

/// Reopen a store this process just dropped. The kernel releases the writer lock when the
/// last descriptor of it closes, and a process spawned by a concurrent test thread holds a
/// copy from its fork until its exec: poll (with a deadline) until that copy is gone.
pub fn reopen(config: StoreConfig) -> Store {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Store::open(config.clone()) {
            Err(e)
                if matches!(e.kind(), StoreErrorKind::Held { .. })
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            other => return other.unwrap(),
        }
    }
}

/// A socket-mode transition at fake time `ms`.
pub fn socket_t(from: &'static str, to: &'static str, event: &'static str, ms: u64) -> Transition {
    Transition::new("socket_mode", "default", (from, to), event, Now::fake(ms))
}

/// An onboarding transition of `instance` at fake time `ms`.
pub fn onboarding_t(
    instance: &str,
    (from, to): (&'static str, &'static str),
    event: &'static str,
    ms: u64,
) -> Transition {
    Transition::new("onboarding", instance, (from, to), event, Now::fake(ms))
}

/// A snapshot of `state` with no data.
pub fn snap(state: &str) -> Snapshot {
    Snapshot {
        state: state.into(),
        data: serde_json::Value::Null,
    }
}

/// An onboarding snapshot with the ledger's data keys.
pub fn ledger_snap(
    state: &str,
    attempts: u32,
    channel: Option<&str>,
    ts: Option<&str>,
) -> Snapshot {
    Snapshot {
        state: state.into(),
        data: serde_json::json!({
            "attempts": attempts, "last_error": null, "channel": channel, "ts": ts,
            "generation": 0, "sending_since_unix_ms": null, "rejections": 0,
            "rejected_since_unix_ms": null,
        }),
    }
}

/// Every journal row, oldest first (panics on a corrupt row).
pub fn all_rows(store: &Store) -> Vec<JournalRow> {
    let Some((first, _)) = store.journal_bounds().unwrap() else {
        return Vec::new();
    };
    store
        .journal_from(first, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|e| e.into_row().unwrap())
        .collect()
}

/// What [`check_invariants`] saw.
#[derive(Debug, Default)]
pub struct Checked {
    /// Rows checked.
    pub rows: usize,
    /// Instances whose last row was compared with their snapshot or ledger row.
    pub instances: usize,
}

/// The journal invariants of `docs/storage.md`:
/// 1. sequence numbers are contiguous;
/// 2. per instance, each row's `from` is the previous row's `to`;
/// 3. every `(from, event, to)` is an edge (`is_edge(machine, from, event, to)`);
/// 4. the last row's `to` is the stored state: the ledger row's `state` for onboarding, the
///    snapshot's `state` (and its `seq` the row's) otherwise.
pub fn check_invariants(
    store: &Store,
    is_edge: &dyn Fn(&str, &str, &str, &str) -> bool,
) -> Result<Checked, String> {
    let rows = all_rows(store);
    let mut last: HashMap<(String, String), &JournalRow> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        if i > 0 && row.seq != rows[i - 1].seq + 1 {
            return Err(format!("seq {} follows {}", row.seq, rows[i - 1].seq));
        }
        if !is_edge(&row.machine, &row.from, &row.event, &row.to) {
            return Err(format!("not an edge: {row:?}"));
        }
        let key = (row.machine.clone(), row.instance.clone());
        if let Some(prev) = last.get(&key)
            && prev.to != row.from
        {
            return Err(format!(
                "row {} leaves {} but {} entered {}",
                row.seq, row.from, prev.seq, prev.to
            ));
        }
        last.insert(key, row);
    }
    for ((machine, instance), row) in &last {
        check_stored_state(store, machine, instance, row)?;
    }
    Ok(Checked {
        rows: rows.len(),
        instances: last.len(),
    })
}

fn check_stored_state(
    store: &Store,
    machine: &str,
    instance: &str,
    row: &JournalRow,
) -> Result<(), String> {
    if machine == "onboarding" {
        let ledger = store
            .load_ledger(instance)
            .unwrap()
            .ok_or(format!("no ledger row for {instance}"))?;
        if ledger.state != row.to {
            return Err(format!(
                "ledger {instance} is {} but row {} entered {}",
                ledger.state, row.seq, row.to
            ));
        }
        return Ok(());
    }
    let snapshot = store
        .load_snapshot(machine, instance)
        .unwrap()
        .ok_or(format!("no snapshot for {machine}/{instance}"))?;
    if snapshot.state != row.to || snapshot.seq != row.seq {
        return Err(format!(
            "snapshot {machine}/{instance} is {snapshot:?} but last row is {row:?}"
        ));
    }
    Ok(())
}

/// Whether `dir` has mode 0700.
#[cfg(unix)]
pub fn is_private(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir).unwrap().permissions().mode() & 0o777 == 0o700
}

/// A raw LMDB handle on a data dir, bypassing the store (to read exact bytes or plant
/// corruption). Drop the store first: heed opens a path once per process.
pub struct Raw {
    env: heed::Env,
}

impl Raw {
    /// Open `dir` raw.
    pub fn open(dir: &Path) -> Raw {
        let env = unsafe { heed::EnvOpenOptions::new().max_dbs(8).open(dir) }.unwrap();
        Raw { env }
    }

    fn db(&self, name: &str) -> Option<heed::Database<'_, heed::types::Bytes, heed::types::Bytes>> {
        let rtxn = self.env.read_txn().unwrap();
        self.env
            .open_databases_and_commit(rtxn, |dbo, rtxn| {
                dbo.open_database(rtxn, Some(name))
                    .map(heed::CommitOrAbort::<_, ()>::Commit)
            })
            .unwrap()
            .unwrap_commit()
    }

    /// Whether database `name` exists.
    pub fn has_db(&self, name: &str) -> bool {
        self.db(name).is_some()
    }

    /// The raw value under `key` in database `name`.
    pub fn get(&self, name: &str, key: &[u8]) -> Option<Vec<u8>> {
        let db = self.db(name).unwrap();
        let rtxn = self.env.read_txn().unwrap();
        db.get(&rtxn, key).unwrap().map(<[u8]>::to_vec)
    }

    /// Overwrite the value under `key` in database `name`.
    pub fn put(&self, name: &str, key: &[u8], value: &[u8]) {
        let db = self.db(name).unwrap();
        let mut wtxn = self.env.write_txn().unwrap();
        db.put(&mut wtxn, key, value).unwrap();
        wtxn.commit().unwrap();
    }

    /// Close the environment and wait until heed lets the path be opened again.
    pub fn close(self) {
        self.env.prepare_for_closing().wait();
    }
}
