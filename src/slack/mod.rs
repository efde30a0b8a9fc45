//! The Slack Web API client the runtime uses: blocking over ureq, with an async wrapper.
//!
//! - [`SlackClient`]: `apps.connections.open`, `auth.test`, `conversations.open`,
//!   `chat.postMessage`, `conversations.history`. Every call yields an [`Observation`]
//!   that knows whether the request was written ([`Observation::NotSent`] only when no byte
//!   reached the socket), which converts to the onboarding classifiers' `CallResult`
//!   ([`Observation::call_result`]) or reads as a typed reply ([`Observation::reply`]) or a
//!   [`SlackError`] typed by who is at fault. A failed `apps.connections.open` converts to the
//!   Socket Mode machine's `OpenOutcome`.
//! - [`AsyncSlackClient`]: the same calls through `tokio::task::spawn_blocking`, bounded.
//! - [`MetadataGateway`]: `GET {base}/secrets/{name}` for an allowlist of [`SecretName`]s.
//! - [`platform_client_config`]: the rustls configuration (platform roots, `SSL_CERT_FILE`,
//!   `SSL_CERT_DIR`; the `ring` provider, nothing installed process-wide), for HTTPS here and
//!   for the runtime's `wss://` connector.
//! - [`Secret`] and [`WssUrl`]: tokens and the Socket Mode URL, redacted in `Debug`/`Display`.
//!
//! Timeouts are bounded by [`HttpOptions`] (defaults [`DEFAULT_CONNECT_TIMEOUT`],
//! [`DEFAULT_TIMEOUT`]); the machines keep their own deadlines regardless.

mod blocking;
mod client;
mod connector;
mod error;
mod http;
mod machines;
mod observation;
mod options;
mod replies;
mod secret;
mod secrets;
mod tls;

pub use blocking::{AsyncSlackClient, DEFAULT_MAX_IN_FLIGHT};
pub use client::{DEFAULT_BASE_URL, HistoryQuery, PostMessage, SlackClient};
pub use error::{ConfigError, SlackError, TlsSetupError, TransportError};
pub use http::MAX_REPLY_BYTES;
pub use observation::{Observation, RawReply};
pub use options::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, HttpOptions};
pub use replies::{AuthTest, DmOpened, HistoryPage, Posted};
pub use secret::{Secret, WssUrl};
pub use secrets::{GatewayError, MetadataGateway, SecretName};
pub use tls::{client_config_from_pem, client_config_with_roots, platform_client_config};
