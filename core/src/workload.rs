//! A seeded workload for the simulator: many nodes (honest, re-pairing, key-changing, impersonating,
//! flooding), OpenClaw-style devices (node hosts of protocol 4 and 3 that connect with the gateway token
//! or their device token, retry, reconnect, widen their commands) and operators (with different scopes,
//! approving, rejecting, removing, rotating and revoking) against one gateway, on a virtual clock, with
//! random disconnects, failed writes and crashes that lose whatever was not yet durable. After every
//! step the invariants of the product are checked; the first violation ends the run with the seed and
//! step.
//!
//! The run is a pure function of the seed: natively and in wasm it yields the same transcript hash.

mod actors;
mod invariants;
mod observe;

use crate::audit::Action;
use crate::proof::{self};
use crate::scopes;
use crate::{Config, ConnId, Gateway, MemoryStore, Method, Token, wire};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

const OPERATOR_TOKEN: &str = "workload-operator-token";
const START: u64 = 1_795_996_800_000;

/// What a finished run reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// Steps run.
    pub steps: usize,
    /// SHA-256 (hex) over every output in order: equal runs have equal hashes.
    pub transcript_hash: String,
    /// Approvals acknowledged.
    pub approvals: u64,
    /// Crashes survived.
    pub crashes: u64,
    /// Commits that failed (and were undone).
    pub failed_commits: u64,
    /// Frames sent by the gateway.
    pub frames: u64,
}

/// The first broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The seed that reproduces it.
    pub seed: u64,
    /// The step at which it was seen.
    pub step: usize,
    /// What was wrong.
    pub what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "seed {} step {}: {}", self.seed, self.step, self.what)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Honest,
    Impersonator,
    Flooder,
    /// An OpenClaw 2026.5+ node host: protocol 4, device pairing at connect, retries when told to.
    OpenClaw4,
    /// An OpenClaw 2026.4 node host: protocol 3, admitted to wait while its request is pending.
    OpenClaw3,
}

impl Kind {
    fn is_device(self) -> bool {
        matches!(self, Kind::OpenClaw4 | Kind::OpenClaw3)
    }
}

struct NodeActor {
    key: [u8; 32],
    id: String,
    ip: IpAddr,
    kind: Kind,
    conn: Option<ConnId>,
    /// The device token it was last handed in `hello-ok`, and when it was issued.
    device_token: Option<(String, u64)>,
}

struct OpActor {
    scopes: &'static [&'static str],
    conn: Option<ConnId>,
}

#[derive(Default, Clone, Copy)]
enum Role {
    #[default]
    Pending,
    Operator(usize),
    Node(usize),
}

struct Sim {
    rng: ChaCha20Rng,
    gw: Gateway<MemoryStore>,
    config: Config,
    now: u64,
    nodes: Vec<NodeActor>,
    ops: Vec<OpActor>,
    roles: BTreeMap<ConnId, Role>,
    challenges: BTreeMap<ConnId, String>,
    /// Tokens seen per node, with the request whose approval issued them.
    tokens: BTreeMap<String, Vec<(String, String)>>,
    /// The request of each node's latest acknowledged approval.
    latest_approval: BTreeMap<String, String>,
    /// Expiry of each request id last seen in a view.
    expiries: BTreeMap<String, u64>,
    /// Approve calls in flight: request id → (operator conn, request id param).
    approving: BTreeMap<String, (ConnId, String)>,
    last_seq: u64,
    /// Connections the clients closed this round: forgotten after the round's outputs are checked
    /// (the gateway may still address them while it runs timers before noticing the close).
    closing: Vec<ConnId>,
    next_id: u64,
    /// Method of each request id sent and not answered yet.
    methods: BTreeMap<String, Method>,
    /// Decisions acknowledged in this round's outputs: (action, requestId or nodeId).
    acknowledged: Vec<(Action, String)>,
    /// `seq`s of this round's broadcasts already counted.
    round_seqs: BTreeSet<u64>,
    /// The audit trail checked so far.
    chain: crate::audit::ChainCheck,
    /// Every device token handed out, per device, oldest first, with when it was issued.
    device_tokens: BTreeMap<String, Vec<(String, u64)>>,
    /// Device connections that sent their `connect` this round (their requests are the gateway's).
    device_connects: BTreeSet<ConnId>,
    hasher: Sha256,
    report: Report,
}

fn b(x: u64) -> bool {
    x != 0
}

impl Sim {
    fn new(seed: u64) -> Self {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&seed.to_le_bytes());
        let mut config = Config::new(Token::new(OPERATOR_TOKEN));
        config.pending_ttl_ms = 60_000;
        config.server_version = "sim".into();
        config.limits.max_pending = 24;
        config.limits.max_pending_per_ip = 4;
        config.limits.resolved_memory = 64;
        config.limits.mailbox_capacity = 16;
        let gw = Gateway::new(config.clone(), s, MemoryStore::new(), START).expect("memory store");
        let mut rng = ChaCha20Rng::from_seed(s);
        let kinds = [
            Kind::Honest,
            Kind::Honest,
            Kind::Honest,
            Kind::Impersonator,
            Kind::Flooder,
        ];
        let devices = [Kind::OpenClaw4, Kind::OpenClaw4, Kind::OpenClaw3];
        let nodes = (0..18)
            .map(|i| {
                let mut key = [0u8; 32];
                rng.fill_bytes(&mut key);
                NodeActor {
                    id: proof::device_id(&key),
                    key,
                    ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + (i % 3) as u8)),
                    kind: if i < 12 {
                        kinds[i % kinds.len()]
                    } else {
                        devices[i % devices.len()]
                    },
                    conn: None,
                    device_token: None,
                }
            })
            .collect();
        let scopes: [&'static [&'static str]; 4] = [
            &[scopes::ADMIN],
            &[scopes::PAIRING],
            &[scopes::PAIRING, scopes::WRITE],
            &[scopes::READ],
        ];
        let ops = scopes
            .iter()
            .map(|s| OpActor {
                scopes: s,
                conn: None,
            })
            .collect();
        Sim {
            rng,
            gw,
            config,
            now: START,
            nodes,
            ops,
            roles: BTreeMap::new(),
            challenges: BTreeMap::new(),
            tokens: BTreeMap::new(),
            latest_approval: BTreeMap::new(),
            expiries: BTreeMap::new(),
            approving: BTreeMap::new(),
            last_seq: 0,
            closing: Vec::new(),
            next_id: 0,
            methods: BTreeMap::new(),
            acknowledged: Vec::new(),
            round_seqs: BTreeSet::new(),
            chain: crate::audit::ChainCheck::from_genesis(),
            device_tokens: BTreeMap::new(),
            device_connects: BTreeSet::new(),
            hasher: Sha256::new(),
            report: Report {
                seed,
                steps: 0,
                transcript_hash: String::new(),
                approvals: 0,
                crashes: 0,
                failed_commits: 0,
                frames: 0,
            },
        }
    }

    fn roll(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n.max(1)
    }

    /// A request with the next id, remembered so its answer is read as `method`'s result.
    fn req<P: Serialize>(&mut self, method: Method, params: &P) -> String {
        self.next_id += 1;
        let id = self.next_id.to_string();
        self.methods.insert(id.clone(), method);
        wire::request_frame(&id, method.as_str(), params)
    }

    /// A request with the next id for a method this gateway does not implement (OpenClaw's own node
    /// methods, which real node hosts send): its answer is not read.
    fn req_foreign<P: Serialize>(&mut self, name: &str, params: &P) -> String {
        self.next_id += 1;
        wire::request_frame(&self.next_id.to_string(), name, params)
    }

    fn open(&mut self, ip: IpAddr, role: Role) -> Option<ConnId> {
        let conn = self.gw.open(self.now, ip).ok()?;
        self.roles.insert(conn, role);
        Some(conn)
    }

    fn send(&mut self, conn: ConnId, text: &str) {
        self.gw.frame(self.now, conn, text);
    }

    /// One random action, then one commit, then every output observed and checked.
    fn step(&mut self) -> Result<(), String> {
        match self.roll(100) {
            0..=9 => {
                self.now += 1 + self.roll(20_000);
                self.gw.wake(self.now);
            }
            10..=44 => self.node_action(),
            45..=84 => self.operator_action(),
            85..=87 => {
                let fails = 1 + self.roll(2) as u32;
                self.gw.store_mut().fail_next_commits(fails);
                // The action after a fault is an approval attempt, the interesting case.
                self.operator_action();
            }
            88 => return self.crash(),
            89..=91 => {
                // Garbage from some connection.
                if let Some(conn) = self.random_conn() {
                    let junk = [
                        "{",
                        "[]",
                        "{\"type\":\"req\"}",
                        "null",
                        "{\"type\":\"req\",\"id\":\"x\",\"method\":\"node.pair.approve\",\"params\":{\"requestId\":7}}",
                    ];
                    let j = junk[self.roll(junk.len() as u64) as usize];
                    self.send(conn, j);
                }
            }
            _ => {
                // A random disconnect.
                if let Some(conn) = self.random_conn() {
                    self.gw.closed(self.now, conn);
                    self.closing.push(conn);
                }
            }
        }
        self.commit_and_observe()
    }

    fn random_conn(&mut self) -> Option<ConnId> {
        let k = self.roll(self.roles.len() as u64 + 1) as usize;
        self.roles.keys().nth(k).copied()
    }

    fn forget(&mut self, conn: ConnId) {
        match self.roles.remove(&conn) {
            Some(Role::Node(i)) => self.nodes[i].conn = None,
            Some(Role::Operator(i)) => self.ops[i].conn = None,
            _ => {}
        }
        self.challenges.remove(&conn);
    }
}

/// The public key of a secret key, in the gateway's canonical form (base64url, unpadded).
fn public_key_of(secret: &[u8; 32]) -> String {
    let sk = ed25519_dalek::SigningKey::from_bytes(secret);
    base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        sk.verifying_key().to_bytes(),
    )
}

/// Runs `steps` random steps from `seed`, checking every invariant after each.
pub fn run(seed: u64, steps: usize) -> Result<Report, Violation> {
    let mut sim = Sim::new(seed);
    for step in 0..steps {
        sim.step().map_err(|what| Violation { seed, step, what })?;
        sim.report.steps = step + 1;
    }
    let mut report = sim.report.clone();
    let digest = sim.hasher.finalize();
    report.transcript_hash = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(report)
}

/// Transcript hashes of [`run`]`(seed, 200)` for a few seeds, checked by the native tests and by the
/// wasm tests in Node: both builds must produce exactly these bytes. Any intended change of behaviour
/// changes them; update them like a snapshot.
pub const REFERENCE_HASHES: [(u64, &str); 3] = [
    (
        1,
        "d90f47dab67572a13bb19f2e339a8a25a96bef622638f1a796be83b615cb893e",
    ),
    (
        2,
        "ad8f89c9f7a7a63bb81ffcc9b7a952098162f07e42bc56bcfde42b3111fecef5",
    ),
    (
        3,
        "e81003750158a4a17628289ca6301bac26a2bbdb463b9a2f6d90df367dc45d4b",
    ),
];

#[cfg(test)]
mod tests;
