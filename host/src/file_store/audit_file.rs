//! The store's side of the audit trail: appending a committed batch's entries to `nodes/audit.jsonl`,
//! rotating it, and, at load, finding the end of the chain and taking back a line cut short (see the
//! store's documentation, "The audit trail"). Reading and verifying the trail is [`audit_log`]'s.

use super::{corrupt, io_err};
use crate::audit_log;
use crate::fsutil::{open_private, sync_dir};
use pairing_core::audit::{AuditEntry, Head, canonical_json};
use pairing_core::store::StoreError;
use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The audit file being appended to, and what is owed to it.
pub(super) struct AuditFile {
    /// The store's directory, `nodes/`.
    dir: PathBuf,
    file: Option<File>,
    bytes: u64,
    /// Highest `N` of the rotated files `audit.N.jsonl`.
    rotated: u64,
    /// The last entry written, or owed.
    pub(super) head: Head,
    /// Lines durable in the journal and not yet written to the file (a failed write is retried).
    owed: Vec<u8>,
    /// Written since the last fsync.
    unsynced: bool,
    /// Bytes of a cut-short last line found at load.
    torn_at_load: Option<usize>,
    /// Writing owed lines failed and was logged; logged again only once it works.
    failing: bool,
    pub(super) limits: audit_log::AuditLimits,
}

impl AuditFile {
    /// Nothing read yet, in the store's directory `dir`.
    pub(super) fn new(dir: &Path) -> AuditFile {
        AuditFile {
            dir: dir.to_owned(),
            file: None,
            bytes: 0,
            rotated: 0,
            head: Head::default(),
            owed: Vec::new(),
            unsynced: false,
            torn_at_load: None,
            failing: false,
            limits: audit_log::AuditLimits::default(),
        }
    }

    /// `nodes/audit.jsonl`.
    pub(super) fn path(&self) -> PathBuf {
        self.dir.join(audit_log::CURRENT)
    }

    /// Whether lines are owed to the file.
    pub(super) fn owes(&self) -> bool {
        !self.owed.is_empty()
    }

    /// Finds the end of the audit chain in the last audit file; drops a line cut short by a crash
    /// (its entry is still in the journal, which is replayed next).
    pub(super) fn load(&mut self) -> Result<(), StoreError> {
        let files = audit_log::files(&self.dir).map_err(|e| io_err(&self.dir, "cannot list", e))?;
        self.rotated = files
            .iter()
            .filter_map(|p| p.file_name()?.to_str().and_then(audit_log::rotated_number))
            .max()
            .unwrap_or(0);
        let current = self.path();
        // The newest file with an entry holds the head (the current file may be new and empty).
        for path in files.iter().rev() {
            let tail = audit_log::tail(path).map_err(|e| io_err(path, "cannot read", e))?;
            if tail.torn > 0 {
                if *path != current {
                    return Err(corrupt(path, "its last line is cut short"));
                }
                self.keep_torn_line(path, tail.len - tail.torn)?;
            }
            if path == &current {
                self.bytes = tail.len - tail.torn;
            }
            if let Some(last) = tail.last {
                self.head = audit_log::line_head(&last).ok_or_else(|| {
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
    fn keep_torn_line(&mut self, path: &Path, keep: u64) -> Result<(), StoreError> {
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
        self.torn_at_load = Some(fragment.len() - 1);
        Ok(())
    }

    /// After the journal was replayed: says what became of a line found cut short at load, given
    /// the chain's last `seq` in the files before the replay.
    pub(super) fn report_torn(&self, audited: u64) {
        let Some(bytes) = self.torn_at_load else {
            return;
        };
        let restored = self.head.seq - audited;
        if restored > 0 {
            tracing::warn!(
                "{}: its last line ({bytes} bytes) was cut short by a crash during an append; \
                 {restored} entries after the last whole line were restored from the journal \
                 (the cut line is kept in audit.torn)",
                self.path().display()
            );
        } else {
            tracing::warn!(
                "{}: its last line ({bytes} bytes) was cut short, and the journal does not hold \
                 its entry: that entry is lost; the cut line is kept in audit.torn",
                self.path().display()
            );
        }
    }

    /// An entry found in the journal at load: owed to the audit file unless it already holds it.
    pub(super) fn owe_replayed(&mut self, entry: &Value) {
        let Some(seq) = entry["seq"].as_u64() else {
            return;
        };
        if seq <= self.head.seq {
            return;
        }
        let mut line = canonical_json(entry);
        line.push('\n');
        self.owed.extend_from_slice(line.as_bytes());
        self.head = Head {
            seq,
            hash: entry["hash"].as_str().unwrap_or_default().to_owned(),
        };
    }

    /// A committed batch's entries, durable in the journal: owed to the file, the last one the head.
    pub(super) fn owe(&mut self, entries: &[AuditEntry]) {
        for entry in entries {
            self.owed.extend_from_slice(entry.line().as_bytes());
        }
        if let Some(last) = entries.last() {
            self.head = Head {
                seq: last.seq,
                hash: last.hash.clone(),
            };
        }
    }

    /// Writes what is owed after a commit. The entries are durable already (in the journal): a
    /// failed write is retried at the next commit or checkpoint, and logged once until it works.
    pub(super) fn catch_up(&mut self) {
        match self.write() {
            Ok(()) if self.failing => {
                self.failing = false;
                tracing::info!("audit trail written again");
            }
            Ok(()) => {}
            Err(e) if !self.failing => {
                self.failing = true;
                tracing::warn!("audit trail not written yet, the journal keeps it: {e}");
            }
            Err(_) => {}
        }
    }

    /// Writes what is owed to the audit file (rotating it first when it is full). No fsync.
    pub(super) fn write(&mut self) -> Result<(), StoreError> {
        if self.owed.is_empty() {
            return Ok(());
        }
        if self.bytes > 0 && self.bytes + self.owed.len() as u64 > self.limits.max_bytes {
            self.rotate()?;
        }
        let path = self.path();
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                let f = open_private(
                    &path,
                    OpenOptions::new().create(true).append(true).mode(0o600),
                )
                .map_err(|e| io_err(&path, "cannot open", e))?;
                self.file.insert(f)
            }
        };
        if let Err(e) = file.write_all(&self.owed) {
            // A partial write would leave a torn line in the middle of the file: cut it off, and
            // reopen next time.
            let _ = file.set_len(self.bytes);
            self.file = None;
            return Err(io_err(&path, "cannot append to", e));
        }
        self.bytes += self.owed.len() as u64;
        self.owed.clear();
        self.unsynced = true;
        Ok(())
    }

    /// Moves `audit.jsonl` to the next `audit.N.jsonl`; the next write starts a new file.
    fn rotate(&mut self) -> Result<(), StoreError> {
        self.sync()?;
        let from = self.path();
        let to = audit_log::rotated_path(&self.dir, self.rotated + 1);
        std::fs::rename(&from, &to).map_err(|e| io_err(&from, "cannot rotate", e))?;
        sync_dir(&self.dir).map_err(|e| io_err(&self.dir, "cannot sync", e))?;
        self.rotated += 1;
        self.file = None;
        self.bytes = 0;
        // The oldest go: the trail's disk use stays bounded whatever a flood makes it record.
        let removed = audit_log::prune(&self.dir, self.rotated, self.limits.keep)
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
                    self.limits.keep
                )
            } else {
                String::new()
            }
        );
        Ok(())
    }

    /// Fsyncs what was written since the last time.
    pub(super) fn sync(&mut self) -> Result<(), StoreError> {
        if self.unsynced
            && let Some(f) = &self.file
        {
            f.sync_data()
                .map_err(|e| io_err(&self.path(), "cannot sync", e))?;
        }
        self.unsynced = false;
        Ok(())
    }
}
