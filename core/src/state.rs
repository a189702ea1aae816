//! The pairing state in memory: pending requests and paired nodes, their indices, and the changes of the
//! current round, staged for the store and undoable if the store fails.

use crate::audit::{AuditEntry, Head};
use crate::code::verification_code;
use crate::enroll::Enrollment;
use crate::ids::{NodeId, RequestId};
use crate::record::{PairedNode, PendingRequest};
use crate::store::{Batch, Change, Snapshot};
use std::collections::{BTreeMap, BTreeSet, HashMap};

enum Undo {
    Pending(RequestId, Option<PendingRequest>),
    Paired(NodeId, Option<PairedNode>),
    Enrollment(String, Option<Enrollment>),
}

/// Pending requests and paired nodes, indexed for every lookup the methods make.
#[derive(Default)]
pub(crate) struct PairingState {
    pending: BTreeMap<RequestId, PendingRequest>,
    paired: BTreeMap<NodeId, PairedNode>,
    /// Setup codes and enrollment keys by id, and their ids by the hash of their secret.
    enrollments: BTreeMap<String, Enrollment>,
    by_secret: HashMap<[u8; 32], String>,
    by_node: HashMap<NodeId, RequestId>,
    by_code: BTreeMap<String, BTreeSet<RequestId>>,
    codes: HashMap<RequestId, String>,
    expiry: BTreeSet<(u64, RequestId)>,
    node_made_per_ip: HashMap<String, usize>,
    changes: Vec<Change>,
    undo: Vec<Undo>,
    audit: Vec<AuditEntry>,
    audit_head: Head,
    committed_audit_head: Head,
    /// How long a pending request lives (`Config::pending_ttl_ms`): its expiry is its `ts` plus this.
    ttl_ms: u64,
}

/// The verification code of a pending request: from its key, or from its id when an operator made it.
pub(crate) fn code_of(req: &PendingRequest) -> String {
    match req.public_key.as_deref().and_then(crate::proof::decode_b64) {
        Some(raw) => verification_code(&raw),
        None => verification_code(req.request_id.as_str().as_bytes()),
    }
}

impl PairingState {
    /// Builds the state from a loaded snapshot. Returns the older duplicates when the snapshot has
    /// several pending requests for one node (possible in OpenClaw data); the caller resolves them.
    /// A pending request expires `ttl_ms` after its `ts`.
    pub(crate) fn load(snapshot: Snapshot, ttl_ms: u64) -> (Self, Vec<PendingRequest>) {
        let mut s = PairingState {
            ttl_ms,
            audit_head: snapshot.audit_head.clone(),
            committed_audit_head: snapshot.audit_head,
            ..PairingState::default()
        };
        // Keys in one form whatever wrote the files (OpenClaw writes either base64 alphabet).
        let canonical = |k: &mut Option<String>| {
            if let Some(c) = k.as_deref().and_then(crate::proof::canonical_key) {
                *k = Some(c);
            }
        };
        for mut n in snapshot.paired {
            canonical(&mut n.public_key);
            s.paired.insert(n.node_id.clone(), n);
        }
        for e in snapshot.enrollments {
            s.set_enrollment(&e.id.clone(), Some(e));
        }
        let mut pending = snapshot.pending;
        pending
            .iter_mut()
            .for_each(|p| canonical(&mut p.public_key));
        // Newest first, so the request kept for a node is its newest.
        pending.sort_by(|a, b| b.ts.cmp(&a.ts).then(a.request_id.cmp(&b.request_id)));
        let mut duplicates = Vec::new();
        for p in pending {
            if s.by_node.contains_key(&p.node_id) {
                duplicates.push(p);
            } else {
                s.index(&p);
                s.pending.insert(p.request_id.clone(), p);
            }
        }
        (s, duplicates)
    }

    fn index(&mut self, p: &PendingRequest) {
        self.by_node.insert(p.node_id.clone(), p.request_id.clone());
        let code = code_of(p);
        self.by_code
            .entry(code.clone())
            .or_default()
            .insert(p.request_id.clone());
        self.codes.insert(p.request_id.clone(), code);
        self.expiry
            .insert((p.ts.saturating_add(self.ttl_ms), p.request_id.clone()));
        if p.public_key.is_some()
            && let Some(ip) = &p.remote_ip
        {
            *self.node_made_per_ip.entry(ip.clone()).or_default() += 1;
        }
    }

    fn unindex(&mut self, p: &PendingRequest) {
        if self.by_node.get(&p.node_id) == Some(&p.request_id) {
            self.by_node.remove(&p.node_id);
        }
        if let Some(code) = self.codes.remove(&p.request_id)
            && let Some(set) = self.by_code.get_mut(&code)
        {
            set.remove(&p.request_id);
            if set.is_empty() {
                self.by_code.remove(&code);
            }
        }
        self.expiry
            .remove(&(p.ts.saturating_add(self.ttl_ms), p.request_id.clone()));
        if p.public_key.is_some()
            && let Some(ip) = &p.remote_ip
            && let Some(n) = self.node_made_per_ip.get_mut(ip)
        {
            *n -= 1;
            if *n == 0 {
                self.node_made_per_ip.remove(ip);
            }
        }
    }

    fn set_pending(
        &mut self,
        id: &RequestId,
        value: Option<PendingRequest>,
    ) -> Option<PendingRequest> {
        let old = self.pending.remove(id);
        if let Some(o) = &old {
            self.unindex(o);
        }
        if let Some(v) = value {
            self.index(&v);
            self.pending.insert(id.clone(), v);
        }
        old
    }

    fn set_paired(&mut self, id: &NodeId, value: Option<PairedNode>) -> Option<PairedNode> {
        match value {
            Some(v) => self.paired.insert(id.clone(), v),
            None => self.paired.remove(id),
        }
    }

    fn set_enrollment(&mut self, id: &str, value: Option<Enrollment>) -> Option<Enrollment> {
        let old = self.enrollments.remove(id);
        if let Some(o) = &old {
            self.by_secret.remove(&o.secret_hash.0);
        }
        if let Some(v) = value {
            self.by_secret.insert(v.secret_hash.0, id.to_owned());
            self.enrollments.insert(id.to_owned(), v);
        }
        old
    }

    /// Creates or replaces a setup code or enrollment key.
    pub(crate) fn put_enrollment(&mut self, e: Enrollment) {
        let id = e.id.clone();
        self.changes.push(Change::PutEnrollment(e.clone()));
        let old = self.set_enrollment(&id, Some(e));
        self.undo.push(Undo::Enrollment(id, old));
    }

    /// Forgets a setup code or enrollment key.
    pub(crate) fn delete_enrollment(&mut self, id: &str) -> Option<Enrollment> {
        let old = self.set_enrollment(id, None)?;
        self.changes.push(Change::DeleteEnrollment(id.to_owned()));
        self.undo
            .push(Undo::Enrollment(id.to_owned(), Some(old.clone())));
        Some(old)
    }

    /// The enrollment whose secret hashes to `hash`.
    pub(crate) fn enrollment_by_secret(&self, hash: &crate::TokenHash) -> Option<&Enrollment> {
        self.by_secret
            .get(&hash.0)
            .and_then(|id| self.enrollments.get(id))
    }

    /// Every setup code and enrollment key, by id.
    pub(crate) fn all_enrollments(&self) -> &BTreeMap<String, Enrollment> {
        &self.enrollments
    }

    /// Creates or replaces a pending request.
    pub(crate) fn put_pending(&mut self, req: PendingRequest) {
        let id = req.request_id.clone();
        self.changes.push(Change::PutPending(req.clone()));
        let old = self.set_pending(&id, Some(req));
        self.undo.push(Undo::Pending(id, old));
    }

    /// Removes a pending request, returning it.
    pub(crate) fn delete_pending(&mut self, id: &RequestId) -> Option<PendingRequest> {
        let old = self.set_pending(id, None)?;
        self.changes.push(Change::DeletePending(id.clone()));
        self.undo.push(Undo::Pending(id.clone(), Some(old.clone())));
        Some(old)
    }

    /// Creates or replaces a paired node.
    pub(crate) fn put_paired(&mut self, node: PairedNode) {
        let id = node.node_id.clone();
        self.changes.push(Change::PutPaired(node.clone()));
        let old = self.set_paired(&id, Some(node));
        self.undo.push(Undo::Paired(id, old));
    }

    /// Records that a paired node was seen at `at` (its `lastSeenAtMs`), as a small change of its own.
    pub(crate) fn set_seen(&mut self, id: &NodeId, at: u64) {
        let Some(node) = self.paired.get_mut(id) else {
            return;
        };
        let old = node.clone();
        node.last_seen_at_ms = Some(at);
        self.changes.push(Change::Seen(id.clone(), at));
        self.undo.push(Undo::Paired(id.clone(), Some(old)));
    }

    /// Removes a paired node, returning it.
    pub(crate) fn delete_paired(&mut self, id: &NodeId) -> Option<PairedNode> {
        let old = self.set_paired(id, None)?;
        self.changes.push(Change::DeletePaired(id.clone()));
        self.undo.push(Undo::Paired(id.clone(), Some(old.clone())));
        Some(old)
    }

    /// Stages the deletion of a stored request that was not loaded (an older duplicate for a node).
    pub(crate) fn stage_duplicate_removal(&mut self, id: &RequestId) {
        self.changes.push(Change::DeletePending(id.clone()));
    }

    /// Seals `entry` into the audit chain and stages it with this round's changes.
    pub(crate) fn audit(&mut self, mut entry: AuditEntry) {
        entry.seal(&mut self.audit_head);
        self.audit.push(entry);
    }

    /// The end of the audit chain, including entries staged this round.
    #[cfg(any(test, feature = "sim"))]
    pub(crate) fn audit_head(&self) -> &Head {
        &self.audit_head
    }

    /// Whether this round changed anything.
    pub(crate) fn is_dirty(&self) -> bool {
        !self.changes.is_empty() || !self.audit.is_empty()
    }

    /// The staged changes and audit entries, for [`crate::Store::commit`].
    pub(crate) fn batch(&self) -> Batch<'_> {
        Batch {
            changes: &self.changes,
            audit: &self.audit,
        }
    }

    /// The store made the round durable: forget how to undo it.
    pub(crate) fn committed(&mut self) {
        self.changes.clear();
        self.undo.clear();
        self.audit.clear();
        self.committed_audit_head.clone_from(&self.audit_head);
    }

    /// The store failed: put everything back as it was before the round.
    pub(crate) fn roll_back(&mut self) {
        while let Some(u) = self.undo.pop() {
            match u {
                Undo::Pending(id, old) => {
                    self.set_pending(&id, old);
                }
                Undo::Paired(id, old) => {
                    self.set_paired(&id, old);
                }
                Undo::Enrollment(id, old) => {
                    self.set_enrollment(&id, old);
                }
            }
        }
        self.changes.clear();
        self.audit.clear();
        self.audit_head.clone_from(&self.committed_audit_head);
    }

    /// A pending request by id.
    pub(crate) fn pending(&self, id: &RequestId) -> Option<&PendingRequest> {
        self.pending.get(id)
    }

    /// The pending request of a node, if any.
    pub(crate) fn pending_for(&self, node: &NodeId) -> Option<&PendingRequest> {
        self.by_node.get(node).and_then(|id| self.pending.get(id))
    }

    /// Pending requests whose verification code is `code`.
    pub(crate) fn pending_by_code(&self, code: &str) -> Vec<&PendingRequest> {
        self.by_code
            .get(code)
            .into_iter()
            .flatten()
            .filter_map(|id| self.pending.get(id))
            .collect()
    }

    /// The cached verification code of a pending request.
    pub(crate) fn code(&self, id: &RequestId) -> Option<&str> {
        self.codes.get(id).map(String::as_str)
    }

    /// A paired node by id.
    pub(crate) fn paired(&self, id: &NodeId) -> Option<&PairedNode> {
        self.paired.get(id)
    }

    /// Every pending request, by id.
    pub(crate) fn all_pending(&self) -> &BTreeMap<RequestId, PendingRequest> {
        &self.pending
    }

    /// Every paired node, by id.
    pub(crate) fn all_paired(&self) -> &BTreeMap<NodeId, PairedNode> {
        &self.paired
    }

    /// Number of pending requests.
    pub(crate) fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Pending requests made by key-proven node connections from `ip`.
    pub(crate) fn node_made_from(&self, ip: &str) -> usize {
        self.node_made_per_ip.get(ip).copied().unwrap_or(0)
    }

    /// The earliest expiry among pending requests.
    pub(crate) fn next_expiry(&self) -> Option<(u64, &RequestId)> {
        self.expiry.iter().next().map(|(t, id)| (*t, id))
    }

    /// The earliest expiry among node-made requests from `ip` (for `retryAfterMs`).
    pub(crate) fn next_expiry_from(&self, ip: &str) -> Option<u64> {
        self.expiry
            .iter()
            .find(|(_, id)| {
                self.pending
                    .get(id)
                    .is_some_and(|p| p.public_key.is_some() && p.remote_ip.as_deref() == Some(ip))
            })
            .map(|(t, _)| *t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::NodeMeta;

    fn req(id: &str, node: &str, ts: u64) -> PendingRequest {
        PendingRequest {
            request_id: RequestId(id.into()),
            node_id: NodeId(node.into()),
            meta: NodeMeta::default(),
            remote_ip: Some("10.0.0.1".into()),
            silent: false,
            public_key: Some("AAAA".into()),
            device: None,
            ts,
            supersedes: None,
            extra: Default::default(),
        }
    }

    #[test]
    fn roll_back_restores_state_and_indices() {
        let (mut s, _) = PairingState::load(Snapshot::default(), 100);
        s.put_pending(req("r1", "n1", 10));
        s.committed();
        s.delete_pending(&RequestId("r1".into()));
        s.put_pending(req("r2", "n1", 20));
        assert_eq!(
            s.pending_for(&NodeId("n1".into())).unwrap().request_id.0,
            "r2"
        );
        s.roll_back();
        assert_eq!(
            s.pending_for(&NodeId("n1".into())).unwrap().request_id.0,
            "r1"
        );
        assert_eq!(s.next_expiry().unwrap().0, 110);
        assert_eq!(s.node_made_from("10.0.0.1"), 1);
        assert!(!s.is_dirty());
    }

    #[test]
    fn load_keeps_newest_request_per_node() {
        let snap = Snapshot {
            pending: vec![req("old", "n1", 1), req("new", "n1", 2)],
            paired: vec![],
            ..Snapshot::default()
        };
        let (s, dups) = PairingState::load(snap, 100);
        assert_eq!(s.pending_count(), 1);
        assert_eq!(dups[0].request_id.0, "old");
    }
}
