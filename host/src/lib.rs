//! `pairing-host`: the warp + tokio shell around `pairing-core` — WebSocket gateway, the task that owns
//! the core, timers, the JSON file store and the approval page.
//!
//! Not built yet: it arrives with issue #4 ("The gateway and the `openclaw` CLI"). This crate is an empty
//! placeholder so the workspace layout is fixed; it exports nothing and pretends nothing.
