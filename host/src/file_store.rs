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
use crate::fsutil::{describe, open_private, private_subdir, read_private, sync_dir, write_atomic};
use crate::paths::nodes_dir;
use pairing_core::audit::{Head, canonical_json};
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
    /// How often a checkpoint is written while commits arrive: [`FileStore::CHECKPOINT_INTERVAL`], or
    /// twenty times what the last one took, so rewriting a large store (10 000 devices: 12 MiB)
    /// takes at most a twentieth of the thread that owns the core.
    checkpoint_every: Duration,
    /// Checkpoints failing (a full disk): how many in a row, and when the next may be tried.
    checkpoint_failing: Option<(u32, Instant)>,
    audit: AuditFile,
}

/// The audit file being appended to, and what is owed to it.
struct AuditFile {
    file: Option<File>,
    bytes: u64,
    /// Highest `N` of the rotated files `audit.N.jsonl`.
    rotated: u64,
    /// The last entry written, or owed.
    head: Head,
    /// Lines durable in the journal and not yet written to the file (a failed write is retried).
    owed: Vec<u8>,
    /// Written since the last fsync.
    unsynced: bool,
    /// Bytes of a cut-short last line found at load.
    torn_at_load: Option<usize>,
    /// Writing owed lines failed and was logged; logged again only once it works.
    failing: bool,
    limits: audit_log::AuditLimits,
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

fn change_json(c: &Change) -> Value {
    match c {
        Change::PutPending(p) => json!({ "op": "putPending", "value": p }),
        Change::DeletePending(id) => json!({ "op": "deletePending", "id": id }),
        Change::PutPaired(n) => json!({ "op": "putPaired", "value": n }),
        Change::DeletePaired(id) => json!({ "op": "deletePaired", "id": id }),
        Change::Seen(id, at) => json!({ "op": "seen", "id": id, "at": at }),
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
            checkpoint_every: Self::CHECKPOINT_INTERVAL,
            checkpoint_failing: None,
            audit: AuditFile {
                file: None,
                bytes: 0,
                rotated: 0,
                head: Head::default(),
                owed: Vec::new(),
                unsynced: false,
                torn_at_load: None,
                failing: false,
                limits: audit_log::AuditLimits::default(),
            },
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
        self.dir.join(audit_log::CURRENT)
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
        change.apply(&mut self.pending, &mut self.paired);
    }

    fn replay_journal(&mut self) -> Result<(), StoreError> {
        let path = self.journal_path();
        let text = match read_private(&path) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(()),
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
                Ok((changes, audit)) => {
                    for c in changes {
                        self.apply(&c);
                    }
                    for entry in audit {
                        self.owe_replayed(&entry);
                    }
                }
                // A crash during the append: that batch was never acknowledged.
                Err(_) if last && !complete => {}
                Err(problem) => return Err(corrupt(&path, format!("line {}: {problem}", i + 1))),
            }
        }
        Ok(())
    }

    /// Finds the end of the audit chain in the last audit file; drops a line cut short by a crash
    /// (its entry is still in the journal, which is replayed next).
    fn load_audit(&mut self) -> Result<(), StoreError> {
        let files = audit_log::files(&self.dir).map_err(|e| io_err(&self.dir, "cannot list", e))?;
        self.audit.rotated = files
            .iter()
            .filter_map(|p| p.file_name()?.to_str().and_then(audit_log::rotated_number))
            .max()
            .unwrap_or(0);
        let current = self.audit_path();
        // The newest file with an entry holds the head (the current file may be new and empty).
        for path in files.iter().rev() {
            let tail = audit_log::tail(path).map_err(|e| io_err(path, "cannot read", e))?;
            if tail.torn > 0 {
                if *path != current {
                    return Err(corrupt(path, "its last line is cut short"));
                }
                self.keep_torn_audit_line(path, tail.len - tail.torn)?;
            }
            if path == &current {
                self.audit.bytes = tail.len - tail.torn;
            }
            if let Some(last) = tail.last {
                self.audit.head = head_of(&last).ok_or_else(|| {
                    corrupt(
                        path,
                        "its last line has no seq and hash to continue the audit chain from; \
                         run `openclaw nodes audit --verify`",
                    )
                })?;
                break;
            }
        }
        Ok(())
    }

    /// Moves the cut-short last line of `path` (from byte `keep` on) to `nodes/audit.torn`, so the
    /// file ends with a whole line again and nothing is silently dropped.
    fn keep_torn_audit_line(&mut self, path: &Path, keep: u64) -> Result<(), StoreError> {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = open_private(path, OpenOptions::new().read(true).write(true))
            .map_err(|e| io_err(path, "cannot open", e))?;
        let mut fragment = Vec::new();
        f.seek(SeekFrom::Start(keep))
            .and_then(|_| f.read_to_end(&mut fragment))
            .map_err(|e| io_err(path, "cannot read", e))?;
        fragment.push(b'\n');
        let torn_path = self.dir.join("audit.torn");
        open_private(
            &torn_path,
            OpenOptions::new().create(true).append(true).mode(0o600),
        )
        .and_then(|mut t| t.write_all(&fragment).and_then(|()| t.sync_all()))
        .map_err(|e| io_err(&torn_path, "cannot write", e))?;
        f.set_len(keep)
            .and_then(|()| f.sync_all())
            .map_err(|e| io_err(path, "cannot truncate", e))?;
        self.audit.torn_at_load = Some(fragment.len() - 1);
        Ok(())
    }

    /// An entry found in the journal at load: owed to the audit file unless it already holds it.
    fn owe_replayed(&mut self, entry: &Value) {
        let Some(seq) = entry["seq"].as_u64() else {
            return;
        };
        if seq <= self.audit.head.seq {
            return;
        }
        let mut line = canonical_json(entry);
        line.push('\n');
        self.audit.owed.extend_from_slice(line.as_bytes());
        self.audit.head = Head {
            seq,
            hash: entry["hash"].as_str().unwrap_or_default().to_owned(),
        };
    }

    /// Writes what is owed to the audit file (rotating it first when it is full). No fsync.
    fn write_audit(&mut self) -> Result<(), StoreError> {
        if self.audit.owed.is_empty() {
            return Ok(());
        }
        if self.audit.bytes > 0
            && self.audit.bytes + self.audit.owed.len() as u64 > self.audit.limits.max_bytes
        {
            self.rotate_audit()?;
        }
        let path = self.audit_path();
        let file = match &mut self.audit.file {
            Some(f) => f,
            None => {
                let f = open_private(
                    &path,
                    OpenOptions::new().create(true).append(true).mode(0o600),
                )
                .map_err(|e| io_err(&path, "cannot open", e))?;
                self.audit.file.insert(f)
            }
        };
        if let Err(e) = file.write_all(&self.audit.owed) {
            // A partial write would leave a torn line in the middle of the file: cut it off, and
            // reopen next time.
            let _ = file.set_len(self.audit.bytes);
            self.audit.file = None;
            return Err(io_err(&path, "cannot append to", e));
        }
        self.audit.bytes += self.audit.owed.len() as u64;
        self.audit.owed.clear();
        self.audit.unsynced = true;
        Ok(())
    }

    /// Moves `audit.jsonl` to the next `audit.N.jsonl`; the next write starts a new file.
    fn rotate_audit(&mut self) -> Result<(), StoreError> {
        self.sync_audit()?;
        let from = self.audit_path();
        let to = audit_log::rotated_path(&self.dir, self.audit.rotated + 1);
        std::fs::rename(&from, &to).map_err(|e| io_err(&from, "cannot rotate", e))?;
        sync_dir(&self.dir).map_err(|e| io_err(&self.dir, "cannot sync", e))?;
        self.audit.rotated += 1;
        self.audit.file = None;
        self.audit.bytes = 0;
        // The oldest go: the trail's disk use stays bounded whatever a flood makes it record.
        let removed = audit_log::prune(&self.dir, self.audit.rotated, self.audit.limits.keep)
            .map_err(|e| io_err(&self.dir, "cannot remove old audit files in", e))?;
        if removed > 0 {
            sync_dir(&self.dir).map_err(|e| io_err(&self.dir, "cannot sync", e))?;
        }
        tracing::info!(
            "audit trail rotated into {}{}",
            to.display(),
            if removed > 0 {
                format!(
                    "; {removed} oldest file{} removed (keeping {})",
                    if removed == 1 { "" } else { "s" },
                    self.audit.limits.keep
                )
            } else {
                String::new()
            }
        );
        Ok(())
    }

    fn sync_audit(&mut self) -> Result<(), StoreError> {
        if self.audit.unsynced
            && let Some(f) = &self.audit.file
        {
            f.sync_data()
                .map_err(|e| io_err(&self.audit_path(), "cannot sync", e))?;
        }
        self.audit.unsynced = false;
        Ok(())
    }

    /// Rewrites both files from the current state and empties the journal (after the audit file holds,
    /// durably, every entry the journal carries).
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        let started = Instant::now();
        self.write_audit()?;
        self.sync_audit()?;
        let pending = serde_json::to_vec_pretty(&self.pending)
            .map_err(|e| StoreError::io(format!("cannot serialise pending requests: {e}")))?;
        let paired = serde_json::to_vec_pretty(&self.paired)
            .map_err(|e| StoreError::io(format!("cannot serialise paired nodes: {e}")))?;
        let (pp, np) = (self.pending_path(), self.paired_path());
        write_atomic(&pp, &pending).map_err(|e| io_err(&pp, "cannot write", e))?;
        write_atomic(&np, &paired).map_err(|e| io_err(&np, "cannot write", e))?;
        let jp = self.journal_path();
        // O_NOFOLLOW: truncating through a planted link would empty its target.
        let journal = open_private(
            &jp,
            OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .mode(0o600),
        )
        .map_err(|e| io_err(&jp, "cannot open", e))?;
        journal
            .sync_all()
            .map_err(|e| io_err(&jp, "cannot sync", e))?;
        sync_dir(&self.dir).map_err(|e| io_err(&self.dir, "cannot sync", e))?;
        self.journal = Some(journal);
        self.journal_bytes = 0;
        self.last_checkpoint = Instant::now();
        self.checkpoint_every = Self::CHECKPOINT_INTERVAL.max(started.elapsed() * 20);
        Ok(())
    }

    fn append(&mut self, line: &[u8]) -> Result<(), StoreError> {
        let jp = self.journal_path();
        let journal = match &mut self.journal {
            Some(j) => j,
            None => {
                let j = open_private(
                    &jp,
                    OpenOptions::new().create(true).append(true).mode(0o600),
                )
                .map_err(|e| io_err(&jp, "cannot open", e))?;
                self.journal.insert(j)
            }
        };
        if let Err(e) = journal.write_all(line).and_then(|()| journal.sync_data()) {
            // The batch is not acknowledged, so it must not come back at the next load, and a partial
            // line must not sit before the next batch's: cut the journal back, reopen next time.
            let _ = journal.set_len(self.journal_bytes);
            self.journal = None;
            return Err(io_err(&jp, "cannot append to", e));
        }
        self.journal_bytes += line.len() as u64;
        Ok(())
    }
}

/// The `seq` and `hash` of an audit line, whether or not it verifies (verifying is `nodes audit
/// --verify`'s job; the gateway keeps serving and continues the chain from what the line says).
fn head_of(line: &str) -> Option<Head> {
    let v: Value = serde_json::from_str(line).ok()?;
    Some(Head {
        seq: v["seq"].as_u64()?,
        hash: v["hash"].as_str()?.to_owned(),
    })
}

/// A journal line is `<hex sha256 of the JSON> <JSON>`, the JSON being the array of changes, or
/// `{"audit": [entries], "changes": [changes]}` when the batch has audit entries. The entries come as
/// their audit-file lines (each a JSON object ending in a newline), so each is serialised once.
fn journal_line(batch: &Batch<'_>, audit_lines: &[u8]) -> Vec<u8> {
    let changes = Value::Array(batch.changes.iter().map(change_json).collect()).to_string();
    let body = if audit_lines.is_empty() {
        changes
    } else {
        // Whole JSON lines (serde escapes newlines inside strings): newline-separated becomes
        // comma-separated.
        let entries = String::from_utf8_lossy(audit_lines);
        let entries = entries.trim_end_matches('\n').replace('\n', ",");
        format!("{{\"audit\":[{entries}],\"changes\":{changes}}}")
    };
    format!("{} {body}\n", sha256_hex(body.as_bytes())).into_bytes()
}

type JournalEntry = (Vec<Change>, Vec<Value>);

fn parse_journal_line(line: &[u8]) -> Result<JournalEntry, String> {
    let text = std::str::from_utf8(line).map_err(|_| "not UTF-8".to_owned())?;
    let (sum, body) = text.split_once(' ').ok_or("no checksum")?;
    if sha256_hex(body.as_bytes()) != sum {
        return Err("checksum mismatch".into());
    }
    let (items, audit): (Vec<Value>, Vec<Value>) =
        match serde_json::from_str(body).map_err(|e| e.to_string())? {
            Value::Array(items) => (items, Vec::new()),
            Value::Object(mut m) => {
                let take = |m: &mut Map<String, Value>, k: &str| match m.remove(k) {
                    Some(Value::Array(a)) => Ok(a),
                    _ => Err(format!("no {k} array")),
                };
                (take(&mut m, "changes")?, take(&mut m, "audit")?)
            }
            _ => return Err("neither an array nor an object".into()),
        };
    let changes = items
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
                Some("seen") => {
                    Change::Seen(NodeId(id()?), item["at"].as_u64().ok_or("missing at")?)
                }
                _ => return Err("unknown operation".to_owned()),
            })
        })
        .collect::<Result<Vec<Change>, String>>()?;
    Ok((changes, audit))
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
        self.load_audit()?;
        let audited = self.audit.head.seq;
        self.replay_journal()?;
        if let Some(bytes) = self.audit.torn_at_load {
            let restored = self.audit.head.seq - audited;
            if restored > 0 {
                tracing::warn!(
                    "{}: its last line ({bytes} bytes) was cut short by a crash during an append; \
                     {restored} entries after the last whole line were restored from the journal \
                     (the cut line is kept in audit.torn)",
                    self.audit_path().display()
                );
            } else {
                tracing::warn!(
                    "{}: its last line ({bytes} bytes) was cut short, and the journal does not hold \
                     its entry: that entry is lost; the cut line is kept in audit.torn",
                    self.audit_path().display()
                );
            }
        }
        let journal_exists = self.journal_path().exists();
        if legacy || journal_exists || !pp.exists() || !np.exists() || !self.audit.owed.is_empty() {
            // Legacy plaintext tokens are rewritten hashed now; a replayed journal is folded in.
            self.checkpoint()?;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        if let Some(r) = self.import_openclaw_devices(now)? {
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
            audit_head: self.audit.head.clone(),
        })
    }

    fn commit(&mut self, batch: &Batch<'_>) -> Result<(), StoreError> {
        if batch.changes.is_empty() && batch.audit.is_empty() {
            return Ok(());
        }
        let owed_before = self.audit.owed.len();
        for entry in batch.audit {
            self.audit.owed.extend_from_slice(entry.line().as_bytes());
        }
        if let Err(e) = self.append(&journal_line(batch, &self.audit.owed[owed_before..])) {
            self.audit.owed.truncate(owed_before);
            return Err(e);
        }
        for c in batch.changes {
            self.apply(c);
        }
        if let Some(last) = batch.audit.last() {
            self.audit.head = Head {
                seq: last.seq,
                hash: last.hash.clone(),
            };
        }
        // Durable already (in the journal); a failed write is retried at the next commit or
        // checkpoint, and logged once until it works.
        match self.write_audit() {
            Ok(()) if self.audit.failing => {
                self.audit.failing = false;
                tracing::info!("audit trail written again");
            }
            Ok(()) => {}
            Err(e) if !self.audit.failing => {
                self.audit.failing = true;
                tracing::warn!("audit trail not written yet, the journal keeps it: {e}");
            }
            Err(_) => {}
        }
        if self.checkpoint_stale()
            || (self.journal_bytes >= Self::JOURNAL_LIMIT
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

mod import;
pub use import::ImportReport;

#[cfg(test)]
mod tests;
