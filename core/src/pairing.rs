//! The pairing operations every way in shares: asking (a `node.pair.request` call or a device's
//! `connect`), approving (by an operator through `node.pair.approve` or `device.pair.approve`, or by
//! `--auto-approve-local`), and what a decision does to a device's live connections.

use crate::audit::{Action, Actor};
use crate::event::Event;
use crate::gateway::{Admission, Gateway, Held, Role};
use crate::ids::{ConnId, NodeId, RequestId};
use crate::memory::Decision;
use crate::notice::{Notice, What};
use crate::protocol::{DevicePending, DeviceResolved};
use crate::record::{DeviceClient, NodeMeta, PairedNode, PendingRequest, Supersedes};
use crate::scopes::required_approve_scopes;
use crate::secret::Token;
use crate::store::Store;
use crate::view::PendingView;
use crate::wire::{ApiError, event_frame};
use std::collections::BTreeSet;

mod via;

pub(crate) use via::Via;

/// A request to pair, from whichever way it came.
pub(crate) struct Ask {
    pub node_id: NodeId,
    pub meta: NodeMeta,
    pub silent: bool,
    /// The device key the asking connection proved, if any.
    pub key: Option<String>,
    /// Set when the gateway asks on a device's behalf at `connect` (device pairing).
    pub device: Option<DeviceClient>,
    /// The address it asked from.
    pub ip: String,
}

/// Whether `newer` changes what approval would grant: a capability or command set it supplies that
/// differs from the one `older` shows.
fn surface_changed(older: &NodeMeta, newer: &NodeMeta) -> bool {
    fn differs(old: &Option<Vec<String>>, new: &Option<Vec<String>>) -> bool {
        let Some(new) = new else { return false };
        let a: BTreeSet<&str> = old.iter().flatten().map(String::as_str).collect();
        let b: BTreeSet<&str> = new.iter().map(String::as_str).collect();
        a != b
    }
    differs(&older.caps, &newer.caps) || differs(&older.commands, &newer.commands)
}

/// The device-shaped view of a pending request a device made (`device.pair.list`, `.requested`).
pub(crate) fn device_pending(
    req: &PendingRequest,
    code: &str,
    is_repair: bool,
    ttl_ms: u64,
) -> DevicePending {
    let role = req
        .device
        .as_ref()
        .map_or("node", |d| d.role.as_str())
        .to_owned();
    DevicePending {
        request_id: req.request_id.0.clone(),
        device_id: req.node_id.0.clone(),
        public_key: req.public_key.clone().unwrap_or_default(),
        display_name: req.meta.display_name.clone(),
        platform: req.meta.platform.clone(),
        version: req.meta.version.clone(),
        device_family: req.meta.device_family.clone(),
        client_id: req.device.as_ref().and_then(|d| d.client_id.clone()),
        client_mode: req.device.as_ref().and_then(|d| d.client_mode.clone()),
        roles: vec![role.clone()],
        role,
        scopes: Vec::new(),
        caps: req.meta.caps.clone().unwrap_or_default(),
        commands: req.meta.commands.clone().unwrap_or_default(),
        remote_ip: req.remote_ip.clone(),
        silent: req.silent,
        is_repair,
        verification_code: code.to_owned(),
        required_approve_scopes: required_approve_scopes(req.meta.commands.as_deref())
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        ts: req.ts,
        expires_at_ms: req.ts.saturating_add(ttl_ms),
        supersedes: req.supersedes.clone(),
    }
}

impl<S: Store> Gateway<S> {
    /// Creates a pending request, or reuses the node's pending one (SPEC §4 idempotence): same key
    /// and same surface refresh it in place; another key, or caps or commands that differ, supersede
    /// it with a new request, so approval never grants what the operator was not shown. New requests
    /// of one node are rate-limited ([`crate::limiter`]); reuse is not. Returns the request and
    /// whether it is new.
    pub(crate) fn ask(&mut self, by: &Actor, ask: Ask) -> Result<(RequestId, bool), ApiError> {
        let ttl = self.config.pending_ttl_ms;
        let existing = self.state.pending_for(&ask.node_id).cloned();
        if let Some(old) = &existing
            && old.public_key == ask.key
            && !surface_changed(&old.meta, &ask.meta)
        {
            let mut merged = old.clone();
            merged.meta.refresh(ask.meta);
            merged.silent = old.silent && ask.silent;
            merged.remote_ip = Some(ask.ip.clone());
            if ask.device.is_some() {
                merged.device = ask.device;
            }
            if &merged != old {
                self.state.put_pending(merged);
            }
            return Ok((old.request_id.clone(), false));
        }
        self.check_pending_limits(&ask.ip, ask.key.is_some(), existing.as_ref())?;
        // A new request (superseding one included) costs one from the node's bucket: a device that
        // keeps changing its key encoding, caps or commands cannot flood operators and the trail.
        if let Err(retry_after_ms) = self.request_rate.check(&ask.node_id, self.now) {
            if self.request_rate.note_refusal(&ask.node_id) {
                self.held.push(Held::Notice(Notice {
                    what: What::RateLimited { retry_after_ms },
                    node_id: ask.node_id.clone(),
                    request_id: None,
                    display_name: ask.meta.display_name.clone(),
                    remote_ip: Some(ask.ip.clone()),
                    code: None,
                    by: by.clone(),
                    approved_via: None,
                    enrollment: None,
                    device: ask.device.is_some(),
                }));
            }
            return Err(ApiError::rate_limited(
                format!(
                    "too many new pairing requests for node {}; retry in {} s",
                    ask.node_id,
                    retry_after_ms.div_ceil(1000)
                ),
                retry_after_ms,
            ));
        }
        self.request_rate.spend(&ask.node_id, self.now);
        let supersedes = existing.map(|old| {
            self.resolve_pending(by, &old.request_id, Decision::Superseded);
            Supersedes::of(&old, ask.key.as_deref())
        });
        let request_id = RequestId(self.rng.uuid());
        let req = PendingRequest {
            request_id: request_id.clone(),
            node_id: ask.node_id,
            meta: ask.meta,
            remote_ip: Some(ask.ip),
            silent: ask.silent,
            public_key: ask.key,
            device: ask.device,
            ts: self.now,
            supersedes,
            extra: Default::default(),
        };
        self.audit(
            by,
            Action::Requested,
            Some(&request_id),
            &req.node_id,
            req.public_key.as_deref(),
            req.meta.display_name.as_deref(),
        );
        if let Some(Held::Notice(n)) = self.held.last_mut() {
            n.remote_ip = req.remote_ip.clone();
            n.code = Some(crate::state::code_of(&req));
            n.device = req.device.is_some();
        }
        let device_made = req.device.is_some();
        self.state.put_pending(req);
        self.broadcast(|gw, seq| {
            gw.pending_view_frame(&request_id, |v| {
                event_frame(Event::NodePairRequested.as_str(), &v, Some(seq))
            })
        });
        if device_made {
            self.broadcast(|gw, seq| {
                let req = gw.state.pending(&request_id).expect("just put");
                let code = gw.state.code(&request_id).unwrap_or_default();
                let is_repair = gw.state.paired(&req.node_id).is_some();
                let view = device_pending(req, code, is_repair, ttl);
                event_frame(Event::DevicePairRequested.as_str(), &view, Some(seq))
            });
        }
        Ok((request_id, true))
    }

    /// A pending request's wire view, handed to `build`.
    pub(crate) fn pending_view_frame<T>(
        &self,
        id: &RequestId,
        build: impl FnOnce(PendingView<'_>) -> T,
    ) -> T {
        let req = self.state.pending(id).expect("pending request exists");
        let code = self.state.code(id).unwrap_or_default();
        let is_repair = self.state.paired(&req.node_id).is_some();
        build(PendingView::new(
            req,
            code,
            is_repair,
            self.config.pending_ttl_ms,
        ))
    }

    fn check_pending_limits(
        &self,
        ip: &str,
        node_made: bool,
        replacing: Option<&PendingRequest>,
    ) -> Result<(), ApiError> {
        let limits = &self.config.limits;
        let now = self.now;
        let total = self.state.pending_count() - usize::from(replacing.is_some());
        if total >= limits.max_pending {
            let next = self.state.next_expiry().map_or(now, |(t, _)| t);
            return Err(ApiError::rate_limited(
                "too many pending pairing requests",
                next.saturating_sub(now).max(1),
            ));
        }
        if node_made {
            let same_ip = replacing
                .is_some_and(|r| r.public_key.is_some() && r.remote_ip.as_deref() == Some(ip));
            let from_ip = self.state.node_made_from(ip) - usize::from(same_ip);
            if from_ip >= limits.max_pending_per_ip {
                let next = self.state.next_expiry_from(ip).unwrap_or(now);
                return Err(ApiError::rate_limited(
                    format!("too many pending pairing requests from {ip}"),
                    next.saturating_sub(now).max(1),
                ));
            }
        }
        Ok(())
    }

    /// Approves `req` (already checked for scopes): pairs its node with its declared surface and a
    /// fresh token, keeping an operator's rename and the first pairing time, and tells everyone who
    /// must know. A node's own `node.pair.request` gets its token by mail (SPEC §4); a device that
    /// asked at `connect` gets one in `hello-ok` when it next connects, so none is kept here; for a
    /// request an operator made (no key) the token is returned, for that operator to hand over. Live
    /// connections of the device waiting for this approval become paired in place.
    pub(crate) fn approve_request(
        &mut self,
        by: &Actor,
        req: &PendingRequest,
        via: Via<'_>,
    ) -> (PairedNode, Option<Token>) {
        let token = self.rng.token();
        let old = self.state.paired(&req.node_id).cloned();
        let mut meta = req.meta.clone();
        let mut extra = old.as_ref().map(|o| o.extra.clone()).unwrap_or_default();
        for (k, v) in &req.extra {
            if !matches!(k.as_str(), "isRepair" | "revision") {
                extra.insert(k.clone(), v.clone());
            }
        }
        let renamed_at_ms = old.as_ref().and_then(|o| o.renamed_at_ms);
        if renamed_at_ms.is_some() {
            meta.display_name = old.as_ref().and_then(|o| o.meta.display_name.clone());
        }
        let device_made = req.device.is_some();
        let node = PairedNode {
            node_id: req.node_id.clone(),
            token_hash: token.hash(),
            meta,
            remote_ip: req.remote_ip.clone(),
            public_key: req.public_key.clone(),
            created_at_ms: old.as_ref().map_or(self.now, |o| o.created_at_ms),
            approved_at_ms: self.now,
            renamed_at_ms,
            last_connected_at_ms: old.as_ref().and_then(|o| o.last_connected_at_ms),
            device: req
                .device
                .clone()
                .or_else(|| old.as_ref().and_then(|o| o.device.clone())),
            approved_via: Some(via.as_str().to_owned()),
            approved_by: Some(via.approver(by)),
            description: old.as_ref().and_then(|o| o.description.clone()),
            last_seen_at_ms: old.as_ref().and_then(|o| o.last_seen_at_ms),
            token_issued_at_ms: (!device_made).then_some(self.now),
            token_revoked_at_ms: None,
            extra,
        };
        let code = self.state.code(&req.request_id).map(str::to_owned);
        self.state.delete_pending(&req.request_id);
        self.state.put_paired(node.clone());
        self.audit_approval(
            by,
            &req.request_id,
            &node.node_id,
            node.public_key.as_deref(),
            node.meta.display_name.as_deref(),
            (via.as_str(), via.enrollment()),
        );
        self.mark_device_notice(device_made);
        let approver = node.approved_by.clone().unwrap_or_default();
        self.resolved.remember(
            &req.request_id,
            code.as_deref(),
            Decision::Approved,
            approver,
            self.now,
        );
        self.broadcast_resolved(req.request_id.as_str(), &req.node_id, Decision::Approved);
        if device_made {
            self.broadcast_device_resolved(
                req.request_id.as_str(),
                &req.node_id,
                Decision::Approved,
            );
        }
        // Connections that device pairing admitted under another key (or none) lost their pairing.
        let stale: Vec<ConnId> = [Admission::Paired, Admission::Waiting]
            .into_iter()
            .flat_map(|a| self.device_conns(&req.node_id, None, Some(a)))
            .filter(|c| self.conn_key(*c) != req.public_key.as_deref())
            .collect();
        for conn in stale {
            self.held.push(Held::CloseCommitted(
                conn,
                1008,
                "re-paired with another key".into(),
            ));
        }
        if let Some(key) = &req.public_key {
            for conn in self.device_conns(&req.node_id, Some(key), Some(Admission::Waiting)) {
                self.held.push(Held::Upgrade(conn));
            }
        }
        if device_made {
            (node, None)
        } else if req.public_key.is_some() {
            self.notify_node(req, Decision::Approved, Some(token));
            (node, None)
        } else {
            (node, Some(token))
        }
    }

    /// What a decision on a device's request does to the protocol-v3 connections of that device that
    /// were admitted to wait for it (OpenClaw 2026.4 node hosts exit when disconnected, so they are
    /// never dropped while their request may still be approved): a rejection closes them; an expiry
    /// asks again for them at once — the device is still there asking, as a v4 client's retry would
    /// (a new request, the same code; OpenClaw #132829).
    pub(crate) fn after_device_resolved(
        &mut self,
        by: &Actor,
        req: &PendingRequest,
        decision: Decision,
    ) {
        match decision {
            Decision::Rejected => {
                self.rejections.insert(&req.node_id);
                self.close_device_conns(
                    &req.node_id,
                    Some(Admission::Waiting),
                    1008,
                    "pairing rejected",
                );
            }
            Decision::Expired => {
                let Some(key) = req.public_key.as_deref() else {
                    return;
                };
                let waiting = self.device_conns(&req.node_id, Some(key), Some(Admission::Waiting));
                let Some(ip) = waiting
                    .first()
                    .and_then(|c| self.conns.get(c))
                    .map(|c| c.ip_text.clone())
                else {
                    return;
                };
                let asked = self.ask(
                    by,
                    Ask {
                        node_id: req.node_id.clone(),
                        meta: req.meta.clone(),
                        silent: false,
                        key: Some(key.to_owned()),
                        device: req.device.clone(),
                        ip,
                    },
                );
                if asked.is_err() {
                    // No room for a new request: the device is told by the close and asks when it
                    // reconnects.
                    self.close_device_conns(
                        &req.node_id,
                        Some(Admission::Waiting),
                        1008,
                        "pairing request expired",
                    );
                }
            }
            _ => {}
        }
    }

    /// Broadcasts `device.pair.resolved`.
    pub(crate) fn broadcast_device_resolved(
        &mut self,
        request_id: &str,
        device_id: &NodeId,
        decision: Decision,
    ) {
        let payload = DeviceResolved {
            request_id: request_id.to_owned(),
            device_id: device_id.0.clone(),
            decision,
            ts: self.now,
        };
        self.broadcast(|_, seq| {
            event_frame(Event::DevicePairResolved.as_str(), &payload, Some(seq))
        });
    }

    /// The open node connections of `node`: those that proved `key` (any key when `None`), admitted
    /// as `admission` (any when `None`).
    pub(crate) fn device_conns(
        &self,
        node: &NodeId,
        key: Option<&str>,
        admission: Option<Admission>,
    ) -> Vec<ConnId> {
        self.nodes_online
            .get(node)
            .into_iter()
            .flatten()
            .copied()
            .filter(|c| {
                self.conns.get(c).is_some_and(|c| {
                    matches!(&c.session, Some(s) if matches!(&s.role,
                        Role::Node { public_key, admission: a, .. }
                            if key.is_none_or(|k| k == public_key)
                                && admission.is_none_or(|want| want == *a)))
                })
            })
            .collect()
    }

    /// The device key a node connection proved.
    fn conn_key(&self, conn: ConnId) -> Option<&str> {
        match &self.conns.get(&conn)?.session.as_ref()?.role {
            Role::Node { public_key, .. } => Some(public_key),
            Role::Operator { .. } => None,
        }
    }

    /// Closes every open connection of `node` that matches (see [`Gateway::device_conns`]) once the
    /// decision that ends them is durable. Returns how many.
    pub(crate) fn close_device_conns(
        &mut self,
        node: &NodeId,
        admission: Option<Admission>,
        code: u16,
        reason: &'static str,
    ) -> usize {
        let conns = self.device_conns(node, None, admission);
        for &conn in &conns {
            self.held
                .push(Held::CloseCommitted(conn, code, reason.into()));
        }
        conns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(caps: Option<&[&str]>, commands: Option<&[&str]>) -> NodeMeta {
        let v = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        NodeMeta {
            caps: caps.map(v),
            commands: commands.map(v),
            ..NodeMeta::default()
        }
    }

    #[test]
    fn a_surface_changes_only_when_a_supplied_set_differs() {
        let old = meta(Some(&["camera"]), Some(&["a", "b"]));
        assert!(!surface_changed(&old, &meta(None, None)));
        assert!(!surface_changed(
            &old,
            &meta(Some(&["camera"]), Some(&["b", "a"]))
        ));
        assert!(surface_changed(&old, &meta(None, Some(&["a"]))));
        assert!(surface_changed(&old, &meta(Some(&[]), None)));
        assert!(surface_changed(
            &meta(None, None),
            &meta(None, Some(&["x"]))
        ));
        assert!(!surface_changed(&meta(None, None), &meta(None, Some(&[]))));
    }
}
