//! The audit trail (SPEC §9): one entry per decision, hash-chained, made durable with the state change it
//! records and never carrying a token.
//!
//! # The chain
//!
//! Every entry has `seq` (1, 2, 3, … with no gap, across rotated files), `prevHash` (the `hash` of the
//! entry before it; [`GENESIS_HASH`] for the first) and `hash`:
//!
//! ```text
//! hash = base64url_nopad( SHA-256( prevHash ‖ canonical_json(entry without "hash") ) )
//! ```
//!
//! where `canonical_json` writes objects with their keys in byte order, no whitespace, strings escaped as
//! `serde_json` escapes them and integers in decimal ([`canonical_json`]). Any change to a line — a field
//! edited, added or removed — changes its hash; a deleted line breaks `seq` and the next `prevHash`.
//! [`ChainCheck`] verifies a sequence of lines and names the first that breaks.
//!
//! The core stages entries with the round's changes ([`crate::Batch::audit`]); a store writes them in the
//! same atomic commit, so an acknowledged decision always has its entry and a rolled-back one never does.

use crate::ids::{ConnId, NodeId, RequestId};
use crate::memory::Decision;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// The `prevHash` of the first entry: 32 zero bytes, base64url.
pub const GENESIS_HASH: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// What was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A new pending request was created (not a refresh of an existing one).
    Requested,
    /// A request was approved and a token issued.
    Approved,
    /// A request was rejected.
    Rejected,
    /// A request's time ran out.
    Expired,
    /// A request was replaced by a newer one bound to a different key.
    Superseded,
    /// A paired node was removed.
    Removed,
    /// A paired node was renamed by an operator.
    Renamed,
    /// An operator rotated a device's token: the old one stopped working, the device gets a new one
    /// when it reconnects.
    #[serde(rename = "token-rotated")]
    TokenRotated,
    /// An operator revoked a device's token and closed its connections.
    #[serde(rename = "token-revoked")]
    TokenRevoked,
    /// A pairing or request was brought in from an OpenClaw device store.
    Imported,
    /// An operator issued a setup code or enrollment key (`enrollment` names it; never its secret).
    #[serde(rename = "enroll-created")]
    EnrollCreated,
    /// An operator revoked a setup code or enrollment key.
    #[serde(rename = "enroll-revoked")]
    EnrollRevoked,
    /// The gateway's generated TLS certificate was replaced (`openclaw gateway renew-cert`).
    #[serde(rename = "tls-cert-renewed")]
    TlsCertRenewed,
    /// An operator set or cleared a paired node's description.
    Described,
}

impl Action {
    /// Every action, for parsing and help texts.
    pub const ALL: [Action; 14] = [
        Action::Requested,
        Action::Approved,
        Action::Rejected,
        Action::Expired,
        Action::Superseded,
        Action::Removed,
        Action::Renamed,
        Action::TokenRotated,
        Action::TokenRevoked,
        Action::Imported,
        Action::EnrollCreated,
        Action::EnrollRevoked,
        Action::TlsCertRenewed,
        Action::Described,
    ];

    /// The lowercase name written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Requested => "requested",
            Action::Approved => "approved",
            Action::Rejected => "rejected",
            Action::Expired => "expired",
            Action::Superseded => "superseded",
            Action::Removed => "removed",
            Action::Renamed => "renamed",
            Action::TokenRotated => "token-rotated",
            Action::TokenRevoked => "token-revoked",
            Action::Imported => "imported",
            Action::EnrollCreated => "enroll-created",
            Action::EnrollRevoked => "enroll-revoked",
            Action::TlsCertRenewed => "tls-cert-renewed",
            Action::Described => "described",
        }
    }

    /// The action named `s`.
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl From<Decision> for Action {
    fn from(d: Decision) -> Self {
        match d {
            Decision::Approved => Action::Approved,
            Decision::Rejected => Action::Rejected,
            Decision::Expired => Action::Expired,
            Decision::Superseded => Action::Superseded,
            Decision::Removed => Action::Removed,
        }
    }
}

/// Who made a decision: a connection, or the gateway itself (expiry, clean-up at load).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The gateway, written as the string `"gateway"`.
    Gateway,
    /// A connected client.
    Conn {
        /// `operator` or `node`.
        role: &'static str,
        /// The `client.id` it sent in `connect`.
        client_id: String,
        /// The gateway's id of the connection (restarts with the gateway).
        conn_id: ConnId,
        /// Its remote address.
        remote_ip: String,
    },
}

impl Actor {
    /// Who approved, as a paired record's `approvedBy` keeps it: a connection as `role
    /// clientId@remoteIp` (the audit table's form), the gateway as how it approved (`via`: `local`).
    pub fn approver(&self, via: &str) -> String {
        match self {
            Actor::Gateway => via.to_owned(),
            Actor::Conn {
                role,
                client_id,
                remote_ip,
                ..
            } => format!("{role} {client_id}@{remote_ip}"),
        }
    }
}

impl Serialize for Actor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Actor::Gateway => s.serialize_str("gateway"),
            Actor::Conn {
                role,
                client_id,
                conn_id,
                remote_ip,
            } => {
                // Keys in byte order: the canonical form.
                let mut m = s.serialize_map(Some(4))?;
                m.serialize_entry("clientId", client_id)?;
                m.serialize_entry("connId", &conn_id.to_string())?;
                m.serialize_entry("remoteIp", remote_ip)?;
                m.serialize_entry("role", role)?;
                m.end()
            }
        }
    }
}

/// One line of `audit.jsonl`. Fields are declared in byte order of their JSON names, so serialising it
/// gives the canonical form directly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// What was decided.
    pub action: Action,
    /// Who decided it.
    pub actor: Actor,
    /// For an approval: how it came about (`owner`, `local`, `import`), as the record's `approvedVia`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_via: Option<String>,
    /// The node's display name at the decision (requested, approved, renamed: the new name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The setup code or enrollment key (its id) a decision is about: the one that paired the node
    /// (`approvedVia` `setup-code` or `key`), or the one issued or revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrollment: Option<String>,
    /// The entry's hash (empty while it is being computed).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hash: String,
    /// `SHA256:` and the unpadded base64 of the SHA-256 of the device's public key, when one is bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_fingerprint: Option<String>,
    /// The node.
    pub node_id: NodeId,
    /// The hash of the entry before.
    pub prev_hash: String,
    /// The request, when the decision is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
    /// Position in the chain, from 1.
    pub seq: u64,
    /// When, in ms since the epoch.
    pub ts: u64,
}

/// The end of the chain: the last entry's `seq` and `hash`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// `seq` of the last entry; 0 when there is none.
    pub seq: u64,
    /// `hash` of the last entry; [`GENESIS_HASH`] when there is none.
    pub hash: String,
}

impl Default for Head {
    fn default() -> Self {
        Head {
            seq: 0,
            hash: GENESIS_HASH.to_owned(),
        }
    }
}

/// The fingerprint of a device key (base64url or standard base64, the same for both): `SHA256:` +
/// unpadded base64 of its SHA-256, as `ssh-keygen -l` prints them. A key that does not decode is
/// fingerprinted as text.
pub fn key_fingerprint(public_key: &str) -> String {
    let raw =
        crate::proof::decode_b64(public_key).unwrap_or_else(|| public_key.as_bytes().to_vec());
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(raw)))
}

fn chain_hash(prev_hash: &str, canonical: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

impl AuditEntry {
    /// Sets `seq`, `prevHash` and `hash` to follow `head`, and moves `head` to this entry.
    pub fn seal(&mut self, head: &mut Head) {
        self.seq = head.seq + 1;
        self.prev_hash.clone_from(&head.hash);
        self.hash.clear();
        let canonical = serde_json::to_string(self).expect("an audit entry serialises");
        self.hash = chain_hash(&self.prev_hash, &canonical);
        head.seq = self.seq;
        head.hash.clone_from(&self.hash);
    }

    /// The line written to the file, with its newline.
    pub fn line(&self) -> String {
        let mut s = serde_json::to_string(self).expect("an audit entry serialises");
        s.push('\n');
        s
    }
}

/// Writes `v` in canonical form: object keys in byte order, no whitespace.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

mod read;

pub use read::{Broken, ChainCheck, ReadEntry, read_line};

#[cfg(test)]
mod tests;
