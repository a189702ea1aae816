# Sourced by run.sh: the real OpenClaw 2026.9.6 node host pairing from one of our setup codes (issue #16).
#
# setup-code-2026.9.6: our `openclaw qr` issues a code (pointing at the logging proxy); the gateway
# restarts; `openclaw node run --pair oc-pair://CODE` — no gateway token, no approval — ends up paired and
# connected, recorded approvedVia "setup-code"; a second node host with the same code is refused and
# pairs nothing; our `keys list` shows the code used by the first; restarted without --pair, the first
# reconnects with the device token it got.

# pair_host NAME ARGS...: the real 9.6 `openclaw node run ARGS`, display name NAME, state in $S/NAME,
# with no gateway token in its environment; NH_PID
pair_host() {
  local name=$1 d="$S/$1"
  shift
  prep_client "$d"
  (
    client_env "$d" 2026.9.6
    exec timeout -k 5 600 "${node_bin[2026.9.6]}" "${oc_mjs[2026.9.6]}" node run --display-name "$name" "$@"
  ) >>"$S/$name.log" 2>&1 &
  NH_PID=$!
  pids+=("$NH_PID")
}
# named_is NAME STATE: like node_is, by display name (connected: paired and connected; unpaired)
named_is() {
  ours nodes status --json || return 1
  cp "$OUT" "$S/status.json"
  local n="first(x for x in d['nodes'] if x.get('displayName')=='$1')"
  case $2 in
    connected) q "$n is not None and $n.get('paired') is True and $n.get('connected') is True" "$S/status.json" ;;
    unpaired) q "$n is None or $n.get('paired') is not True" "$S/status.json" ;;
  esac
}

setup_code_scenario() {
  local name=real-node-setup second=real-node-setup-2 t0 pid code
  start_gateway && start_proxy || return 1
  SCEN_LOGS=("$S/gateway.log" "$S/$name.log" "$S/$second.log" "$S/frames.log")
  ours qr --public-url "ws://127.0.0.1:$PROXY_PORT" --setup-code-only \
    || { fail "our \`openclaw qr --setup-code-only\` exited $?" "$OUT" "$ERR"; return 1; }
  code=$(tr -d '\n' <"$OUT")
  [ -n "$code" ] || { fail "our \`openclaw qr --setup-code-only\` printed no code" "$ERR"; return 1; }
  pass "our \`openclaw qr --public-url ws://127.0.0.1:$PROXY_PORT --setup-code-only\` issued a setup code"

  stop "$GW_PID"
  start_gateway "$GW_PORT" || return 1
  pass "our gateway restarted on port $GW_PORT between issuing the code and its use"

  t0=$EPOCHREALTIME
  pair_host "$name" --pair "oc-pair://$code"
  pid=$NH_PID
  wait_until 60 named_is "$name" connected \
    || { fail "the 9.6 node host run with --pair is not paired and connected within 60 s" "$S/status.json"; return 1; }
  q "first(x for x in d['nodes'] if x.get('displayName')=='$name').get('approvedVia')=='setup-code'" "$S/status.json" \
    || { fail "the node paired by the setup code is not recorded approvedVia setup-code" "$S/status.json"; return 1; }
  pending_json && q "len(d) == 0" "$S/pending.json" \
    || { fail "a pending request exists after a setup-code pairing (it needs no approval)" "$S/pending.json"; return 1; }
  pass "\`openclaw@2026.9.6 node run --pair oc-pair://…\` (no token, no approval): paired and connected in $(secs "$t0") s, approvedVia setup-code"

  pair_host "$second" --pair "oc-pair://$code"
  wait_until 45 grep -q 'setup code was already used' "$S/frames.log" \
    || { fail "a second node host with the same code was not told it was already used within 45 s" "$S/$second.log"; return 1; }
  named_is "$second" unpaired \
    || { fail "a second node host paired with a used setup code" "$S/status.json"; return 1; }
  stop "$NH_PID"
  ours keys list --all --json || { fail "our \`openclaw keys list --all --json\` exited $?" "$OUT" "$ERR"; return 1; }
  q "d['enrollments'][0]['status']=='used-up' and d['enrollments'][0]['redeemedBy'][0]['displayName']=='$name'" "$OUT" \
    || { fail "\`keys list\` does not show the code used up by $name" "$OUT"; return 1; }
  pass "a second node host with the same code is refused (\"already used\") and not paired; \`keys list\` shows it used by $name"

  stop "$pid"
  t0=$EPOCHREALTIME
  pair_host "$name" --host 127.0.0.1 --port "$PROXY_PORT"
  wait_until 60 named_is "$name" connected \
    || { fail "restarted without --pair, the node host did not reconnect with its device token within 60 s" "$S/status.json"; return 1; }
  pass "restarted without --pair (and no token), it reconnects with the device token it was given in $(secs "$t0") s"
}
