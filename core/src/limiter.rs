//! The rate of new pairing requests per node (issue #14): a small token bucket per node id — for a
//! device that is its key, since a device's id is the SHA-256 of its key. A request that reuses the
//! node's pending one (an honest client's retry) costs nothing; a new request, including one that
//! supersedes the pending one (another key, other caps or commands), costs one. Beyond the burst the
//! caller gets `RATE_LIMITED` with `retryAfterMs`, and nothing is stored, audited or announced.
//!
//! Each bucket is kept as the instant it is full again (GCRA): `full_at ≤ now` is the same as no
//! entry, so such entries are dropped first; the memory holds at most `capacity` nodes, and beyond it
//! the one nearest to full is forgotten (it would allow the most anyway). An entry lives at most
//! `burst × interval` (a minute by default), and the 512 pending requests cap how many nodes can make
//! requests in that time, so the default capacity of 4 096 is not reached by live entries.

use crate::ids::NodeId;
use std::collections::{BTreeMap, BTreeSet};

/// Token buckets of new pairing requests, one per node id, bounded in number.
#[derive(Debug)]
pub(crate) struct RequestLimiter {
    burst: u64,
    interval_ms: u64,
    capacity: usize,
    full_at: BTreeMap<NodeId, u64>,
    /// Nodes refused since their last spend whose refusal was already noticed.
    noted: BTreeSet<NodeId>,
    by_time: BTreeSet<(u64, NodeId)>,
}

impl RequestLimiter {
    /// `burst` requests at once, then one every `interval_ms`; at most `capacity` nodes remembered.
    pub(crate) fn new(burst: u32, interval_ms: u64, capacity: usize) -> Self {
        RequestLimiter {
            burst: u64::from(burst.max(1)),
            interval_ms,
            capacity: capacity.max(1),
            full_at: BTreeMap::new(),
            noted: BTreeSet::new(),
            by_time: BTreeSet::new(),
        }
    }

    /// Whether `node` may make a new request at `now`: `Err(retry_after_ms)` if not. Changes nothing.
    pub(crate) fn check(&self, node: &NodeId, now: u64) -> Result<(), u64> {
        let full_at = self.full_at.get(node).copied().unwrap_or(now).max(now);
        let slack = (self.burst - 1).saturating_mul(self.interval_ms);
        let ahead = full_at - now;
        if ahead > slack {
            Err(ahead - slack)
        } else {
            Ok(())
        }
    }

    /// Records that `node` was refused; `true` the first time since its last allowed request (so a
    /// flood is logged once, not once per refusal). Only nodes remembered are noted, so this is bounded
    /// as they are.
    pub(crate) fn note_refusal(&mut self, node: &NodeId) -> bool {
        self.full_at.contains_key(node) && self.noted.insert(node.clone())
    }

    /// Spends one request of `node` at `now` (after [`RequestLimiter::check`] allowed it).
    pub(crate) fn spend(&mut self, node: &NodeId, now: u64) {
        self.noted.remove(node);
        let old = self.full_at.get(node).copied();
        if let Some(t) = old {
            self.by_time.remove(&(t, node.clone()));
        }
        let next = old.unwrap_or(now).max(now).saturating_add(self.interval_ms);
        self.full_at.insert(node.clone(), next);
        self.by_time.insert((next, node.clone()));
        // Entries full again by now are the same as none; beyond the capacity, the others nearest
        // to full go first.
        loop {
            let over = self.full_at.len() > self.capacity;
            let victim = self
                .by_time
                .iter()
                .find(|(_, n)| n != node)
                .filter(|(t, _)| *t <= now || over)
                .cloned();
            let Some((t, n)) = victim else { break };
            self.by_time.remove(&(t, n.clone()));
            self.full_at.remove(&n);
            self.noted.remove(&n);
        }
    }
}

#[cfg(test)]
impl RequestLimiter {
    /// Nodes remembered (bounded by the capacity).
    fn len(&self) -> usize {
        self.full_at.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> NodeId {
        NodeId(s.into())
    }

    #[test]
    fn a_burst_then_one_per_interval() {
        let mut l = RequestLimiter::new(3, 10_000, 16);
        for _ in 0..3 {
            assert_eq!(l.check(&n("a"), 0), Ok(()));
            l.spend(&n("a"), 0);
        }
        assert_eq!(l.check(&n("a"), 0), Err(10_000));
        assert_eq!(l.check(&n("a"), 4_000), Err(6_000));
        assert_eq!(
            l.check(&n("b"), 4_000),
            Ok(()),
            "another node is not limited"
        );
        assert_eq!(l.check(&n("a"), 10_000), Ok(()));
        l.spend(&n("a"), 10_000);
        assert_eq!(l.check(&n("a"), 10_000), Err(10_000));
        // Idle long enough, the whole burst is back and the entry is gone.
        l.spend(&n("b"), 100_000);
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn memory_is_bounded_forgetting_the_nearest_to_full() {
        let mut l = RequestLimiter::new(2, 1_000, 4);
        for i in 0..100u64 {
            let id = n(&format!("n{i}"));
            l.spend(&id, i);
            l.spend(&id, i);
            assert!(l.len() <= 4);
        }
        // The newest is remembered, limited; the oldest was forgotten.
        assert!(l.check(&n("n99"), 99).is_err());
        assert_eq!(l.check(&n("n0"), 99), Ok(()));
    }
}
