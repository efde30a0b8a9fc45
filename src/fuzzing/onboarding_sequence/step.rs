//! One step of an `onboarding_sequence` scenario, its byte grammar ([`Step::read`]) and the
//! writer of the seed stories ([`Story`]).

use super::super::bytes::{self, SeedWriter};
use crate::onboarding::Input;
use arbitrary::{Arbitrary, Unstructured};

/// A call chooser: most values answer the latest call of the step's kind still out; the rest
/// answer another call still out (a late or mismatched answer) or one that never existed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pick(pub(crate) u8);

/// One step: a move of the clock, a restart, an operator action, or one answer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Step {
    /// The clock advances by `ms`; no input.
    Advance {
        ms: u16,
    },
    /// The shell wakes at the next deadline (shifted by `offset % 3 - 1` ms) and delivers
    /// `Timeout`; with no deadline armed, a spurious `Timeout` now.
    ToDeadline {
        offset: u8,
    },
    /// The clock advances by whole minutes.
    AdvanceMinutes {
        minutes: u8,
    },
    ChannelReady,
    /// The process dies and restarts from its last snapshot; a post still unanswered reached
    /// Slack if `stored` is odd.
    Restart {
        stored: u8,
    },
    /// `kind % 5`: ok, ok with an unusable team id, rate limited, transient, unrecoverable.
    Auth {
        call: Pick,
        kind: u8,
        retry_after_ms: u16,
    },
    /// `kind % 4`: opened, rate limited, transient, permanent.
    Dm {
        call: Pick,
        kind: u8,
        retry_after_ms: u16,
    },
    /// `kind % 5`: sent, rate limited, not stored, permanent, ambiguous (stored in Slack if
    /// `stored` is odd).
    Post {
        call: Pick,
        kind: u8,
        stored: u8,
        retry_after_ms: u16,
    },
    /// `kind % 5`: the truth (found iff Slack holds an intro), found, not found (possibly a
    /// lie), transient, missing scope.
    History {
        call: Pick,
        kind: u8,
        retry_after_ms: u16,
    },
    /// A raw HTTP result for the picked call, through the `classify_*` functions.
    Http {
        call: Pick,
        result: u8,
        status: u8,
        retry_after: u8,
        body: u8,
        raw: Vec<u8>,
    },
    /// The installer writes `messages` messages in the DM channel.
    Chatter {
        messages: u8,
    },
    Reset,
    MarkComplete,
    /// A spurious wake-up.
    Timeout,
    /// Any input from `arbitrary`'s derive, with its call re-picked (`Resumed` restarts).
    Raw {
        call: Pick,
        input: Input,
    },
}

/// Number of step kinds; the op byte is taken modulo this.
const OPS: u8 = 15;

impl Step {
    /// Read one step.
    pub(crate) fn read(u: &mut Unstructured<'_>) -> arbitrary::Result<Step> {
        let pick = |u: &mut Unstructured<'_>| Pick(bytes::u8(u));
        Ok(match bytes::u8(u) % OPS {
            0 => Step::Advance { ms: bytes::u16(u) },
            1 => Step::ToDeadline {
                offset: bytes::u8(u),
            },
            2 => Step::AdvanceMinutes {
                minutes: bytes::u8(u),
            },
            3 => Step::ChannelReady,
            4 => Step::Restart {
                stored: bytes::u8(u),
            },
            5 => Step::Auth {
                call: pick(u),
                kind: bytes::u8(u),
                retry_after_ms: bytes::u16(u),
            },
            6 => Step::Dm {
                call: pick(u),
                kind: bytes::u8(u),
                retry_after_ms: bytes::u16(u),
            },
            7 => Step::Post {
                call: pick(u),
                kind: bytes::u8(u),
                stored: bytes::u8(u),
                retry_after_ms: bytes::u16(u),
            },
            8 => Step::History {
                call: pick(u),
                kind: bytes::u8(u),
                retry_after_ms: bytes::u16(u),
            },
            9 => Step::Http {
                call: pick(u),
                result: bytes::u8(u),
                status: bytes::u8(u),
                retry_after: bytes::u8(u),
                body: bytes::u8(u),
                raw: bytes::blob(u).to_vec(),
            },
            10 => Step::Reset,
            11 => Step::MarkComplete,
            12 => Step::Timeout,
            13 => Step::Raw {
                call: pick(u),
                input: Input::arbitrary(u)?,
            },
            _ => Step::Chatter {
                messages: bytes::u8(u),
            },
        })
    }
}

/// Writes steps in the grammar of [`Step::read`], for the seed stories. Answers pick the call
/// the machine waits for.
#[derive(Clone, Debug, Default)]
pub(crate) struct Story {
    w: SeedWriter,
}

impl Story {
    /// A story for preset `preset` (even: team known; odd: team from `auth.test`) and RNG
    /// seed `seed`.
    pub(crate) fn new(preset: u8, seed: u16) -> Story {
        let mut story = Story::default();
        story.w.u8(preset).u16(seed);
        story
    }

    fn op(&mut self, op: u8) -> &mut SeedWriter {
        self.w.u8(op)
    }

    pub(crate) fn advance(&mut self, ms: u16) -> &mut Self {
        self.op(0).u16(ms);
        self
    }
    pub(crate) fn wake_at_deadline(&mut self) -> &mut Self {
        self.op(1).u8(1);
        self
    }
    pub(crate) fn channel_ready(&mut self) -> &mut Self {
        self.op(3);
        self
    }
    /// Crash and restart; an unanswered post reached Slack if `stored`.
    pub(crate) fn restart(&mut self, stored: bool) -> &mut Self {
        self.op(4).u8(u8::from(stored));
        self
    }
    /// `kind`: 0 ok, 2 rate limited, 3 transient, 4 unrecoverable.
    pub(crate) fn auth(&mut self, kind: u8, retry_after_ms: u16) -> &mut Self {
        self.op(5).u8(0).u8(kind).u16(retry_after_ms);
        self
    }
    /// `kind`: 0 opened, 1 rate limited, 2 transient, 3 permanent.
    pub(crate) fn dm(&mut self, kind: u8) -> &mut Self {
        self.op(6).u8(0).u8(kind).u16(0);
        self
    }
    /// `kind`: 0 sent, 1 rate limited, 2 not stored, 3 permanent, 4 ambiguous.
    pub(crate) fn post(&mut self, kind: u8, stored: bool, retry_after_ms: u16) -> &mut Self {
        self.op(7)
            .u8(0)
            .u8(kind)
            .u8(u8::from(stored))
            .u16(retry_after_ms);
        self
    }
    /// `kind`: 0 the truth, 1 found, 2 not found, 3 transient, 4 missing scope.
    pub(crate) fn history(&mut self, kind: u8) -> &mut Self {
        self.op(8).u8(0).u8(kind).u16(0);
        self
    }
    /// The installer writes `messages` messages in the DM channel.
    pub(crate) fn chatter(&mut self, messages: u8) -> &mut Self {
        self.op(14).u8(messages);
        self
    }
    /// A raw HTTP answer (see `http::result`) to the call in flight.
    pub(crate) fn http(&mut self, result: u8, status: u8, retry_after: u8, body: u8) -> &mut Self {
        self.op(9)
            .u8(0)
            .u8(result)
            .u8(status)
            .u8(retry_after)
            .u8(body)
            .blob(&[]);
        self
    }
    pub(crate) fn reset(&mut self) -> &mut Self {
        self.op(10);
        self
    }
    pub(crate) fn mark_complete(&mut self) -> &mut Self {
        self.op(11);
        self
    }
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        self.w.finish()
    }
}
