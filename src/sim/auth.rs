//! Tokens and one-time WebSocket tickets. Pure.
//!
//! Slack's rules, as the simulator applies them, in this order: no token → `not_authed`; a
//! token it does not know → `invalid_auth`; a revoked token → `token_revoked`; a token of the
//! wrong type for the method (a bot `xoxb-` token on `apps.connections.open`, an app-level
//! `xapp-` token on `chat.postMessage`) → `not_allowed_token_type`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

/// How long a `wss://` URL from `apps.connections.open` stays usable.
pub(crate) const TICKET_TTL: Duration = Duration::from_secs(60);
/// Outstanding tickets kept; past it the oldest is forgotten.
const MAX_TICKETS: usize = 64;

/// The type of a token, by the list it was configured in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// App-level token (`xapp-`): only `apps.connections.open`.
    App,
    /// Bot token (`xoxb-`): every other method.
    Bot,
}

/// Why a call was refused, as Slack's error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthError {
    NotAuthed,
    InvalidAuth,
    TokenRevoked,
    NotAllowedTokenType,
}

impl AuthError {
    pub(crate) fn code(self) -> &'static str {
        match self {
            AuthError::NotAuthed => "not_authed",
            AuthError::InvalidAuth => "invalid_auth",
            AuthError::TokenRevoked => "token_revoked",
            AuthError::NotAllowedTokenType => "not_allowed_token_type",
        }
    }
}

/// The tokens the simulated workspace knows.
#[derive(Debug)]
pub(crate) struct Tokens {
    app: Vec<String>,
    bot: Vec<String>,
    revoked: HashSet<String>,
}

impl Tokens {
    pub(crate) fn new(app: Vec<String>, bot: Vec<String>) -> Self {
        Tokens {
            app,
            bot,
            revoked: HashSet::new(),
        }
    }

    /// Check `presented` for a method that takes `allowed`.
    pub(crate) fn check(
        &self,
        presented: Option<&str>,
        allowed: TokenKind,
    ) -> Result<TokenKind, AuthError> {
        let token = presented
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::NotAuthed)?;
        let kind = if self.app.iter().any(|t| t == token) {
            TokenKind::App
        } else if self.bot.iter().any(|t| t == token) {
            TokenKind::Bot
        } else {
            return Err(AuthError::InvalidAuth);
        };
        if self.revoked.contains(token) {
            return Err(AuthError::TokenRevoked);
        }
        if kind != allowed {
            return Err(AuthError::NotAllowedTokenType);
        }
        Ok(kind)
    }

    /// Revoke every token of `kind`; returns how many.
    pub(crate) fn revoke(&mut self, kind: TokenKind) -> usize {
        let list = match kind {
            TokenKind::App => &self.app,
            TokenKind::Bot => &self.bot,
        };
        self.revoked.extend(list.iter().cloned());
        list.len()
    }
}

/// Why a ticket was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TicketError {
    /// Never issued, already used, or forgotten.
    Unknown,
    /// Issued more than [`TICKET_TTL`] ago.
    Expired,
}

/// One-time tickets for the WebSocket URL.
#[derive(Debug)]
pub(crate) struct Tickets {
    rng: fastrand::Rng,
    issued: HashMap<String, Duration>,
    order: VecDeque<String>,
}

impl Tickets {
    pub(crate) fn new(seed: u64) -> Self {
        Tickets {
            rng: fastrand::Rng::with_seed(seed),
            issued: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// A fresh ticket, valid once for [`TICKET_TTL`] from `now`.
    pub(crate) fn issue(&mut self, now: Duration) -> String {
        if self.order.len() >= MAX_TICKETS
            && let Some(old) = self.order.pop_front()
        {
            self.issued.remove(&old);
        }
        let ticket = format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            self.rng.u32(..),
            self.rng.u16(..),
            self.rng.u16(..),
            self.rng.u16(..),
            self.rng.u64(..1 << 48)
        );
        self.issued.insert(ticket.clone(), now);
        self.order.push_back(ticket.clone());
        ticket
    }

    /// Use `ticket` at `now`: it is gone afterwards, whatever the outcome.
    pub(crate) fn redeem(&mut self, now: Duration, ticket: &str) -> Result<(), TicketError> {
        let issued = self.issued.remove(ticket).ok_or(TicketError::Unknown)?;
        self.order.retain(|t| t != ticket);
        if now.saturating_sub(issued) > TICKET_TTL {
            return Err(TicketError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens::new(vec!["xapp-1-A".into()], vec!["xoxb-1".into()])
    }

    #[test]
    fn token_rules_in_slack_order() {
        let t = tokens();
        assert_eq!(t.check(None, TokenKind::App), Err(AuthError::NotAuthed));
        assert_eq!(t.check(Some(""), TokenKind::App), Err(AuthError::NotAuthed));
        assert_eq!(
            t.check(Some("xapp-other"), TokenKind::App),
            Err(AuthError::InvalidAuth)
        );
        assert_eq!(
            t.check(Some("xoxb-1"), TokenKind::App),
            Err(AuthError::NotAllowedTokenType)
        );
        assert_eq!(
            t.check(Some("xapp-1-A"), TokenKind::Bot),
            Err(AuthError::NotAllowedTokenType)
        );
        assert_eq!(
            t.check(Some("xapp-1-A"), TokenKind::App),
            Ok(TokenKind::App)
        );
        assert_eq!(t.check(Some("xoxb-1"), TokenKind::Bot), Ok(TokenKind::Bot));
    }

    #[test]
    fn revoked_tokens_are_refused() {
        let mut t = tokens();
        assert_eq!(t.revoke(TokenKind::Bot), 1);
        assert_eq!(
            t.check(Some("xoxb-1"), TokenKind::Bot),
            Err(AuthError::TokenRevoked)
        );
        assert_eq!(
            t.check(Some("xapp-1-A"), TokenKind::App),
            Ok(TokenKind::App)
        );
    }

    #[test]
    fn tickets_are_one_time_and_expire() {
        let mut t = Tickets::new(1);
        let a = t.issue(Duration::ZERO);
        let b = t.issue(Duration::ZERO);
        assert_ne!(a, b);
        assert_eq!(t.redeem(Duration::from_secs(1), &a), Ok(()));
        assert_eq!(
            t.redeem(Duration::from_secs(1), &a),
            Err(TicketError::Unknown)
        );
        assert_eq!(t.redeem(TICKET_TTL * 2, &b), Err(TicketError::Expired));
        assert_eq!(
            t.redeem(Duration::ZERO, "made-up"),
            Err(TicketError::Unknown)
        );
    }

    #[test]
    fn outstanding_tickets_are_bounded() {
        let mut t = Tickets::new(1);
        let first = t.issue(Duration::ZERO);
        for _ in 0..MAX_TICKETS {
            t.issue(Duration::ZERO);
        }
        assert_eq!(t.redeem(Duration::ZERO, &first), Err(TicketError::Unknown));
    }
}
