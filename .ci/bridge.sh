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

need_apt() {
  command -v apt-get >/dev/null || die "$1 is missing and apt-get is not available"
  log "installing $2 with apt-get"
  apt-get update -qq && apt-get install -y -qq "$2" >/dev/null
}

install_bolt_js() {
  command -v node >/dev/null || need_apt node nodejs
  command -v npm >/dev/null || need_apt npm npm
  mkdir -p "$PEERS/node"
  if [ "$(node -p "try{require('$PEERS/node/node_modules/@slack/bolt/package.json').version}catch(e){''}")" != "$BOLT_JS_VERSION" ]; then
    log "installing @slack/bolt@$BOLT_JS_VERSION with npm"
    (cd "$PEERS/node" && [ -f package.json ] || echo '{"private":true}' > package.json)
    npm install --prefix "$PEERS/node" --no-audit --no-fund --loglevel=error \
      "@slack/bolt@$BOLT_JS_VERSION" >/dev/null
  fi
}

install_bolt_python() {
  command -v python3 >/dev/null || need_apt python3 python3
  if [ ! -x "$PEERS/venv/bin/python" ]; then
    python3 -m venv "$PEERS/venv" 2>/dev/null || { need_apt python3-venv python3-venv && python3 -m venv "$PEERS/venv"; }
  fi
  if ! "$PEERS/venv/bin/python" -c "import importlib.metadata as m,sys; sys.exit(m.version('slack_bolt')!='$SLACK_BOLT_VERSION')" 2>/dev/null; then
    log "installing slack_bolt==$SLACK_BOLT_VERSION with pip"
    "$PEERS/venv/bin/python" -m pip install -q --disable-pip-version-check "slack_bolt==$SLACK_BOLT_VERSION"
  fi
}

install_bolt_python
install_bolt_js

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
