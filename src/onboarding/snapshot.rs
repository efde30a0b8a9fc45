//! The onboarding snapshot: `{"state": name, "data": {"attempts","last_error","channel","ts",
//! "generation","sending_since_unix_ms","rejections","rejected_since_unix_ms"}}` (plus
//! `retry_at_unix_ms` in `backoff`). The store's ledger row is built from it and
//! restored into it, so the keys are a contract (`docs/storage.md`).

use super::MACHINE_ID;
use super::io::CallId;
use super::states::{Lookup, Phase, State, names};
use super::storage::Ledger;
use crate::engine::{RestoreError, Snapshot, UnixMs};
use serde::{Deserialize, Serialize};

/// The `data` of an onboarding snapshot. Every key is optional on input (missing keys and
/// `null` data take the defaults); unknown keys (e.g. the row's timestamps) are ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct LedgerData {
    attempts: u32,
    last_error: Option<String>,
    channel: Option<String>,
    ts: Option<String>,
    generation: u32,
    sending_since_unix_ms: Option<u64>,
    rejections: u32,
    rejected_since_unix_ms: Option<u64>,
    /// `backoff` only: when the retry was due (wall clock), so a restart does not retry early.
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_at_unix_ms: Option<u64>,
}

/// The snapshot of `state` with `ledger`.
pub(crate) fn snapshot(state: &State, ledger: &Ledger) -> Snapshot {
    let retry_at_unix_ms = match state {
        State::Backoff { retry_at } => Some(retry_at.0),
        _ => None,
    };
    let data = LedgerData {
        attempts: ledger.attempts,
        last_error: ledger.last_error.clone(),
        channel: ledger.channel.clone(),
        ts: ledger.ts.clone(),
        generation: ledger.generation,
        sending_since_unix_ms: ledger.sending_since,
        rejections: ledger.rejections,
        rejected_since_unix_ms: ledger.rejected_since,
        retry_at_unix_ms,
    };
    Snapshot {
        state: state.name().to_string(),
        data: serde_json::to_value(data).unwrap_or_default(),
    }
}

/// Parse a snapshot into the state to restore (with no call in flight) and the ledger facts.
pub(crate) fn parse(
    snapshot: &Snapshot,
    team_known: bool,
) -> Result<(State, Ledger), RestoreError> {
    let bad = |detail: String| RestoreError::BadData {
        machine: MACHINE_ID,
        state: snapshot.state.clone(),
        detail,
    };
    let data: LedgerData = match &snapshot.data {
        serde_json::Value::Null => LedgerData::default(),
        value => LedgerData::deserialize(value).map_err(|e| bad(e.to_string()))?,
    };
    // `CallId(0)` is never issued, so no answer matches a restored state's call.
    let state = match snapshot.state.as_str() {
        names::PENDING => State::Pending { phase: Phase::Idle },
        names::SENDING => State::Sending { call: CallId(0) },
        names::BACKOFF => State::Backoff {
            retry_at: UnixMs(data.retry_at_unix_ms.unwrap_or(0)),
        },
        names::RECONCILING => State::Reconciling {
            lookup: Lookup::Waiting,
        },
        names::COMPLETE => State::Complete {},
        names::FAILED => State::Failed {},
        other => {
            return Err(RestoreError::UnknownState {
                machine: MACHINE_ID,
                state: other.to_string(),
            });
        }
    };
    // The machine leaves `pending` only with the team known; a row claiming otherwise was not
    // written by it, and posting without the team in the marker could never be reconciled.
    if !team_known
        && matches!(
            snapshot.state.as_str(),
            names::SENDING | names::BACKOFF | names::RECONCILING
        )
    {
        return Err(bad("the instance id has no team".to_string()));
    }
    let ledger = Ledger {
        attempts: data.attempts,
        last_error: data.last_error,
        channel: data.channel,
        ts: data.ts,
        generation: data.generation,
        sending_since: data.sending_since_unix_ms,
        rejections: data.rejections,
        rejected_since: data.rejected_since_unix_ms,
    };
    Ok((state, ledger))
}
