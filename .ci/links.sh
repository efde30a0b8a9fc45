#!/usr/bin/env bash
# Every relative link in README.md and docs/*.md resolves: the file or directory exists inside
# the repository, and a `#fragment` names a heading of the target Markdown file (GitHub's
# slugs). Also fails on any mention of a path outside the repository (`../shared`), since the
# repository must stand alone.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "links: python3 is required" >&2; exit 1; }
python3 - README.md docs/*.md <<'EOF'
import os, re, sys

root = os.path.realpath(".")
link = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
fence = re.compile(r"^\s*(```|~~~)")

def headings(path):
    slugs, inside = set(), False
    for line in open(path, encoding="utf-8"):
        if fence.match(line):
            inside = not inside
            continue
        m = None if inside else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1)).lower()
            slug = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
            n, base = 1, slug
            while slug in slugs:
                slug, n = f"{base}-{n}", n + 1
            slugs.add(slug)
    return slugs

errors, checked = [], 0
for doc in sys.argv[1:]:
    inside = False
    for no, line in enumerate(open(doc, encoding="utf-8"), 1):
        if fence.match(line):
            inside = not inside
            continue
        if inside:
            continue
        if "../shared" in line or "DESIGN.md" in line:
            errors.append(f"{doc}:{no}: refers outside the repository: {line.strip()}")
        for target in link.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # http:, https:, mailto:
            checked += 1
            path, _, frag = target.partition("#")
            full = os.path.realpath(os.path.join(os.path.dirname(doc), path)) if path else os.path.realpath(doc)
            if not (full == root or full.startswith(root + os.sep)):
                errors.append(f"{doc}:{no}: {target} leaves the repository")
            elif not os.path.exists(full):
                errors.append(f"{doc}:{no}: {target} does not exist")
            elif frag and full.endswith(".md") and frag not in headings(full):
                errors.append(f"{doc}:{no}: {target}: no heading #{frag}")
for e in errors:
    print(e, file=sys.stderr)
if errors:
    sys.exit(1)
print(f"links: {checked} relative links in {len(sys.argv) - 1} files resolve")
EOF
