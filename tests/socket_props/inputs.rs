//! The machine's inputs for the model's steps.

use super::step::{Answer, Env, Kind, LinkIn, Reason};
use phantom_fsm::engine::FrameRejectReason;
use phantom_fsm::socket::{
    Disconnect, DisconnectReason, Envelope, EnvelopeKind, Hello, ServerFrame,
};
use phantom_fsm::socket::{Input, LinkId, OpenOutcome};

pub(crate) fn outcome(answer: &Answer) -> OpenOutcome {
    match answer {
        Answer::Url => OpenOutcome::Url("wss://wss-primary.slack.com/link/?ticket=t".into()),
        Answer::RateLimited(ms) => OpenOutcome::RateLimited {
            retry_after_ms: *ms,
        },
        Answer::Transient => OpenOutcome::Transient,
        Answer::Unrecoverable(code) => OpenOutcome::Unrecoverable {
            code: (*code).into(),
        },
    }
}

pub(crate) fn link_input(link: LinkId, input: &LinkIn) -> Input {
    let frame = |frame| Input::Frame { link, frame };
    match input {
        LinkIn::Opened => Input::LinkOpened { link },
        LinkIn::Closed => Input::LinkClosed { link },
        LinkIn::Error => Input::LinkError { link },
        LinkIn::Pong => Input::Pong { link },
        LinkIn::Rejected => Input::FrameRejected {
            link,
            reason: FrameRejectReason::InvalidJson,
        },
        LinkIn::Hello => frame(ServerFrame::Hello(Hello::default())),
        LinkIn::Envelope(env) => frame(ServerFrame::Envelope(envelope(env))),
        LinkIn::Disconnect(reason) => frame(ServerFrame::Disconnect(Disconnect {
            reason: disconnect_reason(*reason),
            host: None,
        })),
    }
}

fn disconnect_reason(reason: Reason) -> DisconnectReason {
    match reason {
        Reason::Warning => DisconnectReason::Warning,
        Reason::RefreshRequested => DisconnectReason::RefreshRequested,
        Reason::LinkDisabled => DisconnectReason::LinkDisabled,
        Reason::TooManyWebsockets => DisconnectReason::TooManyWebsockets,
        Reason::Unknown => DisconnectReason::Other("socket_mode_maintenance".into()),
    }
}

fn envelope(env: &Env) -> Envelope {
    let kind = match env.kind {
        Kind::EventsApi => EnvelopeKind::EventsApi,
        Kind::SlashCommands => EnvelopeKind::SlashCommands,
        Kind::Interactive => EnvelopeKind::Interactive,
        Kind::Other => EnvelopeKind::Other("workflow_step".into()),
    };
    let mut payload = serde_json::json!({"event": {"type": "app_mention"}});
    if let Some(ev) = env.event_id {
        payload["event_id"] = serde_json::json!(format!("Ev{ev}"));
    }
    Envelope {
        envelope_id: format!("e{}", env.id),
        kind,
        payload: payload.into(),
        accepts_response_payload: false,
        retry_attempt: 0,
        retry_reason: None,
    }
}
