//! How the driver calls `apps.connections.open`: the [`ConnectionOpener`] trait (blocking; the
//! driver runs it on tokio's blocking pool) and [`SlackOpener`], the crate's Slack client with
//! an app-level token.

use crate::slack::{Secret, SlackClient};
use crate::socket::OpenOutcome;

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

/// `apps.connections.open` through [`SlackClient`] with an app-level token.
#[derive(Debug)]
pub struct SlackOpener {
    client: SlackClient,
    token: Secret,
}

impl SlackOpener {
    /// Call through `client` with the app-level token `token`.
    pub fn new(client: SlackClient, token: Secret) -> SlackOpener {
        SlackOpener { client, token }
    }
}

impl ConnectionOpener for SlackOpener {
    fn open_connection(&self) -> OpenOutcome {
        match self.client.open_connection(&self.token) {
            Ok(url) => OpenOutcome::Url(url.expose().into()),
            Err(error) => {
                // The error names a status or a Slack code, never the token or a URL.
                tracing::warn!(%error, "apps.connections.open failed");
                OpenOutcome::from(&error)
            }
        }
    }
}
