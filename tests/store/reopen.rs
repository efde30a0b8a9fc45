//! `Store::reopen` after a failed ledger sync: the sync failure is `Unsynced` (must reopen),
//! the commit is read back from a fresh environment, and a store shared behind an `Arc` keeps
//! working for every other user across the reopen. The injected failure also shows which
//! writes sync: an onboarding drain through `observe` does, a socket drain does not.

use super::common::{onboarding_t, temp_store};
use phantom_fsm::engine::Snapshot;
use phantom_fsm::store::{StoreErrorKind, StoreOp};
use std::sync::Arc;

fn sending() -> Snapshot {
    Snapshot {
        state: "sending".into(),
        data: serde_json::json!({"attempts": 1, "channel": "D1"}),
    }
}

#[test]
fn an_injected_sync_failure_is_unsynced_and_the_reopened_store_reads_the_commit() {
    let (_dir, store) = temp_store();
    store.fail_next_ledger_syncs(1);
    let t = onboarding_t("T1/U1", ("pending", "sending"), "dm_opened", 1_000);
    let error = store.record_onboarding(&t, &sending()).unwrap_err();
    assert_eq!(error.op(), StoreOp::Sync);
    assert!(matches!(error.kind(), StoreErrorKind::Unsynced { .. }));
    assert!(error.kind().must_reopen());
    store.reopen().unwrap();
    assert_eq!(store.reopens(), 1);
    let row = store
        .load_ledger("T1/U1")
        .unwrap()
        .expect("the commit is on disk");
    assert_eq!((row.state.as_str(), row.attempts), ("sending", 1));
    // The next sync is a real one again, on the fresh environment.
    let t = onboarding_t("T1/U1", ("sending", "reconciling"), "restarted", 2_000);
    let snapshot = Snapshot {
        state: "reconciling".into(),
        ..sending()
    };
    store.record_onboarding(&t, &snapshot).unwrap();
    assert_eq!(store.journal_tail(10, None).unwrap().len(), 2);
}

#[test]
fn a_shared_store_keeps_serving_other_threads_across_reopens() {
    let (_dir, store) = temp_store();
    let store = Arc::new(store);
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 0..200u64 {
                let from = if i == 0 { "pending" } else { "sending" };
                let t = onboarding_t("T1/U2", (from, "sending"), "retry_send", 1_000 + i);
                store.record_onboarding(&t, &sending()).unwrap();
            }
        })
    };
    for _ in 0..5 {
        store.reopen().unwrap();
    }
    writer.join().unwrap();
    assert_eq!(store.reopens(), 5);
    assert_eq!(store.journal_tail(1_000, None).unwrap().len(), 200);
}

/// `observe` syncs a drain of the onboarding machine before it returns (the post it leads to
/// must never leave first), and leaves a socket drain to the periodic sync: the armed failure
/// is met by the onboarding drain only.
#[test]
fn observe_syncs_an_onboarding_drain_and_not_a_socket_drain() {
    use super::common::{ledger_snap, snap, socket_t};
    use phantom_fsm::engine::Output;
    let (_dir, store) = temp_store();
    store.fail_next_ledger_syncs(1);
    let socket: Vec<Output<phantom_fsm::socket::Command>> = vec![Output::Transition(socket_t(
        "disconnected",
        "connecting",
        "start",
        1,
    ))];
    assert_eq!(
        store.observe(&socket, &snap("connecting")).unwrap(),
        Some(1)
    );
    let onboarding: Vec<Output<phantom_fsm::onboarding::Command>> = vec![Output::Transition(
        onboarding_t("T1/U1", ("pending", "sending"), "dm_opened", 2),
    )];
    let snapshot = ledger_snap("sending", 1, Some("D1"), None);
    let error = store.observe(&onboarding, &snapshot).unwrap_err();
    assert_eq!(error.op(), StoreOp::Sync);
    assert!(error.kind().must_reopen(), "{error}");
}
