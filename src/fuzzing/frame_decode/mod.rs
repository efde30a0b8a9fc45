//! `frame_decode`: arbitrary bytes and JSON-ish text through [`decode_text`] and
//! [`decode_binary`] under several size limits.
//!
//! Asserts: no panic; a frame over the limit is rejected as `oversize` without allocating
//! (so before any parsing) and a frame within it never is; accepted frames cost a bounded
//! multiple of their size in memory; the reject reason agrees with an independent reading of
//! the JSON (`docs/architecture.md`: lenient, unknown fields ignored); binary frames are always
//! rejected; decoded frames re-encode (`to_json`) to text that decodes to the same frame.
//!
//! Input grammar: a mode byte (low 3 bits: the limit; bit 3: build JSON-ish text from the rest
//! instead of taking the rest as text), then the rest.

mod jsonish;
mod seeds;

use super::alloc;
use super::bytes;
use crate::engine::FrameRejectReason;
use crate::socket::wire::{
    DEFAULT_MAX_FRAME_BYTES, DisconnectReason, EVENT_TYPES, EnvelopeKind, ServerFrame,
    decode_binary, decode_text, encode_ack,
};
use arbitrary::Unstructured;
use serde_json::{Map, Value};

/// Peak memory an accepted frame may take to decode: a multiple of its size plus a constant
/// (a `serde_json::Value` tree costs tens of bytes per input byte in the worst case).
fn allocation_bound(len: usize) -> usize {
    len.saturating_mul(ALLOC_FACTOR).saturating_add(16 * 1024)
}

/// See [`allocation_bound`].
const ALLOC_FACTOR: usize = 128;

/// The envelope types the decoder knows.
/// The wire envelope types this client knows (every label but `other`).
const ENVELOPE_TYPES: [&str; 3] = {
    let [a, b, c, _other] = EnvelopeKind::LABELS;
    [a, b, c]
};

/// Mode bit: generate JSON-ish text from the rest of the input.
const JSONISH: u8 = 0x08;

pub use seeds::seeds;

/// Decode `data` into a frame and a limit and check every property.
///
/// # Panics
/// When a property breaks.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mode = bytes::u8(&mut u);
    let rest = u.peek_bytes(u.len()).unwrap_or(&[]);
    assert_eq!(
        decode_binary(rest),
        Err(FrameRejectReason::Binary),
        "binary frames are always rejected"
    );
    let text = if mode & JSONISH != 0 {
        let mut out = String::new();
        jsonish::jsonish(&mut u, 0, &mut out);
        out
    } else {
        String::from_utf8_lossy(rest).into_owned()
    };
    let (limit, text) = limit_for(mode & 7, text);
    check(&text, limit);
}

/// The limit for selector `sel`: the default, small fixed ones, the exact length (accepted)
/// or one byte less (rejected); selector 7 repeats the text past the default limit.
fn limit_for(sel: u8, text: String) -> (usize, String) {
    match sel {
        0 => (DEFAULT_MAX_FRAME_BYTES, text),
        1 => (64, text),
        2 => (512, text),
        3 => (0, text),
        4 => (text.len(), text),
        5 => (text.len().saturating_sub(1), text),
        6 => (4096, text),
        _ => {
            let unit = if text.is_empty() { " " } else { text.as_str() };
            let long = unit.repeat(DEFAULT_MAX_FRAME_BYTES / unit.len() + 1);
            (DEFAULT_MAX_FRAME_BYTES, long)
        }
    }
}

fn check(text: &str, limit: usize) {
    let (result, usage) = alloc::measure(|| decode_text(text, limit));
    if text.len() > limit {
        assert_eq!(
            result,
            Err(FrameRejectReason::Oversize),
            "{} > {limit} bytes",
            text.len()
        );
        assert_eq!(
            usage.allocations, 0,
            "an oversize frame allocated before being rejected"
        );
        return;
    }
    assert_ne!(
        result,
        Err(FrameRejectReason::Oversize),
        "{} <= {limit} bytes",
        text.len()
    );
    assert!(
        usage.peak_bytes <= allocation_bound(text.len()),
        "decoding {} bytes took {} bytes at peak",
        text.len(),
        usage.peak_bytes
    );
    check_classification(text, &result);
    if let Ok(frame) = result {
        check_frame(&frame);
        check_round_trip(text, &frame);
    }
}

/// The decoder's verdict agrees with an independent reading of the JSON.
fn check_classification(text: &str, result: &Result<ServerFrame, FrameRejectReason>) {
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(text) else {
        // The decoder checks syntax, not what a `Value` cannot hold (nesting past 128
        // levels, a number out of f64's range): such an object is read by its members.
        let syntax = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
        let object = text
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('{');
        if syntax && object {
            assert_ne!(result, &Err(FrameRejectReason::InvalidJson), "{text}");
        } else {
            assert_eq!(
                result,
                &Err(FrameRejectReason::InvalidJson),
                "not a JSON object"
            );
        }
        return;
    };
    let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");
    let id = obj
        .get("envelope_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    match result {
        Ok(ServerFrame::Hello(_)) => assert_eq!(ty, "hello"),
        Ok(ServerFrame::Disconnect(d)) => {
            assert_eq!(ty, "disconnect");
            let reason = obj.get("reason").and_then(Value::as_str).unwrap_or("");
            assert_eq!(d.reason, DisconnectReason::parse(reason));
        }
        Ok(ServerFrame::Envelope(e)) => {
            assert!(
                ty != "hello" && ty != "disconnect",
                "an envelope of type {ty}"
            );
            assert_eq!(Some(e.envelope_id.as_str()), id, "envelope id");
            assert_eq!(e.kind.as_str(), ty, "envelope type");
            assert_eq!(
                e.payload,
                obj.get("payload").cloned().unwrap_or(Value::Null)
            );
            let raw = e.payload.get();
            assert!(
                obj.get("payload").is_none() || text.contains(raw),
                "the payload is a slice of the frame: {raw}"
            );
        }
        Err(FrameRejectReason::MissingEnvelopeId) => {
            assert!(
                id.is_none() && ENVELOPE_TYPES.contains(&ty),
                "missing id: {text}"
            );
        }
        Err(FrameRejectReason::UnknownType) => {
            let known = ty == "hello" || ty == "disconnect" || ENVELOPE_TYPES.contains(&ty);
            assert!(id.is_none() && !known, "unknown type: {text}");
        }
        Err(other) => panic!("a JSON object rejected as {other:?}"),
    }
}

/// Derived values of an accepted frame are well formed.
fn check_frame(frame: &ServerFrame) {
    if let ServerFrame::Envelope(e) = frame {
        let key = e.dedupe_key();
        assert!(
            key.starts_with("ev:") || key.starts_with("env:"),
            "dedupe key {key}"
        );
        let label = e.event_type_label();
        assert!(
            EVENT_TYPES.contains(&label) || label == "other",
            "event_type label {label}"
        );
        let ack: Value = serde_json::from_str(&encode_ack(&e.envelope_id)).expect("ack is JSON");
        let mut expected = Map::new();
        expected.insert("envelope_id".into(), Value::String(e.envelope_id.clone()));
        assert_eq!(
            ack,
            Value::Object(expected),
            "the ack carries the id and nothing else"
        );
    }
}

fn encode(frame: &ServerFrame) -> String {
    match frame {
        ServerFrame::Hello(h) => h.to_json(),
        ServerFrame::Disconnect(d) => d.to_json(),
        // The payload's text as it is: `to_json` needs it to fit a `Value`.
        ServerFrame::Envelope(e) => return e.to_text(),
    }
    .to_string()
}

/// `to_json` then decode gives the same frame; fields `to_json` fills with defaults (absent
/// `hello` details, an absent `host`) or leaves out (the retry fields of envelopes other than
/// `events_api`, which Slack never sends) compare after one round.
fn check_round_trip(text: &str, frame: &ServerFrame) {
    let once = decode_text(&encode(frame), usize::MAX).expect("a re-encoded frame decodes");
    let twice = decode_text(&encode(&once), usize::MAX).expect("a re-encoded frame decodes");
    assert_eq!(once, twice, "re-encoding is not stable: {text}");
    match (frame, &once) {
        (ServerFrame::Envelope(a), ServerFrame::Envelope(b)) => {
            // Slack sends the retry fields only on `events_api`, and so does `to_json`.
            let mut a = a.clone();
            if a.kind != EnvelopeKind::EventsApi {
                (a.retry_attempt, a.retry_reason) = (0, None);
            }
            assert_eq!(&a, b, "{text}");
            if a.payload.parse::<Value>().is_ok() {
                let via_value = decode_text(&a.to_json().to_string(), usize::MAX);
                assert_eq!(
                    via_value.as_ref(),
                    Ok(&once),
                    "to_json and to_text differ: {text}"
                );
            }
        }
        (ServerFrame::Disconnect(a), ServerFrame::Disconnect(b)) => {
            assert_eq!(a.reason, b.reason);
            assert!(a.host.is_none() || a.host == b.host, "host");
        }
        (ServerFrame::Hello(a), ServerFrame::Hello(b)) => {
            assert!(a.num_connections.is_none() || a.num_connections == b.num_connections);
            assert!(a.host.is_none() || a.host == b.host);
            assert!(a.build_number.is_none() || a.build_number == b.build_number);
            assert!(
                a.approximate_connection_time.is_none()
                    || a.approximate_connection_time == b.approximate_connection_time
            );
            assert!(a.app_id.is_none() || a.app_id == b.app_id);
        }
        (a, b) => panic!("{a:?} re-decoded as {b:?}"),
    }
}
