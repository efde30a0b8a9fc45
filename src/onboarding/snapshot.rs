//! The onboarding snapshot: `{"state": name, "data": {"attempts","last_error","channel","ts",
//! "generation","sending_since_unix_ms","rejections","rejected_since_unix_ms"}}` (plus
//! `retry_at_unix_ms` in `backoff`). The store's ledger row is built from it and
//! restored into it, so the keys are a contract (`docs/storage.md`).

use super::MACHINE_ID;
use super::io::{CallId, RowState, StoredRow};
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

impl StoredRow {
    /// The typed row of a ledger-row snapshot (`LedgerRow::snapshot` in the store): missing
    /// keys and `null` data take the defaults, unknown keys are ignored; an unknown state is
    /// [`RestoreError::UnknownState`], a mistyped key [`RestoreError::BadData`].
    pub fn from_snapshot(snapshot: &Snapshot) -> Result<StoredRow, RestoreError> {
        let data: LedgerData = match &snapshot.data {
            serde_json::Value::Null => LedgerData::default(),
            value => LedgerData::deserialize(value).map_err(|e| RestoreError::BadData {
                machine: MACHINE_ID,
                state: snapshot.state.clone(),
                detail: e.to_string(),
            })?,
        };
        let state = match snapshot.state.as_str() {
            names::PENDING => RowState::Pending,
            names::SENDING => RowState::Sending,
            names::BACKOFF => RowState::Backoff,
            names::RECONCILING => RowState::Reconciling,
            names::COMPLETE => RowState::Complete,
            names::FAILED => RowState::Failed,
            other => {
                return Err(RestoreError::UnknownState {
                    machine: MACHINE_ID,
                    state: other.to_string(),
                });
            }
        };
        Ok(StoredRow {
            state,
            attempts: data.attempts,
            last_error: data.last_error,
            channel: data.channel,
            ts: data.ts,
            generation: data.generation,
            sending_since_unix_ms: data.sending_since_unix_ms,
            rejections: data.rejections,
            rejected_since_unix_ms: data.rejected_since_unix_ms,
            retry_at_unix_ms: data.retry_at_unix_ms,
        })
    }

    /// The ledger facts of this row.
    pub(crate) fn ledger(&self) -> Ledger {
        Ledger {
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            channel: self.channel.clone(),
            ts: self.ts.clone(),
            generation: self.generation,
            sending_since: self.sending_since_unix_ms,
            rejections: self.rejections,
            rejected_since: self.rejected_since_unix_ms,
        }
    }

    /// The state to restore this row into, with no call in flight.
    pub(crate) fn restored_state(&self) -> State {
        // `CallId(0)` is never issued, so no answer matches a restored state's call.
        match self.state {
            RowState::Pending => State::Pending { phase: Phase::Idle },
            RowState::Sending => State::Sending { call: CallId(0) },
            RowState::Backoff => State::Backoff {
                retry_at: UnixMs(self.retry_at_unix_ms.unwrap_or(0)),
            },
            RowState::Reconciling => State::Reconciling {
                lookup: Lookup::Waiting,
            },
            RowState::Complete => State::Complete {},
            RowState::Failed => State::Failed {},
        }
    }
}

/// Parse a snapshot into the state to restore (with no call in flight) and the ledger facts.
pub(crate) fn parse(
    snapshot: &Snapshot,
    team_known: bool,
) -> Result<(State, Ledger), RestoreError> {
    let row = StoredRow::from_snapshot(snapshot)?;
    // The machine leaves `pending` only with the team known; a row claiming otherwise was not
    // written by it, and posting without the team in the marker could never be reconciled.
    if !team_known
        && matches!(
            row.state,
            RowState::Sending | RowState::Backoff | RowState::Reconciling
        )
    {
        return Err(RestoreError::BadData {
            machine: MACHINE_ID,
            state: snapshot.state.clone(),
            detail: "the instance id has no team".to_string(),
        });
    }
    Ok((row.restored_state(), row.ledger()))
}
