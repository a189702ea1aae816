//! Node pairing as clients read it: the results of the `node.pair.*`, `node.rename`,
//! `node.description.set`, `node.list` and `node.describe` methods, and the `node.pair.requested` /
//! `node.pair.resolved` events.
//!
//! The records themselves are the gateway's views ([`crate::view`]), read back owned.

use crate::ids::{NodeId, RequestId};
use crate::memory::Decision;
use crate::view::{NodeEntry, PairedView, PendingView, TokenText};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// A pending request as a client reads it (`node.pair.list`, `node.pair.requested`, the request
/// result).
pub type NodePending = PendingView<'static>;

/// A paired node as a client reads it (`node.pair.list`, the approve and verify results).
pub type NodePaired = PairedView<'static>;

/// The result of `node.pair.request`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestResult {
    /// Always `pending`.
    pub status: String,
    /// The pending request (new, or the one it merged into).
    pub request: NodePending,
    /// Whether a new request was made (rather than merged into the node's pending one).
    pub created: bool,
}

/// The result of `node.pair.list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePairList {
    /// Pending requests, newest first.
    #[serde(default)]
    pub pending: Vec<NodePending>,
    /// Paired nodes, most recently approved first.
    #[serde(default)]
    pub paired: Vec<NodePaired>,
}

/// The result of `node.pair.approve` as a client reads it.
pub type NodeApproved = ApprovedView<'static>;

/// The result of `node.pair.approve`: the paired node, with its token when an operator made the
/// request (that operator hands it over). The gateway serialises it from borrowed views, so the token
/// is never copied into an intermediate value; a client reads it owned ([`NodeApproved`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovedView<'a> {
    /// The request approved.
    pub request_id: Cow<'a, RequestId>,
    /// The node it paired.
    pub node: PairedView<'a>,
}

/// The result of `node.pair.reject`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRejected {
    // In this order, the bytes the gateway has always sent (`nodeId` before `requestId`).
    /// The node that asked.
    pub node_id: NodeId,
    /// The request rejected.
    pub request_id: RequestId,
}

/// The result of `node.pair.verify`: whether the token is the node's current one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeVerified {
    /// Whether it verified.
    pub ok: bool,
    /// The node, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodePaired>,
}

/// The result of `node.pair.remove`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRemoved {
    /// The node unpaired.
    pub node_id: NodeId,
}

/// The result of `node.rename`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRenamed {
    // In this order, the bytes the gateway has always sent (`displayName` before `nodeId`).
    /// Its new name.
    pub display_name: String,
    /// The node.
    pub node_id: NodeId,
}

/// The result of `node.description.set`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeDescriptionSet {
    /// The node.
    pub node_id: NodeId,
    /// Its description now; `None` when it was cleared.
    #[serde(default)]
    pub description: Option<String>,
}

/// The result of `node.list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeList {
    /// The gateway's clock.
    pub ts: u64,
    /// Paired and connected nodes, connected first, then by name.
    pub nodes: Vec<NodeEntry>,
}

/// The result of `node.describe`: one [`NodeEntry`] and the gateway's clock.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDescribed {
    /// The gateway's clock.
    pub ts: u64,
    /// The node.
    #[serde(flatten)]
    pub entry: NodeEntry,
}

/// The payload of `node.pair.resolved`: how a request ended, or that a node was removed. To the node
/// that asked (not to operators), an approval made while it waited carries its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairResolved {
    /// The request; empty for a removal.
    #[serde(default)]
    pub request_id: String,
    /// The node.
    pub node_id: NodeId,
    /// How it ended.
    pub decision: Decision,
    /// When (gateway clock).
    pub ts: u64,
    /// The node's token: only in the copy sent to the node itself, after an approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenText<'static>>,
}
