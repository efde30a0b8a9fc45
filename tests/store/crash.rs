//! The crash test: `phantom-crash-child` drives both real machines through random inputs with
//! the store and a simulated Slack, and is killed with SIGKILL at random points, again and
//! again on the same data dir. After every run the test reopens the store and asserts:
//! - the environment opens (and the writer lock of the killed process is gone);
//! - the journal invariants hold (contiguous, chained per instance, every row an edge of the
//!   derived diagrams, last row = stored snapshot / ledger state);
//! - every transition the child reported as committed is in the journal, unchanged (unless
//!   pruned by the bound);
//! - Slack never holds two intro posts for one instance between operator resets, and every
//!   `complete` ledger row carries the `ts` of a post Slack holds for that instance.
//!
//! Bounded: each run makes at most `STEPS` steps, the test at most `MAX_RUNS` runs. Seeded:
//! `PHANTOM_CRASH_SEED` overrides the seed (kill timing still depends on scheduling).

use crate::common::*;
use phantom_fsm::store::Store;
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const KILLS: usize = 40;
const MAX_RUNS: usize = 120;
const STEPS: u64 = 2_000;
/// Lines (step markers, posts, commits) after which a run is killed: uniform in
/// `1..=MAX_LINES_BEFORE_KILL`.
const MAX_LINES_BEFORE_KILL: usize = 400;

/// When a run is killed: right after the n-th line of a kind. Targeting posts and onboarding
/// commits puts kills in the windows that matter (a post out but unanswered, `sending`
/// committed but not posted) far more often than uniform timing would.
#[derive(Clone, Copy, Debug)]
enum KillAfter {
    /// The n-th line of any kind.
    Line(usize),
    /// The n-th `posted` line.
    Post(usize),
    /// The n-th onboarding `commit` line.
    OnboardingCommit(usize),
}

impl KillAfter {
    fn random(rng: &mut fastrand::Rng) -> KillAfter {
        match rng.u32(0..10) {
            0..4 => KillAfter::Line(rng.usize(1..=MAX_LINES_BEFORE_KILL)),
            4..7 => KillAfter::Post(rng.usize(1..=3)),
            _ => KillAfter::OnboardingCommit(rng.usize(1..=12)),
        }
    }

    /// Whether `line` is one this trigger counts.
    fn counts(self, line: &str) -> bool {
        match self {
            KillAfter::Line(_) => true,
            KillAfter::Post(_) => line.starts_with("posted "),
            KillAfter::OnboardingCommit(_) => {
                line.starts_with("commit ") && line.contains(" onboarding ")
            }
        }
    }

    fn n(self) -> usize {
        match self {
            KillAfter::Line(n) | KillAfter::Post(n) | KillAfter::OnboardingCommit(n) => n,
        }
    }
}
/// Guard against a hung child; never reached by a healthy one.
const SILENCE_LIMIT: Duration = Duration::from_secs(120);
const SIGKILL: i32 = 9;

/// One committed transition as the child reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Commit {
    machine: String,
    instance: String,
    from: String,
    to: String,
    event: String,
}

fn parse_commit(line: &str) -> Option<(u64, Commit)> {
    let w: Vec<&str> = line.split(' ').collect();
    match w.as_slice() {
        ["commit", seq, machine, instance, from, to, event] => Some((
            seq.parse().ok()?,
            Commit {
                machine: machine.to_string(),
                instance: instance.to_string(),
                from: from.to_string(),
                to: to.to_string(),
                event: event.to_string(),
            },
        )),
        _ => None,
    }
}

/// How one run of the child ended.
struct Run {
    lines: Vec<String>,
    killed: bool,
}

/// Run the child, killing it with SIGKILL at `kill` (if it gets that far).
fn run_child(dir: &Path, log: &Path, seed: u64, kill: KillAfter) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_phantom-crash-child"))
        .arg(dir)
        .arg(log)
        .arg(seed.to_string())
        .arg(STEPS.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    let (mut lines, mut counted) = (Vec::new(), 0);
    loop {
        match rx.recv_timeout(SILENCE_LIMIT) {
            Ok(line) => {
                counted += usize::from(kill.counts(&line));
                lines.push(line);
                if counted == kill.n() {
                    child.kill().unwrap();
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                child.kill().unwrap();
                panic!("child silent for {SILENCE_LIMIT:?}");
            }
        }
    }
    let status = child.wait().unwrap();
    reader.join().unwrap();
    // Lines already in the pipe were printed after their commit: they count too.
    lines.extend(rx.try_iter());
    let killed = status.signal() == Some(SIGKILL);
    assert!(killed || status.success(), "child failed: {status}");
    assert!(killed || lines.last().map(String::as_str) == Some("done"));
    Run { lines, killed }
}

/// Every reported commit still in the journal is there unchanged.
fn check_reported(store: &Store, reported: &BTreeMap<u64, Commit>) -> Result<usize, String> {
    let Some((first, _)) = store.journal_bounds().unwrap() else {
        return match reported.is_empty() {
            true => Ok(0),
            false => Err("journal empty after reported commits".into()),
        };
    };
    let rows: HashMap<u64, Commit> = all_rows(store)
        .into_iter()
        .map(|r| {
            let c = Commit {
                machine: r.machine,
                instance: r.instance,
                from: r.from,
                to: r.to,
                event: r.event,
            };
            (r.seq, c)
        })
        .collect();
    let mut checked = 0;
    for (seq, commit) in reported.range(first..) {
        match rows.get(seq) {
            Some(row) if row == commit => checked += 1,
            other => {
                return Err(format!(
                    "reported commit {seq} {commit:?} is {other:?} in the journal"
                ));
            }
        }
    }
    Ok(checked)
}

/// At most one post per instance between resets; every `complete` row's ts is a real post.
fn check_posts(store: &Store, log: &Path) -> Result<usize, String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut in_epoch: HashMap<&str, usize> = HashMap::new();
    let mut posts: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut total = 0;
    for line in text.lines() {
        match line.split(' ').collect::<Vec<_>>().as_slice() {
            ["reset", instance] => {
                in_epoch.remove(instance);
            }
            ["chatter", _, _] => {}
            ["post", instance, ts, _generation] => {
                total += 1;
                posts.entry(instance).or_default().push(ts);
                let n = in_epoch.entry(instance).or_default();
                *n += 1;
                if *n > 1 {
                    return Err(format!("second post for {instance} without a reset: {ts}"));
                }
            }
            other => return Err(format!("bad side log line {other:?}")),
        }
    }
    for entry in store.ledger_rows().unwrap() {
        let row = entry.row.map_err(|e| e.to_string())?;
        if row.state == "complete" {
            let ts = row
                .ts
                .as_deref()
                .ok_or(format!("{} complete without ts", entry.instance))?;
            if !posts
                .get(entry.instance.as_str())
                .is_some_and(|p| p.contains(&ts))
            {
                return Err(format!(
                    "{} complete with ts {ts}, which Slack does not hold",
                    entry.instance
                ));
            }
        }
    }
    Ok(total)
}

#[test]
fn sigkill_at_random_points_loses_no_committed_transition_and_never_posts_twice() {
    let seed: u64 = std::env::var("PHANTOM_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c0de);
    let tmp = tempfile::tempdir().unwrap();
    let (dir, log) = (tmp.path().join("data"), tmp.path().join("slack.log"));
    let is_edge = |m: &str, f: &str, e: &str, t: &str| {
        phantom_fsm::registry::diagram(m).is_some_and(|d| d.has_edge(f, e, t))
    };
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut reported: BTreeMap<u64, Commit> = BTreeMap::new();
    let (mut kills, mut runs, mut onboarding_commits, mut posts) = (0, 0, 0, 0);
    let mut checked = Checked::default();
    while kills < KILLS {
        assert!(runs < MAX_RUNS, "only {kills} kills in {runs} runs");
        let run = run_child(
            &dir,
            &log,
            seed.wrapping_add(runs as u64),
            KillAfter::random(&mut rng),
        );
        runs += 1;
        kills += usize::from(run.killed);
        for (seq, commit) in run.lines.iter().filter_map(|l| parse_commit(l)) {
            onboarding_commits += usize::from(commit.machine == "onboarding");
            if let Some(old) = reported.insert(seq, commit.clone()) {
                panic!(
                    "seq {seq} reported twice: {old:?}, then {commit:?} (a committed row was lost)"
                );
            }
        }
        // Read-only: the next run's writer open is what proves the lock died with the child.
        let store = Store::open_read_only(&dir).expect("the environment opens after SIGKILL");
        checked = check_invariants(&store, &is_edge).unwrap_or_else(|e| panic!("run {runs}: {e}"));
        check_reported(&store, &reported).unwrap_or_else(|e| panic!("run {runs}: {e}"));
        posts = check_posts(&store, &log).unwrap_or_else(|e| panic!("run {runs}: {e}"));
    }
    eprintln!(
        "crash test (seed {seed:#x}): {kills} SIGKILLs in {runs} runs; {} committed transitions \
         reported ({onboarding_commits} onboarding); {posts} posts stored by the simulated Slack; \
         last check: {} rows of {} instances",
        reported.len(),
        checked.rows,
        checked.instances,
    );
    assert!(
        onboarding_commits > 100,
        "too few onboarding transitions: {onboarding_commits}"
    );
}
