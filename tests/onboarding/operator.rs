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
    assert_eq!(r.m.snapshot(), row("pending", 0, None, None, None));
    assert_eq!(r.m.health(), "pending");
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
