//! Drives the real [`SocketMode`] with the model's steps: maps model tags to the machine's
//! ids, shows the shell every input and output, and runs the checks after every step.

use super::checks::{check_outputs, check_state, commands};
use super::inputs::{link_input, outcome};
use super::model::{Model, Timings};
use super::shell::Shell;
use super::step::Step;
use super::strategy::Lifecycle;
use phantom_fsm::engine::{Machine, Now, Output};
use phantom_fsm::socket::{
    Command, Input, LinkId, RequestId, STATE_NAMES, SocketConfig, SocketMode,
};
use proptest_state_machine::StateMachineTest;
use std::collections::HashMap;
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
        let active_before = sut.m.links().active.map(|a| a.id);
        let input = match &step {
            Step::Restart => {
                sut.restart(now, &model.t);
                None
            }
            Step::Advance { deliver: false, .. } => None,
            _ => Some(sut.input(&step)),
        };
        if let Some(input) = &input {
            sut.m.handle(now, input.clone());
            if let Some(deadline) = sut.m.poll_timeout() {
                assert!(deadline >= now.mono, "deadline {deadline:?} before {now:?}");
            }
        }
        let outputs = sut.m.drain();
        // The machine handles the input first, then the deadlines due by its time: the shell
        // learns of the input (a link closing, a call answered) before any of the outputs.
        if let Some(input) = &input {
            sut.shell.delivered(input);
        }
        let grace = Duration::from_millis(model.t.close_grace);
        sut.shell.outputs(model.now, active_before, grace, &outputs);
        sut.learn_ids(model, &outputs);
        let first = if matches!(step, Step::Restart) {
            None
        } else {
            Some(before)
        };
        check_outputs(model, first, &input, &outputs, &sut.links);
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
        let in_flight = model.in_flight.map(|c| sut.calls[&c]);
        assert_eq!(m.in_flight(), in_flight, "call in flight");
        check_state(m, &sut.links, model);
        phantom_fsm::fuzzing::invariants::socket::a_deadline_when_waiting(m)
            .unwrap_or_else(|e| panic!("{e}"));
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
        let e = &model.expect;
        let ids = |tags: &[u32]| sorted(tags.iter().map(|t| self.links[t]));
        let sent = |f: fn(&Command) -> Option<LinkId>| sorted(commands(outputs).filter_map(f));
        assert_eq!(sent(ping), ids(&e.pings), "pings");
        assert_eq!(sent(close), ids(&e.closes), "close frames");
        assert_eq!(sent(drop), ids(&e.drops), "drops");
    }
}

fn known_links(m: &SocketMode) -> Vec<LinkId> {
    let l = m.links();
    [
        l.active.map(|a| a.id),
        l.pending.map(|p| p.id),
        l.draining.map(|d| d.id),
    ]
    .into_iter()
    .flatten()
    .chain(l.closing.iter().map(|c| c.id))
    .collect()
}

fn sorted(ids: impl Iterator<Item = LinkId>) -> Vec<LinkId> {
    let mut ids: Vec<LinkId> = ids.collect();
    ids.sort();
    ids
}

fn ping(c: &Command) -> Option<LinkId> {
    match c {
        Command::Ping { link } => Some(*link),
        _ => None,
    }
}

fn close(c: &Command) -> Option<LinkId> {
    match c {
        Command::CloseLink { link } => Some(*link),
        _ => None,
    }
}

fn drop(c: &Command) -> Option<LinkId> {
    match c {
        Command::DropLink { link } => Some(*link),
        _ => None,
    }
}
