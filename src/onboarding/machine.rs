//! [`Onboarding`]: the public, sans-IO onboarding ledger machine (a statig machine driven by
//! the engine).

use super::config::OnboardingConfig;
use super::event::Event;
use super::io::{Command, Input};
use super::states::{State, names};
use super::storage::{Ledger, Outbox, Storage, UNKNOWN_TEAM, valid_id};
use super::timer::Timer;
use super::{MACHINE_ID, classify, explore, snapshot};
use crate::engine::{
    Drive, Explore, Machine, Millis, Now, Output, RestoreError, Snapshot, StateNode, start,
};
use statig::blocking::InitializedStateMachine;

/// The onboarding ledger machine for one installer: sends the intro DM exactly once, through
/// restarts, crashes, rate limits and ambiguous replies.
///
/// Pure and sans-IO: feed inputs with [`handle`](Self::handle), then drain
/// [`poll_output`](Self::poll_output) and sleep until [`poll_timeout`](Self::poll_timeout)
/// or the next input. An input is handled first, then every deadline due by its time.
///
/// # The instance id and `auth.test`
/// The instance id is `<team_id>/<installer_user_id>`, and the team comes from `auth.test`.
/// [`Onboarding::new`] starts with the team known. [`Onboarding::awaiting_team`] starts without
/// it (instance `-/<installer>`): on `channel_ready` it asks for `auth.test`, and `auth_ok`
/// fixes the instance id *before* any transition, so every ledger row and journal row of a
/// normal run carries the real team. It then asks for that instance's ledger row
/// ([`Command::LoadRow`]) and acts on nothing until [`Input::RowLoaded`] answers: with no row
/// it opens the DM; with one it adopts it (a `complete` row stays complete, a `sending` or
/// `reconciling` row reconciles before any post, a `backoff` row waits for its retry time, a
/// `failed` row stays failed). A transient `auth.test` failure is retried in `pending`
/// without any transition (no row is created). Only an unrecoverable `auth.test` failure
/// transitions with the team unknown (`pending -> failed` on `-/<installer>`); the shell
/// should not persist rows of an instance whose [`team_id`](Onboarding::team_id) is `None`, so
/// the next start tries again with whatever token it is given.
///
/// ```
/// use phantom_fsm::engine::{Now, Output};
/// use phantom_fsm::onboarding::{Command, Input, Onboarding, OnboardingConfig};
///
/// let mut m = Onboarding::new("T1", "U1", OnboardingConfig::default());
/// m.handle(Now::fake(0), Input::ChannelReady);
/// assert!(matches!(
///     m.poll_output(),
///     Some(Output::Command(Command::OpenDm { user, .. })) if user == "U1"
/// ));
/// assert!(m.poll_output().is_none());
/// ```
#[derive(Clone)]
pub struct Onboarding {
    d: Driven,
}

/// The statig machine and its outbox, driven by the engine (private: its events are internal).
#[derive(Clone, Debug)]
struct Driven {
    sm: InitializedStateMachine<Storage>,
    out: Outbox,
}

impl std::fmt::Debug for Onboarding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Onboarding")
            .field("instance", &self.instance())
            .field("state", self.d.sm.state())
            .field("ledger", &self.d.sm.inner().ledger)
            .field("timers", &self.d.out.timers)
            .finish_non_exhaustive()
    }
}

impl Onboarding {
    /// A fresh machine in `pending` for `installer_user_id` in `team_id`, for an instance whose
    /// ledger row the caller has just read and found absent (with a row, use
    /// [`resume`](Machine::resume)); it opens the DM at once. A shell that does not read the
    /// store itself uses [`Onboarding::awaiting_team`], which asks for the row.
    ///
    /// Ids are Slack ids (`T..`, `U..`) and must not contain `/`.
    pub fn new(team_id: &str, installer_user_id: &str, config: OnboardingConfig) -> Onboarding {
        Self::build(
            Storage::new(config, installer_user_id, Some(team_id), Ledger::default()),
            None,
        )
    }

    /// A fresh machine in `pending` whose team is not known yet: it calls `auth.test` first
    /// (see the type's docs).
    pub fn awaiting_team(installer_user_id: &str, config: OnboardingConfig) -> Onboarding {
        Self::build(
            Storage::new(config, installer_user_id, None, Ledger::default()),
            None,
        )
    }

    /// Start `storage`, in `state` if given (a restore: no entry actions run).
    fn build(storage: Storage, state: Option<State>) -> Onboarding {
        Onboarding {
            d: Driven {
                sm: start(MACHINE_ID, storage, state),
                out: Outbox::new(MACHINE_ID),
            },
        }
    }

    /// Handle `input`, received at `now`: the input first, then every deadline due by `now`
    /// (an operator's reset or mark-complete cancels a retry that was due).
    pub fn handle(&mut self, now: Now, input: Input) {
        self.d.step(now, input);
    }

    /// Take the next output, oldest first. Drain until `None` after every input.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output<Command>> {
        self.d.next_output()
    }

    /// The earliest armed deadline: deliver [`Input::Timeout`] then.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.d.next_deadline()
    }

    /// The current leaf state's name (one of [`STATE_NAMES`](super::STATE_NAMES)).
    pub fn state_name(&self) -> &'static str {
        self.d.sm.state().name()
    }

    /// The installer's user id.
    pub fn installer(&self) -> &str {
        &self.d.sm.inner().installer
    }

    /// The team id, once known (from [`Onboarding::new`], a restored instance id, or
    /// `auth.test`).
    pub fn team_id(&self) -> Option<&str> {
        self.d.sm.inner().team.as_deref()
    }

    /// Posts attempted so far (the ledger row's `attempts`).
    pub fn attempts(&self) -> u32 {
        self.d.sm.inner().ledger.attempts
    }

    /// The last failure (the ledger row's `last_error`).
    pub fn last_error(&self) -> Option<&str> {
        self.d.sm.inner().ledger.last_error.as_deref()
    }

    /// The DM channel, once opened (the ledger row's `channel`).
    pub fn channel(&self) -> Option<&str> {
        self.d.sm.inner().ledger.channel.as_deref()
    }

    /// The intro's `ts`, once confirmed (the ledger row's `ts`).
    pub fn ts(&self) -> Option<&str> {
        self.d.sm.inner().ledger.ts.as_deref()
    }

    /// Whether `channel_ready` was received since this machine was built.
    pub fn channel_ready(&self) -> bool {
        self.d.sm.inner().channel_ready
    }

    /// The next deadline with the timer that owns it, for logs ("why will it wake").
    pub fn next_timer(&self) -> Option<(Timer, Millis)> {
        self.d.out.timers.next()
    }

    /// The `/health` `"onboarding"` value of the current state.
    pub fn health(&self) -> &'static str {
        classify::health_label(self.state_name())
    }

    pub(crate) fn state(&self) -> &State {
        self.d.sm.state()
    }

    /// The row's generation (bumped by every operator reset; part of the marker).
    pub fn generation(&self) -> u32 {
        self.d.sm.inner().ledger.generation
    }

    /// Whether the next `Rejected` reply exhausts `max_attempts` (exploration key).
    pub(crate) fn last_chance(&self) -> bool {
        let s = self.d.sm.inner();
        s.ledger.rejections.saturating_add(1) >= s.config.max_attempts
    }

    /// Whether a complete history scan found nothing and a second one is due (exploration key).
    pub(crate) fn awaiting_second_scan(&self) -> bool {
        self.d.sm.inner().not_found_at.is_some()
    }

    /// Whether the history scan is past its first page (exploration key).
    pub(crate) fn paging(&self) -> bool {
        self.d.sm.inner().cursor.is_some()
    }
}

impl Drive for Driven {
    type Input = Input;
    type Event = Event;
    type Command = Command;
    type Timer = Timer;

    fn outbox(&self) -> &Outbox {
        &self.out
    }

    fn outbox_mut(&mut self) -> &mut Outbox {
        &mut self.out
    }

    fn leaf_name(&self) -> &'static str {
        self.sm.state().name()
    }

    fn event_of(input: Input) -> Option<Event> {
        match input {
            Input::Timeout => None,
            input => Some(Event::Input(input)),
        }
    }

    fn timer_event(timer: Timer) -> Event {
        Event::Timer(timer)
    }

    fn deliver(&mut self, event: &Event) {
        self.sm.handle_with_context(event, &mut self.out);
    }
}

impl Machine for Onboarding {
    type Input = Input;
    type Command = Command;
    type Config = OnboardingConfig;

    const ID: &'static str = MACHINE_ID;
    const LEAVES: &'static [StateNode] = &[
        StateNode::new(names::PENDING, Some(names::INCOMPLETE)),
        StateNode::new(names::SENDING, Some(names::UNCONFIRMED)),
        StateNode::new(names::BACKOFF, Some(names::INCOMPLETE)),
        StateNode::new(names::RECONCILING, Some(names::UNCONFIRMED)),
        StateNode::new(names::COMPLETE, Some(names::SETTLED)),
        StateNode::new(names::FAILED, Some(names::SETTLED)),
    ];
    const SUPERSTATES: &'static [StateNode] = &[
        StateNode::new(names::INCOMPLETE, None),
        StateNode::new(names::UNCONFIRMED, Some(names::INCOMPLETE)),
        StateNode::new(names::SETTLED, None),
    ];
    const INITIAL: &'static str = names::PENDING;

    fn instance(&self) -> &str {
        &self.d.sm.inner().instance
    }

    fn config(&self) -> &OnboardingConfig {
        &self.d.sm.inner().config
    }

    fn state_name(&self) -> &'static str {
        Onboarding::state_name(self)
    }

    fn handle(&mut self, now: Now, input: Input) {
        Onboarding::handle(self, now, input);
    }

    fn poll_output(&mut self) -> Option<Output<Command>> {
        Onboarding::poll_output(self)
    }

    fn poll_timeout(&self) -> Option<Millis> {
        Onboarding::poll_timeout(self)
    }

    fn resumed() -> Input {
        Input::Resumed
    }

    fn snapshot(&self) -> Snapshot {
        snapshot::snapshot(self.d.sm.state(), &self.d.sm.inner().ledger)
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
            Storage::new(config, installer, team, ledger),
            Some(state),
        ))
    }
}

impl Explore for Onboarding {
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
