//! Exploration for the derived diagram (`docs/architecture.md`): where to start, which inputs to try in a
//! state (bound to the call it awaits and to its armed deadline, one per outcome class), and
//! how to tell representatives apart where guards depend on local data.

use super::config::OnboardingConfig;
use super::io::{
    AuthOutcome, CallId, HistoryOutcome, Input, OpenDmOutcome, PostOutcome, RowState, StoredRow,
};
use super::machine::Onboarding;
use super::states::{Lookup, Phase, State};
use crate::engine::{Machine, Now, Snapshot};

const TEAM: &str = "T0EXAMPLE";
const INSTALLER: &str = "U0EXAMPLE";
const CHANNEL: &str = "D0EXAMPLE";
const TS: &str = "1767225600.000100";

/// A machine that must learn its team from `auth.test`, one that knows it, and a restored
/// `reconciling` row that lost its DM channel (written by hand, e.g. an edited ledger), whose
/// lookup must reopen the channel first; the first two again with `max_attempts = 1`, where
/// the first `Rejected` reply exhausts the bound (the default needs ten in a row, which the
/// exploration key does not count).
pub(crate) fn roots() -> Vec<(Now, Onboarding)> {
    let config = OnboardingConfig::default();
    let last_chance = OnboardingConfig {
        max_attempts: 1,
        ..config.clone()
    };
    let mut roots = vec![
        Onboarding::awaiting_team(INSTALLER, config.clone()),
        Onboarding::new(TEAM, INSTALLER, config.clone()),
        Onboarding::awaiting_team(INSTALLER, last_chance.clone()),
        Onboarding::new(TEAM, INSTALLER, last_chance.clone()),
    ];
    let row = Snapshot {
        state: "reconciling".to_string(),
        data: serde_json::json!({"attempts": 1, "last_error": null, "channel": null, "ts": null}),
    };
    let instance = format!("{TEAM}/{INSTALLER}");
    roots.extend(Onboarding::restore(config, &instance, &row));
    roots.extend(Onboarding::restore(last_chance, &instance, &row));
    roots.into_iter().map(|m| (Now::fake(0), m)).collect()
}

/// Distinguish what the guards look at: the local progress, whether the team and the DM
/// channel are known, whether the channel is ready, and which timer is armed. All finite.
pub(crate) fn key(m: &Onboarding) -> String {
    let progress = match m.state() {
        State::Pending { phase } => match phase {
            Phase::Idle => "idle",
            Phase::Authenticating(_) => "authenticating",
            Phase::AuthRetry => "auth_retry",
            Phase::Loading => "loading",
            Phase::Opening(_) => "opening",
        },
        State::Reconciling { lookup } => match lookup {
            Lookup::Waiting => "waiting",
            Lookup::Reopening(_) => "reopening",
            Lookup::Reading(_) => "reading",
        },
        State::Sending { call } if call.0 == 0 => "restored",
        _ => "-",
    };
    format!(
        "{}/{progress} team:{} dm:{} ready:{} timer:{:?} last_chance:{} second_scan:{} paging:{}",
        m.state_name(),
        m.team_id().is_some(),
        m.channel().is_some(),
        m.channel_ready(),
        m.next_timer().map(|(timer, _)| timer),
        m.last_chance(),
        m.awaiting_second_scan(),
        m.paging(),
    )
}

/// Every input worth trying in `m`'s state at `now`.
pub(crate) fn templates(m: &Onboarding, now: Now) -> Vec<(Now, Input)> {
    let mut inputs = vec![
        Input::ChannelReady,
        Input::Resumed,
        Input::Reset,
        Input::MarkComplete {
            channel: CHANNEL.to_string(),
            ts: TS.to_string(),
        },
    ];
    match m.state() {
        State::Pending {
            phase: Phase::Authenticating(call),
        } => inputs.extend(auth_answers(*call)),
        State::Pending {
            phase: Phase::Opening(call),
        }
        | State::Reconciling {
            lookup: Lookup::Reopening(call),
        } => inputs.extend(dm_answers(*call)),
        State::Pending {
            phase: Phase::Loading,
        } => inputs.extend(row_answers()),
        State::Sending { call } => inputs.extend(post_answers(*call)),
        State::Reconciling {
            lookup: Lookup::Reading(call),
        } => inputs.extend(history_answers(*call)),
        _ => {}
    }
    let mut timed: Vec<(Now, Input)> = inputs.into_iter().map(|i| (now, i)).collect();
    // The armed deadline (or a spurious wake-up now, which must change nothing).
    let at = m.poll_timeout().map_or(now, |t| now.advanced_to(t));
    timed.push((at, Input::Timeout));
    timed
}

fn auth_answers(call: CallId) -> Vec<Input> {
    [
        AuthOutcome::Ok {
            team_id: TEAM.to_string(),
        },
        AuthOutcome::RateLimited {
            retry_after_ms: Some(30_000),
        },
        AuthOutcome::Transient {
            reason: "no_response".to_string(),
            retry_after_ms: None,
        },
        AuthOutcome::Unrecoverable {
            code: "invalid_auth".to_string(),
        },
        AuthOutcome::Rejected {
            code: "some_new_code".to_string(),
        },
    ]
    .into_iter()
    .map(|outcome| Input::AuthTested { call, outcome })
    .collect()
}

/// No row, and a row in every state (with the DM channel it would have).
fn row_answers() -> Vec<Input> {
    let stored = |state: RowState| StoredRow {
        state,
        attempts: u32::from(state != RowState::Pending),
        last_error: None,
        channel: Some(CHANNEL.to_string()),
        ts: (state == RowState::Complete).then(|| TS.to_string()),
        generation: 0,
        sending_since_unix_ms: None,
        rejections: 0,
        rejected_since_unix_ms: None,
        retry_at_unix_ms: (state == RowState::Backoff).then_some(30_000),
    };
    std::iter::once(None)
        .chain(RowState::ALL.map(|s| Some(stored(s))))
        .map(|row| Input::RowLoaded { row })
        .collect()
}

fn dm_answers(call: CallId) -> Vec<Input> {
    [
        OpenDmOutcome::Opened {
            channel: CHANNEL.to_string(),
        },
        OpenDmOutcome::RateLimited {
            retry_after_ms: Some(30_000),
        },
        OpenDmOutcome::Transient {
            reason: "http_503".to_string(),
            retry_after_ms: None,
        },
        OpenDmOutcome::Permanent {
            code: "cannot_dm_bot".to_string(),
        },
        OpenDmOutcome::Rejected {
            code: "some_new_code".to_string(),
        },
    ]
    .into_iter()
    .map(|outcome| Input::DmOpened { call, outcome })
    .collect()
}

fn post_answers(call: CallId) -> Vec<Input> {
    [
        PostOutcome::Sent { ts: TS.to_string() },
        PostOutcome::RateLimited {
            retry_after_ms: Some(30_000),
        },
        PostOutcome::NotStored {
            reason: "connect_error".to_string(),
        },
        PostOutcome::Permanent {
            code: "is_archived".to_string(),
        },
        PostOutcome::Ambiguous {
            reason: "no_response".to_string(),
            retry_after_ms: None,
        },
    ]
    .into_iter()
    .map(|outcome| Input::Posted { call, outcome })
    .collect()
}

fn history_answers(call: CallId) -> Vec<Input> {
    [
        HistoryOutcome::Found { ts: TS.to_string() },
        HistoryOutcome::NotFound,
        HistoryOutcome::Transient {
            retry_after_ms: None,
            reason: "http_500".to_string(),
        },
        HistoryOutcome::NextPage {
            cursor: "bmV4dF90czoxNzY3MjI1NjAw".to_string(),
        },
        HistoryOutcome::Permanent {
            code: "channel_not_found".to_string(),
        },
        HistoryOutcome::Rejected {
            code: "some_new_code".to_string(),
        },
    ]
    .into_iter()
    .map(|outcome| Input::HistoryRead { call, outcome })
    .collect()
}
