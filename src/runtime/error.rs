//! [`RuntimeError`]: what can stop a runtime from starting, by the setting at fault.

use crate::store::StoreError;
use std::net::SocketAddr;

/// Why a runtime could not be built or run. Never contains a token or a link URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// A required token was not given.
    #[error("the {which} token is missing")]
    MissingToken {
        /// `app` or `bot`.
        which: &'static str,
    },
    /// A token of the wrong kind was given (e.g. a bot token `xoxb-...` as the app token).
    #[error("the {which} token must start with {expected} (got a token starting with {got:?})")]
    WrongTokenKind {
        /// `app` or `bot`.
        which: &'static str,
        /// The required prefix: `xapp-` or `xoxb-`.
        expected: &'static str,
        /// The given token's prefix up to its first `-` (never more of it).
        got: String,
    },
    /// The Web API URL is not an absolute `http(s)://` URL.
    #[error("the Slack API URL must be an absolute http:// or https:// URL")]
    ApiUrl,
    /// The bridge's forward URL is not an absolute `http(s)://` URL.
    #[error("the forward URL must be an absolute http:// or https:// URL")]
    ForwardUrl,
    /// The data dir could not be opened (missing permissions, held by another process, ...).
    #[error("cannot open the data dir: {0}")]
    DataDir(#[source] StoreError),
    /// The HTTP listen address could not be bound (in use, not local, ...).
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS configuration (the platform trust store) could not be loaded.
    #[error("TLS configuration: {0}")]
    Tls(#[source] crate::slack::TlsSetupError),
    /// The installer user id is empty or contains `/` (it is part of the ledger key).
    #[error("the installer user id must be a Slack user id (U...), without '/'")]
    Installer,
    /// A thread or task of the runtime could not be started.
    #[error("starting the runtime: {0}")]
    Io(#[source] std::io::Error),
}

impl RuntimeError {
    /// The `phantom-fsm run` flag that names the setting at fault, if one does.
    pub fn flag(&self) -> Option<&'static str> {
        match self {
            RuntimeError::MissingToken { which: "app" }
            | RuntimeError::WrongTokenKind { which: "app", .. } => Some("--app-token"),
            RuntimeError::MissingToken { .. } | RuntimeError::WrongTokenKind { .. } => {
                Some("--bot-token")
            }
            RuntimeError::ApiUrl => Some("--slack-api-url"),
            RuntimeError::ForwardUrl => Some("--forward-url"),
            RuntimeError::DataDir(_) => Some("--data-dir"),
            RuntimeError::Listen { .. } => Some("--listen"),
            RuntimeError::Installer => Some("--installer-user-id"),
            RuntimeError::Tls(_) | RuntimeError::Io(_) => None,
        }
    }
}

/// Check that `token` is of the kind `expected` (`xapp-` or `xoxb-`).
pub(crate) fn check_token(
    which: &'static str,
    expected: &'static str,
    token: &str,
) -> Result<(), RuntimeError> {
    if token.starts_with(expected) {
        return Ok(());
    }
    // Show only the kind of the token (`xoxb`, `xoxp`, ...), never its secret part; anything
    // that does not look like a token kind is not shown at all.
    let prefix = token.split('-').next().unwrap_or("");
    let got = if prefix.len() <= 5 && prefix.chars().all(|c| c.is_ascii_lowercase()) {
        format!("{prefix}-")
    } else {
        "something else".to_string()
    };
    Err(RuntimeError::WrongTokenKind {
        which,
        expected,
        got,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bot_token_as_app_token_is_named_without_its_secret() {
        let e = check_token("app", "xapp-", "xoxb-123-456-secretpart").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("xoxb-") && !text.contains("secretpart"),
            "{text}"
        );
        assert_eq!(e.flag(), Some("--app-token"));
        let e = check_token("bot", "xoxb-", "hunter2hunter2").unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
        assert_eq!(e.flag(), Some("--bot-token"));
    }
}
