//! Channels and messages: `conversations.open`, `chat.postMessage` and
//! `conversations.history` without the HTTP. Pure: times are arguments.

use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// Messages kept per channel; past it the oldest are dropped.
pub(crate) const MAX_MESSAGES_PER_CHANNEL: usize = 10_000;
/// Slack's limit on `text`.
const MAX_TEXT_CHARS: usize = 40_000;
/// `conversations.history` page size: default and Slack's maximum (before the app's cap).
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 999;

/// A message in a channel, as stored: the bot's posts and what people typed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredMessage {
    /// Channel id (`D...` for a DM).
    pub channel: String,
    /// Slack timestamp, unique within the channel.
    pub ts: String,
    /// Who posted it: the bot's user id, or a person's.
    pub user: String,
    /// Whether the bot posted it (`chat.postMessage`), rather than a person.
    pub bot: bool,
    /// Message text.
    pub text: String,
    /// `metadata` as posted (`{"event_type": .., "event_payload": {..}}`), if any.
    pub metadata: Option<Value>,
    /// Wall-clock time of the post.
    pub unix_ms: u64,
}

/// `conversations.history` arguments.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct HistoryQuery {
    pub(crate) limit: Option<usize>,
    pub(crate) cursor: Option<String>,
    pub(crate) oldest: Option<String>,
    pub(crate) latest: Option<String>,
    pub(crate) inclusive: bool,
    pub(crate) include_all_metadata: bool,
}

/// The bot's identity, which every stored message carries.
#[derive(Clone, Debug)]
pub(crate) struct BotIdentity {
    pub(crate) user_id: String,
    pub(crate) bot_id: String,
    pub(crate) app_id: String,
    pub(crate) team_id: String,
}

/// Channels and their messages.
#[derive(Debug)]
pub(crate) struct MessageStore {
    bot: BotIdentity,
    channels: BTreeMap<String, Vec<StoredMessage>>,
    dms: HashMap<String, String>,
    last_ts_us: u128,
}

impl MessageStore {
    /// A store with the public `channels` already there.
    pub(crate) fn new(bot: BotIdentity, channels: &[String]) -> Self {
        MessageStore {
            bot,
            channels: channels.iter().map(|c| (c.clone(), Vec::new())).collect(),
            dms: HashMap::new(),
            last_ts_us: 0,
        }
    }

    /// `conversations.open(users=...)`: the DM channel id, and whether it was already open.
    pub(crate) fn open_dm(&mut self, users: &str) -> Result<(String, bool), &'static str> {
        let users: Vec<&str> = users
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        let [user] = users[..] else {
            return Err(if users.is_empty() {
                "users_list_not_supplied"
            } else {
                "not_supported"
            });
        };
        if user == self.bot.user_id {
            return Err("cannot_dm_bot");
        }
        if !is_user_id(user) {
            return Err("user_not_found");
        }
        if let Some(id) = self.dms.get(user) {
            return Ok((id.clone(), true));
        }
        let id = format!("D{:010}", self.dms.len() + 1);
        self.dms.insert(user.to_string(), id.clone());
        self.channels.insert(id.clone(), Vec::new());
        Ok((id, false))
    }

    /// `chat.postMessage`: store and return the message. A user id as `channel` posts to the
    /// DM with that user, as Slack does.
    pub(crate) fn post(
        &mut self,
        unix_ms: u64,
        channel: &str,
        text: &str,
        metadata: Option<Value>,
    ) -> Result<StoredMessage, &'static str> {
        let channel = self.resolve_channel(channel)?;
        if text.trim().is_empty() {
            return Err("no_text");
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err("msg_too_long");
        }
        if let Some(m) = &metadata {
            check_metadata(m)?;
        }
        let message = StoredMessage {
            channel: channel.clone(),
            ts: self.next_ts(unix_ms),
            user: self.bot.user_id.clone(),
            bot: true,
            text: text.to_string(),
            metadata,
            unix_ms,
        };
        Ok(self.append(message))
    }

    /// A person typed `text` in `channel` (which must exist).
    pub(crate) fn post_as_person(
        &mut self,
        unix_ms: u64,
        channel: &str,
        user: &str,
        text: &str,
    ) -> Result<StoredMessage, &'static str> {
        if !self.channels.contains_key(channel) {
            return Err("channel_not_found");
        }
        if !is_user_id(user) || user == self.bot.user_id {
            return Err("user_not_found");
        }
        let message = StoredMessage {
            channel: channel.to_string(),
            ts: self.next_ts(unix_ms),
            user: user.to_string(),
            bot: false,
            text: text.to_string(),
            metadata: None,
            unix_ms,
        };
        Ok(self.append(message))
    }

    /// The other member of DM `channel`, if it is one.
    pub(crate) fn dm_member(&self, channel: &str) -> Option<String> {
        self.dms
            .iter()
            .find(|(_, id)| *id == channel)
            .map(|(user, _)| user.clone())
    }

    fn append(&mut self, message: StoredMessage) -> StoredMessage {
        let list = self.channels.entry(message.channel.clone()).or_default();
        if list.len() >= MAX_MESSAGES_PER_CHANNEL {
            list.remove(0);
        }
        list.push(message.clone());
        message
    }

    /// `conversations.history`: the reply body (newest first), at most `page_cap` messages
    /// whatever `limit` asks.
    pub(crate) fn history(
        &self,
        channel: &str,
        q: &HistoryQuery,
        page_cap: usize,
    ) -> Result<Value, &'static str> {
        let list = self.channels.get(channel).ok_or("channel_not_found")?;
        let start_below = match &q.cursor {
            Some(c) => Some(parse_cursor(c).ok_or("invalid_cursor")?),
            None => None,
        };
        let oldest = q.oldest.as_deref().and_then(ts_micros);
        let latest = q.latest.as_deref().and_then(ts_micros);
        let limit = q
            .limit
            .filter(|l| *l > 0)
            .unwrap_or(DEFAULT_LIMIT)
            .min(MAX_LIMIT)
            .min(page_cap.max(1));
        let in_range = |m: &&StoredMessage| {
            let t = ts_micros(&m.ts).unwrap_or(0);
            let above = oldest.is_none_or(|o| t > o || (q.inclusive && t == o));
            let below = latest.is_none_or(|l| t < l || (q.inclusive && t == l));
            let page = start_below.is_none_or(|c| t <= c);
            above && below && page
        };
        let mut matching = list.iter().rev().filter(in_range);
        let page: Vec<Value> = matching
            .by_ref()
            .take(limit)
            .map(|m| self.message_json(m, q.include_all_metadata))
            .collect();
        let next = matching.next();
        let mut body = json!({
            "ok": true,
            "messages": page,
            "has_more": next.is_some(),
            "pin_count": 0,
            "channel_actions_ts": null,
            "channel_actions_count": 0,
        });
        if let Some(n) = next {
            let micros = ts_micros(&n.ts).unwrap_or(0);
            body["response_metadata"] =
                json!({"next_cursor": base64_encode(format!("next_ts:{micros}").as_bytes())});
        } else {
            body["response_metadata"] = json!({"next_cursor": ""});
        }
        Ok(body)
    }

    /// Whether `channel` exists (a public channel or an opened DM).
    pub(crate) fn has_channel(&self, channel: &str) -> bool {
        self.channels.contains_key(channel)
    }

    /// The messages of `channel`, oldest first.
    pub(crate) fn messages(&self, channel: &str) -> Vec<StoredMessage> {
        self.channels.get(channel).cloned().unwrap_or_default()
    }

    /// The JSON `message` object of a stored message.
    pub(crate) fn message_json(&self, m: &StoredMessage, with_metadata: bool) -> Value {
        if !m.bot {
            return json!({
                "type": "message",
                "user": m.user,
                "text": m.text,
                "ts": m.ts,
                "team": self.bot.team_id,
            });
        }
        let mut v = json!({
            "type": "message",
            "user": self.bot.user_id,
            "bot_id": self.bot.bot_id,
            "app_id": self.bot.app_id,
            "text": m.text,
            "ts": m.ts,
            "team": self.bot.team_id,
        });
        if with_metadata && let Some(meta) = &m.metadata {
            v["metadata"] = meta.clone();
        }
        v
    }

    fn resolve_channel(&mut self, channel: &str) -> Result<String, &'static str> {
        if self.channels.contains_key(channel) {
            return Ok(channel.to_string());
        }
        if is_user_id(channel) && channel != self.bot.user_id {
            return self.open_dm(channel).map(|(id, _)| id);
        }
        Err("channel_not_found")
    }

    /// A strictly increasing `"<secs>.<micros>"` timestamp at or after `unix_ms`.
    fn next_ts(&mut self, unix_ms: u64) -> String {
        let us = (u128::from(unix_ms) * 1000).max(self.last_ts_us + 1);
        self.last_ts_us = us;
        format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
    }
}

/// Slack user ids: `U` or `W` then upper-case letters and digits.
fn is_user_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('U' | 'W'))
        && s.len() >= 3
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// `metadata` must be `{"event_type": "<word>", "event_payload": {...}}`.
fn check_metadata(m: &Value) -> Result<(), &'static str> {
    let event_type = m.get("event_type").and_then(Value::as_str);
    let valid_type = event_type.is_some_and(|t| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    });
    let payload_ok = m.get("event_payload").is_none_or(Value::is_object);
    if valid_type && payload_ok {
        Ok(())
    } else {
        Err("invalid_metadata_format")
    }
}

/// `"1700000000.000100"` → microseconds.
fn ts_micros(ts: &str) -> Option<u128> {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, "0"));
    let secs: u128 = secs.parse().ok()?;
    let frac = format!("{frac:0<6}");
    let micros: u128 = frac.get(..6)?.parse().ok()?;
    Some(secs * 1_000_000 + micros)
}

/// Slack's cursors are base64 of `next_ts:<microseconds>`; clients must treat them as opaque.
fn parse_cursor(c: &str) -> Option<u128> {
    let raw = String::from_utf8(base64_decode(c)?).ok()?;
    raw.strip_prefix("next_ts:")?.parse().ok()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u32> = s
        .trim_end_matches('=')
        .bytes()
        .map(|c| B64.iter().position(|b| *b == c).map(|p| p as u32))
        .collect::<Option<_>>()?;
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | d << (18 - 6 * i));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> MessageStore {
        MessageStore::new(
            BotIdentity {
                user_id: "UBOT".into(),
                bot_id: "B1".into(),
                app_id: "A1".into(),
                team_id: "T1".into(),
            },
            &["C1".to_string()],
        )
    }

    #[test]
    fn dm_channels_are_stable_per_user() {
        let mut s = store();
        let (d, again) = s.open_dm("U123").unwrap();
        assert!(d.starts_with('D'));
        assert!(!again);
        assert_eq!(s.open_dm("U123").unwrap(), (d, true));
        assert_eq!(s.open_dm("UBOT"), Err("cannot_dm_bot"));
        assert_eq!(s.open_dm("nobody"), Err("user_not_found"));
        assert_eq!(s.open_dm(""), Err("users_list_not_supplied"));
    }

    #[test]
    fn posts_get_increasing_ts_and_validation() {
        let mut s = store();
        let a = s.post(1_700_000_000_000, "C1", "hi", None).unwrap();
        let b = s.post(1_700_000_000_000, "C1", "hi", None).unwrap();
        assert_eq!(a.ts, "1700000000.000000");
        assert_eq!(b.ts, "1700000000.000001");
        assert_eq!(s.post(0, "C404", "x", None), Err("channel_not_found"));
        assert_eq!(s.post(0, "C1", " ", None), Err("no_text"));
        let bad = json!({"event_payload": {}});
        assert_eq!(
            s.post(0, "C1", "x", Some(bad)),
            Err("invalid_metadata_format")
        );
        let to_user = s.post(0, "U777", "dm", None).unwrap();
        assert!(to_user.channel.starts_with('D'));
    }

    #[test]
    fn history_shows_metadata_only_when_asked() {
        let mut s = store();
        let meta = json!({"event_type": "phantom_intro", "event_payload": {"installer": "U1"}});
        s.post(1_000, "C1", "intro", Some(meta.clone())).unwrap();
        let plain = s.history("C1", &HistoryQuery::default(), 999).unwrap();
        assert!(plain["messages"][0].get("metadata").is_none());
        let q = HistoryQuery {
            include_all_metadata: true,
            ..HistoryQuery::default()
        };
        let full = s.history("C1", &q, 999).unwrap();
        assert_eq!(full["messages"][0]["metadata"], meta);
        assert_eq!(full["messages"][0]["bot_id"], "B1");
        assert_eq!(s.history("C9", &q, 999), Err("channel_not_found"));
    }

    #[test]
    fn history_pages_newest_first_with_a_cursor() {
        let mut s = store();
        for n in 0..5u64 {
            s.post(1_000 + n, "C1", &format!("m{n}"), None).unwrap();
        }
        let q = HistoryQuery {
            limit: Some(2),
            ..HistoryQuery::default()
        };
        let first = s.history("C1", &q, 999).unwrap();
        let texts = |v: &Value| -> Vec<String> {
            v["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["text"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(texts(&first), ["m4", "m3"]);
        assert_eq!(first["has_more"], true);
        let cursor = first["response_metadata"]["next_cursor"].as_str().unwrap();
        let second = s
            .history(
                "C1",
                &HistoryQuery {
                    cursor: Some(cursor.into()),
                    ..q.clone()
                },
                999,
            )
            .unwrap();
        assert_eq!(texts(&second), ["m2", "m1"]);
        let bad = HistoryQuery {
            cursor: Some("garbage".into()),
            ..q
        };
        assert_eq!(s.history("C1", &bad, 999), Err("invalid_cursor"));
    }

    #[test]
    fn history_is_capped_and_interleaves_people() {
        let mut s = store();
        for n in 0..20u64 {
            if n % 2 == 0 {
                s.post(1_000 + n, "C1", "bot", None).unwrap();
            } else {
                s.post_as_person(1_000 + n, "C1", "UHUMAN", "person")
                    .unwrap();
            }
        }
        let q = HistoryQuery {
            limit: Some(100),
            ..HistoryQuery::default()
        };
        let page = s.history("C1", &q, 15).unwrap();
        let msgs = page["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 15);
        assert_eq!(msgs[0]["user"], "UHUMAN");
        assert!(msgs[0].get("bot_id").is_none());
        assert_eq!(msgs[1]["bot_id"], "B1");
        assert_eq!(page["has_more"], true);
        let cursor = page["response_metadata"]["next_cursor"].as_str().unwrap();
        assert!(!cursor.contains("next_ts"), "opaque: {cursor}");
        let rest = HistoryQuery {
            cursor: Some(cursor.into()),
            ..q
        };
        let last = s.history("C1", &rest, 15).unwrap();
        assert_eq!(last["messages"].as_array().unwrap().len(), 5);
        assert_eq!(last["has_more"], false);
        assert_eq!(
            s.post_as_person(0, "C404", "U1", "x"),
            Err("channel_not_found")
        );
    }

    #[test]
    fn base64_round_trips() {
        for text in ["", "n", "ne", "nex", "next_ts:1512085861000543"] {
            let enc = base64_encode(text.as_bytes());
            assert_eq!(base64_decode(&enc).unwrap(), text.as_bytes(), "{enc}");
        }
        assert_eq!(
            base64_encode(b"next_ts:1512085861000543"),
            "bmV4dF90czoxNTEyMDg1ODYxMDAwNTQz"
        );
    }

    #[test]
    fn history_honours_oldest_and_latest() {
        let mut s = store();
        let ts: Vec<String> = (0..4u64)
            .map(|n| s.post(1_000 * (n + 1), "C1", "m", None).unwrap().ts)
            .collect();
        let q = HistoryQuery {
            oldest: Some(ts[1].clone()),
            latest: Some(ts[3].clone()),
            ..HistoryQuery::default()
        };
        assert_eq!(
            s.history("C1", &q, 999).unwrap()["messages"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let inclusive = HistoryQuery {
            inclusive: true,
            ..q
        };
        let v = s.history("C1", &inclusive, 999).unwrap();
        assert_eq!(v["messages"].as_array().unwrap().len(), 3);
    }
}
