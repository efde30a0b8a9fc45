#!/usr/bin/env bash
# End-to-end benchmark: the simulator pushes 20,000 events_api envelopes (at most 500 unacked)
# to each client in turn, then 2,000 at 1,000/s across a refresh_requested; one JSON line per
# client, then a table. Peers are installed into target/bench-peers (never committed).
# Usage: bash benches/e2e.sh [client...]   (default: every client)
# Not a test and not run in CI. Every wait is bounded (`timeout`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS="$ROOT/target/bench-peers"
mkdir -p "$PEERS"
export BENCH_SCRATCH="$PEERS"
SOCKET_MODE_VERSION="${SOCKET_MODE_VERSION:-3.1.0}"
SLACK_SDK_VERSION="${SLACK_SDK_VERSION:-3.47.0}"
log() { echo "e2e.sh: $*" >&2; }

CLIENTS=("$@")
[ ${#CLIENTS[@]} -gt 0 ] || CLIENTS=(ack-only run embed node python slack-morphism)
want() { [[ " ${CLIENTS[*]} " == *" $1 "* ]]; }

log "building (release)"
cargo build --quiet --release --bin phantom-fsm --example bench
BENCH="$ROOT/target/release/examples/bench"

if want node && command -v npm >/dev/null; then
  [ -d "$PEERS/node/node_modules/@slack/socket-mode" ] || {
    log "installing @slack/socket-mode@$SOCKET_MODE_VERSION"
    mkdir -p "$PEERS/node" && echo '{"private":true}' > "$PEERS/node/package.json"
    timeout 300 npm install --prefix "$PEERS/node" --no-audit --no-fund --loglevel=error \
      "@slack/socket-mode@$SOCKET_MODE_VERSION" >/dev/null
  }
fi
if want python; then
  [ -x "$PEERS/venv/bin/python" ] || python3 -m venv "$PEERS/venv"
  "$PEERS/venv/bin/python" -c "import slack_sdk, aiohttp" 2>/dev/null || {
    log "installing slack_sdk==$SLACK_SDK_VERSION aiohttp"
    timeout 300 "$PEERS/venv/bin/python" -m pip install -q --disable-pip-version-check \
      "slack_sdk==$SLACK_SDK_VERSION" aiohttp
  }
fi

if want slack-morphism; then
  # Its own Cargo project, copied out of the repository so its lock file and target dir stay
  # in the scratch dir (not our workspace, not our Cargo.lock).
  log "building the slack-morphism peer"
  mkdir -p "$PEERS/slack-morphism"
  cp -r "$ROOT/benches/peers/slack_morphism/Cargo.toml" "$ROOT/benches/peers/slack_morphism/src" \
    "$PEERS/slack-morphism/"
  timeout 900 cargo build --quiet --release --manifest-path "$PEERS/slack-morphism/Cargo.toml"
fi

OUT="$PEERS/results.jsonl"
: > "$OUT"
run_one() {
  local name=$1; shift
  log "measuring $name"
  timeout 300 "$BENCH" measure "$name" -- "$@" >>"$OUT" || log "$name: FAILED"
}
want ack-only && run_one ack-only "$BENCH" ack-only
want run && run_one phantom-fsm-run "$ROOT/target/release/phantom-fsm" run --log-format json
want embed && run_one embedding-api "$BENCH" embed
want node && NODE_PATH="$PEERS/node/node_modules" run_one node-socket-mode node "$ROOT/benches/peers/node_bench.js"
want python && run_one python-slack-sdk-aiohttp "$PEERS/venv/bin/python" "$ROOT/benches/peers/python_bench.py"
want slack-morphism && run_one slack-morphism "$PEERS/slack-morphism/target/release/slack-morphism-bench-peer"

python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ceiling = next((r for r in rows if r["client"] == "ack-only"), None)
hdr = f'{"client":26} {"acks/s":>8} {"p50us":>6} {"p99us":>7} {"maxus":>7} {"cpu s/10k":>9} {"rssMiB":>7} {"conn ms":>7} {"p99@1k":>7} {"lost":>5} {"gap ms":>7} {"1st ack ms":>10}'
print(hdr)
for r in rows:
    f = r["refresh"]
    print(f'{r["client"]:26} {r["acks_per_s"]:>8.0f} {r["p50_us"]:>6} {r["p99_us"]:>7} {r["max_us"]:>7} '
          f'{r["cpu_s_per_10k"]:>9.3f} {r["peak_rss_kib"]/1024:>7.1f} {r["connect_ms"]:>7} '
          f'{r["at_1000_per_s"]["p99_us"]:>7} {f["lost"]:>5} {f["longest_gap_ms"]:>7} {str(f["first_ack_on_new_link_ms"]):>10}')
by = {r["client"]: r for r in rows}
run = by.get("phantom-fsm-run")
if run:
    if ceiling:
        print(f'ceiling acks/s / run acks/s: {ceiling["acks_per_s"] / max(run["acks_per_s"], 1):.2f} (target <= 1.5)')
    for peer, target in [("node-socket-mode", 0.1), ("slack-morphism", 0.25)]:
        if peer in by:
            ratio = run["cpu_s_per_10k"] / max(by[peer]["cpu_s_per_10k"], 1e-9)
            print(f'run CPU per envelope / {peer}: {ratio:.2f} (target <= {target})')
PY
