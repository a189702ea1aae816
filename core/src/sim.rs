//! The deterministic simulator: drives a [`Gateway`] over a [`MemoryStore`] from a scripted scenario
//! and records every frame in and out as a JSON transcript. Same scenario (and seed) ⇒ the same
//! transcript, byte for byte, natively and in wasm. The insta snapshots under `tests/fixtures` and the
//! browser's simulator export both run on it.
//!
//! A scenario is JSON: `{"description", "seed"?, "startMs"?, "config"?, "steps": [...]}` (`startMs`:
//! the clock at start, for frames recorded from real clients; `config` may set `gatewayToken`,
//! `autoApproveLocal`, `pendingTtlMs`, `pairingEnabled`, `handshakeTimeoutMs` and `limits`); its result is
//! `{description, transcript, store, storeCommits}` (`storeCommits`: successful store commits). Each
//! step is one round: its inputs are fed, the gateway commits once, the audit entries that commit made
//! durable are recorded (`{"at", "audit"}`), then every output. Steps:
//!
//! - `{"advance": MS}` moves the clock and wakes the gateway (expiry, ticks, deadlines);
//! - `{"open": NAME, "ip"?, "nonce"?}` opens a connection; `nonce` replaces its challenge with the one a
//!   recorded `connect` signed (replaying a real client's frames);
//! - `{"connect": NAME, "role"?, "scopes"?, "token"?, "auth"?, "client"?, "key"?, "tamper"?, "commands"?,
//!   "caps"?, "minProtocol"?, "maxProtocol"?}` sends a `connect` built for the last challenge; nodes sign
//!   (over `auth`'s credential, as OpenClaw clients do) with the key named `key` (default NAME);
//!   `tamper` changes the device block after signing (`nonce`, `signedAtOffset`, `id`, `publicKey`,
//!   `signature`, `omitDevice`, `signWithKey`);
//! - `{"call": NAME, "method", "params"?}` sends a request with the next id;
//! - `{"send": NAME, "frame": JSON}` and `{"sendText": NAME, "text": S}` send anything;
//! - `{"sendBytes": NAME, "size": N}` sends a frame of N bytes;
//! - `{"close": NAME}` ends the socket from the client side;
//! - `{"failCommits": N}` makes the next N store commits fail;
//! - `{"restart": true}` drops every connection and restarts the gateway from its store;
//! - `{"batch": [steps]}` feeds several steps' inputs, then commits once (group commit).
//!
//! Strings in params may name things by the harness's names: `$node:NAME` (the device id of key NAME),
//! `$req:NAME` (the latest request id seen for that node), `$req:NAME#K` (the K-th, from 0),
//! `$code:NAME` (the verification code of its latest request; `$code:NAME#K` the K-th distinct one) and `$token:NAME` (the latest token seen
//! for that node — from an approval, an approved event or `hello-ok.auth.deviceToken`; `$token:NAME#K`
//! the K-th, from 0). A NAME without a key stands for itself as a node id (a recorded device's id).
//!
//! `{"note": S}` records a comment in the transcript and feeds nothing.

use crate::proof::{self, SignedFields};
use crate::{Config, ConnId, Gateway, MemoryStore, Output, Token};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The operator token every scenario's gateway is configured with.
pub const GATEWAY_TOKEN: &str = "test-gateway-token";

/// The clock a scenario starts at (2026-11-24T00:00:00Z).
pub const START_MS: u64 = 1_795_996_800_000;

/// The deterministic Ed25519 secret key a scenario calls `name`.
pub fn key_named(name: &str) -> [u8; 32] {
    Sha256::digest(format!("openclaw-pairing test key {name}").as_bytes()).into()
}

/// Applies a scenario's `config` object to the defaults.
pub fn config_from(v: Option<&Value>) -> Config {
    let mut c = Config::new(Token::new(GATEWAY_TOKEN));
    c.server_version = "test".into();
    let Some(v) = v else { return c };
    if let Some(t) = v.get("gatewayToken").and_then(Value::as_str) {
        c.gateway_token = Token::new(t);
    }
    if let Some(x) = v.get("autoApproveLocal").and_then(Value::as_bool) {
        c.auto_approve_local = x;
    }
    let u = |k: &str| v.get(k).and_then(Value::as_u64);
    if let Some(x) = u("pendingTtlMs") {
        c.pending_ttl_ms = x;
    }
    if let Some(x) = v.get("pairingEnabled").and_then(Value::as_bool) {
        c.pairing_enabled = x;
    }
    if let Some(x) = u("handshakeTimeoutMs") {
        c.handshake_timeout_ms = x;
    }
    if let Some(l) = v.get("limits") {
        let n = |k: &str| l.get(k).and_then(Value::as_u64).map(|x| x as usize);
        let lim = &mut c.limits;
        if let Some(x) = n("maxPending") {
            lim.max_pending = x;
        }
        if let Some(x) = n("maxPendingPerIp") {
            lim.max_pending_per_ip = x;
        }
        if let Some(x) = n("maxHandshakingPerIp") {
            lim.max_handshaking_per_ip = x;
        }
        if let Some(x) = n("resolvedMemory") {
            lim.resolved_memory = x;
        }
        if let Some(x) = n("maxFailedVerifies") {
            lim.max_failed_verifies = x as u32;
        }
    }
    c
}

/// A running scenario.
pub struct Harness {
    gateway: Gateway<MemoryStore>,
    config: Config,
    seed: [u8; 32],
    start: u64,
    now: u64,
    conns: BTreeMap<String, ConnId>,
    names: BTreeMap<ConnId, String>,
    challenges: BTreeMap<ConnId, String>,
    requests: BTreeMap<String, Vec<String>>,
    codes: BTreeMap<String, Vec<String>>,
    tokens: BTreeMap<String, Vec<String>>,
    /// The device id each connection's `connect` claimed (to file `hello-ok.auth.deviceToken`).
    devices: BTreeMap<ConnId, String>,
    next_id: u64,
    transcript: Vec<Value>,
}

impl Harness {
    /// A fresh gateway with an empty store, its clock at [`START_MS`].
    pub fn new(config: Config, seed: [u8; 32]) -> Self {
        Self::starting_at(config, seed, START_MS)
    }

    /// A fresh gateway with an empty store, its clock at `start_ms` (recorded frames carry the times
    /// they were signed at).
    pub fn starting_at(config: Config, seed: [u8; 32], start_ms: u64) -> Self {
        let gateway = Gateway::new(config.clone(), seed, MemoryStore::new(), start_ms)
            .expect("memory store loads");
        Harness {
            gateway,
            config,
            seed,
            start: start_ms,
            now: start_ms,
            conns: BTreeMap::new(),
            names: BTreeMap::new(),
            challenges: BTreeMap::new(),
            requests: BTreeMap::new(),
            codes: BTreeMap::new(),
            tokens: BTreeMap::new(),
            devices: BTreeMap::new(),
            next_id: 1,
            transcript: Vec::new(),
        }
    }

    /// Runs a whole scenario value and returns `{description, transcript, store}`.
    pub fn run_scenario(scenario: &Value) -> Value {
        let seed_n = scenario.get("seed").and_then(Value::as_u64).unwrap_or(1);
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&seed_n.to_le_bytes());
        let start = scenario
            .get("startMs")
            .and_then(Value::as_u64)
            .unwrap_or(START_MS);
        let mut h = Harness::starting_at(config_from(scenario.get("config")), seed, start);
        for step in scenario["steps"].as_array().into_iter().flatten() {
            h.step(step);
        }
        json!({
            "description": scenario.get("description").cloned().unwrap_or(Value::Null),
            "transcript": h.transcript,
            "store": h.store_json(),
            "storeCommits": h.gateway.store().commits(),
        })
    }

    /// The gateway under test.
    pub fn gateway(&mut self) -> &mut Gateway<MemoryStore> {
        &mut self.gateway
    }

    /// The recorded transcript so far.
    pub fn transcript(&self) -> &[Value] {
        &self.transcript
    }

    /// The durable state as JSON (token hashes included: they are what the store holds).
    pub fn store_json(&self) -> Value {
        let snap = self.gateway.store().snapshot();
        json!({ "pending": snap.pending, "paired": snap.paired })
    }

    /// Runs one step as one round.
    pub fn step(&mut self, step: &Value) {
        self.feed(step);
        self.commit();
    }

    fn commit(&mut self) {
        let audited = self.gateway.store().audit().len();
        if let Err(e) = self.gateway.commit() {
            self.transcript
                .push(json!({ "at": self.at(), "commitFailed": e.to_string() }));
        }
        // The audit entries made durable with this round, before anything it reports goes out.
        let at = self.at();
        for e in &self.gateway.store().audit()[audited..] {
            let entry = json!({ "at": at, "audit": e });
            self.transcript.push(entry);
        }
        while let Some(out) = self.gateway.poll_output() {
            self.record(out);
        }
    }

    fn at(&self) -> u64 {
        self.now - self.start
    }

    fn name(&self, conn: ConnId) -> String {
        self.names
            .get(&conn)
            .cloned()
            .unwrap_or_else(|| conn.to_string())
    }

    fn record(&mut self, out: Output) {
        match out {
            Output::Send { conn, text } => {
                let frame: Value = serde_json::from_str(&text).expect("gateway sends JSON");
                self.learn(conn, &frame);
                let entry = json!({ "at": self.at(), "out": self.name(conn), "frame": frame });
                self.transcript.push(entry);
            }
            Output::Close { conn, code, reason } => {
                let entry = json!({ "at": self.at(), "close": self.name(conn), "code": code, "reason": reason });
                self.transcript.push(entry);
            }
            Output::Broadcast { .. } => unreachable!("poll_output expands broadcasts"),
        }
    }

    /// Remembers challenges, request ids, codes and tokens seen in outputs, for `$…` references.
    fn learn(&mut self, conn: ConnId, frame: &Value) {
        let payload = &frame["payload"];
        match frame["event"].as_str() {
            Some("connect.challenge") => {
                if let Some(n) = payload["nonce"].as_str() {
                    self.challenges.insert(conn, n.to_owned());
                }
            }
            Some("node.pair.requested") => self.learn_request(payload),
            _ => {}
        }
        if let Some(req) = payload.get("request") {
            self.learn_request(req);
        }
        if let (Some(t), Some(device)) = (
            payload["auth"]["deviceToken"].as_str(),
            self.devices.get(&conn),
        ) {
            let list = self.tokens.entry(device.clone()).or_default();
            list.push(t.to_owned());
        }
        let details = &frame["error"]["details"];
        if let (Some(id), Some(device)) =
            (details["requestId"].as_str(), details["deviceId"].as_str())
        {
            self.learn_request(&json!({
                "nodeId": device, "requestId": id, "verificationCode": details["verificationCode"],
            }));
        }
        let token_at = [
            (&payload["node"]["token"], &payload["node"]["nodeId"]),
            (&payload["token"], &payload["nodeId"]),
        ];
        for (token, node) in token_at {
            if let (Some(t), Some(n)) = (token.as_str(), node.as_str()) {
                let list = self.tokens.entry(n.to_owned()).or_default();
                if list.last().map(String::as_str) != Some(t) {
                    list.push(t.to_owned());
                }
            }
        }
    }

    fn learn_request(&mut self, req: &Value) {
        let (Some(node), Some(id)) = (req["nodeId"].as_str(), req["requestId"].as_str()) else {
            return;
        };
        let list = self.requests.entry(node.to_owned()).or_default();
        if list.last().map(String::as_str) != Some(id) {
            list.push(id.to_owned());
        }
        if let Some(code) = req["verificationCode"].as_str() {
            let codes = self.codes.entry(node.to_owned()).or_default();
            if codes.last().map(String::as_str) != Some(code) {
                codes.push(code.to_owned());
            }
        }
    }

    /// The node a name refers to in a map keyed by node id: the device id of key NAME if the map has
    /// it, else NAME itself (an operator-chosen node id).
    fn pick<'a, T>(map: &'a BTreeMap<String, T>, name: &str) -> Option<&'a T> {
        map.get(&proof::device_id(&key_named(name)))
            .or_else(|| map.get(name))
    }

    /// Replaces `$…` references in every string of a JSON value.
    fn resolve(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.resolve_str(s)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.resolve(x)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), self.resolve(x)))
                    .collect::<Map<_, _>>(),
            ),
            other => other.clone(),
        }
    }

    fn resolve_str(&self, s: &str) -> String {
        let Some((kind, rest)) = s.strip_prefix('$').and_then(|r| r.split_once(':')) else {
            return s.to_owned();
        };
        let (name, index) = match rest.split_once('#') {
            Some((n, i)) => (n, i.parse::<usize>().ok()),
            None => (rest, None),
        };
        let found = match kind {
            "node" => Some(proof::device_id(&key_named(name))),
            "req" => Self::pick(&self.requests, name).and_then(|l| match index {
                Some(i) => l.get(i).cloned(),
                None => l.last().cloned(),
            }),
            "code" => Self::pick(&self.codes, name).and_then(|l| match index {
                Some(i) => l.get(i).cloned(),
                None => l.last().cloned(),
            }),
            "token" => Self::pick(&self.tokens, name).and_then(|l| match index {
                Some(i) => l.get(i).cloned(),
                None => l.last().cloned(),
            }),
            _ => None,
        };
        found.unwrap_or_else(|| format!("<unresolved {s}>"))
    }

    fn feed(&mut self, step: &Value) {
        let conn_of = |h: &Self, key: &str| -> Option<(String, ConnId)> {
            let name = step.get(key)?.as_str()?.to_owned();
            let conn = h.conns.get(&name).copied()?;
            Some((name, conn))
        };
        if let Some(ms) = step.get("advance").and_then(Value::as_u64) {
            self.now += ms;
            self.transcript
                .push(json!({ "at": self.at(), "advance": ms }));
            self.gateway.wake(self.now);
        } else if let Some(name) = step.get("open").and_then(Value::as_str) {
            let text = step
                .get("ip")
                .and_then(Value::as_str)
                .unwrap_or("127.0.0.1");
            let Ok(ip) = text.parse::<IpAddr>() else {
                self.transcript.push(
                    json!({ "at": self.at(), "error": format!("not an IP address: {text}") }),
                );
                return;
            };
            match self.gateway.open(self.now, ip) {
                Ok(conn) => {
                    self.conns.insert(name.to_owned(), conn);
                    self.names.insert(conn, name.to_owned());
                    let mut entry = json!({ "at": self.at(), "open": name, "ip": ip.to_string() });
                    // Replaying a recorded `connect`: it signed the challenge of the gateway that
                    // recorded it, so this connection's challenge becomes that one.
                    if let Some(n) = step.get("nonce").and_then(Value::as_str) {
                        if let Some(c) = self.gateway.conns.get_mut(&conn) {
                            c.nonce = n.to_owned();
                        }
                        self.challenges.insert(conn, n.to_owned());
                        entry["challengeReplaced"] = json!(n);
                    }
                    self.transcript.push(entry);
                }
                Err(e) => self.transcript.push(
                    json!({ "at": self.at(), "open": name, "ip": ip.to_string(), "refused": e.to_string() }),
                ),
            }
        } else if step.get("connect").is_some() {
            if let Some((name, conn)) = conn_of(self, "connect") {
                let frame = self.connect_frame(&name, conn, step);
                self.send(&name, conn, frame);
            }
        } else if step.get("call").is_some() {
            if let Some((name, conn)) = conn_of(self, "call") {
                let id = self.next_id.to_string();
                self.next_id += 1;
                let mut frame = json!({ "type": "req", "id": id, "method": step["method"] });
                if let Some(p) = step.get("params") {
                    frame["params"] = self.resolve(p);
                }
                self.send(&name, conn, frame);
            }
        } else if step.get("send").is_some() {
            if let Some((name, conn)) = conn_of(self, "send") {
                let frame = self.resolve(&step["frame"]);
                self.send(&name, conn, frame);
            }
        } else if let Some((name, conn)) = conn_of(self, "sendText") {
            let text = step["text"].as_str().unwrap_or_default().to_owned();
            self.transcript
                .push(json!({ "at": self.at(), "in": name, "text": text }));
            self.gateway.frame(self.now, conn, &text);
        } else if let Some((name, conn)) = conn_of(self, "sendBytes") {
            let size = step["size"].as_u64().unwrap_or(0) as usize;
            let text = format!("\"{}\"", "x".repeat(size.saturating_sub(2)));
            self.transcript
                .push(json!({ "at": self.at(), "in": name, "bytes": text.len() }));
            self.gateway.frame(self.now, conn, &text);
        } else if let Some((name, conn)) = conn_of(self, "close") {
            self.transcript
                .push(json!({ "at": self.at(), "closed": name }));
            self.gateway.closed(self.now, conn);
        } else if let Some(text) = step.get("note").and_then(Value::as_str) {
            self.transcript
                .push(json!({ "at": self.at(), "note": text }));
        } else if let Some(n) = step.get("failCommits").and_then(Value::as_u64) {
            self.gateway.store_mut().fail_next_commits(n as u32);
            self.transcript
                .push(json!({ "at": self.at(), "failCommits": n }));
        } else if step.get("restart").is_some() {
            self.restart();
        } else if let Some(steps) = step.get("batch").and_then(Value::as_array) {
            for s in steps {
                self.feed(s);
            }
        } else {
            let shown: String = step.to_string().chars().take(200).collect();
            self.transcript.push(
                json!({ "at": self.at(), "error": format!("unknown scenario step: {shown}") }),
            );
        }
    }

    fn restart(&mut self) {
        let store = self.gateway.store().clone();
        self.gateway = Gateway::new(self.config.clone(), self.seed, store, self.now)
            .expect("memory store loads");
        self.conns.clear();
        self.names.clear();
        self.challenges.clear();
        self.devices.clear();
        self.transcript
            .push(json!({ "at": self.at(), "restart": true }));
    }

    fn send(&mut self, name: &str, conn: ConnId, frame: Value) {
        if frame["method"] == "connect"
            && let Some(d) = frame["params"]["device"]["id"].as_str()
        {
            self.devices.insert(conn, d.to_owned());
        }
        let text = frame.to_string();
        self.transcript
            .push(json!({ "at": self.at(), "in": name, "frame": frame }));
        self.gateway.frame(self.now, conn, &text);
    }

    fn connect_frame(&self, name: &str, conn: ConnId, step: &Value) -> Value {
        let role = step
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("operator");
        let id = self.next_connect_id(name);
        let mut params = if role == "node" {
            json!({
                "minProtocol": 3, "maxProtocol": 3, "role": "node", "scopes": [],
                "client": { "id": "node-host", "version": "1.0.0", "platform": "linux", "mode": "node", "displayName": name },
            })
        } else {
            json!({
                "minProtocol": 3, "maxProtocol": 3, "role": role,
                "scopes": ["operator.admin"],
                "client": { "id": "cli", "version": "1.0.0", "platform": "linux", "mode": "cli" },
                "auth": { "token": GATEWAY_TOKEN },
            })
        };
        for k in [
            "scopes",
            "minProtocol",
            "maxProtocol",
            "caps",
            "commands",
            "role",
        ] {
            if let Some(v) = step.get(k) {
                params[k] = v.clone();
            }
        }
        if let Some(Value::Object(c)) = step.get("client") {
            for (k, v) in c {
                params["client"][k] = v.clone();
            }
        }
        if let Some(t) = step.get("token") {
            if t.is_null() {
                params.as_object_mut().map(|m| m.remove("auth"));
            } else {
                params["auth"] = json!({ "token": t });
            }
        }
        if let Some(a) = step.get("auth") {
            params["auth"] = self.resolve(a);
        }
        if role == "node" {
            self.sign_into(name, conn, step, &mut params);
        }
        json!({ "type": "req", "id": id, "method": "connect", "params": params })
    }

    fn next_connect_id(&self, name: &str) -> String {
        format!("connect-{name}")
    }

    fn sign_into(&self, name: &str, conn: ConnId, step: &Value, params: &mut Value) {
        let tamper = step.get("tamper").cloned().unwrap_or(Value::Null);
        if tamper.get("omitDevice").is_some() {
            return;
        }
        let key_name = step.get("key").and_then(Value::as_str).unwrap_or(name);
        let signer = tamper
            .get("signWithKey")
            .and_then(Value::as_str)
            .unwrap_or(key_name);
        let nonce = self.challenges.get(&conn).cloned().unwrap_or_default();
        let signed_at = (self.now as i64
            + tamper
                .get("signedAtOffset")
                .and_then(Value::as_i64)
                .unwrap_or(0)) as u64;
        let scopes: Vec<String> = params["scopes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect();
        let str_of = |v: &Value| v.as_str().unwrap_or("").to_owned();
        let (client_id, mode) = (
            str_of(&params["client"]["id"]),
            str_of(&params["client"]["mode"]),
        );
        let (platform, family) = (
            str_of(&params["client"]["platform"]),
            str_of(&params["client"]["deviceFamily"]),
        );
        // The signature covers the credential, as OpenClaw clients sign it.
        let auth = &params["auth"];
        let token = ["token", "deviceToken", "bootstrapToken"]
            .iter()
            .find_map(|k| auth[k].as_str())
            .unwrap_or("")
            .to_owned();
        let fields = SignedFields {
            client_id: &client_id,
            client_mode: &mode,
            role: "node",
            scopes: &scopes,
            token: &token,
            platform: &platform,
            device_family: &family,
        };
        let mut p = proof::sign(&key_named(signer), &fields, signed_at, &nonce);
        if signer != key_name {
            let honest = proof::sign(&key_named(key_name), &fields, signed_at, &nonce);
            p.id = honest.id;
            p.public_key = honest.public_key;
        }
        let mut device = json!({
            "id": p.id, "publicKey": p.public_key, "signature": p.signature,
            "signedAt": p.signed_at, "nonce": p.nonce,
        });
        for k in ["nonce", "id", "publicKey", "signature"] {
            if let Some(v) = tamper.get(k) {
                device[k] = v.clone();
            }
        }
        params["device"] = device;
    }
}
