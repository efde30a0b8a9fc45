//! A scripted peer and a fake clock for the Socket Mode machine: every input goes in at a
//! chosen time, every output comes out, and each `Transition` is checked against the states
//! before and after.

use phantom_fsm::engine::{Machine, Now, Output, Signal, Transition};
use phantom_fsm::socket::{Command, Input, LinkId, OpenOutcome, SocketConfig, SocketMode};
use phantom_fsm::socket::{
    Disconnect, DisconnectReason, Envelope, EnvelopeKind, Hello, ServerFrame,
};
use serde_json::json;

pub struct Driver {
    pub m: SocketMode,
    pub now: Now,
}

pub type Outs = Vec<Output<Command>>;

impl Driver {
    pub fn new() -> Driver {
        Driver::with(SocketConfig::default())
    }

    pub fn with(config: SocketConfig) -> Driver {
        Driver {
            m: SocketMode::new(config),
            now: Now::fake(0),
        }
    }

    pub fn state(&self) -> &'static str {
        self.m.state_name()
    }

    /// Feed `input` at the current time; check the transition records; return all outputs.
    pub fn input(&mut self, input: Input) -> Outs {
        let before = self.m.state_name();
        self.m.handle(self.now, input);
        let outs = self.m.drain();
        check_transitions(before, self.m.state_name(), &outs);
        if let Some(deadline) = self.m.poll_timeout() {
            assert!(deadline >= self.now.mono, "deadline in the past");
        }
        outs
    }

    /// Move the clock by `ms` and deliver `Timeout`.
    pub fn advance(&mut self, ms: u64) -> Outs {
        self.now = self.now.after(std::time::Duration::from_millis(ms));
        self.input(Input::Timeout)
    }

    /// Jump to the next deadline and deliver `Timeout`.
    pub fn fire_next(&mut self) -> Outs {
        let at = self.m.poll_timeout().expect("a deadline is armed");
        self.now = self.now.advanced_to(at);
        self.input(Input::Timeout)
    }

    pub fn request(&self) -> phantom_fsm::socket::RequestId {
        self.m.in_flight().expect("a call is in flight")
    }

    pub fn answer(&mut self, outcome: OpenOutcome) -> Outs {
        let request = self.request();
        self.input(Input::OpenResult { request, outcome })
    }

    pub fn frame(&mut self, link: LinkId, frame: ServerFrame) -> Outs {
        self.input(Input::Frame { link, frame })
    }

    pub fn hello(&mut self, link: LinkId) -> Outs {
        self.frame(link, ServerFrame::Hello(Hello::default()))
    }

    pub fn disconnect(&mut self, link: LinkId, reason: DisconnectReason) -> Outs {
        self.frame(
            link,
            ServerFrame::Disconnect(Disconnect { reason, host: None }),
        )
    }

    pub fn envelope(&mut self, link: LinkId, envelope: Envelope) -> Outs {
        self.frame(link, ServerFrame::Envelope(envelope))
    }

    /// From `disconnected` to `connected`; returns the active link.
    pub fn connect(&mut self) -> LinkId {
        self.input(Input::Start);
        let link = self.accept_url();
        self.input(Input::LinkOpened { link });
        self.hello(link);
        assert_eq!(self.state(), "connected");
        link
    }

    /// Answer the in-flight call with a URL; returns the link the machine opens.
    pub fn accept_url(&mut self) -> LinkId {
        let outs = self.answer(OpenOutcome::Url("wss://example.invalid/link".into()));
        opened_link(&outs).expect("OpenLink after a URL")
    }
}

/// Exactly one Transition per change of leaf state, none otherwise, consistent with the states.
pub fn check_transitions(before: &str, after: &str, outs: &Outs) {
    let ts: Vec<&Transition> = transitions(outs);
    if before == after {
        assert!(
            ts.is_empty(),
            "transition without a change of state: {ts:?}"
        );
        return;
    }
    assert_eq!(ts.len(), 1, "{before} -> {after}: {ts:?}");
    assert_eq!((ts[0].from, ts[0].to), (before, after));
    assert_ne!(ts[0].from, ts[0].to);
}

pub fn transitions(outs: &Outs) -> Vec<&Transition> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Transition(t) => Some(t),
            _ => None,
        })
        .collect()
}

pub fn commands(outs: &Outs) -> Vec<Command> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Command(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

pub fn signals(outs: &Outs) -> Vec<Signal> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Signal(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// The ids of the closing links, oldest first.
pub fn closing_ids(d: &Driver) -> Vec<LinkId> {
    d.m.links().closing.iter().map(|c| c.id).collect()
}

pub fn opened_link(outs: &Outs) -> Option<LinkId> {
    commands(outs).into_iter().find_map(|c| match c {
        Command::OpenLink { link, .. } => Some(link),
        _ => None,
    })
}

pub fn has_open_call(outs: &Outs) -> bool {
    commands(outs)
        .iter()
        .any(|c| matches!(c, Command::OpenConnection { .. }))
}

pub fn retry_delay(outs: &Outs) -> u64 {
    signals(outs)
        .into_iter()
        .find_map(|s| match s {
            Signal::RetryScheduled { delay_ms, .. } => Some(delay_ms),
            _ => None,
        })
        .expect("a retry was scheduled")
}

pub fn event(envelope_id: &str, event_id: Option<&str>) -> Envelope {
    let mut payload =
        json!({"type": "event_callback", "event": {"type": "app_mention", "text": "hi"}});
    if let Some(id) = event_id {
        payload["event_id"] = json!(id);
    }
    Envelope {
        envelope_id: envelope_id.into(),
        kind: EnvelopeKind::EventsApi,
        payload: payload.into(),
        accepts_response_payload: false,
        retry_attempt: 0,
        retry_reason: None,
    }
}

pub fn slash(envelope_id: &str) -> Envelope {
    Envelope {
        envelope_id: envelope_id.into(),
        kind: EnvelopeKind::SlashCommands,
        payload: json!({"command": "/phantom", "text": ""}).into(),
        accepts_response_payload: true,
        retry_attempt: 0,
        retry_reason: None,
    }
}
