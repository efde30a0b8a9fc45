//! Layout and contracts: the dir, the databases, the JSON shapes, one transaction per write,
//! the writer lock, read-only opens.

use crate::common::*;
use phantom_fsm::engine::{Output, UnixMs};
use phantom_fsm::socket::Command;
use phantom_fsm::store::{Store, StoreConfig, StoreErrorKind, StoreOp};
use serde_json::{Value, json};
use std::time::Duration;

fn raw_json(raw: &Raw, db_name: &str, key: &[u8]) -> Value {
    serde_json::from_slice(&raw.get(db_name, key).unwrap()).unwrap()
}

#[test]
fn creates_a_private_dir_holding_the_four_databases() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a").join("data");
    drop(Store::open(StoreConfig::new(&dir)).unwrap());
    #[cfg(unix)]
    assert!(is_private(&dir));
    let raw = Raw::open(&dir);
    for name in [
        "journal",
        "snapshots",
        "ledger",
        "seen_events",
        "ledger_retry",
    ] {
        assert!(raw.has_db(name), "database {name} missing");
    }
}

#[test]
fn rows_snapshots_and_ledger_rows_have_the_contract_json() {
    let (tmp, store) = temp_store();
    let t1 = socket_t("disconnected", "connecting", "start", 5);
    assert_eq!(
        store
            .record_socket_batch(&[(t1, snap("connecting"))])
            .unwrap(),
        Some(1)
    );
    let t2 = onboarding_t("T1/U1", ("pending", "sending"), "channel_opened", 7);
    let s2 = ledger_snap("sending", 1, Some("D1"), None);
    assert_eq!(store.record_onboarding(&t2, &s2).unwrap(), 2);
    drop(store);

    let raw = Raw::open(&tmp.path().join("data"));
    let dir = &raw;
    let at = |ms: u64| phantom_fsm::engine::Now::fake(ms).unix.0;
    assert_eq!(
        raw_json(dir, "journal", &1u64.to_be_bytes()),
        json!({"seq": 1, "at_unix_ms": at(5), "machine": "socket_mode", "instance": "default",
               "from": "disconnected", "to": "connecting", "event": "start"})
    );
    assert_eq!(
        raw_json(dir, "journal", &2u64.to_be_bytes())["instance"],
        json!("T1/U1")
    );
    assert_eq!(
        raw_json(dir, "snapshots", b"socket_mode/default"),
        json!({"state": "connecting", "data": null, "at_unix_ms": at(5), "seq": 1})
    );
    assert_eq!(
        raw_json(dir, "ledger", b"T1/U1"),
        json!({"state": "sending", "attempts": 1, "last_error": null, "channel": "D1", "ts": null,
               "generation": 0, "sending_since_unix_ms": null, "rejections": 0,
               "rejected_since_unix_ms": null,
               "created_unix_ms": at(7), "updated_unix_ms": at(7)})
    );
    // The onboarding snapshot lives in the ledger, not in `snapshots`.
    assert_eq!(raw.get("snapshots", b"onboarding/T1/U1"), None);
}

#[test]
fn ledger_row_keeps_its_creation_time_and_restores_the_snapshot() {
    let (_tmp, store) = temp_store();
    let i = "T1/U1";
    store
        .record_onboarding(
            &onboarding_t(i, ("pending", "sending"), "channel_opened", 10),
            &ledger_snap("sending", 1, Some("D1"), None),
        )
        .unwrap();
    let done = ledger_snap("complete", 1, Some("D1"), Some("1700000000.000100"));
    store
        .record_onboarding(
            &onboarding_t(i, ("sending", "complete"), "post_ok", 20),
            &done,
        )
        .unwrap();
    let row = store.load_ledger(i).unwrap().unwrap();
    assert_eq!(
        row.created_unix_ms,
        phantom_fsm::engine::Now::fake(10).unix.0
    );
    assert_eq!(
        row.updated_unix_ms,
        phantom_fsm::engine::Now::fake(20).unix.0
    );
    assert_eq!(row.snapshot(), done);
    assert_eq!(store.load_ledger("T1/U2").unwrap(), None);
}

#[test]
fn observe_writes_a_drain_in_one_transaction() {
    let (_tmp, store) = temp_store();
    let at = UnixMs(1_000);
    let outputs: Vec<Output<Command>> = vec![
        Output::Transition(socket_t("disconnected", "connecting", "start", 1)),
        Output::Command(Command::Remember {
            key: "ev:E1".into(),
            at_unix: at,
        }),
        Output::Transition(socket_t("connecting", "authenticated", "open_ok", 2)),
        Output::Command(Command::Remember {
            key: "env:X".into(),
            at_unix: at,
        }),
    ];
    assert_eq!(
        store.observe(&outputs, &snap("authenticated")).unwrap(),
        Some(2)
    );
    let stored = store
        .load_snapshot("socket_mode", "default")
        .unwrap()
        .unwrap();
    assert_eq!((stored.state.as_str(), stored.seq), ("authenticated", 2));
    let keys = store.load_unexpired(at, Duration::from_secs(60)).unwrap();
    assert_eq!(
        keys,
        vec![("env:X".to_string(), at), ("ev:E1".to_string(), at)]
    );
    // A drain with neither transitions nor keys writes nothing.
    let quiet: Vec<Output<Command>> = vec![Output::Command(Command::Ping {
        link: phantom_fsm::socket::LinkId(1),
    })];
    assert_eq!(store.observe(&quiet, &snap("authenticated")).unwrap(), None);
    assert_eq!(store.journal_bounds().unwrap(), Some((1, 2)));
}

/// An onboarding drain carries the ledger's own commands (calls, the row load): none of them
/// is a dedupe key, so nothing lands in `seen_events`.
#[test]
fn an_onboarding_drain_writes_no_dedupe_key() {
    use phantom_fsm::onboarding::{CallId, Command as Ledger};
    let (_tmp, store) = temp_store();
    let outputs: Vec<Output<Ledger>> = vec![
        Output::Transition(onboarding_t(
            "T1/U1",
            ("pending", "sending"),
            "dm_opened",
            5,
        )),
        Output::Command(Ledger::LoadRow {
            key: "T1/U1".into(),
        }),
        Output::Command(Ledger::OpenDm {
            call: CallId(1),
            user: "U1".into(),
        }),
    ];
    let snapshot = ledger_snap("sending", 1, Some("D1"), None);
    assert_eq!(store.observe(&outputs, &snapshot).unwrap(), Some(1));
    assert_eq!(
        store
            .load_unexpired(UnixMs(0), Duration::from_secs(3_600))
            .unwrap(),
        vec![]
    );
}

/// One write holds one machine instance: the snapshot is the state of that instance's last
/// transition, so transitions of two instances (even of the same machine) are refused whole.
#[test]
fn a_drain_mixing_two_instances_of_one_machine_is_refused_whole() {
    let (_tmp, store) = temp_store();
    let other = phantom_fsm::engine::Transition::new(
        "socket_mode",
        "second",
        ("connecting", "authenticated"),
        "open_ok",
        phantom_fsm::engine::Now::fake(2),
    );
    let outputs: Vec<Output<Command>> = vec![
        Output::Transition(socket_t("disconnected", "connecting", "start", 1)),
        Output::Transition(other),
    ];
    let error = store.observe(&outputs, &snap("authenticated")).unwrap_err();
    assert!(
        matches!(error.kind(), StoreErrorKind::Invalid { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("in one write"), "{error}");
    assert_eq!(store.journal_bounds().unwrap(), None);
}

#[test]
fn a_write_whose_snapshot_disagrees_is_refused_whole() {
    let (_tmp, store) = temp_store();
    let good = (
        socket_t("disconnected", "connecting", "start", 1),
        snap("connecting"),
    );
    let bad = (
        socket_t("connecting", "authenticated", "open_ok", 2),
        snap("connected"),
    );
    let err = store.record_socket_batch(&[good, bad]).unwrap_err();
    assert!(
        matches!(err.kind(), StoreErrorKind::Invalid { what: "batch", .. }),
        "{err}"
    );
    assert_eq!(err.op(), StoreOp::JournalWrite);
    assert_eq!(
        store.journal_bounds().unwrap(),
        None,
        "nothing of the batch is stored"
    );
    assert_eq!(store.load_snapshot("socket_mode", "default").unwrap(), None);
}

#[test]
fn onboarding_rows_never_take_the_unsynced_path() {
    let (_tmp, store) = temp_store();
    let t = onboarding_t("T1/U1", ("pending", "sending"), "channel_opened", 1);
    let err = store
        .record_socket_batch(&[(t, ledger_snap("sending", 0, None, None))])
        .unwrap_err();
    assert!(
        matches!(err.kind(), StoreErrorKind::Invalid { .. }),
        "{err}"
    );
    assert_eq!(store.journal_bounds().unwrap(), None);
}

#[test]
fn socket_rows_never_take_the_ledger_path() {
    let (_tmp, store) = temp_store();
    let t = socket_t("disconnected", "connecting", "start", 1);
    let err = store
        .record_onboarding(&t, &snap("connecting"))
        .unwrap_err();
    assert!(
        matches!(err.kind(), StoreErrorKind::Invalid { .. }),
        "{err}"
    );
    assert_eq!(store.journal_bounds().unwrap(), None);
}

#[test]
fn a_snapshot_that_cannot_be_a_ledger_row_is_refused() {
    let (_tmp, store) = temp_store();
    let t = onboarding_t("T1/U1", ("pending", "sending"), "channel_opened", 1);
    let bad = phantom_fsm::engine::Snapshot {
        state: "sending".into(),
        data: json!({"attempts": "one"}),
    };
    let err = store.record_onboarding(&t, &bad).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            StoreErrorKind::Invalid {
                what: "onboarding snapshot",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.op().as_str(), "ledger_write");
    assert_eq!(store.journal_bounds().unwrap(), None);
}

#[test]
fn seen_events_keep_the_latest_sighting_and_expire_after_the_ttl() {
    let (_tmp, store) = temp_store();
    let ttl = Duration::from_secs(3600);
    store.remember("ev:A", UnixMs(1_000)).unwrap();
    store.remember("ev:A", UnixMs(500)).unwrap(); // the wall clock stepped back: 1_000 kept
    store.remember("ev:B", UnixMs(2_000)).unwrap();
    let now = UnixMs(1_000 + 3_600_000); // A is exactly TTL old: expired
    assert_eq!(
        store.load_unexpired(now, ttl).unwrap(),
        vec![("ev:B".to_string(), UnixMs(2_000))]
    );
    assert_eq!(store.prune_seen(now, ttl).unwrap(), 1);
    assert_eq!(
        store.load_unexpired(UnixMs(0), ttl).unwrap(),
        vec![("ev:B".to_string(), UnixMs(2_000))]
    );
    // Remembered again (the machine's window forgot it and dispatched it anew): the later
    // time starts the window that counts.
    store.remember("ev:B", UnixMs(2_500)).unwrap();
    assert_eq!(
        store.load_unexpired(UnixMs(0), ttl).unwrap(),
        vec![("ev:B".to_string(), UnixMs(2_500))]
    );
    let err = store.remember("", UnixMs(1)).unwrap_err();
    assert!(matches!(err.kind(), StoreErrorKind::Invalid { .. }));
}

#[test]
fn a_second_writer_is_refused_until_the_first_is_dropped() {
    let (tmp, store) = temp_store();
    let dir = tmp.path().join("data");
    let err = Store::open(StoreConfig::new(&dir)).unwrap_err();
    match err.kind() {
        StoreErrorKind::Held { pid, .. } => assert_eq!(*pid, Some(std::process::id())),
        other => panic!("expected Held, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("held by another process"), "{message}");
    assert!(message.contains(&dir.display().to_string()), "{message}");
    drop(store);
    let again = reopen(StoreConfig::new(&dir));
    assert!(again.is_writable());
}

#[test]
fn reopening_continues_the_sequence() {
    let (tmp, store) = temp_store();
    let t = socket_t("disconnected", "connecting", "start", 1);
    store
        .record_socket_batch(&[(t, snap("connecting"))])
        .unwrap();
    drop(store);
    let store = reopen(StoreConfig::new(tmp.path().join("data")));
    let t = socket_t("connecting", "reconnecting", "open_transient", 2);
    assert_eq!(
        store
            .record_socket_batch(&[(t, snap("reconnecting"))])
            .unwrap(),
        Some(2)
    );
}

#[test]
fn read_only_opens_never_create_and_never_write() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let err = Store::open_read_only(&missing).unwrap_err();
    assert!(
        matches!(err.kind(), StoreErrorKind::MissingDir { .. }),
        "{err}"
    );
    assert!(!missing.exists());
    let err = Store::open_existing(StoreConfig::new(&missing)).unwrap_err();
    assert!(
        matches!(err.kind(), StoreErrorKind::MissingDir { .. }),
        "{err}"
    );
    assert!(!missing.exists());
    let err = Store::open_read_only(tmp.path()).unwrap_err();
    assert!(
        matches!(err.kind(), StoreErrorKind::NotAStore { .. }),
        "{err}"
    );

    let dir = tmp.path().join("data");
    drop(Store::open(StoreConfig::new(&dir)).unwrap());
    let reader = Store::open_read_only(&dir).unwrap();
    assert!(!reader.is_writable());
    let err = reader.remember("ev:A", UnixMs(1)).unwrap_err();
    assert!(matches!(err.kind(), StoreErrorKind::ReadOnly));
}

#[test]
fn a_store_can_be_shared_between_threads() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<Store>();
    let (_tmp, store) = temp_store();
    let store = std::sync::Arc::new(store);
    let writers: Vec<_> = (0..4u64)
        .map(|n| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    store.remember(&format!("ev:{n}-{i}"), UnixMs(i)).unwrap();
                }
            })
        })
        .collect();
    writers.into_iter().for_each(|w| w.join().unwrap());
    assert_eq!(
        store
            .load_unexpired(UnixMs(0), Duration::from_secs(1))
            .unwrap()
            .len(),
        200
    );
}

#[test]
fn a_backoff_retry_time_survives_a_reopen_beside_the_contract_row() {
    let (tmp, store) = temp_store();
    let t = onboarding_t("T1/U1", ("sending", "backoff"), "post_rate_limited", 9);
    let mut s = ledger_snap("backoff", 1, Some("D1"), None);
    s.data["retry_at_unix_ms"] = json!(1_800_000_000_000u64);
    store.record_onboarding(&t, &s).unwrap();
    let row = store.load_ledger("T1/U1").unwrap().unwrap();
    assert_eq!(row.retry_at_unix_ms, Some(1_800_000_000_000));
    assert_eq!(
        row.snapshot().data["retry_at_unix_ms"],
        json!(1_800_000_000_000u64)
    );
    // Leaving backoff clears it.
    let t2 = onboarding_t("T1/U1", ("backoff", "sending"), "retry_send", 10);
    store
        .record_onboarding(&t2, &ledger_snap("sending", 1, Some("D1"), None))
        .unwrap();
    assert_eq!(
        store
            .load_ledger("T1/U1")
            .unwrap()
            .unwrap()
            .retry_at_unix_ms,
        None
    );
    let t3 = onboarding_t("T1/U1", ("sending", "backoff"), "post_rate_limited", 11);
    store.record_onboarding(&t3, &s).unwrap();
    drop(store);

    let raw = Raw::open(&tmp.path().join("data"));
    let row = raw_json(&raw, "ledger", b"T1/U1");
    let keys: Vec<&str> = row
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "attempts",
            "channel",
            "created_unix_ms",
            "generation",
            "last_error",
            "rejected_since_unix_ms",
            "rejections",
            "sending_since_unix_ms",
            "state",
            "ts",
            "updated_unix_ms"
        ],
        "the ledger row keeps exactly its contract fields"
    );
    assert_eq!(
        raw.get("ledger_retry", b"T1/U1").unwrap(),
        1_800_000_000_000u64.to_be_bytes()
    );
    raw.close();
    let store = reopen(StoreConfig::new(tmp.path().join("data")));
    assert_eq!(
        store
            .load_ledger("T1/U1")
            .unwrap()
            .unwrap()
            .retry_at_unix_ms,
        Some(1_800_000_000_000)
    );
}
