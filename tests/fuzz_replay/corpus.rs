//! Every committed input of every target passes its target's checks; the committed seeds are
//! up to date; every fuzz target has checks and a corpus.

use phantom_fsm::fuzzing::{TARGETS, Target};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Files directly in `dir`, sorted (none if it does not exist).
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// The committed inputs of `target`: its corpus and its regressions; plus, when
/// `FUZZ_REPLAY_DIR` is set (e.g. `fuzz/work` or `fuzz/artifacts`), that dir's `<target>/`.
fn inputs(target: &Target) -> Vec<PathBuf> {
    let mut all = files(&fuzz_dir().join("corpus").join(target.name));
    all.extend(files(&fuzz_dir().join("regressions").join(target.name)));
    if let Some(extra) = std::env::var_os("FUZZ_REPLAY_DIR") {
        all.extend(files(&PathBuf::from(extra).join(target.name)));
    }
    all
}

#[test]
fn every_committed_input_passes_its_targets_checks() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for target in TARGETS {
        for path in inputs(target) {
            let bytes = std::fs::read(&path).expect("readable input");
            if catch_unwind(AssertUnwindSafe(|| (target.run)(&bytes))).is_err() {
                failures.push(path.display().to_string());
            }
            replayed += 1;
        }
    }
    println!("replayed {replayed} inputs");
    assert!(
        failures.is_empty(),
        "failing inputs (messages above): {failures:#?}"
    );
    assert!(
        replayed > 0,
        "no committed inputs found under {:?}",
        fuzz_dir()
    );
}

#[test]
fn committed_seeds_are_the_ones_the_stories_build() {
    let write = std::env::var_os("PHANTOM_WRITE_SEEDS").is_some();
    let mut stale = Vec::new();
    for target in TARGETS {
        let dir = fuzz_dir().join("corpus").join(target.name);
        for seed in (target.seeds)() {
            assert!(
                seed.name.starts_with("seed-"),
                "{}: seed names start with seed-",
                seed.name
            );
            let path = dir.join(seed.name);
            if std::fs::read(&path).ok().as_ref() == Some(&seed.bytes) {
                continue;
            }
            if write {
                std::fs::create_dir_all(&dir).expect("corpus dir");
                std::fs::write(&path, &seed.bytes).expect("seed written");
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "seeds differ from src/fuzzing (rerun with PHANTOM_WRITE_SEEDS=1 and commit): {stale:#?}"
    );
}

#[test]
fn every_fuzz_target_has_checks_and_a_corpus() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let bins: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|name| *name != "phantom-fsm-fuzz")
        .collect();
    let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    assert_eq!(
        bins, names,
        "fuzz/Cargo.toml targets vs phantom_fsm::fuzzing::TARGETS"
    );
    for target in TARGETS {
        assert!(!(target.seeds)().is_empty(), "{} has no seeds", target.name);
        let source = fuzz_dir()
            .join("fuzz_targets")
            .join(format!("{}.rs", target.name));
        let source = std::fs::read_to_string(&source).expect("fuzz target source");
        assert!(
            source.contains(&format!(
                "phantom_fsm::fuzzing::{{alloc::CountingAlloc, {}}}",
                target.name
            )),
            "{} must call its checks in phantom_fsm::fuzzing",
            target.name
        );
    }
}
