#!/usr/bin/env bash
# Each micro benchmark as a ratio to its baseline from the same `cargo bench --bench core` run
# (reads criterion's estimates under target/criterion).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import glob, json, os
base = "target/criterion"
for group in sorted(glob.glob(f"{base}/*/")):
    funcs = {os.path.basename(os.path.dirname(f)): json.load(open(f + "new/estimates.json"))["median"]["point_estimate"]
             for f in sorted(glob.glob(group + "*/")) if os.path.exists(f + "new/estimates.json")}
    baseline = next((v for k, v in funcs.items() if k.startswith("baseline")), None)
    for k, v in funcs.items():
        ratio = f"{v / baseline:5.2f}x" if baseline else "  -  "
        print(f"{os.path.basename(group.rstrip('/')):32} {k:24} {v/1000:10.2f} us  {ratio}")
PY
