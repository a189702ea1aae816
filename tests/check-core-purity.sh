#!/usr/bin/env bash
# Fails if pairing-core could reach the OS: an async runtime, a socket layer, the OS RNG, the
# filesystem or the clock, in its normal dependency tree (native and wasm32) or in its own source.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
for target in x86_64-unknown-linux-gnu wasm32-unknown-unknown; do
  tree=$(cargo tree -p pairing-core -e normal --prefix none --target "$target" | awk '{print $1}' | sort -u)
  for forbidden in tokio mio warp hyper getrandom socket2 rand_core-os tempfile; do
    if grep -qx "$forbidden" <<<"$tree"; then
      echo "pairing-core depends on $forbidden (target $target)" >&2
      bad=1
    fi
  done
done
if grep -rnE 'std::fs|std::time|SystemTime|Instant|std::env|std::process|std::thread|TcpStream|TcpListener|UdpSocket|OsRng|thread_rng|getrandom' core/src; then
  echo "pairing-core source touches the filesystem, the clock, the environment, threads, sockets or the OS RNG (lines above)" >&2
  bad=1
fi
if [ "$bad" -ne 0 ]; then exit 1; fi
echo "pairing-core: no tokio, mio, warp, getrandom, filesystem or clock access"
