//! The `journal` and `ledger` commands, run as the real binary.

use crate::common::*;
use phantom_fsm::store::{Store, StoreConfig};
use std::path::Path;
use std::process::Output;

fn phantom(args: &[&str], dir: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_phantom-fsm"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// A store with two socket rows and one onboarding row, fake times 0, 1000 and 2500 ms.
fn sample_store(dir: &Path) -> Store {
    let store = Store::open(StoreConfig::new(dir)).unwrap();
    let t = socket_t("disconnected", "connecting", "start", 0);
    store.record_socket_batch(&[(t, snap("connecting"))]).unwrap();
    let t = socket_t("connecting", "authenticated", "open_ok", 1_000);
    store.record_socket_batch(&[(t, snap("authenticated"))]).unwrap();
    let t = onboarding_t("T1/U1", ("pending", "sending"), "channel_opened", 2_500);
    store.record_onboarding(&t, &ledger_snap("sending", 1, Some("D1"), None)).unwrap();
    store
}

#[test]
fn journal_prints_one_line_per_row_oldest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    drop(sample_store(&dir));
    let out = phantom(&["journal"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "2026-01-01T00:00:00.000Z socket_mode default disconnected -> connecting start\n\
         2026-01-01T00:00:01.000Z socket_mode default connecting -> authenticated open_ok\n\
         2026-01-01T00:00:02.500Z onboarding T1/U1 pending -> sending channel_opened\n"
    );
    let out = phantom(&["journal", "--tail", "1", "--machine", "socket"], &dir);
    assert_eq!(
        stdout(&out),
        "2026-01-01T00:00:01.000Z socket_mode default connecting -> authenticated open_ok\n"
    );
    let out = phantom(&["journal", "--machine", "onboarding"], &dir);
    assert_eq!(stdout(&out).lines().count(), 1);
    let out = phantom(&["journal", "--machine", "bogus"], &dir);
    assert!(!out.status.success());
}

#[test]
fn journal_and_ledger_show_work_beside_the_running_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let _running = sample_store(&dir);
    let out = phantom(&["journal", "--tail", "5"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 3);
    let out = phantom(&["ledger", "show"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "T1/U1 sending attempts=1 channel=D1 ts=- last_error=- \
         created=2026-01-01T00:00:02.500Z updated=2026-01-01T00:00:02.500Z\n"
    );
}

#[test]
fn a_missing_or_foreign_dir_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    for args in [&["journal"][..], &["ledger", "show"], &["ledger", "reset"]] {
        let out = phantom(args, &missing);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains("does not exist"), "{args:?}: {}", stderr(&out));
        assert!(!missing.exists(), "{args:?} created the dir");
    }
    let out = phantom(&["journal"], tmp.path());
    assert!(stderr(&out).contains("holds no phantom-fsm store"), "{}", stderr(&out));
}

#[test]
fn ledger_show_selects_by_installer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    drop(sample_store(&dir));
    for installer in ["U1", "T1/U1"] {
        let out = phantom(&["ledger", "show", "--installer", installer], &dir);
        assert!(stdout(&out).starts_with("T1/U1 sending "), "{installer}: {}", stderr(&out));
    }
    let out = phantom(&["ledger", "show", "--installer", "U2"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no ledger row for installer U2"), "{}", stderr(&out));
}

#[test]
fn ledger_changes_are_refused_while_another_process_holds_the_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let _running = sample_store(&dir);
    let pid = std::process::id();
    for args in [
        &["ledger", "reset", "--installer", "U1"][..],
        &["ledger", "mark-complete", "--installer", "U1", "--channel", "D1", "--ts", "1.2"],
    ] {
        let out = phantom(args, &dir);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(&format!("is held by another process (pid {pid}); stop it first")), "{err}");
    }
}

#[test]
fn mark_complete_needs_a_channel_and_a_ts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = phantom(&["ledger", "mark-complete", "--installer", "U1", "--ts", "1.2"], tmp.path());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--channel"), "{}", stderr(&out));
}
