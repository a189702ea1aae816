//! Loopback load generator: full pairing flows through a running gateway (ours or OpenClaw's).
//!
//! Modes (`--mode`):
//! - `operator` (default): each flow is three calls on one operator connection: `node.pair.request`
//!   for a fresh node id, `node.pair.approve`, and `node.pair.verify` with the token from the approve
//!   result. `C` connections run flows concurrently until `N` flows are done.
//! - `node`: each flow is a real node: a new socket, `connect` with an Ed25519 device proof,
//!   `node.pair.request` sent by the node itself, `node.pair.approve` by the worker's operator, the
//!   token delivered to the node (`node.pair.resolved`), the node's own `node.pair.verify`, close.
//!   Against OpenClaw 2026.4.12 a node may not call `node.pair.*` (operator scope only): the gateway
//!   itself creates the request while the node connects, so the operator waits for
//!   `node.pair.requested` for that node id, approves, and verifies with the token from the approve
//!   result. This is detected from the first refusal (`unauthorized role: node`) and reported as `node-gw`.
//! - `hold`: `N` nodes connect (Ed25519 proofs, `C` at a time) and stay connected; reports the
//!   gateway's RSS per connected node.
//! - `connect` (with `--spawn`): `N` devices paired through device pairing are written into the fresh
//!   gateway's state before it starts; each flow is one of them coming back as an OpenClaw 2026.9.6
//!   node host does (protocol 4, v3 proof, `--auth token` = the gateway token in `auth.token`, or
//!   `--auth device-token` = its device token in `auth.deviceToken`) until `hello-ok`, then closing;
//!   `C` at a time, from `--sources` addresses (default 32). See `load/devices.rs`.
//! - `storm`: the reconnect storm: `N` paired devices written into a fresh state directory, the
//!   gateway started on it (the restart), and all `N` come back at once from `--sources` loopback
//!   addresses (default 200) and stay connected; reports the time until every one is admitted, each
//!   connect's latency, 503 retries, the gateway's CPU and peak RSS.
//!
//! Operators always present a signed device identity like the OpenClaw CLI (client id `cli`, its
//! default scopes): OpenClaw clears the scopes of an operator without one. One key per run, so
//! OpenClaw pairs that device once (silently, loopback) on the first connection.
//!
//! Reports flows/s, p50/p95/p99 per call, errors, and the gateway's RSS (`/proc/<pid>/status`) and
//! CPU seconds (`/proc/<pid>/stat` utime+stime), summed over the process and its children, before and
//! after. `--json` adds one `RESULT {…}` line for scripts.
//!
//! ```text
//! load --url ws://127.0.0.1:18789/ --token T [--pid PID] [--mode operator|node|hold] [-c 32] [-n 5000]
//!      [--prefill 10000] [--sources K] [--time-limit SECS] [--label L] [--json]
//! load --spawn [-c 256] [-n 5000] [--prefill 1000] …    # one run against a fresh gateway it starts
//! load --spawn --mode connect [--auth token|device-token] [-c 32] [-n 10000] [--sources 32]
//! load --mode storm [--auth token|device-token] [-n 10000] [--sources 200] [--retry-ms 50] [--last-seen 3600]
//! load --matrix [--openclaw target/release/openclaw]     # spawns a fresh gateway per cell
//! ```

mod devices;
mod raw;

use anyhow::{Context, bail};
use pairing_tests::bench::{Device, NodeAuth};
use pairing_tests::client::{Client, WAIT, operator_device_params};
use pairing_tests::process::rss_kib;
use raw::RawSocket;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The scopes the OpenClaw CLI asks for (`CLI_DEFAULT_OPERATOR_SCOPES`).
const CLI_SCOPES: &[&str] = &[
    "operator.admin",
    "operator.read",
    "operator.write",
    "operator.approvals",
    "operator.pairing",
    "operator.talk.secrets",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Operator,
    Node,
    Hold,
    Connect,
    Storm,
}

struct Args {
    url: Option<String>,
    token: Option<String>,
    pid: Option<u32>,
    mode: Mode,
    connections: usize,
    flows: u64,
    prefill: u64,
    /// `None`: the mode's default (0 = 127.0.0.1 only; 32 for `connect`, 200 for `storm`).
    sources: Option<u16>,
    auth: NodeAuth,
    retry_ms: u64,
    /// `connect`, `storm`: how long ago the paired devices were last seen (ms).
    last_seen_ms: u64,
    time_limit: Option<f64>,
    label: Option<String>,
    json: bool,
    node_token: bool,
    matrix: bool,
    spawn: bool,
    openclaw: Option<String>,
}

const USAGE: &str = "usage: load --url URL --token T [--pid PID] [--mode operator|node|hold] [-c C] [-n N] [--prefill P]\n            [--sources K] [--time-limit SECS] [--label L] [--json] [--node-token]\n       load --spawn [--openclaw PATH] [same options as above, without --url/--token/--pid]\n       load --spawn --mode connect [--auth token|device-token] [-c C] [-n N] [--sources K] [--retry-ms MS] [--last-seen SECS]\n       load --mode storm [--auth token|device-token] [-n N] [--sources K] [--retry-ms MS] [--last-seen SECS] [--time-limit SECS]\n       load --matrix [--openclaw PATH]\n--spawn starts `openclaw gateway --port 0` on a fresh temporary state directory for this one run\n(the `openclaw` beside this binary unless --openclaw) and stops it afterwards.\n--mode connect: N paired devices are written into that state before the gateway starts; each flow is\none of them reconnecting as an OpenClaw 2026.9.6 node host (protocol 4, proof, --auth credential)\nuntil hello-ok, C at a time from K loopback addresses (default 32).\n--mode storm (always spawns): N paired devices written, the gateway started on them, all N reconnect\nat once from K loopback addresses (default 200; 503 answers retried after MS ms + jitter, default 50)\nand stay connected until every one is admitted (time limit default 60 s). Needs `ulimit -n` >= N + 256.\n--last-seen SECS: the devices were last seen that long before (default 3600: each admission then\nwrites the device's lastSeenAtMs, which the gateway does at most once a minute; 0: no write).";

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        url: None,
        token: None,
        pid: None,
        mode: Mode::Operator,
        connections: 32,
        flows: 5000,
        prefill: 0,
        sources: None,
        auth: NodeAuth::GatewayToken,
        retry_ms: 50,
        last_seen_ms: pairing_tests::bench::LAST_SEEN_AGO_MS,
        time_limit: None,
        label: None,
        json: false,
        node_token: false,
        matrix: false,
        spawn: false,
        openclaw: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().context("missing value");
        match arg.as_str() {
            "--url" => a.url = Some(val()?),
            "--token" => a.token = Some(val()?),
            "--pid" => a.pid = Some(val()?.parse()?),
            "--mode" => {
                a.mode = match val()?.as_str() {
                    "operator" => Mode::Operator,
                    "node" => Mode::Node,
                    "hold" => Mode::Hold,
                    "connect" => Mode::Connect,
                    "storm" => Mode::Storm,
                    other => bail!("unknown mode {other}"),
                }
            }
            "-c" | "--connections" => a.connections = val()?.parse()?,
            "-n" | "--flows" => a.flows = val()?.parse()?,
            "--prefill" => a.prefill = val()?.parse()?,
            "--sources" => a.sources = Some(val()?.parse()?),
            "--auth" => {
                let v = val()?;
                a.auth = NodeAuth::parse(&v)
                    .with_context(|| format!("--auth is token or device-token, not {v}"))?;
            }
            "--retry-ms" => a.retry_ms = val()?.parse()?,
            "--last-seen" => a.last_seen_ms = (val()?.parse::<f64>()? * 1000.0) as u64,
            "--time-limit" => a.time_limit = Some(val()?.parse()?),
            "--label" => a.label = Some(val()?),
            "--json" => a.json = true,
            "--node-token" => a.node_token = true,
            "--matrix" => a.matrix = true,
            "--spawn" => a.spawn = true,
            "--openclaw" => a.openclaw = Some(val()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    anyhow::ensure!(a.connections > 0, "-c must be at least 1");
    Ok(a)
}

/// The process and its descendants (OpenClaw's CLI may run the gateway in a child).
fn tree(pid: u32) -> Vec<u32> {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(pp) = stat_fields(p).and_then(|f| f.get(1).and_then(|s| s.parse().ok())) {
                parent_of.push((p, pp));
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        out.extend(
            parent_of
                .iter()
                .filter(|(_, pp)| *pp == cur)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    out
}

/// Fields of `/proc/<pid>/stat` after the command name: [state, ppid, …]; utime is index 11.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// RSS (KiB) and CPU seconds (utime + stime, at USER_HZ = 100) of a process tree.
#[derive(Clone, Copy, Debug, Default)]
struct Usage {
    rss_kib: u64,
    cpu_s: f64,
}

fn usage(pid: Option<u32>) -> Option<Usage> {
    let pid = pid?;
    let mut u = Usage::default();
    for p in tree(pid) {
        u.rss_kib += rss_kib(p).unwrap_or(0);
        if let Some(f) = stat_fields(p) {
            let ticks: u64 = f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
            u.cpu_s += ticks as f64 / 100.0;
        }
    }
    Some(u)
}

type Lat = BTreeMap<&'static str, Vec<u32>>;

fn pct(v: &[u32], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    f64::from(v[i]) / 1000.0
}

fn micros(t: Instant) -> u32 {
    u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX)
}

async fn timed(
    lat: &mut Lat,
    method: &'static str,
    call: impl std::future::Future<Output = anyhow::Result<Value>>,
) -> anyhow::Result<Value> {
    let t = Instant::now();
    let r = call.await;
    lat.entry(method).or_default().push(micros(t));
    r
}

struct Outcome {
    mode: &'static str,
    flows: u64,
    errors: u64,
    secs: f64,
    lat: Lat,
    held: u64,
    /// HTTP 503 answers retried (the modes that retry them).
    retries: Option<u64>,
}

/// Shared by the workers of one run.
struct Plan {
    url: String,
    token: String,
    flows: u64,
    prefix: String,
    sources: u16,
    /// Nodes also present the shared gateway token (OpenClaw's shared auth covers every role).
    node_token: bool,
    deadline: Option<Instant>,
    next: AtomicU64,
    errors: AtomicU64,
    /// OpenClaw: the gateway makes the node's request at connect; nodes may not call `node.pair.*`.
    gateway_made: AtomicBool,
}

impl Plan {
    fn take(&self) -> Option<u64> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.flows).then_some(i)
    }

    fn error(&self, e: &anyhow::Error) {
        if self.errors.fetch_add(1, Ordering::Relaxed) < 3 {
            eprintln!("flow error: {e:#}");
        }
    }

    /// The local address for the `i`-th node: 127.0.0.1 with no `--sources`, else 127.0.0.2… .
    fn source(&self, i: u64) -> IpAddr {
        if self.sources == 0 {
            return IpAddr::V4(Ipv4Addr::LOCALHOST);
        }
        source_address(i % u64::from(self.sources))
    }

    /// A deterministic Ed25519 secret key per node of this run.
    fn node_key(&self, i: u64) -> [u8; 32] {
        Sha256::digest(format!("{}-{i}", self.prefix).as_bytes()).into()
    }
}

/// The `k`-th loopback source address: 127.0.0.2, 127.0.0.3, … (on past 127.0.0.255 into 127.0.1.x;
/// Linux routes all of 127.0.0.0/8 to the loopback interface).
fn source_address(k: u64) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x7f00_0002 + (k as u32 & 0x00ff_ffff)))
}

/// Whether a text frame is an event, from its first bytes: our gateway and OpenClaw both serialise
/// `type` first. Anything else is parsed in full and judged by its `type` field.
fn looks_like_event(text: &[u8]) -> bool {
    text.starts_with(br#"{"type":"event""#)
}

/// An operator connection for the load generator. Every operator with pairing scopes receives every
/// `node.pair.requested`/`resolved` broadcast (2 × C frames per flow at C connections), and this
/// process shares the machine's cores with the gateway: while it waits for a response, events are
/// recognised by their first bytes and dropped unparsed. (The one event a flow waits for, OpenClaw's
/// `node.pair.requested` for the worker's own node, can only arrive after the worker's previous
/// calls are answered: the node connects after them.)
struct Operator {
    ws: RawSocket,
    next_id: u64,
}

impl Operator {
    /// Connects as an operator that proves a device identity like the OpenClaw CLI (client id `cli`,
    /// mode `cli`, a signed v3 `device` block over role, scopes and token): OpenClaw clears the scopes
    /// of an operator without one; our gateway accepts and ignores it.
    async fn connect(url: &str, token: &str, key: &[u8; 32]) -> anyhow::Result<Operator> {
        let ws = tokio::time::timeout(WAIT, RawSocket::connect(url))
            .await
            .context("connect timed out")??;
        let mut op = Operator { ws, next_id: 0 };
        let challenge = tokio::time::timeout(WAIT, op.ws.next_message())
            .await
            .context("no challenge within the wait")??;
        let challenge: Value = serde_json::from_slice(&op.ws.buf[challenge])?;
        let nonce = challenge["payload"]["nonce"]
            .as_str()
            .context("first frame is connect.challenge")?;
        let params = operator_device_params(token, CLI_SCOPES, key, nonce);
        let hello = op.request("connect", params).await?;
        anyhow::ensure!(hello["ok"] == true, "operator connect failed: {hello}");
        Ok(op)
    }

    /// Sends a request and returns its whole response frame; events meanwhile are dropped unparsed.
    /// One time limit for the whole exchange.
    async fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        self.next_id += 1;
        let id = self.next_id.to_string();
        let frame = json!({"type":"req","id":id,"method":method,"params":params});
        self.ws.send_text(&frame.to_string()).await?;
        let wait = async {
            loop {
                let m = self.ws.next_message().await?;
                let text = &self.ws.buf[m];
                if looks_like_event(text) {
                    continue;
                }
                let f: Value = serde_json::from_slice(text)?;
                if f["type"] == "res" && f["id"] == id.as_str() {
                    return Ok(f);
                }
            }
        };
        tokio::time::timeout(WAIT, wait)
            .await
            .with_context(|| format!("no response to {method} within the wait"))?
    }

    /// Sends a request and returns its payload, failing on an error response.
    async fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let f = self.request(method, params).await?;
        if f["ok"] != true {
            bail!("{method} failed: {}", f["error"]);
        }
        Ok(f["payload"].clone())
    }

    /// Waits for the first frame for which `matches` holds; only frames that contain `hint` are
    /// parsed.
    async fn event_where(
        &mut self,
        hint: &str,
        matches: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let wait = async {
            loop {
                let m = self.ws.next_message().await?;
                let text = &self.ws.buf[m];
                if text.windows(hint.len()).any(|w| w == hint.as_bytes()) {
                    let f: Value = serde_json::from_slice(text)?;
                    if matches(&f) {
                        return Ok(f);
                    }
                }
            }
        };
        tokio::time::timeout(WAIT, wait)
            .await
            .context("no matching event within the wait")?
    }
}

fn operator_key() -> [u8; 32] {
    let seed = format!(
        "load-operator-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    );
    Sha256::digest(seed.as_bytes()).into()
}

async fn operators(url: &str, token: &str, n: usize) -> anyhow::Result<Vec<Operator>> {
    let key = operator_key();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        // One after another: OpenClaw pairs the device on the first connection.
        out.push(Operator::connect(url, token, &key).await?);
    }
    Ok(out)
}

async fn operator_flow(c: &mut Operator, node: &str, lat: &mut Lat) -> anyhow::Result<()> {
    let method = "node.pair.request";
    let r = timed(lat, method, c.call(method, json!({"nodeId": node}))).await?;
    let method = "node.pair.approve";
    let params = json!({"requestId": r["request"]["requestId"]});
    let a = timed(lat, method, c.call(method, params)).await?;
    let method = "node.pair.verify";
    let params = json!({"nodeId": node, "token": a["node"]["token"]});
    let v = timed(lat, method, c.call(method, params)).await?;
    anyhow::ensure!(v["ok"] == true, "verify failed");
    Ok(())
}

/// Waits on `op` for the `node.pair.requested` event of `node_id`; drops the other nodes' events
/// (every worker's operator receives every broadcast, each worker waits only for its own node).
async fn requested_for(op: &mut Operator, node_id: &str) -> anyhow::Result<Value> {
    let matches =
        |e: &Value| e["event"] == "node.pair.requested" && e["payload"]["nodeId"] == node_id;
    let e = op.event_where(node_id, matches).await?;
    Ok(e["payload"].clone())
}

/// Connects the `i`-th node of the run with its Ed25519 proof (and the shared token with
/// `--node-token`, which the signature then covers too).
async fn connect_node(plan: &Plan, i: u64) -> anyhow::Result<Client> {
    use pairing_core::proof::{self, SignedFields};
    let key = plan.node_key(i);
    let mut c = Client::open_from(&plan.url, plan.source(i)).await?;
    let token = if plan.node_token {
        plan.token.as_str()
    } else {
        ""
    };
    let fields = SignedFields {
        token,
        ..SignedFields::node("node-host", "node", "linux", "")
    };
    let p = proof::sign(&key, &fields, pairing_host::driver::now_ms(), &c.nonce);
    let mut params = json!({"minProtocol":3,"maxProtocol":3,"role":"node","scopes":[],
        "client":{"id":"node-host","version":"1","platform":"linux","mode":"node","displayName":format!("bench {i}")},
        "device":{"id":p.id,"publicKey":p.public_key,"signature":p.signature,"signedAt":p.signed_at,"nonce":p.nonce}});
    if plan.node_token {
        params["auth"] = json!({ "token": token });
    }
    let hello = c.request("connect", params).await?;
    anyhow::ensure!(hello["ok"] == true, "node connect failed: {hello}");
    Ok(c)
}

async fn node_flow(plan: &Plan, op: &mut Operator, i: u64, lat: &mut Lat) -> anyhow::Result<()> {
    let key = plan.node_key(i);
    let node_id = pairing_core::proof::device_id(&key);
    let t = Instant::now();
    let mut node = connect_node(plan, i).await?;
    lat.entry("connect").or_default().push(micros(t));
    if !plan.gateway_made.load(Ordering::Relaxed) {
        let method = "node.pair.request";
        match timed(lat, method, node.call(method, json!({"nodeId": node_id}))).await {
            Ok(r) => {
                let method = "node.pair.approve";
                let params = json!({"requestId": r["request"]["requestId"]});
                let a = timed(lat, method, op.call(method, params)).await?;
                anyhow::ensure!(a["node"].get("token").is_none(), "token leaked to operator");
                let t = Instant::now();
                let resolved = node.event("node.pair.resolved").await?;
                lat.entry("token to node").or_default().push(micros(t));
                let token = resolved["payload"]["token"].clone();
                let method = "node.pair.verify";
                let params = json!({"nodeId": node_id, "token": token});
                let v = timed(lat, method, node.call(method, params)).await?;
                anyhow::ensure!(v["ok"] == true, "verify failed");
                return Ok(());
            }
            Err(e)
                if ["missing scope", "unauthorized role"]
                    .iter()
                    .any(|m| format!("{e:#}").contains(m)) =>
            {
                lat.remove("node.pair.request");
                plan.gateway_made.store(true, Ordering::Relaxed);
            }
            Err(e) => return Err(e),
        }
    }
    // OpenClaw: the request was made by the gateway during connect.
    let t = Instant::now();
    let req = requested_for(op, &node_id).await?;
    lat.entry("requested event").or_default().push(micros(t));
    let method = "node.pair.approve";
    let params = json!({"requestId": req["requestId"]});
    let a = timed(lat, method, op.call(method, params)).await?;
    let method = "node.pair.verify";
    let params = json!({"nodeId": node_id, "token": a["node"]["token"]});
    let v = timed(lat, method, op.call(method, params)).await?;
    anyhow::ensure!(v["ok"] == true, "verify failed");
    drop(node);
    Ok(())
}

async fn run(plan: Arc<Plan>, mode: Mode, connections: usize) -> anyhow::Result<Outcome> {
    let ops = if mode == Mode::Hold {
        Vec::new()
    } else {
        operators(&plan.url, &plan.token, connections).await?
    };
    let held = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    let mut ops = ops.into_iter();
    for _ in 0..connections {
        let mut op = ops.next();
        let (plan, held) = (plan.clone(), held.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Lat::new();
            while let Some(i) = plan.take() {
                let r = match (mode, op.as_mut()) {
                    (Mode::Operator, Some(op)) => {
                        operator_flow(op, &format!("{}-{i}", plan.prefix), &mut lat).await
                    }
                    (Mode::Node, Some(op)) => node_flow(&plan, op, i, &mut lat).await,
                    _ => {
                        let t = Instant::now();
                        match connect_node(&plan, i).await {
                            Ok(c) => {
                                lat.entry("connect").or_default().push(micros(t));
                                held.lock().expect("not poisoned").push(c);
                                Ok(())
                            }
                            Err(e) => Err(e),
                        }
                    }
                };
                if let Err(e) = r {
                    plan.error(&e);
                }
            }
            lat
        }));
    }
    let mut lat = Lat::new();
    for t in tasks {
        for (k, v) in t.await? {
            lat.entry(k).or_default().extend(v);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    for v in lat.values_mut() {
        v.sort_unstable();
    }
    let held_n = {
        let mut held = held.lock().expect("not poisoned");
        let n = held.len() as u64;
        // Held sockets stay open until the caller has read the gateway's RSS.
        HELD.lock().expect("not poisoned").extend(held.drain(..));
        n
    };
    let done = plan.next.load(Ordering::Relaxed).min(plan.flows);
    Ok(Outcome {
        mode: match mode {
            Mode::Operator => "operator",
            Mode::Node if plan.gateway_made.load(Ordering::Relaxed) => "node-gw",
            Mode::Node => "node",
            Mode::Hold => "hold",
            Mode::Connect | Mode::Storm => unreachable!("devices::connect_cell, devices::storm"),
        },
        flows: done,
        errors: plan.errors.load(Ordering::Relaxed),
        secs,
        lat,
        held: held_n,
        retries: None,
    })
}

static HELD: Mutex<Vec<Client>> = Mutex::new(Vec::new());

fn plan(
    url: &str,
    token: &str,
    flows: u64,
    prefix: &str,
    sources: u16,
    time_limit: Option<f64>,
) -> Arc<Plan> {
    Arc::new(Plan {
        url: url.to_owned(),
        token: token.to_owned(),
        flows,
        prefix: prefix.to_owned(),
        sources,
        node_token: false,
        deadline: time_limit.map(|s| Instant::now() + Duration::from_secs_f64(s)),
        next: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        gateway_made: AtomicBool::new(false),
    })
}

fn report(label: &str, o: &Outcome, before: Option<Usage>, after: Option<Usage>, as_json: bool) {
    let ok = o.flows.saturating_sub(o.errors);
    let rate = ok as f64 / o.secs;
    let rss =
        |u: Option<Usage>| u.map_or("?".into(), |u| format!("{:.1}", u.rss_kib as f64 / 1024.0));
    let cpu = match (before, after) {
        (Some(b), Some(a)) => format!("{:.2}", a.cpu_s - b.cpu_s),
        _ => "?".into(),
    };
    let mut line = format!(
        "{label:<28} {:<8} {ok:>6} ok in {:>6.2} s = {rate:>8.1}/s  errors {}  RSS {} → {} MiB  CPU {cpu} s",
        o.mode,
        o.secs,
        o.errors,
        rss(before),
        rss(after),
    );
    if o.mode == "hold"
        && let (Some(b), Some(a)) = (before, after)
    {
        let per = (a.rss_kib.saturating_sub(b.rss_kib)) as f64 / o.held.max(1) as f64;
        line.push_str(&format!("  held {} → {per:.1} KiB/conn", o.held));
    }
    if let Some(r) = o.retries {
        line.push_str(&format!("  503 retries {r}"));
    }
    println!("{line}");
    let mut methods = serde_json::Map::new();
    for (k, v) in &o.lat {
        println!(
            "    {k:<20} n {:>6}  p50 {:>8.2}  p95 {:>8.2}  p99 {:>8.2} ms",
            v.len(),
            pct(v, 0.5),
            pct(v, 0.95),
            pct(v, 0.99)
        );
        methods.insert(
            (*k).to_owned(),
            json!({"n": v.len(), "p50": pct(v, 0.5), "p95": pct(v, 0.95), "p99": pct(v, 0.99)}),
        );
    }
    if as_json {
        let mut j = json!({
            "label": label, "mode": o.mode, "ok": ok, "errors": o.errors, "secs": o.secs,
            "rate": rate, "held": o.held, "methods": methods,
            "rss_before_kib": before.map(|u| u.rss_kib), "rss_after_kib": after.map(|u| u.rss_kib),
            "cpu_before_s": before.map(|u| u.cpu_s), "cpu_after_s": after.map(|u| u.cpu_s),
        });
        if let Some(r) = o.retries {
            j["retries"] = json!(r);
        }
        println!("RESULT {j}");
    }
}

struct Spawned {
    child: Child,
    url: String,
    token: String,
    _state: tempfile::TempDir,
}

impl Drop for Spawned {
    /// The gateway never outlives its run, even when the run fails.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_gateway(openclaw: &str) -> anyhow::Result<Spawned> {
    spawn_gateway_in(openclaw, tempfile::tempdir()?)
}

/// Starts `openclaw gateway --port 0` on `state` (which may hold state already) and returns once it
/// printed its URL, i.e. once it has loaded the state and listens.
fn spawn_gateway_in(openclaw: &str, state: tempfile::TempDir) -> anyhow::Result<Spawned> {
    let mut child = Command::new(openclaw)
        .args(["gateway", "--port", "0"])
        .env("OPENCLAW_STATE_DIR", state.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {openclaw}"))?;
    let stdout = child.stdout.take().context("stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    // Keep reading the gateway's stdout so it never writes into a closed pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(i) = line.find("ws://") {
                let _ = tx.send(line[i..].split_whitespace().next().unwrap_or("").to_owned());
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(20)).ok();
    let url = url.context("the gateway printed no ws:// URL")?;
    let token = pairing_host::gateway_config::read(state.path())?
        .and_then(|g| g.token)
        .context("no token in openclaw.json")?;
    Ok(Spawned {
        child,
        url,
        token,
        _state: state,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut a = parse_args()?;
    let openclaw = a.openclaw.clone().unwrap_or_else(|| {
        let exe = std::env::current_exe().expect("own path");
        exe.with_file_name("openclaw").display().to_string()
    });
    if a.matrix {
        println!(
            "full flows (request → approve → verify) through `openclaw gateway` with the file store, fresh state per row"
        );
        for (paired, c) in [(100u64, 1usize), (100, 32), (10_000, 1), (10_000, 32)] {
            let g = spawn_gateway(&openclaw)?;
            let p = plan(&g.url, &g.token, paired, "prefill", 0, None);
            run(p, Mode::Operator, 32).await?;
            let pid = Some(g.child.id());
            let before = usage(pid);
            let flows = if c == 1 { 1000 } else { 5000 };
            let p = plan(&g.url, &g.token, flows, "bench", 0, None);
            let o = run(p, Mode::Operator, c).await?;
            report(
                &format!("paired {paired:>6}, C={c:<3}"),
                &o,
                before,
                usage(pid),
                a.json,
            );
            drop(g);
        }
        return Ok(());
    }
    let sources = a.sources.unwrap_or(match a.mode {
        Mode::Connect => 32,
        Mode::Storm => 200,
        _ => 0,
    });
    if a.mode == Mode::Storm {
        return devices::storm(&devices::Storm {
            devices: a.flows,
            sources,
            auth: a.auth,
            retry: Duration::from_millis(a.retry_ms),
            last_seen_ms: a.last_seen_ms,
            time_limit: Duration::from_secs_f64(a.time_limit.unwrap_or(60.0)),
            openclaw,
            label: a.label.clone(),
            json: a.json,
        })
        .await;
    }
    if a.mode == Mode::Connect {
        anyhow::ensure!(
            a.spawn && a.prefill == 0,
            "--mode connect needs --spawn (its paired devices are written into the gateway's state \
             before it starts) and no --prefill"
        );
    }
    // With --spawn the gateway lives until the end of main (dropped there, then killed).
    let mut spawned = None;
    let mut paired_devices = None;
    if a.spawn {
        let g = if a.mode == Mode::Connect {
            let d = Device::many("connect", a.flows.max(1));
            let state = tempfile::tempdir()?;
            let now = pairing_host::driver::now_ms();
            pairing_tests::bench::write_state(state.path(), &d, now, a.last_seen_ms)?;
            paired_devices = Some(Arc::new(d));
            spawn_gateway_in(&openclaw, state)?
        } else {
            spawn_gateway(&openclaw)?
        };
        a.url = Some(g.url.clone());
        a.token = Some(g.token.clone());
        a.pid = Some(g.child.id());
        spawned = Some(g);
    }
    let (Some(url), Some(token)) = (a.url.clone(), a.token.clone()) else {
        bail!("give --url and --token (or --matrix)\n{USAGE}");
    };
    // Distinct ids per run, so a run against a gateway that already has state never collides.
    let run_id = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    if a.prefill > 0 {
        let p = plan(
            &url,
            &token,
            a.prefill,
            &format!("prefill-{run_id}"),
            0,
            None,
        );
        let o = run(p, Mode::Operator, 32).await?;
        eprintln!(
            "prefilled {} paired nodes in {:.1} s ({} errors)",
            o.flows, o.secs, o.errors
        );
    }
    let before = usage(a.pid);
    let p = plan(
        &url,
        &token,
        a.flows,
        &format!("bench-{run_id}"),
        sources,
        a.time_limit,
    );
    let p = Arc::new(Plan {
        node_token: a.node_token,
        ..Arc::into_inner(p).context("fresh plan")?
    });
    let o = match paired_devices {
        Some(d) => {
            let r = devices::Reconnect {
                url: url.clone(),
                gateway_token: token.clone(),
                auth: a.auth,
                retry: Duration::from_millis(a.retry_ms),
            };
            devices::connect_cell(p, Arc::new(r), d, a.connections).await?
        }
        None => run(p, a.mode, a.connections).await?,
    };
    if a.mode == Mode::Hold {
        // Let the gateway settle (handshake buffers freed, allocator quiet) before reading its RSS.
        tokio::time::sleep(Duration::from_secs(2)).await;
    } else {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let after = usage(a.pid);
    let label = a
        .label
        .clone()
        .unwrap_or_else(|| format!("C={}", a.connections));
    report(&label, &o, before, after, a.json);
    HELD.lock().expect("not poisoned").clear();
    drop(spawned);
    Ok(())
}
