//! The installer's DM channel as Slack holds it: the intros it stored (with their marker's
//! generation) and the installer's own messages, served as real `conversations.history`
//! pages (newest first, at most 15 a page whatever `limit` asks, `oldest`, a cursor), so an
//! intro behind a page of chatter can only be found by following the cursor.

use super::{TEAM, USER};
use crate::engine::UnixMs;
use serde_json::{Value, json};

/// Slack's page cap for commercially distributed non-Marketplace apps.
const PAGE_CAP: usize = 15;

/// One message: an intro of `generation`, or (`None`) one the installer wrote.
#[derive(Clone, Debug)]
pub(super) struct Message {
    pub(super) ts: String,
    pub(super) generation: Option<u32>,
}

/// The DM channel, oldest message first.
#[derive(Clone, Debug, Default)]
pub(super) struct Channel {
    pub(super) messages: Vec<Message>,
}

/// What a `LookupHistory` command asked for.
#[derive(Clone, Debug)]
pub(super) struct Query {
    pub(super) oldest: Option<String>,
    pub(super) limit: u32,
    pub(super) cursor: Option<String>,
}

impl Channel {
    /// A message written at `at`; its `ts` is unique and later than every earlier one.
    fn push(&mut self, at: UnixMs, generation: Option<u32>) -> String {
        let seq = self.messages.len() as u64;
        let micros = (at.0 % 1000) * 1000 + seq % 1000;
        let ts = format!("{}.{micros:06}", at.0 / 1000);
        self.messages.push(Message {
            ts: ts.clone(),
            generation,
        });
        ts
    }

    /// Slack stores an intro of `generation` at `at`; returns its `ts`.
    pub(super) fn store_intro(&mut self, at: UnixMs, generation: u32) -> String {
        self.push(at, Some(generation))
    }

    /// The installer writes `n` messages at `at`.
    pub(super) fn chatter(&mut self, at: UnixMs, n: u8) {
        for _ in 0..n {
            self.push(at, None);
        }
    }

    /// Intros stored, per generation.
    pub(super) fn intros_of(&self, generation: u32) -> usize {
        self.messages
            .iter()
            .filter(|m| m.generation == Some(generation))
            .count()
    }

    /// Intros stored in all.
    pub(super) fn intros(&self) -> usize {
        self.messages
            .iter()
            .filter(|m| m.generation.is_some())
            .count()
    }

    /// The earliest intro of `generation`, if stored.
    pub(super) fn first_intro(&self, generation: u32) -> Option<&str> {
        self.messages
            .iter()
            .find(|m| m.generation == Some(generation))
            .map(|m| m.ts.as_str())
    }

    /// The reply body of `conversations.history` for `query`.
    pub(super) fn page(&self, query: &Query) -> String {
        let oldest = query.oldest.as_deref().map(ts_key).unwrap_or_default();
        let newest_first: Vec<&Message> = self
            .messages
            .iter()
            .rev()
            .filter(|m| ts_key(&m.ts) >= oldest)
            .collect();
        let offset = match &query.cursor {
            None => 0,
            Some(cursor) => match cursor.strip_prefix("page:").and_then(|n| n.parse().ok()) {
                Some(n) => n,
                None => return json!({"ok": false, "error": "invalid_cursor"}).to_string(),
            },
        };
        let limit = (query.limit as usize).clamp(1, PAGE_CAP);
        let end = (offset + limit).min(newest_first.len());
        let messages: Vec<Value> = newest_first
            .get(offset.min(end)..end)
            .unwrap_or_default()
            .iter()
            .map(|m| message_json(m))
            .collect();
        let has_more = end < newest_first.len();
        let mut body = json!({"ok": true, "messages": messages, "has_more": has_more});
        if has_more {
            body["response_metadata"] = json!({"next_cursor": format!("page:{end}")});
        }
        body.to_string()
    }
}

fn message_json(m: &Message) -> Value {
    match m.generation {
        Some(generation) => json!({
            "type": "message",
            "ts": m.ts,
            "text": "Hi, thanks for installing me!",
            "metadata": {
                "event_type": "phantom_intro",
                "event_payload": {"installer": USER, "team": TEAM, "generation": generation},
            },
        }),
        None => json!({"type": "message", "ts": m.ts, "user": USER, "text": "hello"}),
    }
}

/// `(seconds, micros)` of a Slack `ts`; malformed parts count as 0.
fn ts_key(ts: &str) -> (u64, u64) {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, "0"));
    (secs.parse().unwrap_or(0), frac.parse().unwrap_or(0))
}
