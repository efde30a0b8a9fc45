//! Drives the real [`SocketMode`] with the model's steps and checks it after every one: the
//! outputs against the model's expectations and the shell's invariants, then the state.

use super::model::{Answer, Env, EnvFate, Kind, LinkIn, Model, Reason, Step, Timings, Tm};
use super::shell::Shell;
use super::steps::Lifecycle;
use phantom_fsm::engine::FrameRejectReason;
use phantom_fsm::engine::{Diagram, EnvelopeOutcome, Machine, Now, Output, Signal};
use phantom_fsm::socket::wire::{
    Disconnect, DisconnectReason, Envelope, EnvelopeKind, Hello, ServerFrame,
};
use phantom_fsm::socket::{
    Command, Input, LinkId, OpenOutcome, RequestId, STATE_NAMES, SocketConfig, SocketMode, Timer,
};
use proptest_state_machine::StateMachineTest;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

/// The machine under test, the shell's view of it, and the model tags mapped to its ids.
pub(crate) struct Sut {
    m: SocketMode,
    shell: Shell,
    links: HashMap<u32, LinkId>,
    calls: HashMap<u32, RequestId>,
}

pub(crate) struct Driver<const P: u8>;

/// The model's timings, and a zero backoff base: full jitter over `[0, 0]` makes every
/// backoff delay the `Retry-After` floor, so the model knows each deadline exactly.
pub(crate) fn config(t: &Timings) -> SocketConfig {
    let ms = Duration::from_millis;
    SocketConfig {
        hello_timeout: ms(t.hello_timeout),
        ping_interval: ms(t.ping_interval),
        pong_timeout: ms(t.pong_timeout),
        drain_grace: ms(t.drain_grace),
        close_grace: ms(t.close_grace),
        backoff_base: Duration::ZERO,
        ..SocketConfig::default()
    }
}

fn diagram() -> &'static Diagram {
    static DIAGRAM: OnceLock<Diagram> = OnceLock::new();
    DIAGRAM.get_or_init(|| phantom_fsm::machines::diagram("socket_mode").expect("socket_mode"))
}

impl<const P: u8> StateMachineTest for Driver<P> {
    type SystemUnderTest = Sut;
    type Reference = Lifecycle<P>;

    fn init_test(model: &Model) -> Sut {
        Sut {
            m: SocketMode::new(config(&model.t)),
            shell: Shell::default(),
            links: HashMap::new(),
            calls: HashMap::new(),
        }
    }

    fn apply(mut sut: Sut, model: &Model, step: Step) -> Sut {
        let now = Now::fake(model.now);
        let before = sut.m.state_name();
        let input = match &step {
            Step::Restart => {
                sut.restart(now, &model.t);
                None
            }
            Step::Advance { deliver: false, .. } => None,
            _ => Some(sut.input(&step)),
        };
        let mut split = 0;
        if let Some(input) = &input {
            split = sut.timer_outputs(now);
            sut.m.handle(now, input.clone());
            if let Some(deadline) = sut.m.poll_timeout() {
                assert!(deadline >= now.mono, "deadline {deadline:?} before {now:?}");
            }
        }
        let outputs = sut.m.drain();
        // The machine fires expired deadlines before it handles the input: the shell sees
        // those outputs before the input's own effect (a link closing, a call answered).
        sut.shell.outputs(model.now, &outputs[..split]);
        if let Some(input) = &input {
            sut.shell.delivered(input);
        }
        sut.shell.outputs(model.now, &outputs[split..]);
        sut.learn_ids(model, &outputs);
        let first = if matches!(step, Step::Restart) {
            None
        } else {
            Some(before)
        };
        check_outputs(model, first, &input, &outputs);
        for call in &model.expect.abandoned {
            if let Some(request) = sut.calls.get(call) {
                sut.shell.abandoned(*request);
            }
        }
        let known = known_links(&sut.m);
        let active = sut.m.links().active.map(|a| a.id);
        sut.shell.agrees(sut.m.in_flight(), &known, active);
        sut
    }

    fn check_invariants(sut: &Sut, model: &Model) {
        let m = &sut.m;
        assert!(STATE_NAMES.contains(&m.state_name()));
        assert_eq!(m.state_name(), model.state.name(), "state");
        if model.state.name() == "error" {
            assert_eq!(m.error_code(), model.code, "error code");
        }
        check_links(sut, model);
        let in_flight = model.in_flight.map(|c| sut.calls[&c]);
        assert_eq!(m.in_flight(), in_flight, "call in flight");
        let timers: Vec<(Timer, u64)> = m.timers().armed().map(|(t, at)| (t, at.0)).collect();
        let expected: Vec<(Timer, u64)> = model
            .timers
            .iter()
            .map(|(t, at)| (timer(*t), *at))
            .collect();
        assert_eq!(timers, expected, "armed deadlines");
        for (key, at) in &model.dedupe {
            if at + super::model::DEDUPE_TTL > model.now {
                assert!(
                    m.dedupe().contains(key),
                    "{key} fell out of the window early"
                );
            }
        }
        assert!(
            m.dedupe().len() <= model.dedupe.len(),
            "unknown keys in the window"
        );
    }
}

impl Sut {
    /// The machine input for a step, with model tags mapped to the machine's ids (an unknown
    /// tag becomes an id the machine never issued).
    fn input(&self, step: &Step) -> Input {
        match step {
            Step::Start => Input::Start,
            Step::Stop => Input::Stop,
            Step::NewTokens => Input::NewTokens,
            Step::Answer { call, answer } => Input::OpenResult {
                request: self
                    .calls
                    .get(call)
                    .copied()
                    .unwrap_or(RequestId(1_000 + u64::from(*call))),
                outcome: outcome(answer),
            },
            Step::Link { tag, input } => {
                let link = self
                    .links
                    .get(tag)
                    .copied()
                    .unwrap_or(LinkId(1_000 + u64::from(*tag)));
                link_input(link, input)
            }
            Step::Advance { .. } | Step::NextDeadline | Step::Restart => Input::Timeout,
        }
    }

    /// How many outputs the deadlines expired at `now` produce on their own (the machine is
    /// deterministic, so a clone shows the prefix the real input's outputs start with).
    fn timer_outputs(&self, now: Now) -> usize {
        if self.m.poll_timeout().is_none_or(|at| at > now.mono) {
            return 0;
        }
        let mut clone = self.m.clone();
        clone.handle(now, Input::Timeout);
        clone.drain().len()
    }

    /// Snapshot, restore into a new process with the persisted dedupe keys, deliver `Resumed`.
    fn restart(&mut self, now: Now, t: &Timings) {
        let snapshot = self.m.snapshot();
        let seen = self
            .shell
            .persisted
            .iter()
            .filter(|(_, at)| at.0 + super::model::DEDUPE_TTL > now.unix.0)
            .map(|(k, at)| (k.clone(), *at))
            .collect();
        self.m =
            SocketMode::restore_with_seen(config(t), "default", &snapshot, seen).expect("restore");
        self.shell.restarted();
        self.links.clear();
        self.calls.clear();
        self.m.handle(now, Input::Resumed);
    }

    /// Map the link and call the model opened in this step to the ids the machine gave them.
    fn learn_ids(&mut self, model: &Model, outputs: &[Output<Command>]) {
        let links: Vec<LinkId> = commands(outputs)
            .filter_map(|c| match c {
                Command::OpenLink { link, .. } => Some(*link),
                _ => None,
            })
            .collect();
        assert_eq!(
            links.len(),
            usize::from(model.expect.opened_link.is_some()),
            "OpenLink"
        );
        if let (Some(tag), Some(link)) = (model.expect.opened_link, links.first()) {
            self.links.insert(tag, *link);
        }
        let calls: Vec<RequestId> = commands(outputs)
            .filter_map(|c| match c {
                Command::OpenConnection { request } => Some(*request),
                _ => None,
            })
            .collect();
        assert_eq!(
            calls.len(),
            usize::from(model.expect.opened_call.is_some()),
            "OpenConnection"
        );
        if let (Some(call), Some(request)) = (model.expect.opened_call, calls.first()) {
            self.calls.insert(call, *request);
        }
        let tag_of = |tags: &[u32]| -> Vec<LinkId> {
            let mut ids: Vec<LinkId> = tags.iter().map(|t| self.links[t]).collect();
            ids.sort();
            ids
        };
        let pick = |f: fn(&Command) -> Option<LinkId>| -> Vec<LinkId> {
            let mut ids: Vec<LinkId> = commands(outputs).filter_map(f).collect();
            ids.sort();
            ids
        };
        let e = &model.expect;
        assert_eq!(
            pick(|c| match c {
                Command::Ping { link } => Some(*link),
                _ => None,
            }),
            tag_of(&e.pings),
            "pings"
        );
        assert_eq!(
            pick(|c| match c {
                Command::CloseLink { link } => Some(*link),
                _ => None,
            }),
            tag_of(&e.closes),
            "close frames"
        );
        assert_eq!(
            pick(|c| match c {
                Command::DropLink { link } => Some(*link),
                _ => None,
            }),
            tag_of(&e.drops),
            "drops"
        );
    }
}

fn commands(outputs: &[Output<Command>]) -> impl Iterator<Item = &Command> {
    outputs.iter().filter_map(|o| match o {
        Output::Command(c) => Some(c),
        _ => None,
    })
}

fn signals(outputs: &[Output<Command>]) -> impl Iterator<Item = &Signal> {
    outputs.iter().filter_map(|o| match o {
        Output::Signal(s) => Some(s),
        _ => None,
    })
}

/// One step's outputs against the model: transitions (and diagram edges), link ends,
/// handovers, backoff delays, and the fate of an envelope (ack first, at most one dispatch).
fn check_outputs(
    model: &Model,
    before: Option<&'static str>,
    input: &Option<Input>,
    outputs: &[Output<Command>],
) {
    let transitions: Vec<(&str, &str, &str)> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Transition(t) => Some((t.from, t.event, t.to)),
            _ => None,
        })
        .collect();
    assert_eq!(transitions, model.expect.transitions, "transitions");
    let mut state = before;
    for (from, event, to) in &transitions {
        assert!(
            state.is_none_or(|s| s == *from),
            "transition from {from}, but was in {state:?}"
        );
        assert_ne!(from, to, "a transition that does not change the leaf state");
        assert!(
            diagram().has_edge(from, event, to),
            "({from}, {event}, {to}) is no diagram edge"
        );
        state = Some(to);
    }
    let ended: Vec<u64> = signals(outputs)
        .filter_map(|s| match s {
            Signal::LinkEnded { lifetime_ms } => Some(*lifetime_ms),
            _ => None,
        })
        .collect();
    assert_eq!(ended, model.expect.link_ended, "LinkEnded");
    let handovers = signals(outputs)
        .filter(|s| matches!(s, Signal::Handover))
        .count();
    assert_eq!(handovers, model.expect.handovers, "Handover");
    let delays: Vec<u64> = signals(outputs)
        .filter_map(|s| match s {
            Signal::RetryScheduled { delay_ms, .. } => Some(*delay_ms),
            _ => None,
        })
        .collect();
    assert_eq!(delays, model.expect.retry_delays, "retry delays");
    check_envelope(model.expect.envelope, input, outputs);
}

/// Acked exactly once per delivery on a writable link, before its dispatch; unackable on a
/// closing link; dispatched only on first sight within the TTL.
fn check_envelope(fate: Option<EnvFate>, input: &Option<Input>, outputs: &[Output<Command>]) {
    let acks: Vec<usize> = (0..outputs.len())
        .filter(|i| matches!(&outputs[*i], Output::Command(Command::Ack { .. })))
        .collect();
    let dispatches: Vec<usize> = (0..outputs.len())
        .filter(|i| matches!(&outputs[*i], Output::Command(Command::Dispatch { .. })))
        .collect();
    let outcome = signals(outputs).find_map(|s| match s {
        Signal::Envelope { outcome, .. } => Some(*outcome),
        _ => None,
    });
    let Some(fate) = fate else {
        assert!(
            acks.is_empty() && dispatches.is_empty() && outcome.is_none(),
            "envelope outputs without an envelope"
        );
        return;
    };
    let Some(Input::Frame {
        link,
        frame: ServerFrame::Envelope(env),
    }) = input
    else {
        panic!("model expects an envelope fate for {input:?}");
    };
    let expect_ack = usize::from(matches!(fate, EnvFate::Acked { .. }));
    assert_eq!(acks.len(), expect_ack, "acks for {fate:?}");
    if let Some(i) = acks.first() {
        let Output::Command(Command::Ack {
            link: l,
            envelope_id,
        }) = &outputs[*i]
        else {
            unreachable!()
        };
        assert_eq!(
            (l, envelope_id),
            (link, &env.envelope_id),
            "ack on its link, with its id"
        );
    }
    let dispatched = matches!(fate, EnvFate::Acked { dispatched: true });
    assert_eq!(
        dispatches.len(),
        usize::from(dispatched),
        "dispatches for {fate:?}"
    );
    if let (Some(d), Some(a)) = (dispatches.first(), acks.first()) {
        assert!(a < d, "ack after dispatch");
    }
    let expected = match fate {
        EnvFate::Ignored => None,
        EnvFate::Unackable => Some(EnvelopeOutcome::Unackable),
        EnvFate::Acked { dispatched: true } => Some(EnvelopeOutcome::Dispatched),
        EnvFate::Acked { dispatched: false } => Some(EnvelopeOutcome::Duplicate),
    };
    assert_eq!(outcome, expected, "envelope outcome");
}

/// The machine's links by role are the model's, through the tag map.
fn check_links(sut: &Sut, model: &Model) {
    let l = sut.m.links();
    let id = |tag: u32| sut.links.get(&tag).copied();
    assert_eq!(
        l.active.map(|a| a.id),
        model.active.and_then(|(t, _)| id(t)),
        "active link"
    );
    assert_eq!(
        l.pending.map(|p| p.id),
        model.pending.and_then(|(t, _)| id(t)),
        "pending link"
    );
    assert_eq!(
        l.pending.map(|p| p.opened),
        model.pending.map(|(_, o)| o),
        "pending link opened"
    );
    assert_eq!(l.draining, model.draining.and_then(id), "draining link");
    assert_eq!(l.closing, model.closing.and_then(id), "closing link");
}

fn known_links(m: &SocketMode) -> Vec<LinkId> {
    let l = m.links();
    [
        l.active.map(|a| a.id),
        l.pending.map(|p| p.id),
        l.draining,
        l.closing,
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn timer(t: Tm) -> Timer {
    match t {
        Tm::Hello => Timer::HelloDeadline,
        Tm::PingDue => Timer::PingDue,
        Tm::Pong => Timer::PongDeadline,
        Tm::Reconnect => Timer::ReconnectBackoff,
        Tm::StandbyRetry => Timer::StandbyRetry,
        Tm::Drain => Timer::DrainGrace,
        Tm::Close => Timer::CloseGrace,
        Tm::Reprobe => Timer::Reprobe,
    }
}

fn outcome(answer: &Answer) -> OpenOutcome {
    match answer {
        Answer::Url => OpenOutcome::Url("wss://wss-primary.slack.com/link/?ticket=t".into()),
        Answer::RateLimited(ms) => OpenOutcome::RateLimited {
            retry_after_ms: *ms,
        },
        Answer::Transient => OpenOutcome::Transient,
        Answer::Unrecoverable(code) => OpenOutcome::Unrecoverable {
            code: (*code).into(),
        },
    }
}

fn link_input(link: LinkId, input: &LinkIn) -> Input {
    let frame = |frame| Input::Frame { link, frame };
    match input {
        LinkIn::Opened => Input::LinkOpened { link },
        LinkIn::Closed => Input::LinkClosed { link },
        LinkIn::Error => Input::LinkError { link },
        LinkIn::Pong => Input::Pong { link },
        LinkIn::Rejected => Input::FrameRejected {
            link,
            reason: FrameRejectReason::InvalidJson,
        },
        LinkIn::Hello => frame(ServerFrame::Hello(Hello::default())),
        LinkIn::Envelope(env) => frame(ServerFrame::Envelope(envelope(env))),
        LinkIn::Disconnect(reason) => frame(ServerFrame::Disconnect(Disconnect {
            reason: disconnect_reason(*reason),
            host: None,
        })),
    }
}

fn disconnect_reason(reason: Reason) -> DisconnectReason {
    match reason {
        Reason::Warning => DisconnectReason::Warning,
        Reason::RefreshRequested => DisconnectReason::RefreshRequested,
        Reason::LinkDisabled => DisconnectReason::LinkDisabled,
        Reason::TooManyWebsockets => DisconnectReason::TooManyWebsockets,
        Reason::Unknown => DisconnectReason::Other("socket_mode_maintenance".into()),
    }
}

fn envelope(env: &Env) -> Envelope {
    let kind = match env.kind {
        Kind::EventsApi => EnvelopeKind::EventsApi,
        Kind::SlashCommands => EnvelopeKind::SlashCommands,
        Kind::Interactive => EnvelopeKind::Interactive,
        Kind::Other => EnvelopeKind::Other("workflow_step".into()),
    };
    let mut payload = serde_json::json!({"event": {"type": "app_mention"}});
    if let Some(ev) = env.event_id {
        payload["event_id"] = serde_json::json!(format!("Ev{ev}"));
    }
    Envelope {
        envelope_id: format!("e{}", env.id),
        kind,
        payload,
        accepts_response_payload: false,
        retry_attempt: 0,
        retry_reason: None,
    }
}
