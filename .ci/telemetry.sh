#!/usr/bin/env bash
# Telemetry CI step: install promtool (Debian's `prometheus` package) and run
# `promtool check metrics` on a live scrape of /metrics served on 127.0.0.1 by
# examples/serve_metrics.rs after it has fed a realistic stream of transitions and signals.
# Also checks that /health and /debug/state answer JSON with their top-level fields.
# Idempotent; needs root or sudo only when promtool or curl is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

# The package's postinst starts prometheus.service. Sandboxes refuse that, and on a real CI
# machine we do not want a Prometheus server running: forbid service starts for the duration of
# the install with the standard policy-rc.d hook (exit 101), honoured by invoke-rc.d and
# deb-systemd-invoke, and restore whatever policy was there before.
install_packages() {
    local policy=/usr/sbin/policy-rc.d backup=""
    if [ -e "$policy" ]; then
        backup=$(mktemp)
        as_root cp -p "$policy" "$backup"
    fi
    restore_policy() {
        if [ -n "$backup" ]; then as_root mv -f "$backup" "$policy"; else as_root rm -f "$policy"; fi
    }
    trap restore_policy RETURN
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 0755 "$policy"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" </dev/null
}

missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v curl >/dev/null || missing+=(curl ca-certificates)
if [ ${#missing[@]} -gt 0 ]; then
    echo "telemetry: installing ${missing[*]}"
    install_packages "${missing[@]}"
fi
command -v promtool >/dev/null || { echo "telemetry: promtool is still missing" >&2; exit 1; }
promtool --version | head -1

cargo build --quiet --example serve_metrics
target_dir=${CARGO_TARGET_DIR:-target}
out=$(mktemp)
scrape=$(mktemp)
rules_dir=$(mktemp -d)
"$target_dir/debug/examples/serve_metrics" >"$out" 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$out" "$scrape" "$rules_dir"
}
trap cleanup EXIT

# Wait (poll with a deadline) for the `listen=ADDR` line.
addr=""
for _ in $(seq 1 300); do
    addr=$(sed -n 's/^listen=//p' "$out")
    [ -n "$addr" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$out" >&2; echo "telemetry: server exited" >&2; exit 1; }
    sleep 0.1
done
[ -n "$addr" ] || { cat "$out" >&2; echo "telemetry: server did not start" >&2; exit 1; }

curl -fsS --max-time 10 -o "$scrape" -D - "http://$addr/metrics" \
    | grep -qi '^content-type: text/plain; version=0.0.4; charset=utf-8' \
    || { echo "telemetry: /metrics content type" >&2; exit 1; }
promtool check metrics <"$scrape"
for family in phantom_slack_socket_state phantom_slack_socket_reconnects_total \
    phantom_slack_socket_connection_seconds phantom_slack_event_dispatch_seconds \
    phantom_slack_socket_handovers_total phantom_slack_ack_seconds phantom_slack_envelopes_total \
    phantom_slack_frames_rejected_total phantom_onboarding_state \
    phantom_onboarding_intro_attempts_total phantom_fsm_transitions_total \
    phantom_fsm_ignored_inputs_total phantom_store_errors_total; do
    grep -q "^# TYPE $family " "$scrape" || { echo "telemetry: $family missing" >&2; exit 1; }
done
if grep -Eq 'otel_scope|target_info|_total_total|_seconds_seconds' "$scrape"; then
    echo "telemetry: OpenTelemetry artifacts in the exposition" >&2
    exit 1
fi
health=$(curl -fsS --max-time 10 "http://$addr/health")
for field in '"status":"ok"' '"uptime":' '"version":' '"channels":{"slack":true}' \
    '"slack":{"state":"connected"' '"onboarding":"complete"'; do
    case "$health" in *"$field"*) ;; *) echo "telemetry: /health lacks $field: $health" >&2; exit 1 ;; esac
done
debug=$(curl -fsS --max-time 10 "http://$addr/debug/state")
for field in '"machines":[' '"transitions":[' '"mermaid":{' 'class connected current'; do
    case "$debug" in *"$field"*) ;; *) echo "telemetry: /debug/state lacks $field" >&2; exit 1 ;; esac
done

# The alerts documented in docs/metrics.md: they must load, and the headline ones must fire
# (and stay silent) when they should.
awk '/^```yaml$/{on=1; next} /^```$/{on=0} on' docs/metrics.md >"$rules_dir/rules.yml"
promtool check rules "$rules_dir/rules.yml"
cat >"$rules_dir/test.yml" <<'YAML'
rule_files: [rules.yml]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'phantom_slack_socket_state{state="connected",instance="down"}'
        values: '1 1 1 0 0 0 0 0 0'
      - series: 'phantom_slack_socket_state{state="connected",instance="up"}'
        values: '1x8'
      - series: 'phantom_onboarding_state{state="failed",instance="down"}'
        values: '0 0 1 1 1 1 1 1 1'
    alert_rule_test:
      - eval_time: 30s
        alertname: SlackTenantOffline
        exp_alerts: []
      - eval_time: 2m
        alertname: SlackTenantOffline
        exp_alerts:
          - exp_labels: {severity: page, instance: down, state: connected}
            exp_annotations:
              summary: "down: no Slack Socket Mode connection for 1 minute"
      - eval_time: 2m
        alertname: OnboardingIntroFailed
        exp_alerts:
          - exp_labels: {severity: warn, instance: down, state: failed}
            exp_annotations:
              summary: "down: intro DM failed permanently; reset with `phantom-fsm ledger reset`"
YAML
promtool test rules "$rules_dir/test.yml"

echo "telemetry: promtool check metrics passed on a live scrape of $(grep -c '^phantom_' "$scrape") series"
