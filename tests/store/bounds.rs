//! Bounded and self-healing: journal pruning, map growth up to a ceiling, corrupt values.

use crate::common::*;
use phantom_fsm::engine::{Snapshot, UnixMs};
use phantom_fsm::store::{JournalEntry, Store, StoreConfig, StoreErrorKind, StoreOp};
use serde_json::json;
use std::time::Duration;

const STATES: [&str; 2] = ["connecting", "reconnecting"];

/// `n` socket rows alternating connecting <-> reconnecting, starting from `disconnected`.
fn write_socket_rows(store: &Store, n: u64) {
    for i in 0..n {
        let from = if i == 0 {
            "disconnected"
        } else {
            STATES[(i as usize + 1) % 2]
        };
        let to = STATES[i as usize % 2];
        let t = socket_t(from, to, "step", i);
        store.record_socket_batch(&[(t, snap(to))]).unwrap();
    }
}

#[test]
fn the_journal_is_pruned_to_its_bound_as_it_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        journal_max_rows: 10,
        ..StoreConfig::new(tmp.path().join("data"))
    };
    let store = Store::open(config).unwrap();
    write_socket_rows(&store, 25);
    assert_eq!(store.journal_bounds().unwrap(), Some((16, 25)));
    let rows = all_rows(&store);
    assert_eq!(rows.len(), 10);
    assert!(
        rows.windows(2)
            .all(|w| w[1].seq == w[0].seq + 1 && w[1].from == w[0].to)
    );
    let snapshot = store
        .load_snapshot("socket_mode", "default")
        .unwrap()
        .unwrap();
    assert_eq!(
        (snapshot.seq, snapshot.state.as_str()),
        (25, rows[9].to.as_str())
    );
}

#[test]
fn a_full_map_grows_and_the_write_is_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        map_size: 64 << 10,
        map_ceiling: 64 << 20,
        ..StoreConfig::new(tmp.path().join("data"))
    };
    let store = Store::open(config).unwrap();
    let before = store.map_size();
    write_socket_rows(&store, 3_000);
    assert!(store.map_size() > before, "map stayed at {before} bytes");
    assert_eq!(store.journal_bounds().unwrap(), Some((1, 3_000)));
    check_invariants(&store, &|_, _, _, _| true).unwrap();
}

/// A ledger snapshot carrying `pad` bytes of error text, to fill the map fast.
fn big_ledger_snap(state: &str, attempts: u32, pad: usize) -> Snapshot {
    Snapshot {
        state: state.into(),
        data: json!({"attempts": attempts, "last_error": "x".repeat(pad), "channel": "D1", "ts": null}),
    }
}

#[test]
fn past_the_ceiling_a_ledger_write_fails_typed_and_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        map_size: 64 << 10,
        map_ceiling: 256 << 10,
        ..StoreConfig::new(tmp.path().join("data"))
    };
    let store = Store::open(config).unwrap();
    let mut written = 0u32;
    let err = loop {
        // Distinct instances: each write adds a new ~2 KiB ledger row.
        let instance = format!("T1/U{written}");
        let t = onboarding_t(&instance, ("pending", "sending"), "channel_opened", 1);
        match store.record_onboarding(&t, &big_ledger_snap("sending", 1, 2_000)) {
            Ok(_) => written += 1,
            Err(e) => break e,
        }
        assert!(written < 10_000, "the ceiling was never reached");
    };
    assert!(written > 10, "only {written} rows fit");
    assert_eq!(store.map_size(), 256 << 10);
    assert!(
        matches!(err.kind(), StoreErrorKind::MapFull { ceiling, .. } if *ceiling == 256 << 10),
        "{err}"
    );
    assert_eq!(
        (err.op(), err.op().as_str()),
        (StoreOp::LedgerWrite, "ledger_write")
    );
    // Nothing of the failed write is stored, everything before it is.
    assert_eq!(
        store.journal_bounds().unwrap(),
        Some((1, u64::from(written)))
    );
    assert_eq!(store.load_ledger(&format!("T1/U{written}")).unwrap(), None);
    assert!(
        store
            .load_ledger(&format!("T1/U{}", written - 1))
            .unwrap()
            .is_some()
    );
}

#[test]
fn corrupt_values_are_reported_with_their_database_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let store = Store::open(StoreConfig::new(&dir)).unwrap();
    write_socket_rows(&store, 3);
    let t = onboarding_t("T1/U1", ("pending", "sending"), "channel_opened", 1);
    store
        .record_onboarding(&t, &ledger_snap("sending", 1, None, None))
        .unwrap();
    store.remember("ev:good", UnixMs(10)).unwrap();
    drop(store);

    let raw = Raw::open(&dir);
    raw.put("journal", &2u64.to_be_bytes(), b"{not json");
    raw.put("ledger", b"T1/U1", b"\xff\x00");
    raw.put("snapshots", b"socket_mode/default", b"[]");
    raw.put("seen_events", b"ev:bad", b"short");
    raw.close();

    let store = reopen(StoreConfig::new(&dir));
    let tail = store.journal_tail(10, Some("socket_mode")).unwrap();
    assert!(
        matches!(tail[1], JournalEntry::Corrupt { seq: 2, .. }),
        "{tail:?}"
    );
    assert_eq!(
        tail.iter().filter(|e| e.row().is_some()).count(),
        2,
        "the onboarding row is filtered out"
    );
    let err = tail[1].clone().into_row().unwrap_err();
    assert!(
        err.to_string().contains("database \"journal\" at key 2"),
        "{err}"
    );

    let err = store.load_ledger("T1/U1").unwrap_err();
    assert!(
        matches!(err.kind(), StoreErrorKind::Corrupt { db: "ledger", key, .. } if key == "T1/U1"),
        "{err}"
    );
    assert_eq!(err.op().as_str(), "read");
    let err = store.load_snapshot("socket_mode", "default").unwrap_err();
    assert!(
        matches!(err.kind(), StoreErrorKind::Corrupt { db: "snapshots", key, .. } if key == "socket_mode/default"),
        "{err}"
    );

    let ttl = Duration::from_secs(60);
    assert_eq!(
        store.load_unexpired(UnixMs(20), ttl).unwrap(),
        vec![("ev:good".to_string(), UnixMs(10))]
    );
    assert_eq!(
        store.prune_seen(UnixMs(20), ttl).unwrap(),
        1,
        "the corrupt key is pruned"
    );

    // A new transition replaces the corrupt ledger row: the ledger heals.
    let t = onboarding_t("T1/U1", ("sending", "complete"), "post_ok", 2);
    store
        .record_onboarding(&t, &ledger_snap("complete", 1, Some("D1"), Some("1.2")))
        .unwrap();
    assert_eq!(
        store.load_ledger("T1/U1").unwrap().unwrap().state,
        "complete"
    );
}

/// Reads take no per-thread reader slot (heed's `WithoutTls`): more live threads than LMDB's
/// 126 reader slots can each read, as tokio's blocking pool may. With per-thread slots the
/// 127th thread fails with `MDB_READERS_FULL`.
#[test]
fn more_live_reader_threads_than_reader_slots() {
    use std::sync::{Arc, Barrier, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        phantom_fsm::store::Store::open(phantom_fsm::store::StoreConfig::new(dir.path().join("d")))
            .unwrap(),
    );
    const THREADS: usize = 200;
    let alive = Arc::new(Barrier::new(THREADS));
    let one_at_a_time = Arc::new(Mutex::new(()));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (store, alive, lock) = (store.clone(), alive.clone(), one_at_a_time.clone());
            std::thread::spawn(move || {
                let read = {
                    let _turn = lock.lock().unwrap();
                    store.journal_tail(1, None).map(|_| ())
                };
                alive.wait(); // every thread stays alive until all have read
                read
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap().expect("a read on every thread");
    }
}
