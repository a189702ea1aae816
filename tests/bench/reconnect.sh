#!/usr/bin/env bash
# Paired OpenClaw-style devices coming back (issue #13), loopback only: the node connect cells (core
# alone and through the gateway, auth.token and auth.deviceToken) and the reconnect storm (10 000
# paired devices reconnecting at once right after the gateway starts on their state). Not a CI test.
#
#   tests/bench/reconnect.sh              # 5 interleaved runs of each cell, medians; ~3 minutes on 2 cores
#   RUNS=3 N=10000 tests/bench/reconnect.sh
#   QUICK=1 tests/bench/reconnect.sh      # tiny sizes, one run, seconds
#
# The storm holds N sockets in the load generator and N in the gateway: the open-file limit must be at
# least N + 256 (it is raised to the hard limit here). CARGO_TARGET_DIR is honoured; BIN_DIR=DIR uses
# the `openclaw`, `load` and `core-bench` already in DIR instead of building (a frozen copy, so that a
# build by someone else cannot replace them during the runs).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -n "${BIN_DIR:-}" ]; then
  bin="$BIN_DIR"
else
  echo "==> building openclaw, load and core-bench (release)"
  cargo build -q --release -p openclaw-cli -p pairing-tests --bin openclaw --bin load --bin core-bench
  bin="${CARGO_TARGET_DIR:-$PWD/target}/release"
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need=$(( ${N:-10000} + 256 ))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
  echo "open files limit $(ulimit -n) < $need (hard limit $(ulimit -Hn)): the storm cannot hold N sockets" >&2
  exit 1
fi
export LOAD="$bin/load" CORE_BENCH="$bin/core-bench"
exec python3 -u tests/bench/reconnect.py
