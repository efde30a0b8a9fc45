#!/usr/bin/env bash
# Bounded fuzzing for CI (issue 7): builds every cargo-fuzz target on the stable toolchain
# (`--sanitizer none`) and runs each, one at a time, for FUZZ_SECONDS (default 60). Any crash,
# panic, timeout or out-of-memory fails the script. New corpus entries go to fuzz/work/
# (ignored by git); the committed corpora and regressions are read, never written.
#
#   FUZZ_SECONDS=600 bash .ci/fuzz.sh                       # longer
#   FUZZ_TARGETS="frame_decode" bash .ci/fuzz.sh            # some targets only
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${FUZZ_SECONDS:-60}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

if [[ -n "${FUZZ_TARGETS:-}" ]]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(cargo fuzz list)
fi
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "no fuzz targets found" >&2
    exit 1
fi

echo "== building fuzz targets: ${targets[*]}"
cargo fuzz build --sanitizer none

for t in "${targets[@]}"; do
    work="fuzz/work/$t"
    mkdir -p "$work"
    dirs=("$work" "fuzz/corpus/$t")
    [[ -d "fuzz/regressions/$t" ]] && dirs+=("fuzz/regressions/$t")
    args=(
        "-max_total_time=$secs"
        -timeout=10          # one input running 10 s is a hang
        -rss_limit_mb=2048   # the process, whatever the input
        -malloc_limit_mb=512 # one allocation (effective with a sanitizer build)
        -print_final_stats=1
    )
    [[ -f "fuzz/dict/$t.dict" ]] && args+=("-dict=fuzz/dict/$t.dict")
    echo "== fuzzing $t for ${secs}s"
    cargo fuzz run --sanitizer none "$t" "${dirs[@]}" -- "${args[@]}"
done
echo "== fuzzing passed: ${targets[*]}"
