//! The machine's public surface: what the accessors, `Debug` and the intro text report, and
//! the `auth.test` answers whose team id cannot key a ledger row.

use super::common::*;
use phantom_fsm::engine::Output;
use phantom_fsm::onboarding::{AuthOutcome, Command, Input, Onboarding, OnboardingConfig};

#[test]
fn the_intro_text_names_the_installer_where_the_template_says() {
    let config = OnboardingConfig {
        intro_text: "Hello <@{installer}>, welcome. ({installer})".into(),
        ..OnboardingConfig::default()
    };
    assert_eq!(
        config.intro_text_for("U0ABC"),
        "Hello <@U0ABC>, welcome. (U0ABC)"
    );
    assert!(
        OnboardingConfig::default()
            .intro_text_for(USER)
            .starts_with("Hi <@U0INSTALLER>, thanks for installing me!")
    );
}

#[test]
fn accessors_report_the_installer_and_whether_the_channel_is_ready() {
    let mut r = Run::awaiting_team();
    assert_eq!(r.m.installer(), USER);
    assert_eq!(r.m.team_id(), None);
    assert!(!r.m.channel_ready());
    r.feed(Input::ChannelReady);
    assert!(r.m.channel_ready());
    assert_eq!(r.m.state_name(), "pending");
}

#[test]
fn debug_shows_the_instance_and_state() {
    let m = Onboarding::new(TEAM, USER, OnboardingConfig::default());
    let shown = format!("{m:?}");
    assert!(shown.starts_with("Onboarding {"), "{shown}");
    assert!(shown.contains(INSTANCE), "{shown}");
    assert!(shown.contains("Pending"), "{shown}");
}

#[test]
fn a_team_id_that_cannot_key_a_row_is_retried_never_loaded() {
    // Empty, containing the key separator, or the "unknown team" placeholder: a row keyed by
    // it would collide with (or be refused by) the store.
    for team in ["", "T0/X", "-"] {
        let mut r = Run::awaiting_team();
        r.feed(Input::ChannelReady);
        let out = r.feed(auth(
            1,
            AuthOutcome::Ok {
                team_id: team.into(),
            },
        ));
        assert!(
            !out.iter()
                .any(|o| matches!(o, Output::Command(Command::LoadRow { .. }))),
            "{team:?}: {out:?}"
        );
        assert!(retry_delay(&out) > 0, "{team:?}: retried later: {out:?}");
        assert_eq!(r.m.team_id(), None, "{team:?}");
        assert_eq!(r.m.last_error(), Some("bad_team_id"), "{team:?}");
        assert_eq!(r.m.state_name(), "pending");
    }
}
