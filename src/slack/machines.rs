//! The adapter to the machines' classifiers: the only file of this module that names
//! `crate::socket` or `crate::onboarding` (so a move of those modules is fixed here alone).

use super::error::SlackError;
use super::observation::Observation;
use crate::onboarding::classify::CallResult;
use crate::socket::OpenOutcome;

impl Observation {
    /// What the onboarding classifiers (`classify_auth`, `classify_open_dm`, `classify_post`,
    /// `classify_history`) take.
    pub fn call_result(&self) -> CallResult<'_> {
        match self {
            Observation::NotSent(_) => CallResult::NotSent,
            Observation::NoResponse(_) => CallResult::NoResponse,
            Observation::Response(reply) => CallResult::Response {
                status: reply.status,
                retry_after: reply.retry_after.as_deref(),
                body: &reply.body,
            },
        }
    }
}

/// How a failed `apps.connections.open` is classified for the Socket Mode machine: 429 /
/// `ratelimited` is rate-limited, an unrecoverable code stops, everything else is transient.
impl From<&SlackError> for OpenOutcome {
    fn from(error: &SlackError) -> OpenOutcome {
        match error {
            SlackError::RateLimited { retry_after } => OpenOutcome::from_failure(
                Some(429),
                None,
                retry_after.map(|d| d.as_millis().min(u64::MAX as u128) as u64),
            ),
            SlackError::Api { code, status } => {
                OpenOutcome::from_failure(Some(*status), Some(code), None)
            }
            SlackError::Server { status } | SlackError::Malformed { status, .. } => {
                OpenOutcome::from_failure(Some(*status), None, None)
            }
            _ => OpenOutcome::from_failure(None, None, None),
        }
    }
}
