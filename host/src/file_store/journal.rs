//! `nodes/journal.jsonl`, the store's write-ahead journal: one line per committed batch, appended and
//! fsynced before the batch is acknowledged, emptied at each checkpoint.
//!
//! # A line
//!
//! `<hex SHA-256 of the JSON> <JSON>\n`. The JSON is the batch's changes as an array, or, when the
//! batch has audit entries, `{"audit": [entries], "changes": [changes]}`, each entry as its
//! `audit.jsonl` line holds it. A change is an object tagged by `op`: `putPending` and `putPaired`
//! carry the whole record as `value`, `deletePending` and `deletePaired` its `id`, `seen` the node's
//! `id` and the time `at`. These shapes are the serde types below ([`Op`], [`WithAudit`]); a line is
//! written through a [`serde_json::Value`], as it always was, so its object keys come in byte order
//! and its bytes are those earlier versions wrote (`journal/old_lines.jsonl` holds two, read and
//! rewritten by the tests).

use super::{corrupt, io_err};
use crate::fsutil::{open_private, read_private, sync_dir};
use pairing_core::audit::AuditEntry;
use pairing_core::enroll::Enrollment;
use pairing_core::secret::sha256_hex;
use pairing_core::store::{Change, StoreError};
use pairing_core::{NodeId, PairedNode, PendingRequest, RequestId};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The journal file, open for appending once written to.
pub(super) struct Journal {
    path: PathBuf,
    file: Option<File>,
    /// Bytes appended since the last checkpoint.
    bytes: u64,
}

/// One batch read back from the journal.
#[derive(Debug, PartialEq)]
pub(super) struct Entry {
    /// The batch's changes, in order.
    pub changes: Vec<Change>,
    /// Its audit entries, as JSON objects (each verified later, by the audit trail's chain).
    pub audit: Vec<Value>,
}

impl Journal {
    /// The journal `journal.jsonl` in the store's directory `dir`.
    pub(super) fn new(dir: &Path) -> Journal {
        Journal {
            path: dir.join("journal.jsonl"),
            file: None,
            bytes: 0,
        }
    }

    /// `nodes/journal.jsonl`.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes appended since the last checkpoint: the files lag behind the journal when not 0.
    pub(super) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends `line` and fsyncs: the batch is durable when this returns `Ok`. On failure the file is
    /// cut back to where it was (the batch is not acknowledged, so it must not come back at the next
    /// load, and a partial line must not sit before the next batch's) and reopened next time.
    pub(super) fn append(&mut self, line: &[u8]) -> Result<(), StoreError> {
        let path = &self.path;
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                let f = open_private(
                    path,
                    OpenOptions::new().create(true).append(true).mode(0o600),
                )
                .map_err(|e| io_err(path, "cannot open", e))?;
                self.file.insert(f)
            }
        };
        if let Err(e) = file.write_all(line).and_then(|()| file.sync_data()) {
            let _ = file.set_len(self.bytes);
            self.file = None;
            return Err(io_err(path, "cannot append to", e));
        }
        self.bytes += line.len() as u64;
        Ok(())
    }

    /// Empties the journal, durably (the file, then its directory `dir`): after a checkpoint wrote
    /// everything it holds to the files.
    pub(super) fn empty(&mut self, dir: &Path) -> Result<(), StoreError> {
        let path = &self.path;
        // O_NOFOLLOW: truncating through a planted link would empty its target.
        let file = open_private(
            path,
            OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .mode(0o600),
        )
        .map_err(|e| io_err(path, "cannot open", e))?;
        file.sync_all()
            .map_err(|e| io_err(path, "cannot sync", e))?;
        sync_dir(dir).map_err(|e| io_err(dir, "cannot sync", e))?;
        self.file = Some(file);
        self.bytes = 0;
        Ok(())
    }

    /// Every batch the journal holds, oldest first. A torn last line (a crash during its append: that
    /// batch was never acknowledged) is dropped; damage anywhere else is an error naming the line.
    pub(super) fn read(&self) -> Result<Vec<Entry>, StoreError> {
        let path = &self.path;
        let text = match read_private(path) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(Vec::new()),
            Err(e) => return Err(io_err(path, "cannot read", e)),
        };
        let complete = text.ends_with(b"\n");
        let lines: Vec<&[u8]> = text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let mut entries = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            let last = i + 1 == lines.len();
            match parse(line) {
                Ok(entry) => entries.push(entry),
                Err(_) if last && !complete => {}
                Err(problem) => return Err(corrupt(path, format!("line {}: {problem}", i + 1))),
            }
        }
        Ok(entries)
    }
}

/// One change as a line holds it, borrowed from the batch to be written.
#[derive(Serialize)]
#[serde(tag = "op", rename_all = "camelCase")]
enum OpRef<'a> {
    PutPending { value: &'a PendingRequest },
    DeletePending { id: &'a RequestId },
    PutPaired { value: &'a PairedNode },
    DeletePaired { id: &'a NodeId },
    Seen { id: &'a NodeId, at: u64 },
    PutEnrollment { value: &'a Enrollment },
    DeleteEnrollment { id: &'a str },
}

impl<'a> From<&'a Change> for OpRef<'a> {
    fn from(c: &'a Change) -> Self {
        match c {
            Change::PutPending(value) => OpRef::PutPending { value },
            Change::DeletePending(id) => OpRef::DeletePending { id },
            Change::PutPaired(value) => OpRef::PutPaired { value },
            Change::DeletePaired(id) => OpRef::DeletePaired { id },
            Change::Seen(id, at) => OpRef::Seen { id, at: *at },
            Change::PutEnrollment(value) => OpRef::PutEnrollment { value },
            Change::DeleteEnrollment(id) => OpRef::DeleteEnrollment { id },
        }
    }
}

/// One change as read back from a line.
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
enum Op {
    PutPending {
        value: PendingRequest,
    },
    DeletePending {
        id: RequestId,
    },
    PutPaired {
        #[serde(deserialize_with = "stored_paired")]
        value: PairedNode,
    },
    DeletePaired {
        id: NodeId,
    },
    Seen {
        id: NodeId,
        at: u64,
    },
    PutEnrollment {
        value: Enrollment,
    },
    DeleteEnrollment {
        id: String,
    },
}

impl From<Op> for Change {
    fn from(op: Op) -> Self {
        match op {
            Op::PutPending { value } => Change::PutPending(value),
            Op::DeletePending { id } => Change::DeletePending(id),
            Op::PutPaired { value } => Change::PutPaired(value),
            Op::DeletePaired { id } => Change::DeletePaired(id),
            Op::Seen { id, at } => Change::Seen(id, at),
            Op::PutEnrollment { value } => Change::PutEnrollment(value),
            Op::DeleteEnrollment { id } => Change::DeleteEnrollment(id),
        }
    }
}

/// A paired record as `paired.json` holds it ([`PairedNode::from_stored`]: a plaintext token is
/// hashed, never kept).
fn stored_paired<'de, D: Deserializer<'de>>(d: D) -> Result<PairedNode, D::Error> {
    let value = Value::deserialize(d)?;
    PairedNode::from_stored(value)
        .map(|(node, _)| node)
        .map_err(serde::de::Error::custom)
}

/// The body of a line whose batch has audit entries (for writing).
#[derive(Serialize)]
struct WithAuditRef<'a> {
    audit: &'a [AuditEntry],
    changes: Vec<OpRef<'a>>,
}

/// The body of a line whose batch has audit entries (read back).
#[derive(Deserialize)]
struct WithAudit {
    audit: Vec<Value>,
    changes: Vec<Op>,
}

/// The line of a batch of `changes` and `audit` entries, with its newline.
pub(super) fn line(changes: &[Change], audit: &[AuditEntry]) -> Result<Vec<u8>, StoreError> {
    let changes: Vec<OpRef<'_>> = changes.iter().map(OpRef::from).collect();
    let body = if audit.is_empty() {
        serde_json::to_value(&changes)
    } else {
        serde_json::to_value(WithAuditRef { audit, changes })
    }
    .map_err(|e| StoreError::io(format!("cannot serialise a batch for the journal: {e}")))?
    .to_string();
    Ok(format!("{} {body}\n", sha256_hex(body.as_bytes())).into_bytes())
}

/// Reads one line (without its newline); the error says what is wrong with it.
fn parse(line: &[u8]) -> Result<Entry, String> {
    let text = std::str::from_utf8(line).map_err(|_| "not UTF-8".to_owned())?;
    let (sum, body) = text.split_once(' ').ok_or("no checksum")?;
    if sha256_hex(body.as_bytes()) != sum {
        return Err("checksum mismatch".into());
    }
    let body: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let (changes, audit) = match body {
        Value::Array(_) => (
            serde_json::from_value::<Vec<Op>>(body).map_err(|e| e.to_string())?,
            Vec::new(),
        ),
        Value::Object(_) => {
            let w: WithAudit = serde_json::from_value(body).map_err(|e| e.to_string())?;
            (w.changes, w.audit)
        }
        _ => return Err("neither an array nor an object".into()),
    };
    Ok(Entry {
        changes: changes.into_iter().map(Change::from).collect(),
        audit,
    })
}

#[cfg(test)]
mod tests;
