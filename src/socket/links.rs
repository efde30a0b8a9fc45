//! The table of WebSocket links the machine knows, by role.
//!
//! Roles bound what can be open at once: an `active` link (has said `hello`), a `pending` one
//! (opening, awaiting `hello`: the first link, or a standby during a handover), a `draining`
//! one (replaced by a handover; still acks for the drain grace) and one `closing` (close frame
//! sent; dropped after the close grace). At most two of active/pending/draining coexist: a
//! standby is not opened while a link drains.

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
}

/// The link awaiting `hello`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingLink {
    /// Its id.
    pub id: LinkId,
    /// Whether the WebSocket handshake completed (frames may be written).
    pub opened: bool,
}

/// Every link the machine knows, by role.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links {
    next_id: u64,
    /// The link envelopes flow on.
    pub active: Option<ActiveLink>,
    /// The link awaiting `hello`.
    pub pending: Option<PendingLink>,
    /// The link replaced by a handover, draining.
    pub draining: Option<LinkId>,
    /// The link whose close frame was sent.
    pub closing: Option<LinkId>,
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
        } else if self.draining == Some(link) {
            Some(Role::Draining)
        } else if self.closing == Some(link) {
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
        self.open_count() == 0 && self.closing.is_none()
    }

    /// Forget `link` in whatever role it had; returns the role.
    pub fn remove(&mut self, link: LinkId) -> Option<Role> {
        let role = self.role(link)?;
        match role {
            Role::Active => self.active = None,
            Role::Pending => self.pending = None,
            Role::Draining => self.draining = None,
            Role::Closing => self.closing = None,
        }
        Some(role)
    }
}
