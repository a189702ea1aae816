//! The plan of one run, shared by its workers: where the gateway is, how many flows, which flow is
//! next, the errors so far.

use sha2::{Digest, Sha256};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Shared by the workers of one run.
pub(crate) struct Plan {
    /// The gateway's URL.
    pub url: String,
    /// The gateway token.
    pub token: String,
    /// Flows to run.
    pub flows: u64,
    /// Prefix of this run's node ids and keys.
    pub prefix: String,
    /// Loopback source addresses for nodes (0: 127.0.0.1 alone).
    pub sources: u16,
    /// Nodes also present the shared gateway token (OpenClaw's shared auth covers every role).
    pub node_token: bool,
    /// No flow is taken after this.
    pub deadline: Option<Instant>,
    /// The next flow's index.
    pub next: AtomicU64,
    /// Flows failed so far.
    pub errors: AtomicU64,
    /// OpenClaw: the gateway makes the node's request at connect; nodes may not call `node.pair.*`.
    pub gateway_made: AtomicBool,
}

impl Plan {
    /// A plan of `flows` flows with node ids `{prefix}-{i}`; nodes without the gateway token.
    pub(crate) fn new(
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

    /// The index of the next flow to run, or `None` when all are taken or the time is up.
    pub(crate) fn take(&self) -> Option<u64> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.flows).then_some(i)
    }

    /// Counts a failed flow; the first three are printed.
    pub(crate) fn error(&self, e: &anyhow::Error) {
        if self.errors.fetch_add(1, Ordering::Relaxed) < 3 {
            eprintln!("flow error: {e:#}");
        }
    }

    /// Flows taken (at most [`Plan::flows`]).
    pub(crate) fn done(&self) -> u64 {
        self.next.load(Ordering::Relaxed).min(self.flows)
    }

    /// Flows failed.
    pub(crate) fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// The local address for the `i`-th node: 127.0.0.1 with no `--sources`, else 127.0.0.2… .
    pub(crate) fn source(&self, i: u64) -> IpAddr {
        if self.sources == 0 {
            return IpAddr::V4(Ipv4Addr::LOCALHOST);
        }
        source_address(i % u64::from(self.sources))
    }

    /// A deterministic Ed25519 secret key per node of this run.
    pub(crate) fn node_key(&self, i: u64) -> [u8; 32] {
        Sha256::digest(format!("{}-{i}", self.prefix).as_bytes()).into()
    }
}

/// The `k`-th loopback source address: 127.0.0.2, 127.0.0.3, … (on past 127.0.0.255 into 127.0.1.x;
/// Linux routes all of 127.0.0.0/8 to the loopback interface).
pub(crate) fn source_address(k: u64) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x7f00_0002 + (k as u32 & 0x00ff_ffff)))
}
