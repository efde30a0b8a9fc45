//! The seed corpus of `socket_sequence`: the stories a Socket Mode client lives through, with
//! the frames Slack really sends (shapes from Slack's documentation and observed traffic).

use super::super::Seed;
use super::step::Story;
use crate::fuzzing::frames::{EVENT, EVENT_RETRY, HELLO, INTERACTIVE, SLASH, disconnect};

/// Start, get a URL, open the link, receive `hello`: `connected` on link index 0.
fn connected(preset: u8, seed: u16) -> Story {
    let mut s = Story::new(preset, seed);
    s.start().open_ok().link_opened(0).text(0, HELLO);
    s
}

/// Every story, by file name.
pub fn seeds() -> Vec<Seed> {
    vec![
        Seed {
            name: "seed-connect-envelopes",
            bytes: connected(0, 1)
                .text(0, EVENT)
                .text(0, SLASH)
                .text(0, INTERACTIVE)
                .text(0, EVENT_RETRY)
                .wake_at_deadline()
                .pong(0)
                .wake_at_deadline()
                .advance(100)
                .stop()
                .link_closed(0)
                .finish(),
        },
        Seed {
            name: "seed-refresh-handover",
            bytes: connected(0, 2)
                .text(0, EVENT)
                .advance(9_000)
                .text(0, &disconnect("warning"))
                .open_ok()
                .link_opened(1)
                .text(1, HELLO)
                .text(0, SLASH)
                .text(1, EVENT_RETRY)
                .wake_at_deadline()
                .link_closed(0)
                .text(0, INTERACTIVE)
                .finish(),
        },
        Seed {
            name: "seed-refresh-old-link-dies-first",
            bytes: connected(0, 3)
                .disconnect(0, 1) // refresh_requested
                .open_ok()
                .link_opened(1)
                .link_closed(0)
                .text(0, HELLO)
                .text(0, EVENT)
                .finish(),
        },
        Seed {
            name: "seed-backoff-and-errors",
            bytes: Story::new(0, 4)
                .start()
                .open_rate_limited(5_000)
                .wake_at_deadline()
                .open_transient()
                .wake_at_deadline()
                .open_ok()
                .link_opened(0)
                .wake_at_deadline() // hello deadline: the link is closed
                .link_closed(0)
                .wake_at_deadline()
                .open_unrecoverable(0)
                .wake_at_deadline() // re-probe
                .open_ok()
                .link_opened(0)
                .text(0, HELLO)
                .text(0, &disconnect("link_disabled"))
                .link_closed(0)
                .new_tokens()
                .open_ok()
                .link_opened(0)
                .text(0, HELLO)
                .text(0, &disconnect("too_many_websockets"))
                .link_closed(0)
                .wake_at_deadline()
                .finish(),
        },
        Seed {
            name: "seed-silent-link",
            bytes: connected(0, 5)
                .wake_at_deadline()
                .wake_at_deadline()
                .wake_at_deadline()
                .wake_at_deadline()
                .finish(),
        },
        Seed {
            name: "seed-restart-dedupe",
            bytes: connected(0, 6)
                .event(0, 1, 7)
                .restart()
                .start()
                .open_ok()
                .link_opened(0)
                .text(0, HELLO)
                .event(0, 2, 7)
                .minutes(61)
                .event(0, 3, 7)
                .finish(),
        },
        Seed {
            name: "seed-stop-close-grace",
            bytes: connected(0, 7).stop().wake_at_deadline().finish(),
        },
        Seed {
            name: "seed-fast-config",
            bytes: fast_config(),
        },
        Seed {
            name: "seed-responder-shedding",
            bytes: responder(),
        },
    ]
}

/// Preset 2 (a responder, at most 3 unfinished dispatches): a slash command answered in its
/// ack, one acked at its deadline and answered late, events shed while the handlers are behind
/// and accepted once they finish, and a deferred ack flushed before a stop's close frame.
fn responder() -> Vec<u8> {
    let mut s = connected(2, 9);
    s.slash_with_response(0, 1)
        .respond(0)
        .slash_with_response(0, 2)
        .wake_at_deadline()
        .respond(1)
        .event(0, 3, 3)
        .event(0, 4, 4)
        .completed()
        .completed()
        .event(0, 4, 4)
        .slash_with_response(0, 5)
        .stop()
        .wake_at_deadline()
        .finish()
}

/// Preset 1 (short timings, 16-key window, 512-byte frames): an oversize frame, more distinct
/// events than the window holds, a refresh and a restart.
fn fast_config() -> Vec<u8> {
    let mut s = connected(1, 8);
    s.text(0, EVENT);
    for id in 1..=20 {
        s.event(0, id, id);
    }
    s.event(0, 21, 1)
        .text(0, &disconnect("warning"))
        .open_ok()
        .link_opened(1)
        .text(1, HELLO)
        .wake_at_deadline()
        .restart()
        .start()
        .open_ok()
        .link_opened(0)
        .text(0, HELLO)
        .event(0, 22, 20)
        .finish()
}
