//! The seed corpus of `frame_decode`.

use super::super::Seed;
use super::super::bytes::SeedWriter;
use super::JSONISH;

/// The seed corpus: every frame Slack sends, as plain text under the default limit, at the
/// exact limit, one byte over it, and past the default limit; a binary-looking frame; a
/// JSON-ish generated frame.
pub fn seeds() -> Vec<Seed> {
    use super::super::frames as f;
    let text = |mode: u8, s: &str| {
        let mut w = SeedWriter::default();
        w.u8(mode);
        let mut v = w.finish();
        v.extend_from_slice(s.as_bytes());
        v
    };
    vec![
        Seed {
            name: "seed-hello",
            bytes: text(0, f::HELLO),
        },
        Seed {
            name: "seed-event",
            bytes: text(0, f::EVENT),
        },
        Seed {
            name: "seed-event-retry",
            bytes: text(0, f::EVENT_RETRY),
        },
        Seed {
            name: "seed-slash",
            bytes: text(0, f::SLASH),
        },
        Seed {
            name: "seed-interactive",
            bytes: text(0, f::INTERACTIVE),
        },
        Seed {
            name: "seed-disconnect-warning",
            bytes: text(0, &f::disconnect("warning")),
        },
        Seed {
            name: "seed-disconnect-refresh",
            bytes: text(2, &f::disconnect("refresh_requested")),
        },
        Seed {
            name: "seed-disconnect-link-disabled",
            bytes: text(0, &f::disconnect("link_disabled")),
        },
        Seed {
            name: "seed-disconnect-other",
            bytes: text(0, &f::disconnect("socket_mode_maintenance")),
        },
        Seed {
            name: "seed-event-at-limit",
            bytes: text(4, f::EVENT),
        },
        Seed {
            name: "seed-event-over-limit",
            bytes: text(5, f::EVENT),
        },
        Seed {
            name: "seed-event-over-default",
            bytes: text(7, f::EVENT),
        },
        Seed {
            name: "seed-missing-envelope-id",
            bytes: text(0, r#"{"type":"events_api","payload":{}}"#),
        },
        Seed {
            name: "seed-unknown-type",
            bytes: text(0, r#"{"type":"goodbye"}"#),
        },
        Seed {
            name: "seed-not-json",
            bytes: text(0, "\u{0}\u{1}binary?"),
        },
        Seed {
            name: "seed-jsonish",
            bytes: SeedWriter::default()
                .u8(JSONISH)
                .u8(2) // two members
                .u8(0) // "type":
                .u8(2) // a word:
                .u8(2) // "events_api"
                .u8(1) // "envelope_id":
                .u8(2) // a word:
                .u8(11) // "env-1"
                .finish(),
        },
    ]
}
