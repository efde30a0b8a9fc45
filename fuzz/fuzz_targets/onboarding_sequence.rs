//! cargo-fuzz target `onboarding_sequence`: the checks live in `phantom_fsm::fuzzing::onboarding_sequence`, shared with the
//! stable replay test (`tests/fuzz_replay.rs`).
#![no_main]

use phantom_fsm::fuzzing::{alloc::CountingAlloc, onboarding_sequence};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    onboarding_sequence::run_bytes(data);
});
