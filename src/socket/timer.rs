//! The Socket Mode machine's named deadlines.

use crate::engine::TimerKind;

/// Named deadlines of the Socket Mode machine. At most one of each is armed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// When the oldest deferred ack goes out without the handler's response (2.5 s after the
    /// envelope's receipt; armed at the earliest of them). First in tie-break order: an ack
    /// due at the same instant as a link's drop goes out before it.
    AckDeadline,
    /// When to give up on the pending link's `hello` (10 s after the open command).
    HelloDeadline,
    /// When the active link is dead if no frame of any kind arrived since the first unanswered
    /// ping (5 s after it). Fires before a `PingDue` at the same instant: no ping on a dead link.
    PongDeadline,
    /// When to ping the active link next (every 5 s).
    PingDue,
    /// When the in-flight `apps.connections.open` call counts as failed (transient) if it has
    /// not been answered (15 s after it): the machine never waits on the HTTP client's timeout.
    OpenDeadline,
    /// When to call `apps.connections.open` again from `reconnecting`.
    ReconnectBackoff,
    /// When to try again to open a standby link after one failed (stays `connected`).
    StandbyRetry,
    /// When the replaced link stops acking and gets its close frame (1 s after the handover).
    DrainGrace,
    /// When to drop the closing links whose peer never answered the close frame (2 s after
    /// each close frame; armed at the earliest of them).
    CloseGrace,
    /// When to probe again from `error` (5 min).
    Reprobe,
}

impl TimerKind for Timer {
    const ALL: &'static [Timer] = &[
        Timer::AckDeadline,
        Timer::HelloDeadline,
        Timer::PongDeadline,
        Timer::PingDue,
        Timer::OpenDeadline,
        Timer::ReconnectBackoff,
        Timer::StandbyRetry,
        Timer::DrainGrace,
        Timer::CloseGrace,
        Timer::Reprobe,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        match self {
            Timer::HelloDeadline => "hello_deadline",
            Timer::PingDue => "ping_due",
            Timer::PongDeadline => "pong_deadline",
            Timer::OpenDeadline => "open_deadline",
            Timer::ReconnectBackoff => "reconnect_backoff",
            Timer::StandbyRetry => "standby_retry",
            Timer::DrainGrace => "drain_grace",
            Timer::CloseGrace => "close_grace",
            Timer::Reprobe => "reprobe",
            Timer::AckDeadline => "ack_deadline",
        }
    }
}
