//! The one clock of the gateway and its tools: milliseconds since the Unix epoch, the time the core
//! is fed ([`pairing_core::Gateway`] takes `now` as an argument and never reads a clock itself).
//!
//! Every timestamp the host writes or compares (records, audit entries, the import of an OpenClaw
//! device store, the driver's deadlines) comes from [`now_ms`], as does the CLI's.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, by the system clock (wall time: it may step). A clock set
/// before 1970 reads 0; one past `u64::MAX` ms (in 584 million years) reads `u64::MAX`.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
