//! What the workload sees: every output after a commit, and what it learns from them.

use super::{Role, Sim};
use crate::Output;
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
                if f["payload"].get("token").is_some() {
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
        let f: Value =
            serde_json::from_str(&text).map_err(|e| format!("frame is not JSON: {e}"))?;
        if text.contains("tokenHash") {
            return Err(format!("a frame carries a token hash: {text}"));
        }
        let role = self.roles.get(&conn).copied().unwrap_or_default();
        if !matches!(role, Role::Node(_)) && text.contains("deviceToken") {
            return Err(format!(
                "a device token reached a non-node connection: {text}"
            ));
        }
        let payload = &f["payload"];
        match f["event"].as_str() {
            Some("connect.challenge") => {
                let nonce = payload["nonce"].as_str().unwrap_or_default().to_owned();
                self.challenges.insert(conn, nonce);
                return Ok(());
            }
            Some(event) => {
                if let Some(seq) = f["seq"].as_u64() {
                    if event == "node.pair.resolved" && payload["decision"] == "approved" {
                        let node = payload["nodeId"].as_str().unwrap_or_default().to_owned();
                        let rid = payload["requestId"].as_str().unwrap_or_default().to_owned();
                        self.latest_approval.insert(node, rid);
                    }
                    if event == "node.pair.resolved"
                        && self.round_seqs.insert(seq)
                        && let Some(d @ ("expired" | "superseded")) = payload["decision"].as_str()
                    {
                        let d = if d == "expired" {
                            "expired"
                        } else {
                            "superseded"
                        };
                        let rid = payload["requestId"].as_str().unwrap_or_default();
                        self.acknowledged.push((d, rid.to_owned()));
                    }
                    if !matches!(role, Role::Operator(_)) {
                        return Err(format!("a broadcast reached a non-operator: {text}"));
                    }
                    if seq < self.last_seq {
                        return Err(format!("seq went back from {} to {seq}", self.last_seq));
                    }
                    self.last_seq = seq;
                }
                self.learn_views(payload);
                if let Some(token) = payload["token"].as_str() {
                    // Only a node's own key-proven connection may get a token in an event.
                    let node = payload["nodeId"].as_str().unwrap_or_default();
                    let own = matches!(role, Role::Node(i) if self.nodes[i].id == node);
                    if !own || payload["decision"] != "approved" {
                        return Err(format!("token sent to the wrong connection: {text}"));
                    }
                    let rid = payload["requestId"].as_str().unwrap_or_default().to_owned();
                    self.remember_token(node, token, rid);
                }
                return Ok(());
            }
            None => {}
        }
        // A response.
        let id = f["id"].as_str().unwrap_or_default().to_owned();
        if let Some(method) = self.methods.remove(&id)
            && f["ok"] == true
        {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            match method.as_str() {
                "node.pair.request" if payload["created"] == true => self
                    .acknowledged
                    .push(("requested", text(&payload["request"]["requestId"]))),
                "node.pair.approve" => self
                    .acknowledged
                    .push(("approved", text(&payload["requestId"]))),
                "node.pair.reject" => self
                    .acknowledged
                    .push(("rejected", text(&payload["requestId"]))),
                "node.pair.remove" => self
                    .acknowledged
                    .push(("removed", text(&payload["nodeId"]))),
                "node.rename" => self
                    .acknowledged
                    .push(("renamed", text(&payload["nodeId"]))),
                "device.pair.approve" => {
                    let rid = text(&payload["requestId"]);
                    if let Some(&exp) = self.expiries.get(&rid)
                        && self.now >= exp
                    {
                        return Err(format!("device request {rid} approved after expiring"));
                    }
                    self.report.approvals += 1;
                    let device = text(&payload["device"]["deviceId"]);
                    self.latest_approval.insert(device, rid.clone());
                    self.acknowledged.push(("approved", rid));
                }
                "device.pair.reject" => self
                    .acknowledged
                    .push(("rejected", text(&payload["requestId"]))),
                "device.pair.remove" => self
                    .acknowledged
                    .push(("removed", text(&payload["deviceId"]))),
                "device.token.rotate" | "device.token.revoke" => {
                    // Whatever token the node held stopped working.
                    let device = text(&payload["deviceId"]);
                    self.latest_approval.remove(&device);
                    let action = if method == "device.token.rotate" {
                        "token-rotated"
                    } else {
                        "token-revoked"
                    };
                    self.acknowledged.push((action, device));
                }
                _ => {}
            }
        }
        if id == "c" {
            self.check_device_connect(conn, &f)?;
        }
        if id == "c" && f["ok"] == true {
            self.challenges.remove(&conn);
        }
        self.learn_views(payload);
        if let Some((op, rid)) = self.approving.remove(&id)
            && f["ok"] == true
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
            let node = payload["node"]["nodeId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let rid = payload["requestId"].as_str().unwrap_or_default().to_owned();
            self.latest_approval.insert(node.clone(), rid.clone());
            if let Some(token) = payload["node"]["token"].as_str() {
                self.remember_token(&node, token, rid);
            }
        } else if payload["node"].get("token").is_some() || payload.get("token").is_some() {
            return Err(format!("a token outside an approve result: {text}"));
        }
        Ok(())
    }

    pub(super) fn learn_views(&mut self, payload: &Value) {
        let mut note = |v: &Value| {
            if let (Some(id), Some(exp)) = (v["requestId"].as_str(), v["expiresAtMs"].as_u64()) {
                self.expiries.insert(id.to_owned(), exp);
            }
        };
        note(payload);
        note(&payload["request"]);
        for v in payload["pending"].as_array().into_iter().flatten() {
            note(v);
        }
    }

    pub(super) fn remember_token(&mut self, node: &str, token: &str, request_id: String) {
        let list = self.tokens.entry(node.to_owned()).or_default();
        if !list.iter().any(|(t, _)| t == token) {
            list.push((token.to_owned(), request_id));
        }
    }
}
