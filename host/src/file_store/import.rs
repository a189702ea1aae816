//! First start on an OpenClaw 2026.4 state directory: its `devices/paired.json` and `pending.json`
//! are read (never written: opened read-only, links not followed) and their node devices become
//! records of this store in one durable batch with their `imported` audit entries, so the nodes a user
//! paired with OpenClaw stay paired. `nodes/openclaw-import.json` records that the import happened (and
//! what was left out, and why); with it present the source is never read again, so a device removed
//! here is not brought back.
//!
//! Crash safety: the batch goes through the journal like any commit; the marker is written after it.
//! A crash in between imports again at the next start, and devices already held (same id and key)
//! are not imported twice.

use super::{FileStore, io_err};
use pairing_core::audit::Head;
use pairing_core::import::{self, Imported};
use pairing_core::store::{Batch, Change, Store, StoreError};
use pairing_core::{PairedNode, PendingRequest};
use serde_json::{Map, Value, json};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What an import did, for the log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The directory imported from.
    pub from: PathBuf,
    /// Paired devices imported.
    pub paired: usize,
    /// Pending requests imported.
    pub pending: usize,
    /// Entries left out, with why.
    pub skipped: Vec<String>,
}

/// Reads a JSON object file without following a link; `None` when it does not exist.
fn read_source(path: &Path) -> Result<Option<Map<String, Value>>, StoreError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path);
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path, "cannot read the OpenClaw device store", e)),
    };
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| io_err(path, "cannot read the OpenClaw device store", e))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(_) | Err(_) => Err(StoreError::corrupt_at(
            path,
            format!(
                "{} is not a JSON object of OpenClaw devices; fix or move it away (it is only read, \
             never written), or create {} to skip the import",
                path.display(),
                path.parent()
                    .and_then(Path::parent)
                    .map(|s| s.join("nodes").join(MARKER))
                    .unwrap_or_default()
                    .display()
            ),
        )),
    }
}

impl FileStore {
    /// Makes imported records this store's in one durable batch with their `imported` audit entries
    /// (call after [`Store::load`]): records held already with the same key (imported before, or
    /// paired here since) and requests held already are left out; a record of the same id with
    /// another key is merged ([`import::merge`]). Returns how many paired records and pending
    /// requests were added.
    pub fn import_records(
        &mut self,
        paired: Vec<PairedNode>,
        pending: Vec<PendingRequest>,
        now: u64,
    ) -> Result<(usize, usize), StoreError> {
        let paired: Vec<PairedNode> = paired
            .into_iter()
            .filter(|p| {
                // Held already with this key: imported before a crash, or paired here since.
                self.paired
                    .get(&p.node_id)
                    .is_none_or(|e| e.public_key != p.public_key)
            })
            .map(|p| match self.paired.get(&p.node_id) {
                Some(existing) => import::merge(existing, p),
                None => p,
            })
            .collect();
        let pending: Vec<PendingRequest> = pending
            .into_iter()
            .filter(|r| !self.pending.contains_key(&r.request_id))
            .collect();
        if !paired.is_empty() || !pending.is_empty() {
            let mut head: Head = self.audit.head.clone();
            let audit = import::audit_entries(&paired, &pending, now, &mut head);
            let changes: Vec<Change> = paired
                .iter()
                .cloned()
                .map(Change::PutPaired)
                .chain(pending.iter().cloned().map(Change::PutPending))
                .collect();
            self.commit(&Batch {
                changes: &changes,
                audit: &audit,
            })?;
            self.checkpoint()?;
        }
        Ok((paired.len(), pending.len()))
    }
}

/// The file that says the import happened.
pub(super) const MARKER: &str = "openclaw-import.json";

impl FileStore {
    /// `<state>/nodes/openclaw-import.json`.
    pub fn import_marker_path(&self) -> PathBuf {
        self.dir.join(MARKER)
    }

    /// Imports an OpenClaw 2026.4 `devices/` store beside `nodes/` once (see the module docs).
    /// Returns what it did, or `None` when there was nothing to do.
    pub(super) fn import_openclaw_devices(
        &mut self,
        now: u64,
    ) -> Result<Option<ImportReport>, StoreError> {
        if self.import_marker_path().exists() {
            return Ok(None);
        }
        let Some(state) = self.dir.parent() else {
            return Ok(None);
        };
        let from = state.join("devices");
        let paired = read_source(&from.join("paired.json"))?;
        let pending = read_source(&from.join("pending.json"))?;
        if paired.is_none() && pending.is_none() {
            return Ok(None);
        }
        let Imported {
            paired,
            pending,
            skipped,
        } = import::openclaw_devices(
            &paired.unwrap_or_default(),
            &pending.unwrap_or_default(),
            now,
        );
        let (paired, pending) = self.import_records(paired, pending, now)?;
        let report = ImportReport {
            from: from.clone(),
            paired,
            pending,
            skipped: skipped
                .iter()
                .map(|s| format!("{}: {}", s.key, s.why))
                .collect(),
        };
        let marker = json!({
            "importedAtMs": now,
            "from": from.display().to_string(),
            "paired": report.paired,
            "pending": report.pending,
            "skipped": report.skipped,
        });
        let path = self.import_marker_path();
        crate::fsutil::write_atomic(&path, marker.to_string().as_bytes())
            .map_err(|e| io_err(&path, "cannot write", e))?;
        Ok(Some(report))
    }
}

#[cfg(test)]
mod tests;
