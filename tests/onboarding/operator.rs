//! Operator inputs: reset and mark-complete.

use super::common::*;
use phantom_fsm::engine::Machine;
use phantom_fsm::onboarding::{Input, PostOutcome};

fn mark() -> Input {
    Input::MarkComplete {
        channel: "D0HAND".into(),
        ts: "1767000000.000001".into(),
    }
}

#[test]
fn mark_complete_stamps_from_every_unfinished_state() {
    for mut r in [
        Run::known_team(),
        Run::to_sending(),
        Run::to_backoff(5_000),
        Run::to_reconciling(),
        Run::to_failed(),
    ] {
        let from = r.m.state_name();
        assert_eq!(
            r.feed(mark()),
            vec![r.tr(from, "complete", "mark_complete")]
        );
        assert_eq!(r.m.channel(), Some("D0HAND"));
        assert_eq!(r.m.ts(), Some("1767000000.000001"));
        assert_eq!(r.m.poll_timeout(), None, "{from}: its retry is cancelled");
    }
}

#[test]
fn mark_complete_when_complete_keeps_the_stamp() {
    let mut r = Run::to_complete();
    assert_eq!(
        r.feed(mark()),
        vec![Run::ignored("complete", "mark_complete")]
    );
    assert_eq!(r.m.ts(), Some(TS));
}

#[test]
fn reset_clears_the_stamp_and_starts_over_when_the_channel_is_ready() {
    let mut r = Run::to_complete();
    assert_eq!(
        r.feed(Input::Reset),
        vec![r.tr("complete", "pending", "reset"), open_cmd(3)]
    );
    let mut fresh = row("pending", 0, None, None, None);
    fresh.data["generation"] = serde_json::json!(1);
    assert_eq!(r.m.snapshot(), fresh, "the generation is bumped");
    assert_eq!(r.m.health(), "pending");
}

/// After a reset the fresh intro carries the next generation, and its reconciliation never
/// takes the old intro (still in the DM channel) for it: that used to stamp the old `ts`.
#[test]
fn after_a_reset_reconciliation_matches_only_the_new_generation() {
    use phantom_fsm::onboarding::{
        CallResult, Command, IntroMetadata, OpenDmOutcome, classify_history,
    };
    let mut r = Run::to_complete();
    r.feed(Input::Reset);
    let out = r.feed(dm(
        3,
        OpenDmOutcome::Opened {
            channel: CHANNEL.into(),
        },
    ));
    let fresh = IntroMetadata::of_generation(USER, TEAM, 1);
    assert!(
        out.iter().any(
            |o| matches!(o, Out::Command(Command::PostIntro { metadata, .. }) if *metadata == fresh)
        ),
        "{out:?}"
    );
    r.feed(post(4, ambiguous("no_response")));
    let lookup = r.fire();
    let Some(Out::Command(Command::LookupHistory { marker, .. })) = lookup.first() else {
        panic!("{lookup:?}")
    };
    assert_eq!(*marker, fresh);
    let old = serde_json::json!({"ok": true, "has_more": false, "messages": [
        {"ts": TS, "metadata": IntroMetadata::new(USER, TEAM).to_json()}]})
    .to_string();
    let outcome = classify_history(
        &CallResult::Response {
            status: 200,
            retry_after: None,
            body: &old,
        },
        marker,
    );
    assert_eq!(outcome, phantom_fsm::onboarding::HistoryOutcome::NotFound);
}

#[test]
fn reset_of_a_restored_row_waits_for_the_channel() {
    let mut r = Run::to_failed();
    r.restart();
    assert_eq!(
        r.feed(Input::Reset),
        vec![r.tr("failed", "pending", "reset")]
    );
    assert_eq!(r.feed(Input::ChannelReady), vec![open_cmd(1)]);
}

#[test]
fn reset_in_pending_has_nothing_to_do() {
    let mut r = Run::known_team();
    assert_eq!(r.feed(Input::Reset), vec![Run::ignored("pending", "reset")]);
}

#[test]
fn reset_while_a_post_is_out_ignores_its_late_answer() {
    let mut r = Run::to_sending();
    assert_eq!(
        r.feed(Input::Reset),
        vec![r.tr("sending", "pending", "reset"), open_cmd(3)]
    );
    assert_eq!(
        r.feed(post(2, PostOutcome::Sent { ts: TS.into() })),
        vec![Run::ignored("pending", "post_sent")]
    );
    assert_eq!(r.m.state_name(), "pending");
}

#[test]
fn an_operator_input_due_with_a_retry_wins_over_the_retry() {
    let mut r = Run::to_backoff(5_000);
    let deadline = r.m.poll_timeout().unwrap();
    r.now = r.now.advanced_to(deadline);
    assert_eq!(
        r.feed(mark()),
        vec![r.tr("backoff", "complete", "mark_complete")]
    );
    assert_eq!(posts(&r.feed(Input::Timeout)), 0);
}
