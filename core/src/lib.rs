//! `pairing-core`: the whole brain of a gateway-owned node pairing system, with no I/O.
//!
//! A [`Gateway`] takes inputs — a socket opened, a text frame, a socket closed, a timer due — each with
//! the current time, and yields outputs — frames to send, sockets to close — plus the instant it must be
//! woken next. It never reads a clock, the OS RNG, a socket or a file: randomness comes from a seeded
//! ChaCha20 RNG and persistence goes through the small [`Store`] trait. The same seed and inputs give
//! byte-identical outputs, on native targets and on `wasm32-unknown-unknown`.
//!
//! ```text
//!   open / frame / closed / wake (now)          commit()            poll_output() / poll_timeout()
//!  ───────────────────────────────────▶  Gateway ───────▶ Store ────────────────────────────────────▶
//! ```
//!
//! Modules, by what they own:
//! - [`gateway`]: connections, timers, group commit, outputs (and the call-order contract);
//! - [`handshake`]: `connect` — protocol range, operator token, node device proof, `hello-ok`;
//! - `admission`: device pairing at `connect` (SPEC §11) — admitted, refused, or admitted to wait;
//! - `methods`: the `node.pair.*`, `node.rename`, `node.list` and `node.describe` methods;
//! - `devices`: the `device.pair.*` and `device.token.*` methods;
//! - `pairing`: asking and approving, shared by every way in;
//! - [`protocol`]: the typed wire records of device pairing, for the gateway and its clients;
//! - [`state`]: pending requests and paired nodes with their indices, staged and undoable changes;
//! - [`store`]: the [`Store`] trait and [`MemoryStore`];
//! - [`record`] and [`view`]: what is stored, and what clients see;
//! - [`mod@format`]: people-facing formatting (ages, countdowns, labels), one rule for every client;
//! - [`resync`]: the seq-gap resync and reconnect backoff of every client, sans-IO;
//! - [`proof`], [`secret`], [`code`], [`scopes`]: device proofs, tokens, verification codes, scopes;
//! - [`audit`]: the hash-chained audit trail of decisions and its verification;
//! - [`import`]: an OpenClaw 2026.4 device store read into this gateway's records;
//! - [`limiter`]: the rate of new pairing requests per node;
//! - [`memory`]: bounded memories of resolved requests and of decisions for offline nodes;
//! - [`notice`]: log-worthy happenings (requests, decisions, rate limiting) for the host's log;
//! - [`wire`] and [`params`]: frames and parameter validation;
//! - [`sim`]: the deterministic simulator — a scripted scenario in, a JSON transcript out;
//! - [`workload`]: a seeded random workload with faults and crashes, invariants checked every step.

mod admission;
pub mod audit;
pub mod challenge;
pub mod code;
pub mod config;
mod devices;
pub mod format;
pub mod gateway;
pub mod handshake;
pub mod ids;
pub mod import;
pub mod limiter;
pub mod memory;
pub mod method;
mod methods;
pub mod notice;
pub mod operator;
mod pairing;
pub mod params;
pub mod proof;
#[cfg(test)]
mod props;
pub mod protocol;
pub mod record;
pub mod resync;
pub mod rng;
pub mod scopes;
pub mod secret;
#[cfg(feature = "sim")]
pub mod sim;
pub mod state;
pub mod store;
pub mod view;
pub mod wire;
#[cfg(feature = "sim")]
pub mod workload;

pub use config::{Config, Limits};
pub use gateway::{Gateway, OpenError, Output};
pub use ids::{ConnId, NodeId, RequestId};
pub use memory::Decision;
pub use method::Method;
pub use notice::Notice;
pub use record::{NodeMeta, PairedNode, PendingRequest, Supersedes};
pub use secret::{Token, TokenHash};
pub use store::{Batch, Change, MemoryStore, Snapshot, Store, StoreError};
