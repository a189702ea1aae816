//! The params clients send, typed, so no client writes a key by hand. The gateway validates what
//! arrives on its own terms (the `params` module): these only build well-formed requests.

use crate::record::NodeMeta;
use serde::{Deserialize, Serialize};

/// No params: `node.pair.list`, `node.list`, `device.pair.list` (serialises as `{}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoParams {}

/// `node.pair.request`: an operator (or a node) asking for a node to be paired.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairRequestParams {
    /// The node to pair.
    pub node_id: String,
    /// What it says about itself.
    #[serde(flatten)]
    pub meta: NodeMeta,
    /// Hint for auto-approval flows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub silent: bool,
}

/// `node.pair.approve` / `node.pair.reject` and `device.pair.approve` / `device.pair.reject`: one
/// request, by its id or by the verification code the device shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecideParams {
    /// The request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The verification code (`1234-5678`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl DecideParams {
    /// The request with this id.
    pub fn by_id(request_id: &str) -> Self {
        DecideParams {
            request_id: Some(request_id.to_owned()),
            code: None,
        }
    }

    /// The one pending request showing this verification code.
    pub fn by_code(code: &str) -> Self {
        DecideParams {
            request_id: None,
            code: Some(code.to_owned()),
        }
    }
}

/// `node.pair.remove` and `node.describe`: one node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRef {
    /// The node id.
    pub node_id: String,
}

/// `node.pair.remove`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveParams {
    /// The node id.
    pub node_id: String,
    /// Remove only a node that is not connected and was last seen before this time (see
    /// [`crate::view::NodeEntry::last_sighting`]); otherwise the gateway keeps it and answers
    /// `NODE_SEEN`. What `nodes prune` sends, so a node that comes back between the listing and the
    /// removal stays. Our extension: OpenClaw's `node.pair.remove` takes only `nodeId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_unseen_since_ms: Option<u64>,
}

/// `node.rename`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenameParams {
    /// The node id.
    pub node_id: String,
    /// Its new name.
    pub display_name: String,
}

/// `node.description.set`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescriptionParams {
    /// The node id.
    pub node_id: String,
    /// What the node is for; `None` (sent as `null`) clears it.
    pub description: Option<String>,
}

/// `node.pair.verify`: whether `token` is the node's current token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyParams {
    /// The node id.
    pub node_id: String,
    /// The token to check.
    pub token: String,
}

impl std::fmt::Debug for VerifyParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyParams")
            .field("node_id", &self.node_id)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// `device.pair.remove`: one device.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRef {
    /// The device id.
    pub device_id: String,
}

/// `device.token.rotate` / `device.token.revoke`: a device's token for one role.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceTokenParams {
    /// The device id.
    pub device_id: String,
    /// The role (`node`).
    pub role: String,
    /// The scopes, where the method takes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}
