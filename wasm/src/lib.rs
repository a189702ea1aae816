//! `pairing-wasm`: the wasm-bindgen skin over `pairing-core` for the browser approval page and the
//! deterministic simulator.
//!
//! Not built yet: it arrives with issue #5 ("The browser approval page"). This crate is an empty
//! placeholder so the workspace layout is fixed; it exports nothing and pretends nothing.
