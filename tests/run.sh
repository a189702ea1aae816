#!/usr/bin/env bash
# Every check of openclaw-pairing, as CI runs it. Works on a fresh machine with rustup (and Node.js with
# npm): it installs what is missing, starting with the wasm32 target (rustup 1.29 does not add the one
# rust-toolchain.toml names when the stable toolchain is already installed).
set -euo pipefail
cd "$(dirname "$0")/.."
export CI=true
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
step() { printf '\n==> %s\n' "$*"; }

if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "installing the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (workspace, all targets)"
cargo clippy --workspace --all-targets -- -D warnings

step "pairing-core for wasm32-unknown-unknown (clippy + build)"
cargo clippy -p pairing-core --target wasm32-unknown-unknown -- -D warnings
cargo build -p pairing-core --target wasm32-unknown-unknown

step "pairing-wasm for wasm32-unknown-unknown (clippy + wasm-bindgen tests in Node)"
cargo clippy -p pairing-wasm --target wasm32-unknown-unknown --all-targets --features sim -- -D warnings
if [ "$(wasm-bindgen-test-runner --version 2>/dev/null)" != "wasm-bindgen-test-runner 0.2.130" ]; then
  cargo install wasm-bindgen-cli --version 0.2.130
fi
cargo test -p pairing-wasm --target wasm32-unknown-unknown --features sim

step "pairing-core has no I/O in its dependency tree or its source"
bash tests/check-core-purity.sh

step "the real OpenClaw clients (npm openclaw@2026.4.12 and @2026.9.6, installed once outside the repository)"
# Installed before the Rust tests: one of them (cli_import_real) runs the real 2026.9.6 gateway, and
# OPENCLAW_REAL_CLIENTS_REQUIRED turns its skip-when-missing into a failure here.
bash tests/real-clients/install.sh
export OPENCLAW_REAL_CLIENTS_REQUIRED=1

step "tests (CI=true: snapshots are checked, never written)"
cargo test --workspace
bash tests/browser/run.sh
# The real OpenClaw clients against our gateway.
bash tests/real-clients/run.sh

step "fuzzing the core's input for 30 s (cargo fuzz; nightly features via RUSTC_BOOTSTRAP on stable)"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --version 0.13.2
fi
fuzz_log=$(mktemp)
fuzz_new=$(mktemp -d) # new inputs go here; the committed corpus is only read
if ! (cd core && RUSTC_BOOTSTRAP=1 cargo fuzz run gateway_frames "$fuzz_new" fuzz/corpus/gateway_frames -- -max_total_time=30 -max_len=4096) >"$fuzz_log" 2>&1; then
  tail -n 60 "$fuzz_log" >&2
  echo "cargo fuzz found a crash (input saved under core/fuzz/artifacts/gateway_frames)" >&2
  exit 1
fi
grep -E '^Done' "$fuzz_log"
rm -rf "$fuzz_log" "$fuzz_new"

step "benchmark smoke (tiny sizes; the real run is in BENCHMARKS.md)"
cargo run -q -p pairing-tests --bin core-bench -- --smoke
# The load generator against the real gateway (debug build), in each mode, 256 operators included.
cargo build -q -p openclaw-cli --bin openclaw
gateway_bin="${CARGO_TARGET_DIR:-target}/debug/openclaw"
for args in "-c 8 -n 200 --prefill 20" "--mode node -c 8 -n 50" "--mode hold -n 100" "-c 256 -n 300" \
  "--mode connect -c 8 -n 200" "--mode connect --auth device-token -c 8 -n 200" "--mode storm -n 300 --sources 8"; do
  # shellcheck disable=SC2086 # the arguments are meant to be split
  out=$(cargo run -q -p pairing-tests --bin load -- --spawn --openclaw "$gateway_bin" --json $args)
  grep '^RESULT ' <<<"$out" | grep -q '"errors":0,' || { echo "load $args: errors" >&2; echo "$out" >&2; exit 1; }
  grep ' ok in ' <<<"$out"
done

step "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps -q

step "all checks passed"
