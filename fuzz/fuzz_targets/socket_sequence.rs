//! cargo-fuzz target `socket_sequence`: the checks live in `phantom_fsm::fuzzing::socket_sequence`, shared with the
//! stable replay test (`tests/fuzz_replay.rs`).
#![no_main]

use phantom_fsm::fuzzing::{alloc::CountingAlloc, socket_sequence};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    socket_sequence::run_bytes(data);
});
