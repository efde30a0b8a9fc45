//! One HTTP exchange over ureq, observed: the shared core of the Web API client and the
//! metadata gateway.

use super::connector::{self, WriteFlag};
use super::error::{ConfigError, TransportError};
use super::observation::{Observation, RawReply};
use super::secret::Secret;
use rustls::ClientConfig;
use std::sync::Arc;
use std::time::Duration;
use ureq::Agent;
use ureq::unversioned::resolver::DefaultResolver;

/// The largest reply body read; a longer one is a [`TransportError::Protocol`](super::TransportError::Protocol) failure (a `conversations.history` page of 15 messages is a few KiB).
pub const MAX_REPLY_BYTES: u64 = 4 * 1024 * 1024;

/// Timeouts and TLS of a client.
#[derive(Clone)]
pub(crate) struct HttpCore {
    config: ureq::config::Config,
    tls: Option<Arc<ClientConfig>>,
}

/// A request body.
pub(crate) enum Body<'a> {
    /// `GET` without a body.
    Get,
    /// `POST` form-encoded (`application/x-www-form-urlencoded`).
    Form(&'a [(&'a str, &'a str)]),
}

impl HttpCore {
    pub(crate) fn new(
        connect_timeout: Duration,
        timeout: Duration,
        tls: Option<Arc<ClientConfig>>,
    ) -> HttpCore {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(connect_timeout))
            .timeout_global(Some(timeout))
            // A redirect would carry the call somewhere unplanned: a 3xx is a malformed reply.
            .max_redirects(0)
            // Every call gets a fresh connection (see `send`).
            .max_idle_connections(0)
            .user_agent(concat!("phantom-fsm/", env!("CARGO_PKG_VERSION")))
            .build();
        HttpCore { config, tls }
    }

    /// Perform one exchange. Each call uses its own agent and connection, so the write watch
    /// belongs to this call alone and a stale pooled connection can never turn a harmless
    /// retry into "maybe written". (Slack calls are seconds apart: pooling would save little.)
    pub(crate) fn send(&self, url: &str, bearer: Option<&Secret>, body: Body<'_>) -> Observation {
        let flag = WriteFlag::default();
        let agent = Agent::with_parts(
            self.config.clone(),
            connector::chain(self.tls.clone(), flag.clone()),
            DefaultResolver::default(),
        );
        match request(&agent, url, bearer, body) {
            Ok(response) => read_reply(response),
            Err(e) if flag.written() => Observation::NoResponse(TransportError::from_ureq(e)),
            Err(e) => Observation::NotSent(TransportError::from_ureq(e)),
        }
    }
}

/// Write the request and read the reply's head.
fn request(
    agent: &Agent,
    url: &str,
    bearer: Option<&Secret>,
    body: Body<'_>,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let auth = bearer.map(|t| format!("Bearer {}", t.expose()));
    match body {
        Body::Get => {
            let mut req = agent.get(url);
            if let Some(auth) = &auth {
                req = req.header("Authorization", auth);
            }
            req.call()
        }
        Body::Form(pairs) => {
            let mut req = agent.post(url);
            if let Some(auth) = &auth {
                req = req.header("Authorization", auth);
            }
            req.send_form(pairs.iter().copied())
        }
    }
}

/// Read the body: a failure now comes after the request was written.
fn read_reply(mut response: ureq::http::Response<ureq::Body>) -> Observation {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_REPLY_BYTES)
        .read_to_vec();
    match body {
        Ok(bytes) => Observation::Response(RawReply {
            status,
            retry_after,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }),
        Err(e) => Observation::NoResponse(TransportError::from_ureq(e)),
    }
}

/// `base` with exactly one trailing slash, checked to be an absolute http(s) URL.
pub(crate) fn normalize_base(base: &str) -> Result<String, ConfigError> {
    let invalid = |reason| ConfigError::InvalidBaseUrl {
        url: base.to_string(),
        reason,
    };
    let uri: ureq::http::Uri = base.parse().map_err(|_| invalid("not a URL"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err(invalid("the scheme must be http or https")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    if uri.query().is_some() {
        return Err(invalid("a base URL takes no query"));
    }
    Ok(format!("{}/", base.trim_end_matches('/')))
}

/// Whether `base` needs TLS.
pub(crate) fn is_https(base: &str) -> bool {
    base.starts_with("https://")
}
