# Sourced by run.sh: the scenario tls-pin-2026.9.6 (issue 16, "TLS without ceremony").
#
# Our gateway runs `--bind lan` with no certificate: it generates its own and prints the fingerprint.
# The real `openclaw node run --tls --tls-fingerprint FP` of 2026.9.6 connects straight to it (no proxy:
# the proxy speaks plaintext) and pairs after our CLI approves it by code; a second node host pinned to
# a wrong fingerprint makes no request. Our CLI on the gateway's state directory finds the gateway
# over wss:// by itself (the fingerprint recorded in openclaw.json), so `ours` needs no flag.

# tls_node_host NAME FINGERPRINT: the real 9.6 `openclaw node run --tls --tls-fingerprint` to GW_PORT; NH_PID
tls_node_host() {
  local v=2026.9.6 name=$1 d="$S/$1"
  prep_client "$d"
  (
    client_env "$d" "$v"
    export OPENCLAW_GATEWAY_TOKEN="$TOKEN"
    exec timeout -k 5 600 "${node_bin[$v]}" "${oc_mjs[$v]}" node run --host 127.0.0.1 --port "$GW_PORT" \
      --tls --tls-fingerprint "$2" --display-name "$name"
  ) >>"$S/$name.log" 2>&1 &
  NH_PID=$!
  pids+=("$NH_PID")
}

tls_pin_scenario() {
  local fp wrong pid dev t0
  mkdir -p "$S/gateway/home" "$S/gateway/state"
  : >"$S/gateway.stdout"
  (
    export HOME="$S/gateway/home" OPENCLAW_STATE_DIR="$S/gateway/state" RUST_LOG=info
    exec timeout -k 5 900 "$ours_bin" gateway --bind lan --port 0
  ) >>"$S/gateway.stdout" 2>>"$S/gateway.log" &
  GW_PID=$!
  pids+=("$GW_PID")
  SCEN_LOGS=("$S/gateway.log")
  wait_until 20 grep -q '^TLS fingerprint (SHA-256): ' "$S/gateway.stdout" \
    || { fail "our gateway (--bind lan, no certificate) printed no TLS fingerprint within 20 s"; return 1; }
  fp=$(sed -n 's/^TLS fingerprint (SHA-256): \([0-9a-f]\{64\}\)$/\1/p' "$S/gateway.stdout" | tail -n 1)
  GW_PORT=$(grep -o '^Gateway: wss://127\.0\.0\.1:[0-9]*' "$S/gateway.stdout" | tail -n 1)
  GW_PORT=${GW_PORT##*:}
  : >"$S/gateway.stdout" # the page link carries the token
  [ ${#fp} -eq 64 ] && [ -n "$GW_PORT" ] \
    || { fail "no 64-hex fingerprint or wss:// port in what the gateway printed"; return 1; }
  TOKEN=$(q "d['gateway']['auth']['token']" "$S/gateway/state/openclaw.json") && [ -n "$TOKEN" ] \
    || { fail "no gateway.auth.token in the gateway's openclaw.json"; return 1; }
  pass "our gateway --bind lan generated its certificate and serves wss://127.0.0.1:$GW_PORT (fingerprint ${fp:0:16}…)"

  wrong=$(printf '%064d' 0)
  tls_node_host "tls-wrong-pin" "$wrong"
  t0=$EPOCHREALTIME
  tls_node_host "tls-real-node" "$fp"
  pid=$NH_PID
  SCEN_LOGS+=("$S/tls-real-node.log" "$S/tls-wrong-pin.log")
  wait_until 120 pending_of "tls-real-node" \
    || { fail "no request from the 9.6 node host pinned with --tls-fingerprint within 120 s" "$S/pending.json"; return 1; }
  dev=$REQ_NODE
  pass "the real 9.6 node host (--tls --tls-fingerprint) asked over wss:// after $(secs "$t0") s; our CLI listed it with no --url (code $REQ_CODE)"

  ours nodes approve "$REQ_CODE" || { fail "our \`openclaw nodes approve $REQ_CODE\` exited $?" "$OUT" "$ERR"; return 1; }
  wait_until 60 node_is "$dev" connected \
    || { fail "the pinned node host is not paired and connected 60 s after approval" "$S/status.json"; return 1; }
  exited "$pid" && { fail "the pinned node host process exited"; return 1; }
  pass "approved by code, it is paired and connected over wss:// (same process)"

  pending_json || { fail "our \`nodes pending --json\` failed" "$OUT" "$ERR"; return 1; }
  q "not any(p.get('displayName')=='tls-wrong-pin' for p in d)" "$S/pending.json" \
    || { fail "the node host pinned to a wrong fingerprint made a request" "$S/pending.json"; return 1; }
  grep -qi "fingerprint" "$S/tls-wrong-pin.log" \
    || { fail "the wrong-pin node host's log does not mention the fingerprint" "$S/tls-wrong-pin.log"; return 1; }
  pass "the node host pinned to a wrong fingerprint made no request (its log: $(grep -i -m1 -o '[^:]*fingerprint[^.]*' "$S/tls-wrong-pin.log" | head -c 80))"
}
