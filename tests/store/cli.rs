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
    store
        .record_socket_batch(&[(t, snap("connecting"))])
        .unwrap();
    let t = socket_t("connecting", "authenticated", "open_ok", 1_000);
    store
        .record_socket_batch(&[(t, snap("authenticated"))])
        .unwrap();
    let t = onboarding_t("T1/U1", ("pending", "sending"), "channel_opened", 2_500);
    store
        .record_onboarding(&t, &ledger_snap("sending", 1, Some("D1"), None))
        .unwrap();
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
        assert!(
            stderr(&out).contains("does not exist"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!missing.exists(), "{args:?} created the dir");
    }
    let out = phantom(&["journal"], tmp.path());
    assert!(
        stderr(&out).contains("holds no phantom-fsm store"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn ledger_show_selects_by_installer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    drop(sample_store(&dir));
    for installer in ["U1", "T1/U1"] {
        let out = phantom(&["ledger", "show", "--installer", installer], &dir);
        assert!(
            stdout(&out).starts_with("T1/U1 sending "),
            "{installer}: {}",
            stderr(&out)
        );
    }
    let out = phantom(&["ledger", "show", "--installer", "U2"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no ledger row for installer U2"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn ledger_changes_are_refused_while_another_process_holds_the_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let _running = sample_store(&dir);
    let pid = std::process::id();
    for args in [
        &["ledger", "reset", "--installer", "U1"][..],
        &[
            "ledger",
            "mark-complete",
            "--installer",
            "U1",
            "--channel",
            "D1",
            "--ts",
            "1.2",
        ],
    ] {
        let out = phantom(args, &dir);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "is held by another process (pid {pid}); stop it first"
            )),
            "{err}"
        );
    }
}

#[test]
fn mark_complete_needs_a_channel_and_a_ts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = phantom(
        &[
            "ledger",
            "mark-complete",
            "--installer",
            "U1",
            "--ts",
            "1.2",
        ],
        tmp.path(),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--channel"), "{}", stderr(&out));
}

/// Drive a real onboarding machine for `T/U` to `failed` (the DM cannot be opened) and store
/// its rows.
fn failed_row(store: &Store, team: &str, user: &str) {
    use phantom_fsm::engine::{Machine, Now, Output};
    use phantom_fsm::onboarding::{Command, Input, Onboarding, OnboardingConfig, OpenDmOutcome};
    let mut m = Onboarding::new(team, user, OnboardingConfig::default());
    m.handle(Now::fake(0), Input::ChannelReady);
    let call = match m.drain().as_slice() {
        [Output::Command(Command::OpenDm { call, .. })] => *call,
        other => panic!("expected OpenDm, got {other:?}"),
    };
    let outcome = OpenDmOutcome::Permanent {
        code: "cannot_dm_bot".into(),
    };
    m.handle(Now::fake(1_000), Input::DmOpened { call, outcome });
    let outputs = m.drain();
    assert!(store.observe(&outputs, &m.snapshot()).unwrap().is_some());
    assert_eq!(m.state_name(), "failed");
}

fn is_edge(machine: &str, from: &str, event: &str, to: &str) -> bool {
    phantom_fsm::registry::diagram(machine)
        .unwrap()
        .has_edge(from, event, to)
}

#[test]
fn reset_and_mark_complete_go_through_the_machine_and_are_journaled() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let store = Store::open(StoreConfig::new(&dir)).unwrap();
    failed_row(&store, "T1", "U1");
    drop(store);

    let out = phantom(&["ledger", "reset", "--installer", "U1"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).ends_with(" onboarding T1/U1 failed -> pending reset\n"),
        "{}",
        stdout(&out)
    );
    let out = phantom(&["ledger", "reset", "--installer", "U1"], &dir);
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("T1/U1 is pending: nothing to change"),
        "{}",
        stderr(&out)
    );

    let args = [
        "ledger",
        "mark-complete",
        "--installer",
        "T1/U1",
        "--channel",
        "D9",
        "--ts",
        "9.000100",
    ];
    let out = phantom(&args, &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).ends_with(" onboarding T1/U1 pending -> complete mark_complete\n"),
        "{}",
        stdout(&out)
    );

    let store = Store::open_read_only(&dir).unwrap();
    let row = store.load_ledger("T1/U1").unwrap().unwrap();
    assert_eq!(
        (
            row.state.as_str(),
            row.channel.as_deref(),
            row.ts.as_deref()
        ),
        ("complete", Some("D9"), Some("9.000100"))
    );
    let events: Vec<String> = all_rows(&store).into_iter().map(|r| r.event).collect();
    assert_eq!(events, ["dm_permanent", "reset", "mark_complete"]);
    check_invariants(&store, &is_edge).unwrap();
}

#[test]
fn an_ambiguous_installer_is_refused_with_the_candidates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let store = Store::open(StoreConfig::new(&dir)).unwrap();
    failed_row(&store, "T1", "U1");
    failed_row(&store, "T2", "U1");
    drop(store);
    let out = phantom(&["ledger", "reset"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("2 ledger rows match; choose one with --installer T/U: T1/U1, T2/U1"),
        "{}",
        stderr(&out)
    );
    let out = phantom(&["ledger", "reset", "--installer", "U1"], &dir);
    assert!(
        stderr(&out).contains("2 ledger rows match"),
        "{}",
        stderr(&out)
    );
    let out = phantom(&["ledger", "reset", "--installer", "T2/U1"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = phantom(&["ledger", "show"], &dir);
    let text = stdout(&out);
    let states: Vec<&str> = text.lines().map(|l| l.split(' ').nth(1).unwrap()).collect();
    assert_eq!(states, ["failed", "pending"]);
}

#[test]
fn an_operator_write_never_prunes_the_services_journal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    // The service runs with a bound above the default 100,000 rows.
    let config = StoreConfig {
        journal_max_rows: 200_000,
        ..StoreConfig::new(&dir)
    };
    let store = Store::open(config).unwrap();
    let states = ["connecting", "reconnecting"];
    let rows: Vec<_> = (0..100_000u64)
        .map(|i| {
            let from = if i == 0 {
                "disconnected"
            } else {
                states[(i as usize + 1) % 2]
            };
            let to = states[i as usize % 2];
            (socket_t(from, to, "step", i), snap(to))
        })
        .collect();
    store.record_socket_batch(&rows).unwrap();
    failed_row(&store, "T1", "U1");
    drop(store);
    let out = phantom(&["ledger", "reset", "--installer", "U1"], &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let store = Store::open_read_only(&dir).unwrap();
    assert_eq!(store.journal_bounds().unwrap(), Some((1, 100_002)));
}
