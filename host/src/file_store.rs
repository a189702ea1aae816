//! The durable store: `<state>/nodes/pending.json` and `<state>/nodes/paired.json` in OpenClaw's format
//! (with `tokenHash` instead of `token`), made crash-safe by a write-ahead journal beside them.
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
//! Checkpoints happen at load, at clean shutdown, and during commits at most once per
//! [`FileStore::CHECKPOINT_INTERVAL`] (or when the journal passes [`FileStore::JOURNAL_LIMIT`]), so a
//! commit costs one fsync however many nodes are paired; [`FileStore::checkpoint_due`] tells the shell
//! when an idle store still owes one.

use crate::fsutil::{private_dir, sync_dir, write_atomic};
use crate::paths::nodes_dir;
use pairing_core::secret::sha256_hex;
use pairing_core::store::{Batch, Change, Snapshot, Store, StoreError};
use pairing_core::{NodeId, PairedNode, PendingRequest, RequestId};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The file store. See the module documentation for the layout and the crash-safety argument.
pub struct FileStore {
    dir: PathBuf,
    journal: Option<File>,
    journal_bytes: u64,
    pending: BTreeMap<RequestId, PendingRequest>,
    paired: BTreeMap<NodeId, PairedNode>,
    last_checkpoint: Instant,
}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> StoreError {
    StoreError::Io(format!("{what} {}: {e}", path.display()))
}

fn corrupt(path: &Path, problem: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!(
        "{} is corrupt: {problem}; fix or move it away, it was not modified",
        path.display()
    ))
}

/// Reads a JSON object file; a missing file is an empty object.
fn read_object(path: &Path) -> Result<Map<String, Value>, StoreError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => return Err(io_err(path, "cannot read", e)),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(corrupt(path, "expected a JSON object keyed by id")),
        Err(e) => Err(corrupt(path, e)),
    }
}

fn change_json(c: &Change) -> Value {
    match c {
        Change::PutPending(p) => json!({ "op": "putPending", "value": p }),
        Change::DeletePending(id) => json!({ "op": "deletePending", "id": id }),
        Change::PutPaired(n) => json!({ "op": "putPaired", "value": n }),
        Change::DeletePaired(id) => json!({ "op": "deletePaired", "id": id }),
    }
}

impl FileStore {
    /// A checkpoint is written at least this often while commits arrive.
    pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);
    /// A checkpoint is written when the journal grows past this many bytes.
    pub const JOURNAL_LIMIT: u64 = 8 * 1024 * 1024;

    /// A store under `<state>/nodes` (created 0700 on load).
    pub fn new(state_dir: &Path) -> Self {
        FileStore {
            dir: nodes_dir(state_dir),
            journal: None,
            journal_bytes: 0,
            pending: BTreeMap::new(),
            paired: BTreeMap::new(),
            last_checkpoint: Instant::now(),
        }
    }

    /// `nodes/pending.json`.
    pub fn pending_path(&self) -> PathBuf {
        self.dir.join("pending.json")
    }

    /// `nodes/paired.json`.
    pub fn paired_path(&self) -> PathBuf {
        self.dir.join("paired.json")
    }

    /// `nodes/journal.jsonl`.
    pub fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }

    /// Whether the files lag behind the journal.
    pub fn checkpoint_due(&self) -> bool {
        self.journal_bytes > 0
    }

    /// Whether the last checkpoint is older than [`FileStore::CHECKPOINT_INTERVAL`].
    pub fn checkpoint_stale(&self) -> bool {
        self.last_checkpoint.elapsed() >= Self::CHECKPOINT_INTERVAL
    }

    fn apply(&mut self, change: &Change) {
        change.apply(&mut self.pending, &mut self.paired);
    }

    fn replay_journal(&mut self) -> Result<(), StoreError> {
        let path = self.journal_path();
        let text = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err(&path, "cannot read", e)),
        };
        let complete = text.ends_with(b"\n");
        let lines: Vec<&[u8]> = text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        for (i, line) in lines.iter().enumerate() {
            let last = i + 1 == lines.len();
            match parse_journal_line(line) {
                Ok(changes) => {
                    for c in changes {
                        self.apply(&c);
                    }
                }
                // A crash during the append: that batch was never acknowledged.
                Err(_) if last && !complete => {}
                Err(problem) => return Err(corrupt(&path, format!("line {}: {problem}", i + 1))),
            }
        }
        Ok(())
    }

    /// Rewrites both files from the current state and empties the journal.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        let pending = serde_json::to_vec_pretty(&self.pending)
            .map_err(|e| StoreError::Io(format!("cannot serialise pending requests: {e}")))?;
        let paired = serde_json::to_vec_pretty(&self.paired)
            .map_err(|e| StoreError::Io(format!("cannot serialise paired nodes: {e}")))?;
        let (pp, np) = (self.pending_path(), self.paired_path());
        write_atomic(&pp, &pending).map_err(|e| io_err(&pp, "cannot write", e))?;
        write_atomic(&np, &paired).map_err(|e| io_err(&np, "cannot write", e))?;
        let jp = self.journal_path();
        let journal = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&jp)
            .map_err(|e| io_err(&jp, "cannot open", e))?;
        journal
            .sync_all()
            .map_err(|e| io_err(&jp, "cannot sync", e))?;
        sync_dir(&self.dir).map_err(|e| io_err(&self.dir, "cannot sync", e))?;
        self.journal = Some(journal);
        self.journal_bytes = 0;
        self.last_checkpoint = Instant::now();
        Ok(())
    }

    fn append(&mut self, line: &[u8]) -> Result<(), StoreError> {
        let jp = self.journal_path();
        let journal = match &mut self.journal {
            Some(j) => j,
            None => {
                let j = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(&jp)
                    .map_err(|e| io_err(&jp, "cannot open", e))?;
                self.journal.insert(j)
            }
        };
        journal
            .write_all(line)
            .and_then(|()| journal.sync_data())
            .map_err(|e| io_err(&jp, "cannot append to", e))?;
        self.journal_bytes += line.len() as u64;
        Ok(())
    }
}

/// A journal line is `<hex sha256 of the JSON> <JSON array of changes>`.
fn journal_line(changes: &[Change]) -> Vec<u8> {
    let body = Value::Array(changes.iter().map(change_json).collect()).to_string();
    format!("{} {body}\n", sha256_hex(body.as_bytes())).into_bytes()
}

fn parse_journal_line(line: &[u8]) -> Result<Vec<Change>, String> {
    let text = std::str::from_utf8(line).map_err(|_| "not UTF-8".to_owned())?;
    let (sum, body) = text.split_once(' ').ok_or("no checksum")?;
    if sha256_hex(body.as_bytes()) != sum {
        return Err("checksum mismatch".into());
    }
    let items: Vec<Value> = serde_json::from_str(body).map_err(|e| e.to_string())?;
    items
        .into_iter()
        .map(|item| {
            let id = || item["id"].as_str().map(str::to_owned).ok_or("missing id");
            Ok(match item["op"].as_str() {
                Some("putPending") => Change::PutPending(
                    PendingRequest::from_stored(item["value"].clone())
                        .map_err(|e| e.to_string())?,
                ),
                Some("deletePending") => Change::DeletePending(RequestId(id()?)),
                Some("putPaired") => Change::PutPaired(
                    PairedNode::from_stored(item["value"].clone())
                        .map_err(|e| e.to_string())?
                        .0,
                ),
                Some("deletePaired") => Change::DeletePaired(NodeId(id()?)),
                _ => return Err("unknown operation".to_owned()),
            })
        })
        .collect()
}

impl Store for FileStore {
    fn load(&mut self) -> Result<Snapshot, StoreError> {
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
        self.replay_journal()?;
        private_dir(&self.dir).map_err(|e| io_err(&self.dir, "cannot create", e))?;
        let journal_exists = self.journal_path().exists();
        if legacy || journal_exists || !pp.exists() || !np.exists() {
            // Legacy plaintext tokens are rewritten hashed now; a replayed journal is folded in.
            self.checkpoint()?;
        }
        Ok(Snapshot {
            pending: self.pending.values().cloned().collect(),
            paired: self.paired.values().cloned().collect(),
            audit_head: Default::default(),
        })
    }

    fn commit(&mut self, batch: &Batch<'_>) -> Result<(), StoreError> {
        if batch.changes.is_empty() {
            return Ok(());
        }
        self.append(&journal_line(batch.changes))?;
        for c in batch.changes {
            self.apply(c);
        }
        if self.last_checkpoint.elapsed() >= Self::CHECKPOINT_INTERVAL
            || self.journal_bytes >= Self::JOURNAL_LIMIT
        {
            // The batch is already durable in the journal; a failed checkpoint is retried later.
            if let Err(e) = self.checkpoint() {
                tracing::warn!("checkpoint failed, the journal keeps every change: {e}");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
