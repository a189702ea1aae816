//! `pairing-host`: the warp + tokio shell around `pairing-core`.
//!
//! - [`server`]: the WebSocket gateway — warp routes, one socket task per connection, bounded queues;
//! - [`driver`]: the one thread that owns the core, feeds it, commits once per round (group commit) and
//!   routes its outputs;
//! - [`file_store`]: the durable [`pairing_core::Store`] — `nodes/pending.json` and `nodes/paired.json`
//!   with a write-ahead journal beside them;
//! - [`page`]: the browser approval page, built by `build.rs` and embedded in the binary;
//! - [`tls`]: `wss://`/`https://` — the certificate and key, and serving the routes over rustls;
//! - [`gateway_config`]: `<state>/openclaw.json` (port and operator token);
//! - [`lock`]: `<state>/gateway.lock`, which makes one gateway the owner of a state directory;
//! - [`paths`], [`fsutil`], [`duration`]: the state directory, private atomic files, `5m`-style durations.

pub mod accept;
pub mod audit_log;
pub mod driver;
pub mod duration;
pub mod file_store;
pub mod fsutil;
pub mod gateway_config;
pub mod hosts;
pub mod lock;
pub mod page;
pub mod paths;
pub mod server;
pub mod tls;
pub mod upgrade;

pub use file_store::FileStore;
