#!/usr/bin/env bash
# The approval page end to end in real headless Chromium. Installs what a fresh machine lacks (Debian's
# chromium via apt as root, playwright-core from package-lock.json, the openclaw binary), then runs
# `node --test tests/browser/`; prints node's summary and exits non-zero when a test fails.
set -euo pipefail
cd "$(dirname "$0")/../.."

CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM_BIN" ]; then
  echo "browser tests: installing chromium (apt)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "browser tests: $CHROMIUM_BIN is missing and we are not root; install Debian's chromium" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q chromium
  [ -x "$CHROMIUM_BIN" ] || { echo "browser tests: still no $CHROMIUM_BIN after installing chromium" >&2; exit 1; }
fi

if ! command -v node >/dev/null 2>&1; then
  echo "browser tests: node (>= 20) is required" >&2
  exit 1
fi

if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "browser tests: npm ci"
  (cd tests/browser && npm ci --no-audit --no-fund)
fi

echo "browser tests: building openclaw-cli (debug)"
cargo build -q -p openclaw-cli --bin openclaw

export OPENCLAW_BIN="${OPENCLAW_BIN:-$(cargo metadata --format-version 1 --no-deps | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')/debug/openclaw}"
export CHROMIUM_BIN

# One file, tests in order; each test bounds itself, and the whole run gets a hard cap.
# (Files named explicitly: newer Node versions read a bare directory argument as a glob.)
exec timeout --kill-after=10 300 node --test --test-reporter=spec tests/browser/*.test.mjs
