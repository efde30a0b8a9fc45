//! Generation of steps from the model's state: mostly meaningful ones (the answer to the call
//! in flight, frames on the links that exist, the next deadline), some stale or arbitrary ones
//! (answers to abandoned or unknown calls, frames on links that are gone).

use super::model::{Model, Role, St, Timings};
use super::step::{Answer, Env, Kind, LinkIn, Reason, Step};
use proptest::prelude::*;
use proptest::strategy::Union;
use proptest_state_machine::ReferenceStateMachine;

/// Weights of the step families: a profile of traffic.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Profile {
    /// Start, stop, new tokens.
    pub(crate) operator: u32,
    /// Process restarts.
    pub(crate) restart: u32,
    /// Clock steps and deadlines.
    pub(crate) time: u32,
    /// Large clock steps (minutes to hours: the re-probe and the dedupe TTL).
    pub(crate) long_time: u32,
    /// Frames and link events on links the machine knows.
    pub(crate) link: u32,
    /// Stale inputs: unknown calls and links.
    pub(crate) stale: u32,
}

/// Everything, evenly: lifecycle churn, restarts, stale inputs.
pub(crate) const CHURN: Profile = Profile {
    operator: 3,
    restart: 1,
    time: 4,
    long_time: 1,
    link: 12,
    stale: 2,
};

/// Long connected runs: envelopes, handovers, liveness, few stops.
pub(crate) const TRAFFIC: Profile = Profile {
    operator: 1,
    restart: 1,
    time: 3,
    long_time: 1,
    link: 20,
    stale: 1,
};

/// A call tag never issued: its answer comes from nowhere.
const STALE_CALL: u32 = 999;
/// A link tag never issued: its frames come from nowhere.
const STALE_LINK: u32 = 998;

/// The reference state machine, with the step weights of profile `P` (0: churn, 1: traffic).
pub(crate) struct Lifecycle<const P: u8>;

impl<const P: u8> Lifecycle<P> {
    fn profile() -> Profile {
        if P == 0 { CHURN } else { TRAFFIC }
    }
}

impl<const P: u8> ReferenceStateMachine for Lifecycle<P> {
    type State = Model;
    type Transition = Step;

    /// The documented timings half of the time, else each duration from a small set that
    /// reorders deadlines.
    fn init_state() -> BoxedStrategy<Model> {
        let varied = (
            prop::sample::select(vec![2_000u64, 10_000]),
            prop::sample::select(vec![3_000u64, 5_000]),
            prop::sample::select(vec![2_000u64, 5_000, 8_000]),
            prop::sample::select(vec![1_000u64, 3_000]),
            prop::sample::select(vec![500u64, 2_000]),
        )
            .prop_map(
                |(hello_timeout, ping_interval, pong_timeout, drain_grace, close_grace)| Timings {
                    hello_timeout,
                    ping_interval,
                    pong_timeout,
                    drain_grace,
                    close_grace,
                },
            );
        prop_oneof![Just(Timings::DEFAULT), varied]
            .prop_map(Model::new)
            .boxed()
    }

    fn transitions(m: &Model) -> BoxedStrategy<Step> {
        steps(m, Self::profile())
    }

    /// Steps refer to calls and links by tag; while shrinking, a tag may come to name a call
    /// or link that does not exist yet (or is only created by a deadline firing within the
    /// step itself, before the driver can map it). Such steps are dropped.
    fn preconditions(m: &Model, step: &Step) -> bool {
        match step {
            Step::Answer { call, .. } => *call <= m.next_call || *call == STALE_CALL,
            Step::Link { tag, .. } => *tag <= m.next_tag || *tag == STALE_LINK,
            _ => true,
        }
    }

    fn apply(mut m: Model, step: &Step) -> Model {
        m.apply(step);
        m
    }
}

fn steps(m: &Model, p: Profile) -> BoxedStrategy<Step> {
    // Start matters where it does something; elsewhere it is a stray input.
    let start = match m.state {
        St::Disconnected | St::Error => p.link,
        _ => p.operator,
    };
    let mut arms: Vec<(u32, BoxedStrategy<Step>)> = vec![
        (start, Just(Step::Start).boxed()),
        (p.operator, Just(Step::Stop).boxed()),
        (p.operator, Just(Step::NewTokens).boxed()),
        (p.time, advance(0..=1_500u64)),
        (p.time.div_ceil(2), advance(1_500..=12_000u64)),
        (p.long_time, advance(60_000..=4_000_000u64)),
    ];
    if p.restart > 0 {
        arms.push((p.restart, Just(Step::Restart).boxed()));
    }
    if !m.timers.is_empty() {
        arms.push((p.time, Just(Step::NextDeadline).boxed()));
    }
    if let Some(call) = m.in_flight {
        arms.push((p.link * 2, answer(call)));
    }
    let stale_calls: Vec<u32> = m.abandoned.iter().copied().chain([STALE_CALL]).collect();
    arms.push((p.stale, answer_any(stale_calls)));
    for (tag, role) in links(m) {
        let weight = match role {
            Role::Active | Role::Pending => p.link,
            Role::Draining | Role::Closing => p.link.div_ceil(3),
        };
        arms.push((weight, link_input(tag, role)));
    }
    let stale_links: Vec<u32> = m.ended.iter().copied().chain([STALE_LINK]).collect();
    let stale = (proptest::sample::select(stale_links), any_link_input())
        .prop_map(|(tag, input)| Step::Link { tag, input });
    arms.push((p.stale, stale.boxed()));
    Union::new_weighted(arms).boxed()
}

fn links(m: &Model) -> Vec<(u32, Role)> {
    [
        m.active.map(|(t, _)| t),
        m.pending.map(|(t, _)| t),
        m.draining.map(|(t, _)| t),
    ]
    .into_iter()
    .flatten()
    .chain(m.closing.iter().map(|(t, _)| *t))
    .filter_map(|t| m.role(t).map(|r| (t, r)))
    .collect()
}

fn advance(range: std::ops::RangeInclusive<u64>) -> BoxedStrategy<Step> {
    (range, prop::bool::weighted(0.8))
        .prop_map(|(ms, deliver)| Step::Advance { ms, deliver })
        .boxed()
}

fn answer(call: u32) -> BoxedStrategy<Step> {
    prop_oneof![
        8 => Just(Answer::Url),
        1 => prop::option::of(prop::sample::select(vec![0u64, 1_000, 5_000, 30_000]))
            .prop_map(Answer::RateLimited),
        2 => Just(Answer::Transient),
        1 => prop::sample::select(phantom_fsm::socket::UNRECOVERABLE_OPEN_CODES)
            .prop_map(Answer::Unrecoverable),
    ]
    .prop_map(move |answer| Step::Answer { call, answer })
    .boxed()
}

fn answer_any(calls: Vec<u32>) -> BoxedStrategy<Step> {
    prop::sample::select(calls).prop_flat_map(answer).boxed()
}

/// Inputs on a known link, weighted by what its role makes interesting.
fn link_input(tag: u32, role: Role) -> BoxedStrategy<Step> {
    let (hello, opened, envelopes, disconnects) = match role {
        Role::Pending => (16, 6, 4, 2),
        Role::Active => (1, 1, 16, 12),
        Role::Draining | Role::Closing => (1, 1, 8, 2),
    };
    prop_oneof![
        hello => Just(LinkIn::Hello),
        opened => Just(LinkIn::Opened),
        envelopes => envelope().prop_map(LinkIn::Envelope),
        disconnects => reason().prop_map(LinkIn::Disconnect),
        1 => Just(LinkIn::Pong),
        1 => Just(LinkIn::Rejected),
        1 => Just(LinkIn::Closed),
        1 => Just(LinkIn::Error),
    ]
    .prop_map(move |input| Step::Link { tag, input })
    .boxed()
}

fn any_link_input() -> BoxedStrategy<LinkIn> {
    prop_oneof![
        Just(LinkIn::Opened),
        Just(LinkIn::Closed),
        Just(LinkIn::Error),
        Just(LinkIn::Pong),
        Just(LinkIn::Rejected),
        Just(LinkIn::Hello),
        envelope().prop_map(LinkIn::Envelope),
        reason().prop_map(LinkIn::Disconnect),
    ]
    .boxed()
}

fn reason() -> impl Strategy<Value = Reason> {
    prop_oneof![
        3 => Just(Reason::Warning),
        2 => Just(Reason::RefreshRequested),
        1 => Just(Reason::LinkDisabled),
        1 => Just(Reason::TooManyWebsockets),
        1 => Just(Reason::Unknown),
    ]
}

/// Envelopes from small pools, so envelope ids and event ids repeat (re-deliveries, retries).
fn envelope() -> impl Strategy<Value = Env> {
    let kind = prop_oneof![
        4 => Just(Kind::EventsApi),
        1 => Just(Kind::SlashCommands),
        1 => Just(Kind::Interactive),
        1 => Just(Kind::Other),
    ];
    (0u8..4, kind, prop::option::weighted(0.7, 0u8..3)).prop_map(|(id, kind, event_id)| Env {
        id,
        kind,
        event_id,
    })
}
