//! Snapshot and restore: `Resumed` in every state, no repeated side effect, and the ledger
//! row's shape accepted and rejected exactly.

use super::common::*;
use phantom_fsm::engine::{Machine, Now, RestoreError, Snapshot};
use phantom_fsm::onboarding::{
    HistoryOutcome, Input, Onboarding, OnboardingConfig, OpenDmOutcome, STATE_NAMES,
};
use serde_json::json;

fn restored(snapshot: &Snapshot) -> Run {
    let m = Onboarding::restore(OnboardingConfig::default(), INSTANCE, snapshot).unwrap();
    Run::with(m)
}

#[test]
fn every_state_round_trips_through_its_snapshot() {
    for mut r in [
        Run::known_team(),
        Run::to_sending(),
        Run::to_backoff(5_000),
        Run::to_reconciling(),
        Run::to_complete(),
        Run::to_failed(),
    ] {
        let snapshot = r.m.snapshot();
        r.restart();
        let again = Onboarding::restore(OnboardingConfig::default(), INSTANCE, &snapshot).unwrap();
        assert_eq!(again.snapshot(), snapshot);
        assert_eq!(again.state_name(), snapshot.state);
    }
}

#[test]
fn resumed_in_pending_starts_again_once_the_channel_is_ready() {
    let mut r = restored(&row("pending", 0, None, None, None));
    assert_eq!(r.feed(Input::Resumed), vec![]);
    assert_eq!(r.feed(Input::ChannelReady), vec![open_cmd(1)]);
}

#[test]
fn resumed_in_sending_reconciles_instead_of_posting() {
    let mut r = Run::to_sending();
    let out = r.restart();
    assert_eq!(out, vec![r.tr("sending", "reconciling", "restarted")]);
    assert_eq!(r.m.attempts(), 1);
    assert_eq!(r.fire(), vec![lookup_page(1, Some(1_000), None)]);
    // A second crash while reconciling: still no post, a fresh lookup after the settle time.
    assert_eq!(r.restart(), vec![]);
    assert_eq!(r.fire(), vec![lookup_page(1, Some(1_000), None)]);
    let out = r.feed(history(1, HistoryOutcome::Found { ts: TS.into() }));
    assert_eq!(out, vec![r.tr("reconciling", "complete", "history_found")]);
    assert_eq!(r.m.attempts(), 1);
}

#[test]
fn resumed_in_backoff_retries_soon_but_not_before_the_stored_retry_time() {
    let mut r = Run::to_backoff(60_000);
    assert!(r.m.snapshot().data["retry_at_unix_ms"].is_u64());
    r.advance(10_000);
    let out = r.restart();
    let delay = retry_delay(&out);
    assert_eq!(out, vec![retry(delay)]);
    assert!(delay >= 50_000, "the rest of Retry-After: {delay}");
    let out = r.fire();
    assert_eq!(
        out,
        vec![r.tr("backoff", "sending", "retry_send"), post_cmd(1)]
    );
}

#[test]
fn resumed_in_backoff_without_a_stored_retry_time_retries_within_the_base() {
    let mut r = restored(&row("backoff", 1, Some("ratelimited"), Some(CHANNEL), None));
    let out = r.feed(Input::Resumed);
    assert!((1..=2_000).contains(&retry_delay(&out)));
}

#[test]
fn resumed_in_reconciling_looks_up_after_the_settle_time() {
    let mut r = restored(&row(
        "reconciling",
        1,
        Some("no_response"),
        Some(CHANNEL),
        None,
    ));
    assert_eq!(r.feed(Input::Resumed), vec![]);
    assert_eq!(r.wait_ms(), 15_000);
    assert_eq!(r.fire(), vec![lookup_cmd(1)]);
}

#[test]
fn reconciling_without_a_channel_reopens_it_before_looking() {
    let mut r = restored(&row("reconciling", 1, None, None, None));
    r.feed(Input::Resumed);
    assert_eq!(r.fire(), vec![open_cmd(1)]);
    let out = r.feed(dm(
        1,
        OpenDmOutcome::Opened {
            channel: CHANNEL.into(),
        },
    ));
    assert_eq!(out, vec![lookup_cmd(2)]);
}

#[test]
fn resumed_in_complete_and_failed_does_nothing() {
    for mut r in [Run::to_complete(), Run::to_failed()] {
        let state = r.m.state_name();
        assert_eq!(r.restart(), vec![]);
        assert_eq!(r.m.poll_timeout(), None);
        assert_eq!(
            r.feed(Input::ChannelReady),
            vec![Run::ignored(state, "channel_ready")]
        );
    }
}

#[test]
fn no_restore_repeats_a_post() {
    for mut r in [
        Run::known_team(),
        Run::to_sending(),
        Run::to_reconciling(),
        Run::to_complete(),
        Run::to_failed(),
    ] {
        let out = r.restart();
        assert_eq!(posts(&out), 0, "{}", r.m.state_name());
        if r.m.poll_timeout().is_some() {
            assert_eq!(posts(&r.fire()), 0);
        }
    }
}

#[test]
fn restore_accepts_exactly_the_ledger_row_keys_for_every_leaf() {
    for state in STATE_NAMES {
        let snapshot = row(state, 3, Some("http_503"), Some(CHANNEL), Some(TS));
        let m = Onboarding::restore(OnboardingConfig::default(), INSTANCE, &snapshot).unwrap();
        assert_eq!(m.state_name(), state);
        assert_eq!(
            (m.attempts(), m.last_error(), m.channel(), m.ts()),
            (3, Some("http_503"), Some(CHANNEL), Some(TS))
        );
    }
}

#[test]
fn restore_defaults_missing_keys_and_ignores_unknown_ones() {
    let snapshot = Snapshot {
        state: "complete".into(),
        data: json!({"ts": TS, "created_unix_ms": 1, "updated_unix_ms": 2}),
    };
    let m = Onboarding::restore(OnboardingConfig::default(), INSTANCE, &snapshot).unwrap();
    assert_eq!((m.attempts(), m.channel(), m.ts()), (0, None, Some(TS)));
    let null = Snapshot {
        state: "pending".into(),
        data: serde_json::Value::Null,
    };
    assert!(Onboarding::restore(OnboardingConfig::default(), INSTANCE, &null).is_ok());
}

#[test]
fn restore_rejects_what_the_machine_never_writes() {
    let config = OnboardingConfig::default;
    let unknown = row("connected", 0, None, None, None);
    assert_eq!(
        Onboarding::restore(config(), INSTANCE, &unknown).unwrap_err(),
        RestoreError::UnknownState {
            machine: "onboarding",
            state: "connected".into()
        }
    );
    let mistyped = Snapshot {
        state: "sending".into(),
        data: json!({"attempts": "two"}),
    };
    assert!(matches!(
        Onboarding::restore(config(), INSTANCE, &mistyped),
        Err(RestoreError::BadData { .. })
    ));
    for instance in ["U0INSTALLER", "/U0INSTALLER", "T0TEAM/", "T/U/V"] {
        assert!(
            Onboarding::restore(config(), instance, &row("pending", 0, None, None, None)).is_err(),
            "{instance}"
        );
    }
    for state in ["sending", "backoff", "reconciling"] {
        let snapshot = row(state, 1, None, Some(CHANNEL), None);
        assert!(
            Onboarding::restore(config(), "-/U0INSTALLER", &snapshot).is_err(),
            "{state} without a team"
        );
    }
    for state in ["pending", "complete", "failed"] {
        let snapshot = row(state, 0, None, None, None);
        let m = Onboarding::restore(config(), "-/U0INSTALLER", &snapshot).unwrap();
        assert_eq!(m.team_id(), None);
    }
}

#[test]
fn resume_restores_and_delivers_resumed() {
    let m = Onboarding::resume(
        OnboardingConfig::default(),
        INSTANCE,
        &row("sending", 1, None, Some(CHANNEL), None),
        Now::fake(5),
    )
    .unwrap();
    assert_eq!(m.state_name(), "reconciling");
}
