//! Silent approval's proof (`nodes watch --auto-approve-silent --ssh HOST`): a silent request is
//! approved only when the node on HOST holds the very device key the request was made with. The
//! watcher runs `openclaw node identity --json` on HOST over SSH (as the current user, no prompts, a
//! known host key) and compares the key it prints with the request's, byte for byte after decoding, and
//! the device ids too — as OpenClaw's SSH verification does. Reaching HOST proves nothing by itself: a
//! request sent from anywhere else (another machine, a web page by DNS rebinding) carries another
//! key, and one made by an operator carries none.
//!
//! Only a first pairing qualifies; a re-pair (which may widen what the node may run) is left for a
//! person, as OpenClaw leaves upgrades. [`judge`] is the pure decision, [`probe`] the SSH call.

use crate::identity::IdentityJson;
use pairing_core::protocol::NodePending;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The command run on HOST.
pub(crate) const REMOTE_COMMAND: [&str; 4] = ["openclaw", "node", "identity", "--json"];

/// The most of HOST's answer that is read (an identity is about 150 bytes).
const MAX_OUTPUT: u64 = 64 * 1024;

/// How long the whole SSH call may take (connecting is bounded to 5 s by `ConnectTimeout`).
const SSH_DEADLINE: Duration = Duration::from_secs(20);

/// Whether a silent request may be approved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The node on HOST holds the request's device key.
    Proven,
    /// Left for a person, and why (one clause, for "left … for a person: …").
    Refused(String),
}

/// What HOST answered, or why there is no answer.
pub(crate) type Answer = Result<Vec<u8>, String>;

/// A raw Ed25519 public key from its text: base64url or standard base64, padded or not. One key has
/// one canonical form — its 32 bytes — whatever encoding carried it.
pub(crate) fn raw_key(text: &str) -> Option<[u8; 32]> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let t = text.trim().trim_end_matches('=');
    let bytes = URL_SAFE_NO_PAD
        .decode(t)
        .or_else(|_| STANDARD_NO_PAD.decode(t))
        .ok()?;
    <[u8; 32]>::try_from(bytes).ok()
}

/// The device id of a raw key: hex SHA-256.
fn device_id(key: &[u8; 32]) -> String {
    Sha256::digest(key)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The checks that need no SSH call: `Some` refusal when the request cannot qualify.
pub(crate) fn precheck(request: &NodePending) -> Option<String> {
    let Some(key) = request.public_key.as_deref().filter(|k| !k.is_empty()) else {
        return Some(
            "it carries no device key (an operator made it), so nothing can prove it comes from the \
             SSH host"
                .to_owned(),
        );
    };
    if raw_key(key).is_none() {
        return Some("its device key is not a raw Ed25519 key".to_owned());
    }
    if request.is_repair {
        return Some(
            "it re-pairs a node that is already paired, which may widen what it may run; silent \
             approval is for a first pairing only"
                .to_owned(),
        );
    }
    None
}

/// Decides on `request` from HOST's `answer` to `openclaw node identity --json`.
pub(crate) fn judge(host: &str, request: &NodePending, answer: Answer) -> Verdict {
    if let Some(why) = precheck(request) {
        return Verdict::Refused(why);
    }
    let output = match answer {
        Ok(out) => out,
        Err(why) => return Verdict::Refused(why),
    };
    let remote: Option<(String, [u8; 32])> = serde_json::from_slice::<IdentityJson>(&output)
        .ok()
        .and_then(|v| {
            let id = v.device_id.trim().to_ascii_lowercase();
            Some((id, raw_key(&v.public_key)?))
        });
    let Some((remote_id, remote_key)) = remote else {
        return Verdict::Refused(format!(
            "{host} printed no node identity (expected {{\"deviceId\",\"publicKey\"}} from `{}`)",
            REMOTE_COMMAND.join(" ")
        ));
    };
    let key = request
        .public_key
        .as_deref()
        .and_then(raw_key)
        .expect("prechecked");
    let node_id = request.node_id.as_str().to_ascii_lowercase();
    if remote_key != key {
        return Verdict::Refused(format!(
            "the node on {host} has another device key (device {}) than this request (device {})",
            short(&device_id(&remote_key)),
            short(&device_id(&key))
        ));
    }
    let id = device_id(&key);
    if remote_id != id || node_id != id {
        return Verdict::Refused(format!(
            "the device ids do not match the key (request {}, {host} {}, key {})",
            short(&node_id),
            short(&remote_id),
            short(&id)
        ));
    }
    Verdict::Proven
}

/// Runs `ssh -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=yes HOST openclaw node
/// identity --json` as the current user: its stdout (at most 64 KiB), or why it failed. Bounded to
/// 20 s in all; the child is killed if it overruns.
pub(crate) async fn probe(host: &str) -> Answer {
    use tokio::io::AsyncReadExt;
    let mut child = tokio::process::Command::new("ssh")
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "StrictHostKeyChecking=yes",
            host,
        ])
        .args(REMOTE_COMMAND)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run ssh: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped").take(MAX_OUTPUT);
    let mut stderr = child.stderr.take().expect("piped").take(MAX_OUTPUT);
    let run = async {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let (o, e) = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        o.and(e)
            .map_err(|e| format!("reading ssh's output failed: {e}"))?;
        let status = child.wait().await.map_err(|e| format!("ssh failed: {e}"))?;
        Ok::<_, String>((status, out, err))
    };
    let (status, out, err) = tokio::time::timeout(SSH_DEADLINE, run)
        .await
        .map_err(|_| {
            format!(
                "ssh {host} did not finish within {}s",
                SSH_DEADLINE.as_secs()
            )
        })??;
    if !status.success() {
        let code = status
            .code()
            .map_or_else(|| "a signal".to_owned(), |c| c.to_string());
        return Err(format!(
            "`ssh {host} {}` failed (exit {code}){}",
            REMOTE_COMMAND.join(" "),
            first_line(&err)
                .map(|l| format!(": {l}"))
                .unwrap_or_default()
        ));
    }
    Ok(out)
}

/// The first non-blank line of a program's stderr, printable characters only, at most 160 of them.
fn first_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().filter(|c| !c.is_control()).take(160).collect())
}

#[cfg(test)]
mod tests;
