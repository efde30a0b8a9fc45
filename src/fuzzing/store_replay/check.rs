//! The store's invariants (`docs/storage.md`) against the model of what was written:
//! - the journal holds exactly the last `journal_max_rows` rows written, keyed by contiguous
//!   sequence numbers, each decoding to the row written;
//! - per instance, each row's `from` is the previous row's `to`; every `(from, event, to)` is
//!   an edge of the derived diagram;
//! - the stored snapshot (socket) or ledger row (onboarding) of every instance is the last
//!   snapshot written, its state the `to` of the instance's last row, and restoring a machine
//!   from it gives that snapshot back;
//! - `seen_events` holds every remembered key with its latest remembered time.

use super::{Harness, Model};
use crate::engine::{Machine, Snapshot, UnixMs};
use crate::onboarding::{Onboarding, OnboardingConfig};
use crate::socket::{DEFAULT_INSTANCE, MACHINE_ID as SOCKET};
use crate::store::{JournalRow, Store};
use std::collections::BTreeMap;
use std::time::Duration;

impl Harness {
    /// Every invariant, against the model.
    pub(super) fn check_store(&self) {
        let rows = journal(self.store(), &self.model, self.config.journal_max_rows);
        let mut last: BTreeMap<(&str, &str), &JournalRow> = BTreeMap::new();
        for row in &rows {
            let edge = crate::registry::diagram(&row.machine)
                .is_some_and(|d| d.has_edge(&row.from, &row.event, &row.to));
            assert!(
                edge,
                "store_replay: {row:?} is not an edge of the derived diagram"
            );
            if let Some(prev) = last.get(&(row.machine.as_str(), row.instance.as_str())) {
                assert_eq!(
                    prev.to, row.from,
                    "store_replay: {row:?} does not follow {prev:?}"
                );
            }
            last.insert((row.machine.as_str(), row.instance.as_str()), row);
        }
        for ((machine, instance), row) in &last {
            let stored = self.stored_snapshot(machine, instance);
            let state = stored.as_ref().map(|(s, _)| s.state.as_str());
            assert_eq!(
                state,
                Some(row.to.as_str()),
                "store_replay: {machine}/{instance}"
            );
            if *machine == SOCKET {
                assert_eq!(
                    stored.map(|(_, seq)| seq),
                    Some(Some(row.seq)),
                    "snapshot seq"
                );
            }
        }
        for ((machine, instance), (snapshot, seq)) in &self.model.snapshots {
            let stored = self.stored_snapshot(machine, instance);
            assert_eq!(
                stored.as_ref().map(|(s, _)| s),
                Some(snapshot),
                "store_replay: {machine}/{instance}: the stored snapshot is not the last written"
            );
            if machine == SOCKET {
                assert_eq!(stored.map(|(_, s)| s), Some(Some(*seq)), "snapshot seq");
            }
        }
        self.check_seen();
    }

    /// The snapshot to restore `machine`/`instance` from, and (socket) the row it came from.
    fn stored_snapshot(&self, machine: &str, instance: &str) -> Option<(Snapshot, Option<u64>)> {
        let store = self.store();
        if machine == SOCKET {
            let stored = store
                .load_snapshot(machine, instance)
                .expect("snapshot loads")?;
            return Some((stored.snapshot(), Some(stored.seq)));
        }
        let row = store.load_ledger(instance).expect("ledger row loads")?;
        Some((row.snapshot(), None))
    }

    fn check_seen(&self) {
        let stored: BTreeMap<String, UnixMs> = self
            .store()
            .load_unexpired(UnixMs(0), Duration::MAX)
            .expect("seen keys load")
            .into_iter()
            .collect();
        assert_eq!(stored, self.model.seen, "store_replay: seen_events");
    }

    /// The ledger row of onboarding machine `i` restores a machine whose snapshot is the one
    /// last written.
    pub(super) fn check_restored_onboarding(&self, i: usize) -> Option<Snapshot> {
        let instance = self.onboarding[i].instance();
        let (snapshot, _) = self.stored_snapshot(crate::onboarding::MACHINE_ID, instance)?;
        let restored = Onboarding::restore(OnboardingConfig::default(), instance, &snapshot)
            .unwrap_or_else(|e| panic!("store_replay: {snapshot:?} does not restore: {e}"));
        let key = (
            crate::onboarding::MACHINE_ID.to_string(),
            instance.to_string(),
        );
        let written = self.model.snapshots.get(&key).map(|(s, _)| s);
        assert_eq!(
            Some(&restored.snapshot()),
            written,
            "store_replay: {instance} restored from its ledger row is not the machine written"
        );
        Some(snapshot)
    }

    /// The socket machine's stored snapshot, if any (informative: it restarts anyway).
    pub(super) fn check_restored_socket(&self) -> Option<Snapshot> {
        let (snapshot, _) = self.stored_snapshot(SOCKET, DEFAULT_INSTANCE)?;
        let restored = crate::socket::SocketMode::restore(
            crate::socket::SocketConfig::default(),
            DEFAULT_INSTANCE,
            &snapshot,
        )
        .unwrap_or_else(|e| panic!("store_replay: {snapshot:?} does not restore: {e}"));
        assert_eq!(
            restored.snapshot(),
            snapshot,
            "store_replay: socket restore"
        );
        Some(snapshot)
    }
}

/// The journal: exactly the last `max_rows` rows written, contiguous, each as written.
fn journal(store: &Store, model: &Model, max_rows: u64) -> Vec<JournalRow> {
    let total = model.rows.len() as u64;
    let bounds = store.journal_bounds().expect("journal bounds");
    let expected = (total > 0).then(|| (total.saturating_sub(max_rows) + 1, total));
    assert_eq!(
        bounds, expected,
        "store_replay: journal bounds after {total} rows"
    );
    let Some((first, last)) = bounds else {
        return Vec::new();
    };
    let entries = store
        .journal_from(first, usize::MAX)
        .expect("journal reads");
    assert_eq!(
        entries.len() as u64,
        last - first + 1,
        "store_replay: journal rows"
    );
    entries
        .into_iter()
        .zip(first..)
        .map(|(entry, seq)| {
            let row = entry.into_row().expect("no corrupt journal row");
            let written = &model.rows[(seq - 1) as usize];
            let same = row.seq == seq
                && row.machine == written.machine
                && row.instance == written.instance
                && row.from == written.from
                && row.to == written.to
                && row.event == written.event
                && row.at_unix_ms == written.at_unix_ms;
            assert!(
                same,
                "store_replay: row {seq} is {row:?}, written {written:?}"
            );
            row
        })
        .collect()
}
