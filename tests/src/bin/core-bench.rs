//! Benchmark of `pairing-core` alone: full pairing flows against the in-memory store.
//!
//! Two flows, each measured at 100 and at 10 000 already-paired nodes:
//! - **operator flow**: an operator requests pairing for a node, approves it, and verifies the token
//!   from the approve result (no Ed25519);
//! - **node flow**: a node opens a connection, proves its Ed25519 device key in `connect`, requests
//!   pairing, an operator approves, the node receives its token and verifies it, and disconnects.
//!
//! Only time spent inside the gateway is counted (each input, the commit, draining the outputs); the
//! client's own work (signing, building and parsing frames) is excluded. Every call runs as its own
//! round with one commit, the worst case for group commit.
//!
//! A third cell, the **OpenClaw-style node connect**: a device already paired through device pairing
//! (SPEC §11; its record as [`pairing_tests::bench`] writes it) comes back as an OpenClaw 2026.9.6
//! node host does: a new connection, the challenge, `connect` with protocol 4, role `node`, its v3
//! device proof and either the gateway token (`auth.token`) or its device token (`auth.deviceToken`),
//! answered `hello-ok`; then it disconnects. Every device of the store connects once, each admission
//! writing the device's `lastSeenAtMs` (an hour old), as after a gateway restart. Time inside the
//! gateway from `open` to the drained `hello-ok` is one connect's latency (p50/p95/p99); connects/s
//! also counts the close.
//!
//! Run: `cargo run --release -p pairing-tests --bin core-bench` (`--smoke` for a quick check,
//! `--connect-only` for the connect cells alone).

use pairing_core::proof::{self, SignedFields};
use pairing_core::protocol::{
    Challenge, ClientInfo, ConnectParams, DecideParams, HelloOk, NodeApproved, NodeVerified,
    PairResolved, RequestResult, VerifyParams,
};
use pairing_core::wire::{Incoming, request_frame};
use pairing_core::{
    Config, ConnId, Gateway, MemoryStore, Method, Output, Snapshot, Token, TokenHash,
};
use pairing_tests::bench::{Device, LAST_SEEN_AGO_MS, NodeAuth};
use pairing_tests::client::by_node;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-gateway-token";

struct Bench {
    gw: Gateway<MemoryStore>,
    now: u64,
    op: ConnId,
    next_id: u64,
    inside: Duration,
}

impl Bench {
    fn new() -> Self {
        Self::with_store(MemoryStore::new())
    }

    fn with_store(store: MemoryStore) -> Self {
        let mut config = Config::new(Token::new(TOKEN));
        config.limits.max_pending = 1_000_000;
        config.limits.max_pending_per_ip = 1_000_000;
        config.limits.max_handshaking_per_ip = 1_000_000;
        let now = 1_795_996_800_000;
        let gw = Gateway::new(config, [42; 32], store, now).expect("memory store");
        let mut b = Bench {
            gw,
            now,
            op: ConnId(0),
            next_id: 0,
            inside: Duration::ZERO,
        };
        b.op = b.open();
        let client = ClientInfo::new("cli", "cli", "1", "linux");
        let params = ConnectParams::operator(TOKEN, client, &["operator.admin"]);
        let hello = request_frame("c", Method::Connect.as_str(), &params);
        b.round(b.op, &hello);
        b
    }

    fn timed<T>(&mut self, f: impl FnOnce(&mut Gateway<MemoryStore>) -> T) -> T {
        let start = Instant::now();
        let out = f(&mut self.gw);
        self.inside += start.elapsed();
        out
    }

    /// Commits and drains; returns the frames sent (parsing them is client work, not timed).
    fn drain(&mut self) -> Vec<(ConnId, std::sync::Arc<str>)> {
        self.timed(|gw| {
            gw.commit().expect("memory store commits");
            let mut sent = Vec::new();
            while let Some(o) = gw.poll_output() {
                if let Output::Send { conn, text } = o {
                    sent.push((conn, text));
                }
            }
            sent
        })
    }

    fn open(&mut self) -> ConnId {
        let now = self.now;
        let conn = self.timed(|gw| {
            gw.open(now, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
                .expect("open")
        });
        self.drain();
        conn
    }

    fn round(&mut self, conn: ConnId, text: &str) -> Vec<(ConnId, std::sync::Arc<str>)> {
        let now = self.now;
        self.timed(|gw| gw.frame(now, conn, text));
        self.drain()
    }

    /// The next request frame: `method` with `params`.
    fn frame(&mut self, method: Method, params: &impl Serialize) -> (String, String) {
        self.next_id += 1;
        let id = self.next_id.to_string();
        let frame = request_frame(&id, method.as_str(), params);
        (id, frame)
    }

    /// One call on `conn`, its result read as `T` (client work, not timed).
    fn call<T: DeserializeOwned>(
        &mut self,
        conn: ConnId,
        method: Method,
        params: &impl Serialize,
    ) -> T {
        let (id, frame) = self.frame(method, params);
        let sent = self.round(conn, &frame);
        let answer = sent
            .iter()
            .filter(|(c, _)| *c == conn)
            .filter_map(|(_, t)| Incoming::parse(t))
            .find(|f| matches!(f, Incoming::Response { id: got, .. } if *got == id))
            .expect("a response");
        match answer {
            Incoming::Response {
                ok: true, payload, ..
            } => T::deserialize(payload).expect("the method's result"),
            other => panic!("{} failed: {other:?}", method.as_str()),
        }
    }

    fn operator_flow(&mut self, i: u64) {
        let node = format!("node-{i}");
        let r: RequestResult = self.call(self.op, Method::NodePairRequest, &by_node(&node));
        let params = DecideParams::by_id(r.request.request_id.as_str());
        let a: NodeApproved = self.call(self.op, Method::NodePairApprove, &params);
        let params = VerifyParams {
            node_id: node,
            token: a
                .node
                .token
                .map(|t| t.expose().to_owned())
                .unwrap_or_default(),
        };
        let v: NodeVerified = self.call(self.op, Method::NodePairVerify, &params);
        assert!(v.ok);
    }

    fn node_flow(&mut self, i: u64) {
        let key: [u8; 32] = {
            let mut k = [7u8; 32];
            k[..8].copy_from_slice(&i.to_le_bytes());
            k
        };
        let conn = {
            let now = self.now;
            self.timed(|gw| {
                gw.open(now, IpAddr::V4(Ipv4Addr::new(10, 1, 0, 1)))
                    .expect("open")
            })
        };
        let challenge = self.drain();
        let challenge: Challenge = Incoming::parse(&challenge[0].1)
            .and_then(|f| f.payload_as())
            .expect("connect.challenge");
        let fields = SignedFields::node("node-host", "node", "linux", "");
        let p = proof::sign(&key, &fields, self.now, &challenge.nonce);
        let node_id = p.id.clone();
        let client = ClientInfo::new("node-host", "node", "1", "linux");
        let params = ConnectParams {
            caps: None,
            commands: None,
            ..ConnectParams::node(client, p.into())
        };
        let hello = self.round(conn, &request_frame("c", Method::Connect.as_str(), &params));
        let admitted = Incoming::parse(&hello[0].1).and_then(|f| f.payload_as::<HelloOk>());
        assert!(admitted.is_some(), "{}", hello[0].1);
        let r: RequestResult = self.call(conn, Method::NodePairRequest, &by_node(&node_id));
        let params = DecideParams::by_id(r.request.request_id.as_str());
        let (_, frame) = self.frame(Method::NodePairApprove, &params);
        let sent = self.round(self.op, &frame);
        let token = sent
            .iter()
            .filter(|(c, _)| *c == conn)
            .filter_map(|(_, t)| Incoming::parse(t)?.payload_as::<PairResolved>())
            .find_map(|r| r.token)
            .expect("the node receives its token");
        let params = VerifyParams {
            node_id,
            token: token.expose().to_owned(),
        };
        let v: NodeVerified = self.call(conn, Method::NodePairVerify, &params);
        assert!(v.ok);
        let now = self.now;
        self.timed(|gw| gw.closed(now, conn));
        self.drain();
    }
}

fn measure(paired: u64, flows: u64, node_flow: bool) -> (f64, f64) {
    let mut b = Bench::new();
    for i in 0..paired {
        b.operator_flow(1_000_000 + i);
        b.now += 1;
    }
    b.inside = Duration::ZERO;
    for i in 0..flows {
        if node_flow {
            b.node_flow(i);
        } else {
            b.operator_flow(i);
        }
        b.now += 1;
    }
    let secs = b.inside.as_secs_f64();
    (flows as f64 / secs, secs * 1e9 / flows as f64)
}

/// Cost of the device-proof check alone, to say what bounds the node flow.
fn proof_check_ns() -> f64 {
    let fields = SignedFields::node("node-host", "node", "linux", "");
    let p = proof::sign(&[3; 32], &fields, 1000, "nonce");
    let n = 2000;
    let start = Instant::now();
    for _ in 0..n {
        proof::verify(&p, &fields, "nonce", 1000, 120_000).expect("valid proof");
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(n)
}

/// The OpenClaw-style node connect cell: `paired` devices in the store, each comes back once with
/// `auth`. Returns connects/s (open → hello-ok → close, time inside the gateway) and each connect's
/// latency (open → drained hello-ok) in ns, sorted.
fn connect_cell(paired: u64, auth: NodeAuth) -> (f64, Vec<u64>) {
    let devices = Device::many("core-bench", paired);
    let now = 1_795_996_800_000;
    let snapshot = Snapshot {
        paired: devices
            .iter()
            .map(|d| d.record(now, LAST_SEEN_AGO_MS))
            .collect(),
        ..Snapshot::default()
    };
    let mut b = Bench::with_store(MemoryStore::with(snapshot));
    assert_eq!(b.now, now);
    b.inside = Duration::ZERO;
    let mut lat = Vec::with_capacity(devices.len());
    for (i, d) in devices.iter().enumerate() {
        let before = b.inside;
        let ip = IpAddr::V4(Ipv4Addr::new(10, 2, (i / 250) as u8, 1 + (i % 250) as u8));
        let conn = {
            let now = b.now;
            b.timed(|gw| gw.open(now, ip).expect("open"))
        };
        let challenge = b.drain();
        let challenge: Challenge = Incoming::parse(&challenge[0].1)
            .and_then(|f| f.payload_as())
            .expect("connect.challenge");
        let frame = d.connect_frame("c", auth, TOKEN, &challenge.nonce, b.now);
        let sent = b.round(conn, &frame);
        let connected = b.inside;
        let hello = sent
            .iter()
            .find(|(c, _)| *c == conn)
            .map(|(_, t)| t.to_string())
            .expect("an answer to connect");
        let admitted = Incoming::parse(&hello).and_then(|f| f.payload_as::<HelloOk>());
        let admitted = admitted.unwrap_or_else(|| panic!("not admitted: {hello}"));
        assert!(
            admitted.auth.device_token.is_none(),
            "no new token is issued: {hello}"
        );
        lat.push((connected - before).as_nanos() as u64);
        let now = b.now;
        b.timed(|gw| gw.closed(now, conn));
        b.drain();
        b.now += 1;
    }
    let rate = devices.len() as f64 / b.inside.as_secs_f64();
    lat.sort_unstable();
    (rate, lat)
}

/// Cost of a device token check alone: SHA-256 of the presented token and a constant-time compare.
fn token_check_ns() -> f64 {
    let d = Device::new("token-check", 0);
    let stored = TokenHash::of(&d.token);
    let n = 20_000;
    let start = Instant::now();
    for _ in 0..n {
        assert!(stored.matches(std::hint::black_box(&d.token)));
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(n)
}

fn connect_cells(smoke: bool) {
    let paired: u64 = if smoke { 100 } else { 10_000 };
    println!(
        "OpenClaw-style node connect of a paired device (protocol 4, Ed25519 proof, credential), each of the paired devices once"
    );
    println!(
        "{:<14} {:>8} {:>11} {:>9} {:>9} {:>9}",
        "auth", "paired", "connects/s", "p50 µs", "p95 µs", "p99 µs"
    );
    for auth in NodeAuth::ALL {
        let (rate, lat) = connect_cell(paired, auth);
        let p = |q: f64| lat[((lat.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
        println!(
            "{:<14} {paired:>8} {rate:>11.0} {:>9.1} {:>9.1} {:>9.1}",
            auth.name(),
            p(0.5),
            p(0.95),
            p(0.99)
        );
    }
    println!(
        "device token check alone (SHA-256 + constant-time compare): {:.0} ns",
        token_check_ns()
    );
}

/// Benchmark of `pairing-core` alone: full pairing flows and OpenClaw-style node connects against the
/// in-memory store, counting only the time spent inside the gateway.
#[derive(clap::Parser, Debug)]
#[command(name = "core-bench")]
struct Args {
    /// A quick check with tiny sizes (the test script runs it), not a measurement.
    #[arg(long)]
    smoke: bool,
    /// The node connect cells alone.
    #[arg(long = "connect-only")]
    connect_only: bool,
}

fn main() {
    let args = <Args as clap::Parser>::parse();
    let smoke = args.smoke;
    if args.connect_only {
        connect_cells(smoke);
        return;
    }
    let (sizes, flows): (&[u64], u64) = if smoke {
        (&[10, 100], 50)
    } else {
        (&[100, 10_000], 20_000)
    };
    println!("pairing-core benchmark: full flows, in-memory store, one commit per call");
    println!(
        "{:<54} {:>8} {:>10} {:>10}",
        "flow", "paired", "flows/s", "ns/flow"
    );
    for (label, node) in [
        ("operator: request → approve → verify", false),
        ("node: connect (Ed25519) → request → approve → verify", true),
    ] {
        let mut per_flow = Vec::new();
        for &paired in sizes {
            let n = if node { flows / 4 } else { flows };
            let (rate, ns) = measure(paired, n, node);
            per_flow.push(ns);
            println!("{label:<54} {paired:>8} {rate:>10.0} {ns:>10.0}");
        }
        if let [small, large] = per_flow[..] {
            println!(
                "{label:<54} growth {}→{}: {:.2}×",
                sizes[0],
                sizes[1],
                large / small
            );
        }
    }
    println!(
        "device proof check alone (Ed25519 verify_strict + SHA-256 id): {:.0} ns",
        proof_check_ns()
    );
    connect_cells(smoke);
}
