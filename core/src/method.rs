//! The request methods of the protocol (SPEC §4): one name each, the scope an operator needs for it,
//! and who may call it.
//!
//! The gateway dispatches on [`Method`]; `hello-ok` lists [`Method::OPERATOR`] or [`Method::NODE`] as
//! its `features.methods`. Clients send requests with [`Method::as_str`] as the `method`, so no method
//! name is spelled twice.

use crate::scopes;
use serde::{Serialize, Serializer};
use std::fmt;

/// A request method a client may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `connect`: the handshake, the first request on every connection.
    Connect,
    /// `node.pair.request`: ask to pair (operators on behalf of a node, or the node itself).
    NodePairRequest,
    /// `node.pair.list`: pending requests and paired nodes.
    NodePairList,
    /// `node.pair.approve`: approve a pending request (by id or verification code).
    NodePairApprove,
    /// `node.pair.reject`: reject a pending request.
    NodePairReject,
    /// `node.pair.verify`: check a node's token.
    NodePairVerify,
    /// `node.pair.remove`: remove a paired node.
    NodePairRemove,
    /// `node.rename`: change a paired node's display name.
    NodeRename,
    /// `node.description.set`: set or clear what a paired node is for (an operator's note).
    NodeDescriptionSet,
    /// `node.list`: paired and connected nodes.
    NodeList,
    /// `node.describe`: one node.
    NodeDescribe,
    /// `device.pair.list`: device pairing's pending and paired devices (OpenClaw's shape).
    DevicePairList,
    /// `device.pair.approve`: approve a device pairing request.
    DevicePairApprove,
    /// `device.pair.reject`: reject a device pairing request.
    DevicePairReject,
    /// `device.pair.remove`: remove a paired device.
    DevicePairRemove,
    /// `device.token.rotate`: issue a paired device a new token.
    DeviceTokenRotate,
    /// `device.token.revoke`: revoke a paired device's token.
    DeviceTokenRevoke,
    /// `gateway.token.rotate`: rotate the operator token (needs `operator.admin` as well).
    GatewayTokenRotate,
    /// `enroll.create`: issue a setup code or an enrollment key (`operator.admin`).
    EnrollCreate,
    /// `enroll.list`: the setup codes and keys issued, never their secrets.
    EnrollList,
    /// `enroll.revoke`: end a setup code or key now (`operator.admin`).
    EnrollRevoke,
    /// `device.pair.setupCode`: OpenClaw's name for issuing a setup code (`operator.admin`).
    DevicePairSetupCode,
    /// `device.pair.setupStatus`: one setup code's state (OpenClaw's name).
    DevicePairSetupStatus,
}

impl Method {
    /// The methods an operator connection may call after `connect`, in the order `hello-ok` lists them.
    pub const OPERATOR: [Method; 17] = [
        Method::NodePairRequest,
        Method::NodePairList,
        Method::NodePairApprove,
        Method::NodePairReject,
        Method::NodePairVerify,
        Method::NodePairRemove,
        Method::NodeRename,
        Method::NodeDescriptionSet,
        Method::NodeList,
        Method::NodeDescribe,
        Method::DevicePairList,
        Method::DevicePairApprove,
        Method::DevicePairReject,
        Method::DevicePairRemove,
        Method::DeviceTokenRotate,
        Method::DeviceTokenRevoke,
        Method::GatewayTokenRotate,
    ];

    /// Methods an operator may call that `hello-ok` does not list: setup codes and enrollment keys, as
    /// OpenClaw leaves `device.pair.setupCode` out of its features.
    pub const UNLISTED: [Method; 5] = [
        Method::EnrollCreate,
        Method::EnrollList,
        Method::EnrollRevoke,
        Method::DevicePairSetupCode,
        Method::DevicePairSetupStatus,
    ];

    /// The methods a node connection may call after `connect`, in the order `hello-ok` lists them.
    pub const NODE: [Method; 2] = [Method::NodePairRequest, Method::NodePairVerify];

    /// The method named `name` on the wire, if there is one.
    pub fn parse(name: &str) -> Option<Method> {
        if name == "connect" {
            return Some(Method::Connect);
        }
        Method::OPERATOR
            .into_iter()
            .chain(Method::UNLISTED)
            .find(|m| m.as_str() == name)
    }

    /// The method's name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Connect => "connect",
            Method::NodePairRequest => "node.pair.request",
            Method::NodePairList => "node.pair.list",
            Method::NodePairApprove => "node.pair.approve",
            Method::NodePairReject => "node.pair.reject",
            Method::NodePairVerify => "node.pair.verify",
            Method::NodePairRemove => "node.pair.remove",
            Method::NodeRename => "node.rename",
            Method::NodeDescriptionSet => "node.description.set",
            Method::NodeList => "node.list",
            Method::NodeDescribe => "node.describe",
            Method::DevicePairList => "device.pair.list",
            Method::DevicePairApprove => "device.pair.approve",
            Method::DevicePairReject => "device.pair.reject",
            Method::DevicePairRemove => "device.pair.remove",
            Method::DeviceTokenRotate => "device.token.rotate",
            Method::DeviceTokenRevoke => "device.token.revoke",
            Method::GatewayTokenRotate => "gateway.token.rotate",
            Method::EnrollCreate => "enroll.create",
            Method::EnrollList => "enroll.list",
            Method::EnrollRevoke => "enroll.revoke",
            Method::DevicePairSetupCode => "device.pair.setupCode",
            Method::DevicePairSetupStatus => "device.pair.setupStatus",
        }
    }

    /// The scope an operator needs before the method runs: [`scopes::READ`] for `node.list` and
    /// `node.describe`, [`scopes::ADMIN`] for issuing and revoking setup codes and keys,
    /// [`scopes::PAIRING`] for the others. `None` for `connect`, which the handshake
    /// authenticates. Some methods need more once their parameters are known: an approval the scopes of
    /// the node's commands ([`scopes::required_approve_scopes`]), `gateway.token.rotate` admin.
    pub const fn scope(self) -> Option<&'static str> {
        match self {
            Method::Connect => None,
            Method::NodeList | Method::NodeDescribe => Some(scopes::READ),
            // Issuing pairs devices with no person looking at them: admin, as OpenClaw.
            Method::EnrollCreate | Method::EnrollRevoke | Method::DevicePairSetupCode => {
                Some(scopes::ADMIN)
            }
            _ => Some(scopes::PAIRING),
        }
    }

    /// Whether an operator connection may call the method after `connect` (with [`Method::scope`]).
    pub const fn operator_may_call(self) -> bool {
        !matches!(self, Method::Connect)
    }

    /// Whether a node connection may call the method after `connect`.
    pub const fn node_may_call(self) -> bool {
        matches!(self, Method::NodePairRequest | Method::NodePairVerify)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Method {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for m in Method::OPERATOR
            .into_iter()
            .chain(Method::UNLISTED)
            .chain([Method::Connect])
        {
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
        assert_eq!(Method::parse("node.pair"), None);
        assert!(Method::NODE.iter().all(|m| m.node_may_call()));
        assert!(Method::OPERATOR.iter().all(|m| m.operator_may_call()));
    }
}
