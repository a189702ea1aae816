//! One gateway per state directory: `<state>/gateway.lock`, locked (`flock`, exclusive) for the
//! gateway's whole life and holding its owner's pid and, once it listens, its port.
//!
//! Two gateways on one directory would each keep their own copy of the pairing state and overwrite
//! each other's files: approvals vanish, the audit chain forks, and `openclaw.json` names the port of
//! whichever started last. So the lock is taken before anything in the directory is read or written,
//! and a second gateway stops at once with the owner's pid and port, having touched nothing. The OS
//! drops the lock when the process ends, however it ends (a crash, `kill -9`): a stale lock file never
//! blocks a restart.
//!
//! The file is opened without following links and written in place (never replaced by a rename: the
//! lock belongs to the file, and a new file would be a second, unlocked one).

use crate::fsutil::{describe, open_private, private_dir};
use anyhow::bail;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The lock file's name in the state directory.
pub const FILE: &str = "gateway.lock";

/// The lock on a state directory; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
}

/// What the lock file says about its owner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owner {
    /// The owning process.
    pub pid: Option<u32>,
    /// The port it listens on (absent while it starts).
    pub port: Option<u16>,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "pid {pid}")?,
            None => write!(f, "pid unknown")?,
        }
        match self.port {
            Some(port) => write!(f, ", port {port}"),
            None => write!(f, ", not listening yet"),
        }
    }
}

impl StateLock {
    /// Takes the lock on `state_dir` (creating the directory, 0700, if needed), or fails naming the
    /// gateway that holds it. Never waits.
    pub fn acquire(state_dir: &Path) -> anyhow::Result<StateLock> {
        match StateLock::try_acquire(state_dir)? {
            Ok(lock) => Ok(lock),
            Err(owner) => bail!(
                "another gateway ({owner}) owns the state directory {}; stop it first, or give \
                 this one a state directory of its own with OPENCLAW_STATE_DIR",
                state_dir.display()
            ),
        }
    }

    /// Like [`StateLock::acquire`], but a lock held by another process is `Ok(Err(owner))`, for
    /// callers that say it their own way (`openclaw gateway rotate-token`).
    pub fn try_acquire(state_dir: &Path) -> anyhow::Result<Result<StateLock, Owner>> {
        // Created if missing, but its mode is set only once the lock is ours: a second gateway
        // changes nothing.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(state_dir)
            .map_err(|e| {
                anyhow::anyhow!("cannot create state directory {}: {e}", state_dir.display())
            })?;
        let path = state_dir.join(FILE);
        let file = open_private(
            &path,
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600),
        )
        .map_err(|e| anyhow::anyhow!("{}", describe(&path, "cannot open", &e)))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(Err(read_owner(&file))),
            Err(TryLockError::Error(e)) => {
                bail!("cannot lock {}: {e}", path.display())
            }
        }
        private_dir(state_dir)
            .map_err(|e| anyhow::anyhow!("cannot make {} private: {e}", state_dir.display()))?;
        let mut lock = StateLock { file, path };
        lock.write(&Owner {
            pid: Some(std::process::id()),
            port: None,
        })?;
        Ok(Ok(lock))
    }

    /// Records the port the gateway listens on, for the message a second gateway prints.
    pub fn listening(&mut self, port: u16) -> anyhow::Result<()> {
        self.write(&Owner {
            pid: Some(std::process::id()),
            port: Some(port),
        })
    }

    fn write(&mut self, owner: &Owner) -> anyhow::Result<()> {
        let text = serde_json::json!({ "pid": owner.pid, "port": owner.port }).to_string() + "\n";
        (|| {
            self.file.set_len(0)?;
            self.file.seek(SeekFrom::Start(0))?;
            self.file.write_all(text.as_bytes())
        })()
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", self.path.display()))
    }

    /// Reads the owner recorded in the lock file of `state_dir`, whether or not it is held.
    pub fn owner(state_dir: &Path) -> Option<Owner> {
        let file = open_private(&state_dir.join(FILE), OpenOptions::new().read(true)).ok()?;
        Some(read_owner(&file))
    }
}

fn read_owner(mut file: &File) -> Owner {
    let mut text = String::new();
    let _ = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.take(4096).read_to_string(&mut text));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    Owner {
        pid: v["pid"].as_u64().and_then(|p| u32::try_from(p).ok()),
        port: v["port"].as_u64().and_then(|p| u16::try_from(p).ok()),
    }
}

#[cfg(test)]
mod tests;
