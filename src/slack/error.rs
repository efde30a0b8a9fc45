//! Errors, typed by who is at fault: the transport (network, TLS, timeouts), Slack (an API
//! error, a rate limit, a server error, a malformed reply), or the caller (bad configuration).
//!
//! No variant carries a token or the Socket Mode URL: requests put tokens in headers and form
//! bodies, never in URLs, and errors only quote URLs and Slack's replies.

use std::time::Duration;

/// A transport failure of one call: what happened on the wire. Whether the request was written
/// is said by where it is held ([`SlackError::NotSent`] or [`SlackError::NoResponse`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The host name did not resolve.
    #[error("could not resolve the host")]
    Resolve,
    /// The TCP connection was refused.
    #[error("connection refused")]
    Refused,
    /// The TLS handshake failed; the text names the problem (e.g. `invalid peer certificate:
    /// UnknownIssuer` for a certificate no trusted CA signed).
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// A configured timeout expired; the text says which stage.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The peer broke HTTP/1.1 (or sent more than the reply size limit).
    #[error("HTTP protocol error: {0}")]
    Protocol(String),
    /// Any other I/O failure (reset, broken pipe, truncated body, ...).
    #[error("I/O error: {0}")]
    Io(String),
    /// The call never got going: an invalid request the client built (a bug, reported rather
    /// than panicked on).
    #[error("request could not be built: {0}")]
    Request(String),
    /// The blocking task that ran the call was cancelled or panicked (async wrapper only).
    #[error("the call's blocking task ended without a result")]
    Aborted,
}

impl TransportError {
    /// Map a ureq error. ureq's messages quote URLs (never tokens) and status codes.
    pub(crate) fn from_ureq(e: ureq::Error) -> TransportError {
        match e {
            ureq::Error::HostNotFound => TransportError::Resolve,
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                TransportError::Refused
            }
            ureq::Error::Io(io) => TransportError::Io(io.to_string()),
            ureq::Error::Rustls(tls) => TransportError::Tls(tls.to_string()),
            ureq::Error::Tls(msg) => TransportError::Tls(msg.to_string()),
            ureq::Error::Timeout(t) => TransportError::Timeout(t.to_string()),
            ureq::Error::Protocol(p) => TransportError::Protocol(p.to_string()),
            ureq::Error::BodyExceedsLimit(n) => {
                TransportError::Protocol(format!("reply larger than {n} bytes"))
            }
            ureq::Error::ConnectionFailed => TransportError::Io("connection failed".into()),
            ureq::Error::BadUri(_) | ureq::Error::Http(_) => TransportError::Request(e.to_string()),
            other => TransportError::Io(other.to_string()),
        }
    }
}

/// Why a Web API call did not give the typed result asked for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SlackError {
    /// Transport, before any byte of the request was written (DNS, connect, TLS handshake):
    /// Slack certainly did nothing.
    #[error("request not sent: {0}")]
    NotSent(#[source] TransportError),
    /// Transport, after the request was (or may have been) written, with no complete reply:
    /// Slack may have acted.
    #[error("no complete reply: {0}")]
    NoResponse(#[source] TransportError),
    /// Slack: HTTP 429 or `ratelimited`; wait at least `retry_after` when given.
    #[error("rate limited (retry after {retry_after:?})")]
    RateLimited {
        /// From the `Retry-After` header.
        retry_after: Option<Duration>,
    },
    /// Slack: an HTTP 5xx reply.
    #[error("Slack server error: HTTP {status}")]
    Server {
        /// The status.
        status: u16,
    },
    /// Slack: `{"ok":false,"error":code}`.
    #[error("Slack API error: {code}")]
    Api {
        /// Slack's error code (`invalid_auth`, `channel_not_found`, ...).
        code: String,
        /// The HTTP status it came with (200 for ordinary API errors).
        status: u16,
    },
    /// Slack (peer misbehaved): a reply that is not the documented shape — unparseable, no
    /// `ok`, or `ok:true` without a field the method promises.
    #[error("malformed reply (HTTP {status}): {reason}")]
    Malformed {
        /// The HTTP status.
        status: u16,
        /// What was wrong.
        reason: String,
    },
}

impl SlackError {
    /// Whether the request is known not to have been written (retrying cannot duplicate it).
    pub fn not_sent(&self) -> bool {
        matches!(self, SlackError::NotSent(_))
    }

    /// Slack's error code, for [`SlackError::Api`] (and `ratelimited` for rate limits).
    pub fn code(&self) -> Option<&str> {
        match self {
            SlackError::Api { code, .. } => Some(code),
            SlackError::RateLimited { .. } => Some("ratelimited"),
            _ => None,
        }
    }
}

/// Misuse or bad configuration when building a client (the caller's fault).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The base URL is not an absolute `http://` or `https://` URL.
    #[error("invalid base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The trust store could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
}

/// Building the TLS client configuration failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// No usable root certificate was found (platform store, `SSL_CERT_FILE`, `SSL_CERT_DIR`).
    #[error("no trusted root certificates found ({detail})")]
    NoRoots {
        /// What the loader reported.
        detail: String,
    },
    /// PEM data given explicitly held no certificate, or one that does not parse.
    #[error("invalid PEM certificates: {0}")]
    InvalidPem(String),
    /// rustls refused the configuration (e.g. no protocol version supported by the provider).
    #[error("TLS configuration: {0}")]
    Rustls(String),
}
