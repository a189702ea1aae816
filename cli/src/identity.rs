//! The node's private files: its Ed25519 device identity (`<state>/identity/device.json`, created once)
//! and the token it received on approval (`<state>/node/token.json`). Both are 0600 in 0700 directories.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pairing_core::proof::{self, SignedFields};
use pairing_core::protocol::ConnectDevice;
use pairing_host::clock::now_ms;
use pairing_host::fsutil::{self, create_private, write_private};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt;
use std::path::{Path, PathBuf};
use zeroize::Zeroize;

/// `client.id` a node connects with (OpenClaw's id for a headless node host).
pub(crate) const NODE_CLIENT_ID: &str = "node-host";

/// What `openclaw node identity --json` prints, and what `nodes watch --auto-approve-silent` reads
/// back over SSH: the device id and the raw Ed25519 public key (base64url). Never the secret key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IdentityJson {
    /// Hex SHA-256 of the raw public key.
    pub device_id: String,
    /// Raw Ed25519 public key, base64url.
    pub public_key: String,
}

/// A node's device identity. The secret key never appears in `Debug` output.
pub(crate) struct Identity {
    secret: [u8; 32],
    /// Hex SHA-256 of the raw public key; also the node id.
    pub device_id: String,
    /// Raw Ed25519 public key, base64url.
    pub public_key: String,
    /// When the identity was created, ms since the epoch.
    pub created_at_ms: u64,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

impl Drop for Identity {
    fn drop(&mut self) {
        // The key also sits in the file, so this only shortens its life in memory; `zeroize` writes
        // the zeros so that the compiler cannot drop the store as dead (a plain assignment it may).
        self.secret.zeroize();
    }
}

impl Identity {
    /// The identity of a 32-byte secret key.
    pub(crate) fn from_secret(secret: [u8; 32], created_at_ms: u64) -> Identity {
        let sk = ed25519_dalek::SigningKey::from_bytes(&secret);
        Identity {
            device_id: proof::device_id(&secret),
            public_key: URL_SAFE_NO_PAD.encode(sk.verifying_key().to_bytes()),
            secret,
            created_at_ms,
        }
    }

    /// The raw public key bytes.
    pub(crate) fn public_key_raw(&self) -> [u8; 32] {
        ed25519_dalek::SigningKey::from_bytes(&self.secret)
            .verifying_key()
            .to_bytes()
    }

    /// The verification code the gateway shows operators for this key (`1234-5678`).
    pub(crate) fn verification_code(&self) -> String {
        pairing_core::code::verification_code(&self.public_key_raw())
    }

    /// The `device` block of a node's `connect`: a v3 proof over the challenge nonce.
    pub(crate) fn prove(&self, nonce: &str, platform: &str) -> ConnectDevice {
        self.prove_with(nonce, platform, "")
    }

    /// [`Identity::prove`], signing `token` as the credential the `connect` presents (a setup
    /// code's bootstrap token).
    pub(crate) fn prove_with(&self, nonce: &str, platform: &str, token: &str) -> ConnectDevice {
        let fields = SignedFields {
            client_id: NODE_CLIENT_ID,
            client_mode: "node",
            role: "node",
            scopes: &[],
            token,
            platform,
            device_family: "",
        };
        proof::sign(&self.secret, &fields, now_ms(), nonce).into()
    }

    /// The public half, as `node identity --json` prints it.
    pub(crate) fn public(&self) -> IdentityJson {
        IdentityJson {
            device_id: self.device_id.clone(),
            public_key: self.public_key.clone(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "version": 1,
            "deviceId": self.device_id,
            "publicKey": self.public_key,
            "secretKey": URL_SAFE_NO_PAD.encode(self.secret),
            "createdAtMs": self.created_at_ms,
        })
    }

    fn from_json(file: &Path, text: &str) -> anyhow::Result<Identity> {
        let bad =
            |what: &str| format!("{} is not a usable device identity: {what}", file.display());
        let v: Value = serde_json::from_str(text).with_context(|| bad("not JSON"))?;
        let mut secret = v["secretKey"]
            .as_str()
            .and_then(|s| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok())
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .with_context(|| bad("secretKey must be 32 bytes of base64url"))?;
        let id = Identity::from_secret(secret, v["createdAtMs"].as_u64().unwrap_or(0));
        secret.zeroize();
        if v["deviceId"]
            .as_str()
            .is_some_and(|d| !d.eq_ignore_ascii_case(&id.device_id))
        {
            bail!(bad("deviceId does not match the key"));
        }
        Ok(id)
    }
}

/// Reads a private text file without following a link (a planted link is refused naming the file; a
/// file open to other users is tightened to 0600); `None` when it does not exist.
fn read_text(path: &Path) -> anyhow::Result<Option<String>> {
    fsutil::read_private_text(path)
        .map_err(|e| anyhow::anyhow!(fsutil::describe(path, "cannot read", &e)))
}

/// `<state>/identity/device.json`.
pub(crate) fn identity_path(state: &Path) -> PathBuf {
    state.join("identity").join("device.json")
}

/// `<state>/node/token.json`.
pub(crate) fn token_path(state: &Path) -> PathBuf {
    state.join("node").join("token.json")
}

/// Loads the device identity, creating it (once, even with racing processes) if missing. Returns it and
/// whether it was created now.
pub(crate) fn load_or_create(state: &Path) -> anyhow::Result<(Identity, bool)> {
    let file = identity_path(state);
    if let Some(id) = load(&file)? {
        return Ok((id, false));
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("OS random source failed: {e}"))?;
    let fresh = Identity::from_secret(secret, now_ms());
    secret.zeroize();
    let mut text = serde_json::to_string_pretty(&fresh.to_json()).expect("JSON serialises");
    let created = create_private(&file, text.as_bytes());
    text.zeroize();
    let created = created.with_context(|| format!("cannot create {}", file.display()))?;
    if created {
        return Ok((fresh, true));
    }
    let id =
        load(&file)?.with_context(|| format!("{} vanished while being read", file.display()))?;
    Ok((id, false))
}

/// Loads the device identity at `file` without creating it; `None` when it does not exist.
pub(crate) fn load(file: &Path) -> anyhow::Result<Option<Identity>> {
    // Not through a link: a planted one would make this node sign with someone else's key.
    match read_text(file)? {
        Some(text) => Identity::from_json(file, &text).map(Some),
        None => Ok(None),
    }
}

/// What `node pair` stores after approval.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct NodeToken {
    /// The node id the token belongs to.
    pub node_id: String,
    /// The token (a secret: never printed).
    pub token: String,
    /// The gateway URL that approved it.
    pub url: String,
    /// When the approval reached this node.
    pub approved_at_ms: u64,
    /// The display name the node paired with, reused by `node verify` and `node connect`.
    pub display_name: Option<String>,
}

impl fmt::Debug for NodeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeToken")
            .field("node_id", &self.node_id)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Writes `<state>/node/token.json` (0600), replacing an earlier token.
pub(crate) fn store_token(state: &Path, t: &NodeToken) -> anyhow::Result<PathBuf> {
    let file = token_path(state);
    let mut v = json!({
        "nodeId": t.node_id,
        "token": t.token,
        "url": t.url,
        "approvedAtMs": t.approved_at_ms,
    });
    if let Some(name) = &t.display_name {
        v["displayName"] = json!(name);
    }
    let text = serde_json::to_string_pretty(&v).expect("JSON serialises");
    write_private(&file, text.as_bytes())
        .with_context(|| format!("cannot write {}", file.display()))?;
    Ok(file)
}

/// Reads `<state>/node/token.json`; `None` if this node was never paired.
pub(crate) fn load_token(state: &Path) -> anyhow::Result<Option<NodeToken>> {
    let file = token_path(state);
    let Some(text) = read_text(&file)? else {
        return Ok(None);
    };
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", file.display()))?;
    let field = |k: &str| {
        v[k].as_str()
            .map(str::to_owned)
            .with_context(|| format!("{} lacks {k}", file.display()))
    };
    Ok(Some(NodeToken {
        node_id: field("nodeId")?,
        token: field("token")?,
        url: field("url")?,
        approved_at_ms: v["approvedAtMs"].as_u64().unwrap_or(0),
        display_name: v["displayName"].as_str().map(str::to_owned),
    }))
}

/// This machine's name, the default display name of a node.
pub(crate) fn hostname() -> String {
    let from_env = std::env::var("HOSTNAME").ok();
    let from_file = || {
        ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
    };
    from_env
        .or_else(from_file)
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_owned())
}

#[cfg(test)]
mod tests;
