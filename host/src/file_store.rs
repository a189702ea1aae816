//! The durable store: `<state>/nodes/pending.json` and `<state>/nodes/paired.json` in OpenClaw's format
//! (with `tokenHash` instead of `token`), and `<state>/nodes/enrollments.json` (setup codes and
//! enrollment keys, by id, with their secrets' hashes), made crash-safe by a write-ahead journal beside
//! them.
//!
//! # Why a journal
//!
//! An approval changes both files. Two atomic renames are not one atomic change: a crash between them
//! would leave a state that never existed. So a commit first appends the whole batch as one checksummed
//! line to `nodes/journal.jsonl` and fsyncs it — that is the moment the batch is durable and may be
//! acknowledged — and the two files are rewritten afterwards as a checkpoint (temp file, fsync, rename,
//! fsync of the directory), after which the journal is emptied. Loading reads the files and replays the
//! journal over them; every journal entry is a whole record put or a delete, so replaying entries the
//! files already hold changes nothing. A torn last line (a crash during the append) was never
//! acknowledged and is dropped; damage anywhere else is reported, never guessed around.
//!
//! # The audit trail
//!
//! A batch's audit entries ([`Batch::audit`]) travel in the same journal line as its changes, so they
//! are durable exactly when the changes are. After the journal's fsync they are appended to
//! `nodes/audit.jsonl` without an fsync of their own; a checkpoint fsyncs the audit file before it
//! empties the journal. At load, entries the journal holds beyond the audit file's last entry are
//! appended again — a crash between the two appends, or a line cut short in `audit.jsonl`, loses
//! nothing. A cut-short last line is moved to `nodes/audit.torn` (never silently dropped) and the log
//! says whether the journal restored its entry. `audit.jsonl` is rotated into `audit.N.jsonl` before
//! it would pass [`audit_log::AuditLimits::max_bytes`], and only the newest
//! [`audit_log::AuditLimits::keep`] rotated files are kept, so the trail's disk use is bounded; the
//! chain continues in the new file.
//!
//! # An OpenClaw device store
//!
//! At the first start on an OpenClaw 2026.4 state directory, its `devices/` store is imported once
//! (see the `import` module): node devices stay paired, plaintext tokens become hashes, the source is
//! only read.
//!
//! Checkpoints happen at load, at clean shutdown, and during commits at most once per
//! [`FileStore::CHECKPOINT_INTERVAL`] — longer for a store whose rewrite takes long, see
//! [`FileStore::checkpoint_interval`] — (or when the journal passes [`FileStore::JOURNAL_LIMIT`]), so a
//! commit costs one fsync however many nodes are paired; [`FileStore::checkpoint_due`] tells the shell
//! when an idle store still owes one.

use crate::audit_log;
use crate::fsutil::{describe, private_subdir, read_private, write_atomic};
use crate::paths::nodes_dir;
use audit_file::AuditFile;
use journal::Journal;
use pairing_core::enroll::Enrollment;
use pairing_core::store::{Batch, Change, Snapshot, Store, StoreError};
use pairing_core::{NodeId, PairedNode, PendingRequest, RequestId};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod audit_file;
mod import;
mod journal;

pub use import::ImportReport;

/// The file store. See the module documentation for the layout and the crash-safety argument.
pub struct FileStore {
    dir: PathBuf,
    journal: Journal,
    pending: BTreeMap<RequestId, PendingRequest>,
    paired: BTreeMap<NodeId, PairedNode>,
    enrollments: BTreeMap<String, Enrollment>,
    last_checkpoint: Instant,
    /// How often a checkpoint is written while commits arrive: [`FileStore::CHECKPOINT_INTERVAL`], or
    /// twenty times what the last one took, so rewriting a large store (10 000 devices: 12 MiB)
    /// takes at most a twentieth of the thread that owns the core.
    checkpoint_every: Duration,
    /// Checkpoints failing (a full disk): how many in a row, and when the next may be tried.
    checkpoint_failing: Option<(u32, Instant)>,
    audit: AuditFile,
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> StoreError {
    StoreError::io_at(path, describe(path, what, &e), e)
}

fn corrupt(path: &Path, problem: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt_at(
        path,
        format!(
            "{} is corrupt: {problem}; fix or move it away, it was not modified",
            path.display()
        ),
    )
}

/// Reads a JSON object file; a missing file is an empty object.
fn read_object(path: &Path) -> Result<Map<String, Value>, StoreError> {
    let bytes = match read_private(path) {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(Map::new()),
        Err(e) => return Err(io_err(path, "cannot read", e)),
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(corrupt(path, "expected a JSON object keyed by id")),
        Err(e) => Err(corrupt(path, e)),
    }
}

impl FileStore {
    /// A checkpoint is written at least this often while commits arrive.
    pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);
    /// A checkpoint is written when the journal grows past this many bytes.
    pub const JOURNAL_LIMIT: u64 = 8 * 1024 * 1024;

    /// A store under `<state>/nodes` (created 0700 on load).
    pub fn new(state_dir: &Path) -> Self {
        let dir = nodes_dir(state_dir);
        FileStore {
            journal: Journal::new(&dir),
            audit: AuditFile::new(&dir),
            dir,
            pending: BTreeMap::new(),
            paired: BTreeMap::new(),
            enrollments: BTreeMap::new(),
            last_checkpoint: Instant::now(),
            checkpoint_every: Self::CHECKPOINT_INTERVAL,
            checkpoint_failing: None,
        }
    }
    /// Rotates the audit file at `bytes` instead of [`audit_log::ROTATE_BYTES`] (for tests).
    pub fn with_audit_rotation(mut self, bytes: u64) -> Self {
        self.audit.limits.max_bytes = bytes.max(1);
        self
    }

    /// Keeps the audit trail within `limits` (`--audit-max-bytes`, `--audit-keep`).
    pub fn with_audit_limits(mut self, limits: audit_log::AuditLimits) -> Self {
        self.audit.limits = audit_log::AuditLimits {
            max_bytes: limits.max_bytes.max(1),
            keep: limits.keep.max(1),
        };
        self
    }

    /// `nodes/audit.jsonl`.
    pub fn audit_path(&self) -> PathBuf {
        self.audit.path()
    }

    /// `nodes/pending.json`.
    pub fn pending_path(&self) -> PathBuf {
        self.dir.join("pending.json")
    }

    /// `nodes/paired.json`.
    pub fn paired_path(&self) -> PathBuf {
        self.dir.join("paired.json")
    }

    /// `nodes/enrollments.json`.
    pub fn enrollments_path(&self) -> PathBuf {
        self.dir.join("enrollments.json")
    }

    /// `nodes/journal.jsonl`.
    pub fn journal_path(&self) -> PathBuf {
        self.journal.path().to_owned()
    }

    /// Whether the files lag behind the journal.
    pub fn checkpoint_due(&self) -> bool {
        self.journal.bytes() > 0
    }

    /// How long until the next checkpoint may be written: the interval (see the field's docs), or
    /// longer while checkpoints fail and back off.
    pub fn checkpoint_interval(&self) -> Duration {
        match self.checkpoint_failing {
            Some((_, retry)) => self
                .checkpoint_every
                .max(retry.saturating_duration_since(Instant::now())),
            None => self.checkpoint_every,
        }
    }

    /// Whether the last checkpoint is older than the interval (and a failing one may be retried).
    pub fn checkpoint_stale(&self) -> bool {
        self.last_checkpoint.elapsed() >= self.checkpoint_every
            && self
                .checkpoint_failing
                .is_none_or(|(_, retry)| Instant::now() >= retry)
    }

    /// The longest wait between two attempts at a failing checkpoint.
    pub const CHECKPOINT_RETRY_MAX: Duration = Duration::from_secs(30);

    /// Writes a checkpoint, logging a failure once per episode (the journal keeps every change
    /// meanwhile) and backing off — twice as long after each failure, up to
    /// [`FileStore::CHECKPOINT_RETRY_MAX`] — and logging once when it works again.
    pub fn try_checkpoint(&mut self) {
        match self.checkpoint() {
            Ok(()) => {
                if let Some((failures, _)) = self.checkpoint_failing.take() {
                    tracing::info!(
                        "checkpoint written again after {failures} failed attempts; the files are \
                         up to date with the journal"
                    );
                }
            }
            Err(e) => {
                let failures = self.checkpoint_failing.map_or(0, |(n, _)| n) + 1;
                if failures == 1 {
                    tracing::warn!(
                        "checkpoint failed, the journal keeps every change; retrying with backoff \
                         (one line when it works again): {e}"
                    );
                }
                let wait = self
                    .checkpoint_every
                    .saturating_mul(1 << failures.min(16))
                    .min(Self::CHECKPOINT_RETRY_MAX);
                self.checkpoint_failing = Some((failures, Instant::now() + wait));
            }
        }
    }

    fn apply(&mut self, change: &Change) {
        change.apply(&mut self.pending, &mut self.paired, &mut self.enrollments);
    }

    /// Applies every batch the journal holds; their audit entries not yet in the audit file are owed
    /// to it.
    fn replay_journal(&mut self) -> Result<(), StoreError> {
        for entry in self.journal.read()? {
            for c in &entry.changes {
                self.apply(c);
            }
            for e in &entry.audit {
                self.audit.owe_replayed(e);
            }
        }
        Ok(())
    }

    /// Rewrites both files from the current state and empties the journal (after the audit file holds,
    /// durably, every entry the journal carries).
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        let started = Instant::now();
        self.audit.write()?;
        self.audit.sync()?;
        let pending = serde_json::to_vec_pretty(&self.pending)
            .map_err(|e| StoreError::io(format!("cannot serialise pending requests: {e}")))?;
        let paired = serde_json::to_vec_pretty(&self.paired)
            .map_err(|e| StoreError::io(format!("cannot serialise paired nodes: {e}")))?;
        let (pp, np) = (self.pending_path(), self.paired_path());
        write_atomic(&pp, &pending).map_err(|e| io_err(&pp, "cannot write", e))?;
        write_atomic(&np, &paired).map_err(|e| io_err(&np, "cannot write", e))?;
        // Written only once there is something to keep, so a store without any stays as it was.
        let ep = self.enrollments_path();
        if !self.enrollments.is_empty() || ep.exists() {
            let enrollments = serde_json::to_vec_pretty(&self.enrollments)
                .map_err(|e| StoreError::io(format!("cannot serialise enrollments: {e}")))?;
            write_atomic(&ep, &enrollments).map_err(|e| io_err(&ep, "cannot write", e))?;
        }
        self.journal.empty(&self.dir)?;
        self.last_checkpoint = Instant::now();
        self.checkpoint_every = Self::CHECKPOINT_INTERVAL.max(started.elapsed() * 20);
        Ok(())
    }
}

impl Store for FileStore {
    /// `openclaw.json` beside `nodes/` gets the rotated operator token ([`crate::gateway_config`]).
    fn save_operator_token(
        &mut self,
        token: &pairing_core::Token,
        retired: &[pairing_core::TokenHash],
    ) -> Result<(), StoreError> {
        let state_dir = self.dir.parent().unwrap_or(&self.dir);
        crate::gateway_config::save_token(state_dir, token, retired)
            .map_err(|e| StoreError::io(format!("{e:#}")))
    }

    fn load(&mut self) -> Result<Snapshot, StoreError> {
        // First: a link in place of `nodes/` would send every read and write elsewhere.
        private_subdir(&self.dir).map_err(|e| io_err(&self.dir, "cannot create", e))?;
        let (pp, np) = (self.pending_path(), self.paired_path());
        let mut legacy = false;
        for (key, value) in read_object(&pp)? {
            let req = PendingRequest::from_stored(value)
                .map_err(|e| corrupt(&pp, format!("entry {key:?}: {e}")))?;
            self.pending.insert(req.request_id.clone(), req);
        }
        for (key, value) in read_object(&np)? {
            let (node, was_legacy) = PairedNode::from_stored(value)
                .map_err(|e| corrupt(&np, format!("entry {key:?}: {e}")))?;
            legacy |= was_legacy;
            self.paired.insert(node.node_id.clone(), node);
        }
        let ep = self.enrollments_path();
        for (key, value) in read_object(&ep)? {
            let e: Enrollment = serde_json::from_value(value)
                .map_err(|e| corrupt(&ep, format!("entry {key:?}: {e}")))?;
            self.enrollments.insert(e.id.clone(), e);
        }
        self.audit.load()?;
        let audited = self.audit.head.seq;
        self.replay_journal()?;
        self.audit.report_torn(audited);
        let journal_exists = self.journal.path().exists();
        if legacy || journal_exists || !pp.exists() || !np.exists() || self.audit.owes() {
            // Legacy plaintext tokens are rewritten hashed now; a replayed journal is folded in.
            self.checkpoint()?;
        }
        if let Some(r) = self.import_openclaw_devices(crate::clock::now_ms())? {
            tracing::info!(
                "imported {} paired node devices and {} pending requests from the OpenClaw device store {} (left untouched); {}",
                r.paired,
                r.pending,
                r.from.display(),
                if r.skipped.is_empty() {
                    "nothing skipped".to_owned()
                } else {
                    format!("skipped {}: {}", r.skipped.len(), r.skipped.join("; "))
                }
            );
        }
        Ok(Snapshot {
            pending: self.pending.values().cloned().collect(),
            paired: self.paired.values().cloned().collect(),
            enrollments: self.enrollments.values().cloned().collect(),
            audit_head: self.audit.head.clone(),
        })
    }

    fn commit(&mut self, batch: &Batch<'_>) -> Result<(), StoreError> {
        if batch.changes.is_empty() && batch.audit.is_empty() {
            return Ok(());
        }
        self.journal
            .append(&journal::line(batch.changes, batch.audit)?)?;
        for c in batch.changes {
            self.apply(c);
        }
        self.audit.owe(batch.audit);
        self.audit.catch_up();
        if self.checkpoint_stale()
            || (self.journal.bytes() >= Self::JOURNAL_LIMIT
                && self
                    .checkpoint_failing
                    .is_none_or(|(_, retry)| Instant::now() >= retry))
        {
            // The batch is already durable in the journal; a failed checkpoint is retried later.
            self.try_checkpoint();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
