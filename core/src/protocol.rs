//! The typed vocabulary of device pairing on the wire (SPEC §11), for both sides: the gateway builds
//! these records and clients — the CLI, the page, the tests — read them back with the same types, so
//! no client indexes JSON by key strings or decides by a message's words.
//!
//! Names and shapes follow OpenClaw 2026.9.6 (its `devices` and `nodes` commands read them); fields
//! OpenClaw lacks (`verificationCode`, `expiresAtMs`, `requiredApproveScopes`, `approvedVia`, …) are
//! additions a client may ignore.

use serde::{Deserialize, Serialize};

/// The protocol versions this gateway speaks, oldest first.
pub const SUPPORTED_PROTOCOLS: [u64; 2] = [3, 4];

/// The version a `connect` gets: the highest supported one inside `[min, max]`.
pub fn negotiate(min: u64, max: u64) -> Option<u64> {
    SUPPORTED_PROTOCOLS
        .iter()
        .rev()
        .copied()
        .find(|v| (min..=max).contains(v))
}

/// A stable `error.details.code`: what a client decides on, instead of the message text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum DetailCode {
    /// The device must be approved first; see [`PairingRequired`].
    PairingRequired,
    /// `connect` offered no protocol version this gateway speaks.
    ProtocolMismatch,
    /// An operator connected without the gateway token.
    AuthTokenMissing,
    /// The gateway token (or a node's shared token) was wrong.
    AuthTokenMismatch,
    /// A device token was presented and does not match the device's current token.
    AuthDeviceTokenMismatch,
    /// A bootstrap token was presented that this gateway did not issue.
    AuthBootstrapTokenInvalid,
    /// The caller lacks a scope the method needs (protocol v4's `FORBIDDEN`).
    MissingScope,
    /// A node connected without a device block.
    DeviceIdentityRequired,
    /// Any code this version does not know.
    #[serde(other)]
    Unknown,
}

/// `error.details` of a `connect` refused because the device is not (yet) paired: the request it is
/// waiting on and what the client should do. OpenClaw 2026.5+ clients keep retrying on
/// `recommendedNextStep: "wait_then_retry"` with `pauseReconnect: false`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairingRequired {
    /// Always [`DetailCode::PairingRequired`].
    pub code: DetailCode,
    /// `not-paired` (no record, or one bound to another key) or `scope-upgrade` (wider commands).
    pub reason: String,
    /// The pending request that approval resolves.
    pub request_id: String,
    /// The device asking.
    pub device_id: String,
    /// The code the operator approves by (`1234-5678`).
    pub verification_code: String,
    /// What to do: `wait_then_retry`.
    pub recommended_next_step: String,
    /// `false`: keep reconnecting, the next retry after approval is admitted.
    pub pause_reconnect: bool,
    /// `true`.
    pub retryable: bool,
    /// `true`: the request stays pending until someone decides.
    pub wait_for_resolution: bool,
    /// A sentence for the person at the device: the command that approves it.
    pub remediation_hint: String,
    /// The role asked for (`node`).
    pub requested_role: String,
    /// The scopes asked for (none for a node).
    pub requested_scopes: Vec<String>,
}

/// `hello-ok.auth`: what the connection was admitted as, and a device token when one is issued now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloAuth {
    /// What admitted the connection: `token` (the gateway token), `device-token`, or `device` (a
    /// node's key alone, in the explicit flow of SPEC §3–§4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// `operator` or `node`.
    pub role: String,
    /// The scopes granted (none for a node).
    pub scopes: Vec<String>,
    /// A fresh device token, delivered once; only its hash is stored. Absent when the device already
    /// presented a working one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// When `deviceToken` was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at_ms: Option<u64>,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_common_version_is_chosen() {
        assert_eq!(negotiate(3, 3), Some(3));
        assert_eq!(negotiate(4, 4), Some(4));
        assert_eq!(negotiate(3, 4), Some(4));
        assert_eq!(negotiate(1, 9), Some(4));
        assert_eq!(negotiate(5, 6), None);
        assert_eq!(negotiate(1, 2), None);
        assert_eq!(negotiate(4, 3), None);
    }

    #[test]
    fn unknown_detail_codes_parse_as_unknown() {
        let c: DetailCode = serde_json::from_str("\"AUTH_RATE_LIMITED\"").unwrap();
        assert_eq!(c, DetailCode::Unknown);
        let c: DetailCode = serde_json::from_str("\"PAIRING_REQUIRED\"").unwrap();
        assert_eq!(c, DetailCode::PairingRequired);
    }
}
