//! What clients see: the wire shapes of pending requests, paired nodes and `node.list` entries.
//! None of them has a field for a token hash; a token appears only where the spec hands one over.

use crate::ids::{NodeId, RequestId};
use crate::record::{NodeMeta, PairedNode, PendingRequest, Supersedes};
use crate::scopes::required_approve_scopes;
use serde::Serialize;

/// A pending request as the request result, `node.pair.list` and `node.pair.requested` show it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingView<'a> {
    request_id: &'a RequestId,
    node_id: &'a NodeId,
    #[serde(flatten)]
    meta: &'a NodeMeta,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    silent: bool,
    is_repair: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_mode: Option<&'a str>,
    verification_code: &'a str,
    ts: u64,
    expires_at_ms: u64,
    required_approve_scopes: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    supersedes: Option<&'a Supersedes>,
}

impl<'a> PendingView<'a> {
    /// Builds the view; `is_repair` says whether the node is paired already.
    pub fn new(req: &'a PendingRequest, code: &'a str, is_repair: bool, ttl_ms: u64) -> Self {
        PendingView {
            request_id: &req.request_id,
            node_id: &req.node_id,
            meta: &req.meta,
            remote_ip: req.remote_ip.as_deref(),
            silent: req.silent,
            is_repair,
            public_key: req.public_key.as_deref(),
            client_id: req.device.as_ref().and_then(|d| d.client_id.as_deref()),
            client_mode: req.device.as_ref().and_then(|d| d.client_mode.as_deref()),
            verification_code: code,
            ts: req.ts,
            expires_at_ms: req.ts.saturating_add(ttl_ms),
            required_approve_scopes: required_approve_scopes(req.meta.commands.as_deref()),
            supersedes: req.supersedes.as_ref(),
        }
    }
}

/// A paired node as `node.pair.list`, approve and verify show it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PairedView<'a> {
    node_id: &'a NodeId,
    #[serde(flatten)]
    meta: &'a NodeMeta,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_ip: Option<&'a str>,
    created_at_ms: u64,
    approved_at_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    renamed_at_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_connected_at_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_mode: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    approved_via: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_seen_at_ms: Option<u64>,
    /// Present only in the approve result of a request an operator made.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
}

impl<'a> PairedView<'a> {
    /// The view of a paired node, without its token.
    pub fn new(node: &'a PairedNode) -> Self {
        PairedView {
            node_id: &node.node_id,
            meta: &node.meta,
            remote_ip: node.remote_ip.as_deref(),
            created_at_ms: node.created_at_ms,
            approved_at_ms: node.approved_at_ms,
            renamed_at_ms: node.renamed_at_ms,
            last_connected_at_ms: node.last_connected_at_ms,
            client_id: node.device.as_ref().and_then(|d| d.client_id.as_deref()),
            client_mode: node.device.as_ref().and_then(|d| d.client_mode.as_deref()),
            approved_via: node.approved_via.as_deref(),
            last_seen_at_ms: node.last_seen_at_ms,
            token: None,
        }
    }

    /// Adds the plaintext token (approve result of an operator-made request only).
    pub fn with_token(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }
}

/// One entry of `node.list`: a paired node, a connected node, or both merged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeEntry {
    /// The node id.
    pub node_id: NodeId,
    /// Metadata; the live connection wins over the record, an operator's rename over both.
    #[serde(flatten)]
    pub meta: NodeMeta,
    /// `client.id` of the live connection, else the one the device paired with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `client.mode` of the live connection, else the one the device paired with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_mode: Option<String>,
    /// How the pairing was approved: `owner` (a person), `local` (`--auto-approve-local`), `import`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_via: Option<String>,
    /// When a connection of the device was last admitted through device pairing (to the minute).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen_at_ms: Option<u64>,
    /// Address of the live connection, else of the approved request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    /// Whether the node is paired.
    pub paired: bool,
    /// Whether a key-proven connection of the node is open.
    pub connected: bool,
    /// When the current token was issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_at_ms: Option<u64>,
    /// When the live connection finished its handshake.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_at_ms: Option<u64>,
    /// Last successful token verification by the node itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_connected_at_ms: Option<u64>,
}
