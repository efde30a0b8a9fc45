//! `phantom-fsm demo`: the shortest story, piped (so plain text), to its end.

use super::common::run_to_exit;
use std::time::Duration;

#[tokio::test]
async fn the_demo_tells_its_story_and_sums_it_up() {
    let args = ["demo", "--duration", "5s"].map(String::from);
    let (status, output) = run_to_exit(&args, Duration::from_secs(60)).await;
    assert!(status.success(), "{output}");
    for line in [
        "socket_mode disconnected → connecting (start)",
        "onboarding  sending → backoff (post_rate_limited)",
        "onboarding  backoff → sending (retry_send)",
        "onboarding  sending → complete (post_sent)",
        "socket_mode connected → reconnecting (link_error)",
    ] {
        assert!(output.contains(line), "{line:?} missing:\n{output}");
    }
    let row = |label: &str| {
        output
            .lines()
            .find_map(|l| l.strip_prefix(&format!("  {label:<18} ")))
            .unwrap_or_else(|| panic!("no {label} row:\n{output}"))
            .to_string()
    };
    assert_eq!(row("envelopes lost"), "0");
    assert_eq!(row("onboarding"), "complete");
    assert_eq!(row("handovers"), "1");
    assert_eq!(row("reconnects"), "1");
    assert_eq!(
        row("answered in acks"),
        "1",
        "the slash command is answered inside its ack"
    );
    // 21 are sent; those a ghost of the dropped link swallowed may still await Slack's
    // redelivery when a 5 s story stops (not lost: Slack has retries left).
    assert!(
        row("envelopes acked").parse::<u32>().unwrap() >= 16,
        "{output}"
    );
    assert!(row("intro DMs").starts_with("1 "), "{output}");
    assert!(output.contains("class complete current"), "{output}");
    assert!(!output.contains('\x1b'), "piped output has no colour codes");
}
