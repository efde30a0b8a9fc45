//! The async face of the client: each call runs on tokio's blocking pool, at most
//! `max_in_flight` at once, so a burst of calls cannot take over the pool (which the store's
//! LMDB work shares).

use super::client::{HistoryQuery, PostMessage, SlackClient};
use super::error::{SlackError, TransportError};
use super::observation::Observation;
use super::secret::{Secret, WssUrl};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Default bound of concurrent calls of one [`AsyncSlackClient`].
pub const DEFAULT_MAX_IN_FLIGHT: usize = 8;

/// [`SlackClient`] for async code: the same methods, run through
/// `tokio::task::spawn_blocking`. Cheap to clone (clones share the bound).
///
/// ```
/// use phantom_fsm::slack::{AsyncSlackClient, HttpOptions, Observation, Secret, SlackClient};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let client = SlackClient::new("http://127.0.0.1:1/api/", &HttpOptions::default()).unwrap();
/// let client = AsyncSlackClient::new(client, 4);
/// let observed = client.auth_test(Secret::new("xoxb-1")).await;
/// assert!(matches!(observed, Observation::NotSent(_)));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct AsyncSlackClient {
    client: Arc<SlackClient>,
    permits: Arc<Semaphore>,
}

impl AsyncSlackClient {
    /// Wrap `client`, allowing `max_in_flight` concurrent calls (at least 1).
    pub fn new(client: SlackClient, max_in_flight: usize) -> AsyncSlackClient {
        AsyncSlackClient {
            client: Arc::new(client),
            permits: Arc::new(Semaphore::new(max_in_flight.max(1))),
        }
    }

    /// The blocking client.
    pub fn blocking(&self) -> &SlackClient {
        &self.client
    }

    /// Run `call` on the blocking pool. `None` if the task panicked or was cancelled: the
    /// request may have been written by then.
    async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce(&SlackClient) -> T + Send + 'static,
    ) -> Option<T> {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = self.permits.clone().acquire_owned().await.ok()?;
        let client = self.client.clone();
        tokio::task::spawn_blocking(move || call(&client))
            .await
            .ok()
    }

    async fn observe(
        &self,
        call: impl FnOnce(&SlackClient) -> Observation + Send + 'static,
    ) -> Observation {
        self.run(call)
            .await
            .unwrap_or(Observation::NoResponse(TransportError::Aborted))
    }

    /// [`SlackClient::open_connection`].
    pub async fn open_connection(&self, app_token: Secret) -> Result<WssUrl, SlackError> {
        self.run(move |c| c.open_connection(&app_token))
            .await
            .unwrap_or(Err(SlackError::NoResponse(TransportError::Aborted)))
    }

    /// [`SlackClient::auth_test`].
    pub async fn auth_test(&self, bot_token: Secret) -> Observation {
        self.observe(move |c| c.auth_test(&bot_token)).await
    }

    /// [`SlackClient::conversations_open`].
    pub async fn conversations_open(&self, bot_token: Secret, user: String) -> Observation {
        self.observe(move |c| c.conversations_open(&bot_token, &user))
            .await
    }

    /// [`SlackClient::post_message`].
    pub async fn post_message(&self, bot_token: Secret, message: PostMessage) -> Observation {
        self.observe(move |c| c.post_message(&bot_token, &message))
            .await
    }

    /// [`SlackClient::conversations_history`].
    pub async fn conversations_history(
        &self,
        bot_token: Secret,
        query: HistoryQuery,
    ) -> Observation {
        self.observe(move |c| c.conversations_history(&bot_token, &query))
            .await
    }
}
