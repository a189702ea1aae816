//! A gateway this run starts itself (`--spawn`, `--matrix`, the storm): `openclaw gateway --port 0`
//! on a temporary state directory, killed when dropped.

use anyhow::Context;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running gateway and where to reach it.
pub(crate) struct Spawned {
    /// The gateway process.
    pub child: Child,
    /// The `ws://` URL it printed.
    pub url: String,
    /// The gateway token from its `openclaw.json`.
    pub token: String,
    _state: tempfile::TempDir,
}

impl Drop for Spawned {
    /// The gateway never outlives its run, even when the run fails.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a gateway on a fresh, empty state directory.
pub(crate) fn spawn_gateway(openclaw: &str) -> anyhow::Result<Spawned> {
    spawn_gateway_in(openclaw, tempfile::tempdir()?)
}

/// Starts `openclaw gateway --port 0` on `state` (which may hold state already) and returns once it
/// printed its URL, i.e. once it has loaded the state and listens.
pub(crate) fn spawn_gateway_in(
    openclaw: &str,
    state: tempfile::TempDir,
) -> anyhow::Result<Spawned> {
    let mut child = Command::new(openclaw)
        .args(["gateway", "--port", "0"])
        .env("OPENCLAW_STATE_DIR", state.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {openclaw}"))?;
    let stdout = child.stdout.take().context("stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    // Keep reading the gateway's stdout so it never writes into a closed pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(i) = line.find("ws://") {
                let _ = tx.send(line[i..].split_whitespace().next().unwrap_or("").to_owned());
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(20)).ok();
    let url = url.context("the gateway printed no ws:// URL")?;
    let token = pairing_host::gateway_config::read(state.path())?
        .and_then(|g| g.token)
        .context("no token in openclaw.json")?;
    Ok(Spawned {
        child,
        url,
        token,
        _state: state,
    })
}
