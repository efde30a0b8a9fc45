//! A simulated Slack for the onboarding machines: it answers their Web API calls at random,
//! and it *stores* posts in a side file (`post <instance> <ts> <generation>`), so the crash
//! test can count the introductions a real Slack would hold, whatever the ledger says. The
//! installer also writes messages (`chatter <instance> <ts>`), and history lookups are served
//! as real pages (newest first, 15 a page, `oldest`, a cursor) through `classify_history`, so
//! an intro behind a page of chatter is found only by following the cursor.

use phantom_fsm::engine::UnixMs;
use phantom_fsm::onboarding::{
    CallId, CallResult, Command, HistoryOutcome, Input, IntroMetadata, OpenDmOutcome, PostOutcome,
    classify_history,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Slack's page cap for non-Marketplace apps.
const PAGE_CAP: usize = 15;

/// One message of an installer's DM channel: an intro of a generation, or (`None`) chatter.
struct Message {
    ts: String,
    generation: Option<u32>,
}

/// Slack's side of the world: the messages it holds per instance, and the log of them.
pub(crate) struct Slack {
    log: File,
    messages: HashMap<String, Vec<Message>>,
    next_ts: u64,
}

impl Slack {
    /// Open (or create) the side log and load the posts it holds.
    pub(crate) fn open(path: &Path) -> std::io::Result<Slack> {
        let mut messages: HashMap<String, Vec<Message>> = HashMap::new();
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut count = 0;
        for line in text.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            let (instance, ts, generation) = match words.as_slice() {
                ["post", instance, ts, generation] => (instance, ts, generation.parse().ok()),
                ["chatter", instance, ts] => (instance, ts, None),
                _ => continue,
            };
            messages
                .entry(instance.to_string())
                .or_default()
                .push(Message {
                    ts: ts.to_string(),
                    generation,
                });
            count += 1;
        }
        let log = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Slack {
            log,
            messages,
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
        now: UnixMs,
        instance: &str,
        command: &Command,
    ) -> std::io::Result<Input> {
        Ok(match command {
            // Answered from the store by the caller.
            Command::LoadRow { .. } => {
                return Err(std::io::Error::other("LoadRow is a store read, not a call"));
            }
            Command::AuthTest { call } => Input::AuthTested {
                call: *call,
                outcome: phantom_fsm::onboarding::AuthOutcome::Ok {
                    team_id: instance.split('/').next().unwrap_or("T").into(),
                },
            },
            Command::OpenDm { call, user } => open_dm(rng, *call, user),
            Command::PostIntro { call, metadata, .. } => {
                let generation = metadata.event_payload.generation;
                self.post(rng, now, *call, instance, generation)?
            }
            Command::LookupHistory {
                call,
                oldest,
                limit,
                cursor,
                marker,
                ..
            } => {
                let query = Query {
                    oldest: oldest.as_deref(),
                    limit: *limit,
                    cursor: cursor.as_deref(),
                };
                self.history(rng, *call, instance, &query, marker)
            }
        })
    }

    fn post(
        &mut self,
        rng: &mut fastrand::Rng,
        now: UnixMs,
        call: CallId,
        instance: &str,
        generation: u32,
    ) -> std::io::Result<Input> {
        let roll = rng.u32(0..100);
        let outcome = if roll < 60 {
            let ts = self.store(now, instance, generation)?;
            // The installer often answers at length: the intro ends up pages deep.
            if rng.u32(0..3) == 0 {
                for _ in 0..rng.u32(10..40) {
                    self.chatter(now, instance)?;
                }
            }
            match roll < 45 {
                true => PostOutcome::Sent { ts },
                // Stored, but the reply was lost.
                false => PostOutcome::Ambiguous {
                    reason: "timeout".into(),
                    retry_after_ms: None,
                },
            }
        } else if roll < 72 {
            PostOutcome::Ambiguous {
                reason: "http_503".into(),
                retry_after_ms: None,
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

    /// A unique `ts` at `now`, later than every earlier one of this log.
    fn ts(&mut self, now: UnixMs) -> String {
        let seq = self.next_ts;
        self.next_ts += 1;
        format!("{}.{:06}", now.0 / 1000, (now.0 % 1000) * 1000 + seq % 1000)
    }

    fn store(&mut self, now: UnixMs, instance: &str, generation: u32) -> std::io::Result<String> {
        let ts = self.ts(now);
        self.note(&format!("post {instance} {ts} {generation}"))?;
        self.messages
            .entry(instance.into())
            .or_default()
            .push(Message {
                ts: ts.clone(),
                generation: Some(generation),
            });
        println!("posted {instance}");
        Ok(ts)
    }

    fn chatter(&mut self, now: UnixMs, instance: &str) -> std::io::Result<()> {
        let ts = self.ts(now);
        self.note(&format!("chatter {instance} {ts}"))?;
        self.messages
            .entry(instance.into())
            .or_default()
            .push(Message {
                ts,
                generation: None,
            });
        Ok(())
    }

    fn history(
        &self,
        rng: &mut fastrand::Rng,
        call: CallId,
        instance: &str,
        query: &Query<'_>,
        marker: &IntroMetadata,
    ) -> Input {
        let roll = rng.u32(0..100);
        let body = if roll < 12 {
            json!({"ok": false, "error": "internal_error"}).to_string()
        } else if roll < 13 {
            json!({"ok": false, "error": "missing_scope"}).to_string()
        } else {
            self.page(instance, query)
        };
        let status = if roll < 6 { 503 } else { 200 };
        let result = CallResult::Response {
            status,
            retry_after: None,
            body: &body,
        };
        let outcome: HistoryOutcome = classify_history(&result, marker);
        Input::HistoryRead { call, outcome }
    }

    /// One `conversations.history` page of `instance`'s DM channel.
    fn page(&self, instance: &str, query: &Query<'_>) -> String {
        let oldest = query.oldest.map(ts_key).unwrap_or_default();
        let newest_first: Vec<&Message> = self
            .messages
            .get(instance)
            .map(|m| m.iter().rev().filter(|m| ts_key(&m.ts) >= oldest).collect())
            .unwrap_or_default();
        let offset: usize = query.cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
        let end = (offset + (query.limit as usize).clamp(1, PAGE_CAP)).min(newest_first.len());
        let messages: Vec<Value> = newest_first[offset.min(end)..end]
            .iter()
            .map(|m| match m.generation {
                Some(generation) => {
                    let (team, installer) = instance.split_once('/').unwrap_or_default();
                    json!({"ts": m.ts, "text": "hi", "metadata": {
                        "event_type": "phantom_intro",
                        "event_payload": {"installer": installer, "team": team, "generation": generation},
                    }})
                }
                None => json!({"ts": m.ts, "text": "hello"}),
            })
            .collect();
        let has_more = end < newest_first.len();
        json!({"ok": true, "messages": messages, "has_more": has_more,
            "response_metadata": {"next_cursor": if has_more { end.to_string() } else { String::new() }}})
        .to_string()
    }
}

/// What a history lookup asked for.
struct Query<'a> {
    oldest: Option<&'a str>,
    limit: u32,
    cursor: Option<&'a str>,
}

/// `(seconds, micros)` of a Slack `ts`.
fn ts_key(ts: &str) -> (u64, u64) {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, "0"));
    (secs.parse().unwrap_or(0), frac.parse().unwrap_or(0))
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
            retry_after_ms: None,
        }
    } else {
        OpenDmOutcome::Permanent {
            code: "cannot_dm_bot".into(),
        }
    };
    Input::DmOpened { call, outcome }
}
