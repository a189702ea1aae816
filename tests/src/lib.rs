//! Support for the cross-crate suites: a scripted driver of the core that records transcripts.

pub mod harness;
