//! What the workload's actors do each step: nodes, OpenClaw-style devices, operators, and crashes.

use super::{Kind, OPERATOR_TOKEN, Role, Sim, b};
use crate::proof::{self, SignedFields};
use crate::protocol::{
    ClientInfo, ConnectAuth, ConnectParams, DecideParams, DeviceRef, DeviceTokenParams, NoParams,
    NodeRef, PairRequestParams, RenameParams, VerifyParams,
};
use crate::record::NodeMeta;
use crate::{ConnId, Gateway, MemoryStore, Method, wire};
use rand_core::RngCore;
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};

impl Sim {
    pub(super) fn node_action(&mut self) {
        let i = self.roll(self.nodes.len() as u64) as usize;
        let Some(conn) = self.nodes[i].conn else {
            let ip = self.nodes[i].ip;
            if let Some(conn) = self.open(ip, Role::Pending) {
                self.nodes[i].conn = Some(conn);
                self.roles.insert(conn, Role::Node(i));
            }
            return;
        };
        let ready = self.gw_ready(conn);
        if self.nodes[i].kind.is_device() {
            self.device_action(i, conn, ready);
            return;
        }
        if !ready {
            let nonce = self.challenges.get(&conn).cloned().unwrap_or_default();
            let n = &self.nodes[i];
            let fields = SignedFields::node("node-host", "node", "linux", "");
            let mut p = proof::sign(&n.key, &fields, self.now, &nonce);
            if n.kind == Kind::Impersonator && b(self.roll(2)) {
                // Claim another node's id with our own key.
                let other = (i + 1) % self.nodes.len();
                p.id = self.nodes[other].id.clone();
            }
            let client =
                ClientInfo::new("node-host", "node", "1", "linux").named(&format!("node {i}"));
            // The explicit flow's node declares nothing at connect (it asks with `node.pair.request`).
            let params = ConnectParams {
                caps: None,
                commands: None,
                ..ConnectParams::node(client, p.into())
            };
            self.send(conn, &connect_frame(&params));
            return;
        }
        let n = &self.nodes[i];
        let (id, kind) = (n.id.clone(), n.kind);
        let target = if kind == Kind::Impersonator {
            self.nodes[(i + 1) % self.nodes.len()].id.clone()
        } else {
            id.clone()
        };
        match self.roll(4) {
            0 | 1 => {
                let silent = b(self.roll(2));
                let cmds: &[&str] = match self.roll(3) {
                    0 => &[],
                    1 => &["camera.snap"],
                    _ => &["system.run"],
                };
                let params = PairRequestParams {
                    node_id: target,
                    meta: NodeMeta {
                        commands: Some(cmds.iter().map(|c| (*c).to_owned()).collect()),
                        ..NodeMeta::default()
                    },
                    silent,
                };
                let text = self.req(Method::NodePairRequest, &params);
                self.send(conn, &text);
            }
            2 => {
                let token = self
                    .tokens
                    .get(&id)
                    .and_then(|t| t.last())
                    .map(|t| t.0.clone());
                let token = token.unwrap_or_else(|| "not-a-token".into());
                let params = VerifyParams {
                    node_id: target,
                    token,
                };
                let text = self.req(Method::NodePairVerify, &params);
                self.send(conn, &text);
            }
            _ => {
                if kind == Kind::Flooder {
                    for _ in 0..4 {
                        let params = PairRequestParams {
                            node_id: id.clone(),
                            ..PairRequestParams::default()
                        };
                        let text = self.req(Method::NodePairRequest, &params);
                        self.send(conn, &text);
                    }
                } else {
                    self.gw.closed(self.now, conn);
                    self.closing.push(conn);
                }
            }
        }
    }

    /// An OpenClaw node host: connects with the gateway token (or, sometimes, only the device token
    /// it holds; rarely a wrong one), declares its commands (sometimes more than were approved), and
    /// once in, sends what real node hosts send or goes away.
    pub(super) fn device_action(&mut self, i: usize, conn: ConnId, ready: bool) {
        if ready {
            match self.roll(3) {
                0 => {
                    let text = self.req_foreign("node.event", &json!({"event": "node.host.stats"}));
                    self.send(conn, &text);
                }
                _ => {
                    self.gw.closed(self.now, conn);
                    self.closing.push(conn);
                }
            }
            return;
        }
        let nonce = self.challenges.get(&conn).cloned().unwrap_or_default();
        let held = self.nodes[i].device_token.clone();
        let auth = match (held, self.roll(8)) {
            (_, 0) => ConnectAuth {
                token: Some("wrong-shared-token".into()),
                ..ConnectAuth::default()
            },
            (Some((t, _)), 1..=3) => ConnectAuth {
                device_token: Some(t),
                ..ConnectAuth::default()
            },
            _ => ConnectAuth {
                token: Some(OPERATOR_TOKEN.into()),
                ..ConnectAuth::default()
            },
        };
        let signed = auth
            .token
            .clone()
            .or(auth.device_token.clone())
            .unwrap_or_default();
        let commands: &[&str] = if self.roll(5) == 0 {
            &["canvas.present", "system.run", "fs.listDir"]
        } else {
            &["canvas.present", "system.run"]
        };
        let protocol = if self.nodes[i].kind == Kind::OpenClaw4 {
            4
        } else {
            3
        };
        let n = &self.nodes[i];
        let mut fields = SignedFields::node("node-host", "node", "linux", "Linux");
        fields.token = &signed;
        let p = proof::sign(&n.key, &fields, self.now, &nonce);
        let client = ClientInfo {
            device_family: Some("Linux".into()),
            ..ClientInfo::new("node-host", "node", "2026.9.6", "linux")
                .named(&format!("device {i}"))
        };
        let params = ConnectParams {
            auth: Some(auth),
            ..ConnectParams::node(client, p.into())
                .protocol(protocol)
                .declaring(&["system"], commands)
        };
        self.device_connects.insert(conn);
        self.send(conn, &connect_frame(&params));
    }

    pub(super) fn gw_ready(&self, conn: ConnId) -> bool {
        // A connection is ready once the simulator saw its hello-ok; tracked via the challenge map:
        // the challenge is removed when hello-ok arrives.
        !self.challenges.contains_key(&conn)
    }

    pub(super) fn operator_action(&mut self) {
        let i = self.roll(self.ops.len() as u64) as usize;
        let Some(conn) = self.ops[i].conn else {
            if let Some(conn) = self.open(IpAddr::V4(Ipv4Addr::LOCALHOST), Role::Operator(i)) {
                self.ops[i].conn = Some(conn);
            }
            return;
        };
        if !self.gw_ready(conn) {
            let token = if self.roll(10) == 0 {
                "wrong"
            } else {
                OPERATOR_TOKEN
            };
            let client = ClientInfo::new("cli", "cli", "1", "linux");
            let params = ConnectParams::operator(token, client, self.ops[i].scopes);
            self.send(conn, &connect_frame(&params));
            return;
        }
        let pending: Vec<(String, String)> = self
            .gw
            .state()
            .all_pending()
            .values()
            .map(|p| (p.request_id.0.clone(), p.node_id.0.clone()))
            .collect();
        let paired: Vec<String> = self
            .gw
            .state()
            .all_paired()
            .keys()
            .map(|k| k.0.clone())
            .collect();
        let devices_pending: Vec<String> = self
            .gw
            .state()
            .all_pending()
            .values()
            .filter(|p| p.device.is_some())
            .map(crate::state::code_of)
            .collect();
        let devices_paired: Vec<String> = self
            .gw
            .state()
            .all_paired()
            .values()
            .filter(|n| n.public_key.is_some())
            .map(|n| n.node_id.0.clone())
            .collect();
        match self.roll(13) {
            8 | 9 if !devices_pending.is_empty() => {
                let code =
                    devices_pending[self.roll(devices_pending.len() as u64) as usize].clone();
                let method = if self.roll(4) == 0 {
                    Method::DevicePairReject
                } else {
                    Method::DevicePairApprove
                };
                let text = self.req(method, &DecideParams::by_code(&code));
                self.send(conn, &text);
            }
            10 | 11 if !devices_paired.is_empty() => {
                let device =
                    devices_paired[self.roll(devices_paired.len() as u64) as usize].clone();
                let method = [
                    Method::DeviceTokenRotate,
                    Method::DeviceTokenRevoke,
                    Method::DevicePairRemove,
                ][self.roll(3) as usize];
                let text = if method == Method::DevicePairRemove {
                    self.req(method, &DeviceRef { device_id: device })
                } else {
                    let params = DeviceTokenParams {
                        device_id: device,
                        role: "node".into(),
                        scopes: None,
                    };
                    self.req(method, &params)
                };
                self.send(conn, &text);
            }
            12 => {
                let text = self.req(Method::DevicePairList, &NoParams {});
                self.send(conn, &text);
            }
            0..=2 if !pending.is_empty() => {
                let (rid, _) = pending[self.roll(pending.len() as u64) as usize].clone();
                let text = self.req(Method::NodePairApprove, &DecideParams::by_id(&rid));
                self.approving.insert(self.next_id.to_string(), (conn, rid));
                self.send(conn, &text);
            }
            3 if !pending.is_empty() => {
                let (rid, _) = pending[self.roll(pending.len() as u64) as usize].clone();
                let text = self.req(Method::NodePairReject, &DecideParams::by_id(&rid));
                self.send(conn, &text);
            }
            4 => {
                // An operator-made request: for a node of the simulation (supersede / re-pair) or a new box.
                let node = if b(self.roll(2)) {
                    let k = self.roll(self.nodes.len() as u64) as usize;
                    self.nodes[k].id.clone()
                } else {
                    format!("box-{}", self.roll(6))
                };
                let params = PairRequestParams {
                    node_id: node,
                    ..PairRequestParams::default()
                };
                let text = self.req(Method::NodePairRequest, &params);
                self.send(conn, &text);
            }
            5 if !paired.is_empty() => {
                let node = paired[self.roll(paired.len() as u64) as usize].clone();
                let text = if b(self.roll(2)) {
                    self.req(Method::NodePairRemove, &NodeRef { node_id: node })
                } else {
                    let params = RenameParams {
                        node_id: node,
                        display_name: format!("renamed {}", self.now),
                    };
                    self.req(Method::NodeRename, &params)
                };
                self.send(conn, &text);
            }
            6 => {
                let text = self.req(Method::NodePairList, &NoParams {});
                self.send(conn, &text);
            }
            _ => {
                let text = self.req(Method::NodeList, &NoParams {});
                self.send(conn, &text);
            }
        }
    }

    pub(super) fn crash(&mut self) -> Result<(), String> {
        // Whatever was not committed is lost; connections are gone; the store is what survives.
        let durable = self.gw.store().snapshot();
        let mut store = MemoryStore::restarted(self.gw.store());
        store.fail_next_commits(0);
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        self.gw =
            Gateway::new(self.config.clone(), seed, store, self.now).map_err(|e| e.to_string())?;
        for n in &mut self.nodes {
            n.conn = None;
        }
        for o in &mut self.ops {
            o.conn = None;
        }
        self.roles.clear();
        self.challenges.clear();
        self.approving.clear();
        self.closing.clear();
        self.last_seq = 0;
        self.report.crashes += 1;
        let state = self.gw.state();
        let restored = crate::Snapshot {
            pending: state.all_pending().values().cloned().collect(),
            paired: state.all_paired().values().cloned().collect(),
            audit_head: state.audit_head().clone(),
            ..crate::Snapshot::default()
        };
        if restored.paired != durable.paired || restored.pending.len() > durable.pending.len() {
            return Err("state after restart differs from the durable state".into());
        }
        self.commit_and_observe()
    }
}

/// A `connect` request: every actor's handshake has the id `c`.
fn connect_frame(params: &ConnectParams) -> String {
    wire::request_frame("c", Method::Connect.as_str(), params)
}
