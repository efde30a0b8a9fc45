//! Test helper for the store's crash test (`tests/store/crash.rs`); not part of the product.
//!
//! `phantom-crash-child DATA_DIR SLACK_LOG SEED STEPS` restores both machines from the store
//! (the socket machine from its snapshot, three onboarding instances from their ledger rows),
//! then drives them through `STEPS` random inputs, persisting every drain through the store's
//! journal observer exactly as the runtime does. After each committed write it prints one line
//! per transition: `commit <seq> <machine> <instance> <from> <to> <event>`; onboarding lines
//! are printed only once the commit is synced. It also prints `step <n>` before each step and
//! `posted <instance>` right after Slack stored a post, so that the test, which kills it right
//! after a random line, hits points all over the step (mid-commit, between a post and its
//! answer, ...). A simulated Slack ([`slack::Slack`]) answers the
//! onboarding machines' calls and logs every post it stores to `SLACK_LOG` *before* answering,
//! and every operator reset the child performs is logged there before it is committed. The test
//! kills this process with SIGKILL at random points and checks what survived.

mod slack;

use phantom_fsm::engine::{Explore, Machine, Now, Output, UnixMs};
use phantom_fsm::onboarding::{self, Command, Input, Onboarding, OnboardingConfig, StoredRow};
use phantom_fsm::socket::{self, SocketConfig, SocketMode};
use phantom_fsm::store::{Remembers, Store, StoreConfig};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

type Error = Box<dyn std::error::Error>;

/// The onboarding instances driven: two installers in one team, one in another.
const INSTALLERS: [(&str, &str); 3] = [("T1", "U1"), ("T1", "U2"), ("T2", "U3")];

/// The dedupe TTL used for the socket machine's keys.
const TTL: Duration = Duration::from_secs(3600);

struct Child {
    store: Store,
    rng: fastrand::Rng,
    now: Now,
    socket: SocketMode,
    onboarding: Vec<Onboarding>,
    /// Answers of Slack calls in flight, per onboarding instance, oldest first.
    answers: Vec<VecDeque<onboarding::Input>>,
    slack: slack::Slack,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("phantom-crash-child: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, log, seed, steps] = args.as_slice() else {
        return Err("usage: phantom-crash-child DATA_DIR SLACK_LOG SEED STEPS".into());
    };
    let config = StoreConfig {
        // Tiny map and bound: the map grows and the journal prunes while being killed.
        map_size: 64 << 10,
        map_ceiling: 64 << 20,
        journal_max_rows: 1_000,
        ..StoreConfig::new(PathBuf::from(dir))
    };
    let mut child = Child::start(Store::open(config)?, log.into(), seed.parse()?)?;
    for n in 0..steps.parse::<u64>()? {
        // Markers give the test kill points between and inside steps, not only after commits.
        println!("step {n}");
        child.step()?;
    }
    child.store.force_sync()?;
    println!("done");
    Ok(())
}

impl Child {
    /// Restore every machine from the store and persist what `Resumed` produced.
    fn start(store: Store, log: PathBuf, seed: u64) -> Result<Child, Error> {
        // Wall clock continues from the last journal row, so rows stay in time order.
        let last = store.journal_tail(1, None)?;
        let unix = last
            .first()
            .and_then(|e| e.row())
            .map_or(0, |r| r.at_unix_ms);
        let now = Now::new(
            Default::default(),
            UnixMs(unix.max(Now::fake(0).unix.0) + 1),
        );
        let socket_config = SocketConfig {
            seed,
            ..SocketConfig::default()
        };
        let socket = match store.load_snapshot(socket::MACHINE_ID, socket::DEFAULT_INSTANCE)? {
            Some(s) => {
                SocketMode::resume(socket_config, socket::DEFAULT_INSTANCE, &s.snapshot(), now)?
            }
            None => SocketMode::with_seen(socket_config, store.load_unexpired(now.unix, TTL)?),
        };
        let mut onboardings = Vec::new();
        for (i, (team, user)) in INSTALLERS.iter().enumerate() {
            let config = OnboardingConfig {
                seed: seed.wrapping_add(i as u64),
                ..OnboardingConfig::default()
            };
            let instance = format!("{team}/{user}");
            onboardings.push(match store.load_ledger(&instance)? {
                Some(row) => Onboarding::resume(config, &instance, &row.snapshot(), now)?,
                None => Onboarding::new(team, user, config),
            });
        }
        let mut child = Child {
            store,
            rng: fastrand::Rng::with_seed(seed),
            now,
            socket,
            answers: vec![VecDeque::new(); onboardings.len()],
            onboarding: onboardings,
            slack: slack::Slack::open(&log)?,
        };
        child.persist_socket()?;
        for i in 0..child.onboarding.len() {
            child.persist_onboarding(i)?;
        }
        Ok(child)
    }

    fn step(&mut self) -> Result<(), Error> {
        let instance = self.rng.usize(0..INSTALLERS.len());
        match self.rng.u32(0..1000) {
            0..350 => self.socket_step(),
            350..800 => self.onboarding_step(instance),
            800..990 => self.wait(),
            _ => self.operator_reset(instance),
        }
    }

    /// One of the socket machine's own input templates, or an envelope on the active link.
    fn socket_step(&mut self) -> Result<(), Error> {
        let envelope = self
            .socket
            .links()
            .active
            .filter(|_| self.rng.u32(0..4) == 0);
        let (at, input) = match envelope {
            Some(link) => (self.now, envelope_input(link.id, self.rng.u32(0..500))),
            None => {
                let templates = self.socket.input_templates(self.now);
                templates[self.rng.usize(0..templates.len())].clone()
            }
        };
        self.advance(at);
        self.socket.handle(self.now, input);
        self.persist_socket()
    }

    /// Deliver a Slack answer in flight, or tell the instance the channel is ready.
    fn onboarding_step(&mut self, i: usize) -> Result<(), Error> {
        let input = match self.answers[i].is_empty() || self.rng.u32(0..4) == 0 {
            true => onboarding::Input::ChannelReady,
            false => self.answers[i]
                .pop_front()
                .unwrap_or(onboarding::Input::ChannelReady),
        };
        self.onboarding[i].handle(self.now, input);
        self.persist_onboarding(i)
    }

    /// Jump to the earliest deadline of all machines and fire it everywhere.
    fn wait(&mut self) -> Result<(), Error> {
        let deadlines = self.onboarding.iter().filter_map(|m| m.poll_timeout());
        let next = deadlines.chain(self.socket.poll_timeout()).min();
        let at = next.map_or(self.now.after(Duration::from_secs(1)), |t| {
            self.now.advanced_to(t)
        });
        self.advance(at);
        self.socket.handle(self.now, socket::Input::Timeout);
        self.persist_socket()?;
        for i in 0..self.onboarding.len() {
            self.onboarding[i].handle(self.now, onboarding::Input::Timeout);
            self.persist_onboarding(i)?;
        }
        Ok(())
    }

    /// What `phantom-fsm ledger reset` does, logged to the side file before it is committed.
    fn operator_reset(&mut self, i: usize) -> Result<(), Error> {
        let instance = self.onboarding[i].instance().to_string();
        self.slack.note(&format!("reset {instance}"))?;
        self.onboarding[i].handle(self.now, onboarding::Input::Reset);
        self.answers[i].clear();
        self.persist_onboarding(i)
    }

    fn advance(&mut self, at: Now) {
        self.now = Now::new(self.now.mono.max(at.mono), self.now.unix.max(at.unix));
    }

    fn persist_socket(&mut self) -> Result<(), Error> {
        let outputs = self.socket.drain();
        record(&self.store, &outputs, &self.socket.snapshot())?;
        Ok(())
    }

    /// Commit (synced), then perform the drained calls: a post goes out only after this.
    fn persist_onboarding(&mut self, i: usize) -> Result<(), Error> {
        let outputs = self.onboarding[i].drain();
        record(&self.store, &outputs, &self.onboarding[i].snapshot())?;
        let instance = self.onboarding[i].instance().to_string();
        for output in &outputs {
            if let Output::Command(Command::LoadRow { key }) = output {
                let row = self.store.load_ledger(key)?;
                let row = row
                    .map(|row| StoredRow::from_snapshot(&row.snapshot()))
                    .transpose()?;
                self.answers[i].push_back(Input::RowLoaded { row });
            } else if let Output::Command(command) = output {
                let answer = self
                    .slack
                    .call(&mut self.rng, self.now.unix, &instance, command)?;
                self.answers[i].push_back(answer);
            }
        }
        Ok(())
    }
}

/// Persist one drain and report each committed transition with its sequence number.
fn record<C: Remembers>(
    store: &Store,
    outputs: &[Output<C>],
    snapshot: &phantom_fsm::engine::Snapshot,
) -> Result<(), Error> {
    let Some(last) = store.observe(outputs, snapshot)? else {
        return Ok(());
    };
    let transitions: Vec<_> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Transition(t) => Some(t),
            _ => None,
        })
        .collect();
    let first = last + 1 - transitions.len() as u64;
    for (seq, t) in (first..).zip(transitions) {
        println!(
            "commit {seq} {} {} {} {} {}",
            t.machine, t.instance, t.from, t.to, t.event
        );
    }
    Ok(())
}

fn envelope_input(link: socket::LinkId, n: u32) -> socket::Input {
    use socket::{Envelope, EnvelopeKind, ServerFrame};
    let envelope = Envelope {
        envelope_id: format!("env-{n}"),
        kind: EnvelopeKind::EventsApi,
        payload: serde_json::json!({"event_id": format!("Ev{n}"), "event": {"type": "message"}})
            .into(),
        accepts_response_payload: false,
        retry_attempt: 0,
        retry_reason: None,
    };
    socket::Input::Frame {
        link,
        frame: ServerFrame::Envelope(envelope),
    }
}
