//! The metadata gateway: `GET {base}/secrets/{name}` answers the raw secret value (404: no
//! such name). Only a frozen allowlist of names may be asked for; any other name is refused
//! before a request is made, so a typo or an injected name never reaches the gateway.

use super::error::{ConfigError, TransportError};
use super::http::{Body, HttpCore};
use super::observation::Observation;
use super::options::HttpOptions;
use super::secret::Secret;
use std::fmt;
use std::str::FromStr;

/// The secrets the gateway may be asked for (a frozen allowlist).
///
/// ```
/// use phantom_fsm::slack::{GatewayError, SecretName};
/// assert_eq!("slack_app_token".parse::<SecretName>(), Ok(SecretName::SlackAppToken));
/// assert!(matches!("aws_key".parse::<SecretName>(), Err(GatewayError::NotAllowed { .. })));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecretName {
    /// `slack_bot_token`: the `xoxb-` token.
    SlackBotToken,
    /// `slack_app_token`: the `xapp-` token.
    SlackAppToken,
    /// `slack_gateway_signing_secret`: signs the HTTP bridge's requests.
    SlackGatewaySigningSecret,
}

impl SecretName {
    /// Every allowed name.
    pub const ALL: [SecretName; 3] = [
        SecretName::SlackBotToken,
        SecretName::SlackAppToken,
        SecretName::SlackGatewaySigningSecret,
    ];

    /// The name in the gateway's URL.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretName::SlackBotToken => "slack_bot_token",
            SecretName::SlackAppToken => "slack_app_token",
            SecretName::SlackGatewaySigningSecret => "slack_gateway_signing_secret",
        }
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SecretName {
    type Err = GatewayError;

    fn from_str(name: &str) -> Result<SecretName, GatewayError> {
        SecretName::ALL
            .into_iter()
            .find(|n| n.as_str() == name)
            .ok_or_else(|| GatewayError::NotAllowed {
                name: name.chars().take(64).collect(),
            })
    }
}

/// Why a secret could not be fetched.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The caller asked for a name outside the allowlist; no request was made.
    #[error(
        "secret name {name:?} is not on the allowlist (slack_bot_token, slack_app_token, slack_gateway_signing_secret)"
    )]
    NotAllowed {
        /// The name asked for (at most 64 characters of it).
        name: String,
    },
    /// The gateway does not know the name (HTTP 404).
    #[error("the metadata gateway has no secret {name}")]
    Unknown {
        /// The name.
        name: SecretName,
    },
    /// The gateway answered another non-200 status.
    #[error("the metadata gateway answered HTTP {status} for {name}")]
    Status {
        /// The name.
        name: SecretName,
        /// The status.
        status: u16,
    },
    /// The gateway answered 200 with an empty value.
    #[error("the metadata gateway returned an empty {name}")]
    Empty {
        /// The name.
        name: SecretName,
    },
    /// The call failed on the wire.
    #[error("fetching {name} from the metadata gateway: {source}")]
    Transport {
        /// The name.
        name: SecretName,
        /// Whether the request may have been written.
        sent: bool,
        /// What happened.
        source: TransportError,
    },
}

/// A client of the metadata gateway.
///
/// ```
/// use phantom_fsm::slack::{GatewayError, HttpOptions, MetadataGateway};
/// let gateway = MetadataGateway::new("http://127.0.0.1:1", &HttpOptions::default()).unwrap();
/// assert!(matches!(gateway.fetch_named("db_password"), Err(GatewayError::NotAllowed { .. })));
/// ```
#[derive(Clone)]
pub struct MetadataGateway {
    base: String,
    http: HttpCore,
}

impl fmt::Debug for MetadataGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataGateway")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl MetadataGateway {
    /// A client for the gateway at `base_url` (with or without the trailing slash).
    pub fn new(base_url: &str, options: &HttpOptions) -> Result<MetadataGateway, ConfigError> {
        let (base, http) = options.core_for(base_url)?;
        Ok(MetadataGateway { base, http })
    }

    /// Fetch a secret by its name as given by a user: refused before any request unless it is
    /// on the allowlist.
    pub fn fetch_named(&self, name: &str) -> Result<Secret, GatewayError> {
        self.fetch(name.parse()?)
    }

    /// Fetch `name`. The body is the value; surrounding whitespace (a trailing newline) is
    /// dropped.
    pub fn fetch(&self, name: SecretName) -> Result<Secret, GatewayError> {
        let url = format!("{}secrets/{}", self.base, name.as_str());
        let reply = match self.http.send(&url, None, Body::Get) {
            Observation::Response(reply) => reply,
            Observation::NotSent(source) => {
                return Err(GatewayError::Transport {
                    name,
                    sent: false,
                    source,
                });
            }
            Observation::NoResponse(source) => {
                return Err(GatewayError::Transport {
                    name,
                    sent: true,
                    source,
                });
            }
        };
        match reply.status {
            200 => {}
            404 => return Err(GatewayError::Unknown { name }),
            status => return Err(GatewayError::Status { name, status }),
        }
        let value = reply.body.trim();
        if value.is_empty() {
            return Err(GatewayError::Empty { name });
        }
        Ok(Secret::new(value))
    }
}
