//! The invariants of `onboarding_sequence`, checked after every step (`docs/onboarding.md` and
//! the onboarding issue):
//! 1. never `complete` without a confirmed post, a found marker or an operator's stamp;
//! 2. never a post once `complete` (until an operator resets);
//! 3. after an ambiguous outcome (or a restart with the post unanswered), never a post before
//!    a history lookup that came back not-found;
//! 4. posts that could have been stored <= 1 + not-found lookups, per operator epoch;
//! 5. every post follows its transition into `sending` in the same drain and nothing follows
//!    it (the shell commits `sending` before the request is written);
//! 6. transitions chain and are edges of the derived diagram; no deadline in the past;
//!    snapshots survive JSON and restore unchanged; no panic;
//! 7. after `auth.test` named the team, no `conversations.open` and no post before the
//!    ledger row was read (`LoadRow`, answered with the row the harness stored as the runtime
//!    does; a restart may start over from `auth.test` and that row);
//! 8. while every history answer was Slack's truth (real pages of the DM channel, 15 a page,
//!    behind any amount of chatter), Slack never holds two intros of one generation.

use super::{Call, Epoch, Harness, USER};
use crate::engine::{Machine, Output, Signal, Snapshot, Transition};
use crate::fuzzing::invariants;
use crate::onboarding::classify::{health_label, intro_outcome};
use crate::onboarding::{Command, IntroMetadata, MACHINE_ID, Onboarding, STATE_NAMES};

type Out = Output<Command>;

/// Post outcomes that prove nothing was stored.
const NOT_STORED_EVENTS: [&str; 3] = ["post_rate_limited", "post_not_stored", "post_permanent"];

/// What the checks need from before an input.
pub(super) struct Before {
    state: &'static str,
    attempts: u32,
}

impl Before {
    pub(super) fn of(m: &Onboarding) -> Before {
        Before {
            state: m.state_name(),
            attempts: m.attempts(),
        }
    }
}

/// Bookkeeping while scanning one drain.
#[derive(Default)]
struct Scan {
    /// The last transition of this drain entered `sending`.
    entered_sending: bool,
    /// A post was released: nothing may change state after it.
    posted: usize,
    /// A post answer was taken (a transition out of `sending` on `post_*`).
    post_answered: bool,
    reset: bool,
    attempts: Vec<crate::engine::IntroOutcome>,
}

impl Harness {
    fn fail(&self, what: &str) -> ! {
        panic!(
            "onboarding_sequence: step {} at {:?}, state {}: {what}\n  machine {:?}\n  epoch {:?}\n  calls {:?}\n  slack {:?}",
            self.summary.steps,
            self.now,
            self.m.state_name(),
            self.m,
            self.epoch,
            self.calls,
            self.slack,
        )
    }

    fn ensure(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.fail(&what());
        }
    }

    pub(super) fn check_outputs(&mut self, before: &Before, outputs: &[Out]) {
        let mut state = before.state;
        let mut scan = Scan::default();
        for out in outputs {
            match out {
                Output::Transition(t) => {
                    self.check_transition(state, t, &mut scan);
                    state = t.to;
                }
                Output::Command(c) => self.check_command(state, c, &mut scan),
                Output::Signal(Signal::IntroAttempt { outcome }) => scan.attempts.push(*outcome),
                Output::Signal(Signal::Ignored { state: s, .. }) => {
                    self.ensure(*s == state, || format!("ignored in {s} while in {state}"))
                }
                Output::Signal(_) => {}
            }
        }
        self.ensure(state == self.m.state_name(), || {
            format!("transitions end in {state}: {outputs:?}")
        });
        let expected: Vec<_> = match (&self.posted, scan.post_answered) {
            (Some(outcome), true) => vec![intro_outcome(outcome)],
            _ => vec![],
        };
        self.ensure(scan.attempts == expected, || {
            format!("IntroAttempt {:?}, expected {expected:?}", scan.attempts)
        });
        if !scan.reset && !self.adopting {
            let attempts = self.m.attempts();
            self.ensure(attempts == before.attempts + scan.posted as u32, || {
                format!(
                    "attempts {} -> {attempts} with {} posts",
                    before.attempts, scan.posted
                )
            });
        }
    }

    fn check_transition(&mut self, state: &'static str, t: &Transition, scan: &mut Scan) {
        self.ensure(scan.posted == 0, || {
            format!("{t} after the post was released")
        });
        if let Err(e) = invariants::transition(MACHINE_ID, self.m.instance(), state, self.now, t) {
            self.fail(&e);
        }
        self.summary
            .transitions
            .push(format!("{} -> {} ({})", t.from, t.to, t.event));
        scan.entered_sending = t.to == "sending";
        // Only an instance with a team has a ledger row: the epochs are the row's. A machine
        // that does not know its team yet (a fresh start) stamps or resets nothing stored, and
        // its stand-in generation means nothing until it has read the row.
        let row = !t.instance.starts_with("-/");
        if t.event == "reset" {
            if row {
                self.epoch = Epoch::default();
            }
            scan.reset = true;
        }
        if t.to == "complete" {
            // A stored `complete` row is one this epoch entered before the restart.
            let adopted = t.event == "row_loaded" && self.epoch.complete;
            self.ensure(
                adopted || ["post_sent", "history_found", "mark_complete"].contains(&t.event),
                || format!("{t}: complete without a confirmed post or a found marker"),
            );
            self.epoch.complete |= row;
        }
        if t.from == "sending" && t.event.starts_with("post_") {
            scan.post_answered = true;
        }
        if t.from == "sending" && NOT_STORED_EVENTS.contains(&t.event) {
            self.ensure(self.epoch.could_be_stored > 0, || {
                format!("{t}: no post out")
            });
            self.epoch.could_be_stored -= 1;
        }
        if (t.from == "sending" || t.event == "row_loaded") && t.to == "reconciling" {
            self.epoch.must_look = true;
        }
        if t.event == "history_not_found" {
            self.epoch.not_found += 1;
            self.epoch.must_look = false;
        }
    }

    fn check_command(&mut self, state: &'static str, c: &Command, scan: &mut Scan) {
        let (call, kind) = match c {
            Command::LoadRow { key } => {
                self.ensure(
                    self.m.team_id().is_some() && key == self.m.instance(),
                    || format!("LoadRow {key:?} for {}", self.m.instance()),
                );
                self.loading = true;
                return;
            }
            Command::AuthTest { call } => {
                self.ensure(self.m.team_id().is_none(), || {
                    "auth.test with the team known".into()
                });
                (*call, Call::Auth)
            }
            Command::OpenDm { call, user } => {
                self.ensure(user == USER, || format!("conversations.open for {user}"));
                self.ensure(!self.loading, || {
                    "conversations.open before the ledger row was read".into()
                });
                (*call, Call::Dm)
            }
            Command::PostIntro {
                call,
                channel,
                text,
                metadata,
            } => {
                self.check_post(state, scan);
                self.ensure(Some(channel.as_str()) == self.m.channel(), || {
                    format!(
                        "post to {channel:?}, the ledger's channel is {:?}",
                        self.m.channel()
                    )
                });
                self.ensure(*text == self.config.intro_text_for(USER), || {
                    "intro text".into()
                });
                self.ensure(Some(metadata) == self.marker().as_ref(), || {
                    format!("post marker {metadata:?}")
                });
                self.post_generations
                    .insert(*call, metadata.event_payload.generation);
                (*call, Call::Post)
            }
            Command::LookupHistory {
                call,
                channel,
                oldest,
                limit,
                cursor,
                marker,
            } => {
                self.queries.insert(
                    *call,
                    super::slack::Query {
                        oldest: oldest.clone(),
                        limit: *limit,
                        cursor: cursor.clone(),
                    },
                );
                self.ensure(Some(channel.as_str()) == self.m.channel(), || {
                    format!("history of {channel:?}")
                });
                self.ensure(*limit == self.config.history_limit, || {
                    format!("limit {limit}")
                });
                self.ensure(Some(marker) == self.marker().as_ref(), || {
                    format!("{marker:?}")
                });
                (*call, Call::History)
            }
        };
        self.ensure(call.0 > self.last_call, || {
            format!("call id {call:?} reused")
        });
        self.last_call = call.0;
        self.calls.insert(call, kind);
    }

    /// The heart of the ledger: when a post may go out.
    fn check_post(&mut self, state: &'static str, scan: &mut Scan) {
        self.ensure(!self.loading, || {
            "a post before the ledger row was read".into()
        });
        self.ensure(state == "sending" && scan.entered_sending, || {
            "a post not right behind its transition into sending".into()
        });
        self.ensure(!self.epoch.complete, || "a post once complete".into());
        self.ensure(!self.epoch.must_look, || {
            "a post after an ambiguous outcome, before a not-found lookup".into()
        });
        self.epoch.could_be_stored += 1;
        self.ensure(
            self.epoch.could_be_stored <= 1 + self.epoch.not_found,
            || "more posts that could be stored than 1 + not-found lookups".into(),
        );
        scan.posted += 1;
        self.summary.posts += 1;
    }

    fn marker(&self) -> Option<IntroMetadata> {
        self.m
            .team_id()
            .filter(|t| !t.is_empty())
            .map(|team| IntroMetadata::of_generation(USER, team, self.m.generation()))
    }

    pub(super) fn check_state(&mut self) {
        let state = self.m.state_name();
        self.ensure(STATE_NAMES.contains(&state), || {
            format!("unknown state {state}")
        });
        if let Some(at) = self.m.poll_timeout() {
            self.ensure(at > self.now.mono, || {
                format!("deadline {at:?} not in the future")
            });
        }
        self.ensure(self.m.health() == health_label(state), || {
            "health label".into()
        });
        if state == "complete" {
            self.ensure(self.m.channel().is_some() && self.m.ts().is_some(), || {
                "complete without channel and ts".into()
            });
        }
        self.summary.stored = self.slack.intros();
        // Before the row is read (team unknown, or `LoadRow` out) the generation is a stand-in.
        let generation = self.m.generation();
        let known = self.m.team_id().is_some() && !self.loading;
        self.ensure(!known || self.lied || self.slack.intros_of(generation) <= 1, || {
            format!("Slack holds two intros of generation {generation}, and every history answer was true")
        });
    }

    /// The snapshot survives JSON, and restoring it gives a machine with the same snapshot.
    pub(super) fn check_restore(&self) -> Onboarding {
        let snapshot = self.m.snapshot();
        self.ensure(snapshot.state == self.m.state_name(), || {
            format!("{snapshot:?}")
        });
        let json = serde_json::to_string(&snapshot).expect("snapshot serialises");
        let back: Snapshot = serde_json::from_str(&json).expect("snapshot parses");
        self.ensure(back == snapshot, || {
            format!("snapshot JSON round trip: {json}")
        });
        let restored = Onboarding::restore(self.config.clone(), self.m.instance(), &back)
            .unwrap_or_else(|e| self.fail(&format!("{json} does not restore: {e}")));
        self.ensure(restored.snapshot() == snapshot, || {
            format!("restored {:?} from {snapshot:?}", restored.snapshot())
        });
        self.ensure(restored.instance() == self.m.instance(), || {
            "instance".into()
        });
        restored
    }
}
