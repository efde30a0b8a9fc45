//! JSON-ish text for `frame_decode`: mostly valid JSON built from the Socket Mode frame
//! vocabulary, with raw fragments mixed in, so near-misses of real frames are tried often.

use super::super::bytes;
use arbitrary::Unstructured;
use serde_json::Value;

const KEYS: &[&str] = &[
    "type",
    "envelope_id",
    "payload",
    "reason",
    "debug_info",
    "host",
    "num_connections",
    "build_number",
    "approximate_connection_time",
    "connection_info",
    "app_id",
    "accepts_response_payload",
    "retry_attempt",
    "retry_reason",
    "event",
    "event_id",
];

const WORDS: &[&str] = &[
    "hello",
    "disconnect",
    "events_api",
    "slash_commands",
    "interactive",
    "warning",
    "refresh_requested",
    "link_disabled",
    "too_many_websockets",
    "app_mention",
    "",
    "env-1",
    "Ev01",
    "\u{0}\u{7f}\"\\",
    "h\u{e9}llo \u{1F600}",
];

const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1.5",
    "-0.0",
    "1e400",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "1E-400",
    "0.1e1",
];

/// Append a JSON-ish value to `out`: mostly valid JSON built from the frame vocabulary, with
/// raw fragments mixed in so near-misses are tried too.
pub(super) fn jsonish(u: &mut Unstructured<'_>, depth: usize, out: &mut String) {
    let pick = |u: &mut Unstructured<'_>, list: &[&'static str]| {
        list[usize::from(bytes::u8(u)) % list.len()]
    };
    let choice = if depth == 0 { 0 } else { bytes::u8(u) % 10 };
    match choice {
        0 | 1 if depth < 12 => {
            let (open, close) = if choice == 0 { ('{', '}') } else { ('[', ']') };
            out.push(open);
            for i in 0..bytes::u8(u) % 6 {
                if i > 0 {
                    out.push(',');
                }
                if choice == 0 {
                    let key = pick(u, KEYS);
                    out.push_str(&Value::String(key.into()).to_string());
                    out.push(':');
                }
                jsonish(u, depth + 1, out);
            }
            out.push(close);
        }
        2 | 3 => out.push_str(&Value::String(pick(u, WORDS).into()).to_string()),
        4 => {
            let raw = String::from_utf8_lossy(bytes::blob(u)).into_owned();
            out.push_str(&Value::String(raw).to_string());
        }
        5 => out.push_str(&bytes::u16(u).to_string()),
        6 => out.push_str(pick(u, NUMBERS)),
        7 => out.push_str(pick(u, &["true", "false", "null"])),
        8 => out.push_str(&String::from_utf8_lossy(bytes::blob(u))),
        _ => out.push_str("null"),
    }
}
