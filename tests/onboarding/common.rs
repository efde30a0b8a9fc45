//! A scripted driver with fake time, and builders for exact expected outputs.

use phantom_fsm::engine::{
    IntroOutcome, Machine, Millis, Now, Output, Signal, Snapshot, Transition,
};
use phantom_fsm::onboarding::{
    AuthOutcome, CallId, Command, HistoryOutcome, Input, IntroMetadata, Onboarding,
    OnboardingConfig, OpenDmOutcome, PostOutcome,
};

pub(crate) const TEAM: &str = "T0TEAM";
pub(crate) const USER: &str = "U0INSTALLER";
pub(crate) const CHANNEL: &str = "D0DM";
pub(crate) const TS: &str = "1767225600.000200";
pub(crate) const INSTANCE: &str = "T0TEAM/U0INSTALLER";

pub(crate) type Out = Output<Command>;

/// One machine and the fake clock it runs on.
pub(crate) struct Run {
    pub(crate) m: Onboarding,
    pub(crate) now: Now,
}

impl Run {
    /// A fresh machine with the team known, at t = 1 s.
    pub(crate) fn known_team() -> Run {
        Run::with(Onboarding::new(TEAM, USER, OnboardingConfig::default()))
    }

    /// A fresh machine that learns its team from `auth.test`, at t = 1 s.
    pub(crate) fn awaiting_team() -> Run {
        Run::with(Onboarding::awaiting_team(USER, OnboardingConfig::default()))
    }

    pub(crate) fn with(m: Onboarding) -> Run {
        Run {
            m,
            now: Now::fake(1_000),
        }
    }

    /// Feed `input` now and drain every output. Checks the deadline contract on the way.
    pub(crate) fn feed(&mut self, input: Input) -> Vec<Out> {
        self.m.handle(self.now, input);
        let out = self.m.drain();
        if let Some(deadline) = self.m.poll_timeout() {
            assert!(
                deadline > self.now.mono,
                "deadline {deadline:?} not after {:?}",
                self.now
            );
        }
        out
    }

    /// Move the clock forward by `ms`.
    pub(crate) fn advance(&mut self, ms: u64) -> &mut Run {
        self.now = self.now.after(std::time::Duration::from_millis(ms));
        self
    }

    /// Jump to the armed deadline and deliver `Timeout` there.
    pub(crate) fn fire(&mut self) -> Vec<Out> {
        let deadline = self.m.poll_timeout().expect("a deadline is armed");
        self.now = self.now.advanced_to(deadline);
        self.feed(Input::Timeout)
    }

    /// Deliver `Timeout` 1 ms before the armed deadline: must be a no-op.
    pub(crate) fn fire_early(&mut self) -> Vec<Out> {
        let deadline = self.m.poll_timeout().expect("a deadline is armed");
        self.now = self.now.advanced_to(Millis(deadline.0 - 1));
        self.feed(Input::Timeout)
    }

    /// Milliseconds until the armed deadline.
    pub(crate) fn wait_ms(&self) -> u64 {
        self.m
            .poll_timeout()
            .expect("a deadline is armed")
            .since(self.now.mono)
    }

    /// The transition record expected now.
    pub(crate) fn tr(&self, from: &'static str, to: &'static str, event: &'static str) -> Out {
        Output::Transition(Transition::new(
            "onboarding",
            self.m.instance(),
            (from, to),
            event,
            self.now,
        ))
    }

    /// The ignored-input signal expected in `state`.
    pub(crate) fn ignored(state: &'static str, input: &'static str) -> Out {
        Output::Signal(Signal::Ignored {
            machine: "onboarding",
            state,
            input,
        })
    }

    /// Restart the process: snapshot, restore with the same config, deliver `Resumed`.
    pub(crate) fn restart(&mut self) -> Vec<Out> {
        let snapshot = self.m.snapshot();
        let config = self.m.config().clone();
        let instance = self.m.instance().to_string();
        self.m = Onboarding::restore(config, &instance, &snapshot).expect("restorable");
        self.feed(Input::Resumed)
    }

    /// Drive a known-team machine to `sending` (call 2 is the post).
    pub(crate) fn to_sending() -> Run {
        let mut r = Run::known_team();
        r.feed(Input::ChannelReady);
        r.feed(dm(
            1,
            OpenDmOutcome::Opened {
                channel: CHANNEL.into(),
            },
        ));
        assert_eq!(r.m.state_name(), "sending");
        r
    }

    /// Drive a known-team machine to `reconciling` after an ambiguous post (call 2).
    pub(crate) fn to_reconciling() -> Run {
        let mut r = Run::to_sending();
        r.feed(post(2, ambiguous("no_response")));
        assert_eq!(r.m.state_name(), "reconciling");
        r
    }

    /// Drive a known-team machine to `backoff` after a 429 on the post (call 2).
    pub(crate) fn to_backoff(retry_after_ms: u64) -> Run {
        let mut r = Run::to_sending();
        r.feed(post(
            2,
            PostOutcome::RateLimited {
                retry_after_ms: Some(retry_after_ms),
            },
        ));
        assert_eq!(r.m.state_name(), "backoff");
        r
    }

    /// Drive a known-team machine to `complete` (sent, call 2).
    pub(crate) fn to_complete() -> Run {
        let mut r = Run::to_sending();
        r.feed(post(2, PostOutcome::Sent { ts: TS.into() }));
        assert_eq!(r.m.state_name(), "complete");
        r
    }

    /// Drive a known-team machine to `failed` (permanent post error, call 2).
    pub(crate) fn to_failed() -> Run {
        let mut r = Run::to_sending();
        r.feed(post(
            2,
            PostOutcome::Permanent {
                code: "is_archived".into(),
            },
        ));
        assert_eq!(r.m.state_name(), "failed");
        r
    }
}

pub(crate) fn cmd(c: Command) -> Out {
    Output::Command(c)
}

pub(crate) fn attempt(outcome: IntroOutcome) -> Out {
    Output::Signal(Signal::IntroAttempt { outcome })
}

pub(crate) fn retry(delay_ms: u64) -> Out {
    Output::Signal(Signal::RetryScheduled {
        machine: "onboarding",
        delay_ms,
    })
}

/// The `delay_ms` of the only `RetryScheduled` signal in `out`.
pub(crate) fn retry_delay(out: &[Out]) -> u64 {
    let delays: Vec<u64> = out
        .iter()
        .filter_map(|o| match o {
            Output::Signal(Signal::RetryScheduled { delay_ms, .. }) => Some(*delay_ms),
            _ => None,
        })
        .collect();
    assert_eq!(delays.len(), 1, "one RetryScheduled in {out:?}");
    delays[0]
}

pub(crate) fn posts(out: &[Out]) -> usize {
    out.iter()
        .filter(|o| matches!(o, Output::Command(Command::PostIntro { .. })))
        .count()
}

pub(crate) fn marker() -> IntroMetadata {
    IntroMetadata::new(USER, TEAM)
}

pub(crate) fn post_cmd(call: u64) -> Out {
    cmd(Command::PostIntro {
        call: CallId(call),
        channel: CHANNEL.into(),
        text: OnboardingConfig::default().intro_text_for(USER),
        metadata: marker(),
    })
}

pub(crate) fn load_cmd() -> Out {
    cmd(Command::LoadRow {
        key: INSTANCE.into(),
    })
}

/// A machine that learned its team from `auth.test` (call 1) and waits for its ledger row.
pub(crate) fn loading() -> Run {
    let mut r = Run::awaiting_team();
    r.feed(Input::ChannelReady);
    let out = r.feed(auth(
        1,
        AuthOutcome::Ok {
            team_id: TEAM.into(),
        },
    ));
    assert_eq!(out, vec![load_cmd()]);
    r
}

pub(crate) fn open_cmd(call: u64) -> Out {
    cmd(Command::OpenDm {
        call: CallId(call),
        user: USER.into(),
    })
}

/// The first page of a history scan of a row that does not know when it first posted.
pub(crate) fn lookup_cmd(call: u64) -> Out {
    lookup_page(call, None, None)
}

/// A page of a history scan: `oldest` is 5 min before the first post (`Now::fake` ms), the
/// cursor the previous page's.
pub(crate) fn lookup_page(call: u64, first_post_ms: Option<u64>, cursor: Option<&str>) -> Out {
    let oldest = first_post_ms.map(|ms| {
        let unix = phantom_fsm::engine::FAKE_EPOCH_UNIX_MS + ms - 300_000;
        format!("{}.{:06}", unix / 1000, (unix % 1000) * 1000)
    });
    cmd(Command::LookupHistory {
        call: CallId(call),
        channel: CHANNEL.into(),
        oldest,
        limit: 15,
        cursor: cursor.map(str::to_string),
        marker: marker(),
    })
}

pub(crate) fn auth(call: u64, outcome: AuthOutcome) -> Input {
    Input::AuthTested {
        call: CallId(call),
        outcome,
    }
}

pub(crate) fn dm(call: u64, outcome: OpenDmOutcome) -> Input {
    Input::DmOpened {
        call: CallId(call),
        outcome,
    }
}

pub(crate) fn post(call: u64, outcome: PostOutcome) -> Input {
    Input::Posted {
        call: CallId(call),
        outcome,
    }
}

pub(crate) fn history(call: u64, outcome: HistoryOutcome) -> Input {
    Input::HistoryRead {
        call: CallId(call),
        outcome,
    }
}

pub(crate) fn ambiguous(reason: &str) -> PostOutcome {
    PostOutcome::Ambiguous {
        reason: reason.into(),
        retry_after_ms: None,
    }
}

/// A snapshot with exactly the ledger row's keys.
pub(crate) fn row(
    state: &str,
    attempts: u32,
    last_error: Option<&str>,
    channel: Option<&str>,
    ts: Option<&str>,
) -> Snapshot {
    Snapshot {
        state: state.into(),
        data: serde_json::json!({
            "attempts": attempts,
            "last_error": last_error,
            "channel": channel,
            "ts": ts,
            "generation": 0,
            "sending_since_unix_ms": null,
            "rejections": 0,
            "rejected_since_unix_ms": null,
        }),
    }
}

/// `snapshot` with its first post of this generation at `Now::fake(ms)`.
pub(crate) fn posted_at(mut snapshot: Snapshot, ms: u64) -> Snapshot {
    snapshot.data["sending_since_unix_ms"] =
        serde_json::json!(phantom_fsm::engine::FAKE_EPOCH_UNIX_MS + ms);
    snapshot
}
