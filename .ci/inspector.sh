#!/usr/bin/env bash
# Live inspector in a real browser: Debian's Chromium and chromedriver drive GET /debug/ui of
# `phantom-fsm run` against `phantom-fsm sim` over the WebDriver HTTP protocol
# (.ci/inspector.py, Python stdlib only) and save a screenshot to target/inspector.png.
#   --update-screenshot   also copy the screenshot to docs/img/inspector.png (the README's)
# Idempotent; needs root or sudo only when Chromium is missing; every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "inspector: installing chromium chromium-driver"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver </dev/null
fi
chromium --version 2>/dev/null | head -1
chromedriver --version | head -1

cargo build --quiet --all-features --bin phantom-fsm
target_dir=${CARGO_TARGET_DIR:-target}
timeout 300 python3 .ci/inspector.py "$target_dir/debug/phantom-fsm" "$target_dir/inspector.png"

if [ "${1:-}" = "--update-screenshot" ]; then
    mkdir -p docs/img
    cp "$target_dir/inspector.png" docs/img/inspector.png
    echo "inspector: docs/img/inspector.png updated"
fi
