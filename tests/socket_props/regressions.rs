//! Scripted step sequences, replayed through the same driver and checks as the properties:
//! one per defect the properties found in the machine (each failed before its fix), and the
//! rare paths random sequences seldom take.

use super::model::{Model, Timings};
use super::step::{Answer, Env, Kind, LinkIn, Reason, Step};

fn link(tag: u32, input: LinkIn) -> Step {
    Step::Link { tag, input }
}

fn answer(call: u32, answer: Answer) -> Step {
    Step::Answer { call, answer }
}

fn envelope(tag: u32, id: u8, event_id: u8) -> Step {
    let env = Env {
        id,
        kind: Kind::EventsApi,
        event_id: Some(event_id),
    };
    link(tag, LinkIn::Envelope(env))
}

/// Start, get a URL, receive `hello` on link 1: `connected` at t = 0 with call 1 answered.
fn connected() -> Vec<Step> {
    vec![
        Step::Start,
        answer(1, Answer::Url),
        link(1, LinkIn::Opened),
        link(1, LinkIn::Hello),
    ]
}

fn then(mut steps: Vec<Step>, more: impl IntoIterator<Item = Step>) -> Vec<Step> {
    steps.extend(more);
    steps
}

/// Every scripted sequence, by name.
pub(crate) fn all() -> Vec<(&'static str, Vec<Step>)> {
    vec![
        // The active link's end was not counted (no `LinkEnded`, so the backoff never reset
        // after a long-lived link) and its ping timer stayed armed, when it was lost.
        (
            "active link lost to the pong deadline",
            then(connected(), [Step::NextDeadline, Step::NextDeadline]),
        ),
        (
            "active link closed by the peer",
            then(
                connected(),
                [
                    Step::Advance {
                        ms: 61_000,
                        deliver: false,
                    },
                    link(1, LinkIn::Closed),
                ],
            ),
        ),
        // `too_many_websockets` while the standby's call was out left the call in flight:
        // its answer was ignored in `reconnecting`, and the backoff then entered `connecting`
        // without calling again, for ever.
        (
            "too_many_websockets while the standby's call is out",
            then(
                connected(),
                [
                    link(1, LinkIn::Disconnect(Reason::Warning)),
                    link(1, LinkIn::Disconnect(Reason::TooManyWebsockets)),
                    answer(2, Answer::Url),
                    Step::NextDeadline,
                    answer(3, Answer::Url),
                    link(2, LinkIn::Hello),
                ],
            ),
        ),
        // ... and a standby retry armed before it fired later on the next link, opening a
        // standby nobody asked for.
        (
            "too_many_websockets while a standby retry waits",
            then(
                connected(),
                [
                    link(1, LinkIn::Disconnect(Reason::RefreshRequested)),
                    answer(2, Answer::RateLimited(Some(30_000))),
                    link(1, LinkIn::Disconnect(Reason::TooManyWebsockets)),
                    Step::NextDeadline,
                    answer(3, Answer::Url),
                    link(2, LinkIn::Hello),
                    Step::Advance {
                        ms: 31_000,
                        deliver: true,
                    },
                ],
            ),
        ),
        // A standby link that failed before its `hello` left its hello deadline armed, which
        // later counted a second standby failure.
        (
            "standby link fails before hello",
            then(
                connected(),
                [
                    link(1, LinkIn::Disconnect(Reason::Warning)),
                    answer(2, Answer::Url),
                    link(2, LinkIn::Error),
                    Step::NextDeadline,
                    Step::NextDeadline,
                ],
            ),
        ),
        // The derived diagram lacked this edge: exploration never let the pong deadline
        // expire before a standby's hello deadline.
        (
            "pong deadline while the standby opens",
            then(
                connected(),
                [
                    link(1, LinkIn::Disconnect(Reason::Warning)),
                    Step::Advance {
                        ms: 1_000,
                        deliver: false,
                    },
                    answer(2, Answer::Url),
                    Step::NextDeadline,
                    Step::NextDeadline,
                    link(2, LinkIn::Hello),
                ],
            ),
        ),
        // A restart forgot the dedupe window: `restore` could not load `seen_events`.
        (
            "restart keeps the dedupe window",
            then(
                connected(),
                [
                    envelope(1, 0, 0),
                    Step::Restart,
                    Step::Start,
                    answer(2, Answer::Url),
                    link(2, LinkIn::Hello),
                    envelope(2, 1, 0),
                    Step::Advance {
                        ms: 3_600_000,
                        deliver: false,
                    },
                    envelope(2, 2, 0),
                ],
            ),
        ),
        // Rare: `stop` in `reconnecting` while a link still closes.
        (
            "stop while reconnecting with a closing link",
            vec![
                Step::Start,
                answer(1, Answer::Url),
                link(1, LinkIn::Opened),
                Step::NextDeadline,
                answer(2, Answer::RateLimited(Some(5_000))),
                Step::Stop,
                Step::NextDeadline,
            ],
        ),
        // Rare: the handover itself, then a second warning during the drain.
        (
            "handover, drain, deferred standby",
            then(
                connected(),
                [
                    link(1, LinkIn::Disconnect(Reason::Warning)),
                    answer(2, Answer::Url),
                    link(2, LinkIn::Opened),
                    link(2, LinkIn::Hello),
                    envelope(1, 0, 0),
                    link(2, LinkIn::Disconnect(Reason::Warning)),
                    Step::NextDeadline,
                    envelope(1, 1, 1),
                    answer(3, Answer::Url),
                    link(3, LinkIn::Hello),
                    Step::NextDeadline,
                    Step::NextDeadline,
                ],
            ),
        ),
        // Issue 11: a quick stop/start; the start is kept until the link is gone (here by a
        // read error, the rare way).
        (
            "start while disconnecting, the link fails",
            then(
                connected(),
                [Step::Stop, Step::Start, link(1, LinkIn::Error)],
            ),
        ),
        // Issue 11: the new link dies while the old one drains; the old one takes over.
        (
            "new link dies during the drain",
            then(
                connected(),
                [
                    link(1, LinkIn::Disconnect(Reason::Warning)),
                    answer(2, Answer::Url),
                    link(2, LinkIn::Hello),
                    link(2, LinkIn::Disconnect(Reason::TooManyWebsockets)),
                    envelope(1, 3, 3),
                    Step::NextDeadline,
                    Step::NextDeadline,
                ],
            ),
        ),
        // Issue 11: stop during a handover closes both links, each with its grace; an
        // envelope read on one of them is still dispatched.
        (
            "stop during the handover",
            then(
                connected(),
                [
                    link(1, LinkIn::Disconnect(Reason::Warning)),
                    answer(2, Answer::Url),
                    link(2, LinkIn::Opened),
                    Step::Stop,
                    envelope(2, 4, 4),
                    Step::NextDeadline,
                ],
            ),
        ),
        // Issue 11: the standby's call never answers.
        (
            "open deadline of a standby call",
            then(
                connected(),
                [
                    link(1, LinkIn::Disconnect(Reason::Warning)),
                    Step::Advance {
                        ms: 4_000,
                        deliver: true,
                    },
                    link(1, LinkIn::Pong),
                    Step::Advance {
                        ms: 11_000,
                        deliver: true,
                    },
                ],
            ),
        ),
    ]
}

/// The model after each scripted sequence (for the coverage check).
pub(crate) fn models() -> Vec<Vec<Model>> {
    all()
        .into_iter()
        .map(|(_, steps)| {
            let mut m = Model::new(Timings::DEFAULT);
            steps
                .iter()
                .map(|s| {
                    m.apply(s);
                    m.clone()
                })
                .collect()
        })
        .collect()
}
