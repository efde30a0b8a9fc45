//! How the driver calls `apps.connections.open`: the [`ConnectionOpener`] trait (blocking; the
//! driver runs it on tokio's blocking pool) and [`UreqOpener`], a minimal client over ureq.

use super::secret::Secret;
use crate::socket::OpenOutcome;
use std::time::Duration;

/// Calls `apps.connections.open` and classifies the answer. Implement it to supply tokens from
/// elsewhere (a vault, a rotating source) or to fake Slack in tests.
///
/// The call blocks; the driver runs it with `spawn_blocking` and gives up on it at the
/// machine's `OpenDeadline`, so an implementation needs no timeout of its own to be safe (but
/// should have one, to give the thread back).
pub trait ConnectionOpener: Send + Sync + 'static {
    /// One `apps.connections.open` call: `Url(wss://...)`, or how it failed.
    fn open_connection(&self) -> OpenOutcome;
}

/// `apps.connections.open` over ureq with an app-level token.
#[derive(Debug)]
pub struct UreqOpener {
    url: String,
    token: Secret,
    agent: ureq::Agent,
}

/// The HTTP timeout of one call (the machine's `OpenDeadline`, 15 s, bounds the wait anyway).
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

impl UreqOpener {
    /// A client for the Web API at `api_url` (`https://slack.com/api/`, with or without the
    /// trailing slash) with the app-level token `token`.
    pub fn new(api_url: &str, token: Secret) -> UreqOpener {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(CALL_TIMEOUT))
            .build()
            .into();
        UreqOpener {
            url: format!("{}/apps.connections.open", api_url.trim_end_matches('/')),
            token,
            agent,
        }
    }

    fn call(&self) -> Result<OpenOutcome, ureq::Error> {
        let mut reply = self
            .agent
            .post(&self.url)
            .header("Authorization", &format!("Bearer {}", self.token.expose()))
            .send_empty()?;
        let status = reply.status().as_u16();
        let retry_after_ms = reply
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| s.saturating_mul(1000));
        let body: serde_json::Value = reply
            .body_mut()
            .read_json()
            .unwrap_or(serde_json::Value::Null);
        if status == 200
            && body["ok"] == true
            && let Some(url) = body["url"].as_str()
        {
            return Ok(OpenOutcome::Url(url.to_string()));
        }
        let code = body["error"].as_str();
        Ok(OpenOutcome::from_failure(
            Some(status),
            code,
            retry_after_ms,
        ))
    }
}

impl ConnectionOpener for UreqOpener {
    fn open_connection(&self) -> OpenOutcome {
        self.call().unwrap_or_else(|error| {
            // ureq's error names the host at most; never the token.
            tracing::warn!(%error, "apps.connections.open failed");
            OpenOutcome::Transient
        })
    }
}
