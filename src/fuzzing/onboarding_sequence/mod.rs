//! `onboarding_sequence`: arbitrary answers, timings, crashes and operator actions through
//! the pure [`Onboarding`] ledger machine, with a Slack beside it that remembers which intros
//! it stored, checking the ledger's invariants after every step (see `check.rs` and
//! `docs/testing.md`).
//!
//! Input grammar: a preset byte (even: the team is known; odd: it comes from `auth.test`), a
//! `u16` RNG seed, then steps (`step.rs`) until the bytes run out. Answers go to the call the machine
//! waits for most of the time, so random bytes reach `reconciling` and the crash windows.

mod check;
mod http;
mod seeds;
mod slack;
mod step;

use super::{bytes, clock};
use crate::engine::{Machine, Millis, Now, Output, Snapshot};
use crate::onboarding::{
    AuthOutcome, CallId, HistoryOutcome, Input, Onboarding, OnboardingConfig, OpenDmOutcome,
    PostOutcome, StoredRow, classify_auth, classify_open_dm,
};
use arbitrary::Unstructured;
use std::collections::BTreeMap;
use std::time::Duration;
use step::{Pick, Step};

pub use seeds::seeds;

/// The workspace, installer and DM channel of every scenario.
pub(crate) const TEAM: &str = "T0123ABCD";
pub(crate) const USER: &str = "U0123ABCD";
pub(crate) const CHANNEL: &str = "D0123ABCD";

/// Most steps of one scenario.
const MAX_STEPS: usize = 2_000;

/// What one scenario did, for the seed stories' own tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Steps applied.
    pub steps: usize,
    /// Every transition, as `from -> to (event)`.
    pub transitions: Vec<String>,
    /// `chat.postMessage` calls made.
    pub posts: usize,
    /// Intros Slack stored.
    pub stored: usize,
    /// Process restarts.
    pub restarts: usize,
    /// The leaf state at the end.
    pub final_state: &'static str,
}

/// The fuzz target's entry point: [`run`], discarding the summary.
pub fn run_bytes(data: &[u8]) {
    let _ = run(data);
}

/// Decode `data` into a scenario, run it, check every step.
///
/// # Panics
/// When an invariant breaks; the message names the step and the invariant.
pub fn run(data: &[u8]) -> Summary {
    let mut u = Unstructured::new(data);
    let preset = bytes::u8(&mut u);
    let config = OnboardingConfig {
        seed: u64::from(bytes::u16(&mut u)),
        ..OnboardingConfig::default()
    };
    let m = match preset % 2 {
        0 => Onboarding::new(TEAM, USER, config.clone()),
        _ => Onboarding::awaiting_team(USER, config.clone()),
    };
    let mut h = Harness::new(config, m);
    while !u.is_empty() && h.summary.steps < MAX_STEPS {
        let Ok(step) = Step::read(&mut u) else { break };
        h.summary.steps += 1;
        h.apply(step);
    }
    h.summary.final_state = h.m.state_name();
    h.summary
}

/// The Web API call a command asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Auth,
    Dm,
    Post,
    History,
}

/// The invariants' counters for one operator epoch (an operator `reset` starts a new one).
#[derive(Clone, Copy, Debug, Default)]
struct Epoch {
    /// Posts made, minus those answered with proof that nothing was stored.
    could_be_stored: u32,
    /// History lookups that came back not-found and were acted on.
    not_found: u32,
    /// A post may be stored and no lookup has come back not-found since.
    must_look: bool,
    /// `complete` was entered.
    complete: bool,
}

/// The machine, the clock, the calls out, Slack's memory and the invariants' counters.
struct Harness {
    config: OnboardingConfig,
    m: Onboarding,
    now: Now,
    /// Calls asked for and not answered in this process.
    calls: BTreeMap<CallId, Call>,
    last_call: u64,
    /// The DM channel as Slack holds it.
    slack: slack::Channel,
    /// The generation of each post call out (its marker's).
    post_generations: BTreeMap<CallId, u32>,
    /// What each history call out asked for.
    queries: BTreeMap<CallId, slack::Query>,
    /// A history answer that was not Slack's truth was delivered (then a duplicate intro
    /// may be the harness's fault, not the machine's).
    lied: bool,
    epoch: Epoch,
    /// The store's ledger row of the named instance, as the runtime keeps it: written with
    /// every drain that has a transition once the team is known, and with every drain after
    /// in the same life (or once this life read the row).
    row: Option<Snapshot>,
    /// This life of the machine wrote or read the row (a fresh start has not, until then).
    owns_row: bool,
    /// A stored row is being handed to the machine (its counters jump to the row's).
    adopting: bool,
    /// A `LoadRow` is out: the machine must open nothing and post nothing until it is
    /// answered (at the end of the drain that asked, with the truth: the only instance with a
    /// team here never wrote a row before `auth.test` named it).
    loading: bool,
    /// The post outcome being delivered (the `IntroAttempt` signal must match it).
    posted: Option<PostOutcome>,
    summary: Summary,
}

impl Harness {
    fn new(config: OnboardingConfig, m: Onboarding) -> Harness {
        Harness {
            config,
            m,
            now: Now::fake(0),
            calls: BTreeMap::new(),
            last_call: 0,
            slack: slack::Channel::default(),
            post_generations: BTreeMap::new(),
            queries: BTreeMap::new(),
            lied: false,
            epoch: Epoch::default(),
            loading: false,
            row: None,
            owns_row: false,
            adopting: false,
            posted: None,
            summary: Summary::default(),
        }
    }

    fn apply(&mut self, step: Step) {
        match step {
            Step::Advance { ms } => {
                self.now = clock::advance(self.now, Duration::from_millis(ms.into()))
            }
            Step::ToDeadline { offset } => {
                if let Some(at) = self.m.poll_timeout() {
                    let at = Millis(at.0.saturating_add(u64::from(offset % 3)).saturating_sub(1));
                    self.now = clock::advance_to(self.now, at);
                }
                self.deliver(Input::Timeout);
            }
            Step::AdvanceMinutes { minutes } => {
                self.now = clock::advance(self.now, Duration::from_secs(60 * u64::from(minutes)));
            }
            Step::ChannelReady => self.deliver(Input::ChannelReady),
            Step::Restart { stored } => self.restart(stored % 2 == 1, stored & 2 != 0),
            Step::Auth {
                call,
                kind,
                retry_after_ms,
            } => {
                let call = self.pick(call, Some(Call::Auth));
                let outcome = auth_outcome(kind, retry_after_ms);
                self.answer(call, Input::AuthTested { call, outcome });
            }
            Step::Dm {
                call,
                kind,
                retry_after_ms,
            } => {
                let call = self.pick(call, Some(Call::Dm));
                let outcome = dm_outcome(kind, retry_after_ms);
                self.answer(call, Input::DmOpened { call, outcome });
            }
            Step::Post {
                call,
                kind,
                stored,
                retry_after_ms,
            } => {
                let call = self.pick(call, Some(Call::Post));
                let outcome = self.post_outcome(kind, retry_after_ms);
                self.post_answer(call, outcome, stored % 2 == 1);
            }
            Step::History {
                call,
                kind,
                retry_after_ms,
            } => {
                let call = self.pick(call, Some(Call::History));
                let outcome = self.history_outcome(call, kind, retry_after_ms);
                self.answer(call, Input::HistoryRead { call, outcome });
            }
            Step::Http {
                call,
                result,
                status,
                retry_after,
                body,
                raw,
            } => {
                let call = self.pick(call, None);
                let reply = http::Reply::new(result, status, retry_after, body, &raw);
                self.http_answer(call, &reply, status & 0x80 != 0);
            }
            Step::Chatter { messages } => self.slack.chatter(self.now.unix, messages),
            Step::Reset => self.deliver(Input::Reset),
            Step::MarkComplete => self.deliver(Input::MarkComplete {
                channel: CHANNEL.to_string(),
                ts: "1767225600.999999".to_string(),
            }),
            Step::Timeout => self.deliver(Input::Timeout),
            Step::Raw { call, input } => self.raw(call, input),
        }
    }

    /// The latest call of `kind` still out for most values; else any call still out; else an
    /// id that may never have been issued.
    fn pick(&self, pick: Pick, kind: Option<Call>) -> CallId {
        let latest = self
            .calls
            .iter()
            .rev()
            .find(|(_, c)| kind.is_none_or(|k| **c == k))
            .map(|(id, _)| *id);
        let out: Vec<CallId> = self.calls.keys().copied().collect();
        match (pick.0, latest) {
            (0..200, Some(id)) => id,
            (b @ 0..232, _) if !out.is_empty() => out[usize::from(b) % out.len()],
            (b, _) => CallId(u64::from(b % 8)),
        }
    }

    fn answer(&mut self, call: CallId, input: Input) {
        self.calls.remove(&call);
        self.queries.remove(&call);
        self.deliver(input);
    }

    /// Slack stores a post it was sent (a call the machine really made) when the answer says
    /// so, or when an ambiguous answer hid that it did.
    fn post_answer(&mut self, call: CallId, outcome: PostOutcome, stored: bool) {
        let mut outcome = outcome;
        if let Some(generation) = self.post_generations.remove(&call) {
            match &mut outcome {
                PostOutcome::Sent { ts } => {
                    *ts = self.slack.store_intro(self.now.unix, generation);
                }
                PostOutcome::Ambiguous { .. } if stored => {
                    self.slack.store_intro(self.now.unix, generation);
                }
                _ => {}
            }
        }
        self.posted = Some(outcome.clone());
        self.answer(call, Input::Posted { call, outcome });
        self.posted = None;
    }

    fn http_answer(&mut self, call: CallId, reply: &http::Reply, stored: bool) {
        let result = reply.as_call_result();
        match self.calls.get(&call).copied().unwrap_or(Call::Post) {
            Call::Auth => {
                let outcome = classify_auth(&result);
                self.answer(call, Input::AuthTested { call, outcome });
            }
            Call::Dm => {
                let outcome = classify_open_dm(&result);
                self.answer(call, Input::DmOpened { call, outcome });
            }
            Call::Post => {
                let outcome = http::check_post(reply);
                self.post_answer(call, outcome, stored);
            }
            Call::History => {
                let marker = crate::onboarding::IntroMetadata::of_generation(
                    USER,
                    TEAM,
                    self.m.generation(),
                );
                let outcome = http::check_history(reply, &marker);
                self.lied = true;
                self.answer(call, Input::HistoryRead { call, outcome });
            }
        }
    }

    /// An `arbitrary`-derived input, re-targeted at a picked call.
    fn raw(&mut self, pick: Pick, input: Input) {
        let call = self.pick(pick, None);
        match input {
            Input::Resumed => self.restart(false, false),
            Input::AuthTested { outcome, .. } => {
                self.answer(call, Input::AuthTested { call, outcome })
            }
            Input::DmOpened { outcome, .. } => self.answer(call, Input::DmOpened { call, outcome }),
            Input::Posted { outcome, .. } => self.post_answer(call, outcome, false),
            Input::HistoryRead { outcome, .. } => {
                self.lied |= self.calls.contains_key(&call);
                self.answer(call, Input::HistoryRead { call, outcome })
            }
            other => self.deliver(other),
        }
    }

    fn post_outcome(&mut self, kind: u8, retry_after_ms: u16) -> PostOutcome {
        match kind % 5 {
            // The `ts` is Slack's, set when the answer is delivered.
            0 => PostOutcome::Sent { ts: String::new() },
            1 => PostOutcome::RateLimited {
                retry_after_ms: (retry_after_ms > 0).then_some(u64::from(retry_after_ms)),
            },
            2 => PostOutcome::NotStored {
                reason: "connect_error".into(),
            },
            3 => PostOutcome::Permanent {
                code: ["is_archived", "invalid_auth", "messages_tab_disabled"]
                    [usize::from(kind / 5) % 3]
                    .into(),
            },
            _ => PostOutcome::Ambiguous {
                reason: "no_response".into(),
                retry_after_ms: None,
            },
        }
    }

    /// `kind % 5`: 0 the truth (a real page of the DM channel for the call's query, through
    /// `classify_history`); 1 found and 2 not found (possibly lies); 3 transient; 4 permanent
    /// or rejected.
    fn history_outcome(&mut self, call: CallId, kind: u8, retry_after_ms: u16) -> HistoryOutcome {
        let retry_after_ms = (retry_after_ms > 0).then_some(u64::from(retry_after_ms));
        let truth = self.queries.get(&call).map(|query| {
            let body = self.slack.page(query);
            let marker =
                crate::onboarding::IntroMetadata::of_generation(USER, TEAM, self.m.generation());
            let reply = http::Reply::Response {
                status: 200,
                retry_after: None,
                body,
            };
            http::check_history(&reply, &marker)
        });
        if let (0, Some(truth)) = (kind % 5, truth) {
            return truth;
        }
        let real = self.calls.get(&call) == Some(&Call::History);
        let outcome = match kind % 5 {
            0 | 1 => HistoryOutcome::Found {
                ts: self
                    .slack
                    .first_intro(self.m.generation())
                    .unwrap_or("1767225600.000001")
                    .to_string(),
            },
            2 => HistoryOutcome::NotFound,
            3 => HistoryOutcome::Transient {
                retry_after_ms,
                reason: "http_503".into(),
            },
            _ if (kind / 5).is_multiple_of(2) => HistoryOutcome::Permanent {
                code: "missing_scope".into(),
            },
            _ => HistoryOutcome::Rejected {
                code: "some_new_code".into(),
            },
        };
        self.lied |= real
            && matches!(
                outcome,
                HistoryOutcome::Found { .. } | HistoryOutcome::NotFound
            );
        outcome
    }

    /// The process dies and starts again, with no call in flight; an unanswered post may have
    /// reached Slack. It restarts from the last snapshot (through its JSON), or, `fresh` and
    /// with the team known, as the runtime does: a machine that calls `auth.test` and is handed
    /// the stored row.
    fn restart(&mut self, stored: bool, fresh: bool) {
        if stored {
            // Every unanswered post reached Slack.
            for generation in std::mem::take(&mut self.post_generations).into_values() {
                self.slack.store_intro(self.now.unix, generation);
            }
        }
        let restored = self.check_restore();
        let fresh = fresh && self.m.team_id().is_some();
        self.m = match fresh {
            true => Onboarding::awaiting_team(USER, self.config.clone()),
            false => restored,
        };
        // A machine restored with its team is its row; a fresh one has not read it yet, and
        // one without a team has none.
        self.owns_row = !fresh && self.m.team_id().is_some() && self.row.is_some();
        self.calls.clear();
        self.post_generations.clear();
        self.queries.clear();
        self.last_call = 0;
        self.summary.restarts += 1;
        if !fresh {
            self.deliver(Input::Resumed);
        }
    }

    fn deliver(&mut self, input: Input) {
        let before = check::Before::of(&self.m);
        self.m.handle(self.now, input);
        let outputs = self.m.drain();
        self.check_outputs(&before, &outputs);
        self.check_state();
        self.adopting = false;
        let transitions = outputs.iter().any(|o| matches!(o, Output::Transition(_)));
        if self.m.team_id().is_some() && (transitions || self.owns_row) {
            self.row = Some(self.m.snapshot());
            self.owns_row = true;
        }
        if std::mem::take(&mut self.loading) {
            let row = self.row.as_ref().map(|row| {
                StoredRow::from_snapshot(row).expect("a row the machine wrote is a StoredRow")
            });
            self.adopting = row.is_some();
            self.owns_row = row.is_some();
            self.deliver(Input::RowLoaded { row });
        }
    }
}

fn auth_outcome(kind: u8, retry_after_ms: u16) -> AuthOutcome {
    match kind % 5 {
        0 => AuthOutcome::Ok {
            team_id: TEAM.into(),
        },
        1 => AuthOutcome::Ok {
            team_id: "T0/../x".into(),
        },
        2 => AuthOutcome::RateLimited {
            retry_after_ms: (retry_after_ms > 0).then_some(u64::from(retry_after_ms)),
        },
        3 => AuthOutcome::Transient {
            reason: "http_503".into(),
            retry_after_ms: None,
        },
        _ if (kind / 5).is_multiple_of(2) => AuthOutcome::Unrecoverable {
            code: "invalid_auth".into(),
        },
        _ => AuthOutcome::Rejected {
            code: "some_new_code".into(),
        },
    }
}

fn dm_outcome(kind: u8, retry_after_ms: u16) -> OpenDmOutcome {
    match kind % 4 {
        0 => OpenDmOutcome::Opened {
            channel: CHANNEL.into(),
        },
        1 => OpenDmOutcome::RateLimited {
            retry_after_ms: (retry_after_ms > 0).then_some(u64::from(retry_after_ms)),
        },
        2 => OpenDmOutcome::Transient {
            reason: "http_503".into(),
            retry_after_ms: None,
        },
        _ if (kind / 4).is_multiple_of(2) => OpenDmOutcome::Permanent {
            code: ["user_not_found", "user_not_visible", "invalid_auth"][usize::from(kind / 8) % 3]
                .into(),
        },
        _ => OpenDmOutcome::Rejected {
            code: "some_new_code".into(),
        },
    }
}
