//! A simulated Slack for the onboarding machines: it answers their Web API calls at random,
//! and it *stores* posts in a side file (`post <instance> <ts>`), so the crash test can count
//! the introductions a real Slack would hold, whatever the ledger says.

use phantom_fsm::onboarding::{CallId, Command, HistoryOutcome, Input, OpenDmOutcome, PostOutcome};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Slack's side of the world: the posts it holds per instance, and the log of them.
pub(crate) struct Slack {
    log: File,
    posts: HashMap<String, Vec<String>>,
    next_ts: u64,
}

impl Slack {
    /// Open (or create) the side log and load the posts it holds.
    pub(crate) fn open(path: &Path) -> std::io::Result<Slack> {
        let mut posts: HashMap<String, Vec<String>> = HashMap::new();
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut count = 0;
        for line in text.lines() {
            let mut words = line.split(' ');
            if let (Some("post"), Some(instance), Some(ts)) =
                (words.next(), words.next(), words.next())
            {
                posts.entry(instance.into()).or_default().push(ts.into());
                count += 1;
            }
        }
        let log = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Slack {
            log,
            posts,
            next_ts: count + 1,
        })
    }

    /// Append one line in a single `write` (a SIGKILL cannot tear it).
    pub(crate) fn note(&mut self, line: &str) -> std::io::Result<()> {
        self.log.write_all(format!("{line}\n").as_bytes())
    }

    /// Perform `command` for `instance` and return the answer to deliver later. A post that
    /// Slack stores is logged before this returns, whatever the answer says.
    pub(crate) fn call(
        &mut self,
        rng: &mut fastrand::Rng,
        instance: &str,
        command: &Command,
    ) -> std::io::Result<Input> {
        Ok(match command {
            Command::AuthTest { call } => Input::AuthTested {
                call: *call,
                outcome: phantom_fsm::onboarding::AuthOutcome::Ok {
                    team_id: instance.split('/').next().unwrap_or("T").into(),
                },
            },
            Command::OpenDm { call, user } => open_dm(rng, *call, user),
            Command::PostIntro { call, .. } => self.post(rng, *call, instance)?,
            Command::LookupHistory { call, .. } => self.history(rng, *call, instance),
        })
    }

    fn post(
        &mut self,
        rng: &mut fastrand::Rng,
        call: CallId,
        instance: &str,
    ) -> std::io::Result<Input> {
        let roll = rng.u32(0..100);
        let outcome = if roll < 60 {
            let ts = self.store(instance)?;
            match roll < 45 {
                true => PostOutcome::Sent { ts },
                // Stored, but the reply was lost.
                false => PostOutcome::Ambiguous {
                    reason: "timeout".into(),
                },
            }
        } else if roll < 72 {
            PostOutcome::Ambiguous {
                reason: "http_503".into(),
            }
        } else if roll < 84 {
            PostOutcome::RateLimited {
                retry_after_ms: Some(rng.u64(0..5_000)),
            }
        } else if roll < 98 {
            PostOutcome::NotStored {
                reason: "connect_error".into(),
            }
        } else {
            PostOutcome::Permanent {
                code: "is_archived".into(),
            }
        };
        Ok(Input::Posted { call, outcome })
    }

    fn store(&mut self, instance: &str) -> std::io::Result<String> {
        let ts = format!("1767225600.{:06}", self.next_ts);
        self.next_ts += 1;
        self.note(&format!("post {instance} {ts}"))?;
        self.posts
            .entry(instance.into())
            .or_default()
            .push(ts.clone());
        println!("posted {instance}");
        Ok(ts)
    }

    fn history(&self, rng: &mut fastrand::Rng, call: CallId, instance: &str) -> Input {
        let roll = rng.u32(0..100);
        let outcome = if roll < 12 {
            HistoryOutcome::Transient {
                retry_after_ms: None,
                reason: "http_500".into(),
            }
        } else if roll < 13 {
            HistoryOutcome::MissingScope
        } else {
            match self.posts.get(instance).and_then(|p| p.first()) {
                Some(ts) => HistoryOutcome::Found { ts: ts.clone() },
                None => HistoryOutcome::NotFound,
            }
        };
        Input::HistoryRead { call, outcome }
    }
}

fn open_dm(rng: &mut fastrand::Rng, call: CallId, user: &str) -> Input {
    let roll = rng.u32(0..100);
    let outcome = if roll < 80 {
        OpenDmOutcome::Opened {
            channel: format!("D{user}"),
        }
    } else if roll < 88 {
        OpenDmOutcome::RateLimited {
            retry_after_ms: Some(rng.u64(0..5_000)),
        }
    } else if roll < 99 {
        OpenDmOutcome::Transient {
            reason: "http_503".into(),
        }
    } else {
        OpenDmOutcome::Permanent {
            code: "cannot_dm_bot".into(),
        }
    };
    Input::DmOpened { call, outcome }
}
