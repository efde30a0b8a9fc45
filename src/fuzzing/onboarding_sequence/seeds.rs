//! The seed corpus of `onboarding_sequence`: the stories of an intro DM, including the crash
//! windows that the ledger exists for.

use super::super::Seed;
use super::step::Story;

const SENT: u8 = 0;
const RATE_LIMITED: u8 = 1;
const NOT_STORED: u8 = 2;
const AMBIGUOUS: u8 = 4;
const TRUTH: u8 = 0;
const TRANSIENT: u8 = 3;

/// Every story, by file name.
pub fn seeds() -> Vec<Seed> {
    vec![
        Seed {
            // The intro went out, the process died, the installer wrote a page and more of
            // messages: only following the cursor finds the intro.
            name: "seed-crash-then-chatter-beyond-a-page",
            bytes: Story::new(0, 21)
                .channel_ready()
                .dm(0)
                .restart(true)
                .chatter(20)
                .wake_at_deadline()
                .history(TRUTH)
                .history(TRUTH)
                .channel_ready()
                .finish(),
        },
        Seed {
            name: "seed-happy-path",
            bytes: Story::new(0, 1)
                .channel_ready()
                .dm(0)
                .post(SENT, true, 0)
                .finish(),
        },
        Seed {
            name: "seed-team-from-auth-test",
            bytes: Story::new(1, 2)
                .channel_ready()
                .auth(3, 0)
                .wake_at_deadline()
                .auth(0, 0)
                .dm(0)
                .post(SENT, true, 0)
                .finish(),
        },
        Seed {
            name: "seed-crash-after-post-stored",
            bytes: Story::new(0, 3)
                .channel_ready()
                .dm(0)
                .restart(true)
                .wake_at_deadline()
                .history(TRUTH)
                .channel_ready()
                .finish(),
        },
        Seed {
            name: "seed-crash-after-post-lost",
            bytes: Story::new(0, 4)
                .channel_ready()
                .dm(0)
                .restart(false)
                .wake_at_deadline()
                .history(TRUTH)
                .wake_at_deadline()
                .history(TRUTH)
                .post(SENT, true, 0)
                .finish(),
        },
        Seed {
            name: "seed-ambiguous-then-found",
            bytes: Story::new(0, 5)
                .channel_ready()
                .dm(0)
                .post(AMBIGUOUS, true, 0)
                .wake_at_deadline()
                .history(TRANSIENT)
                .wake_at_deadline()
                .history(TRUTH)
                .finish(),
        },
        Seed {
            name: "seed-rate-limited-restart-in-backoff",
            bytes: Story::new(0, 6)
                .channel_ready()
                .dm(0)
                .post(RATE_LIMITED, false, 30_000)
                .advance(1_000)
                .restart(false)
                .wake_at_deadline()
                .post(NOT_STORED, false, 0)
                .wake_at_deadline()
                .post(SENT, true, 0)
                .finish(),
        },
        Seed {
            name: "seed-permanent-operator",
            bytes: Story::new(0, 7)
                .channel_ready()
                .dm(3)
                .mark_complete()
                .reset()
                .dm(0)
                .post(SENT, true, 0)
                .finish(),
        },
        Seed {
            name: "seed-http-replies",
            bytes: Story::new(1, 8)
                .channel_ready()
                .http(2, 0, 0, 2) // auth.test ok
                .http(2, 0, 0, 3) // conversations.open ok
                .http(1, 0x80, 0, 0) // no response after writing; Slack stored it
                .wake_at_deadline()
                .http(2, 0, 0, 4) // history with the marker
                .finish(),
        },
    ]
}
