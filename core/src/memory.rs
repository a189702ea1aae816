//! Two bounded memories: what became of recently resolved requests (for `details.reason`), and decisions
//! waiting for an offline node (its token among them, in memory only).

use crate::ids::{NodeId, RequestId};
use crate::secret::Token;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// How a pending request ended, or that a paired node was removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// An operator approved it; a token was issued.
    Approved,
    /// An operator rejected it.
    Rejected,
    /// Its time ran out.
    Expired,
    /// A request for the same node bound to a different key replaced it.
    Superseded,
    /// An operator removed the paired node.
    Removed,
}

impl Decision {
    /// The lowercase name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Rejected => "rejected",
            Decision::Expired => "expired",
            Decision::Superseded => "superseded",
            Decision::Removed => "removed",
        }
    }
}

/// Recently resolved request ids and verification codes, oldest forgotten first.
pub(crate) struct Resolved {
    capacity: usize,
    order: VecDeque<RequestId>,
    by_id: HashMap<RequestId, Ended>,
    by_code: HashMap<String, RequestId>,
}

/// How a remembered request ended.
struct Ended {
    decision: Decision,
    code: Option<String>,
    /// Who decided (`operator cli@127.0.0.1`, or `gateway` for expiry) and when.
    by: String,
    at_ms: u64,
}

impl Resolved {
    /// Remembers at most `capacity` ids.
    pub(crate) fn new(capacity: usize) -> Self {
        Resolved {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            by_id: HashMap::new(),
            by_code: HashMap::new(),
        }
    }

    /// Records how `id` (with verification `code`) ended: `decision`, made by `by` at `at_ms`.
    pub(crate) fn remember(
        &mut self,
        id: &RequestId,
        code: Option<&str>,
        decision: Decision,
        by: String,
        at_ms: u64,
    ) {
        if self.by_id.contains_key(id) {
            self.order.retain(|x| x != id);
        }
        while self.order.len() >= self.capacity {
            if let Some(old) = self.order.pop_front()
                && let Some(Ended { code: Some(c), .. }) = self.by_id.remove(&old)
                && self.by_code.get(&c) == Some(&old)
            {
                self.by_code.remove(&c);
            }
        }
        self.order.push_back(id.clone());
        let ended = Ended {
            decision,
            code: code.map(str::to_owned),
            by,
            at_ms,
        };
        self.by_id.insert(id.clone(), ended);
        if let Some(c) = code {
            self.by_code.insert(c.to_owned(), id.clone());
        }
    }

    /// How `id` ended, if remembered.
    pub(crate) fn by_id(&self, id: &RequestId) -> Option<Decision> {
        self.by_id.get(id).map(|e| e.decision)
    }

    /// Who decided `id` and when, if remembered.
    pub(crate) fn decider(&self, id: &RequestId) -> Option<(&str, u64)> {
        self.by_id.get(id).map(|e| (e.by.as_str(), e.at_ms))
    }

    /// The latest resolved request that had `code`, and how it ended.
    pub(crate) fn by_code(&self, code: &str) -> Option<(&RequestId, Decision)> {
        let id = self.by_code.get(code)?;
        Some((id, self.by_id(id)?))
    }

    /// Number of remembered ids (bounded by the capacity).
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

/// Devices whose request an operator rejected, until they next try to connect: that attempt is told
/// to stop retrying (OpenClaw 2026.5+ node hosts otherwise retry a `wait_then_retry` refusal forever
/// and ask again every 30 s). Oldest forgotten first.
pub(crate) struct Rejections {
    capacity: usize,
    order: VecDeque<NodeId>,
}

impl Rejections {
    /// Remembers at most `capacity` devices.
    pub(crate) fn new(capacity: usize) -> Self {
        Rejections {
            capacity: capacity.max(1),
            order: VecDeque::new(),
        }
    }

    /// Records that `device`'s request was rejected.
    pub(crate) fn insert(&mut self, device: &NodeId) {
        self.order.retain(|d| d != device);
        while self.order.len() >= self.capacity {
            self.order.pop_front();
        }
        self.order.push_back(device.clone());
    }

    /// Whether `device` was rejected since it last tried; forgets it either way, so a deliberate
    /// restart of the device asks again.
    pub(crate) fn take(&mut self, device: &NodeId) -> bool {
        let before = self.order.len();
        self.order.retain(|d| d != device);
        self.order.len() != before
    }
}

/// A decision waiting for a node's key-proven connection.
#[derive(Clone)]
pub(crate) struct Mail {
    /// The request it resolves.
    pub request_id: RequestId,
    /// What was decided.
    pub decision: Decision,
    /// When it was decided.
    pub ts: u64,
    /// The new token, for `approved` only. Never persisted.
    pub token: Option<Token>,
    /// The public key the connection must prove.
    pub public_key: String,
    /// After this instant the mail is discarded.
    pub expires_at: u64,
}

/// Undelivered decisions, one per node (the latest), bounded in number and time.
pub(crate) struct Mailbox {
    capacity: usize,
    items: BTreeMap<NodeId, Mail>,
    expiry: BTreeSet<(u64, NodeId)>,
}

impl Mailbox {
    /// Holds at most `capacity` decisions.
    pub(crate) fn new(capacity: usize) -> Self {
        Mailbox {
            capacity: capacity.max(1),
            items: BTreeMap::new(),
            expiry: BTreeSet::new(),
        }
    }

    /// Stores a decision for `node`, replacing an older one; evicts the soonest-expiring when full.
    pub(crate) fn put(&mut self, node: NodeId, mail: Mail) {
        self.remove(&node);
        while self.items.len() >= self.capacity {
            let Some((_, victim)) = self.expiry.iter().next().cloned() else {
                break;
            };
            self.remove(&victim);
        }
        self.expiry.insert((mail.expires_at, node.clone()));
        self.items.insert(node, mail);
    }

    /// Takes the decision for `node` if the connection proved its key and it has not expired.
    pub(crate) fn take(&mut self, node: &NodeId, public_key: &str, now: u64) -> Option<Mail> {
        let fits = self
            .items
            .get(node)
            .is_some_and(|m| m.public_key == public_key && now < m.expires_at);
        if fits { self.remove(node) } else { None }
    }

    /// Drops whatever is held for `node`.
    pub(crate) fn remove(&mut self, node: &NodeId) -> Option<Mail> {
        let mail = self.items.remove(node)?;
        self.expiry.remove(&(mail.expires_at, node.clone()));
        Some(mail)
    }

    /// Drops expired decisions.
    pub(crate) fn purge(&mut self, now: u64) {
        while let Some((t, node)) = self.expiry.iter().next().cloned() {
            if t > now {
                break;
            }
            self.remove(&node);
        }
    }

    /// The next instant a decision expires.
    pub(crate) fn next_expiry(&self) -> Option<u64> {
        self.expiry.iter().next().map(|(t, _)| *t)
    }

    /// Number of held decisions.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rid(s: &str) -> RequestId {
        RequestId(s.into())
    }

    #[test]
    fn resolved_memory_is_bounded_and_forgets_codes() {
        let mut r = Resolved::new(2);
        let by = || "operator cli@127.0.0.1".to_owned();
        r.remember(&rid("a"), Some("1111-1111"), Decision::Expired, by(), 1);
        r.remember(&rid("b"), None, Decision::Approved, by(), 2);
        r.remember(&rid("c"), None, Decision::Rejected, by(), 3);
        assert_eq!(r.len(), 2);
        assert_eq!(r.by_id(&rid("a")), None);
        assert_eq!(r.by_code("1111-1111"), None);
        assert_eq!(r.by_id(&rid("c")), Some(Decision::Rejected));
        assert_eq!(r.decider(&rid("c")), Some(("operator cli@127.0.0.1", 3)));
    }

    #[test]
    fn mailbox_delivers_once_to_the_right_key_before_expiry() {
        let mut m = Mailbox::new(2);
        let mail = |t| Mail {
            request_id: rid("r"),
            decision: Decision::Rejected,
            ts: 0,
            token: None,
            public_key: "K".into(),
            expires_at: t,
        };
        m.put(NodeId("n".into()), mail(100));
        assert!(m.take(&NodeId("n".into()), "other", 10).is_none());
        assert!(m.take(&NodeId("n".into()), "K", 100).is_none());
        assert!(m.take(&NodeId("n".into()), "K", 99).is_some());
        assert!(m.take(&NodeId("n".into()), "K", 99).is_none());
        m.put(NodeId("a".into()), mail(5));
        m.put(NodeId("b".into()), mail(6));
        m.put(NodeId("c".into()), mail(7));
        assert_eq!(m.len(), 2);
        assert!(m.remove(&NodeId("a".into())).is_none());
        m.purge(6);
        assert_eq!(m.len(), 1);
    }
}
