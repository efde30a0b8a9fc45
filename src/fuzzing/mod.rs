//! The checks behind the cargo-fuzz targets (`fuzz/`), shared with the stable replay test
//! (`tests/fuzz_replay.rs`) so a committed input is judged by the same code on stable as under
//! the fuzzer. Compiled only with the `arbitrary` feature.
//!
//! One module per target, each with a `run(data: &[u8])` that decodes the bytes into a
//! scenario, drives the code under test and **panics** when an invariant breaks (that is how
//! libFuzzer and the replay test see a failure), and a `seeds()` that builds the committed seed
//! corpus from readable stories. `docs/testing.md` lists what each target asserts.

pub mod alloc;
mod bytes;
pub mod clock;
pub mod frame_decode;
pub mod frames;
pub mod invariants;
pub mod onboarding_sequence;
pub mod socket_sequence;
pub mod store_replay;

/// One seed input: a file name (without directory) and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seed {
    /// File name inside `fuzz/corpus/<target>/`, always starting with `seed-`.
    pub name: &'static str,
    /// The input.
    pub bytes: Vec<u8>,
}

/// Every fuzz target by name, with its check and its seeds (the replay test walks this).
pub const TARGETS: &[Target] = &[
    Target {
        name: "socket_sequence",
        run: socket_sequence::run_bytes,
        seeds: socket_sequence::seeds,
    },
    Target {
        name: "frame_decode",
        run: frame_decode::run,
        seeds: frame_decode::seeds,
    },
    Target {
        name: "onboarding_sequence",
        run: onboarding_sequence::run_bytes,
        seeds: onboarding_sequence::seeds,
    },
    Target {
        name: "store_replay",
        run: store_replay::run_bytes,
        seeds: store_replay::seeds,
    },
];

/// A fuzz target: its name (the file in `fuzz/fuzz_targets/`), its check and its seeds.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// Target name, also the corpus directory name.
    pub name: &'static str,
    /// The check; panics on a broken invariant.
    pub run: fn(&[u8]),
    /// The committed seed corpus.
    pub seeds: fn() -> Vec<Seed>,
}
