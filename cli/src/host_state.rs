//! The gateway of this machine's state directory, as its files show it: whether there is one
//! (`openclaw.json`), whether it runs (a gateway holds `gateway.lock`), and whether its port answers.
//! `openclaw dashboard` and `openclaw doctor` on the gateway host read it; nothing here writes.

use pairing_host::gateway_config::{self, GatewayFile};
use pairing_host::lock::{self, StateLock};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the port probe waits for a TCP connection on loopback.
const PROBE_MS: u64 = 1_000;

/// What the state directory says about its gateway.
#[derive(Clone, Debug)]
pub(crate) struct HostState {
    /// The state directory.
    pub dir: PathBuf,
    /// `openclaw.json`, if it exists and reads.
    pub config: Option<GatewayFile>,
    /// Why `openclaw.json` could not be read, if it exists but does not read.
    pub config_error: Option<String>,
    /// `gateway.lock`'s owner, if the file exists.
    pub owner: Option<lock::Owner>,
    /// Whether a gateway holds the lock now (it runs).
    pub alive: bool,
}

impl HostState {
    /// Reads the state directory `dir`.
    pub(crate) fn read(dir: &Path) -> HostState {
        let (config, config_error) = match gateway_config::read(dir) {
            Ok(c) => (c, None),
            Err(e) => (None, Some(format!("{e:#}"))),
        };
        let owner = StateLock::owner(dir);
        let alive = owner.is_some() && lock_held(dir);
        HostState {
            dir: dir.to_owned(),
            config,
            config_error,
            owner,
            alive,
        }
    }

    /// Whether a gateway has ever run here: `openclaw.json` or `gateway.lock` exists.
    pub(crate) fn is_gateway_host(&self) -> bool {
        self.config.is_some() || self.config_error.is_some() || self.dir.join(lock::FILE).exists()
    }

    /// The port the gateway listens on: the running one's from the lock, else `openclaw.json`'s.
    pub(crate) fn port(&self) -> u16 {
        self.owner
            .as_ref()
            .filter(|_| self.alive)
            .and_then(|o| o.port)
            .or(self.config.as_ref().and_then(|c| c.port))
            .unwrap_or(gateway_config::DEFAULT_PORT)
    }

    /// Whether something accepts TCP connections on the gateway's loopback port.
    pub(crate) fn port_answers(&self) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port()));
        TcpStream::connect_timeout(&addr, Duration::from_millis(PROBE_MS)).is_ok()
    }
}

/// Whether a gateway holds the lock on `dir` now: a shared lock on `gateway.lock` would have to wait.
/// Probing takes (and at once drops) a shared lock when none is held; the file is never written.
fn lock_held(dir: &Path) -> bool {
    let Ok(file) = pairing_host::fsutil::open_private(
        &dir.join(lock::FILE),
        std::fs::OpenOptions::new().read(true),
    ) else {
        return false;
    };
    matches!(
        file.try_lock_shared(),
        Err(std::fs::TryLockError::WouldBlock)
    )
}

#[cfg(test)]
mod tests;
