//! [`Onboarding`]: the statig machine wrapped in the engine's [`Machine`] contract.

use super::config::OnboardingConfig;
use super::core::{Core, Event, Ledger, Outbox, State, UNKNOWN_TEAM, valid_id};
use super::io::{Command, Input};
use super::timer::Timer;
use super::{MACHINE_ID, classify, explore, snapshot};
use crate::engine::{
    InputName, Machine, Millis, Now, Output, RestoreError, Snapshot, StateNode, TimerKind as _,
};
use statig::blocking::{InitializedStateMachine, IntoStateMachineExt as _};

/// The onboarding ledger machine for one installer: sends the intro DM exactly once, through
/// restarts, crashes, rate limits and ambiguous replies.
///
/// Pure and sans-IO: feed inputs with [`handle`](Machine::handle), then drain
/// [`poll_output`](Machine::poll_output) and sleep until [`poll_timeout`](Machine::poll_timeout)
/// or the next input.
///
/// # The instance id and `auth.test`
/// The instance id is `<team_id>/<installer_user_id>`, and the team comes from `auth.test`.
/// [`Onboarding::new`] starts with the team known. [`Onboarding::awaiting_team`] starts without
/// it (instance `-/<installer>`): on `channel_ready` it asks for `auth.test`, and `auth_ok`
/// fixes the instance id *before* any transition, so every ledger row and journal row of a
/// normal run carries the real team. A transient `auth.test` failure is retried in `pending`
/// without any transition (no row is created). Only an unrecoverable `auth.test` failure
/// transitions with the team unknown (`pending -> failed` on `-/<installer>`); the shell
/// should not persist rows of an instance whose [`team_id`](Onboarding::team_id) is `None`, so
/// the next start tries again with whatever token it is given.
///
/// On `auth_ok`, the shell first looks up the ledger row `<team_id>/<installer>`: if it
/// exists, it [`resume`](Machine::resume)s from that row (and feeds `channel_ready`) instead of
/// handing the answer to this machine.
///
/// ```
/// use phantom_fsm::engine::{Machine, Now, Output};
/// use phantom_fsm::onboarding::{Command, Input, Onboarding, OnboardingConfig};
///
/// let mut m = Onboarding::new("T1", "U1", OnboardingConfig::default());
/// m.handle(Now::fake(0), Input::ChannelReady);
/// assert!(matches!(
///     m.drain().as_slice(),
///     [Output::Command(Command::OpenDm { user, .. })] if user == "U1"
/// ));
/// ```
#[derive(Clone)]
pub struct Onboarding {
    sm: InitializedStateMachine<Core>,
    out: Outbox,
}

impl std::fmt::Debug for Onboarding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Onboarding")
            .field("instance", &self.instance())
            .field("state", self.sm.state())
            .field("ledger", &self.sm.inner().ledger)
            .field("timers", &self.out.timers)
            .finish_non_exhaustive()
    }
}

impl Onboarding {
    /// A fresh machine in `pending` for `installer_user_id` in `team_id`.
    ///
    /// Ids are Slack ids (`T..`, `U..`) and must not contain `/`.
    pub fn new(team_id: &str, installer_user_id: &str, config: OnboardingConfig) -> Onboarding {
        Self::build(
            Core::new(config, installer_user_id, Some(team_id), Ledger::default()),
            None,
        )
    }

    /// A fresh machine in `pending` whose team is not known yet: it calls `auth.test` first
    /// (see the type's docs).
    pub fn awaiting_team(installer_user_id: &str, config: OnboardingConfig) -> Onboarding {
        Self::build(
            Core::new(config, installer_user_id, None, Ledger::default()),
            None,
        )
    }

    /// Initialise `core` (into a discarded outbox: entry actions emit nothing, and nothing of
    /// an init may leak), then put it into `state` if given, without entry actions.
    fn build(core: Core, state: Option<State>) -> Onboarding {
        let mut scratch = Outbox::default();
        let mut sm = core
            .uninitialized_state_machine()
            .init_with_context(&mut scratch);
        if let Some(state) = state {
            // SAFETY: `state_mut` is `unsafe` only because it skips entry/exit actions, which
            // is what a restore wants; our actions merely disarm timers, and none are armed.
            unsafe { *sm.state_mut() = state };
        }
        Onboarding {
            sm,
            out: Outbox::default(),
        }
    }

    /// The installer's user id.
    pub fn installer(&self) -> &str {
        &self.sm.inner().installer
    }

    /// The team id, once known (from [`Onboarding::new`], a restored instance id, or
    /// `auth.test`).
    pub fn team_id(&self) -> Option<&str> {
        self.sm.inner().team.as_deref()
    }

    /// Posts attempted so far (the ledger row's `attempts`).
    pub fn attempts(&self) -> u32 {
        self.sm.inner().ledger.attempts
    }

    /// The last failure (the ledger row's `last_error`).
    pub fn last_error(&self) -> Option<&str> {
        self.sm.inner().ledger.last_error.as_deref()
    }

    /// The DM channel, once opened (the ledger row's `channel`).
    pub fn channel(&self) -> Option<&str> {
        self.sm.inner().ledger.channel.as_deref()
    }

    /// The intro's `ts`, once confirmed (the ledger row's `ts`).
    pub fn ts(&self) -> Option<&str> {
        self.sm.inner().ledger.ts.as_deref()
    }

    /// Whether `channel_ready` was received since this machine was built.
    pub fn channel_ready(&self) -> bool {
        self.out.channel_ready
    }

    /// The next deadline with the timer that owns it, for logs ("why will it wake").
    pub fn next_timer(&self) -> Option<(Timer, Millis)> {
        self.out.timers.next()
    }

    /// The `/health` `"onboarding"` value of the current state.
    pub fn health(&self) -> &'static str {
        classify::health_label(self.state_name())
    }

    pub(crate) fn state(&self) -> &State {
        self.sm.state()
    }

    /// Dispatch one event through statig, then put its commands behind its transition.
    fn dispatch(&mut self, name: &'static str, event: Event) {
        self.out.event = name;
        self.out.state = self.sm.state().name();
        self.sm.handle_with_context(&event, &mut self.out);
        self.out.flush_commands();
    }

    /// Fire every deadline at or before `now`, earliest first. Every deadline armed while
    /// firing lies after `now`, so this ends; afterwards no deadline is in the past.
    fn fire_expired(&mut self, now: Now) {
        while let Some(timer) = self.out.timers.expired(now.mono) {
            self.out.timers.clear(timer);
            self.dispatch(timer.name(), Event::Fired(timer));
        }
    }
}

impl Machine for Onboarding {
    type Input = Input;
    type Command = Command;
    type Config = OnboardingConfig;

    const ID: &'static str = MACHINE_ID;
    const LEAVES: &'static [StateNode] = &[
        StateNode::new("pending", Some("incomplete")),
        StateNode::new("sending", Some("unconfirmed")),
        StateNode::new("backoff", Some("incomplete")),
        StateNode::new("reconciling", Some("unconfirmed")),
        StateNode::new("complete", Some("settled")),
        StateNode::new("failed", Some("settled")),
    ];
    const SUPERSTATES: &'static [StateNode] = &[
        StateNode::new("incomplete", None),
        StateNode::new("unconfirmed", Some("incomplete")),
        StateNode::new("settled", None),
    ];
    const INITIAL: &'static str = "pending";

    fn instance(&self) -> &str {
        &self.sm.inner().instance
    }

    fn config(&self) -> &OnboardingConfig {
        &self.sm.inner().config
    }

    fn state_name(&self) -> &'static str {
        self.sm.state().name()
    }

    /// Handle `input` at `now`, then fire any deadline that expired by `now` (the input
    /// first: an operator's reset or mark-complete cancels a retry that was due).
    fn handle(&mut self, now: Now, input: Input) {
        self.out.now = now;
        match input {
            Input::Timeout => {}
            input => {
                if input == Input::ChannelReady {
                    self.out.channel_ready = true;
                }
                self.dispatch(input.name(), Event::Input(input));
            }
        }
        self.fire_expired(now);
    }

    fn poll_output(&mut self) -> Option<Output<Command>> {
        self.out.outputs.pop_front()
    }

    fn poll_timeout(&self) -> Option<Millis> {
        self.out.timers.next().map(|(_, at)| at)
    }

    fn resumed() -> Input {
        Input::Resumed
    }

    fn snapshot(&self) -> Snapshot {
        snapshot::snapshot(self.sm.state(), &self.sm.inner().ledger)
    }

    /// Restore from `instance` (`<team_id>/<installer>`, or `-/<installer>`) and a snapshot.
    fn restore(
        config: OnboardingConfig,
        instance: &str,
        snap: &Snapshot,
    ) -> Result<Onboarding, RestoreError> {
        let bad_instance = || RestoreError::BadData {
            machine: MACHINE_ID,
            state: snap.state.clone(),
            detail: format!("instance id {instance:?} is not <team_id>/<installer_user_id>"),
        };
        let (team, installer) = instance.split_once('/').ok_or_else(bad_instance)?;
        if !valid_id(installer) || !(team == UNKNOWN_TEAM || valid_id(team)) {
            return Err(bad_instance());
        }
        let team = (team != UNKNOWN_TEAM).then_some(team);
        let (state, ledger) = snapshot::parse(snap, team.is_some())?;
        Ok(Self::build(
            Core::new(config, installer, team, ledger),
            Some(state),
        ))
    }

    fn explore_roots() -> Vec<(Now, Onboarding)> {
        explore::roots()
    }

    fn input_templates(&self, now: Now) -> Vec<(Now, Input)> {
        explore::templates(self, now)
    }

    fn exploration_key(&self) -> String {
        explore::key(self)
    }
}
