//! `pairing-host`: the warp + tokio shell around `pairing-core`.
//!
//! - [`server`]: the WebSocket gateway — warp routes, one socket task per connection, bounded queues;
//! - [`accept`]: accepting sockets (plaintext and TLS), the deadlines before the upgrade, and the caps
//!   on sockets;
//! - [`upgrade`]: the WebSocket upgrade, the reading side of a socket and its writer;
//! - [`driver`]: the one thread that owns the core, feeds it, commits once per round (group commit) and
//!   hands the outputs to the [`router`], which sorts them into each socket's [`outbox`];
//! - [`file_store`]: the durable [`pairing_core::Store`] — `nodes/pending.json` and `nodes/paired.json`
//!   with a write-ahead journal beside them;
//! - [`page`]: the browser approval page, built by `build.rs` and embedded in the binary;
//! - [`tls`]: `wss://`/`https://` — the certificate and key, and serving the routes over rustls;
//!   [`tls_auto`]: the self-signed certificate `--bind lan` makes and reuses when given none;
//! - [`webhook`]: `--notify-webhook`, the HTTP side of [`pairing_core::webhook`];
//! - [`gateway_config`]: `<state>/openclaw.json` (port and operator token);
//! - [`lock`]: `<state>/gateway.lock`, which makes one gateway the owner of a state directory;
//! - [`audit_log`]: reading and verifying the audit trail on disk;
//! - [`paths`], [`fsutil`], [`duration`], [`clock`]: the state directory, private atomic files,
//!   `5m`-style durations, the one clock.

pub mod accept;
pub mod audit_log;
pub mod clock;
pub mod driver;
pub mod duration;
pub mod file_store;
pub mod fsutil;
pub mod gateway_config;
pub mod hosts;
pub mod lock;
pub mod outbox;
pub mod page;
pub mod paths;
pub mod public_urls;
pub mod router;
pub mod server;
pub mod tls;
pub mod tls_auto;
pub mod upgrade;
pub mod webhook;
pub mod ws_frame;

pub use file_store::FileStore;
