//! `<state>/openclaw.json`: `{"gateway":{"port":18789,"auth":{"token":"…"}}}` (SPEC §5).
//!
//! Created with a random token on first start (0600). An existing file is kept — its token is never
//! replaced and fields this program does not know are preserved — and the port in use is written into
//! it so the CLI on the same machine finds the gateway.
//!
//! `openclaw gateway rotate-token` replaces the token ([`save_token`]); the hashes of the tokens it
//! replaced are kept beside it, newest first, as `gateway.auth.rotatedTokenHashes` (SHA-256,
//! base64url), so the gateway refuses them as rotated rather than as unknown.

use crate::fsutil::{describe, private_dir, read_private, write_atomic};
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pairing_core::{Token, TokenHash};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The default gateway port.
pub const DEFAULT_PORT: u16 = 18789;

/// What the CLI needs from `openclaw.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GatewayFile {
    /// `gateway.port`.
    pub port: Option<u16>,
    /// `gateway.auth.token`.
    pub token: Option<String>,
    /// `gateway.tls.fingerprint`: the SHA-256 of the certificate the gateway serves (64 hex
    /// digits), written at start when it serves TLS, so the CLI on this machine reaches it over
    /// `wss://` pinned to it; absent for a plaintext gateway.
    pub tls_fingerprint: Option<String>,
}

/// The path of the config file.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("openclaw.json")
}

fn read_value(file: &Path) -> anyhow::Result<Option<Value>> {
    // Not through a link: a planted `openclaw.json` link would make the gateway adopt (and the CLI
    // send) a token someone else chose.
    let bytes = match read_private(file) {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(None),
        Err(e) => bail!("{}", describe(file, "cannot read", &e)),
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", file.display()))?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", file.display()))?;
    if !value.is_object() {
        bail!("{} must hold a JSON object", file.display());
    }
    Ok(Some(value))
}

/// Reads `openclaw.json`; `None` if it does not exist.
pub fn read(state_dir: &Path) -> anyhow::Result<Option<GatewayFile>> {
    Ok(read_value(&path(state_dir))?.map(|v| GatewayFile {
        port: v["gateway"]["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok()),
        token: v["gateway"]["auth"]["token"]
            .as_str()
            .filter(|t| !t.trim().is_empty())
            .map(str::to_owned),
        tls_fingerprint: v["gateway"]["tls"]["fingerprint"]
            .as_str()
            .filter(|f| f.len() == 64 && f.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_owned),
    }))
}

/// The hashes of the operator tokens rotated away, newest first (entries that are not a hash are
/// skipped); empty when the file does not exist.
pub fn read_retired(state_dir: &Path) -> anyhow::Result<Vec<TokenHash>> {
    let Some(v) = read_value(&path(state_dir))? else {
        return Ok(Vec::new());
    };
    Ok(v["gateway"]["auth"]["rotatedTokenHashes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| h.as_str().and_then(TokenHash::from_base64url))
                .take(pairing_core::operator::MAX_RETIRED)
                .collect()
        })
        .unwrap_or_default())
}

/// Replaces the operator token with `token` and records `retired` (the hashes of rotated tokens,
/// newest first), keeping every other field; written atomically as a 0600 file (a symlink in its
/// place is replaced, never written through).
pub fn save_token(state_dir: &Path, token: &Token, retired: &[TokenHash]) -> anyhow::Result<()> {
    let file = path(state_dir);
    let mut value = read_value(&file)?.unwrap_or_else(|| json!({}));
    if !value["gateway"].is_object() {
        value["gateway"] = json!({});
    }
    if !value["gateway"]["auth"].is_object() {
        value["gateway"]["auth"] = json!({});
    }
    value["gateway"]["auth"]["token"] = json!(token.expose());
    value["gateway"]["auth"]["rotatedTokenHashes"] = json!(
        retired
            .iter()
            .map(TokenHash::to_base64url)
            .collect::<Vec<_>>()
    );
    let text = zeroize::Zeroizing::new(
        serde_json::to_string_pretty(&value).expect("a JSON value serialises"),
    );
    write_atomic(&file, text.as_bytes()).with_context(|| format!("cannot write {}", file.display()))
}

/// Loads the operator token, creating the file (or just the token) when missing, and records `port`
/// (for a plaintext gateway: see [`prepare_served`]).
pub fn prepare(state_dir: &Path, port: u16) -> anyhow::Result<Token> {
    prepare_served(state_dir, port, None)
}

/// [`prepare`], also recording the fingerprint of the TLS certificate served
/// (`gateway.tls.fingerprint`), or removing it when the gateway serves plaintext.
pub fn prepare_served(
    state_dir: &Path,
    port: u16,
    tls_fingerprint: Option<&str>,
) -> anyhow::Result<Token> {
    private_dir(state_dir)
        .with_context(|| format!("cannot create state directory {}", state_dir.display()))?;
    let file = path(state_dir);
    let mut value = read_value(&file)?.unwrap_or_else(|| json!({}));
    let existing = value["gateway"]["auth"]["token"]
        .as_str()
        .filter(|t| !t.trim().is_empty())
        .map(str::to_owned);
    let token = match existing {
        Some(t) => t,
        None => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)
                .map_err(|e| anyhow::anyhow!("OS random source failed: {e}"))?;
            URL_SAFE_NO_PAD.encode(bytes)
        }
    };
    if !value["gateway"].is_object() {
        value["gateway"] = json!({});
    }
    if !value["gateway"]["auth"].is_object() {
        value["gateway"]["auth"] = json!({});
    }
    value["gateway"]["auth"]["token"] = json!(token);
    value["gateway"]["port"] = json!(port);
    match tls_fingerprint {
        Some(f) => value["gateway"]["tls"] = json!({ "fingerprint": f }),
        None => {
            if let Some(g) = value["gateway"].as_object_mut() {
                g.remove("tls");
            }
        }
    }
    let text = serde_json::to_string_pretty(&value).expect("a JSON value serialises");
    write_atomic(&file, text.as_bytes())
        .with_context(|| format!("cannot write {}", file.display()))?;
    Ok(Token::new(token))
}

#[cfg(test)]
mod tests;
