#!/usr/bin/env bash
# Faithfulness check of the Slack simulator: Slack's official Socket Mode clients (Node's
# @slack/socket-mode and Python's slack_sdk) connect to `phantom-fsm sim`, ack pushed
# envelopes, and reconnect after a `refresh_requested` disconnect; the simulator's own log
# must show their acks and the new link. Idempotent; installs what it needs into
# target/sim-peers/; every wait is bounded; fails loudly.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS="$ROOT/target/sim-peers"
# The versions this check was written against; override to try others.
SOCKET_MODE_VERSION="${SOCKET_MODE_VERSION:-3.1.0}"
SOCKET_MODE_LEGACY_VERSION="${SOCKET_MODE_LEGACY_VERSION:-2.0.7}"  # for Node < 20.18
SLACK_SDK_VERSION="${SLACK_SDK_VERSION:-3.47.0}"
export DEBIAN_FRONTEND=noninteractive

log() { echo "sim.sh: $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

. "$ROOT/.ci/peers.sh"

install_node_client() {
  local version="$SOCKET_MODE_VERSION"
  command -v node >/dev/null || need_apt node nodejs
  # @slack/socket-mode 3.x needs Node >= 20.18 (undici 7); older Node gets 2.x (ws).
  if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a==20&&b>=18)?0:1)'; then
    version="$SOCKET_MODE_LEGACY_VERSION"
  fi
  npm_peer "$PEERS/node" @slack/socket-mode "$version"
}

install_node_client
pip_peer "$PEERS/venv" slack_sdk "$SLACK_SDK_VERSION"

log "building phantom-fsm"
cargo build --quiet --bin phantom-fsm
BIN="$ROOT/target/debug/phantom-fsm"

SIM_OUT="$PEERS/sim.out"
# Retries at 0 s, 6 s and 30 s (Slack's schedule x 0.1), so a run settles in a minute.
"$BIN" sim --listen 127.0.0.1:0 --rate 1 --retry-scale 0.1 >"$SIM_OUT" 2>&1 &
SIM_PID=$!
cleanup() { kill -TERM "$SIM_PID" 2>/dev/null || true; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  [ -s "$SIM_OUT" ] && sed -n 3p "$SIM_OUT" | grep -q '^app_token=' && break
  kill -0 "$SIM_PID" 2>/dev/null || { cat "$SIM_OUT" >&2; die "phantom-fsm sim exited"; }
  sleep 0.1
done
API_URL=$(head -1 "$SIM_OUT" | sed -n 's/^api_url=//p')
[ -n "$API_URL" ] || { cat "$SIM_OUT" >&2; die "no api_url= line from phantom-fsm sim"; }
CONTROL_URL="${API_URL%api/}_sim/"
# The simulator prints the (constant, not secret) tokens it accepts on its third line.
APP_TOKEN=$(sed -n 3p "$SIM_OUT" | sed -n 's/^app_token=\([^ ]*\) .*/\1/p')
[ -n "$APP_TOKEN" ] || { cat "$SIM_OUT" >&2; die "no app_token= line from phantom-fsm sim"; }
log "simulator at $API_URL"

run_peer() {
  local name=$1; shift
  log "running $name"
  timeout 240 python3 "$ROOT/tests/peers/official_clients.py" \
    "$CONTROL_URL" "$API_URL" "$APP_TOKEN" "$name" -- "$@" \
    || { log "simulator log tail:"; tail -40 "$SIM_OUT" >&2; die "$name"; }
}

NODE_PATH="$PEERS/node/node_modules" run_peer node-socket-mode node "$ROOT/tests/peers/node_peer.js"
run_peer python-slack-sdk "$PEERS/venv/bin/python" "$ROOT/tests/peers/python_peer.py"

trap - EXIT
kill -TERM "$SIM_PID"
if ! timeout 20 tail --pid="$SIM_PID" -f /dev/null; then
  kill -KILL "$SIM_PID" || true
  die "phantom-fsm sim did not stop on SIGTERM"
fi
wait "$SIM_PID" || die "phantom-fsm sim exited non-zero on SIGTERM"
log "official clients check passed"
