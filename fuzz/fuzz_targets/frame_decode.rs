//! cargo-fuzz target `frame_decode`: the checks live in `phantom_fsm::fuzzing::frame_decode`, shared with the
//! stable replay test (`tests/fuzz_replay.rs`).
#![no_main]

use phantom_fsm::fuzzing::{alloc::CountingAlloc, frame_decode};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    frame_decode::run(data);
});
