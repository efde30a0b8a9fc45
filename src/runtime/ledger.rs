//! The intro-DM driver: one tokio task that owns the [`Onboarding`] machine of the configured
//! installer and turns its commands into Web API calls, with every transition committed and
//! synced to the ledger before the commands drained with it are performed.
//!
//! The loop has the socket driver's shape: wait for the next call result or for the machine's
//! next deadline on ONE resettable sleep; hand it to the machine; drain; persist (on the
//! blocking pool, heed is synchronous); observe; then perform the commands. The post's bytes
//! are written only after the `sending` row is synced ([`Store::observe`] returns only then).
//!
//! A store failure never reaches the socket: the ledger counts it, shows it on the board
//! (`/health` `degraded`), drops its machine without performing the drained commands, and
//! starts again from the committed row after a pause (a `sending` row then reconciles through
//! `conversations.history` before any resend). After a failed ledger sync
//! ([`StoreErrorKind::must_reopen`](crate::store::StoreErrorKind::must_reopen)) it first
//! closes and reopens the store ([`Store::reopen`]), so the row it starts from is read from the
//! disk, not from a page cache that may hold a commit the disk lost. Nothing here can stop the
//! socket driver (it waits for the reopen, then writes to the fresh environment).

use super::clock::Clock;
use super::status::StatusBoard;
use crate::engine::{Machine as _, Now, Output};
use crate::onboarding::{
    Command, Input, Onboarding, OnboardingConfig, StoredRow, classify_auth, classify_history,
    classify_open_dm, classify_post,
};
use crate::slack::{AsyncSlackClient, HistoryQuery, PostMessage, Secret};
use crate::store::{Store, StoreError};
use crate::telemetry::Telemetry;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// How long the ledger waits after a store failure before it starts again from the row.
const RESTART_PAUSE: Duration = Duration::from_secs(1);

/// What the ledger driver needs.
pub(crate) struct LedgerParts {
    pub(crate) installer: String,
    pub(crate) bot_token: Secret,
    pub(crate) client: AsyncSlackClient,
    pub(crate) store: Arc<Store>,
    pub(crate) config: OnboardingConfig,
    pub(crate) clock: Clock,
    pub(crate) telemetry: Telemetry,
    pub(crate) board: StatusBoard,
    /// The socket machine's state: the intro starts once it is `connected`.
    pub(crate) socket: watch::Receiver<&'static str>,
}

/// Why one run of the ledger loop ended.
enum Ended {
    /// The runtime is stopping.
    Stopped,
    /// A store write or read failed: start again from the committed row, after reopening the
    /// store if the failure says so (a ledger sync failed: the page cache may hold a commit
    /// the disk does not).
    Store {
        /// [`StoreErrorKind::must_reopen`](crate::store::StoreErrorKind::must_reopen).
        reopen: bool,
    },
}

impl Ended {
    fn store(error: &StoreError) -> Ended {
        Ended::Store {
            reopen: error.kind().must_reopen(),
        }
    }
}

/// Run the intro-DM driver until `stop` turns true. Never returns an error: failures are
/// counted, shown on the board and retried from the committed row.
pub(crate) async fn run(mut parts: LedgerParts, mut stop: watch::Receiver<bool>) {
    // The intro waits for the bot to be able to talk.
    tokio::select! {
        () = stopped(&mut stop) => return,
        up = connected(&mut parts.socket) => if !up { return },
    }
    loop {
        match run_once(&parts, &mut stop).await {
            Ended::Stopped => return,
            Ended::Store { reopen } => {
                tracing::warn!(
                    reopen,
                    "ledger driver stopped after a store failure; restarting from the row"
                );
                if reopen {
                    reopen_store(&parts).await;
                }
                tokio::select! {
                    () = stopped(&mut stop) => return,
                    () = tokio::time::sleep(RESTART_PAUSE) => {}
                }
            }
        }
    }
}

/// Close and reopen the store (shared with the socket driver, which waits meanwhile), so the
/// next life reads the row from what the disk holds. A failed reopen leaves the store closed:
/// the next life fails its first read and comes back here.
async fn reopen_store(parts: &LedgerParts) {
    let store = parts.store.clone();
    let reopened = blocking(move || store.reopen()).await;
    match reopened {
        Ok(()) => {
            tracing::warn!("store reopened after a failed ledger sync; the row reconciles");
            parts.board.store_succeeded("ledger");
        }
        Err(error) => {
            tracing::error!(%error, "store reopen failed; retrying after a pause");
            parts.telemetry.store_error(error.op().as_str());
            parts.board.store_failed("ledger", parts.clock.now().mono);
        }
    }
}

/// Resolves once `stop` turns true or its sender is gone. (The guard `wait_for` returns is
/// dropped here: holding it across an await would make the task `!Send`.)
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

/// Resolves once the socket is `connected` (true) or the runtime is gone (false).
async fn connected(socket: &mut watch::Receiver<&'static str>) -> bool {
    socket
        .wait_for(|s| *s == "connected")
        .await
        .map(|_| ())
        .is_ok()
}

/// One life of the ledger machine: from `auth.test` (or the row) until stop or a store
/// failure.
async fn run_once(parts: &LedgerParts, stop: &mut watch::Receiver<bool>) -> Ended {
    // Until `auth.test` names the team, the installer shows as `-/<installer>`, `pending`.
    let placeholder = format!("-/{}", parts.installer);
    parts.board.set_machine(
        crate::onboarding::MACHINE_ID,
        &placeholder,
        "pending",
        parts.clock.now().unix,
    );
    parts.telemetry.set_onboarding(Some("pending"));
    let (tx, mut rx) = mpsc::channel::<Input>(16);
    let mut ledger = Ledger {
        parts,
        machine: Onboarding::awaiting_team(&parts.installer, parts.config.clone()),
        tx,
        persisted: None,
    };
    if let Err(error) = ledger.input(parts.clock.now(), Input::ChannelReady).await {
        return Ended::store(&error);
    }
    let sleep = tokio::time::sleep_until(Instant::now());
    tokio::pin!(sleep);
    loop {
        let deadline = ledger.machine.poll_timeout();
        if let Some(at) = deadline {
            sleep.as_mut().reset(parts.clock.instant_of(at));
        }
        let step = tokio::select! {
            biased;
            () = stopped(stop) => return Ended::Stopped,
            Some(input) = rx.recv() => ledger.answer(input).await,
            () = &mut sleep, if deadline.is_some() => {
                ledger.input(parts.clock.now(), Input::Timeout).await
            }
        };
        if let Err(error) = step {
            return Ended::store(&error);
        }
    }
}

/// The machine of one life, with where its answers come back.
struct Ledger<'a> {
    parts: &'a LedgerParts,
    machine: Onboarding,
    tx: mpsc::Sender<Input>,
    /// The snapshot last written to the row, to save data changes made without a transition.
    persisted: Option<crate::engine::Snapshot>,
}

impl Ledger<'_> {
    /// An answer from a call. On `auth_ok` the inspector's placeholder `-/<installer>` gives
    /// way to the named instance (`pending` until its row is read).
    async fn answer(&mut self, input: Input) -> Result<(), StoreError> {
        let now = self.parts.clock.now();
        if let Input::AuthTested {
            outcome: crate::onboarding::AuthOutcome::Ok { team_id },
            ..
        } = &input
        {
            let instance = format!("{team_id}/{}", self.parts.installer);
            let placeholder = format!("-/{}", self.parts.installer);
            self.parts
                .board
                .forget_machine(crate::onboarding::MACHINE_ID, &placeholder);
            self.parts.board.set_machine(
                crate::onboarding::MACHINE_ID,
                &instance,
                "pending",
                now.unix,
            );
        }
        self.input(now, input).await
    }

    /// Hand `input` to the machine, persist the drain, show it, then perform its commands. A
    /// `LoadRow` is performed here, in line: its answer is the next input.
    async fn input(&mut self, now: Now, input: Input) -> Result<(), StoreError> {
        let mut next = Some(input);
        while let Some(input) = next.take() {
            self.machine.handle(now, input);
            let outputs: Vec<_> = std::iter::from_fn(|| self.machine.poll_output()).collect();
            self.persist(&outputs, now).await?;
            for output in outputs {
                self.parts.telemetry.observe(&output);
                self.parts.board.observe(&output);
                match output {
                    Output::Transition(t) => super::log_transition(&t),
                    Output::Signal(s) => tracing::debug!(?s, "onboarding signal"),
                    Output::Command(Command::LoadRow { key }) => {
                        next = self.load_row(&key, now).await?;
                    }
                    Output::Command(c) => self.execute(c),
                }
            }
        }
        Ok(())
    }

    /// Read the ledger row `key` for the machine. A failed read ends this life of the machine
    /// (it is never taken for "no row"); a row the machine cannot take (an unknown state, a
    /// mistyped key) stays as it is for an operator and the intro is not driven (`None`).
    async fn load_row(&mut self, key: &str, now: Now) -> Result<Option<Input>, StoreError> {
        let store = self.parts.store.clone();
        let owned = key.to_string();
        let row = self.checked(blocking(move || store.load_ledger(&owned)).await)?;
        let Some(row) = row else {
            return Ok(Some(Input::RowLoaded { row: None }));
        };
        let snapshot = row.snapshot();
        match StoredRow::from_snapshot(&snapshot) {
            Ok(stored) => {
                tracing::info!(
                    instance = key,
                    state = row.state.as_str(),
                    "ledger row loaded"
                );
                self.persisted = Some(snapshot);
                Ok(Some(Input::RowLoaded { row: Some(stored) }))
            }
            Err(error) => {
                tracing::error!(instance = key, %error, "ledger row not restorable; the intro is not driven");
                let id = crate::onboarding::MACHINE_ID;
                self.parts.board.set_machine(id, key, "failed", now.unix);
                self.parts.telemetry.set_onboarding(Some("failed"));
                Ok(None)
            }
        }
    }

    /// Commit the drain's transitions with the row (synced), or the row's data when it changed
    /// without a transition. An instance whose team is unknown is never written.
    async fn persist(&mut self, outputs: &[Output<Command>], now: Now) -> Result<(), StoreError> {
        if self.machine.team_id().is_none() {
            return Ok(());
        }
        let snapshot = self.machine.snapshot();
        let transitions = outputs.iter().any(|o| matches!(o, Output::Transition(_)));
        if !transitions && (self.persisted.is_none() || self.persisted.as_ref() == Some(&snapshot))
        {
            return Ok(());
        }
        let store = self.parts.store.clone();
        let instance = self.machine.instance().to_string();
        let written = snapshot.clone();
        let result = if transitions {
            let rows = outputs.to_vec();
            blocking(move || store.observe(&rows, &written)).await
        } else {
            blocking(move || {
                store
                    .save_ledger(&instance, &written, now.unix)
                    .map(|()| None)
            })
            .await
        };
        if let Some(last) = self.checked(result)? {
            self.journal(outputs, last);
        }
        self.persisted = Some(snapshot);
        Ok(())
    }

    /// Show the drain's journal rows (the last one has sequence `last`) to the inspector.
    fn journal(&self, outputs: &[Output<Command>], last: crate::store::Seq) {
        let rows: Vec<_> = outputs
            .iter()
            .filter_map(|o| match o {
                Output::Transition(t) => Some(t),
                _ => None,
            })
            .collect();
        let first = last.saturating_sub(rows.len() as u64 - 1);
        for (i, t) in rows.into_iter().enumerate() {
            self.parts.board.record_journal_row(serde_json::json!({
                "seq": first + i as u64, "at_unix_ms": t.at_unix.0,
                "machine": t.machine, "instance": t.instance,
                "from": t.from, "to": t.to, "event": t.event,
            }));
        }
    }

    /// Count and show a store result; an error ends this life of the machine.
    fn checked<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match &result {
            Ok(_) => self.parts.board.store_succeeded("ledger"),
            Err(error) => {
                let op = error.op().as_str();
                tracing::error!(%error, reopen = error.kind().must_reopen(), "ledger store failure");
                self.parts.telemetry.store_error(op);
                self.parts
                    .board
                    .store_failed("ledger", self.parts.clock.now().mono);
            }
        }
        result
    }

    /// Perform one command on the blocking pool; its answer comes back through the channel.
    fn execute(&self, command: Command) {
        let client = self.parts.client.clone();
        let token = self.parts.bot_token.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            if let Some(input) = call(&client, token, command).await {
                let _ = tx.send(input).await;
            }
        });
    }
}

/// One Web API call and its classified answer.
async fn call(client: &AsyncSlackClient, token: Secret, command: Command) -> Option<Input> {
    let input = match command {
        // A store read, performed in line by `Ledger::input`: never handed to a task.
        Command::LoadRow { .. } => return None,
        Command::AuthTest { call } => {
            tracing::info!(call = call.0, "calling auth.test");
            let observed = client.auth_test(token).await;
            Input::AuthTested {
                call,
                outcome: classify_auth(&observed.call_result()),
            }
        }
        Command::OpenDm { call, user } => {
            tracing::info!(call = call.0, "calling conversations.open");
            let observed = client.conversations_open(token, user).await;
            Input::DmOpened {
                call,
                outcome: classify_open_dm(&observed.call_result()),
            }
        }
        Command::PostIntro {
            call,
            channel,
            text,
            metadata,
        } => {
            tracing::info!(call = call.0, %channel, "posting the intro DM");
            let message = PostMessage {
                channel,
                text,
                metadata: Some(metadata.to_json()),
            };
            let observed = client.post_message(token, message).await;
            Input::Posted {
                call,
                outcome: classify_post(&observed.call_result()),
            }
        }
        Command::LookupHistory {
            call,
            channel,
            oldest,
            limit,
            cursor,
            marker,
        } => {
            tracing::info!(call = call.0, %channel, paged = cursor.is_some(), "reading conversations.history");
            let query = HistoryQuery {
                channel,
                include_all_metadata: true,
                oldest,
                limit: Some(limit),
                cursor,
            };
            let observed = client.conversations_history(token, query).await;
            Input::HistoryRead {
                call,
                outcome: classify_history(&observed.call_result(), &marker),
            }
        }
    };
    Some(input)
}

/// Run heed work on the blocking pool; a panicked or cancelled task is a store error of its own.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(error) => Err(StoreError::new(
            crate::store::StoreOp::LedgerWrite,
            crate::store::StoreErrorKind::Invalid {
                what: "ledger task",
                detail: error.to_string(),
            },
        )),
    }
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use super::*;
    use crate::sim::{SimConfig, SimHandle};
    use crate::slack::{HttpOptions, SlackClient};

    /// A simulator that pushes no traffic of its own.
    async fn quiet_sim() -> SimHandle {
        SimHandle::start(SimConfig {
            rate: 0.0,
            ..SimConfig::default()
        })
        .await
        .unwrap()
    }

    /// The ledger driver for installer `U0INSTALL1`, running over `store` against `sim` with
    /// the socket already `connected`.
    struct Running {
        telemetry: Telemetry,
        stop: watch::Sender<bool>,
        task: tokio::task::JoinHandle<()>,
        _socket: watch::Sender<&'static str>,
    }

    impl Running {
        fn start(sim: &SimHandle, store: Arc<Store>, config: OnboardingConfig) -> Running {
            let clock = Clock::start();
            let telemetry = Telemetry::new();
            let board = StatusBoard::new("test", clock.now());
            let (socket_tx, socket) = watch::channel("connected");
            let client = SlackClient::new(&sim.api_url(), &HttpOptions::default()).unwrap();
            let parts = LedgerParts {
                installer: "U0INSTALL1".into(),
                bot_token: Secret::new(sim.bot_token()),
                client: AsyncSlackClient::new(client, 2),
                store,
                config,
                clock,
                telemetry: telemetry.clone(),
                board,
                socket,
            };
            let (stop, stop_rx) = watch::channel(false);
            let task = tokio::spawn(run(parts, stop_rx));
            Running {
                telemetry,
                stop,
                task,
                _socket: socket_tx,
            }
        }

        /// Ask the driver to stop; it must within 5 s.
        async fn stop(self) {
            self.stop.send_replace(true);
            tokio::time::timeout(Duration::from_secs(5), self.task)
                .await
                .expect("the ledger stops on request")
                .unwrap();
        }
    }

    /// A store that refuses every write (read-only): the `sending` row cannot be committed, so
    /// the post must never be written, and the ledger keeps restarting from the (absent) row
    /// without taking anything else down.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_ledger_write_never_writes_the_post() {
        let sim = quiet_sim().await;
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(crate::store::StoreConfig::new(dir.path())).unwrap());
        let store = Arc::new(Store::open_read_only(dir.path()).unwrap());
        let running = Running::start(&sim, store, OnboardingConfig::default());
        let telemetry = &running.telemetry;
        // Two failed writes: the driver restarted from the row after the first.
        let series = "phantom_store_errors_total{op=\"ledger_write\"} ";
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = telemetry.render();
            let count = text
                .lines()
                .find_map(|l| l.strip_prefix(series))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(0.0);
            if count >= 2.0 {
                break;
            }
            assert!(Instant::now() < deadline, "no second store error:\n{text}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let posts = calls(&sim)
            .iter()
            .filter(|m| *m == "chat.postMessage")
            .count();
        assert_eq!(posts, 0, "the post was written without a committed row");
        assert!(sim.messages("D0000000001").is_empty());
        running.stop().await;
    }

    /// The Web API methods the simulator saw, in order.
    fn calls(sim: &SimHandle) -> Vec<String> {
        sim.log(0, &crate::sim::LogFilter::default())
            .into_iter()
            .filter_map(|r| match r.event {
                crate::sim::Event::Call { method, .. } => Some(method),
                _ => None,
            })
            .collect()
    }

    /// Poll (with a deadline) until the store holds a `complete` ledger row; return it.
    async fn complete_row(store: &Store, sim: &SimHandle) -> crate::store::LedgerRow {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let rows = store.ledger_rows().unwrap();
            if let Some(row) = rows
                .into_iter()
                .filter_map(|e| e.row.ok())
                .find(|r| r.state == "complete")
            {
                return row;
            }
            assert!(
                Instant::now() < deadline,
                "no complete row; calls {:?}",
                calls(sim)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The `sending` row is committed but its sync fails (as an `fsync` reporting EIO): the
    /// post is never written in that life; the store is closed and reopened (the row re-read
    /// from disk, not from a page cache that may lie), and the row reconciles through
    /// `conversations.history` before the one post.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_ledger_sync_reopens_the_store_and_reconciles_before_posting() {
        let sim = quiet_sim().await;
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(crate::store::StoreConfig::new(dir.path())).unwrap());
        store.fail_next_ledger_syncs(1);
        let config = OnboardingConfig {
            reconcile_settle: Duration::from_millis(20),
            resend_confirm_gap: Duration::from_millis(50),
            ..OnboardingConfig::default()
        };
        let running = Running::start(&sim, store.clone(), config);
        let telemetry = &running.telemetry;
        let row = complete_row(&store, &sim).await;
        assert_eq!(store.reopens(), 1, "the store was reopened once");
        let calls = calls(&sim);
        let posts: Vec<usize> = (0..calls.len())
            .filter(|&i| calls[i] == "chat.postMessage")
            .collect();
        assert_eq!(posts.len(), 1, "one post: {calls:?}");
        let first_lookup = calls.iter().position(|m| m == "conversations.history");
        assert!(
            first_lookup.is_some_and(|i| i < posts[0]),
            "the unsynced sending row reconciled before the post: {calls:?}"
        );
        assert_eq!(
            row.attempts, 2,
            "the unsent attempt is counted, and the real one"
        );
        let text = telemetry.render();
        assert!(
            text.contains("phantom_store_errors_total{op=\"sync\"} 1"),
            "{text}"
        );
        running.stop().await;
    }

    /// The ledger row cannot be read after `auth.test`: the failure is never taken for "no
    /// row". That life ends without opening the DM; the next one reads the row and goes on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_row_read_is_never_taken_for_no_row() {
        let sim = quiet_sim().await;
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(crate::store::StoreConfig::new(dir.path())).unwrap());
        store.fail_next_reads(1);
        let running = Running::start(&sim, store.clone(), OnboardingConfig::default());
        let telemetry = &running.telemetry;
        // Poll the simulator, not the store: a read here would take the injected failure.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !calls(&sim).iter().any(|m| m == "chat.postMessage") {
            assert!(Instant::now() < deadline, "no post: {:?}", calls(&sim));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        complete_row(&store, &sim).await;
        let calls = calls(&sim);
        assert_eq!(
            calls,
            [
                "auth.test",
                "auth.test",
                "conversations.open",
                "chat.postMessage"
            ],
            "the life whose read failed opened nothing"
        );
        let text = telemetry.render();
        assert!(
            text.contains("phantom_store_errors_total{op=\"read\"} 1"),
            "{text}"
        );
        running.stop().await;
    }
}
