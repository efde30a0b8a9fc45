//! The seed stories of `onboarding_sequence` reach what they are named for.

use phantom_fsm::fuzzing::onboarding_sequence::{Summary, run, seeds};

fn story(name: &str) -> Summary {
    let seed = seeds()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no seed {name}"));
    run(&seed.bytes)
}

fn has(summary: &Summary, transition: &str) -> bool {
    summary.transitions.iter().any(|t| t == transition)
}

#[test]
fn happy_path_posts_once() {
    let s = story("seed-happy-path");
    assert_eq!(
        (s.posts, s.stored, s.final_state),
        (1, 1, "complete"),
        "{s:#?}"
    );
}

#[test]
fn team_comes_from_auth_test_after_a_retry() {
    let s = story("seed-team-from-auth-test");
    assert_eq!((s.posts, s.final_state), (1, "complete"), "{s:#?}");
}

#[test]
fn crash_after_a_stored_post_finds_it_and_never_posts_again() {
    let s = story("seed-crash-after-post-stored");
    assert!(has(&s, "sending -> reconciling (restarted)"), "{s:#?}");
    assert!(has(&s, "reconciling -> complete (history_found)"), "{s:#?}");
    assert_eq!((s.posts, s.stored, s.restarts), (1, 1, 1), "{s:#?}");
}

#[test]
fn crash_after_a_lost_post_looks_then_posts_again() {
    let s = story("seed-crash-after-post-lost");
    assert!(
        has(&s, "reconciling -> sending (history_not_found)"),
        "{s:#?}"
    );
    assert_eq!(
        (s.posts, s.stored, s.final_state),
        (2, 1, "complete"),
        "{s:#?}"
    );
}

/// The installer wrote more than a page after the intro went out and the process died: the
/// scan follows the cursor and finds it (one page used to say "not found" and post again).
#[test]
fn crash_then_chatter_finds_the_intro_beyond_the_first_page() {
    let s = story("seed-crash-then-chatter-beyond-a-page");
    assert!(has(&s, "reconciling -> complete (history_found)"), "{s:#?}");
    assert_eq!((s.posts, s.stored, s.restarts), (1, 1, 1), "{s:#?}");
}

#[test]
fn ambiguous_reply_is_reconciled() {
    let s = story("seed-ambiguous-then-found");
    assert!(has(&s, "sending -> reconciling (post_ambiguous)"), "{s:#?}");
    assert_eq!((s.posts, s.final_state), (1, "complete"), "{s:#?}");
}

#[test]
fn rate_limit_survives_a_restart_in_backoff() {
    let s = story("seed-rate-limited-restart-in-backoff");
    assert!(has(&s, "sending -> backoff (post_rate_limited)"), "{s:#?}");
    assert!(has(&s, "backoff -> sending (retry_send)"), "{s:#?}");
    assert_eq!((s.posts, s.final_state), (3, "complete"), "{s:#?}");
}

#[test]
fn operator_stamps_and_resets() {
    let s = story("seed-permanent-operator");
    assert!(has(&s, "pending -> failed (dm_permanent)"), "{s:#?}");
    assert!(has(&s, "failed -> complete (mark_complete)"), "{s:#?}");
    assert!(has(&s, "complete -> pending (reset)"), "{s:#?}");
    assert_eq!((s.posts, s.final_state), (1, "complete"), "{s:#?}");
}

#[test]
fn http_replies_are_classified() {
    let s = story("seed-http-replies");
    assert!(has(&s, "sending -> reconciling (post_ambiguous)"), "{s:#?}");
    assert!(has(&s, "reconciling -> complete (history_found)"), "{s:#?}");
    assert_eq!(s.posts, 1, "{s:#?}");
}
