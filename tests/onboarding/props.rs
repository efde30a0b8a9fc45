//! Property tests against a reference model (proptest-state-machine), over random outcome
//! sequences, crashes, operator actions and stale answers, with a simulated Slack that
//! answers history lookups truthfully.
//!
//! Invariants, checked after every step (the list, in one place):
//! 1. the machine's leaf state equals the model's; every transition chains from the previous
//!    state and is an edge of the derived diagram; commands come after transitions;
//! 2. never `complete` without a confirmed post, a found marker or an operator's stamp;
//! 3. never a post once `complete`;
//! 4. after an ambiguous outcome (or a crash with the post unanswered), never a post before a
//!    history lookup that came back not-found;
//! 5. posts that could have been stored <= 1 + not-found lookups (per operator epoch), and
//!    Slack never stores two intros in one epoch;
//! 6. no deadline in the past after `handle`; no panic.
//!
//! The simulated DM channel holds the installer's chatter and older generations' intros too,
//! served 15 messages a page: an intro behind a page of chatter is found only by following
//! the cursor, and an old generation's intro must never count as this one's.

use super::common::{CHANNEL, TEAM, TS, USER};
use phantom_fsm::engine::{Machine, Now, Output, Signal};
use phantom_fsm::fuzzing::invariants;
use phantom_fsm::onboarding::{
    AuthOutcome, CallId, Command, HistoryOutcome, Input, MACHINE_ID, Onboarding, OnboardingConfig,
    OpenDmOutcome, PostOutcome, RowState, StoredRow, Timer,
};
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};

/// The Web API call the machine waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Auth,
    /// The ledger row read (`LoadRow`): this store never holds a row of the named team
    /// before `auth.test` names it, so the truthful answer is "none".
    Load,
    Open,
    Post,
    History,
}

/// Answer classes by weight: `class % len` picks one, so deep runs stay likely.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Ok,
    RateLimited,
    Transient,
    Permanent,
    Ambiguous,
}

fn class_of(call: Call, raw: u8) -> Class {
    use Class::*;
    let table: &[Class] = match call {
        Call::Load => &[Ok],
        Call::Auth | Call::Open => &[Ok, Ok, Ok, RateLimited, Transient, Transient, Permanent],
        Call::Post => &[
            Ok,
            Ok,
            RateLimited,
            Transient,
            Transient,
            Permanent,
            Ambiguous,
            Ambiguous,
            Ambiguous,
        ],
        // `Ok` = the truthful answer (found or not found), `Permanent` = missing_scope.
        Call::History => &[Ok, Ok, Ok, Transient, Transient, Permanent],
    };
    table[usize::from(raw) % table.len()]
}

#[derive(Clone, Debug)]
pub(crate) enum Step {
    ChannelReady,
    /// Answer the call in flight; `stored` says whether an ambiguous post reached Slack.
    Answer {
        class: u8,
        stored: bool,
    },
    /// Jump to the armed deadline.
    Fire,
    /// A wake-up with no deadline due.
    Spurious,
    /// Kill the process (an unanswered post reached Slack if `stored`), restore, resume.
    Crash {
        stored: bool,
    },
    /// The installer writes `messages` messages in the DM channel.
    Chatter {
        messages: u8,
    },
    Reset,
    MarkComplete,
    /// An answer to a call nobody waits for.
    Stale,
}

/// The reference model: what the machine must be doing.
#[derive(Clone, Debug)]
pub(crate) struct Model {
    seed: u64,
    team_at_start: bool,
    state: &'static str,
    team: bool,
    dm: bool,
    ready: bool,
    awaiting: Option<Call>,
    timer: Option<Timer>,
    /// The DM channel, newest first: `true` is an intro of this epoch's generation.
    channel: Vec<bool>,
    /// The history page the scan is at.
    page: usize,
    /// A complete scan found nothing; the next one decides.
    not_found_once: bool,
}

/// Slack's page size for non-Marketplace apps.
const PAGE: usize = 15;

/// What a truthful history page says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Page {
    Found,
    More,
    NotFound,
}

fn read_page(channel: &[bool], page: usize) -> Page {
    let start = (page * PAGE).min(channel.len());
    let end = (start + PAGE).min(channel.len());
    match (channel[start..end].contains(&true), end < channel.len()) {
        (true, _) => Page::Found,
        (false, true) => Page::More,
        (false, false) => Page::NotFound,
    }
}

impl Model {
    /// `reconciling` waits to settle, then scans from the first page, needing two not-found
    /// scans again.
    fn settle(&mut self) {
        self.page = 0;
        self.not_found_once = false;
        self.go("reconciling", None, Some(Timer::RetryReconcile));
    }

    fn history_found(&mut self) {
        match read_page(&self.channel, self.page) {
            Page::Found => self.go("complete", None, None),
            Page::More => {
                self.page += 1;
                self.awaiting = Some(Call::History);
            }
            Page::NotFound if self.not_found_once => {
                self.page = 0;
                self.not_found_once = false;
                self.go("sending", Some(Call::Post), None);
            }
            Page::NotFound => {
                self.page = 0;
                self.not_found_once = true;
                self.go("reconciling", None, Some(Timer::RetryReconcile));
            }
        }
    }

    fn start(&self) -> Call {
        if self.team { Call::Open } else { Call::Auth }
    }

    fn go(&mut self, state: &'static str, awaiting: Option<Call>, timer: Option<Timer>) {
        self.state = state;
        self.awaiting = awaiting;
        self.timer = timer;
    }

    fn answer(&mut self, call: Call, class: Class, stored: bool) {
        use Class::*;
        let reconciling = self.state == "reconciling";
        match (call, class) {
            (Call::Auth, Ok) => {
                self.team = true;
                self.awaiting = Some(Call::Load);
            }
            (Call::Load, _) => self.awaiting = Some(Call::Open),
            (Call::Auth, RateLimited | Transient) => {
                self.go("pending", None, Some(Timer::RetryAuth))
            }
            (Call::Open, Ok) if reconciling => {
                self.dm = true;
                self.awaiting = Some(Call::History);
            }
            (Call::Open, Ok) => {
                self.dm = true;
                self.go("sending", Some(Call::Post), None);
            }
            (Call::Open, RateLimited | Transient) if reconciling => {
                self.go("reconciling", None, Some(Timer::RetryReconcile))
            }
            (Call::Open, RateLimited | Transient) => {
                self.go("backoff", None, Some(Timer::RetrySend))
            }
            (Call::Post, Ok) => {
                self.channel.insert(0, true);
                self.go("complete", None, None);
            }
            (Call::Post, RateLimited | Transient) => {
                self.go("backoff", None, Some(Timer::RetrySend))
            }
            (Call::Post, Ambiguous) => {
                if stored {
                    self.channel.insert(0, true);
                }
                self.settle();
            }
            (Call::History, Ok) => self.history_found(),
            (Call::History, Transient) => self.go("reconciling", None, Some(Timer::RetryReconcile)),
            (_, Permanent) => self.go("failed", None, None),
            // The class tables give no other combination.
            (Call::Auth | Call::Open | Call::History, Ambiguous) | (Call::History, RateLimited) => {
                unreachable!("{call:?} {class:?}")
            }
        }
    }

    fn fire(&mut self, timer: Timer) {
        match timer {
            Timer::RetryAuth => self.awaiting = Some(Call::Auth),
            Timer::RetrySend if self.dm => self.go("sending", Some(Call::Post), None),
            Timer::RetrySend => self.go("pending", Some(self.start()), None),
            Timer::RetryReconcile => {
                self.awaiting = Some(if self.dm { Call::History } else { Call::Open })
            }
        }
    }

    fn crash(&mut self) {
        self.ready = false;
        self.awaiting = None;
        self.timer = match self.state {
            "sending" | "reconciling" => Some(Timer::RetryReconcile),
            "backoff" => Some(Timer::RetrySend),
            _ => None,
        };
        if matches!(self.state, "sending" | "reconciling") {
            self.settle();
        }
    }

    fn reset(&mut self) {
        self.dm = false;
        // A new generation: the old intros are no longer this epoch's.
        self.channel.iter_mut().for_each(|m| *m = false);
        self.page = 0;
        self.not_found_once = false;
        let start = self.ready.then(|| self.start());
        self.go("pending", start, None);
    }
}

pub(crate) struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Model> {
        (any::<u64>(), any::<bool>())
            .prop_map(|(seed, team)| Model {
                seed,
                team_at_start: team,
                state: "pending",
                team,
                dm: false,
                ready: false,
                awaiting: None,
                timer: None,
                channel: Vec::new(),
                page: 0,
                not_found_once: false,
            })
            .boxed()
    }

    fn transitions(_: &Model) -> BoxedStrategy<Step> {
        prop_oneof![
            2 => Just(Step::ChannelReady),
            10 => (any::<u8>(), any::<bool>()).prop_map(|(class, stored)| Step::Answer { class, stored }),
            5 => Just(Step::Fire),
            1 => Just(Step::Spurious),
            2 => any::<bool>().prop_map(|stored| Step::Crash { stored }),
            2 => (0u8..20).prop_map(|messages| Step::Chatter { messages }),
            1 => Just(Step::Reset),
            1 => Just(Step::MarkComplete),
            1 => Just(Step::Stale),
        ]
        .boxed()
    }

    fn apply(mut s: Model, step: &Step) -> Model {
        match step {
            Step::ChannelReady => {
                let idle = s.state == "pending" && s.awaiting.is_none() && s.timer.is_none();
                s.ready = true;
                if idle {
                    s.awaiting = Some(s.start());
                }
            }
            Step::Answer { class, stored } => {
                if let Some(call) = s.awaiting {
                    s.answer(call, class_of(call, *class), *stored);
                }
            }
            Step::Fire => {
                if let Some(timer) = s.timer.take() {
                    s.fire(timer);
                }
            }
            Step::Crash { stored } => {
                if s.awaiting == Some(Call::Post) && *stored {
                    s.channel.insert(0, true);
                }
                s.crash();
            }
            Step::Chatter { messages } => {
                for _ in 0..*messages {
                    s.channel.insert(0, false);
                }
            }
            Step::Reset if s.state != "pending" => s.reset(),
            // Nothing is acted on before the ledger row is read.
            Step::MarkComplete if s.state != "complete" && s.awaiting != Some(Call::Load) => {
                s.dm = true;
                s.go("complete", None, None);
            }
            Step::Reset | Step::MarkComplete | Step::Spurious | Step::Stale => {}
        }
        s
    }
}

/// The machine under test, its clock, the call in flight and the invariant trackers.
pub(crate) struct Sut {
    m: Onboarding,
    now: Now,
    awaiting: Option<(Call, CallId)>,
    /// The DM channel, newest first: `true` is an intro of the current generation (the
    /// marker's generation is checked on every post).
    channel: Vec<bool>,
    /// The cursor of the history call in flight.
    cursor: Option<String>,
    /// Intros Slack stored since the last operator reset.
    stored_in_epoch: u32,
    /// A post went out and nothing since proved it was not stored or found it.
    unresolved_post: bool,
    /// A post was confirmed, the marker found, or an operator stamped it.
    confirmed: bool,
    possibly_stored: u32,
    not_found: u32,
}

impl Sut {
    fn new(model: &Model) -> Sut {
        // Every second scan here comes after a deadline, so with no gap the model knows it
        // decides; the 60 s gap has its own scripted test.
        let config = OnboardingConfig {
            seed: model.seed,
            resend_confirm_gap: std::time::Duration::ZERO,
            ..OnboardingConfig::default()
        };
        let m = match model.team_at_start {
            true => Onboarding::new(TEAM, USER, config),
            false => Onboarding::awaiting_team(USER, config),
        };
        Sut {
            m,
            now: Now::fake(0),
            awaiting: None,
            channel: Vec::new(),
            cursor: None,
            stored_in_epoch: 0,
            unresolved_post: false,
            confirmed: false,
            possibly_stored: 0,
            not_found: 0,
        }
    }

    fn store(&mut self) {
        self.channel.insert(0, true);
        self.stored_in_epoch += 1;
    }

    fn new_epoch(&mut self) {
        self.channel.iter_mut().for_each(|m| *m = false);
        self.stored_in_epoch = 0;
        self.unresolved_post = false;
        self.confirmed = false;
        self.possibly_stored = 0;
        self.not_found = 0;
    }

    /// The concrete answer to `call` of class `class`, updating the simulated Slack.
    fn answer(&mut self, call: Call, id: CallId, class: Class, stored: bool) -> Input {
        let reason = || "no_response".to_string();
        let code = || "invalid_auth".to_string();
        let retry_after_ms = Some(1_500);
        match call {
            Call::Auth => Input::AuthTested {
                call: id,
                outcome: match class {
                    Class::Ok => AuthOutcome::Ok {
                        team_id: TEAM.into(),
                    },
                    Class::RateLimited => AuthOutcome::RateLimited { retry_after_ms },
                    Class::Transient => AuthOutcome::Transient {
                        reason: reason(),
                        retry_after_ms: None,
                    },
                    _ => AuthOutcome::Unrecoverable { code: code() },
                },
            },
            Call::Load => Input::RowLoaded { row: None },
            Call::Open => Input::DmOpened {
                call: id,
                outcome: match class {
                    Class::Ok => OpenDmOutcome::Opened {
                        channel: CHANNEL.into(),
                    },
                    Class::RateLimited => OpenDmOutcome::RateLimited { retry_after_ms },
                    Class::Transient => OpenDmOutcome::Transient {
                        reason: reason(),
                        retry_after_ms: None,
                    },
                    _ => OpenDmOutcome::Permanent { code: code() },
                },
            },
            Call::Post => Input::Posted {
                call: id,
                outcome: self.post_outcome(class, stored),
            },
            Call::History => Input::HistoryRead {
                call: id,
                outcome: self.history_outcome(class),
            },
        }
    }

    fn post_outcome(&mut self, class: Class, stored: bool) -> PostOutcome {
        if class != Class::Ambiguous {
            self.unresolved_post = false;
        }
        match class {
            Class::Ok => {
                self.store();
                self.confirmed = true;
                PostOutcome::Sent { ts: TS.into() }
            }
            Class::Ambiguous => {
                if stored {
                    self.store();
                }
                PostOutcome::Ambiguous {
                    reason: "http_503".into(),
                    retry_after_ms: None,
                }
            }
            other => {
                self.possibly_stored -= 1;
                match other {
                    Class::RateLimited => PostOutcome::RateLimited {
                        retry_after_ms: Some(1_500),
                    },
                    Class::Transient => PostOutcome::NotStored {
                        reason: "connect_error".into(),
                    },
                    _ => PostOutcome::Permanent {
                        code: "is_archived".into(),
                    },
                }
            }
        }
    }

    /// The truthful answer for the page at the call's cursor (an offset, as this Slack
    /// writes its cursors).
    fn history_outcome(&mut self, class: Class) -> HistoryOutcome {
        let offset: usize = self.cursor.as_deref().map_or(0, |c| c.parse().unwrap());
        assert_eq!(offset % PAGE, 0, "cursor {offset}");
        match class {
            Class::Ok => match read_page(&self.channel, offset / PAGE) {
                Page::Found => {
                    self.confirmed = true;
                    HistoryOutcome::Found { ts: TS.into() }
                }
                Page::More => HistoryOutcome::NextPage {
                    cursor: (offset + PAGE).to_string(),
                },
                Page::NotFound => {
                    self.not_found += 1;
                    self.unresolved_post = false;
                    HistoryOutcome::NotFound
                }
            },
            Class::Transient => HistoryOutcome::Transient {
                retry_after_ms: None,
                reason: "http_500".into(),
            },
            _ => HistoryOutcome::Permanent {
                code: "missing_scope".into(),
            },
        }
    }

    fn feed(&mut self, input: Input) -> Vec<Output<Command>> {
        self.m.handle(self.now, input);
        let out = self.m.drain();
        if let Some(deadline) = self.m.poll_timeout() {
            assert!(deadline > self.now.mono, "deadline in the past");
        }
        out
    }

    /// Check the outputs of one step against invariants 1-5, and track the call in flight.
    fn check(&mut self, before: &'static str, out: &[Output<Command>]) {
        invariants::onboarding::commands_after_transitions(out).unwrap_or_else(|e| panic!("{e}"));
        let mut current = before;
        for o in out {
            match o {
                Output::Transition(t) => {
                    invariants::transition(MACHINE_ID, self.m.instance(), current, self.now, t)
                        .unwrap_or_else(|e| panic!("{e}"));
                    if t.to == "complete" {
                        assert!(self.confirmed, "complete without confirmation: {t}");
                    }
                    current = t.to;
                    // Leaving a state abandons its call; a command below names the next one.
                    self.awaiting = None;
                }
                Output::Command(c) => self.on_command(before, current, c),
                Output::Signal(_) => {}
            }
        }
        assert_eq!(current, self.m.state_name());
    }

    fn on_command(&mut self, before: &str, current: &str, c: &Command) {
        let (call, id) = match c {
            Command::AuthTest { call } => (Call::Auth, *call),
            Command::LoadRow { key } => {
                assert_eq!(key, self.m.instance());
                (Call::Load, CallId(0))
            }
            Command::OpenDm { .. } | Command::PostIntro { .. }
                if matches!(self.awaiting, Some((Call::Load, _))) =>
            {
                panic!("{c:?} before the ledger row was read")
            }
            Command::OpenDm { call, .. } => (Call::Open, *call),
            Command::LookupHistory {
                call,
                cursor,
                limit,
                ..
            } => {
                assert_eq!(*limit as usize, PAGE);
                self.cursor = cursor.clone();
                (Call::History, *call)
            }
            Command::PostIntro { call, .. } => {
                assert_ne!(before, "complete", "a post once complete");
                assert_eq!(current, "sending", "a post outside sending");
                assert!(!self.unresolved_post, "a post before a not-found lookup");
                self.unresolved_post = true;
                self.possibly_stored += 1;
                assert!(self.possibly_stored <= 1 + self.not_found);
                (Call::Post, *call)
            }
        };
        self.awaiting = Some((call, id));
    }
}

impl StateMachineTest for Sut {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(model: &Model) -> Sut {
        Sut::new(model)
    }

    fn apply(mut sut: Sut, model: &Model, step: Step) -> Sut {
        let before = sut.m.state_name();
        let out = match step {
            Step::ChannelReady => sut.feed(Input::ChannelReady),
            Step::Answer { class, stored } => match sut.awaiting.take() {
                Some((call, id)) => {
                    let input = sut.answer(call, id, class_of(call, class), stored);
                    sut.feed(input)
                }
                None => Vec::new(),
            },
            Step::Fire => match sut.m.poll_timeout() {
                Some(deadline) => {
                    sut.now = sut.now.advanced_to(deadline);
                    sut.feed(Input::Timeout)
                }
                None => Vec::new(),
            },
            Step::Spurious => {
                let out = sut.feed(Input::Timeout);
                assert_eq!(out, vec![], "a spurious wake-up changes nothing");
                out
            }
            Step::Crash { stored } => {
                if stored && matches!(sut.awaiting, Some((Call::Post, _))) {
                    sut.store();
                }
                sut.awaiting = None;
                let (config, instance) = (sut.m.config().clone(), sut.m.instance().to_string());
                sut.m = Onboarding::restore(config, &instance, &sut.m.snapshot()).unwrap();
                sut.feed(Input::Resumed)
            }
            Step::Chatter { messages } => {
                for _ in 0..messages {
                    sut.channel.insert(0, false);
                }
                Vec::new()
            }
            Step::Reset => {
                if before != "pending" {
                    sut.new_epoch();
                }
                sut.feed(Input::Reset)
            }
            Step::MarkComplete => {
                if before != "complete" && !matches!(sut.awaiting, Some((Call::Load, _))) {
                    sut.confirmed = true;
                }
                sut.feed(Input::MarkComplete {
                    channel: CHANNEL.into(),
                    ts: TS.into(),
                })
            }
            Step::Stale => {
                let out = sut.feed(Input::Posted {
                    call: CallId(u64::MAX),
                    outcome: PostOutcome::Sent { ts: TS.into() },
                });
                let ignored = Signal::Ignored {
                    machine: "onboarding",
                    state: before,
                    input: "post_sent",
                };
                assert_eq!(out, vec![Output::Signal(ignored)]);
                out
            }
        };
        sut.check(before, &out);
        assert_eq!(sut.m.state_name(), model.state, "machine vs model");
        assert_eq!(sut.awaiting.map(|(call, _)| call), model.awaiting);
        assert_eq!(sut.m.next_timer().map(|(t, _)| t), model.timer);
        sut
    }

    fn check_invariants(sut: &Sut, _: &Model) {
        assert!(sut.stored_in_epoch <= 1, "two intros stored in one epoch");
        if sut.m.state_name() == "complete" {
            assert!(sut.m.ts().is_some() && sut.m.channel().is_some());
        }
        assert!(sut.possibly_stored <= 1 + sut.not_found);
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    #[test]
    fn the_machine_follows_the_model_and_never_double_posts(sequential 1..80 => Sut);
}

fn any_input() -> impl Strategy<Value = Input> {
    let call = (0u64..6).prop_map(CallId);
    let text = "[a-z_0-9.]{0,6}";
    prop_oneof![
        Just(Input::ChannelReady),
        Just(Input::Timeout),
        Just(Input::Resumed),
        Just(Input::Reset),
        Just(Input::RowLoaded { row: None }),
        (0..RowState::ALL.len(), text).prop_map(|(state, channel)| Input::RowLoaded {
            row: Some(StoredRow {
                state: RowState::ALL[state],
                attempts: 1,
                last_error: None,
                channel: Some(channel),
                ts: Some(TS.into()),
                generation: 0,
                sending_since_unix_ms: None,
                rejections: 0,
                rejected_since_unix_ms: None,
                retry_at_unix_ms: Some(u64::MAX),
            })
        }),
        (text, text).prop_map(|(channel, ts)| Input::MarkComplete { channel, ts }),
        (call.clone(), text).prop_map(|(call, team_id)| Input::AuthTested {
            call,
            outcome: AuthOutcome::Ok { team_id },
        }),
        (call.clone(), text).prop_map(|(call, channel)| Input::DmOpened {
            call,
            outcome: OpenDmOutcome::Opened { channel },
        }),
        (call.clone(), proptest::option::of(any::<u64>())).prop_map(|(call, retry_after_ms)| {
            Input::Posted {
                call,
                outcome: PostOutcome::RateLimited { retry_after_ms },
            }
        }),
        (call.clone(), text).prop_map(|(call, reason)| Input::Posted {
            call,
            outcome: PostOutcome::Ambiguous {
                reason,
                retry_after_ms: None
            },
        }),
        (call.clone(), text).prop_map(|(call, ts)| Input::Posted {
            call,
            outcome: PostOutcome::Sent { ts },
        }),
        call.clone().prop_map(|call| Input::HistoryRead {
            call,
            outcome: HistoryOutcome::NotFound,
        }),
        (call, proptest::option::of(any::<u64>())).prop_map(|(call, retry_after_ms)| {
            Input::HistoryRead {
                call,
                outcome: HistoryOutcome::Transient {
                    retry_after_ms,
                    reason: String::new(),
                },
            }
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary inputs (wrong call ids, huge Retry-After, odd strings) at arbitrary times:
    /// no panic, deadlines never in the past, transitions chain along diagram edges.
    #[test]
    fn arbitrary_inputs_keep_the_contract(
        team in any::<bool>(),
        steps in proptest::collection::vec((0u64..400_000, any_input()), 1..60),
    ) {
        let config = OnboardingConfig::default();
        let mut m = match team {
            true => Onboarding::new(TEAM, USER, config),
            false => Onboarding::awaiting_team(USER, config),
        };
        let mut now = Now::fake(0);
        for (dt, input) in steps {
            now = now.after(std::time::Duration::from_millis(dt));
            let mut current = m.state_name();
            m.handle(now, input);
            for o in m.drain() {
                if let Output::Transition(t) = o {
                    let to = invariants::transition(MACHINE_ID, m.instance(), current, now, &t);
                    prop_assert!(to.is_ok(), "{:?}", to);
                    current = t.to;
                }
            }
            prop_assert_eq!(current, m.state_name());
            if let Some(deadline) = m.poll_timeout() {
                prop_assert!(deadline > now.mono);
            }
        }
    }
}
