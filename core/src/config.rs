//! Gateway configuration and the limits of SPEC §8, all with the specified defaults.

use crate::secret::{Token, TokenHash};

/// Bounds on input and memory. Every one is enforced with a clear error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Pending requests in total.
    pub max_pending: usize,
    /// Pending requests made by node connections from one remote IP.
    pub max_pending_per_ip: usize,
    /// Longest `nodeId` after trimming.
    pub max_node_id_chars: usize,
    /// Longest other string.
    pub max_string_chars: usize,
    /// Most entries in `caps` or `commands`.
    pub max_list_entries: usize,
    /// Longest entry in `caps` or `commands`.
    pub max_list_entry_chars: usize,
    /// Largest frame after the handshake, in bytes (close 1009 beyond it).
    pub max_frame_bytes: usize,
    /// Largest frame before the handshake, in bytes (close 1009 beyond it).
    pub max_handshake_frame_bytes: usize,
    /// Failed verifies after which a node connection is closed.
    pub max_failed_verifies: u32,
    /// Connections from one IP that may be in the handshake at once.
    pub max_handshaking_per_ip: usize,
    /// Node connections open at once (`RATE_LIMITED` beyond): kept below the host's socket cap so that
    /// operators always find room.
    pub max_nodes: usize,
    /// Node connections open at once from one remote IP (`RATE_LIMITED` beyond).
    pub max_nodes_per_ip: usize,
    /// Advertised `policy.maxBufferedBytes`: what the host buffers for a slow reader before closing it.
    pub max_buffered_bytes: usize,
    /// Resolved request ids remembered for `details.reason`.
    pub resolved_memory: usize,
    /// Undelivered decisions held for offline nodes.
    pub mailbox_capacity: usize,
    /// New pairing requests one node (for a device: one key) may make at once.
    pub request_burst: u32,
    /// Then one new request per this many milliseconds (a retry reusing the pending request is free).
    pub request_interval_ms: u64,
    /// Nodes whose request rate is remembered.
    pub request_rate_memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pending: 512,
            max_pending_per_ip: 16,
            max_node_id_chars: 128,
            max_string_chars: 256,
            max_list_entries: 128,
            max_list_entry_chars: 128,
            max_frame_bytes: 256 * 1024,
            max_handshake_frame_bytes: 64 * 1024,
            max_failed_verifies: 10,
            max_handshaking_per_ip: 64,
            max_nodes: 16_384 - 64,
            max_nodes_per_ip: 512 - 64,
            max_buffered_bytes: 1024 * 1024,
            resolved_memory: 4096,
            mailbox_capacity: 4096,
            request_burst: 4,
            request_interval_ms: 15_000,
            request_rate_memory: 4096,
        }
    }
}

/// How many rotated operator tokens are remembered (by hash) to be refused as rotated.
pub const MAX_RETIRED: usize = 8;

/// Everything the gateway is told at start.
#[derive(Clone, Debug)]
pub struct Config {
    /// The operator token (`gateway.auth.token`).
    pub gateway_token: Token,
    /// The hashes of operator tokens rotated away, newest first (at most
    /// [`MAX_RETIRED`]): presenting one is refused as rotated rather than as a
    /// mismatch, and `connect.challenge` proves them too ([`crate::challenge`]).
    pub retired_operator_tokens: Vec<TokenHash>,
    /// How long a pending request lives (default 5 minutes).
    pub pending_ttl_ms: u64,
    /// `false` with `--no-pairing`: `node.pair.request` fails with `UNAVAILABLE`.
    pub pairing_enabled: bool,
    /// `--auto-approve-local`: devices connecting from 127.0.0.1 or ::1 are approved without a person
    /// (audited `approvedVia: "local"`). Off by default: loopback is not trusted.
    pub auto_approve_local: bool,
    /// How long a connection may take to finish the handshake.
    pub handshake_timeout_ms: u64,
    /// Interval of `tick` events.
    pub tick_interval_ms: u64,
    /// How long an approved token waits for an offline node.
    pub token_delivery_window_ms: u64,
    /// Allowed distance between a device proof's `signedAt` and the gateway clock.
    pub signature_skew_ms: u64,
    /// `server.version` in `hello-ok`.
    pub server_version: String,
    /// Input and memory bounds.
    pub limits: Limits,
    /// The WebSocket URLs a device can reach the gateway at, best first (`ws://127.0.0.1:18789` on a
    /// loopback bind, the LAN addresses with `--bind lan`): what a setup code carries unless the
    /// operator names one.
    pub public_urls: Vec<String>,
    /// The SHA-256 of the TLS certificate the gateway serves (generated or given), as 64 lower-case
    /// hex digits — the form OpenClaw normalises `--tls-fingerprint` to and setup codes carry as
    /// `tlsFingerprint`; `None` when the gateway serves plaintext. Set by the host, which owns the
    /// certificate; the core only hands it to clients that must pin it.
    pub tls_fingerprint: Option<String>,
}

/// How long an approval's token waits for a node that is offline at approval (SPEC §4: 10 minutes).
/// Public so an operator's client can say when the node gets its token.
pub const TOKEN_DELIVERY_WINDOW_MS: u64 = 600_000;

impl Config {
    /// The defaults of the specification, with the given operator token.
    pub fn new(gateway_token: Token) -> Self {
        Config {
            gateway_token,
            retired_operator_tokens: Vec::new(),
            pending_ttl_ms: 300_000,
            pairing_enabled: true,
            auto_approve_local: false,
            handshake_timeout_ms: 10_000,
            tick_interval_ms: 30_000,
            token_delivery_window_ms: TOKEN_DELIVERY_WINDOW_MS,
            signature_skew_ms: 120_000,
            server_version: env!("CARGO_PKG_VERSION").to_owned(),
            limits: Limits::default(),
            public_urls: Vec::new(),
            tls_fingerprint: None,
        }
    }
}
