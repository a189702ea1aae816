//! What is stored: pending requests and paired nodes, with OpenClaw's field names (SPEC §5).
//!
//! Fields this version does not know (an OpenClaw `bins`, `permissions`, …) are kept in `extra` and
//! written back unchanged, so loading and saving never loses data. The wire views (module `view`)
//! decide what clients see.

use crate::ids::{NodeId, RequestId};
use crate::secret::{Token, TokenHash};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Descriptive metadata a node reports about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeMeta {
    /// Human name ("Living Room iPad").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Platform ("ios", "linux").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// App version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Core version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_version: Option<String>,
    /// UI version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui_version: Option<String>,
    /// Device family ("iPad").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    /// Model identifier ("iPad13,4").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_identifier: Option<String>,
    /// Capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caps: Option<Vec<String>>,
    /// Commands the node asks to expose; they decide the approval scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<String>>,
}

impl NodeMeta {
    /// Each field of `newer` that is present replaces the one here.
    pub fn refresh(&mut self, newer: NodeMeta) {
        fn take<T>(slot: &mut Option<T>, v: Option<T>) {
            if v.is_some() {
                *slot = v;
            }
        }
        take(&mut self.display_name, newer.display_name);
        take(&mut self.platform, newer.platform);
        take(&mut self.version, newer.version);
        take(&mut self.core_version, newer.core_version);
        take(&mut self.ui_version, newer.ui_version);
        take(&mut self.device_family, newer.device_family);
        take(&mut self.model_identifier, newer.model_identifier);
        take(&mut self.caps, newer.caps);
        take(&mut self.commands, newer.commands);
    }
}

/// The longest description (`node.description.set`) a paired node keeps, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 200;

fn is_false(b: &bool) -> bool {
    !*b
}

/// A pending pairing request (`nodes/pending.json`, keyed by `requestId`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingRequest {
    /// The request id.
    pub request_id: RequestId,
    /// The node asking.
    pub node_id: NodeId,
    /// What the node says about itself.
    #[serde(flatten)]
    pub meta: NodeMeta,
    /// Address of the socket the request came over, recorded by the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    /// Hint for auto-approval flows; true only while every merged request was silent.
    #[serde(default, skip_serializing_if = "is_false")]
    pub silent: bool,
    /// The node's raw Ed25519 public key (base64url) when a key-proven node made the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// How the device asked, when the gateway made the request at `connect` (device pairing, SPEC §11):
    /// its role and client. Absent for a `node.pair.request` call.
    #[serde(flatten)]
    pub device: Option<DeviceClient>,
    /// When the request was created (ms since the epoch); it expires `pending_ttl` later.
    pub ts: u64,
    /// The request this one replaced, when the node's pending request was superseded (another key,
    /// caps or commands): absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Supersedes>,
    /// Fields this version does not interpret, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What a superseding request replaced (SPEC §11): the verification code comes from the device key, so
/// a request whose caps or commands changed shows the same code as the one an operator may have read.
/// A client deciding by code or name (not by `requestId`) uses this to show what changed before it
/// grants anything. Over a chain of replacements the surfaces are intersected, so whatever the new
/// request asks beyond them is new to an operator who saw any earlier version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Supersedes {
    /// The request replaced (resolved `superseded`).
    pub request_id: RequestId,
    /// Capabilities every replaced request showed, sorted.
    #[serde(default)]
    pub caps: Vec<String>,
    /// Commands every replaced request showed, sorted.
    #[serde(default)]
    pub commands: Vec<String>,
    /// Whether a replaced request was bound to another device key (or to none).
    #[serde(default, skip_serializing_if = "is_false")]
    pub key_changed: bool,
}

impl Supersedes {
    /// What `old`, replaced by a request bound to `new_key`, leaves for its successor to record.
    pub fn of(old: &PendingRequest, new_key: Option<&str>) -> Supersedes {
        use std::collections::BTreeSet;
        fn shown(v: &Option<Vec<String>>) -> BTreeSet<String> {
            v.iter().flatten().cloned().collect()
        }
        let (mut caps, mut commands) = (shown(&old.meta.caps), shown(&old.meta.commands));
        let mut key_changed = old.public_key.as_deref() != new_key;
        if let Some(earlier) = &old.supersedes {
            caps.retain(|c| earlier.caps.contains(c));
            commands.retain(|c| earlier.commands.contains(c));
            key_changed |= earlier.key_changed;
        }
        Supersedes {
            request_id: old.request_id.clone(),
            caps: caps.into_iter().collect(),
            commands: commands.into_iter().collect(),
            key_changed,
        }
    }
}

/// A paired node (`nodes/paired.json`, keyed by `nodeId`). Holds the hash of its token, never the token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairedNode {
    /// The node id.
    pub node_id: NodeId,
    /// SHA-256 of the current token.
    pub token_hash: TokenHash,
    /// Approved metadata, with an operator's rename applied.
    #[serde(flatten)]
    pub meta: NodeMeta,
    /// Address the approved request came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    /// Public key the approved request was bound to, if a node made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// When the node was first paired.
    pub created_at_ms: u64,
    /// When the current token was issued.
    pub approved_at_ms: u64,
    /// When an operator last renamed it; a rename wins over names the node sends later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_at_ms: Option<u64>,
    /// Last successful token verification from the node's own connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_connected_at_ms: Option<u64>,
    /// The role and client of a device paired through device pairing (SPEC §11).
    #[serde(flatten)]
    pub device: Option<DeviceClient>,
    /// How the pairing was approved: `owner` (a person), `local` (`--auto-approve-local`) or `import`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_via: Option<String>,
    /// Who approved it: the operator connection (`operator openclaw-cli@127.0.0.1`), or `local` /
    /// `import` when no person did (see [`crate::audit::Actor::approver`]). Absent in records written
    /// before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// What the node is for, as an operator described it (`node.description.set`); kept across
    /// re-pairing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When a key-proven connection of the device was last admitted (written at most once a minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at_ms: Option<u64>,
    /// When the current token was issued to the device over `hello-ok` or a rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_issued_at_ms: Option<u64>,
    /// When an operator revoked or rotated the device's token, while it holds none (cleared when it
    /// reconnects and gets a new one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_revoked_at_ms: Option<u64>,
    /// Fields this version does not interpret, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The role and client of a device that asked through device pairing: what OpenClaw's device records
/// call `role`, `clientId` and `clientMode`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceClient {
    /// The role it connects as (`node`).
    pub role: String,
    /// `client.id` of its `connect` (`node-host`, `openclaw-ios`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `client.mode` of its `connect` (`node`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_mode: Option<String>,
}

/// Why a stored record could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The JSON did not have the expected shape.
    #[error("{0}")]
    Shape(#[from] serde_json::Error),
    /// A paired record had neither `tokenHash` nor a legacy `token`.
    #[error("paired node {0:?} has neither tokenHash nor token")]
    NoToken(String),
}

impl PairedNode {
    /// Reads a stored paired record, accepting OpenClaw's legacy plaintext `token` and hashing it.
    /// Returns whether the record was legacy, so the caller rewrites the file hashed.
    pub fn from_stored(mut value: Value) -> Result<(PairedNode, bool), RecordError> {
        let mut legacy = false;
        if let Value::Object(map) = &mut value {
            match map.remove("token") {
                Some(Value::String(t)) if !map.contains_key("tokenHash") => {
                    let hash = Token::new(t).hash();
                    map.insert("tokenHash".into(), Value::String(hash.to_base64url()));
                    legacy = true;
                }
                Some(_) => legacy = true,
                None => {}
            }
            if !map.contains_key("tokenHash") {
                let id = map.get("nodeId").and_then(Value::as_str).unwrap_or("?");
                return Err(RecordError::NoToken(id.to_owned()));
            }
        }
        Ok((serde_json::from_value(value)?, legacy))
    }
}

impl PendingRequest {
    /// Reads a stored pending record.
    pub fn from_stored(value: Value) -> Result<PendingRequest, RecordError> {
        Ok(serde_json::from_value(value)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn legacy_plaintext_token_is_hashed_and_unknown_fields_kept() {
        let (node, legacy) = PairedNode::from_stored(json!({
            "nodeId": "n1", "token": "secret-token", "displayName": "Box",
            "createdAtMs": 1, "approvedAtMs": 2, "bins": ["git"], "permissions": {"x": true}
        }))
        .unwrap();
        assert!(legacy);
        assert!(node.token_hash.matches("secret-token"));
        assert_eq!(node.meta.display_name.as_deref(), Some("Box"));
        let out = serde_json::to_string(&node).unwrap();
        assert!(!out.contains("secret-token"));
        assert!(!out.contains("\"token\""));
        assert!(out.contains("\"bins\":[\"git\"]"));
        assert!(out.contains("tokenHash"));
    }

    #[test]
    fn a_chain_of_replacements_keeps_what_every_earlier_request_showed() {
        let req = |id: &str, commands: &[&str], key: Option<&str>| PendingRequest {
            request_id: RequestId(id.into()),
            node_id: NodeId("n1".into()),
            meta: NodeMeta {
                commands: Some(commands.iter().map(|c| (*c).to_owned()).collect()),
                ..NodeMeta::default()
            },
            remote_ip: None,
            silent: false,
            public_key: key.map(str::to_owned),
            device: None,
            ts: 1,
            supersedes: None,
            extra: Map::new(),
        };
        // a: {x}; b: {x, system.run}; c replaces b: whoever saw a never saw system.run.
        let a = req("a", &["x"], Some("k"));
        let mut b = req("b", &["x", "system.run"], Some("k"));
        b.supersedes = Some(Supersedes::of(&a, Some("k")));
        let s = Supersedes::of(&b, Some("k"));
        assert_eq!(s.request_id.0, "b");
        assert_eq!(s.commands, ["x"]);
        assert!(!s.key_changed);
        // Stored form: optional, absent when nothing was replaced.
        let v = serde_json::to_value(&b).unwrap();
        assert_eq!(
            v["supersedes"],
            json!({"requestId": "a", "caps": [], "commands": ["x"]})
        );
        assert!(
            serde_json::to_value(&a)
                .unwrap()
                .get("supersedes")
                .is_none()
        );
        assert_eq!(PendingRequest::from_stored(v).unwrap(), b);
        // Another key (or none: an operator-made request) anywhere in the chain is remembered.
        let c = req("c", &["x"], None);
        assert!(Supersedes::of(&c, Some("k")).key_changed);
    }

    #[test]
    fn record_without_any_token_is_an_error() {
        let e =
            PairedNode::from_stored(json!({"nodeId": "n1", "createdAtMs": 1, "approvedAtMs": 2}));
        assert!(e.unwrap_err().to_string().contains("n1"));
    }

    #[test]
    fn device_fields_are_read_into_the_device_client_not_extra() {
        let v = json!({
            "requestId": "r1", "nodeId": "n1", "ts": 5, "role": "node", "clientId": "node-host",
            "clientMode": "node", "isRepair": false
        });
        let p = PendingRequest::from_stored(v.clone()).unwrap();
        assert_eq!(
            p.device,
            Some(DeviceClient {
                role: "node".into(),
                client_id: Some("node-host".into()),
                client_mode: Some("node".into())
            })
        );
        assert_eq!(p.extra.len(), 1, "{:?}", p.extra);
        assert_eq!(serde_json::to_value(&p).unwrap(), v);
        let plain =
            PendingRequest::from_stored(json!({"requestId": "r", "nodeId": "n", "ts": 1})).unwrap();
        assert_eq!(plain.device, None);
        assert!(plain.extra.is_empty());
    }

    #[test]
    fn pending_round_trips_with_openclaw_names() {
        let v = json!({
            "requestId": "r1", "nodeId": "n1", "displayName": "iPad", "caps": ["camera"],
            "commands": ["camera.snap"], "remoteIp": "10.0.0.2", "silent": true, "ts": 5, "isRepair": false
        });
        let p = PendingRequest::from_stored(v.clone()).unwrap();
        assert!(p.silent);
        assert_eq!(serde_json::to_value(&p).unwrap(), v);
    }
}
