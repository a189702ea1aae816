//! Persistence: a small synchronous trait, and the in-memory implementation.
//!
//! The gateway stages every change of one round of inputs in a [`Batch`] and calls [`Store::commit`]
//! once; nothing the batch reports reaches a client before that call returns `Ok`. A store keeps its own
//! copy of the state ([`Change::apply`]) and may write the changes (a journal) or that whole state, but
//! it must make the batch durable atomically: after a crash, either all of it or none of it is visible.

use crate::audit::{AuditEntry, Head};
use crate::enroll::Enrollment;
use crate::ids::{NodeId, RequestId};
use crate::record::{PairedNode, PendingRequest};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// One change to the durable state.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A pending request was created or refreshed.
    PutPending(PendingRequest),
    /// A pending request was resolved.
    DeletePending(RequestId),
    /// A node was paired, re-paired, renamed or seen.
    PutPaired(PairedNode),
    /// A node was removed.
    DeletePaired(NodeId),
    /// A paired device was seen connecting at this time (`lastSeenAtMs`): a few bytes in a journal,
    /// where a whole record would be a kilobyte — after a gateway restart every device writes one.
    Seen(NodeId, u64),
    /// A setup code or enrollment key was issued, redeemed or revoked (the whole record).
    PutEnrollment(Enrollment),
    /// An ended setup code or key was forgotten to make room.
    DeleteEnrollment(String),
}

/// The durable state as loaded at start.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Pending requests.
    pub pending: Vec<PendingRequest>,
    /// Paired nodes.
    pub paired: Vec<PairedNode>,
    /// Setup codes and enrollment keys.
    pub enrollments: Vec<Enrollment>,
    /// The end of the audit chain, which the next entry continues.
    pub audit_head: Head,
}

/// A group of changes to make durable together.
pub struct Batch<'a> {
    /// The changes, in the order they were made.
    pub changes: &'a [Change],
    /// The audit entries of the decisions among the changes, sealed into the chain, in order.
    pub audit: &'a [AuditEntry],
}

impl Change {
    /// Applies this change to maps of pending requests, paired nodes and enrollments (by id): what a
    /// store that keeps the state in memory, or replays a journal, does with it.
    pub fn apply(
        &self,
        pending: &mut BTreeMap<RequestId, PendingRequest>,
        paired: &mut BTreeMap<NodeId, PairedNode>,
        enrollments: &mut BTreeMap<String, Enrollment>,
    ) {
        match self {
            Change::PutPending(p) => {
                pending.insert(p.request_id.clone(), p.clone());
            }
            Change::DeletePending(id) => {
                pending.remove(id);
            }
            Change::PutPaired(n) => {
                paired.insert(n.node_id.clone(), n.clone());
            }
            Change::DeletePaired(id) => {
                paired.remove(id);
            }
            Change::Seen(id, at) => {
                if let Some(n) = paired.get_mut(id) {
                    n.last_seen_at_ms = Some(*at);
                }
            }
            Change::PutEnrollment(e) => {
                enrollments.insert(e.id.clone(), e.clone());
            }
            Change::DeleteEnrollment(id) => {
                enrollments.remove(id);
            }
        }
    }
}

/// Why the store failed. Its text is the whole message (naming the file, if any);
/// [`std::error::Error::source`] gives the I/O error underneath, when there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading or writing failed.
    #[error("{message}")]
    Io {
        /// What failed, for a person.
        message: String,
        /// The file concerned, if one is.
        path: Option<PathBuf>,
        /// The I/O error underneath, if there is one.
        #[source]
        source: Option<io::Error>,
    },
    /// A stored file could not be understood.
    #[error("{message}")]
    Corrupt {
        /// What is wrong, for a person.
        message: String,
        /// The file, if one is concerned.
        path: Option<PathBuf>,
    },
}

impl StoreError {
    /// Reading or writing failed, with no file or I/O error to name.
    pub fn io(message: impl Into<String>) -> Self {
        StoreError::Io {
            message: message.into(),
            path: None,
            source: None,
        }
    }

    /// Reading or writing the file at `path` failed with `source`.
    pub fn io_at(path: impl Into<PathBuf>, message: impl Into<String>, source: io::Error) -> Self {
        StoreError::Io {
            message: message.into(),
            path: Some(path.into()),
            source: Some(source),
        }
    }

    /// Stored data could not be understood, with no file to name.
    pub fn corrupt(message: impl Into<String>) -> Self {
        StoreError::Corrupt {
            message: message.into(),
            path: None,
        }
    }

    /// The file at `path` could not be understood.
    pub fn corrupt_at(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        StoreError::Corrupt {
            message: message.into(),
            path: Some(path.into()),
        }
    }

    /// The file concerned, if one is.
    pub fn path(&self) -> Option<&Path> {
        match self {
            StoreError::Io { path, .. } | StoreError::Corrupt { path, .. } => path.as_deref(),
        }
    }
}

/// Durable storage of pairing state.
pub trait Store {
    /// Loads the state; called once when the gateway starts.
    fn load(&mut self) -> Result<Snapshot, StoreError>;

    /// Makes a batch durable, atomically, before returning `Ok`.
    fn commit(&mut self, batch: &Batch<'_>) -> Result<(), StoreError>;

    /// Makes a rotated operator token durable (with the hashes of the tokens rotated away, newest
    /// first), before the batch of the round that rotated it is committed. A store that keeps no
    /// configuration (the default) has nothing to write.
    fn save_operator_token(
        &mut self,
        token: &crate::Token,
        retired: &[crate::TokenHash],
    ) -> Result<(), StoreError> {
        let _ = (token, retired);
        Ok(())
    }
}

/// A store that keeps the state in memory: for tests, benchmarks and the simulator.
///
/// It can be told to fail the next commits, to test that failed writes are never acknowledged.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    pending: BTreeMap<RequestId, PendingRequest>,
    paired: BTreeMap<NodeId, PairedNode>,
    enrollments: BTreeMap<String, Enrollment>,
    audit: Vec<AuditEntry>,
    audit_head: Head,
    fail_commits: u32,
    commits: u64,
    attempts: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `snapshot`.
    pub fn with(snapshot: Snapshot) -> Self {
        let mut s = Self::new();
        for p in snapshot.pending {
            s.pending.insert(p.request_id.clone(), p);
        }
        for n in snapshot.paired {
            s.paired.insert(n.node_id.clone(), n);
        }
        for e in snapshot.enrollments {
            s.enrollments.insert(e.id.clone(), e);
        }
        s.audit_head = snapshot.audit_head;
        s
    }

    /// A store holding `snapshot` and the audit entries of `other` (a restart over the same disk).
    pub fn restarted(other: &MemoryStore) -> Self {
        let mut s = Self::with(other.snapshot());
        s.audit = other.audit.clone();
        s
    }

    /// Every audit entry committed, oldest first.
    pub fn audit(&self) -> &[AuditEntry] {
        &self.audit
    }

    /// Makes the next `n` commits fail (`u32::MAX`: until told otherwise with `0`).
    pub fn fail_next_commits(&mut self, n: u32) {
        self.fail_commits = n;
    }

    /// How many batches were committed.
    pub fn commits(&self) -> u64 {
        self.commits
    }

    /// How many commits were attempted, failed or not.
    pub fn commit_attempts(&self) -> u64 {
        self.attempts
    }

    /// The durable state, as a restart would load it.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            pending: self.pending.values().cloned().collect(),
            paired: self.paired.values().cloned().collect(),
            enrollments: self.enrollments.values().cloned().collect(),
            audit_head: self.audit_head.clone(),
        }
    }
}

impl Store for MemoryStore {
    fn load(&mut self) -> Result<Snapshot, StoreError> {
        Ok(self.snapshot())
    }

    fn commit(&mut self, batch: &Batch<'_>) -> Result<(), StoreError> {
        self.attempts += 1;
        if self.fail_commits > 0 {
            self.fail_commits -= 1;
            return Err(StoreError::io("injected write failure"));
        }
        for change in batch.changes {
            change.apply(&mut self.pending, &mut self.paired, &mut self.enrollments);
        }
        if let Some(last) = batch.audit.last() {
            self.audit_head = Head {
                seq: last.seq,
                hash: last.hash.clone(),
            };
            self.audit.extend_from_slice(batch.audit);
        }
        self.commits += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
