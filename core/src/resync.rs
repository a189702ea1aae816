//! Staying in step with the gateway, for every client, with no I/O: when to re-read the lists (the
//! broadcast `seq` did not follow on) and how long to wait before reconnecting. The caller passes in
//! what it observed (and, for the backoff, a random number); nothing here reads a clock or a socket.
//!
//! The rules:
//! - **Seq gap.** Pairing broadcasts carry `seq`, one more than the last on the same connection. A
//!   client lists (`node.pair.list`) after every handshake, and again whenever a `seq` is not the one
//!   after the last it saw: skipped events (a dropped frame, a slow consumer) or a smaller one (another
//!   gateway process behind the same address). The first `seq` of a connection is never a gap.
//! - **Backoff.** Reconnect after 0.5 s, doubling each failed attempt, at most 10 s, plus up to 20 %
//!   jitter so many clients dropped together do not come back together. A handshake that succeeds
//!   starts it over.

/// The first reconnect delay.
pub const BACKOFF_FIRST_MS: u64 = 500;
/// The longest reconnect delay, before jitter.
pub const BACKOFF_MAX_MS: u64 = 10_000;
/// Jitter adds at most `base / BACKOFF_JITTER_DIVISOR` (20 %).
pub const BACKOFF_JITTER_DIVISOR: u64 = 5;

/// The last broadcast `seq` seen on the current connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqTracker {
    last: Option<u64>,
}

impl SeqTracker {
    /// A tracker that has seen nothing.
    pub fn new() -> Self {
        SeqTracker::default()
    }

    /// An event arrived with `seq` (absent on events that are not broadcasts). Returns whether the
    /// client must re-list because events were missed.
    pub fn observe(&mut self, seq: Option<u64>) -> bool {
        let Some(seq) = seq else { return false };
        let gap = self.last.is_some_and(|last| seq != last.wrapping_add(1));
        self.last = Some(seq);
        gap
    }

    /// How many events a gap skipped, for a log line (`None` when `seq` went backwards or none was seen).
    pub fn missed(&self, seq: u64) -> Option<u64> {
        self.last
            .and_then(|last| seq.checked_sub(last))
            .map(|d| d.saturating_sub(1))
    }

    /// The last `seq` seen.
    pub fn last(&self) -> Option<u64> {
        self.last
    }

    /// A new connection: its `seq` starts over.
    pub fn reset(&mut self) {
        self.last = None;
    }
}

/// Reconnect delays: 0.5 s doubling to 10 s, plus jitter; see the module documentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// A backoff with no failures yet.
    pub fn new() -> Self {
        Backoff::default()
    }

    /// An attempt failed (or a connection dropped): the delay in ms before the next one. `random` is
    /// any random number (0 gives the delay without jitter; `u16::MAX` adds the full 20 %).
    pub fn next_delay(&mut self, random: u16) -> u64 {
        let shift = self.failures.min(16);
        let base = (BACKOFF_FIRST_MS << shift).min(BACKOFF_MAX_MS);
        self.failures = self.failures.saturating_add(1);
        base + base * u64::from(random) / u64::from(u16::MAX) / BACKOFF_JITTER_DIVISOR
    }

    /// Failed attempts since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// A handshake succeeded: the next failure waits the shortest delay again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests;
