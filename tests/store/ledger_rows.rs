//! The ledger row as the onboarding machine's source of truth: only known teams, the
//! documented additions, changes without a transition, and unreadable rows as errors.

use crate::common::*;
use phantom_fsm::engine::{Now, UnixMs};
use phantom_fsm::store::{StoreConfig, StoreErrorKind};
use serde_json::json;

/// A row keyed `-/<U>` (the team not yet named by `auth.test`) would never be found by the
/// next start, which knows the team: refused.
#[test]
fn a_row_of_an_unknown_team_is_refused() {
    let (_tmp, store) = temp_store();
    for instance in ["-/U1", "/U1", "T1/", "T1/U1/x", "U1"] {
        let t = onboarding_t(instance, ("pending", "failed"), "auth_unrecoverable", 5);
        let err = store
            .record_onboarding(&t, &ledger_snap("failed", 0, None, None))
            .expect_err(instance);
        assert!(
            matches!(
                err.kind(),
                StoreErrorKind::Invalid {
                    what: "ledger key",
                    ..
                }
            ),
            "{instance}: {err}"
        );
        assert!(store.load_ledger(instance).unwrap().is_none());
    }
}

/// `last_error`, the channel and the retry counters change without a transition: written too.
#[test]
fn a_change_without_a_transition_is_written() {
    let (_tmp, store) = temp_store();
    let t = onboarding_t("T1/U1", ("sending", "reconciling"), "post_ambiguous", 5);
    let mut snap = ledger_snap("reconciling", 1, Some("D1"), None);
    store.record_onboarding(&t, &snap).unwrap();
    snap.data["last_error"] = json!("http_503");
    snap.data["rejections"] = json!(3);
    store
        .save_ledger("T1/U1", &snap, Now::fake(9).unix)
        .unwrap();
    let row = store.load_ledger("T1/U1").unwrap().unwrap();
    assert_eq!(row.last_error.as_deref(), Some("http_503"));
    assert_eq!(row.rejections, 3);
    assert_eq!(row.updated_unix_ms, Now::fake(9).unix.0);
    // A change of state is a transition: refused here, nothing written.
    let err = store
        .save_ledger(
            "T1/U1",
            &ledger_snap("sending", 2, Some("D1"), None),
            UnixMs(1),
        )
        .unwrap_err();
    assert!(
        matches!(err.kind(), StoreErrorKind::Invalid { .. }),
        "{err}"
    );
    let err = store.save_ledger("T1/U2", &snap, UnixMs(1)).unwrap_err();
    assert!(
        matches!(err.kind(), StoreErrorKind::Invalid { .. }),
        "no row: {err}"
    );
    assert_eq!(
        store.load_ledger("T1/U1").unwrap().unwrap().state,
        "reconciling"
    );
}

/// The generation, the first post's time and the rejection counters survive the row.
#[test]
fn the_documented_additions_round_trip() {
    let (_tmp, store) = temp_store();
    let t = onboarding_t("T1/U1", ("pending", "sending"), "dm_opened", 5);
    let mut snap = ledger_snap("sending", 1, Some("D1"), None);
    snap.data["generation"] = json!(2);
    snap.data["sending_since_unix_ms"] = json!(1_767_225_600_005u64);
    snap.data["rejections"] = json!(1);
    snap.data["rejected_since_unix_ms"] = json!(1_767_225_600_001u64);
    store.record_onboarding(&t, &snap).unwrap();
    let back = store.load_ledger("T1/U1").unwrap().unwrap().snapshot();
    for key in [
        "generation",
        "sending_since_unix_ms",
        "rejections",
        "rejected_since_unix_ms",
    ] {
        assert_eq!(back.data[key], snap.data[key], "{key}");
    }
}

/// A row that cannot be read (here its retry time is mangled) is an error, never "absent":
/// absent would post the intro again.
#[test]
fn an_unreadable_row_is_an_error_never_absent() {
    let (tmp, store) = temp_store();
    let t = onboarding_t("T1/U1", ("sending", "backoff"), "post_rate_limited", 5);
    let mut snap = ledger_snap("backoff", 1, Some("D1"), None);
    snap.data["retry_at_unix_ms"] = json!(1_800_000_000_000u64);
    store.record_onboarding(&t, &snap).unwrap();
    drop(store);
    let dir = tmp.path().join("data");
    let raw = Raw::open(&dir);
    raw.put("ledger_retry", b"T1/U1", &[1, 2, 3]);
    raw.close();
    let store = reopen(StoreConfig::new(&dir));
    let err = store.load_ledger("T1/U1").unwrap_err();
    assert!(
        matches!(err.kind(), StoreErrorKind::Corrupt { .. }),
        "{err}"
    );
    raw_row_is_an_error(&store);
}

fn raw_row_is_an_error(store: &phantom_fsm::store::Store) {
    let rows = store.ledger_rows().unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].row.is_err());
}
