//! Settings shared by the Web API client and the metadata gateway client.

use super::error::ConfigError;
use super::http::{HttpCore, is_https, normalize_base};
use super::tls::platform_client_config;
use rustls::ClientConfig;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Default bound of the TCP connect (and, per attempt, of the TLS handshake).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default bound of a whole call, connect to last body byte. It is below the Socket Mode
/// machine's `OpenDeadline` (15 s), so a call normally ends before the machine gives up on it;
/// the onboarding machine's reconcile `settle` should be this plus 5 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Timeouts and TLS of a client.
///
/// ```
/// use phantom_fsm::slack::{HttpOptions, DEFAULT_TIMEOUT};
/// let options = HttpOptions::default();
/// assert_eq!(options.timeout, DEFAULT_TIMEOUT);
/// assert!(options.tls.is_none()); // the platform trust store, loaded for https URLs
/// ```
#[derive(Clone)]
pub struct HttpOptions {
    /// Bound of the TCP connect ([`DEFAULT_CONNECT_TIMEOUT`]).
    pub connect_timeout: Duration,
    /// Bound of the whole call ([`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
    /// The TLS configuration for `https` URLs; `None` loads
    /// [`platform_client_config`] (honouring `SSL_CERT_FILE` / `SSL_CERT_DIR`) when the base URL
    /// is `https`.
    pub tls: Option<Arc<ClientConfig>>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            tls: None,
        }
    }
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("tls", &self.tls.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl HttpOptions {
    /// The normalized base URL and the HTTP core for it.
    pub(crate) fn core_for(&self, base_url: &str) -> Result<(String, HttpCore), ConfigError> {
        let base = normalize_base(base_url)?;
        let tls = match (&self.tls, is_https(&base)) {
            (Some(tls), _) => Some(tls.clone()),
            (None, true) => Some(platform_client_config()?),
            (None, false) => None,
        };
        Ok((base, HttpCore::new(self.connect_timeout, self.timeout, tls)))
    }
}
