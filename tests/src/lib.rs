//! Support for the cross-crate suites: a scripted driver of the core that records transcripts, and a
//! small WebSocket protocol client for end-to-end tests and load generation.

pub mod bench;
pub mod client;
pub mod process;

/// The scenario driver, which lives in the core as its deterministic simulator.
pub use pairing_core::sim as harness;
