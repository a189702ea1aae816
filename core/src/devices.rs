//! The device methods of SPEC §11, shaped as OpenClaw 2026.9.6 so that its `openclaw devices list |
//! approve | reject | remove | rotate | revoke` work: `device.pair.*` and `device.token.*` over the same
//! requests and records as `node.pair.*` (one request and one approval per device).

use crate::audit::Actor;
use crate::gateway::Gateway;
use crate::ids::NodeId;
use crate::memory::Decision;
use crate::method::Method;
use crate::methods::Caller;
use crate::pairing::{Via, device_pending};
use crate::params::Params;
use crate::protocol::DetailCode;
use crate::protocol::{
    DeviceApproved, DevicePairList, DevicePaired, DeviceRejected, DeviceRemoved,
    DeviceTokenRevoked, DeviceTokenRotated, DeviceTokenSummary,
};
use crate::record::{PairedNode, PendingRequest};
use crate::store::Store;
use crate::wire::{ApiError, ok_frame};
use serde_json::{Value, json};
use std::sync::Arc;

type Reply = Result<Arc<str>, ApiError>;

/// The close code OpenClaw uses when a device's credentials change under a live connection; its
/// clients reconnect at once.
const CREDENTIALS_CHANGED: u16 = 4001;

/// The device view of a paired record. Never carries the token or its hash.
pub(crate) fn device_paired(node: &PairedNode) -> DevicePaired {
    let role = node
        .device
        .as_ref()
        .map_or("node", |d| d.role.as_str())
        .to_owned();
    DevicePaired {
        device_id: node.node_id.0.clone(),
        public_key: node.public_key.clone().unwrap_or_default(),
        display_name: node.meta.display_name.clone(),
        platform: node.meta.platform.clone(),
        version: node.meta.version.clone(),
        device_family: node.meta.device_family.clone(),
        client_id: node.device.as_ref().and_then(|d| d.client_id.clone()),
        client_mode: node.device.as_ref().and_then(|d| d.client_mode.clone()),
        roles: vec![role.clone()],
        tokens: vec![DeviceTokenSummary {
            role: role.clone(),
            scopes: Vec::new(),
            created_at_ms: node.token_issued_at_ms,
            revoked_at_ms: node.token_revoked_at_ms,
        }],
        role,
        scopes: Vec::new(),
        caps: node.meta.caps.clone().unwrap_or_default(),
        commands: node.meta.commands.clone().unwrap_or_default(),
        remote_ip: node.remote_ip.clone(),
        created_at_ms: node.created_at_ms,
        approved_at_ms: node.approved_at_ms,
        approved_via: node.approved_via.clone(),
        approved_by: node.approved_by.clone(),
        description: node.description.clone(),
        last_seen_at_ms: node.last_seen_at_ms,
    }
}

/// A `deviceId` parameter in its one form: a device id is the hex SHA-256 of its key, written in
/// lowercase as `connect` and import write it, so `ABC…` names the same device as `abc…`.
fn device_id_param(p: &Params<'_>) -> Result<NodeId, ApiError> {
    let id = p.node_id("deviceId")?;
    if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(NodeId(id.to_ascii_lowercase()))
    } else {
        Ok(NodeId(id))
    }
}

impl<S: Store> Gateway<S> {
    /// Runs a `device.*` method (the caller already holds `operator.pairing`).
    pub(crate) fn device_call(
        &mut self,
        caller: &Caller,
        m: Method,
        id: &str,
        params: Value,
    ) -> Reply {
        let limits = &self.config.limits;
        let method = m.as_str();
        match m {
            Method::DevicePairList => {
                Params::new(method, params, &[], limits)?;
                Ok(ok_frame(id, &self.device_list()))
            }
            Method::DevicePairApprove => {
                let p = Params::new(method, params, &["requestId", "code"], limits)?;
                let req = self.device_request(&p, method)?;
                // OpenClaw 2026.9.6's `devices approve` asks for the least scopes first and retries
                // with operator.admin when the message says the approval was denied.
                caller
                    .may_approve(req.meta.commands.as_deref())
                    .map_err(|mut e| {
                        e.message = format!("device pairing approval denied: {}", e.message);
                        e
                    })?;
                let (node, _) = self.approve_request(&caller.actor, &req, Via::Owner);
                Ok(ok_frame(
                    id,
                    &DeviceApproved {
                        request_id: req.request_id.0,
                        device: device_paired(&node),
                    },
                ))
            }
            Method::DevicePairReject => {
                let p = Params::new(method, params, &["requestId", "code"], limits)?;
                let req = self.device_request(&p, method)?;
                self.resolve_pending(&caller.actor, &req.request_id, Decision::Rejected);
                Ok(ok_frame(
                    id,
                    &DeviceRejected {
                        request_id: req.request_id.0,
                        device_id: req.node_id.0,
                    },
                ))
            }
            Method::DevicePairRemove => {
                let p = Params::new(method, params, &["deviceId"], limits)?;
                let device_id = device_id_param(&p)?;
                self.paired_device(&device_id)?;
                self.remove_paired(&caller.actor, &device_id)?;
                Ok(ok_frame(
                    id,
                    &DeviceRemoved {
                        device_id: device_id.0,
                    },
                ))
            }
            Method::DeviceTokenRotate | Method::DeviceTokenRevoke => {
                let p = Params::new(method, params, &["deviceId", "role", "scopes"], limits)?;
                let device_id = device_id_param(&p)?;
                let role = p.req_str_max("role", 32)?;
                let node = self.paired_device(&device_id)?;
                let held = node.device.as_ref().map_or("node", |d| d.role.as_str());
                if role != held {
                    return Err(ApiError::invalid(format!(
                        "device {device_id} holds no {role} token (its role is {held})"
                    ))
                    .with_details(json!({ "reason": "unknown-role", "role": role })));
                }
                if m == Method::DeviceTokenRotate {
                    self.rotate_token(&caller.actor, id, node, role)
                } else {
                    self.revoke_token(&caller.actor, id, node, role)
                }
            }
            _ => Err(ApiError::invalid(format!("unknown method: {m}"))),
        }
    }

    fn device_list(&self) -> DevicePairList {
        let ttl = self.config.pending_ttl_ms;
        let mut pending: Vec<&PendingRequest> = self
            .state
            .all_pending()
            .values()
            .filter(|r| r.public_key.is_some())
            .collect();
        pending.sort_by(|a, b| b.ts.cmp(&a.ts).then(a.request_id.cmp(&b.request_id)));
        let mut paired: Vec<&PairedNode> = self
            .state
            .all_paired()
            .values()
            .filter(|n| n.public_key.is_some())
            .collect();
        paired.sort_by(|a, b| {
            b.approved_at_ms
                .cmp(&a.approved_at_ms)
                .then(a.node_id.cmp(&b.node_id))
        });
        DevicePairList {
            pending: pending
                .into_iter()
                .map(|r| {
                    let code = self.state.code(&r.request_id).unwrap_or_default();
                    let is_repair = self.state.paired(&r.node_id).is_some();
                    device_pending(r, code, is_repair, ttl)
                })
                .collect(),
            paired: paired.into_iter().map(device_paired).collect(),
        }
    }

    /// The pending request named by `{requestId}` or `{code}`, which must be a device's (bound to a
    /// key): an operator-made request has no device to pair.
    fn device_request(&self, p: &Params<'_>, method: &str) -> Result<PendingRequest, ApiError> {
        let req = self.find_pending(p, method)?;
        if req.public_key.is_none() {
            return Err(ApiError::invalid(format!(
                "request {} was made by an operator for node {}, not by a device; use node.pair.approve / node.pair.reject",
                req.request_id, req.node_id
            ))
            .with_details(json!({
                "code": DetailCode::NotADevice,
                "reason": "not-a-device",
                "requestId": req.request_id,
            })));
        }
        Ok(req)
    }

    /// The paired record of a device (bound to a key).
    fn paired_device(&self, device_id: &NodeId) -> Result<PairedNode, ApiError> {
        self.state
            .paired(device_id)
            .filter(|n| n.public_key.is_some())
            .cloned()
            .ok_or_else(|| ApiError::unknown_device(device_id.as_str()))
    }

    /// Ends the device's current token at once (its hash is replaced by one of a token nobody holds)
    /// and closes its live connections, which reconnect and get a new token in `hello-ok`.
    fn end_token(&mut self, mut node: PairedNode, reason: &'static str) -> (u64, usize) {
        let now = self.now;
        let nobody = self.rng.token();
        node.token_hash = nobody.hash();
        node.token_issued_at_ms = None;
        node.token_revoked_at_ms = Some(now);
        let device_id = node.node_id.clone();
        self.state.put_paired(node);
        let closed = self.close_device_conns(&device_id, None, CREDENTIALS_CHANGED, reason);
        (now, closed)
    }

    fn rotate_token(&mut self, by: &Actor, id: &str, node: PairedNode, role: String) -> Reply {
        let device_id = node.node_id.clone();
        self.audit(
            by,
            crate::audit::Action::TokenRotated,
            None,
            &device_id,
            node.public_key.as_deref(),
            node.meta.display_name.as_deref(),
        );
        let (at, closed) = self.end_token(node, "device token rotated");
        Ok(ok_frame(
            id,
            &DeviceTokenRotated {
                device_id: device_id.0,
                role,
                scopes: Vec::new(),
                rotated_at_ms: at,
                token_delivery: "on-reconnect".into(),
                closed_connections: closed,
            },
        ))
    }

    fn revoke_token(&mut self, by: &Actor, id: &str, node: PairedNode, role: String) -> Reply {
        let device_id = node.node_id.clone();
        self.audit(
            by,
            crate::audit::Action::TokenRevoked,
            None,
            &device_id,
            node.public_key.as_deref(),
            node.meta.display_name.as_deref(),
        );
        let (at, closed) = self.end_token(node, "device token revoked");
        Ok(ok_frame(
            id,
            &DeviceTokenRevoked {
                device_id: device_id.0,
                role,
                revoked_at_ms: at,
                closed_connections: closed,
            },
        ))
    }
}
