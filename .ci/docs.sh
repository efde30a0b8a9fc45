#!/usr/bin/env bash
# The SVGs in docs/diagrams/ are Graphviz renderings of state-diagrams/*.dot: re-render them and
# fail if they differ (refresh: `for m in socket_mode onboarding; do dot -Tsvg
# state-diagrams/$m.dot > docs/diagrams/$m.svg; done`).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v dot >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends graphviz >/dev/null
fi
out=$(mktemp -d)
for dotfile in state-diagrams/*.dot; do
    name=$(basename "$dotfile" .dot)
    dot -Tsvg "$dotfile" > "$out/$name.svg"
    if ! diff -q "$out/$name.svg" "docs/diagrams/$name.svg" >/dev/null; then
        echo "docs/diagrams/$name.svg is stale: re-render it with 'dot -Tsvg $dotfile'" >&2
        exit 1
    fi
done
echo "docs: $(ls state-diagrams/*.dot | wc -l) diagrams render and match docs/diagrams/"
