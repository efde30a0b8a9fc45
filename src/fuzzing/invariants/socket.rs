//! The Socket Mode machine's own invariants.

use crate::engine::Output;
use crate::socket::Command;

/// At most two links open or opening (the active one and a standby). Closing links are not
/// capped here: each is bounded by its own close grace (a link dropped early to keep a cap
/// would stay registered at Slack as a ghost), which [`close_graces`] checks.
pub fn link_limits(open: usize, closing: usize) -> Result<(), String> {
    if open <= 2 {
        Ok(())
    } else {
        Err(format!(
            "link limits: {open} open or opening, {closing} closing"
        ))
    }
}

/// Ack first: every `Dispatch` of one input's outputs comes right after the `Ack` of the
/// same envelope on the same link and the `Remember` of its dedupe key. Two exceptions: an
/// envelope read on a link already closing (`unackable`) has its ack tried on the active link
/// (`Ack` on another link), or none when there is no active link; and with a `responder`, an
/// envelope that `accepts_response_payload` is remembered and dispatched with no ack yet (its
/// ack waits for the handler's response).
pub fn ack_then_remember_then_dispatch(
    outputs: &[Output<Command>],
    responder: bool,
) -> Result<(), String> {
    for (i, output) in outputs.iter().enumerate() {
        let Output::Command(Command::Dispatch { link, envelope }) = output else {
            continue;
        };
        let key = envelope.dedupe_key();
        let unackable = matches!(
            outputs.get(i + 1),
            Some(Output::Signal(crate::engine::Signal::Envelope {
                outcome: crate::engine::EnvelopeOutcome::Unackable,
                ..
            }))
        );
        let deferred = responder && envelope.accepts_response_payload;
        let acked_here = outputs[..i].iter().any(|o| {
            matches!(o, Output::Command(Command::Ack { envelope_id, .. })
                if *envelope_id == envelope.envelope_id)
        });
        let in_order = match &outputs[..i] {
            _ if deferred => {
                !acked_here
                    && matches!(&outputs[..i], [.., Output::Command(Command::Remember { key: k, .. })] if *k == key)
            }
            [
                ..,
                Output::Command(Command::Ack {
                    link: l,
                    envelope_id,
                    ..
                }),
                Output::Command(Command::Remember { key: k, .. }),
            ] => *envelope_id == envelope.envelope_id && *k == key && (l == link || unackable),
            [.., Output::Command(Command::Remember { key: k, .. })] => *k == key && unackable,
            _ => false,
        };
        if !in_order {
            return Err(format!(
                "Dispatch {key} not right after its ack and Remember"
            ));
        }
    }
    Ok(())
}

/// A socket as a faithful shell holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Socket {
    /// `OpenLink` received; the handshake has not completed.
    Opening,
    /// Open: frames may be written.
    Open,
    /// A close frame was written; nothing more may be.
    Closing,
}

/// The sockets a faithful shell holds, rebuilt only from the inputs it delivered and the
/// commands it got back, whatever the machine's internals say: a write goes only to an open
/// socket, a drop only to a held one, and a link id is never issued twice in a process.
#[derive(Clone, Debug, Default)]
pub struct Sockets {
    held: std::collections::BTreeMap<crate::socket::LinkId, Socket>,
    issued: Vec<crate::socket::LinkId>,
    /// When each closing socket got its close frame.
    closed_at: std::collections::BTreeMap<crate::socket::LinkId, crate::engine::Millis>,
}

impl Sockets {
    /// The socket `link`, if held.
    pub fn get(&self, link: &crate::socket::LinkId) -> Option<&Socket> {
        self.held.get(link)
    }

    /// Every held socket.
    pub fn held(&self) -> impl Iterator<Item = (crate::socket::LinkId, Socket)> + '_ {
        self.held.iter().map(|(l, s)| (*l, *s))
    }

    /// How many sockets are held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether no socket is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Every link id issued in this process, oldest first.
    pub fn issued(&self) -> &[crate::socket::LinkId] {
        &self.issued
    }

    /// Sockets open or opening, and sockets closing.
    pub fn counts(&self) -> (usize, usize) {
        let closing = self
            .held
            .values()
            .filter(|s| **s == Socket::Closing)
            .count();
        (self.held.len() - closing, closing)
    }

    /// A frame arrived on `link`: a socket still opening has completed its handshake (the
    /// driver's `LinkOpened` may be late).
    pub fn frame_on(&mut self, link: crate::socket::LinkId) {
        if let Some(s @ Socket::Opening) = self.held.get_mut(&link) {
            *s = Socket::Open;
        }
    }

    /// What delivering `input` tells the shell about its sockets. The machine handles the
    /// input before any deadline due at its time, so nothing it writes afterwards may target
    /// a socket the input closed.
    pub fn observe(&mut self, input: &crate::socket::Input) {
        use crate::socket::Input;
        match input {
            Input::LinkOpened { link }
            | Input::Frame { link, .. }
            | Input::FrameRejected { link, .. }
            | Input::Pong { link } => self.frame_on(*link),
            Input::LinkClosed { link } | Input::LinkError { link } => {
                self.held.remove(link);
            }
            _ => {}
        }
    }

    /// Whether dropping `link` at `now` leaves no ghost registered at Slack: a socket whose
    /// handshake never completed, a closing one whose close `grace` has run out, or an open one
    /// that already failed (`failed`: the active link the machine just found dead). Call it
    /// before [`command`](Self::command) carries the drop out.
    pub fn drop_allowed(
        &self,
        link: crate::socket::LinkId,
        now: crate::engine::Millis,
        grace: std::time::Duration,
        failed: Option<crate::socket::LinkId>,
    ) -> Result<(), String> {
        match self.held.get(&link) {
            None | Some(Socket::Opening) => Ok(()),
            Some(Socket::Open) if failed == Some(link) => Ok(()),
            Some(Socket::Open) => Err(format!(
                "{link} dropped while open and alive: it stays a ghost at Slack"
            )),
            Some(Socket::Closing) => {
                let closed = self.closed_at.get(&link).copied().unwrap_or(now);
                let until = closed.after(grace.max(std::time::Duration::from_millis(1)));
                if now >= until {
                    Ok(())
                } else {
                    Err(format!(
                        "{link} dropped at {now:?}, before its close grace ends at {until:?}"
                    ))
                }
            }
        }
    }

    /// Record when the close frame of `link` was written (with [`command`](Self::command)).
    pub fn closed(&mut self, link: crate::socket::LinkId, now: crate::engine::Millis) {
        self.closed_at.insert(link, now);
    }

    /// Carry out `command` on the sockets, or say why a shell could not.
    pub fn command(&mut self, command: &Command) -> Result<(), String> {
        match command {
            Command::OpenLink { link, .. } => {
                if self.issued.contains(link) {
                    return Err(format!("link id {link} reused"));
                }
                self.issued.push(*link);
                self.held.insert(*link, Socket::Opening);
            }
            Command::Ack { link, .. } => self.writable(*link, "Ack")?,
            Command::Ping { link } => self.writable(*link, "Ping")?,
            Command::CloseLink { link } => {
                self.writable(*link, "CloseLink")?;
                self.held.insert(*link, Socket::Closing);
            }
            // The guard drops a held socket; only a socket that was not held is an error.
            Command::DropLink { link } if self.held.remove(link).is_none() => {
                return Err(format!("DropLink on {link}, which the shell does not hold"));
            }
            _ => {}
        }
        Ok(())
    }

    fn writable(&self, link: crate::socket::LinkId, what: &str) -> Result<(), String> {
        match self.held.get(&link) {
            Some(Socket::Open) => Ok(()),
            other => Err(format!(
                "{what} on {link}, which the shell holds as {other:?}"
            )),
        }
    }
}

/// Every closing link has its own close grace, no longer than `grace` from `now`, and the
/// `CloseGrace` deadline is armed at the earliest of them (none armed when none closes).
pub fn close_graces(
    links: &crate::socket::Links,
    close_grace_at: Option<crate::engine::Millis>,
    now: crate::engine::Millis,
    grace: std::time::Duration,
) -> Result<(), String> {
    if close_grace_at != links.next_drop() {
        return Err(format!(
            "close grace armed at {close_grace_at:?}, earliest closing link ends at {:?}",
            links.next_drop()
        ));
    }
    let latest = now.after(grace.max(std::time::Duration::from_millis(1)));
    match links.closing.iter().find(|c| c.drop_at > latest) {
        Some(c) => Err(format!(
            "{} closes until {:?}, past {latest:?}",
            c.id, c.drop_at
        )),
        None => Ok(()),
    }
}

/// Every envelope dispatched before its ack (`owed`: envelope id and receipt time, oldest
/// first; an id may be owed twice once the dedupe window forgot it) is still awaited by the
/// machine with an ack deadline at most `limit` after its receipt and after `now`, and the
/// `AckDeadline` (`armed`) wakes the shell for it: so it is acked within Slack's 3 s. Returns
/// the positions in `owed` the machine no longer awaits (acked in this step, or given up for
/// want of a link: the caller decides which).
pub fn deferred_acks(
    owed: &[(String, crate::engine::Millis)],
    awaiting: &[crate::socket::AwaitingAck],
    armed: Option<crate::engine::Millis>,
    now: crate::engine::Millis,
    limit: std::time::Duration,
) -> Result<Vec<usize>, String> {
    let mut gone = Vec::new();
    let mut matched = vec![false; awaiting.len()];
    for (i, (id, receipt)) in owed.iter().enumerate() {
        let latest = receipt.after(limit.max(std::time::Duration::from_millis(1)));
        // An id owed twice is awaited twice; the entry of this receipt is the one whose
        // deadline is within `limit` of it (a later receipt's deadline is later).
        let found = (0..awaiting.len()).find(|k| {
            !matched[*k] && awaiting[*k].envelope_id == *id && awaiting[*k].ack_by <= latest
        });
        let Some(k) = found else {
            gone.push(i);
            continue;
        };
        matched[k] = true;
        let a = &awaiting[k];
        if now >= a.ack_by {
            return Err(format!(
                "{id} received at {receipt:?} awaits its ack until {:?} at {now:?}",
                a.ack_by
            ));
        }
        if armed.is_none_or(|at| at > a.ack_by) {
            return Err(format!(
                "{id} awaits its ack with the ack deadline at {armed:?}"
            ));
        }
    }
    // Every deferred ack belongs to a receipt: one left over has a deadline later than
    // `limit` after any receipt of its id.
    if let Some(k) = (0..awaiting.len()).find(|k| !matched[*k]) {
        let a = &awaiting[k];
        return Err(format!(
            "{} awaits its ack until {:?}, more than {limit:?} after every receipt of it",
            a.envelope_id, a.ack_by
        ));
    }
    Ok(gone)
}

/// Nothing is awaited without a deadline to wake for it: a call in flight, a pending or closing
/// link, or a deferred ack.
pub fn a_deadline_when_waiting(m: &crate::socket::SocketMode) -> Result<(), String> {
    let l = m.links();
    let waiting = m.in_flight().is_some()
        || l.pending.is_some()
        || !l.closing.is_empty()
        || !m.acks().awaiting.is_empty();
    if waiting && m.poll_timeout().is_none() {
        return Err("waiting on a call, a link or an ack with no deadline armed".to_string());
    }
    Ok(())
}
