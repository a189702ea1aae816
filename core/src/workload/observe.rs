//! What the workload sees: every output after a commit, and what it learns from them.

use super::{Role, Sim};
use crate::audit::Action;
use crate::protocol::{
    Challenge, DeviceApproved, DevicePairList, DevicePending, DeviceRejected, DeviceRemoved,
    DeviceTokenRevoked, DeviceTokenRotated, NodeApproved, NodePairList, NodePending, NodeRejected,
    NodeRemoved, NodeRenamed, PairResolved, RequestResult,
};
use crate::wire::Incoming;
use crate::{ConnId, Decision, Event, Method, Output};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::Digest;

impl Sim {
    pub(super) fn commit_and_observe(&mut self) -> Result<(), String> {
        let audited = self.gw.store().audit().len();
        if self.gw.commit().is_err() {
            self.report.failed_commits += 1;
        }
        let mut outputs = Vec::new();
        // The shared form, as the host drains it; `observe` expands broadcasts in order.
        while let Some(o) = self.gw.poll_output_shared() {
            outputs.push(o);
        }
        for o in outputs {
            self.observe(o)?;
        }
        self.check_audit(audited)?;
        for conn in std::mem::take(&mut self.closing) {
            self.forget(conn);
        }
        self.check_state()
    }

    pub(super) fn observe(&mut self, o: Output) -> Result<(), String> {
        let (conn, text) = match o {
            Output::Close { conn, code, reason } => {
                self.hasher
                    .update(format!("close {conn} {code} {reason}\n"));
                self.forget(conn);
                return Ok(());
            }
            Output::Send { conn, text } => (conn, text),
            Output::Broadcast { to, text } => {
                // A host may share a broadcast's text between sockets without wiping it.
                let f: Value = serde_json::from_str(&text)
                    .map_err(|e| format!("broadcast is not JSON: {e}"))?;
                if carries_token(&f["payload"]) {
                    return Err(format!("a broadcast carries a token: {text}"));
                }
                for &conn in to.iter() {
                    self.observe(Output::Send {
                        conn,
                        text: text.clone(),
                    })?;
                }
                return Ok(());
            }
        };
        self.report.frames += 1;
        self.hasher.update(format!("{conn} "));
        self.hasher.update(text.as_bytes());
        self.hasher.update(b"\n");
        let frame = Incoming::parse(&text)
            .ok_or_else(|| format!("frame is neither a response nor an event: {text}"))?;
        if text.contains("tokenHash") {
            return Err(format!("a frame carries a token hash: {text}"));
        }
        let role = self.roles.get(&conn).copied().unwrap_or_default();
        if !matches!(role, Role::Node(_)) && text.contains("deviceToken") {
            return Err(format!(
                "a device token reached a non-node connection: {text}"
            ));
        }
        let (id, ok, payload, error) = match &frame {
            Incoming::Event {
                event,
                payload,
                seq,
            } => {
                return self.observe_event(conn, role, Event::parse(event), payload, *seq, &text);
            }
            Incoming::Response {
                id,
                ok,
                payload,
                error,
            } => (id, *ok, payload, error),
        };
        let method = self.methods.remove(id);
        if ok && let Some(method) = method {
            self.acknowledge(method, payload, &text)?;
        }
        if id == "c" {
            self.check_device_connect(conn, ok, payload, error.as_ref())?;
        }
        if id == "c" && ok {
            self.challenges.remove(&conn);
        }
        if let Some(method) = method {
            self.learn_result_views(method, payload);
        }
        if let Some((op, rid)) = self.approving.remove(id)
            && ok
        {
            if op != conn {
                return Err("approve answered on another connection".into());
            }
            self.report.approvals += 1;
            if let Some(&exp) = self.expiries.get(&rid)
                && self.now >= exp
            {
                return Err(format!(
                    "request {rid} approved at {} after expiring at {exp}",
                    self.now
                ));
            }
            let approved: NodeApproved = read(payload, &text)?;
            let node = approved.node.node_id.0.clone();
            let rid = approved.request_id.0.clone();
            self.latest_approval.insert(node.clone(), rid.clone());
            if let Some(token) = &approved.node.token {
                self.remember_token(&node, token.expose(), rid);
            }
        } else if carries_token(payload) {
            return Err(format!("a token outside an approve result: {text}"));
        }
        Ok(())
    }

    /// An event: a challenge, or a broadcast to operators, or a node's own `node.pair.resolved`.
    fn observe_event(
        &mut self,
        conn: ConnId,
        role: Role,
        event: Option<Event>,
        payload: &Value,
        seq: Option<u64>,
        text: &str,
    ) -> Result<(), String> {
        if event == Some(Event::ConnectChallenge) {
            let challenge: Challenge = read(payload, text)?;
            self.challenges.insert(conn, challenge.nonce);
            return Ok(());
        }
        let resolved = match event {
            Some(Event::NodePairResolved) => Some(read::<PairResolved>(payload, text)?),
            _ => None,
        };
        if let Some(seq) = seq {
            if let Some(r) = &resolved {
                if r.decision == Decision::Approved {
                    let node = r.node_id.0.clone();
                    self.latest_approval.insert(node, r.request_id.clone());
                }
                let ended = match r.decision {
                    Decision::Expired => Some(Action::Expired),
                    Decision::Superseded => Some(Action::Superseded),
                    _ => None,
                };
                if self.round_seqs.insert(seq)
                    && let Some(action) = ended
                {
                    self.acknowledged.push((action, r.request_id.clone()));
                }
            }
            if !matches!(role, Role::Operator(_)) {
                return Err(format!("a broadcast reached a non-operator: {text}"));
            }
            if seq < self.last_seq {
                return Err(format!("seq went back from {} to {seq}", self.last_seq));
            }
            self.last_seq = seq;
        }
        match event {
            Some(Event::NodePairRequested) => {
                let p: NodePending = read(payload, text)?;
                self.note_expiry(&p.request_id.0, p.expires_at_ms);
            }
            Some(Event::DevicePairRequested) => {
                let p: DevicePending = read(payload, text)?;
                self.note_expiry(&p.request_id, p.expires_at_ms);
            }
            _ => {}
        }
        match resolved {
            Some(PairResolved {
                token: Some(token),
                node_id,
                decision,
                request_id,
                ..
            }) => {
                // Only a node's own key-proven connection may get a token in an event.
                let own = matches!(role, Role::Node(i) if self.nodes[i].id == node_id.0);
                if !own || decision != Decision::Approved {
                    return Err(format!("token sent to the wrong connection: {text}"));
                }
                self.remember_token(&node_id.0, token.expose(), request_id);
            }
            Some(_) => {}
            None if carries_token(payload) => {
                return Err(format!("token sent to the wrong connection: {text}"));
            }
            None => {}
        }
        Ok(())
    }

    /// A successful answer to a decision: what the audit trail must show for this round.
    fn acknowledge(&mut self, method: Method, payload: &Value, text: &str) -> Result<(), String> {
        let (action, id) = match method {
            Method::NodePairRequest => {
                let r: RequestResult = read(payload, text)?;
                if !r.created {
                    return Ok(());
                }
                (Action::Requested, r.request.request_id.0.clone())
            }
            Method::NodePairApprove => {
                let r: NodeApproved = read(payload, text)?;
                (Action::Approved, r.request_id.0.clone())
            }
            Method::NodePairReject => {
                let r: NodeRejected = read(payload, text)?;
                (Action::Rejected, r.request_id.0)
            }
            Method::NodePairRemove => {
                let r: NodeRemoved = read(payload, text)?;
                (Action::Removed, r.node_id.0)
            }
            Method::NodeRename => {
                let r: NodeRenamed = read(payload, text)?;
                (Action::Renamed, r.node_id.0)
            }
            Method::DevicePairApprove => {
                let r: DeviceApproved = read(payload, text)?;
                let rid = r.request_id;
                if let Some(&exp) = self.expiries.get(&rid)
                    && self.now >= exp
                {
                    return Err(format!("device request {rid} approved after expiring"));
                }
                self.report.approvals += 1;
                self.latest_approval.insert(r.device.device_id, rid.clone());
                (Action::Approved, rid)
            }
            Method::DevicePairReject => {
                let r: DeviceRejected = read(payload, text)?;
                (Action::Rejected, r.request_id)
            }
            Method::DevicePairRemove => {
                let r: DeviceRemoved = read(payload, text)?;
                (Action::Removed, r.device_id)
            }
            Method::DeviceTokenRotate | Method::DeviceTokenRevoke => {
                // Whatever token the node held stopped working.
                let (action, device) = if method == Method::DeviceTokenRotate {
                    let r: DeviceTokenRotated = read(payload, text)?;
                    (Action::TokenRotated, r.device_id)
                } else {
                    let r: DeviceTokenRevoked = read(payload, text)?;
                    (Action::TokenRevoked, r.device_id)
                };
                self.latest_approval.remove(&device);
                (action, device)
            }
            _ => return Ok(()),
        };
        self.acknowledged.push((action, id));
        Ok(())
    }

    /// The expiry of every pending request a successful result shows.
    fn learn_result_views(&mut self, method: Method, payload: &Value) {
        match method {
            Method::NodePairRequest => {
                if let Ok(r) = RequestResult::deserialize(payload) {
                    self.note_expiry(&r.request.request_id.0, r.request.expires_at_ms);
                }
            }
            Method::NodePairList => {
                for p in NodePairList::deserialize(payload)
                    .unwrap_or_default()
                    .pending
                {
                    self.note_expiry(&p.request_id.0, p.expires_at_ms);
                }
            }
            Method::DevicePairList => {
                for p in DevicePairList::deserialize(payload)
                    .unwrap_or_default()
                    .pending
                {
                    self.note_expiry(&p.request_id, p.expires_at_ms);
                }
            }
            _ => {}
        }
    }

    fn note_expiry(&mut self, request_id: &str, expires_at_ms: u64) {
        self.expiries.insert(request_id.to_owned(), expires_at_ms);
    }

    pub(super) fn remember_token(&mut self, node: &str, token: &str, request_id: String) {
        let list = self.tokens.entry(node.to_owned()).or_default();
        if !list.iter().any(|(t, _)| t == token) {
            list.push((token.to_owned(), request_id));
        }
    }
}

/// `payload` read as the record `T`; a frame the gateway sent that does not read as its record is a
/// violation.
fn read<T: DeserializeOwned>(payload: &Value, text: &str) -> Result<T, String> {
    T::deserialize(payload).map_err(|e| format!("unreadable payload ({e}): {text}"))
}

/// Whether a payload carries a node token where a record could hold one (`token`, `node.token`). A
/// leak check looks at the JSON itself: a typed read would drop a field its record does not have.
fn carries_token(payload: &Value) -> bool {
    payload.get("token").is_some() || payload["node"].get("token").is_some()
}
