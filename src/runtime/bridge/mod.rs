//! The HTTP bridge (`run --forward-url`): each envelope becomes the HTTP request Slack's HTTP
//! delivery would have sent (Events API JSON, slash-command form, `payload=` interactivity
//! form), signed `v0` with the app's signing secret, so an unmodified Bolt app in HTTP mode runs
//! behind Socket Mode. A 200 answer to an envelope that accepts a response payload rides inside
//! the ack (`docs/bridge.md`).
//!
//! The bridge is an [`EventHandler`]: it runs on the handler tasks, after (or, for answers, in
//! place of) the ack, so a slow or absent app never delays acks or pings. Requests beyond
//! `max_concurrency` wait for a slot while still counting as unfinished dispatches, which is
//! what makes the socket machine shed (`max_pending`) rather than queue without bound.

mod client;
mod request;
mod sign;

pub use request::{FORM, Forward, JSON, to_ack_payload, to_request};
pub use sign::{sign, verify};

use super::{Delivery, EventHandler, HandlerError};
use crate::slack::Secret;
use crate::telemetry::Telemetry;
use client::{Answer, ForwardClient};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Semaphore;

/// Where and how the bridge forwards.
#[derive(Clone, Debug)]
pub struct BridgeConfig {
    /// The app's request URL (Bolt's default path is `/slack/events`).
    pub url: String,
    /// The app's signing secret, the one it verifies requests with.
    pub signing_secret: Secret,
    /// Connect timeout (default 1 s).
    pub connect_timeout: Duration,
    /// Whole-request timeout (default 3 s, as Slack's HTTP delivery waits).
    pub request_timeout: Duration,
    /// Most requests in flight at once (default 32); the rest wait, as unfinished dispatches.
    pub max_concurrency: usize,
}

impl BridgeConfig {
    /// The defaults for `url` signed with `signing_secret`.
    pub fn new(url: impl Into<String>, signing_secret: Secret) -> BridgeConfig {
        BridgeConfig {
            url: url.into(),
            signing_secret,
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(3),
            max_concurrency: 32,
        }
    }
}

/// The forwarding [`EventHandler`]. Build it with the runtime's telemetry
/// ([`Runtime::telemetry`](super::Runtime::telemetry)) or through
/// [`RuntimeBuilder::forward`](super::RuntimeBuilder::forward), which also turns responder mode
/// on.
#[derive(Clone, Debug)]
pub struct Bridge {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: ForwardClient,
    secret: Secret,
    slots: Arc<Semaphore>,
    telemetry: Telemetry,
}

impl Bridge {
    /// A bridge for `config`, counting into `telemetry` (its bridge families appear now).
    /// Fails when the URL is not `http://` or `https://`.
    pub fn new(config: BridgeConfig, telemetry: Telemetry) -> Result<Bridge, BridgeUrlError> {
        if !(config.url.starts_with("http://") || config.url.starts_with("https://")) {
            return Err(BridgeUrlError);
        }
        telemetry.enable_bridge();
        Ok(Bridge {
            inner: Arc::new(Inner {
                client: ForwardClient::new(
                    config.url,
                    config.connect_timeout,
                    config.request_timeout,
                ),
                secret: config.signing_secret,
                slots: Arc::new(Semaphore::new(config.max_concurrency.max(1))),
                telemetry,
            }),
        })
    }
}

/// The forward URL is not an `http://` or `https://` URL.
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("must be an http:// or https:// URL")]
pub struct BridgeUrlError;

impl EventHandler for Bridge {
    async fn handle(&self, delivery: Delivery) -> Result<(), HandlerError> {
        let Some(forward) = to_request(&delivery) else {
            // No HTTP form for this envelope type: ack without a payload at once.
            delivery.respond(serde_json::Value::Null);
            return Ok(());
        };
        let inner = self.inner.clone();
        let slot = inner.slots.clone().acquire_owned().await?;
        let started = Instant::now();
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let signature = sign(
            inner.secret.expose().as_bytes(),
            timestamp,
            forward.body.as_bytes(),
        );
        let client = inner.client.clone();
        let answer = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            client.send(&forward, timestamp, &signature)
        })
        .await
        .unwrap_or_else(|_| Answer::Refused("send task failed".to_string()));
        let outcome = answer.outcome();
        inner
            .telemetry
            .bridge_request(outcome, started.elapsed().as_secs_f64());
        let envelope_type = delivery.envelope_type();
        let payload = match &answer {
            Answer::Status { status: 200, body } => to_ack_payload(envelope_type, body),
            Answer::Status { status, .. } => {
                tracing::warn!(envelope_type, outcome, status, "forwarded request failed");
                serde_json::Value::Null
            }
            Answer::Timeout => {
                tracing::warn!(envelope_type, outcome, "forwarded request timed out");
                serde_json::Value::Null
            }
            Answer::Refused(error) => {
                tracing::warn!(
                    envelope_type,
                    outcome,
                    error = error.as_str(),
                    "forward target unreachable"
                );
                serde_json::Value::Null
            }
        };
        delivery.respond(payload);
        Ok(())
    }
}
