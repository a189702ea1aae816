//! The typed vocabulary of the wire, for both sides: the gateway builds these records and clients —
//! the CLI, the page, the tests — read them back with the same types, so no client indexes JSON by key
//! strings or decides by a message's words.
//!
//! - [`connect`]: `connect.challenge`, the `connect` params ([`ConnectParams`]) and `hello-ok`;
//! - [`node`]: the `node.pair.*` / `node.*` results and events ([`NodePending`], [`NodePaired`],
//!   [`NodeEntry`], [`PairResolved`], …);
//! - [`device`]: the same in OpenClaw's device shape (`device.pair.*`, `device.token.*`, SPEC §11);
//! - [`enroll`]: setup codes and enrollment keys ([`EnrollIssued`], [`EnrollEntry`], …);
//! - [`error`]: the `error` of a failed response ([`ApiError`], [`ErrorCode`], [`ErrorDetails`] with
//!   its [`DetailCode`]);
//! - [`params`]: the params clients send ([`DecideParams`], [`RenameParams`], …);
//! - here: the protocol numbers, in one place.
//!
//! Names and shapes follow OpenClaw 2026.9.6 (its `devices` and `nodes` commands read them); fields
//! OpenClaw lacks (`verificationCode`, `expiresAtMs`, `requiredApproveScopes`, `approvedVia`, …) are
//! additions a client may ignore. Frames themselves (`req`, `res`, `event`) are in the `wire` module.

pub mod connect;
pub mod device;
pub mod enroll;
pub mod error;
pub mod node;
pub mod params;

pub use crate::memory::Decision;
pub use crate::view::{NodeEntry, TokenText};
pub use connect::{
    Challenge, ClientInfo, ConnectAuth, ConnectDevice, ConnectParams, Features,
    GatewayTokenRotated, HelloAuth, HelloOk, Policy, ServerInfo, Tick,
};
pub use device::{
    DeviceApproved, DevicePairList, DevicePaired, DevicePending, DeviceRejected, DeviceRemoved,
    DeviceResolved, DeviceTokenRevoked, DeviceTokenRotated, DeviceTokenSummary,
};
pub use enroll::{EnrollEntry, EnrollIssued, EnrollList, EnrollParams, EnrollRef, SetupCompleted};
pub use error::{ApiError, ErrorCode, ErrorDetails};
pub use node::{
    NodeApproved, NodeDescribed, NodeDescriptionSet, NodeList, NodePairList, NodePaired,
    NodePending, NodeRejected, NodeRemoved, NodeRenamed, NodeVerified, PairResolved, RequestResult,
};
pub use params::{
    DecideParams, DescriptionParams, DeviceRef, DeviceTokenParams, NoParams, NodeRef,
    PairRequestParams, RenameParams, VerifyParams,
};

use serde::{Deserialize, Serialize};

/// `details.reason` of a refused operator token that was rotated away (with
/// [`DetailCode::AuthTokenMismatch`]).
pub const REASON_TOKEN_ROTATED: &str = "token-rotated";

/// The protocol version this project's own clients (the CLI, the page) speak: what
/// [`ConnectParams`] asks for unless told otherwise.
pub const PROTOCOL_VERSION: u64 = 3;

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
    /// A device proof's public key is not a valid Ed25519 key.
    DeviceAuthPublicKeyInvalid,
    /// A device proof's id is not the hash of its key.
    DeviceAuthDeviceIdMismatch,
    /// A device proof was signed too long ago (or ahead).
    DeviceAuthSignatureExpired,
    /// A device proof signed no nonce.
    DeviceAuthNonceRequired,
    /// A device proof signed another connection's nonce.
    DeviceAuthNonceMismatch,
    /// A device proof's signature does not verify.
    DeviceAuthSignatureInvalid,
    /// The gateway runs with pairing turned off (`--no-pairing`): no request can be made or decided.
    PairingDisabled,
    /// The store could not make the change durable, so it was not made; retry.
    StorageFailed,
    /// No pending request has this id or verification code; `details.reason` says what became of
    /// it: a [`Decision`] (`expired`, `approved`, …) or `unknown`.
    UnknownRequest,
    /// More than one pending request shows this verification code; `details.requestIds` lists them.
    AmbiguousCode,
    /// No node (paired or connected) has this id.
    UnknownNode,
    /// No paired device has this id.
    UnknownDevice,
    /// A `device.pair.*` decision named a request an operator made, not a device
    /// (`details.reason: "not-a-device"` too); decide it with `node.pair.approve`/`reject`.
    NotADevice,
    /// No setup code or enrollment key has this id (or id prefix).
    UnknownEnrollment,
    /// A conditional `node.pair.remove` (`ifUnseenSinceMs`) found the node connected or seen since
    /// the cutoff, so it was kept.
    NodeSeen,
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

#[cfg(test)]
mod tests;
