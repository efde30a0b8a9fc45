//! Replays every committed fuzz input — the seed corpora in `fuzz/corpus/<target>/` and the
//! minimized inputs of fixed bugs in `fuzz/regressions/<target>/` — through the same checks
//! the fuzz targets run (`phantom_fsm::fuzzing`), on the stable toolchain, so findings stay
//! fixed without a fuzzer. Run with `cargo test --features fuzzing --test fuzz_replay`.
//!
//! Also checks that the committed seeds are the ones the stories in `src/fuzzing/` build
//! (`PHANTOM_WRITE_SEEDS=1` rewrites them) and that the stories do what they say.

mod fuzz_replay {
    pub mod corpus;
    pub mod onboarding_stories;
    pub mod socket_stories;
}

use phantom_fsm::fuzzing::alloc::CountingAlloc;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;
