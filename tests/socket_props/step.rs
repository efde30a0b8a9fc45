//! The steps of the property tests: operator inputs, answers to `apps.connections.open`,
//! what links deliver, time steps and restarts. Calls and links are named by model tags.

/// How an `apps.connections.open` call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    Url,
    RateLimited(Option<u64>),
    Transient,
    Unrecoverable(&'static str),
}

/// `disconnect` reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    Warning,
    RefreshRequested,
    LinkDisabled,
    TooManyWebsockets,
    Unknown,
}

/// An envelope from a small pool, so keys repeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Env {
    pub(crate) id: u8,
    pub(crate) kind: Kind,
    pub(crate) event_id: Option<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    EventsApi,
    SlashCommands,
    Interactive,
    Other,
}

impl Env {
    /// The contract: `ev:<payload.event_id>` for `events_api`, else `env:<envelope_id>`.
    pub(crate) fn key(&self) -> String {
        match (self.kind, self.event_id) {
            (Kind::EventsApi, Some(ev)) => format!("ev:Ev{ev}"),
            _ => format!("env:e{}", self.id),
        }
    }
}

/// What a link delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LinkIn {
    Opened,
    Closed,
    Error,
    Pong,
    Rejected,
    Hello,
    Envelope(Env),
    Disconnect(Reason),
}

/// One transition of the property tests: an input, a time step or a process restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Start,
    Stop,
    NewTokens,
    /// The answer to call `call` (a tag never issued is a stale id from nowhere).
    Answer {
        call: u32,
        answer: Answer,
    },
    Link {
        tag: u32,
        input: LinkIn,
    },
    /// Move the clock; with `deliver`, hand the machine `Input::Timeout`.
    Advance {
        ms: u64,
        deliver: bool,
    },
    /// Jump to the earliest deadline (if any) and deliver `Input::Timeout`.
    NextDeadline,
    /// Snapshot, restore (dedupe keys loaded back) and `Input::Resumed`.
    Restart,
}
