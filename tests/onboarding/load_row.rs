//! The machine reads its ledger row before it acts (`LoadRow` / `RowLoaded`): after
//! `auth.test` names the team, nothing opens the DM or posts until the row (or its proven
//! absence) is handed in, and a stored row is adopted, never overwritten by a fresh start.

use super::common::*;
use phantom_fsm::engine::{FAKE_EPOCH_UNIX_MS, Output};
use phantom_fsm::onboarding::{
    Command, Input, OpenDmOutcome, PostOutcome, RowState, StoredRow, Timer,
};

fn stored(state: RowState) -> StoredRow {
    StoredRow {
        state,
        attempts: 1,
        last_error: None,
        channel: Some(CHANNEL.into()),
        ts: (state == RowState::Complete).then(|| TS.to_string()),
        generation: 2,
        sending_since_unix_ms: Some(FAKE_EPOCH_UNIX_MS + 500),
        rejections: 0,
        rejected_since_unix_ms: None,
        retry_at_unix_ms: None,
    }
}

fn row_loaded(row: StoredRow) -> Input {
    Input::RowLoaded { row: Some(row) }
}

fn opens_or_posts(out: &[Out]) -> bool {
    out.iter().any(|o| {
        matches!(
            o,
            Output::Command(Command::OpenDm { .. } | Command::PostIntro { .. })
        )
    })
}

#[test]
fn nothing_opens_or_posts_between_auth_ok_and_the_row() {
    let mut r = loading();
    // Every way the old shell-side lookup could be bypassed: answers to calls never made
    // (the DM the next call would open, a post), a reconnect, deadlines, a restart signal
    // and operator input.
    let attempts: Vec<Input> = vec![
        dm(
            2,
            OpenDmOutcome::Opened {
                channel: CHANNEL.into(),
            },
        ),
        post(2, PostOutcome::Sent { ts: TS.into() }),
        post(3, PostOutcome::Sent { ts: TS.into() }),
        Input::ChannelReady,
        Input::Timeout,
        Input::Reset,
        Input::MarkComplete {
            channel: CHANNEL.into(),
            ts: TS.into(),
        },
    ];
    for input in attempts {
        let name = phantom_fsm::engine::InputName::name(&input);
        let out = r.feed(input);
        assert!(!opens_or_posts(&out), "{name}: {out:?}");
        assert!(
            out.iter().all(|o| !matches!(o, Output::Transition(_))),
            "{name}: {out:?}"
        );
        assert_eq!(r.m.state_name(), "pending");
        r.advance(600_000);
    }
    assert_eq!(r.m.poll_timeout(), None, "no deadline moves it on either");
    assert_eq!(r.m.attempts(), 0);
    // Only the row's answer does.
    assert_eq!(r.feed(Input::RowLoaded { row: None }), vec![open_cmd(2)]);
    // And only once: a second answer is stale.
    assert_eq!(
        r.feed(Input::RowLoaded { row: None }),
        vec![Run::ignored("pending", "row_absent")]
    );
}

#[test]
fn a_complete_row_stays_complete_without_a_dm() {
    let mut r = loading();
    let out = r.feed(row_loaded(stored(RowState::Complete)));
    assert_eq!(out, vec![r.tr("pending", "complete", "row_loaded")]);
    assert_eq!((r.m.channel(), r.m.ts()), (Some(CHANNEL), Some(TS)));
    assert_eq!(r.m.generation(), 2, "the stored generation is adopted");
    assert_eq!(r.m.poll_timeout(), None);
    assert_eq!(
        r.feed(Input::ChannelReady),
        vec![Run::ignored("complete", "channel_ready")]
    );
}

#[test]
fn a_failed_row_stays_failed() {
    let mut r = loading();
    let mut row = stored(RowState::Failed);
    row.last_error = Some("cannot_dm_bot".into());
    let out = r.feed(row_loaded(row));
    assert_eq!(out, vec![r.tr("pending", "failed", "row_loaded")]);
    assert_eq!(r.m.last_error(), Some("cannot_dm_bot"));
    assert_eq!(r.m.poll_timeout(), None);
}

#[test]
fn a_sending_or_reconciling_row_reconciles_before_any_post() {
    for state in [RowState::Sending, RowState::Reconciling] {
        let mut r = loading();
        let out = r.feed(row_loaded(stored(state)));
        assert_eq!(out, vec![r.tr("pending", "reconciling", "row_loaded")]);
        assert_eq!(
            r.m.next_timer().map(|(t, _)| t),
            Some(Timer::RetryReconcile)
        );
        assert_eq!(r.wait_ms(), 15_000, "the settle time first");
        let out = r.fire();
        assert_eq!(posts(&out), 0);
        assert!(
            matches!(
                out.as_slice(),
                [Output::Command(Command::LookupHistory { channel, marker, .. })]
                    if channel == CHANNEL && marker.event_payload.generation == 2
            ),
            "{out:?}"
        );
    }
}

#[test]
fn a_backoff_row_waits_for_its_stored_retry_time() {
    let mut r = loading();
    let mut row = stored(RowState::Backoff);
    // Due 40 s from now (fake time 1 s).
    row.retry_at_unix_ms = Some(FAKE_EPOCH_UNIX_MS + 41_000);
    let out = r.feed(row_loaded(row));
    let delay = retry_delay(&out);
    assert_eq!(
        out,
        vec![retry(delay), r.tr("pending", "backoff", "row_loaded")]
    );
    assert!(delay >= 40_000, "not before the stored retry time: {delay}");
    assert_eq!(r.m.next_timer().map(|(t, _)| t), Some(Timer::RetrySend));
    let out = r.fire();
    assert_eq!(posts(&out), 1, "the retry posts to the stored channel");
}

#[test]
fn a_pending_row_is_adopted_and_opens_the_dm() {
    let mut r = loading();
    let mut row = stored(RowState::Pending);
    row.attempts = 0;
    row.rejections = 3;
    assert_eq!(r.feed(row_loaded(row)), vec![open_cmd(2)]);
    assert_eq!(r.m.generation(), 2);
}
