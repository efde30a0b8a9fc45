//! Input templates for diagram exploration, bound to the current representative: the link ids
//! it knows, the call in flight, the armed deadline, each error class.

use super::io::{Input, LinkId, OpenOutcome};
use super::machine::SocketMode;
use super::wire::{Disconnect, DisconnectReason, Envelope, EnvelopeKind, Hello, ServerFrame};
use crate::engine::{FrameRejectReason, Now};
use serde_json::json;

/// Every input worth trying on `m` at `now`.
pub(crate) fn templates(m: &SocketMode, now: Now) -> Vec<(Now, Input)> {
    let mut inputs = vec![Input::Start, Input::Stop, Input::NewTokens];
    if let Some(request) = m.in_flight() {
        for outcome in [
            OpenOutcome::Url("wss://wss-primary.slack.com/link/?ticket=t".into()),
            OpenOutcome::RateLimited {
                retry_after_ms: Some(5_000),
            },
            OpenOutcome::Transient,
            OpenOutcome::Unrecoverable {
                code: "invalid_auth".into(),
            },
        ] {
            inputs.push(Input::OpenResult { request, outcome });
        }
    }
    for link in known_links(m) {
        inputs.extend(link_inputs(link));
    }
    let mut out: Vec<(Now, Input)> = inputs.into_iter().map(|i| (now, i)).collect();
    if let Some(deadline) = m.poll_timeout() {
        out.push((now.advanced_to(deadline), Input::Timeout));
    }
    out
}

fn known_links(m: &SocketMode) -> Vec<LinkId> {
    let links = m.links();
    let mut ids: Vec<LinkId> = [
        links.active.map(|a| a.id),
        links.pending.map(|p| p.id),
        links.draining.map(|d| d.id),
    ]
    .into_iter()
    .flatten()
    .chain(links.closing.iter().map(|c| c.id))
    .collect();
    ids.sort();
    ids
}

fn link_inputs(link: LinkId) -> Vec<Input> {
    let mut inputs = vec![
        Input::LinkOpened { link },
        Input::LinkClosed { link },
        Input::LinkError { link },
        Input::Pong { link },
        Input::FrameRejected {
            link,
            reason: FrameRejectReason::InvalidJson,
        },
        Input::Frame {
            link,
            frame: ServerFrame::Hello(Hello::default()),
        },
        Input::Frame {
            link,
            frame: ServerFrame::Envelope(Envelope {
                envelope_id: "env-explore".into(),
                kind: EnvelopeKind::EventsApi,
                payload: json!({"event_id": "Ev-explore", "event": {"type": "app_mention"}}).into(),
                accepts_response_payload: false,
                retry_attempt: 0,
                retry_reason: None,
            }),
        },
    ];
    for reason in [
        DisconnectReason::Warning,
        DisconnectReason::RefreshRequested,
        DisconnectReason::LinkDisabled,
        DisconnectReason::TooManyWebsockets,
        DisconnectReason::Other("socket_mode_maintenance".into()),
    ] {
        let frame = ServerFrame::Disconnect(Disconnect { reason, host: None });
        inputs.push(Input::Frame { link, frame });
    }
    inputs
}

/// Exploration key: the state plus the shape of the links and calls (not their ids) and the
/// order in which the armed deadlines expire, so each data-dependent guard and each race of
/// deadlines (a pong deadline before a standby's hello deadline) is explored once per shape.
pub(crate) fn key(m: &SocketMode) -> String {
    let l = m.links();
    format!(
        "{} active={} pending={} opened={} draining={} closing={} in_flight={} restart={} \
         timers={:?}",
        m.state_name(),
        l.active.is_some(),
        l.pending.is_some(),
        l.pending.is_some_and(|p| p.opened),
        l.draining.is_some(),
        l.closing.len().min(2),
        m.in_flight().is_some(),
        m.restart_wanted(),
        expiry_order(m),
    )
}

/// The armed timers in the order they will expire.
fn expiry_order(m: &SocketMode) -> Vec<crate::socket::Timer> {
    let mut armed: Vec<_> = m.timers().armed().collect();
    armed.sort_by_key(|(t, at)| (*at, crate::engine::TimerKind::index(*t)));
    armed.into_iter().map(|(t, _)| t).collect()
}
