//! cargo-fuzz target `store_replay`: the checks live in `phantom_fsm::fuzzing::store_replay`, shared with the
//! stable replay test (`tests/fuzz_replay.rs`).
#![no_main]

use phantom_fsm::fuzzing::{alloc::CountingAlloc, store_replay};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    store_replay::run_bytes(data);
});
