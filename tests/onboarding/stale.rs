//! Answers to calls that are not out (late, duplicated, or for a call that was given up) are
//! ignored: acting on one would stamp a `ts` from the wrong scan or open a DM nobody asked for.

use super::common::*;
use phantom_fsm::engine::Output;
use phantom_fsm::onboarding::{CallId, Command, HistoryOutcome, OpenDmOutcome};

fn found() -> HistoryOutcome {
    HistoryOutcome::Found { ts: TS.into() }
}

fn lookup_call(out: &[Out]) -> CallId {
    out.iter()
        .find_map(|o| match o {
            Output::Command(Command::LookupHistory { call, .. }) => Some(*call),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a history lookup: {out:?}"))
}

#[test]
fn in_reconciling_only_the_lookup_out_is_answered() {
    let mut r = Run::to_reconciling();
    // Settling: no lookup is out, so no history answer counts, not even a `Found`.
    assert_eq!(
        r.feed(history(3, found())),
        vec![Run::ignored("reconciling", "history_found")]
    );
    assert_eq!(
        r.feed(dm(
            3,
            OpenDmOutcome::Opened {
                channel: CHANNEL.into()
            }
        )),
        vec![Run::ignored("reconciling", "dm_opened")]
    );
    assert_eq!(r.m.ts(), None);
    let call = lookup_call(&r.fire());
    // An answer with another call id (the post's) is stale.
    assert_eq!(
        r.feed(history(2, found())),
        vec![Run::ignored("reconciling", "history_found")]
    );
    assert_eq!((r.m.state_name(), r.m.ts()), ("reconciling", None));
    // The lookup's own answer is acted on.
    let out = r.feed(history(call.0, found()));
    assert_eq!(r.m.state_name(), "complete", "{out:?}");
    assert_eq!(r.m.ts(), Some(TS));
}
