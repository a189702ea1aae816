//! What clients see: the wire shapes of pending requests, paired nodes and `node.list` entries.
//! None of them has a field for a token hash; a token appears only where the spec hands one over.
//!
//! The gateway builds each view borrowing from its records (no copies on the way to a frame); a client
//! reads the same type back owned, as `protocol::NodePending` and `protocol::NodePaired` (the
//! `'static` forms), so both sides share one shape.

use crate::ids::{NodeId, RequestId};
use crate::record::{NodeMeta, PairedNode, PendingRequest, Supersedes};
use crate::scopes::required_approve_scopes;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

fn is_false(b: &bool) -> bool {
    !*b
}

/// A token handed over on the wire (the approve result of an operator-made request, the approved
/// event to the node that waited): serialised as the plain string, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenText<'a>(pub Cow<'a, str>);

impl TokenText<'_> {
    /// The secret itself, for the one party entitled to it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TokenText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenText(<redacted>)")
    }
}

/// A pending request as the request result, `node.pair.list` and `node.pair.requested` show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingView<'a> {
    /// The request id.
    pub request_id: Cow<'a, RequestId>,
    /// The node asking.
    pub node_id: Cow<'a, NodeId>,
    /// What the node says about itself.
    #[serde(flatten)]
    pub meta: Cow<'a, NodeMeta>,
    /// The address the request came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<Cow<'a, str>>,
    /// Hint for auto-approval flows.
    #[serde(default, skip_serializing_if = "is_false")]
    pub silent: bool,
    /// Whether the node is paired already (approval re-pairs it).
    #[serde(default)]
    pub is_repair: bool,
    /// The node's raw Ed25519 public key (base64url), when a key-proven node asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<Cow<'a, str>>,
    /// `client.id` of the device's `connect`, when it asked through device pairing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Cow<'a, str>>,
    /// `client.mode` of the device's `connect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_mode: Option<Cow<'a, str>>,
    /// The code the device shows (`1234-5678`); approve by it. Empty for an operator-made request.
    #[serde(default)]
    pub verification_code: Cow<'a, str>,
    /// When the request was made (gateway clock, ms since the epoch).
    pub ts: u64,
    /// When it expires unless decided.
    #[serde(default)]
    pub expires_at_ms: u64,
    /// The scopes an operator needs to approve it.
    #[serde(default)]
    pub required_approve_scopes: Vec<Cow<'static, str>>,
    /// The request it replaced, with what that one showed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Cow<'a, Supersedes>>,
}

impl<'a> PendingView<'a> {
    /// Builds the view; `is_repair` says whether the node is paired already.
    pub fn new(req: &'a PendingRequest, code: &'a str, is_repair: bool, ttl_ms: u64) -> Self {
        PendingView {
            request_id: Cow::Borrowed(&req.request_id),
            node_id: Cow::Borrowed(&req.node_id),
            meta: Cow::Borrowed(&req.meta),
            remote_ip: req.remote_ip.as_deref().map(Cow::Borrowed),
            silent: req.silent,
            is_repair,
            public_key: req.public_key.as_deref().map(Cow::Borrowed),
            client_id: req
                .device
                .as_ref()
                .and_then(|d| d.client_id.as_deref())
                .map(Cow::Borrowed),
            client_mode: req
                .device
                .as_ref()
                .and_then(|d| d.client_mode.as_deref())
                .map(Cow::Borrowed),
            verification_code: Cow::Borrowed(code),
            ts: req.ts,
            expires_at_ms: req.ts.saturating_add(ttl_ms),
            required_approve_scopes: required_approve_scopes(req.meta.commands.as_deref())
                .iter()
                .map(|s| Cow::Borrowed(*s))
                .collect(),
            supersedes: req.supersedes.as_ref().map(Cow::Borrowed),
        }
    }

    /// The name to show: the display name, else the node id (see [`crate::format::node_label`]).
    pub fn name(&self) -> String {
        crate::format::node_label(self.meta.display_name.as_deref(), self.node_id.as_str())
    }
}

/// A paired node as `node.pair.list`, approve and verify show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairedView<'a> {
    /// The node id.
    pub node_id: Cow<'a, NodeId>,
    /// Approved metadata, with an operator's rename applied.
    #[serde(flatten)]
    pub meta: Cow<'a, NodeMeta>,
    /// Address the approved request came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<Cow<'a, str>>,
    /// When the node was first paired.
    #[serde(default)]
    pub created_at_ms: u64,
    /// When the current token was issued.
    #[serde(default)]
    pub approved_at_ms: u64,
    /// When an operator last renamed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_at_ms: Option<u64>,
    /// Last successful token verification from the node's own connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_connected_at_ms: Option<u64>,
    /// `client.id` the device paired with (device pairing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Cow<'a, str>>,
    /// `client.mode` the device paired with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_mode: Option<Cow<'a, str>>,
    /// How the pairing was approved: `owner`, `local` or `import`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_via: Option<Cow<'a, str>>,
    /// Who approved it (`operator openclaw-cli@127.0.0.1`, `local`, `import`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<Cow<'a, str>>,
    /// What it is for, as an operator described it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Cow<'a, str>>,
    /// When a connection of the device was last admitted (to the minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at_ms: Option<u64>,
    /// The node's token: present only in the approve result of a request an operator made. A client
    /// that reads it holds a secret in a plain `String`: hand it over and drop it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenText<'a>>,
}

impl<'a> PairedView<'a> {
    /// The view of a paired node, without its token.
    pub fn new(node: &'a PairedNode) -> Self {
        let device = node.device.as_ref();
        PairedView {
            node_id: Cow::Borrowed(&node.node_id),
            meta: Cow::Borrowed(&node.meta),
            remote_ip: node.remote_ip.as_deref().map(Cow::Borrowed),
            created_at_ms: node.created_at_ms,
            approved_at_ms: node.approved_at_ms,
            renamed_at_ms: node.renamed_at_ms,
            last_connected_at_ms: node.last_connected_at_ms,
            client_id: device
                .and_then(|d| d.client_id.as_deref())
                .map(Cow::Borrowed),
            client_mode: device
                .and_then(|d| d.client_mode.as_deref())
                .map(Cow::Borrowed),
            approved_via: node.approved_via.as_deref().map(Cow::Borrowed),
            approved_by: node.approved_by.as_deref().map(Cow::Borrowed),
            description: node.description.as_deref().map(Cow::Borrowed),
            last_seen_at_ms: node.last_seen_at_ms,
            token: None,
        }
    }

    /// Adds the plaintext token (approve result of an operator-made request only).
    pub fn with_token(mut self, token: &'a str) -> Self {
        self.token = Some(TokenText(Cow::Borrowed(token)));
        self
    }

    /// The name to show: the display name, else the node id (see [`crate::format::node_label`]).
    pub fn name(&self) -> String {
        crate::format::node_label(self.meta.display_name.as_deref(), self.node_id.as_str())
    }
}

/// One entry of `node.list`: a paired node, a connected node, or both merged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeEntry {
    /// The node id.
    pub node_id: NodeId,
    /// Metadata; the live connection wins over the record, an operator's rename over both.
    #[serde(flatten)]
    pub meta: NodeMeta,
    /// `client.id` of the live connection, else the one the device paired with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `client.mode` of the live connection, else the one the device paired with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_mode: Option<String>,
    /// How the pairing was approved: `owner` (a person), `local` (`--auto-approve-local`), `import`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_via: Option<String>,
    /// Who approved it (`operator openclaw-cli@127.0.0.1`, `local`, `import`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// What it is for, as an operator described it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When a connection of the device was last admitted through device pairing (to the minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at_ms: Option<u64>,
    /// Address of the live connection, else of the approved request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    /// Whether the node is paired.
    #[serde(default)]
    pub paired: bool,
    /// Whether a key-proven connection of the node is open.
    #[serde(default)]
    pub connected: bool,
    /// When the current token was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at_ms: Option<u64>,
    /// When the live connection finished its handshake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_at_ms: Option<u64>,
    /// Last successful token verification by the node itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_connected_at_ms: Option<u64>,
}

impl NodeEntry {
    /// The name to show: the display name, else the node id (see [`crate::format::node_label`]).
    pub fn name(&self) -> String {
        crate::format::node_label(self.meta.display_name.as_deref(), self.node_id.as_str())
    }

    /// When the node was last seen: the later of [`last_seen_at_ms`](Self::last_seen_at_ms) (a
    /// device admitted at `connect`) and [`last_connected_at_ms`](Self::last_connected_at_ms) (its
    /// own token verification); `None` if never since its approval.
    pub fn last_seen(&self) -> Option<u64> {
        self.last_seen_at_ms.max(self.last_connected_at_ms)
    }

    /// What staleness is judged by (`nodes prune`, `node.pair.remove` with `ifUnseenSinceMs`):
    /// [`NodeEntry::last_seen`], or for a node never seen since, when its current token was issued.
    pub fn last_sighting(&self) -> u64 {
        self.last_seen()
            .unwrap_or(self.approved_at_ms.unwrap_or_default())
    }
}
