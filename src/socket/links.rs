//! The table of WebSocket links the machine knows, by role.
//!
//! Roles bound what can be open at once: an `active` link (has said `hello`), a `pending` one
//! (opening, awaiting `hello`: the first link, or a standby during a handover), a `draining`
//! one (replaced by a handover; still acks for the drain grace) and any number `closing` (close
//! frame sent; each dropped after its own close grace, so no link is left registered at Slack
//! as a "ghost" because another close came right after it). At most two of
//! active/pending/draining coexist: a standby is not opened while a link drains.

use super::io::LinkId;
use crate::engine::Millis;

/// What a link is to the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Said `hello`; envelopes flow; pinged.
    Active,
    /// Opening or open, awaiting `hello`.
    Pending,
    /// Replaced by a handover; acks until the drain grace ends.
    Draining,
    /// Close frame sent; nothing more may be written.
    Closing,
}

/// The active link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveLink {
    /// Its id.
    pub id: LinkId,
    /// When its `hello` arrived.
    pub hello_at: Millis,
    /// Its end was already counted (`LinkEnded`) at a handover, and it became the active link
    /// again because its successor died while it drained: it is not counted twice.
    pub counted: bool,
}

/// The link awaiting `hello`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingLink {
    /// Its id.
    pub id: LinkId,
    /// Whether the WebSocket handshake completed (frames may be written).
    pub opened: bool,
}

/// A link whose close frame was sent, and when it is dropped if the peer never closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClosingLink {
    /// Its id.
    pub id: LinkId,
    /// End of its close grace.
    pub drop_at: Millis,
}

/// Every link the machine knows, by role.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links {
    next_id: u64,
    /// The link envelopes flow on.
    pub active: Option<ActiveLink>,
    /// The link awaiting `hello`.
    pub pending: Option<PendingLink>,
    /// The link replaced by a handover, draining (with when its `hello` arrived, should it
    /// become active again).
    pub draining: Option<ActiveLink>,
    /// The links whose close frame was sent, oldest first.
    pub closing: Vec<ClosingLink>,
}

impl Links {
    /// A fresh id (never reused).
    pub fn allocate(&mut self) -> LinkId {
        self.next_id += 1;
        LinkId(self.next_id)
    }

    /// The role of `link`, or `None` for a link the machine no longer knows.
    pub fn role(&self, link: LinkId) -> Option<Role> {
        if self.active.is_some_and(|a| a.id == link) {
            Some(Role::Active)
        } else if self.pending.is_some_and(|p| p.id == link) {
            Some(Role::Pending)
        } else if self.draining.is_some_and(|d| d.id == link) {
            Some(Role::Draining)
        } else if self.closing.iter().any(|c| c.id == link) {
            Some(Role::Closing)
        } else {
            None
        }
    }

    /// Links open or opening (active, pending, draining).
    pub fn open_count(&self) -> usize {
        usize::from(self.active.is_some())
            + usize::from(self.pending.is_some())
            + usize::from(self.draining.is_some())
    }

    /// Whether no link at all is known.
    pub fn is_empty(&self) -> bool {
        self.open_count() == 0 && self.closing.is_empty()
    }

    /// The earliest end of a close grace.
    pub fn next_drop(&self) -> Option<Millis> {
        self.closing.iter().map(|c| c.drop_at).min()
    }

    /// Forget `link` in whatever role it had; returns the role.
    pub fn remove(&mut self, link: LinkId) -> Option<Role> {
        let role = self.role(link)?;
        match role {
            Role::Active => self.active = None,
            Role::Pending => self.pending = None,
            Role::Draining => self.draining = None,
            Role::Closing => self.closing.retain(|c| c.id != link),
        }
        Some(role)
    }
}
