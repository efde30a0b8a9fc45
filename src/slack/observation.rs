//! What the client observed of one call, before any classification, and its reading into a
//! typed reply or a [`SlackError`].

use super::error::{SlackError, TransportError};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::fmt;
use std::time::Duration;

/// What one HTTP call observed. The distinction the machines need is exact: `NotSent` only
/// when no byte of the request was handed to the socket (DNS, connect, TLS handshake failed).
///
/// The onboarding machine's classifiers take it as a `CallResult` (see
/// [`Observation::call_result`]); typed callers use [`Observation::reply`].
///
/// ```
/// use phantom_fsm::slack::{AuthTest, Observation, RawReply, SlackError};
///
/// let ok = Observation::Response(RawReply {
///     status: 200,
///     retry_after: None,
///     body: r#"{"ok":true,"team_id":"T1","user_id":"U1"}"#.into(),
/// });
/// assert_eq!(ok.reply::<AuthTest>().unwrap().team_id, "T1");
///
/// let revoked = Observation::Response(RawReply {
///     status: 200,
///     retry_after: None,
///     body: r#"{"ok":false,"error":"token_revoked"}"#.into(),
/// });
/// assert_eq!(revoked.error().unwrap().code(), Some("token_revoked"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// The request was certainly not written.
    NotSent(TransportError),
    /// The request was (or may have been) written, and no complete reply was read: a timeout,
    /// a reset, a truncated body.
    NoResponse(TransportError),
    /// A complete HTTP reply, whatever its status.
    Response(RawReply),
}

/// A complete HTTP reply.
#[derive(Clone, PartialEq, Eq)]
pub struct RawReply {
    /// The HTTP status.
    pub status: u16,
    /// The raw `Retry-After` header.
    pub retry_after: Option<String>,
    /// The body (invalid UTF-8 replaced, so a broken reply still classifies as unparseable).
    pub body: String,
}

/// The body is left out: a reply can carry a secret (the Socket Mode URL, a gateway secret).
impl fmt::Debug for RawReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawReply")
            .field("status", &self.status)
            .field("retry_after", &self.retry_after)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Observation {
    /// Read the reply as `T` (one of the typed replies, e.g. [`AuthTest`](super::AuthTest)):
    /// `ok:true` with the fields `T` needs, or the [`SlackError`] that says who is at fault.
    pub fn reply<T: DeserializeOwned>(&self) -> Result<T, SlackError> {
        let (map, status) = self.ok_body()?;
        serde_json::from_value(Value::Object(map)).map_err(|e| SlackError::Malformed {
            status,
            reason: format!("ok reply not as documented: {e}"),
        })
    }

    /// The error this observation proves, or `None` for an `ok:true` reply.
    pub fn error(&self) -> Option<SlackError> {
        self.ok_body().err()
    }

    /// The `ok:true` body, or the error. Order matters: 429 and 5xx win over whatever the body
    /// says, and `ok:false` with `ratelimited` is a rate limit at any status.
    fn ok_body(&self) -> Result<(Map<String, Value>, u16), SlackError> {
        let reply = match self {
            Observation::NotSent(e) => return Err(SlackError::NotSent(e.clone())),
            Observation::NoResponse(e) => return Err(SlackError::NoResponse(e.clone())),
            Observation::Response(reply) => reply,
        };
        let status = reply.status;
        let retry_after = reply.retry_after.as_deref().and_then(parse_retry_after);
        if status == 429 {
            return Err(SlackError::RateLimited { retry_after });
        }
        if status >= 500 {
            return Err(SlackError::Server { status });
        }
        let malformed = |reason: &str| SlackError::Malformed {
            status,
            reason: reason.to_string(),
        };
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&reply.body) else {
            return Err(malformed("not a JSON object"));
        };
        match map.get("ok") {
            Some(Value::Bool(true)) => Ok((map, status)),
            Some(Value::Bool(false)) => match map.get("error").and_then(Value::as_str) {
                Some("ratelimited") => Err(SlackError::RateLimited { retry_after }),
                Some(code) => Err(SlackError::Api {
                    code: code.to_string(),
                    status,
                }),
                None => Err(malformed("ok:false without an error code")),
            },
            _ => Err(malformed("no boolean `ok`")),
        }
    }
}

/// `Retry-After` in seconds (`"30"`, `"1.5"`). Slack does not use the HTTP-date form; it
/// yields `None`, and the caller's backoff applies.
pub(crate) fn parse_retry_after(header: &str) -> Option<Duration> {
    let secs: f64 = header.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, retry_after: Option<&str>, body: &str) -> Observation {
        Observation::Response(RawReply {
            status,
            retry_after: retry_after.map(str::to_string),
            body: body.to_string(),
        })
    }

    #[test]
    fn retry_after_is_seconds_only() {
        assert_eq!(parse_retry_after(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("1.5"), Some(Duration::from_millis(1500)));
        for bad in ["-1", "abc", "Wed, 21 Oct 2015 07:28:00 GMT", "NaN", "inf"] {
            assert_eq!(parse_retry_after(bad), None, "{bad}");
        }
    }

    #[test]
    fn status_wins_over_the_body() {
        let limited = response(429, Some("2"), r#"{"ok":true}"#);
        assert_eq!(
            limited.error(),
            Some(SlackError::RateLimited {
                retry_after: Some(Duration::from_secs(2))
            })
        );
        let server = response(503, None, r#"{"ok":true}"#);
        assert_eq!(server.error(), Some(SlackError::Server { status: 503 }));
    }

    #[test]
    fn shapes_without_a_boolean_ok_are_malformed() {
        for body in [r#"{"ok":"true"}"#, "[]", r#"{"ok":false}"#, ""] {
            let error = response(200, None, body).error();
            assert!(
                matches!(error, Some(SlackError::Malformed { .. })),
                "{body}"
            );
        }
    }

    #[test]
    fn raw_reply_debug_omits_the_body() {
        let reply = RawReply {
            status: 200,
            retry_after: None,
            body: "wss://x/?ticket=SECRET".into(),
        };
        assert!(!format!("{reply:?}").contains("SECRET"));
    }
}
