//! `nodes watch --exec CMD`: runs `sh -c CMD` once per pairing event, one at a time, for scripts.
//!
//! The event goes to the command's stdin as one JSON line (the gateway's event frame, or the
//! `"type":"sync"` line of a request already pending at (re)connect), and in the environment
//! ([`env_of`]): `OPENCLAW_EVENT`, `OPENCLAW_REQUEST_ID`, `OPENCLAW_NODE_ID`,
//! `OPENCLAW_DISPLAY_NAME`, `OPENCLAW_VERIFICATION_CODE`, `OPENCLAW_DECISION` (those the event has).
//! Display names come from devices: quote them in scripts. The operator token is taken out of the
//! command's environment; events never carry one.
//!
//! Each run has a deadline (`--exec-timeout`); past it the command's whole process group is
//! killed. A command that fails, times out or cannot start is reported on stderr and the watch goes
//! on. With `--json` the command's stdout goes to the watcher's stderr, keeping stdout NDJSON.

use serde_json::Value;
use std::os::fd::AsFd;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// The environment of one run: the event's name and the fields scripts use most, control
/// characters removed.
pub(super) fn env_of(event: &str, payload: &Value) -> Vec<(&'static str, String)> {
    let clean = |s: &str| s.chars().filter(|c| !c.is_control()).collect::<String>();
    let mut env = vec![("OPENCLAW_EVENT", clean(event))];
    for (var, key) in [
        ("OPENCLAW_REQUEST_ID", "requestId"),
        ("OPENCLAW_NODE_ID", "nodeId"),
        ("OPENCLAW_DISPLAY_NAME", "displayName"),
        ("OPENCLAW_VERIFICATION_CODE", "verificationCode"),
        ("OPENCLAW_DECISION", "decision"),
    ] {
        if let Some(v) = payload.get(key).and_then(Value::as_str) {
            env.push((var, clean(v)));
        }
    }
    env
}

/// How one run ended, when it did not succeed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Failure {
    /// It could not be started.
    Start(String),
    /// It exited with this status.
    Exit(String),
    /// It ran past the deadline and was killed.
    Timeout(Duration),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Start(e) => write!(f, "could not start: {e}"),
            Failure::Exit(s) => write!(f, "{s}"),
            Failure::Timeout(d) => write!(f, "killed after {} s (--exec-timeout)", d.as_secs()),
        }
    }
}

/// Runs `sh -c cmd` with `line` on stdin and `env`, waiting at most `deadline`.
pub(super) async fn run(
    cmd: &str,
    line: &str,
    env: &[(&'static str, String)],
    deadline: Duration,
    json: bool,
) -> Result<(), Failure> {
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env_remove("OPENCLAW_GATEWAY_TOKEN")
        .stdin(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if json {
        let err = std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| Failure::Start(e.to_string()))?;
        command.stdout(Stdio::from(err));
    }
    let mut child = command.spawn().map_err(|e| Failure::Start(e.to_string()))?;
    let pid = child.id();
    let stdin = child.stdin.take();
    let work = async {
        if let Some(mut stdin) = stdin {
            // A command that does not read its stdin is fine: a broken pipe is ignored.
            let _ = stdin.write_all(line.as_bytes()).await;
            let _ = stdin.write_all(b"\n").await;
        }
        child.wait().await
    };
    match tokio::time::timeout(deadline, work).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(Failure::Exit(status.to_string())),
        Ok(Err(e)) => Err(Failure::Exit(e.to_string())),
        Err(_) => {
            // The whole group: `sh -c` may have started children of its own.
            if let Some(pid) = pid.and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            let _ = child.kill().await;
            Err(Failure::Timeout(deadline))
        }
    }
}

#[cfg(test)]
mod tests;
