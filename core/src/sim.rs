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

mod feed;

use crate::proof::{self};
use crate::protocol::{Challenge, HelloOk, NodeApproved, NodePending, PairResolved, RequestResult};
use crate::wire::Incoming;
use crate::{Config, ConnId, Event, Gateway, MemoryStore, Output, Token};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

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
                self.learn(conn, &text);
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

    /// Remembers challenges, request ids, codes and tokens seen in outputs, for `$…` references. A
    /// scenario may send any frame with any id, so an answer is read by the records it holds, not by
    /// the method that asked.
    fn learn(&mut self, conn: ConnId, text: &str) {
        match Incoming::parse(text) {
            Some(frame @ Incoming::Event { .. }) => self.learn_event(conn, &frame),
            Some(Incoming::Response { payload, error, .. }) => {
                if let Ok(r) = RequestResult::deserialize(&payload) {
                    self.learn_pending(&r.request);
                }
                if let (Ok(hello), Some(device)) =
                    (HelloOk::deserialize(&payload), self.devices.get(&conn))
                    && let Some(t) = hello.auth.device_token
                {
                    self.tokens.entry(device.clone()).or_default().push(t);
                }
                let details = error.map(|e| e.detail()).unwrap_or_default();
                if let (Some(id), Some(device)) = (&details.request_id, &details.device_id) {
                    let code = details.verification_code.as_deref();
                    self.learn_request(device, id, code);
                }
                if let Ok(approved) = NodeApproved::deserialize(&payload)
                    && let Some(t) = &approved.node.token
                {
                    self.learn_token(&approved.node.node_id.0, t.expose());
                }
            }
            None => {}
        }
    }

    fn learn_event(&mut self, conn: ConnId, frame: &Incoming) {
        let Incoming::Event { event, .. } = frame else {
            return;
        };
        match Event::parse(event) {
            Some(Event::ConnectChallenge) => {
                if let Some(c) = frame.payload_as::<Challenge>() {
                    self.challenges.insert(conn, c.nonce);
                }
            }
            Some(Event::NodePairRequested) => {
                if let Some(p) = frame.payload_as::<NodePending>() {
                    self.learn_pending(&p);
                }
            }
            Some(Event::NodePairResolved) => {
                if let Some(PairResolved {
                    node_id,
                    token: Some(t),
                    ..
                }) = frame.payload_as::<PairResolved>()
                {
                    self.learn_token(&node_id.0, t.expose());
                }
            }
            _ => {}
        }
    }

    fn learn_token(&mut self, node: &str, token: &str) {
        let list = self.tokens.entry(node.to_owned()).or_default();
        if list.last().map(String::as_str) != Some(token) {
            list.push(token.to_owned());
        }
    }

    fn learn_pending(&mut self, p: &NodePending) {
        // An operator-made request shows an empty code; `$code:` then names the empty string.
        let code = Some(p.verification_code.as_ref());
        self.learn_request(&p.node_id.0, &p.request_id.0, code);
    }

    fn learn_request(&mut self, node: &str, id: &str, code: Option<&str>) {
        let list = self.requests.entry(node.to_owned()).or_default();
        if list.last().map(String::as_str) != Some(id) {
            list.push(id.to_owned());
        }
        if let Some(code) = code {
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
}
