//! The statig shared storage of the Socket Mode machine, and its outbox type.

use super::acks::AckBook;
use super::config::SocketConfig;
use super::dedupe::DedupeWindow;
use super::io::{Command, RequestId};
use super::links::Links;
use super::timer::Timer;
use crate::engine::Backoff;
use crate::engine::time::duration_ms;

/// The statig context: the engine's outbox with this machine's commands and timers.
pub(crate) type Outbox = crate::engine::Outbox<Command, Timer>;

/// Shared storage of the Socket Mode machine: configuration, RNG, links, the dedupe window and
/// the in-flight `apps.connections.open` call. The deadlines live in the [`Outbox`].
#[derive(Clone, Debug)]
pub(crate) struct Storage {
    pub(crate) instance: String,
    pub(crate) config: SocketConfig,
    pub(crate) rng: fastrand::Rng,
    pub(crate) links: Links,
    /// The one `apps.connections.open` call whose answer is awaited.
    pub(crate) in_flight: Option<RequestId>,
    pub(crate) next_request: u64,
    /// Backoff of `reconnecting`.
    pub(crate) backoff: Backoff,
    /// Backoff of standby retries while `connected`.
    pub(crate) standby_backoff: Backoff,
    /// A handover was asked for but must wait (a link is still draining).
    pub(crate) standby_wanted: bool,
    /// A `start` or `new_tokens` arrived while `disconnecting`: start again once the links are
    /// gone.
    pub(crate) restart_wanted: bool,
    pub(crate) dedupe: DedupeWindow,
    /// Deferred acks, late responses, unfinished dispatches.
    pub(crate) acks: AckBook,
}

impl Storage {
    pub(crate) fn new(instance: &str, config: SocketConfig) -> Storage {
        Storage {
            instance: instance.to_string(),
            rng: fastrand::Rng::with_seed(config.seed),
            links: Links::default(),
            in_flight: None,
            next_request: 0,
            backoff: Backoff::new(config.backoff_base, config.backoff_cap),
            standby_backoff: Backoff::new(config.backoff_base, config.backoff_cap),
            standby_wanted: false,
            restart_wanted: false,
            acks: AckBook::default(),
            dedupe: DedupeWindow::new(duration_ms(config.dedupe_ttl), config.dedupe_capacity),
            config,
        }
    }
}
