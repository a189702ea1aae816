//! The invariants of the product, checked after every step: the audit trail, device connections, and
//! the gateway's state against what the actors were told.

use super::{Kind, Role, Sim, public_key_of};
use crate::protocol::{ApiError, DetailCode, ErrorCode, HelloOk};
use crate::secret::TokenHash;
use crate::{ConnId, NodeId};
use serde::Deserialize;
use serde_json::Value;
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet};

impl Sim {
    /// Every decision acknowledged this round has exactly one audit entry among those the round
    /// committed; every entry of a decision a client asked for was acknowledged to it; the whole trail
    /// verifies as one chain.
    pub(super) fn check_audit(&mut self, before: usize) -> Result<(), String> {
        let acknowledged = std::mem::take(&mut self.acknowledged);
        self.round_seqs.clear();
        let entries = &self.gw.store().audit()[before..];
        let key = |e: &crate::audit::AuditEntry| match e.action {
            crate::audit::Action::Removed
            | crate::audit::Action::Renamed
            | crate::audit::Action::TokenRotated
            | crate::audit::Action::TokenRevoked => e.node_id.0.clone(),
            _ => e
                .request_id
                .as_ref()
                .map(|r| r.0.clone())
                .unwrap_or_default(),
        };
        for (action, id) in &acknowledged {
            let n = entries
                .iter()
                .filter(|e| e.action == *action && key(e) == *id)
                .count();
            let told = acknowledged
                .iter()
                .filter(|a| a.0 == *action && a.1 == *id)
                .count();
            if n != told {
                return Err(format!(
                    "{} {id} acknowledged {told} time(s) has {n} audit entries",
                    action.as_str()
                ));
            }
        }
        for e in entries {
            self.hasher.update(e.line());
            // Requests the gateway makes itself — for a device at its `connect`, or again for a
            // waiting device whose request expired — are asked by nobody's call.
            let made_for_device = e.action == crate::audit::Action::Requested
                && match &e.actor {
                    crate::audit::Actor::Gateway => true,
                    crate::audit::Actor::Conn { conn_id, .. } => {
                        self.device_connects.contains(conn_id)
                    }
                };
            let asked = !made_for_device
                && !matches!(
                    e.action,
                    crate::audit::Action::Expired | crate::audit::Action::Superseded
                );
            if asked
                && !acknowledged
                    .iter()
                    .any(|(a, id)| *a == e.action && *id == key(e))
            {
                return Err(format!(
                    "audit entry without an acknowledgement: {}",
                    e.line()
                ));
            }
        }
        for e in &self.gw.store().audit()[before..] {
            self.chain
                .check(e.line().trim_end())
                .map_err(|b| format!("audit chain broken: {b}"))?;
        }
        self.device_connects.clear();
        Ok(())
    }

    /// A device's `connect` answer: admitted only when approved for its key (or, protocol 3, to wait
    /// with a request made for it); refused with the request it waits on; a device token only in its
    /// own `hello-ok`, verifying against the record.
    pub(super) fn check_device_connect(
        &mut self,
        conn: ConnId,
        ok: bool,
        payload: &Value,
        error: Option<&ApiError>,
    ) -> Result<(), String> {
        let Some(Role::Node(i)) = self.roles.get(&conn).copied() else {
            return Ok(());
        };
        if !self.nodes[i].kind.is_device() {
            return Ok(());
        }
        let (id, key_kind) = (self.nodes[i].id.clone(), self.nodes[i].kind);
        let public_key = public_key_of(&self.nodes[i].key);
        let state = self.gw.state();
        let record = state
            .paired(&NodeId(id.clone()))
            .filter(|r| r.public_key.as_deref() == Some(public_key.as_str()));
        if ok {
            let auth = HelloOk::deserialize(payload)
                .map_err(|e| format!("{id}'s hello-ok does not read ({e}): {payload}"))?
                .auth;
            match (record, key_kind) {
                (Some(r), _) => {
                    if let Some(t) = auth.device_token {
                        if !r.token_hash.matches(&t) {
                            return Err(format!(
                                "{id} was handed a token its record does not hold"
                            ));
                        }
                        let at = auth.issued_at_ms.unwrap_or_default();
                        self.nodes[i].device_token = Some((t.clone(), at));
                        self.device_tokens
                            .entry(id.clone())
                            .or_default()
                            .push((t, at));
                    }
                }
                (None, Kind::OpenClaw3) if state.pending_for(&NodeId(id.clone())).is_some() => {}
                _ => return Err(format!("{id} was admitted without an approval for its key")),
            }
        } else if let Some(e) = error {
            let details = e.detail();
            if e.code == ErrorCode::NotPaired && record.is_some() {
                return Err(format!("{id} is paired but was told to pair"));
            }
            if details.code != Some(DetailCode::PairingRequired)
                || details.reason.as_deref() != Some("not-paired")
            {
                return Ok(());
            }
            let rid = details.request_id.unwrap_or_default();
            let waiting = state.pending_for(&NodeId(id.clone()));
            if waiting.map(|p| p.request_id.0.as_str()) != Some(rid.as_str()) {
                return Err(format!(
                    "{id} was told to wait on {rid}, which is not its request"
                ));
            }
        }
        Ok(())
    }

    pub(super) fn check_state(&mut self) -> Result<(), String> {
        let state = self.gw.state();
        let limits = &self.config.limits;
        let mut per_node = BTreeSet::new();
        let mut per_ip: BTreeMap<&str, usize> = BTreeMap::new();
        for p in state.all_pending().values() {
            if !per_node.insert(&p.node_id) {
                return Err(format!("two pending requests for {}", p.node_id));
            }
            if p.public_key.is_some() {
                *per_ip
                    .entry(p.remote_ip.as_deref().unwrap_or(""))
                    .or_default() += 1;
            }
        }
        if state.pending_count() > limits.max_pending {
            return Err("more pending requests than the limit".into());
        }
        if per_ip.values().any(|&n| n > limits.max_pending_per_ip) {
            return Err("more pending requests from one IP than the limit".into());
        }
        if self.gw.resolved_memory_len() > limits.resolved_memory
            || self.gw.mailbox_len() > limits.mailbox_capacity
        {
            return Err("a bounded memory grew past its bound".into());
        }
        // Durable equals acknowledged: after every commit (failed or not) the store holds the state.
        let durable = self.gw.store().snapshot();
        let live_paired: Vec<_> = state.all_paired().values().cloned().collect();
        let live_pending: Vec<_> = state.all_pending().values().cloned().collect();
        if durable.paired != live_paired || durable.pending != live_pending {
            return Err("the store and the acknowledged state differ after a commit".into());
        }
        // Every paired node verifies with its latest token (when we saw it) and with no earlier one.
        for (node, seen) in &self.tokens {
            let Some(rec) = state.paired(&NodeId(node.clone())) else {
                continue;
            };
            let latest_request = self.latest_approval.get(node);
            for (token, request_id) in seen {
                let latest = latest_request == Some(request_id);
                let verifies = rec.token_hash.matches(token);
                if latest && !verifies {
                    return Err(format!("{node} does not verify with its latest token"));
                }
                if !latest && verifies {
                    return Err(format!("{node} still verifies with an earlier token"));
                }
            }
        }
        let _ = TokenHash::of;
        // Live device sessions: paired ones hold an approval for their key; waiting ones none yet.
        for c in self.gw.conns.values() {
            let Some(crate::gateway::Session {
                role:
                    crate::gateway::Role::Node {
                        device_id,
                        public_key,
                        admission,
                    },
                protocol,
                ..
            }) = &c.session
            else {
                continue;
            };
            let approved = state
                .paired(device_id)
                .is_some_and(|r| r.public_key.as_deref() == Some(public_key.as_str()));
            match admission {
                crate::gateway::Admission::Paired if !approved => {
                    return Err(format!("{device_id} stays admitted without an approval"));
                }
                crate::gateway::Admission::Waiting if approved || *protocol >= 4 => {
                    return Err(format!("{device_id} waits though it may not (v{protocol})"));
                }
                _ => {}
            }
        }
        // Device tokens: only the latest one handed out for the record's current token verifies (a
        // record an operator made for the same id, bound to no key, holds none of them).
        for (device, seen) in &self.device_tokens {
            let key = self
                .nodes
                .iter()
                .find(|n| n.id == *device)
                .map(|n| public_key_of(&n.key));
            let rec = state
                .paired(&NodeId(device.clone()))
                .filter(|r| r.public_key == key);
            for (k, (token, issued)) in seen.iter().enumerate() {
                let current = k + 1 == seen.len()
                    && rec.is_some_and(|r| r.token_issued_at_ms == Some(*issued));
                let verifies = rec.is_some_and(|r| r.token_hash.matches(token));
                if current != verifies {
                    return Err(format!(
                        "{device}: device token #{k} verifies={verifies}, expected {current}"
                    ));
                }
            }
        }
        // No token is ever on disk: not in the store, not in the audit trail.
        if !self.device_tokens.is_empty() {
            let disk = format!(
                "{:?}{}",
                durable,
                self.gw
                    .store()
                    .audit()
                    .iter()
                    .map(|e| e.line())
                    .collect::<String>()
            );
            for (device, seen) in &self.device_tokens {
                if seen.iter().any(|(t, _)| disk.contains(t.as_str())) {
                    return Err(format!("a device token of {device} is on disk"));
                }
            }
        }
        Ok(())
    }
}
