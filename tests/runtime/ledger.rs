//! The intro-DM driver end to end: the real binary against the simulator, restarted and
//! killed on one data dir. Every test counts the intro DMs the simulator stored (by their
//! marker) and waits on `/health` with a deadline.

use super::common::{Proc, WAIT, eventually, quiet_sim};
use phantom_fsm::sim::{ApiFault, Event, Hold, SimHandle};
use std::path::Path;
use std::time::Duration;

const INSTALLER: &str = "U0INSTALL1";

/// Short settle and confirm timings so reconciliation runs in test time.
const FAST: [&str; 4] = ["--intro-settle-ms", "200", "--intro-confirm-gap-ms", "300"];

/// `phantom-fsm run` with the installer and the short onboarding timings.
async fn run(sim: &SimHandle, dir: &Path, installer: &str) -> Proc {
    let mut args = vec!["--installer-user-id", installer];
    args.extend(FAST);
    Proc::run(sim, dir, &args).await
}

/// The intro DMs to `installer` stored by the simulator (bot posts carrying the marker).
fn intros(sim: &SimHandle, installer: &str) -> usize {
    let channels = (1..=4).map(|n| format!("D{n:010}"));
    channels
        .flat_map(|c| sim.messages(&c))
        .filter(|m| {
            m.bot
                && m.metadata.as_ref().is_some_and(|meta| {
                    meta["event_type"] == "phantom_intro"
                        && meta["event_payload"]["installer"] == installer
                })
        })
        .count()
}

/// Wait until `/health` says onboarding `state`.
async fn onboarding(proc: &Proc, state: &str, bound: Duration) {
    eventually(&format!("onboarding {state}"), bound, || async {
        (proc.health().await["onboarding"] == state).then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_intro_is_sent_exactly_once_across_three_runs() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..3 {
        let mut proc = run(&sim, dir.path(), INSTALLER).await;
        onboarding(&proc, "complete", WAIT).await;
        let metrics = proc.metrics().await;
        assert!(
            metrics.contains("phantom_onboarding_state{state=\"complete\"} 1"),
            "{metrics}"
        );
        proc.terminate();
        proc.exit_within(WAIT).await;
    }
    assert_eq!(intros(&sim, INSTALLER), 1);
}

#[tokio::test]
async fn a_kill_while_the_post_reply_is_held_reconciles_without_a_second_dm() {
    kill_while_held(0).await;
}

#[tokio::test]
async fn a_kill_while_held_reconciles_through_pages_of_human_messages() {
    kill_while_held(40).await;
}

/// SIGKILL while the simulator holds the stored post's reply; `humans` messages are written to
/// the DM before the restart (the marker is then pages back).
async fn kill_while_held(humans: u32) {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    sim.hold_next("chat.postMessage", 1, Hold::UntilReleased)
        .unwrap();
    let mut proc = run(&sim, dir.path(), INSTALLER).await;
    eventually("the post is stored", WAIT, || async {
        (intros(&sim, INSTALLER) == 1).then_some(())
    })
    .await;
    proc.kill();
    sim.release_held();
    if humans > 0 {
        sim.post_human_messages("D0000000001", humans, Some(INSTALLER))
            .unwrap();
    }
    let proc = run(&sim, dir.path(), INSTALLER).await;
    onboarding(&proc, "complete", WAIT).await;
    assert!(
        proc.output().contains("onboarding reconciling -> complete"),
        "{}",
        proc.output()
    );
    assert_eq!(intros(&sim, INSTALLER), 1);
    if humans > 0 {
        // 41 messages at 15 a page: the marker was found on the third page.
        let pages = sim
            .log(0, &Default::default())
            .iter()
            .filter(|r| {
                matches!(&r.event, Event::Call { method, .. } if method == "conversations.history")
            })
            .count();
        assert!(pages >= 3, "{pages} history pages read");
    }
}

#[tokio::test]
async fn a_rate_limited_post_is_retried_in_process_and_complete_only_after_success() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    sim.fail_next("chat.postMessage", 1, ApiFault::rate_limited(1))
        .unwrap();
    let proc = run(&sim, dir.path(), INSTALLER).await;
    proc.wait_metric(
        "phantom_onboarding_intro_attempts_total{outcome=\"rate_limited\"}",
        WAIT,
        |v| v == 1.0,
    )
    .await;
    onboarding(&proc, "complete", WAIT).await;
    assert_eq!(intros(&sim, INSTALLER), 1);
    let sent = "phantom_onboarding_intro_attempts_total{outcome=\"sent\"}";
    proc.wait_metric(sent, WAIT, |v| v == 1.0).await;
}

#[tokio::test]
async fn an_http_500_after_the_post_was_stored_reconciles_to_one_dm() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    sim.fail_next("chat.postMessage", 1, ApiFault::status(500).after_effect())
        .unwrap();
    let proc = run(&sim, dir.path(), INSTALLER).await;
    onboarding(&proc, "complete", WAIT).await;
    assert_eq!(intros(&sim, INSTALLER), 1);
}

#[tokio::test]
async fn a_new_installer_gets_one_dm_and_the_first_is_not_messaged_again() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut proc = run(&sim, dir.path(), INSTALLER).await;
    onboarding(&proc, "complete", WAIT).await;
    proc.terminate();
    proc.exit_within(WAIT).await;
    let proc = run(&sim, dir.path(), "U0INSTALL2").await;
    onboarding(&proc, "complete", WAIT).await;
    assert_eq!(intros(&sim, "U0INSTALL2"), 1);
    assert_eq!(intros(&sim, INSTALLER), 1);
}

#[tokio::test]
async fn user_not_found_fails_without_a_retry_loop() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    sim.fail_next("conversations.open", 1, ApiFault::error("user_not_found"))
        .unwrap();
    let proc = run(&sim, dir.path(), INSTALLER).await;
    onboarding(&proc, "failed", WAIT).await;
    let health = proc.health().await;
    assert_eq!(health["status"], "degraded");
    let calls = || {
        sim.log(0, &Default::default())
            .iter()
            .filter(|r| format!("{r:?}").contains("conversations.open"))
            .count()
    };
    let before = calls();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(calls(), before, "no retry after a permanent code");
    assert_eq!(intros(&sim, INSTALLER), 0);
}

#[tokio::test]
async fn invalid_auth_on_the_post_fails() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    sim.fail_next("chat.postMessage", 1, ApiFault::error("invalid_auth"))
        .unwrap();
    let proc = run(&sim, dir.path(), INSTALLER).await;
    onboarding(&proc, "failed", WAIT).await;
    assert_eq!(intros(&sim, INSTALLER), 0);
}

#[tokio::test]
async fn a_kill_right_after_the_stamp_sends_no_second_dm() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut proc = run(&sim, dir.path(), INSTALLER).await;
    onboarding(&proc, "complete", WAIT).await;
    proc.kill();
    let proc = run(&sim, dir.path(), INSTALLER).await;
    onboarding(&proc, "complete", WAIT).await;
    proc.wait_state("connected", WAIT).await;
    assert_eq!(intros(&sim, INSTALLER), 1);
    assert!(
        !proc.output().contains("posting the intro DM"),
        "{}",
        proc.output()
    );
}

#[tokio::test]
async fn a_ledger_reset_then_restart_sends_one_dm_of_the_new_generation() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut proc = run(&sim, dir.path(), INSTALLER).await;
    onboarding(&proc, "complete", WAIT).await;
    proc.terminate();
    proc.exit_within(WAIT).await;
    let args: Vec<String> = ["ledger", "reset", "--data-dir"]
        .into_iter()
        .map(String::from)
        .chain([dir.path().display().to_string()])
        .chain(["--installer".to_string(), INSTALLER.to_string()])
        .collect();
    let (status, output) = super::common::run_to_exit(&args, WAIT).await;
    assert!(status.success(), "{output}");
    let proc = run(&sim, dir.path(), INSTALLER).await;
    onboarding(&proc, "complete", WAIT).await;
    assert_eq!(intros(&sim, INSTALLER), 2);
    let generations: Vec<_> = sim
        .messages("D0000000001")
        .into_iter()
        .filter_map(|m| m.metadata)
        .map(|meta| meta["event_payload"]["generation"].clone())
        .collect();
    assert_eq!(generations, [serde_json::json!(0), serde_json::json!(1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedding_api_sends_the_intro_for_the_builders_installer() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let runtime = phantom_fsm::runtime::Runtime::builder()
        .api_url(sim.api_url())
        .app_token(sim.app_token())
        .bot_token(sim.bot_token())
        .data_dir(dir.path())
        .installer(Some(INSTALLER.to_string()))
        .build()
        .unwrap();
    let board = runtime.status().clone();
    let telemetry = runtime.telemetry().clone();
    let handle = runtime.handle();
    let task = tokio::spawn(runtime.run());
    let clock = phantom_fsm::runtime::SystemClock::start();
    eventually("onboarding complete", WAIT, || {
        let health = board.health(clock.now());
        async move {
            (health.onboarding == phantom_fsm::runtime::OnboardingHealth::Complete).then_some(())
        }
    })
    .await;
    let gauge = "phantom_onboarding_state{state=\"complete\"} 1";
    assert!(telemetry.render().contains(gauge), "{}", telemetry.render());
    assert_eq!(intros(&sim, INSTALLER), 1);
    handle.shutdown();
    tokio::time::timeout(WAIT, task)
        .await
        .expect("stops in time")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn onboarding_is_pending_not_disabled_until_the_intro_is_sent() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    sim.hold_next("conversations.open", 1, Hold::UntilReleased)
        .unwrap();
    let proc = run(&sim, dir.path(), INSTALLER).await;
    proc.wait_state("connected", WAIT).await;
    onboarding(&proc, "pending", WAIT).await;
    proc.wait_metric("phantom_onboarding_state{state=\"pending\"}", WAIT, |v| {
        v == 1.0
    })
    .await;
    sim.release_held();
    onboarding(&proc, "complete", WAIT).await;
}
