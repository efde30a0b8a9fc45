//! The blocking Slack Web API client: the five methods the machines need.

use super::error::{ConfigError, SlackError};
use super::http::{Body, HttpCore};
use super::observation::Observation;
use super::options::HttpOptions;
use super::replies::ConnectionsOpen;
use super::secret::{Secret, WssUrl};
use serde_json::Value;
use std::fmt;

/// Slack's Web API.
pub const DEFAULT_BASE_URL: &str = "https://slack.com/api/";

/// A blocking Web API client. Cheap to clone; every call opens its own connection.
///
/// Methods that feed the onboarding machine return the raw [`Observation`] (classify it with
/// [`Observation::call_result`], or read it with [`Observation::reply`]);
/// [`open_connection`](Self::open_connection) returns the typed URL directly.
///
/// ```
/// use phantom_fsm::slack::{HttpOptions, Observation, Secret, SlackClient, SlackError};
/// use std::time::Duration;
///
/// // Without the trailing slash is the same base URL.
/// let options = HttpOptions { connect_timeout: Duration::from_secs(1), ..Default::default() };
/// let client = SlackClient::new("http://127.0.0.1:1/api", &options).unwrap();
/// assert_eq!(client.base_url(), "http://127.0.0.1:1/api/");
///
/// // Nothing listens on port 1: the request was never written.
/// let token = Secret::new("xapp-1-secret");
/// match client.open_connection(&token) {
///     Err(e @ SlackError::NotSent(_)) => assert!(!e.to_string().contains("secret")),
///     other => panic!("{other:?}"),
/// }
/// assert!(matches!(client.auth_test(&token), Observation::NotSent(_)));
/// ```
#[derive(Clone)]
pub struct SlackClient {
    base: String,
    http: HttpCore,
}

impl fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// The arguments of `chat.postMessage`.
#[derive(Clone, Debug, PartialEq)]
pub struct PostMessage {
    /// The channel (a DM channel id for the intro).
    pub channel: String,
    /// The text.
    pub text: String,
    /// Message metadata (`{"event_type": .., "event_payload": {..}}`), sent as a JSON string.
    pub metadata: Option<Value>,
}

/// The arguments of `conversations.history`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// The channel.
    pub channel: String,
    /// Ask for every message's metadata (needed to find the intro's marker).
    pub include_all_metadata: bool,
    /// Only messages after this Slack timestamp (`"1700000000.000000"`).
    pub oldest: Option<String>,
    /// Page size (Slack caps non-Marketplace apps at 15).
    pub limit: Option<u32>,
    /// The cursor of the page to read (a previous page's `next_cursor`).
    pub cursor: Option<String>,
}

impl SlackClient {
    /// A client for `base_url` (e.g. [`DEFAULT_BASE_URL`]; with or without the trailing
    /// slash). Fails on a base URL that is not absolute `http(s)`, or when an `https` base needs
    /// the platform trust store and none can be loaded.
    pub fn new(base_url: &str, options: &HttpOptions) -> Result<SlackClient, ConfigError> {
        let (base, http) = options.core_for(base_url)?;
        Ok(SlackClient { base, http })
    }

    /// The base URL, with its trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Call `method` with a form-encoded body and the token as `Authorization: Bearer`.
    pub fn call(&self, method: &str, token: &Secret, args: &[(&str, &str)]) -> Observation {
        let url = format!("{}{method}", self.base);
        self.http.send(&url, Some(token), Body::Form(args))
    }

    /// `apps.connections.open` with the app-level (`xapp-`) token: the URL of a new Socket
    /// Mode link. Map a failure with `OpenOutcome::from(&error)`.
    pub fn open_connection(&self, app_token: &Secret) -> Result<WssUrl, SlackError> {
        let observed = self.call("apps.connections.open", app_token, &[]);
        let reply: ConnectionsOpen = observed.reply()?;
        WssUrl::parse(&reply.url).ok_or_else(|| SlackError::Malformed {
            status: 200,
            reason: "`url` is not a ws(s) URL".to_string(),
        })
    }

    /// `auth.test` with the bot token (read it as [`AuthTest`](super::AuthTest)).
    pub fn auth_test(&self, bot_token: &Secret) -> Observation {
        self.call("auth.test", bot_token, &[])
    }

    /// `conversations.open(users=user)`: the DM channel with `user` (read it as
    /// [`DmOpened`](super::DmOpened)).
    pub fn conversations_open(&self, bot_token: &Secret, user: &str) -> Observation {
        self.call("conversations.open", bot_token, &[("users", user)])
    }

    /// `chat.postMessage`, form-encoded, `metadata` as a JSON string (read it as
    /// [`Posted`](super::Posted); for the intro, classify it: a failure after the write is
    /// ambiguous).
    pub fn post_message(&self, bot_token: &Secret, message: &PostMessage) -> Observation {
        let metadata = message.metadata.as_ref().map(Value::to_string);
        let mut args = vec![
            ("channel", message.channel.as_str()),
            ("text", message.text.as_str()),
        ];
        if let Some(metadata) = &metadata {
            args.push(("metadata", metadata));
        }
        self.call("chat.postMessage", bot_token, &args)
    }

    /// `conversations.history`: one page (read it as [`HistoryPage`](super::HistoryPage)).
    pub fn conversations_history(&self, bot_token: &Secret, query: &HistoryQuery) -> Observation {
        let limit = query.limit.map(|l| l.to_string());
        let mut args = vec![("channel", query.channel.as_str())];
        if query.include_all_metadata {
            args.push(("include_all_metadata", "true"));
        }
        if let Some(oldest) = &query.oldest {
            args.push(("oldest", oldest));
        }
        if let Some(limit) = &limit {
            args.push(("limit", limit));
        }
        if let Some(cursor) = &query.cursor {
            args.push(("cursor", cursor));
        }
        self.call("conversations.history", bot_token, &args)
    }
}
