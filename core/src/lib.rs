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
//! # What a shell may touch
//!
//! - [`Gateway`] ([`gateway`]): the inputs, [`Gateway::commit`], [`Output`]s and timers, with the
//!   call-order contract; started from a [`Config`] and its [`Limits`] ([`config`]); log-worthy
//!   [`Notice`]s ([`notice`]) and the store's health ([`gateway::StoreFailing`]) come out of it.
//! - [`Store`] ([`store`]): what a host implements to persist a [`Batch`] of [`Change`]s and load a
//!   [`Snapshot`], failing with a [`StoreError`]; [`MemoryStore`] for tests and the simulator.
//! - What is stored: [`record`] ([`PendingRequest`], [`PairedNode`]) and the hash-chained [`audit`]
//!   trail, with its reader and verification.
//! - The protocol, for clients: [`protocol`] (typed wire records), [`Method`] ([`method`]), [`Event`] ([`event`]), [`wire`]
//!   (frames and the protocol version), [`view`] (what clients see of the records); [`mod@format`]
//!   (ages, countdowns, node labels, decision words: one rule for every client) and [`resync`] (the
//!   seq-gap resync and reconnect backoff every client follows, sans-IO).
//! - Credentials and names: [`proof`] (device proofs), [`challenge`] (the gateway's proof that it
//!   knows the operator token), [`secret`] ([`Token`], [`TokenHash`]), [`code`] (verification codes),
//!   [`scopes`], [`ids`], [`operator`] (rotation's wording, token strength).
//! - [`enroll`]: setup codes and enrollment keys (pairing without an approval step), and OpenClaw's
//!   setup-code format ([`enroll::SetupPayload`]).
//! - [`import`]: an OpenClaw 2026.4 device store read into this gateway's records.
//! - With the `sim` feature only (never in a gateway build): `sim`, the deterministic simulator (a
//!   scripted scenario in, a JSON transcript out), and `workload`, a seeded random workload with faults
//!   and crashes, invariants checked every step.
//!
//! # Inside (private)
//!
//! `handshake` (`connect`: protocol range, operator token, node device proof, `hello-ok`), `admission`
//! (device pairing at `connect`, SPEC §11), `methods` (`node.pair.*`, `node.rename`, `node.list`,
//! `node.describe`) and `devices` (`device.pair.*`, `device.token.*`), `pairing` (asking and approving,
//! shared by every way in), `state` (pending requests and paired nodes with their indices, staged and
//! undoable changes), `memory` (resolved requests and decisions for offline nodes), `limiter` (new
//! requests per node), `params` (parameter validation) and `rng` (the seeded RNG).

mod admission;
pub mod audit;
pub mod certificate;
pub mod challenge;
pub mod code;
pub mod config;
mod devices;
pub mod enroll;
pub mod event;
pub mod format;
pub mod gateway;
mod handshake;
pub mod ids;
pub mod import;
mod limiter;
mod memory;
pub mod method;
mod methods;
pub mod notice;
pub mod operator;
mod pairing;
mod params;
pub mod proof;
#[cfg(test)]
mod props;
pub mod protocol;
pub mod record;
pub mod resync;
mod rng;
pub mod scopes;
pub mod secret;
#[cfg(feature = "sim")]
pub mod sim;
mod state;
pub mod store;
pub mod view;
pub mod webhook;
pub mod wire;
#[cfg(feature = "sim")]
pub mod workload;

pub use config::{Config, Limits};
pub use event::Event;
pub use gateway::{Gateway, OpenError, Output};
pub use ids::{ConnId, NodeId, RequestId};
pub use memory::Decision;
pub use method::Method;
pub use notice::Notice;
pub use record::{NodeMeta, PairedNode, PendingRequest, Supersedes};
pub use secret::{Token, TokenHash};
pub use store::{Batch, Change, MemoryStore, Snapshot, Store, StoreError};
