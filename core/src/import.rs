//! Importing an OpenClaw 2026.4 device store (`<state>/devices/paired.json` and `pending.json`), or
//! the `device_pairing_paired` rows of a 2026.7+ `state/openclaw.sqlite` ([`openclaw_sqlite_paired`]),
//! into this gateway's records, so the node devices a user already paired stay paired (SPEC §11, State).
//!
//! Pure: the host reads the files and makes the result durable; this decides what each source entry
//! becomes. Only devices holding the `node` role are imported (an operator device — OpenClaw's own CLI —
//! is not a node); each entry that is not imported is named with the reason. Plaintext tokens become
//! their hashes here and go no further.

use crate::audit::{Action, Actor, AuditEntry, Head, key_fingerprint};
use crate::ids::{NodeId, RequestId};
use crate::record::{DeviceClient, NodeMeta, PairedNode, PendingRequest};
use crate::secret::{Token, TokenHash, sha256_hex};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

mod sqlite;
pub use sqlite::openclaw_sqlite_paired;

/// The `approvedVia` of an imported pairing.
pub const APPROVED_VIA: &str = "import";

/// What an OpenClaw device store becomes.
#[derive(Debug, Default)]
pub struct Imported {
    /// Paired node devices, with their node token hashed.
    pub paired: Vec<PairedNode>,
    /// Pending requests of node devices.
    pub pending: Vec<PendingRequest>,
    /// Entries left out, each with why.
    pub skipped: Vec<Skipped>,
}

/// A source entry that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its key in the source file.
    pub key: String,
    /// Why.
    pub why: String,
}

/// A string field, without control or hidden characters (as a client's would be refused).
fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .map(crate::params::strip_hidden)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn number(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(Value::as_u64)
}

/// Whether an OpenClaw device entry holds the node role.
fn is_node(v: &Value) -> bool {
    text(v, "role").as_deref() == Some("node")
        || v.get("roles")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|x| x.as_str() == Some("node")))
}

/// The device's id and its key in this gateway's one canonical form (base64url, unpadded), checked
/// against each other: the id must be the hex SHA-256 of the key.
fn identity(v: &Value) -> Result<(String, String), String> {
    let id = text(v, "deviceId")
        .ok_or("no deviceId")?
        .to_ascii_lowercase();
    let key = text(v, "publicKey").ok_or("no publicKey")?;
    let key = crate::proof::canonical_key(&key)
        .ok_or("publicKey is not a 32-byte Ed25519 key in base64")?;
    let raw = URL_SAFE_NO_PAD
        .decode(&key)
        .map_err(|_| "publicKey is not base64")?;
    if sha256_hex(&raw) != id {
        return Err("deviceId is not the SHA-256 of its publicKey".into());
    }
    Ok((id, key))
}

fn device_client(v: &Value) -> DeviceClient {
    DeviceClient {
        role: "node".into(),
        client_id: text(v, "clientId"),
        client_mode: text(v, "clientMode"),
    }
}

fn meta(v: &Value) -> NodeMeta {
    NodeMeta {
        display_name: text(v, "displayName"),
        platform: text(v, "platform"),
        device_family: text(v, "deviceFamily"),
        ..NodeMeta::default()
    }
}

/// A hash nobody holds a token for: an imported device whose node token was revoked (or that has
/// none) is paired but holds no working token, and gets one when it next connects.
fn no_token() -> TokenHash {
    TokenHash([0; 32])
}

fn paired_device(key: &str, v: &Value, now: u64) -> Result<PairedNode, String> {
    let (id, public_key) = identity(v)?;
    if id != key.to_ascii_lowercase() {
        return Err("its key in the file is not its deviceId".into());
    }
    let node_token = v.get("tokens").and_then(|t| t.get("node"));
    let live = node_token.filter(|t| number(t, "revokedAtMs").is_none());
    let (token_hash, issued) = match live.and_then(|t| text(t, "token")) {
        Some(t) => (
            Token::new(t).hash(),
            live.and_then(|t| number(t, "rotatedAtMs").or_else(|| number(t, "createdAtMs")))
                .or(Some(now)),
        ),
        None => (no_token(), None),
    };
    let approved_at = number(v, "approvedAtMs").unwrap_or(now);
    Ok(PairedNode {
        node_id: NodeId(id),
        token_hash,
        meta: meta(v),
        remote_ip: text(v, "remoteIp"),
        public_key: Some(public_key),
        created_at_ms: number(v, "createdAtMs").unwrap_or(approved_at),
        approved_at_ms: approved_at,
        renamed_at_ms: None,
        last_connected_at_ms: None,
        device: Some(device_client(v)),
        approved_via: Some(APPROVED_VIA.into()),
        approved_by: Some(APPROVED_VIA.into()),
        description: None,
        last_seen_at_ms: number(v, "lastSeenAtMs"),
        token_issued_at_ms: issued,
        token_revoked_at_ms: node_token.and_then(|t| number(t, "revokedAtMs")),
        extra: Map::new(),
    })
}

fn pending_device(key: &str, v: &Value) -> Result<PendingRequest, String> {
    let (id, public_key) = identity(v)?;
    let request_id = text(v, "requestId").unwrap_or_else(|| key.to_owned());
    if request_id != key {
        return Err("its key in the file is not its requestId".into());
    }
    Ok(PendingRequest {
        request_id: RequestId(request_id),
        node_id: NodeId(id),
        meta: meta(v),
        remote_ip: text(v, "remoteIp"),
        silent: v.get("silent").and_then(Value::as_bool).unwrap_or(false),
        public_key: Some(public_key),
        device: Some(device_client(v)),
        ts: number(v, "ts").ok_or("no ts")?,
        supersedes: None,
        extra: Map::new(),
    })
}

/// Reads OpenClaw 2026.4's `devices/paired.json` and `devices/pending.json` (objects keyed by device
/// id and request id). `now` stands in for missing times.
pub fn openclaw_devices(
    paired: &Map<String, Value>,
    pending: &Map<String, Value>,
    now: u64,
) -> Imported {
    let mut out = Imported::default();
    let skip = |out: &mut Imported, file: &str, key: &str, why: String| {
        out.skipped.push(Skipped {
            key: format!("{file} {key}"),
            why,
        });
    };
    for (key, v) in paired {
        if !is_node(v) {
            skip(
                &mut out,
                "paired.json",
                key,
                "not a node (role operator)".into(),
            );
            continue;
        }
        match paired_device(key, v, now) {
            Ok(p) => out.paired.push(p),
            Err(why) => skip(&mut out, "paired.json", key, why),
        }
    }
    for (key, v) in pending {
        if !is_node(v) {
            skip(
                &mut out,
                "pending.json",
                key,
                "not a node (role operator)".into(),
            );
            continue;
        }
        match pending_device(key, v) {
            Ok(p) => out.pending.push(p),
            Err(why) => skip(&mut out, "pending.json", key, why),
        }
    }
    out
}

/// An imported device merged into the record this gateway already has for its id (OpenClaw 2026.4
/// kept a node's commands in `nodes/paired.json`, which this gateway reads as its own): the device's
/// key, client, token and times, the node record's surface and name.
pub fn merge(existing: &PairedNode, imported: PairedNode) -> PairedNode {
    let mut meta = existing.meta.clone();
    meta.refresh(NodeMeta {
        caps: None,
        commands: None,
        ..imported.meta
    });
    PairedNode {
        meta,
        created_at_ms: existing.created_at_ms.min(imported.created_at_ms),
        renamed_at_ms: existing.renamed_at_ms,
        last_connected_at_ms: existing.last_connected_at_ms,
        extra: existing.extra.clone(),
        description: existing.description.clone(),
        remote_ip: imported.remote_ip.or_else(|| existing.remote_ip.clone()),
        ..imported
    }
}

/// The audit entries of an import, sealed onto the chain at `head`: one `imported` entry per paired
/// device and per pending request, by the gateway.
pub fn audit_entries(
    paired: &[PairedNode],
    pending: &[PendingRequest],
    now: u64,
    head: &mut Head,
) -> Vec<AuditEntry> {
    let entry =
        |node: &NodeId, key: Option<&str>, name: Option<&str>, request: Option<&RequestId>| {
            AuditEntry {
                action: Action::Imported,
                actor: Actor::Gateway,
                approved_via: request.is_none().then(|| APPROVED_VIA.to_owned()),
                display_name: name.map(str::to_owned),
                enrollment: None,
                hash: String::new(),
                key_fingerprint: key.map(key_fingerprint),
                node_id: node.clone(),
                prev_hash: String::new(),
                request_id: request.cloned(),
                seq: 0,
                ts: now,
            }
        };
    let mut out = Vec::new();
    for p in paired {
        let mut e = entry(
            &p.node_id,
            p.public_key.as_deref(),
            p.meta.display_name.as_deref(),
            None,
        );
        e.seal(head);
        out.push(e);
    }
    for r in pending {
        let mut e = entry(
            &r.node_id,
            r.public_key.as_deref(),
            r.meta.display_name.as_deref(),
            Some(&r.request_id),
        );
        e.seal(head);
        out.push(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &str = "YrAnO_CzuDGIfwMOjmYzH1sZ05vlWK6C64s3SB9L6z8";
    const ID: &str = "f03edd227f0634a2afa9d054f3334dd4e63c6d1308c7745fc93a92db11be6926";

    fn node_device(token: Value) -> Value {
        json!({
            "deviceId": ID, "publicKey": KEY, "displayName": "kitchen-pi", "platform": "linux",
            "clientId": "node-host", "clientMode": "node", "role": "node", "roles": ["node"],
            "scopes": [], "approvedScopes": [], "tokens": {"node": token},
            "createdAtMs": 10, "approvedAtMs": 20
        })
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn a_node_device_is_imported_with_its_token_hashed_and_an_operator_device_is_named_as_skipped()
    {
        let paired = map(json!({
            ID: node_device(json!({"token": "secret-node-token", "role": "node", "scopes": [], "createdAtMs": 20})),
            "25ab11cb96744ab01ac183f26f003da1eaf10c3595175b70ce996192ae97451f": {
                "deviceId": "25ab11cb96744ab01ac183f26f003da1eaf10c3595175b70ce996192ae97451f",
                "role": "operator", "roles": ["operator"]
            }
        }));
        let out = openclaw_devices(&paired, &Map::new(), 99);
        assert_eq!(out.paired.len(), 1);
        let p = &out.paired[0];
        assert!(p.token_hash.matches("secret-node-token"));
        assert_eq!(p.token_issued_at_ms, Some(20));
        assert_eq!(p.approved_via.as_deref(), Some("import"));
        assert_eq!(p.public_key.as_deref(), Some(KEY));
        assert!(
            !serde_json::to_string(p)
                .unwrap()
                .contains("secret-node-token")
        );
        assert_eq!(out.skipped.len(), 1);
        assert!(out.skipped[0].why.contains("operator"), "{:?}", out.skipped);
    }

    #[test]
    fn a_revoked_token_is_not_carried_and_a_mismatched_id_is_refused() {
        let paired = map(json!({ ID: node_device(json!({"token": "old", "revokedAtMs": 30})) }));
        let out = openclaw_devices(&paired, &Map::new(), 99);
        assert!(!out.paired[0].token_hash.matches("old"));
        assert_eq!(out.paired[0].token_issued_at_ms, None);
        let mut bad = node_device(json!({"token": "t"}));
        bad["deviceId"] = json!("00".repeat(32));
        let out = openclaw_devices(&map(json!({ "00".repeat(32): bad })), &Map::new(), 99);
        assert!(out.paired.is_empty());
        assert!(out.skipped[0].why.contains("SHA-256"));
    }

    #[test]
    fn pending_requests_of_nodes_come_with_their_key_and_client() {
        let pending = map(json!({"r1": {
            "requestId": "r1", "deviceId": ID, "publicKey": KEY, "clientId": "node-host",
            "clientMode": "node", "role": "node", "roles": ["node"], "scopes": [], "silent": false,
            "isRepair": false, "ts": 5
        }}));
        let out = openclaw_devices(&Map::new(), &pending, 99);
        let r = &out.pending[0];
        assert_eq!(
            r.device.as_ref().unwrap().client_id.as_deref(),
            Some("node-host")
        );
        assert_eq!(r.ts, 5);
        let mut head = Head::default();
        let entries = audit_entries(&[], &out.pending, 99, &mut head);
        assert_eq!(entries[0].action.as_str(), "imported");
        assert_eq!(head.seq, 1);
    }
}
