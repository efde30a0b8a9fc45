//! The forward client: one pooled ureq agent (connections are reused between requests), with
//! connect and request timeouts; each request runs on the blocking pool.

use super::request::Forward;
use std::time::Duration;
use ureq::Agent;

/// Largest response body read; a bigger one counts as an error answer.
const MAX_BODY: u64 = 1 << 20;

/// How one forwarded request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The app answered with `status` and `body`.
    Status { status: u16, body: String },
    /// No answer within the request timeout.
    Timeout,
    /// The app could not be reached (refused, unresolvable, reset before an answer).
    Refused(String),
}

impl Answer {
    /// The `outcome` label of `phantom_bridge_requests_total`.
    pub(crate) fn outcome(&self) -> &'static str {
        match self {
            Answer::Status { status: 200, .. } => "ok",
            Answer::Status { .. } => "http_error",
            Answer::Timeout => "timeout",
            Answer::Refused(_) => "refused",
        }
    }
}

/// A pooled HTTP client for one forward URL.
#[derive(Clone, Debug)]
pub(crate) struct ForwardClient {
    agent: Agent,
    url: String,
}

impl ForwardClient {
    pub(crate) fn new(url: String, connect: Duration, request: Duration) -> ForwardClient {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(connect))
            .timeout_global(Some(request))
            // Slack does not follow redirects of its deliveries either.
            .max_redirects(0)
            .user_agent("Slackbot 1.0 (+https://api.slack.com/robots)")
            .build();
        ForwardClient {
            agent: config.into(),
            url,
        }
    }

    /// Send one signed request and read its answer (blocking).
    pub(crate) fn send(&self, forward: &Forward, timestamp: u64, signature: &str) -> Answer {
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", forward.content_type)
            .header("X-Slack-Request-Timestamp", timestamp.to_string())
            .header("X-Slack-Signature", signature);
        for (name, value) in &forward.headers {
            request = request.header(*name, value);
        }
        match request.send(forward.body.as_bytes()) {
            Ok(mut response) => {
                let status = response.status().as_u16();
                match response
                    .body_mut()
                    .with_config()
                    .limit(MAX_BODY)
                    .read_to_string()
                {
                    Ok(body) => Answer::Status { status, body },
                    Err(ureq::Error::Timeout(_)) => Answer::Timeout,
                    // An unreadable or oversized body is an error answer, not an outage.
                    Err(_) if status == 200 => Answer::Status {
                        status: 502,
                        body: String::new(),
                    },
                    Err(_) => Answer::Status {
                        status,
                        body: String::new(),
                    },
                }
            }
            Err(ureq::Error::Timeout(_)) => Answer::Timeout,
            Err(ureq::Error::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => Answer::Timeout,
            Err(e) => Answer::Refused(kind_of(&e)),
        }
    }
}

/// A short description of a transport error, without URL or body.
fn kind_of(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Io(e) => format!("io: {:?}", e.kind()),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        other => format!("{other}"),
    }
}
