//! The command line of the load generator.

use clap::{Parser, ValueEnum};
use pairing_tests::bench::{LAST_SEEN_AGO_MS, NodeAuth};

/// What one flow is (see the binary's documentation).
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub(crate) enum Mode {
    /// Three calls on one operator connection: request, approve, verify.
    Operator,
    /// A real node: its own socket and device proof, the operator approves, the node verifies.
    Node,
    /// Nodes connect and stay connected; reports the gateway's RSS per connected node.
    Hold,
    /// Paired devices (written before the gateway starts) come back as OpenClaw node hosts.
    Connect,
    /// The reconnect storm: every paired device comes back at once after a restart.
    Storm,
}

const USAGE: &str = "load --url URL --token T [--pid PID] [--mode operator|node|hold] [-c C] [-n N] [--prefill P]
            [--sources K] [--time-limit SECS] [--label L] [--json] [--node-token]
       load --spawn [--openclaw PATH] [same options as above, without --url/--token/--pid]
       load --spawn --mode connect [--auth token|device-token] [-c C] [-n N] [--sources K] [--retry-ms MS] [--last-seen SECS]
       load --mode storm [--auth token|device-token] [-n N] [--sources K] [--retry-ms MS] [--last-seen SECS] [--time-limit SECS]
       load --matrix [--openclaw PATH]";

const AFTER_HELP: &str = "--spawn starts `openclaw gateway --port 0` on a fresh temporary state directory for this one run
(the `openclaw` beside this binary unless --openclaw) and stops it afterwards.
--mode connect: N paired devices are written into that state before the gateway starts; each flow is
one of them reconnecting as an OpenClaw 2026.9.6 node host (protocol 4, proof, --auth credential)
until hello-ok, C at a time from K loopback addresses (default 32).
--mode storm (always spawns): N paired devices written, the gateway started on them, all N reconnect
at once from K loopback addresses (default 200; 503 answers retried after MS ms + jitter, default 50)
and stay connected until every one is admitted (time limit default 60 s). Needs `ulimit -n` >= N + 256.
--last-seen SECS: the devices were last seen that long before (default 3600: each admission then
writes the device's lastSeenAtMs, which the gateway does at most once a minute; 0: no write).";

/// Loopback load generator: full pairing flows through a running gateway (ours or OpenClaw's).
///
/// Reports flows/s, p50/p95/p99 per call, errors, and the gateway's RSS and CPU seconds before and
/// after; `--json` adds one `RESULT {…}` line for scripts.
#[derive(Parser, Debug)]
#[command(name = "load", override_usage = USAGE, after_help = AFTER_HELP)]
pub(crate) struct Args {
    /// The gateway's WebSocket URL (ws://IP:PORT/); not with --spawn.
    #[arg(long, allow_hyphen_values = true)]
    pub url: Option<String>,
    /// The gateway token (operators present it; nodes too with --node-token).
    #[arg(long, allow_hyphen_values = true)]
    pub token: Option<String>,
    /// The gateway's process id, to read its RSS and CPU time (with its children).
    #[arg(long)]
    pub pid: Option<u32>,
    /// What one flow is.
    #[arg(long, value_enum, default_value_t = Mode::Operator)]
    pub mode: Mode,
    /// Concurrent connections (workers), at least 1.
    #[arg(short = 'c', long, default_value_t = 32, value_parser = at_least_one)]
    pub connections: usize,
    /// Flows to run (devices, for --mode connect and storm).
    #[arg(short = 'n', long, default_value_t = 5000)]
    pub flows: u64,
    /// Nodes to pair (operator flows) before the measured run.
    #[arg(long, default_value_t = 0)]
    pub prefill: u64,
    /// Loopback source addresses for the nodes (127.0.0.2…); default 127.0.0.1 alone, 32 for
    /// `connect`, 200 for `storm`.
    #[arg(long, value_name = "K")]
    pub sources: Option<u16>,
    /// The credential a reconnecting device presents: token or device-token.
    #[arg(long, default_value = "token", value_parser = parse_auth)]
    pub auth: NodeAuth,
    /// Wait (ms, plus up to as much jitter) before retrying an HTTP 503 to the upgrade.
    #[arg(long = "retry-ms", value_name = "MS", default_value_t = 50)]
    pub retry_ms: u64,
    /// How long before the run (s) the paired devices were last seen (`connect`, `storm`).
    #[arg(long = "last-seen", value_name = "SECS", default_value_t = LAST_SEEN_AGO_MS as f64 / 1000.0)]
    pub last_seen: f64,
    /// Stop taking new flows after this many seconds (storm: its time limit, default 60).
    #[arg(long = "time-limit", value_name = "SECS")]
    pub time_limit: Option<f64>,
    /// The report's label (default `C=<connections>`).
    #[arg(long, allow_hyphen_values = true)]
    pub label: Option<String>,
    /// Add one `RESULT {…}` line of JSON.
    #[arg(long)]
    pub json: bool,
    /// Nodes present the shared gateway token too (OpenClaw's shared auth covers every role).
    #[arg(long = "node-token")]
    pub node_token: bool,
    /// The growth matrix: a fresh gateway per cell (100 and 10 000 paired, C = 1 and 32).
    #[arg(long)]
    pub matrix: bool,
    /// Start `openclaw gateway --port 0` on a fresh state directory for this run.
    #[arg(long)]
    pub spawn: bool,
    /// The gateway binary for --spawn, --matrix and storm (default: `openclaw` beside this binary).
    #[arg(long, value_name = "PATH")]
    pub openclaw: Option<String>,
}

impl Args {
    /// `--last-seen` in milliseconds.
    pub(crate) fn last_seen_ms(&self) -> u64 {
        (self.last_seen * 1000.0) as u64
    }

    /// `--sources`, or the mode's default (0 = 127.0.0.1 only).
    pub(crate) fn sources(&self) -> u16 {
        self.sources.unwrap_or(match self.mode {
            Mode::Connect => 32,
            Mode::Storm => 200,
            _ => 0,
        })
    }

    /// The gateway binary to start: `--openclaw`, or `openclaw` beside this binary.
    pub(crate) fn openclaw(&self) -> String {
        self.openclaw.clone().unwrap_or_else(|| {
            let exe = std::env::current_exe().expect("own path");
            exe.with_file_name("openclaw").display().to_string()
        })
    }
}

fn parse_auth(v: &str) -> Result<NodeAuth, String> {
    NodeAuth::parse(v).ok_or_else(|| format!("--auth is token or device-token, not {v}"))
}

fn at_least_one(v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(0) => Err("-c must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
