//! The actions the model's states share (after the policies of `docs/architecture.md`).

use super::{Model, OPEN_TIMEOUT, REPROBE, St, Tm};

/// How the active link ends when the machine gives it up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// Its socket is already gone.
    Gone,
    /// Dead: dropped.
    Drop,
    /// Told to go: closed, with its grace.
    Close,
}

impl Model {
    /// A deadline is armed at least 1 ms after the input, so it never fires within it.
    pub(super) fn arm(&mut self, t: Tm, after: u64) {
        self.timers.insert(t, self.now + after.max(1));
    }

    pub(super) fn start_open(&mut self) -> Option<St> {
        self.request_open();
        Some(St::Connecting)
    }

    pub(super) fn request_open(&mut self) {
        if self.in_flight.is_none() {
            self.next_call += 1;
            self.in_flight = Some(self.next_call);
            self.expect.opened_call = Some(self.next_call);
            self.arm(Tm::Open, OPEN_TIMEOUT);
        }
    }

    /// The call was answered.
    pub(super) fn settle_call(&mut self) {
        self.in_flight = None;
        self.timers.remove(&Tm::Open);
    }

    pub(super) fn abandon_call(&mut self) {
        self.timers.remove(&Tm::Open);
        if let Some(call) = self.in_flight.take() {
            self.abandoned.push(call);
            self.expect.abandoned.push(call);
        }
    }

    pub(super) fn open_pending(&mut self) {
        self.next_tag += 1;
        self.pending = Some((self.next_tag, false));
        self.expect.opened_link = Some(self.next_tag);
        self.arm(Tm::Hello, self.t.hello_timeout);
    }

    pub(super) fn promote_pending(&mut self) {
        if let Some((tag, _)) = self.pending.take() {
            self.active = Some((tag, self.now));
            self.timers.remove(&Tm::Hello);
            self.timers.remove(&Tm::Pong);
            self.arm(Tm::PingDue, self.t.ping_interval);
        }
    }

    pub(super) fn handover(&mut self) {
        if let Some((old, hello_at)) = self.active.take() {
            self.end_active(hello_at);
            if let Some((previous, _)) = self.draining.replace((old, hello_at)) {
                self.close_link(previous);
            }
            self.arm(Tm::Drain, self.t.drain_grace);
        }
        self.promote_pending();
        self.timers.remove(&Tm::StandbyRetry);
        self.expect.handovers += 1;
    }

    /// One `LinkEnded` per link that said `hello`, when it stops being active.
    pub(super) fn end_active(&mut self, hello_at: u64) {
        if !std::mem::take(&mut self.revived) {
            self.expect.link_ended.push(self.now - hello_at);
        }
        self.timers.remove(&Tm::PingDue);
        self.timers.remove(&Tm::Pong);
    }

    /// The active link is gone: the link still draining takes over (no gap), else continue
    /// with the standby, or its call, or back off.
    pub(super) fn lose_active(&mut self, end: End) -> Option<St> {
        if let Some((tag, hello_at)) = self.active.take() {
            self.end_active(hello_at);
            match end {
                End::Gone => self.end_link(tag),
                End::Drop => self.drop_link(tag),
                End::Close => self.close_link(tag),
            }
        }
        self.standby_wanted = false;
        self.timers.remove(&Tm::StandbyRetry);
        if let Some(draining) = self.draining.take() {
            self.timers.remove(&Tm::Drain);
            self.active = Some(draining);
            self.revived = true;
            self.arm(Tm::PingDue, self.t.ping_interval);
            // Slack had asked the old link to go: a standby is wanted again.
            self.want_standby();
            return None;
        }
        if self.pending.is_some() {
            Some(St::Authenticated)
        } else if self.in_flight.is_some() {
            Some(St::Connecting)
        } else {
            self.reconnect(None)
        }
    }

    pub(super) fn reconnect(&mut self, retry_after: Option<u64>) -> Option<St> {
        let delay = retry_after.unwrap_or(0);
        self.arm(Tm::Reconnect, delay);
        self.expect.retry_delays.push(delay);
        Some(St::Reconnecting)
    }

    pub(super) fn enter_error(&mut self, code: &'static str) -> Option<St> {
        self.close_everything();
        self.abandon_call();
        self.clear_lifecycle_timers();
        self.arm(Tm::Reprobe, REPROBE);
        self.code = Some(code);
        Some(St::Error)
    }

    pub(super) fn stop_all(&mut self) -> Option<St> {
        self.close_everything();
        self.abandon_call();
        self.clear_lifecycle_timers();
        Some(if self.links_empty() {
            St::Disconnected
        } else {
            St::Disconnecting
        })
    }

    pub(super) fn forget(&mut self) {
        self.active = None;
        self.pending = None;
        self.draining = None;
        self.closing.clear();
        self.revived = false;
        self.timers.clear();
        self.in_flight = None;
        self.standby_wanted = false;
        self.restart_wanted = false;
    }

    pub(super) fn clear_lifecycle_timers(&mut self) {
        self.timers.retain(|t, _| *t == Tm::Close);
    }

    /// Close every link, each with its own grace.
    pub(super) fn close_everything(&mut self) {
        self.abandon_pending();
        if let Some((tag, _)) = self.draining.take() {
            self.close_link(tag);
        }
        if let Some((tag, hello_at)) = self.active.take() {
            self.end_active(hello_at);
            self.close_link(tag);
        }
        self.standby_wanted = false;
        self.timers.remove(&Tm::Drain);
    }

    pub(super) fn abandon_pending(&mut self) {
        self.timers.remove(&Tm::Hello);
        if let Some((tag, opened)) = self.pending.take() {
            if opened {
                self.close_link(tag);
            } else {
                self.drop_link(tag);
            }
        }
    }

    /// A close frame, and its own grace: a link dropped early stays a ghost at Slack.
    pub(super) fn close_link(&mut self, tag: u32) {
        self.expect.closes.push(tag);
        self.closing
            .push((tag, self.now + self.t.close_grace.max(1)));
        self.arm_close();
    }

    /// The close grace deadline is the earliest of the closing links' graces.
    pub(super) fn arm_close(&mut self) {
        match self.closing.iter().map(|(_, at)| *at).min() {
            Some(at) => {
                self.timers.insert(Tm::Close, at);
            }
            None => {
                self.timers.remove(&Tm::Close);
            }
        }
    }

    pub(super) fn drop_link(&mut self, tag: u32) {
        self.expect.drops.push(tag);
        self.end_link(tag);
    }

    pub(super) fn end_link(&mut self, tag: u32) {
        self.ended.push(tag);
        if self.ended.len() > 4 {
            self.ended.remove(0);
        }
    }

    pub(super) fn want_standby(&mut self) {
        if self.pending.is_some() || self.in_flight.is_some() {
            self.standby_wanted = false;
            return;
        }
        self.standby_wanted = true;
        if self.draining.is_some() || self.timers.contains_key(&Tm::StandbyRetry) {
            return; // at most two links open: wait for the drain or the retry
        }
        self.standby_wanted = false;
        self.request_open();
    }

    pub(super) fn standby_failed(&mut self, retry_after: Option<u64>) {
        let delay = retry_after.unwrap_or(0);
        self.arm(Tm::StandbyRetry, delay);
        self.expect.retry_delays.push(delay);
    }

    pub(crate) fn links_empty(&self) -> bool {
        self.active.is_none()
            && self.pending.is_none()
            && self.draining.is_none()
            && self.closing.is_empty()
    }
}
