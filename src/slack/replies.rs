//! Typed `ok:true` replies, read with [`Observation::reply`](super::Observation::reply). Only
//! the fields the runtime uses; unknown fields are ignored.

use serde::Deserialize;
use serde_json::Value;

/// `auth.test`: who the bot token belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AuthTest {
    /// The workspace id (`T..`): the ledger's instance id starts with it.
    pub team_id: String,
    /// The bot's user id (`U..`).
    pub user_id: String,
    /// The bot id (`B..`), when the token is a bot token.
    #[serde(default)]
    pub bot_id: Option<String>,
}

/// `conversations.open`: the DM channel.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "RawOpened")]
pub struct DmOpened {
    /// The channel id (`D..`).
    pub channel: String,
}

#[derive(Deserialize)]
struct RawOpened {
    channel: ChannelId,
}

#[derive(Deserialize)]
struct ChannelId {
    id: String,
}

impl From<RawOpened> for DmOpened {
    fn from(raw: RawOpened) -> DmOpened {
        DmOpened {
            channel: raw.channel.id,
        }
    }
}

/// `chat.postMessage`: where and when the message was stored.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Posted {
    /// The channel id (empty if Slack left it out: the `ts` is what proves the post).
    #[serde(default)]
    pub channel: String,
    /// The message timestamp, Slack's id of the message.
    pub ts: String,
}

/// One page of `conversations.history`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(from = "RawHistory")]
pub struct HistoryPage {
    /// The messages, newest first, as Slack sent them (with `metadata` when asked for).
    pub messages: Vec<Value>,
    /// Whether older messages remain.
    pub has_more: bool,
    /// The cursor of the next page (`response_metadata.next_cursor`; `None` when empty).
    pub next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct RawHistory {
    messages: Vec<Value>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    response_metadata: Option<ResponseMetadata>,
}

#[derive(Deserialize)]
struct ResponseMetadata {
    #[serde(default)]
    next_cursor: Option<String>,
}

impl From<RawHistory> for HistoryPage {
    fn from(raw: RawHistory) -> HistoryPage {
        HistoryPage {
            messages: raw.messages,
            has_more: raw.has_more,
            next_cursor: raw
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.is_empty()),
        }
    }
}

/// `apps.connections.open`, before the URL is checked and wrapped.
#[derive(Deserialize)]
pub(crate) struct ConnectionsOpen {
    pub(crate) url: String,
}
