//! Values that must never be printed: tokens, signing secrets and the Socket Mode URL (its
//! query carries a one-time ticket). Their `Debug` and `Display` say what the value is without
//! showing it, so a stray `{:?}` in a log line or an error cannot leak one.

use std::fmt;

/// Token prefixes that are safe to show: they say which kind of token it is, nothing more.
const SHOWN_PREFIXES: &[&str] = &["xapp-", "xoxb-", "xoxp-", "xoxe-", "xoxa-"];

/// A secret string (a Slack token or a signing secret). `Debug` and `Display` print only the
/// token kind, e.g. `xapp-…(redacted)`; [`expose`](Self::expose) is the one way to read it.
///
/// ```
/// use phantom_fsm::slack::Secret;
///
/// let token = Secret::new("xapp-1-A111-222-abcdef");
/// assert_eq!(format!("{token:?}"), "xapp-…(redacted)");
/// assert_eq!(token.to_string(), "xapp-…(redacted)");
/// assert_eq!(token.expose(), "xapp-1-A111-222-abcdef");
/// assert_eq!(format!("{:?}", Secret::new("hunter2")), "…(redacted)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself: pass it to the one place that needs it, never to a formatter.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty (an unset token).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn shown_prefix(&self) -> &'static str {
        SHOWN_PREFIXES
            .iter()
            .copied()
            .find(|p| self.0.starts_with(p) && self.0.len() > p.len())
            .unwrap_or("")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}…(redacted)", self.shown_prefix())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The WebSocket URL `apps.connections.open` returned (`wss://…?ticket=…`). Only the scheme and
/// host are ever printed; the path and query (the ticket) are not.
///
/// ```
/// use phantom_fsm::slack::WssUrl;
///
/// let url = WssUrl::parse("wss://wss-primary.slack.com/link/?ticket=abc&app_id=A1").unwrap();
/// assert_eq!(format!("{url:?}"), "wss://wss-primary.slack.com/…(redacted)");
/// assert!(url.expose().ends_with("ticket=abc&app_id=A1"));
/// let debug = url.with_debug_reconnects();
/// assert!(debug.expose().ends_with("&debug_reconnects=true"));
/// assert!(WssUrl::parse("https://slack.com/").is_none());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct WssUrl {
    url: String,
    /// Length of `scheme://host[:port]`, the part that may be shown.
    shown: usize,
}

impl WssUrl {
    /// Accept a `wss://` URL (or `ws://`, which the local simulator hands out); `None` for
    /// anything else.
    pub fn parse(url: &str) -> Option<WssUrl> {
        let rest = url
            .strip_prefix("wss://")
            .or_else(|| url.strip_prefix("ws://"))?;
        let host_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if host_len == 0 {
            return None;
        }
        Some(WssUrl {
            url: url.to_string(),
            shown: url.len() - rest.len() + host_len,
        })
    }

    /// The full URL, ticket included: hand it to the WebSocket connector only.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// The URL with `debug_reconnects=true` added, which asks Slack for 360 s link lifetimes
    /// (to rehearse handovers).
    pub fn with_debug_reconnects(&self) -> WssUrl {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        WssUrl {
            url: format!("{}{sep}debug_reconnects=true", self.url),
            shown: self.shown,
        }
    }
}

impl fmt::Debug for WssUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/…(redacted)", &self.url[..self.shown])
    }
}

impl fmt::Display for WssUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
