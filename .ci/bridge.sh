#!/usr/bin/env bash
# The HTTP bridge against Slack's own frameworks: a small Bolt app of each kind (Bolt for
# Python `slack_bolt`, Bolt for JavaScript `@slack/bolt`) in HTTP mode, with a known signing
# secret, behind `phantom-fsm run --forward-url` against `phantom-fsm sim`
# (tests/peers/bridge_check.py says what is checked). Idempotent; installs what it needs into
# target/bridge-peers/; every wait is bounded; fails loudly.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS="$ROOT/target/bridge-peers"
# The versions this check was written against; override to try others.
SLACK_BOLT_VERSION="${SLACK_BOLT_VERSION:-1.30.0}"
BOLT_JS_VERSION="${BOLT_JS_VERSION:-5.1.0}"
export DEBIAN_FRONTEND=noninteractive

log() { echo "bridge.sh: $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

. "$ROOT/.ci/peers.sh"

pip_peer "$PEERS/venv" slack_bolt "$SLACK_BOLT_VERSION"
npm_peer "$PEERS/node" @slack/bolt "$BOLT_JS_VERSION"

log "building phantom-fsm"
cargo build --quiet --bin phantom-fsm
BIN="$ROOT/target/debug/phantom-fsm"

check() {
  local peer=$1; shift
  log "running $peer"
  timeout 300 python3 "$ROOT/tests/peers/bridge_check.py" "$BIN" "$peer" -- "$@" || die "$peer"
}

check bolt-python "$PEERS/venv/bin/python" "$ROOT/tests/peers/bolt_app.py"
NODE_PATH="$PEERS/node/node_modules" check bolt-js node "$ROOT/tests/peers/bolt_app.js"
log "Bolt behind the bridge: passed"
