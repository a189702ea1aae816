//! Device pairing in OpenClaw's device shape (`device.pair.*`, `device.token.*`, SPEC §11).

use serde::{Deserialize, Serialize};

/// A pending request in device shape (`device.pair.list`, `device.pair.requested`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevicePending {
    /// The request id (the same one `node.pair.*` shows).
    pub request_id: String,
    /// The device id: hex SHA-256 of its public key.
    pub device_id: String,
    /// Its raw Ed25519 public key, base64url.
    pub public_key: String,
    /// Name the device gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Platform (`linux`, `ios`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// App version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Device family (`iPad`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    /// `client.id` of its connect (`node-host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `client.mode` of its connect (`node`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_mode: Option<String>,
    /// The role asked for.
    pub role: String,
    /// Every role asked for.
    pub roles: Vec<String>,
    /// Scopes asked for (none for a node).
    pub scopes: Vec<String>,
    /// Capabilities it declared.
    #[serde(default)]
    pub caps: Vec<String>,
    /// Commands it declared: what approval grants, and what decides the approval scopes.
    #[serde(default)]
    pub commands: Vec<String>,
    /// Address it asked from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    /// Hint for auto-approval flows.
    #[serde(default)]
    pub silent: bool,
    /// Whether the device is paired already (approval re-pairs it).
    #[serde(default)]
    pub is_repair: bool,
    /// The code the device shows; approve by it.
    pub verification_code: String,
    /// Scopes an operator needs to approve it.
    #[serde(default)]
    pub required_approve_scopes: Vec<String>,
    /// When the request was made.
    pub ts: u64,
    /// When it expires unless decided.
    pub expires_at_ms: u64,
    /// The request it replaced (its caps or commands or key changed), with what that one showed:
    /// a client deciding by code or name shows the operator what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<crate::record::Supersedes>,
}

/// One token of a paired device, without the secret (`device.pair.list`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceTokenSummary {
    /// The role it is for.
    pub role: String,
    /// Its scopes (none for a node).
    pub scopes: Vec<String>,
    /// When the current token was issued; absent while the device holds none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at_ms: Option<u64>,
    /// When an operator rotated or revoked it, while the device holds no token yet (it gets one when
    /// it reconnects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<u64>,
}

/// A paired device (`device.pair.list`, `device.pair.approve`). Never carries a token or its hash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevicePaired {
    /// The device id.
    pub device_id: String,
    /// Its public key, base64url.
    pub public_key: String,
    /// Name (an operator's rename wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// App version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Device family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    /// `client.id` it paired with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `client.mode` it paired with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_mode: Option<String>,
    /// Its role.
    pub role: String,
    /// Every role it holds.
    pub roles: Vec<String>,
    /// Its scopes (none for a node).
    pub scopes: Vec<String>,
    /// Approved capabilities.
    #[serde(default)]
    pub caps: Vec<String>,
    /// Approved commands: a connection of the device is admitted with these only.
    #[serde(default)]
    pub commands: Vec<String>,
    /// Address it was approved from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    /// When it was first paired.
    pub created_at_ms: u64,
    /// When it was last approved.
    pub approved_at_ms: u64,
    /// How: `owner` (a person approved it), `local` (`--auto-approve-local`) or `import`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_via: Option<String>,
    /// Who approved it (`operator openclaw-cli@127.0.0.1`, `local`, `import`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// What it is for, as an operator described it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When a connection of it was last admitted (to the minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at_ms: Option<u64>,
    /// Its tokens, without secrets.
    pub tokens: Vec<DeviceTokenSummary>,
}

/// The result of `device.pair.list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicePairList {
    /// Pending requests of devices, newest first.
    pub pending: Vec<DevicePending>,
    /// Paired devices, most recently approved first.
    pub paired: Vec<DevicePaired>,
}

/// The result of `device.pair.approve`: the request and the device it paired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceApproved {
    /// The request approved.
    pub request_id: String,
    /// The paired device (no token).
    pub device: DevicePaired,
}

/// The result of `device.pair.reject`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRejected {
    /// The request rejected.
    pub request_id: String,
    /// The device that asked.
    pub device_id: String,
}

/// The result of `device.pair.remove`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRemoved {
    /// The device unpaired.
    pub device_id: String,
}

/// `device.pair.resolved` (and the result shapes of `device.pair.reject` / `remove` name the same ids).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceResolved {
    /// The request; empty for a removal.
    pub request_id: String,
    /// The device.
    pub device_id: String,
    /// `approved`, `rejected`, `expired`, `superseded` or `removed`.
    pub decision: crate::Decision,
    /// When.
    pub ts: u64,
}

/// The result of `device.token.rotate`. Carries no token: the device's live connections are closed
/// and it gets its new token in `hello-ok` when it reconnects (`tokenDelivery: "on-reconnect"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceTokenRotated {
    /// The device.
    pub device_id: String,
    /// The role whose token changed.
    pub role: String,
    /// The scopes of the role (none for a node).
    pub scopes: Vec<String>,
    /// When the old token stopped working.
    pub rotated_at_ms: u64,
    /// How the new token reaches the device: `on-reconnect`.
    pub token_delivery: String,
    /// Live connections of the device that were closed so it reconnects for its new token.
    #[serde(default)]
    pub closed_connections: usize,
}

/// The result of `device.token.revoke`: the device's token stopped working and its connections were
/// closed. It stays paired; it gets a new token only by reconnecting with the gateway token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceTokenRevoked {
    /// The device.
    pub device_id: String,
    /// The role whose token was revoked.
    pub role: String,
    /// When.
    pub revoked_at_ms: u64,
    /// Live connections of the device that were closed.
    #[serde(default)]
    pub closed_connections: usize,
}
