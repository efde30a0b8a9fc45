//! Socket Mode wire frames: lenient decoding of what the server sends, encoding of what the
//! client sends (acks), and encoding of server frames for the simulator.
//!
//! Decoding never panics and never fails on unknown or mistyped optional fields: they are
//! ignored or take their defaults. A frame is rejected only for the reasons of
//! [`FrameRejectReason`], after a size check that happens before any parsing.

use super::fields::Fields;
use crate::engine::FrameRejectReason;
use serde_json::value::RawValue;
use serde_json::{Value, json};

pub use super::payload::Payload;

/// Default frame size limit: 1 MiB.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1 << 20;

/// A decoded server frame.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum ServerFrame {
    /// The first frame on every link.
    Hello(Hello),
    /// Slack asks the client to leave this link.
    Disconnect(Disconnect),
    /// An event, slash command or interaction to ack and dispatch.
    Envelope(Envelope),
}

/// `{"type":"hello", ...}`.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub struct Hello {
    /// How many links this app has open, this one included.
    pub num_connections: Option<u32>,
    /// `debug_info.host`.
    pub host: Option<String>,
    /// `debug_info.build_number`.
    pub build_number: Option<u64>,
    /// `debug_info.approximate_connection_time`, seconds until Slack refreshes the link.
    pub approximate_connection_time: Option<u64>,
    /// `connection_info.app_id`.
    pub app_id: Option<String>,
}

/// `{"type":"disconnect","reason":...}`.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub struct Disconnect {
    /// Why (an open set).
    pub reason: DisconnectReason,
    /// `debug_info.host`.
    pub host: Option<String>,
}

/// The reason of a `disconnect` frame: an open set.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum DisconnectReason {
    /// The link will be cut in about 10 s.
    Warning,
    /// Slack wants the client on a fresh link.
    RefreshRequested,
    /// Socket Mode was turned off for the app: unrecoverable until re-enabled.
    LinkDisabled,
    /// The app has too many links open.
    TooManyWebsockets,
    /// Any other reason (treated like `refresh_requested`).
    Other(String),
}

impl DisconnectReason {
    /// Parse the wire value.
    pub fn parse(s: &str) -> DisconnectReason {
        match s {
            "warning" => Self::Warning,
            "refresh_requested" => Self::RefreshRequested,
            "link_disabled" => Self::LinkDisabled,
            "too_many_websockets" => Self::TooManyWebsockets,
            other => Self::Other(other.to_string()),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Warning => "warning",
            Self::RefreshRequested => "refresh_requested",
            Self::LinkDisabled => "link_disabled",
            Self::TooManyWebsockets => "too_many_websockets",
            Self::Other(s) => s,
        }
    }
}

/// An envelope: an `events_api`, `slash_commands` or `interactive` delivery (or a type Slack
/// adds later: it has an id, so it is acked).
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// The id to ack.
    pub envelope_id: String,
    /// The envelope type.
    pub kind: EnvelopeKind,
    /// The payload, as sent (unparsed: [`Payload::parse`] on demand).
    pub payload: Payload,
    /// Whether the ack may carry a response payload (we never send one).
    pub accepts_response_payload: bool,
    /// Slack's re-delivery counter (0 on first delivery).
    pub retry_attempt: u32,
    /// Why Slack re-delivered it (`timeout`, ...).
    pub retry_reason: Option<String>,
}

#[cfg(feature = "fuzzing")]
impl<'a> arbitrary::Arbitrary<'a> for Envelope {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let kind = EnvelopeKind::arbitrary(u)?;
        let event_type: String = if u.arbitrary()? {
            "app_mention".into()
        } else {
            u.arbitrary()?
        };
        let event_id: Option<u8> = u.arbitrary()?;
        let mut payload = json!({"event": {"type": event_type}});
        if let Some(id) = event_id {
            payload["event_id"] = json!(format!("Ev{id}"));
        }
        Ok(Envelope {
            envelope_id: format!("env-{}", u8::arbitrary(u)?),
            kind,
            payload: payload.into(),
            accepts_response_payload: u.arbitrary()?,
            retry_attempt: u.int_in_range(0..=3)?,
            retry_reason: None,
        })
    }
}

/// Envelope types: an open set.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum EnvelopeKind {
    /// Events API delivery.
    EventsApi,
    /// Slash command invocation.
    SlashCommands,
    /// Interactive component (buttons, modals, shortcuts).
    Interactive,
    /// A type this client does not know.
    Other(String),
}

impl EnvelopeKind {
    /// The bounded values of the envelope `type` metric label: the three wire types this
    /// client knows, then `other`. The one definition of these strings.
    pub const LABELS: [&'static str; 4] = ["events_api", "slash_commands", "interactive", "other"];

    fn parse(s: &str) -> Option<EnvelopeKind> {
        [Self::EventsApi, Self::SlashCommands, Self::Interactive]
            .into_iter()
            .find(|kind| kind.label() == s)
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(s) => s,
            known => known.label(),
        }
    }

    /// The bounded metric label: a known type, else `other`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::EventsApi => Self::LABELS[0],
            Self::SlashCommands => Self::LABELS[1],
            Self::Interactive => Self::LABELS[2],
            Self::Other(_) => Self::LABELS[3],
        }
    }
}

/// Values of the `event_type` label of `phantom_slack_event_dispatch_seconds` besides `other`:
/// the Events API types a Slack bot commonly subscribes to, and the two other envelope types.
/// The one definition of this bounded set (telemetry re-exports it).
pub const EVENT_TYPES: [&str; 24] = [
    "app_mention",
    "message",
    "app_home_opened",
    "app_uninstalled",
    "tokens_revoked",
    "member_joined_channel",
    "member_left_channel",
    "channel_created",
    "channel_deleted",
    "channel_rename",
    "channel_archive",
    "channel_unarchive",
    "reaction_added",
    "reaction_removed",
    "team_join",
    "user_change",
    "file_shared",
    "link_shared",
    "pin_added",
    "pin_removed",
    "assistant_thread_started",
    "assistant_thread_context_changed",
    "slash_commands",
    "interactive",
];

/// The `event_type` label for a handler's event: `name` itself when it is one of
/// [`EVENT_TYPES`], else `other`, so a peer cannot grow the label set.
pub fn event_type_label(name: &str) -> &'static str {
    EVENT_TYPES
        .iter()
        .copied()
        .find(|known| *known == name)
        .unwrap_or("other")
}

impl Envelope {
    /// The dedupe key: `ev:<payload.event_id>` for `events_api` with an event id, else
    /// `env:<envelope_id>`.
    pub fn dedupe_key(&self) -> String {
        match (&self.kind, self.payload.event_id()) {
            (EnvelopeKind::EventsApi, Some(id)) if !id.is_empty() => format!("ev:{id}"),
            _ => format!("env:{}", self.envelope_id),
        }
    }

    /// The `event_type` label of `phantom_slack_event_dispatch_seconds`:
    /// `payload.event.type` for `events_api`, otherwise the envelope type, bounded by
    /// [`event_type_label`] (unknown values are `other`).
    pub fn event_type_label(&self) -> &'static str {
        if self.kind != EnvelopeKind::EventsApi {
            return event_type_label(self.kind.label());
        }
        event_type_label(self.payload.event_type().unwrap_or(""))
    }

    /// The JSON frame Slack sends for this envelope (used by the simulator and tests).
    ///
    /// Slack puts `retry_attempt` and `retry_reason` (`""` on a first delivery) only on
    /// `events_api` envelopes; `slash_commands` and `interactive` envelopes carry neither.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "envelope_id": self.envelope_id,
            "type": self.kind.as_str(),
            "payload": self.payload.to_value(),
            "accepts_response_payload": self.accepts_response_payload,
        });
        if self.kind == EnvelopeKind::EventsApi {
            v["retry_attempt"] = json!(self.retry_attempt);
            v["retry_reason"] = self.retry_reason.as_deref().map_or(json!(""), |r| json!(r));
        }
        v
    }

    /// The frame as text, with the payload's text as it is (what the simulator sends: no
    /// parse of the payload). Decodes to an equal envelope.
    pub fn to_text(&self) -> String {
        let mut head = json!({
            "envelope_id": self.envelope_id,
            "type": self.kind.as_str(),
            "accepts_response_payload": self.accepts_response_payload,
        });
        if self.kind == EnvelopeKind::EventsApi {
            head["retry_attempt"] = json!(self.retry_attempt);
            head["retry_reason"] = self.retry_reason.as_deref().map_or(json!(""), |r| json!(r));
        }
        let head = head.to_string();
        let payload = self.payload.get();
        // `{...head...}` + `,"payload":` + payload + `}`.
        let mut text = String::with_capacity(head.len() + payload.len() + 12);
        text.push_str(&head[..head.len() - 1]);
        text.push_str(r#","payload":"#);
        text.push_str(payload);
        text.push('}');
        text
    }
}

impl Hello {
    /// The JSON frame Slack sends (used by the simulator and tests).
    pub fn to_json(&self) -> Value {
        json!({
            "type": "hello",
            "num_connections": self.num_connections.unwrap_or(1),
            "debug_info": {
                "host": self.host.clone().unwrap_or_default(),
                "build_number": self.build_number.unwrap_or(0),
                "approximate_connection_time": self.approximate_connection_time.unwrap_or(18060),
            },
            "connection_info": {"app_id": self.app_id.clone().unwrap_or_default()},
        })
    }
}

impl Disconnect {
    /// The JSON frame Slack sends (used by the simulator and tests).
    pub fn to_json(&self) -> Value {
        json!({
            "type": "disconnect",
            "reason": self.reason.as_str(),
            "debug_info": {"host": self.host.clone().unwrap_or_default()},
        })
    }
}

/// The ack frame for an envelope: `{"envelope_id":"..."}` (never a payload).
pub fn encode_ack(envelope_id: &str) -> String {
    encode_ack_with(envelope_id, None)
}

/// Encode an ack, with the handler's response as its `payload` when there is one. A `null`
/// response is none: the handler answered "nothing to add", and the ack goes out bare now
/// instead of at the deadline.
pub fn encode_ack_with(envelope_id: &str, payload: Option<&crate::socket::AckPayload>) -> String {
    match payload.filter(|p| !p.0.is_null()) {
        Some(p) => json!({ "envelope_id": envelope_id, "payload": p.0 }).to_string(),
        // Written directly (one allocation; the id escaped by serde_json): building a `Value`
        // map per ack cost ~3,000 instructions an ack in a profile of `run`.
        None => {
            let id = serde_json::to_string(envelope_id).expect("a str serializes");
            let mut text = String::with_capacity(id.len() + 16);
            text.push_str(r#"{"envelope_id":"#);
            text.push_str(&id);
            text.push('}');
            text
        }
    }
}

/// Decode a binary frame: always rejected (Slack sends only text).
pub fn decode_binary(_bytes: &[u8]) -> Result<ServerFrame, FrameRejectReason> {
    Err(FrameRejectReason::Binary)
}

/// Decode a text frame leniently, rejecting anything over `max_bytes` before parsing.
///
/// One pass over the text reads the members the machine needs (borrowed from `text`) and
/// skips the rest; an envelope's payload is copied out as raw JSON text, not parsed.
pub fn decode_text(text: &str, max_bytes: usize) -> Result<ServerFrame, FrameRejectReason> {
    if text.len() > max_bytes {
        return Err(FrameRejectReason::Oversize);
    }
    let Some(f) = Fields::read(text, &FRAME) else {
        return Err(FrameRejectReason::InvalidJson);
    };
    let ty = f.str(TYPE).unwrap_or_default();
    let envelope_id = f.str(ENVELOPE_ID).filter(|id| !id.is_empty());
    match (ty.as_ref(), envelope_id) {
        ("hello", _) => Ok(ServerFrame::Hello(hello_from(&f))),
        ("disconnect", _) => Ok(ServerFrame::Disconnect(Disconnect {
            reason: DisconnectReason::parse(&f.str(REASON).unwrap_or_default()),
            host: nested_str(f.raw(DEBUG_INFO), &["host"]),
        })),
        (ty, Some(envelope_id)) => Ok(ServerFrame::Envelope(envelope_from(&f, ty, envelope_id))),
        (ty, None) if EnvelopeKind::parse(ty).is_some() => {
            Err(FrameRejectReason::MissingEnvelopeId)
        }
        _ => Err(FrameRejectReason::UnknownType),
    }
}

/// The top-level members any server frame has, by index.
const FRAME: [&str; 10] = [
    "type",
    "envelope_id",
    "payload",
    "accepts_response_payload",
    "retry_attempt",
    "retry_reason",
    "reason",
    "debug_info",
    "num_connections",
    "connection_info",
];
const TYPE: usize = 0;
const ENVELOPE_ID: usize = 1;
const PAYLOAD: usize = 2;
const ACCEPTS: usize = 3;
const RETRY_ATTEMPT: usize = 4;
const RETRY_REASON: usize = 5;
const REASON: usize = 6;
const DEBUG_INFO: usize = 7;
const NUM_CONNECTIONS: usize = 8;
const CONNECTION_INFO: usize = 9;

const DEBUG: [&str; 3] = ["host", "build_number", "approximate_connection_time"];

/// The one member `key` of a nested object, if that is an object and the member a string.
fn nested_str(object: Option<&RawValue>, key: &'static [&'static str; 1]) -> Option<String> {
    Fields::read(object?.get(), key)?.str(0).map(String::from)
}

fn hello_from(f: &Fields<'_, 10>) -> Hello {
    let debug = f
        .raw(DEBUG_INFO)
        .and_then(|d| Fields::read(d.get(), &DEBUG));
    Hello {
        num_connections: f.u64(NUM_CONNECTIONS).and_then(|n| u32::try_from(n).ok()),
        host: debug.as_ref().and_then(|d| d.str(0)).map(String::from),
        build_number: debug.as_ref().and_then(|d| d.u64(1)),
        approximate_connection_time: debug.as_ref().and_then(|d| d.u64(2)),
        app_id: nested_str(f.raw(CONNECTION_INFO), &["app_id"]),
    }
}

/// The payload is copied out of the frame as raw text (one allocation of its length).
fn envelope_from(f: &Fields<'_, 10>, ty: &str, envelope_id: std::borrow::Cow<'_, str>) -> Envelope {
    Envelope {
        envelope_id: envelope_id.into_owned(),
        kind: EnvelopeKind::parse(ty).unwrap_or_else(|| EnvelopeKind::Other(ty.to_string())),
        payload: f
            .raw(PAYLOAD)
            .map_or_else(Payload::null, |raw| Payload::new(raw.to_owned())),
        accepts_response_payload: f.bool(ACCEPTS).unwrap_or(false),
        retry_attempt: f
            .u64(RETRY_ATTEMPT)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        retry_reason: f
            .str(RETRY_REASON)
            .filter(|r| !r.is_empty())
            .map(String::from),
    }
}
