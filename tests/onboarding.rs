//! Tests of the onboarding ledger machine (`src/onboarding`): scripted runs with fake time and
//! exact outputs, snapshot/restore in every state, the reply classification, the derived
//! diagram, and property tests against a reference model.

mod onboarding {
    mod classify;
    pub(crate) mod common;
    mod diagram;
    mod load_row;
    mod operator;
    // The property tests call the invariant checks the fuzz targets share (`fuzzing` feature).
    #[cfg(feature = "fuzzing")]
    mod props;
    mod restore;
    mod retry_after;
    mod scripted;
    mod stale;
    mod surface;
}
