//! `pairing-wasm`: the wasm-bindgen skin over `pairing-core` for the browser approval page.
//!
//! The page's logic lives here and runs as wasm in the browser; `www/app.js` only moves bytes between
//! the WebSocket, this model and the DOM.
//!
//! - [`frames`]: the `connect` request, `req` frames with increasing ids, parsing `res`/`event` frames;
//! - [`model`]: the state machine — pending and paired lists, what each response means (seq-gap
//!   resync and reconnect backoff are `pairing_core::resync`'s);
//! - [`view`]: what the page shows, in order and in words (ages and countdowns are
//!   `pairing_core::format`'s, as in the CLI);
//! - [`words`]: error frames in plain words, chosen by the error's codes;
//! - [`dialog`]: the "Pair a device" dialog (a setup code, its QR code, "Used by …");
//!
//! Every record the page reads — pending requests, paired nodes, `node.list` entries, events, errors —
//! is the core's own type (`pairing_core::protocol`); the page spells no JSON key of the protocol.
//! - [`bindings`]: the `#[wasm_bindgen]` exports (`Page`, `Codec`, `formatCountdown`, …);
//! - `sim` (feature `sim`): the core's deterministic simulator for JavaScript (`simulate`,
//!   `runWorkload`), left out of the page's bundle to keep it small.
//!
//! The `www/` directory holds the page (HTML, CSS and the JS glue); `pairing-host`'s build script
//! builds this crate for `wasm32-unknown-unknown`, runs wasm-bindgen on it and embeds everything.

pub mod bindings;
pub mod dialog;
pub mod frames;
pub mod model;
#[cfg(feature = "sim")]
pub mod sim;
pub mod view;
pub mod words;

pub use model::{Conn, PageModel};
pub use view::View;
