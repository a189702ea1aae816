//! The methods of SPEC §4, after the handshake: authorisation, then each method's semantics.

use crate::audit::{Action, Actor};
use crate::code::parse_code;
use crate::gateway::{Gateway, Held, Role, Session};
use crate::handshake::{NODE_METHODS, OPERATOR_METHODS};
use crate::ids::{ConnId, NodeId, RequestId};
use crate::memory::Decision;
use crate::pairing::{Ask, Via};
use crate::params::Params;
use crate::protocol::DetailCode;
use crate::record::{NodeMeta, PairedNode, PendingRequest};
use crate::scopes::{self, Scopes, required_approve_scopes};
use crate::store::Store;
use crate::view::{NodeEntry, PairedView, PendingView};
use crate::wire::{ApiError, ErrorCode, Request, err_frame, ok_frame, parse_request};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

type Reply = Result<Arc<str>, ApiError>;

const REQUEST_FIELDS: [&str; 12] = [
    "nodeId",
    "displayName",
    "platform",
    "version",
    "coreVersion",
    "uiVersion",
    "deviceFamily",
    "modelIdentifier",
    "caps",
    "commands",
    "remoteIp",
    "silent",
];

/// Who is calling, copied out of the session so handlers can mutate the gateway.
pub(crate) struct Caller {
    pub conn: ConnId,
    pub ip: String,
    pub scopes: Option<Scopes>,
    pub node: Option<(NodeId, String)>,
    pub client_meta: NodeMeta,
    pub actor: Actor,
    /// The protocol version of the connection: v4 gets v4's error shapes.
    pub protocol: u64,
}

impl Caller {
    /// The error for a missing scope, in the caller's protocol: v3 `INVALID_REQUEST`, v4 `FORBIDDEN`
    /// (as OpenClaw 2026.9.6); both with `details {code: MISSING_SCOPE, missingScope, requiredScopes}`
    /// and the message `missing scope: <scope>`.
    pub(crate) fn missing_scope(&self, missing: &str, required: &[&str]) -> ApiError {
        let code = if self.protocol >= 4 {
            ErrorCode::Forbidden
        } else {
            ErrorCode::InvalidRequest
        };
        ApiError::new(code, format!("missing scope: {missing}")).with_details(json!({
            "code": DetailCode::MissingScope,
            "missingScope": missing,
            "requiredScopes": required,
        }))
    }

    /// Checks the scopes approving a request with `commands` needs.
    pub(crate) fn may_approve(&self, commands: Option<&[String]>) -> Result<(), ApiError> {
        let scopes = self.scopes.unwrap_or_default();
        let required = required_approve_scopes(commands);
        match required.iter().find(|s| !scopes.satisfies(s)) {
            Some(missing) => Err(self.missing_scope(missing, required)),
            None => Ok(()),
        }
    }

    fn own_node(&self, node_id: &NodeId) -> Result<Option<&str>, ApiError> {
        match &self.node {
            None => Ok(None),
            Some((id, key)) if id == node_id => Ok(Some(key)),
            Some(_) => Err(ApiError::invalid(
                "nodeId must be this connection's device id",
            )),
        }
    }
}

#[derive(Serialize)]
struct RequestResult<'a> {
    status: &'static str,
    request: PendingView<'a>,
    created: bool,
}

fn reason_phrase(d: Decision) -> &'static str {
    match d {
        Decision::Approved => "it was already approved",
        Decision::Rejected => "it was rejected",
        Decision::Expired => "it expired",
        Decision::Superseded => "it was superseded by a newer request",
        Decision::Removed => "its node was removed",
    }
}

impl<S: Store> Gateway<S> {
    /// A frame after the handshake: parse, authorise, run, answer.
    pub(crate) fn request(&mut self, conn: ConnId, text: &str) {
        let req = match parse_request(text) {
            Ok(req) => req,
            // A node's events and answers (OpenClaw node hosts send both) are not requests to us:
            // dropped without a word, never a reason to close its connection.
            Err(bad) if bad.not_a_request && self.is_node(conn) => return,
            Err(bad) => {
                let e = ApiError::invalid(format!("invalid request frame: {}", bad.problem));
                self.respond(conn, &bad.id, err_frame(&bad.id, &e));
                return;
            }
        };
        let id = req.id.clone();
        let result = self.call(conn, req);
        self.actor = Actor::Gateway;
        let text = match result {
            Ok(text) => text,
            Err(e) => err_frame(&id, &e),
        };
        self.respond(conn, &id, text);
        self.close_rotation_caller();
    }

    fn is_node(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| {
            matches!(
                &c.session,
                Some(Session {
                    role: Role::Node { .. },
                    ..
                })
            )
        })
    }

    fn caller(&self, conn: ConnId) -> Option<Caller> {
        let c = self.conns.get(&conn)?;
        let Session {
            role,
            client,
            protocol,
            ..
        } = c.session.as_ref()?;
        let (scopes, node) = match role {
            Role::Operator { scopes } => (Some(*scopes), None),
            Role::Node {
                device_id,
                public_key,
                ..
            } => (None, Some((device_id.clone(), public_key.clone()))),
        };
        Some(Caller {
            actor: Actor::Conn {
                role: if scopes.is_some() { "operator" } else { "node" },
                client_id: client.id.clone(),
                conn_id: conn,
                remote_ip: c.ip_text.clone(),
            },
            conn,
            ip: c.ip_text.clone(),
            scopes,
            node,
            protocol: *protocol,
            client_meta: NodeMeta {
                display_name: client.display_name.clone(),
                platform: client.platform.clone(),
                version: client.version.clone(),
                device_family: client.device_family.clone(),
                model_identifier: client.model_identifier.clone(),
                caps: client.caps.clone(),
                commands: client.commands.clone(),
                ..NodeMeta::default()
            },
        })
    }

    fn call(&mut self, conn: ConnId, req: Request) -> Reply {
        let Request { id, method, params } = req;
        let caller = self
            .caller(conn)
            .ok_or_else(|| ApiError::invalid("connection is not ready"))?;
        self.actor = caller.actor.clone();
        if method == "connect" {
            return Err(ApiError::invalid("already connected"));
        }
        if !OPERATOR_METHODS.contains(&method.as_str()) {
            let shown: String = method.chars().take(128).collect();
            return Err(ApiError::invalid(format!("unknown method: {shown}")));
        }
        match caller.scopes {
            None if !NODE_METHODS.contains(&method.as_str()) => {
                return Err(ApiError::invalid("unauthorized role: node"));
            }
            Some(s) => {
                let needed = match method.as_str() {
                    "node.list" | "node.describe" => scopes::READ,
                    _ => scopes::PAIRING,
                };
                if !s.satisfies(needed) {
                    return Err(caller.missing_scope(needed, &[needed]));
                }
            }
            None => {}
        }
        let m = method.as_str();
        match m {
            "node.pair.request" => self.pair_request(&caller, &id, params),
            "node.pair.list" => {
                Params::new(m, params, &[], &self.config.limits)?;
                Ok(self.pair_list(&id))
            }
            "node.pair.approve" => self.pair_approve(&caller, &id, params),
            "node.pair.reject" => self.pair_reject(&id, params),
            "node.pair.verify" => self.pair_verify(&caller, &id, params),
            "node.pair.remove" => self.pair_remove(&id, params),
            "node.rename" => self.rename(&id, params),
            "node.list" => {
                Params::new(m, params, &[], &self.config.limits)?;
                Ok(self.node_list(&id))
            }
            "node.describe" => self.describe(&id, params),
            "gateway.token.rotate" => self.token_rotate(&caller, &id, params),
            _ => self.device_call(&caller, m, &id, params),
        }
    }

    fn pair_request(&mut self, caller: &Caller, id: &str, params: serde_json::Value) -> Reply {
        if !self.config.pairing_enabled {
            return Err(ApiError::new(ErrorCode::Unavailable, "pairing disabled"));
        }
        let p = Params::new(
            "node.pair.request",
            params,
            &REQUEST_FIELDS,
            &self.config.limits,
        )?;
        let node_id = NodeId(p.node_id("nodeId")?);
        let mut meta = NodeMeta {
            display_name: p.opt_str("displayName")?,
            platform: p.opt_str("platform")?,
            version: p.opt_str("version")?,
            core_version: p.opt_str("coreVersion")?,
            ui_version: p.opt_str("uiVersion")?,
            device_family: p.opt_str("deviceFamily")?,
            model_identifier: p.opt_str("modelIdentifier")?,
            caps: p.opt_list("caps")?,
            commands: p.opt_list("commands")?,
        };
        let silent = p.opt_bool("silent")?.unwrap_or(false);
        let key = caller.own_node(&node_id)?.map(str::to_owned);
        if key.is_some() {
            // What the node said in `connect` fills what this request leaves out.
            let mut filled = caller.client_meta.clone();
            filled.refresh(meta);
            meta = filled;
        }
        let (request_id, created) = self.ask(Ask {
            node_id,
            meta,
            silent,
            key,
            device: None,
            ip: caller.ip.clone(),
        })?;
        Ok(self.pending_view_frame(&request_id, |request| {
            ok_frame(
                id,
                &RequestResult {
                    status: "pending",
                    request,
                    created,
                },
            )
        }))
    }

    fn pair_list(&self, id: &str) -> Arc<str> {
        let ttl = self.config.pending_ttl_ms;
        let mut pending: Vec<PendingView<'_>> = Vec::with_capacity(self.state.pending_count());
        let mut order: Vec<&PendingRequest> = self.state.all_pending().values().collect();
        order.sort_by(|a, b| b.ts.cmp(&a.ts).then(a.request_id.cmp(&b.request_id)));
        for req in order {
            let code = self.state.code(&req.request_id).unwrap_or_default();
            let is_repair = self.state.paired(&req.node_id).is_some();
            pending.push(PendingView::new(req, code, is_repair, ttl));
        }
        let mut paired: Vec<&PairedNode> = self.state.all_paired().values().collect();
        paired.sort_by(|a, b| {
            b.approved_at_ms
                .cmp(&a.approved_at_ms)
                .then(a.node_id.cmp(&b.node_id))
        });
        let paired: Vec<PairedView<'_>> = paired.into_iter().map(PairedView::new).collect();
        ok_frame(id, &json!({ "pending": pending, "paired": paired }))
    }

    /// Finds the pending request named by `{requestId}` or `{code}`, or says what became of it.
    pub(crate) fn find_pending(
        &self,
        p: &Params<'_>,
        method: &str,
    ) -> Result<PendingRequest, ApiError> {
        match (p.has("requestId"), p.has("code")) {
            (true, false) => {
                let rid =
                    RequestId(p.req_str_max("requestId", self.config.limits.max_string_chars)?);
                if let Some(req) = self.state.pending(&rid) {
                    return Ok(req.clone());
                }
                Err(match self.resolved.by_id(&rid) {
                    None => ApiError::invalid("unknown requestId")
                        .with_details(json!({ "reason": "unknown", "requestId": rid })),
                    Some(d) => {
                        ApiError::invalid(format!("unknown requestId: {}", reason_phrase(d)))
                            .with_details(json!({ "reason": d, "requestId": rid }))
                    }
                })
            }
            (false, true) => {
                let raw = p.req_str_max("code", 32)?;
                let code = parse_code(&raw).ok_or_else(|| {
                    ApiError::invalid(format!(
                        "invalid {method} params: code: must be 8 digits like 1234-5678"
                    ))
                    .with_details(json!({ "field": "code" }))
                })?;
                match self.state.pending_by_code(&code).as_slice() {
                    [one] => Ok((*one).clone()),
                    [] => Err(match self.resolved.by_code(&code) {
                        None => ApiError::invalid(format!(
                            "unknown code {code}: no pending request shows it"
                        ))
                        .with_details(json!({ "reason": "unknown", "code": code })),
                        Some((rid, d)) => {
                            ApiError::invalid(format!("unknown code {code}: {}", reason_phrase(d)))
                                .with_details(
                                    json!({ "reason": d, "code": code, "requestId": rid }),
                                )
                        }
                    }),
                    many => {
                        let ids: Vec<&RequestId> = many.iter().map(|r| &r.request_id).collect();
                        Err(ApiError::invalid(format!(
                            "ambiguous code {code}: {} pending requests show it; use the requestId",
                            ids.len()
                        ))
                        .with_details(json!({ "reason": "ambiguous", "requestIds": ids })))
                    }
                }
            }
            (true, true) => Err(ApiError::invalid(format!(
                "invalid {method} params: give either requestId or code, not both"
            ))),
            (false, false) => Err(ApiError::invalid(format!(
                "invalid {method} params: requestId or code required"
            ))),
        }
    }

    fn pair_approve(&mut self, caller: &Caller, id: &str, params: serde_json::Value) -> Reply {
        let p = Params::new(
            "node.pair.approve",
            params,
            &["requestId", "code"],
            &self.config.limits,
        )?;
        let req = self.find_pending(&p, "node.pair.approve")?;
        caller.may_approve(req.meta.commands.as_deref())?;
        // A token comes back only for a request an operator made: that operator hands it over.
        let (node, token) = self.approve_request(&req, Via::Owner);
        // Serialised straight from borrowed views (no intermediate JSON value holding the token).
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Approved<'a> {
            request_id: &'a RequestId,
            node: PairedView<'a>,
        }
        let mut view = PairedView::new(&node);
        if let Some(t) = &token {
            view = view.with_token(t.expose());
        }
        Ok(ok_frame(
            id,
            &Approved {
                request_id: &req.request_id,
                node: view,
            },
        ))
    }

    fn pair_reject(&mut self, id: &str, params: serde_json::Value) -> Reply {
        let p = Params::new(
            "node.pair.reject",
            params,
            &["requestId", "code"],
            &self.config.limits,
        )?;
        let req = self.find_pending(&p, "node.pair.reject")?;
        self.resolve_pending(&req.request_id, Decision::Rejected);
        Ok(ok_frame(
            id,
            &json!({ "requestId": req.request_id, "nodeId": req.node_id }),
        ))
    }

    fn pair_verify(&mut self, caller: &Caller, id: &str, params: serde_json::Value) -> Reply {
        let p = Params::new(
            "node.pair.verify",
            params,
            &["nodeId", "token"],
            &self.config.limits,
        )?;
        let node_id = NodeId(p.node_id("nodeId")?);
        let token = p.req_raw_str("token")?;
        let own = caller.own_node(&node_id)?.is_some();
        let verified = self
            .state
            .paired(&node_id)
            .filter(|n| n.token_hash.matches(&token))
            .cloned();
        match verified {
            Some(mut node) => {
                if own {
                    node.last_connected_at_ms = Some(self.now);
                    self.state.put_paired(node.clone());
                }
                Ok(ok_frame(
                    id,
                    &json!({ "ok": true, "node": PairedView::new(&node) }),
                ))
            }
            None => {
                if own && let Some(c) = self.conns.get_mut(&caller.conn) {
                    c.failed_verifies += 1;
                    if c.failed_verifies >= self.config.limits.max_failed_verifies {
                        self.close_after = Some((caller.conn, 1008, "too many failed verifies"));
                    }
                }
                Ok(ok_frame(id, &json!({ "ok": false })))
            }
        }
    }

    fn pair_remove(&mut self, id: &str, params: serde_json::Value) -> Reply {
        let p = Params::new("node.pair.remove", params, &["nodeId"], &self.config.limits)?;
        let node_id = NodeId(p.node_id("nodeId")?);
        self.remove_paired(&node_id)?;
        Ok(ok_frame(id, &json!({ "nodeId": node_id })))
    }

    /// Unpairs a node or device: its token stops working at once, and every live connection of it
    /// is closed (1008 `removed`), so its next attempt is a new request.
    pub(crate) fn remove_paired(&mut self, node_id: &NodeId) -> Result<PairedNode, ApiError> {
        let Some(old) = self.state.delete_paired(node_id) else {
            return Err(
                ApiError::invalid("unknown nodeId").with_details(json!({ "nodeId": node_id }))
            );
        };
        self.audit(
            Action::Removed,
            None,
            node_id,
            old.public_key.as_deref(),
            old.meta.display_name.as_deref(),
        );
        self.held.push(Held::Unmail(node_id.clone()));
        self.broadcast_resolved("", node_id, Decision::Removed);
        if old.device.is_some() {
            self.broadcast_device_resolved("", node_id, Decision::Removed);
        }
        self.close_device_conns(node_id, None, 1008, "removed");
        Ok(old)
    }

    fn rename(&mut self, id: &str, params: serde_json::Value) -> Reply {
        let p = Params::new(
            "node.rename",
            params,
            &["nodeId", "displayName"],
            &self.config.limits,
        )?;
        let node_id = NodeId(p.node_id("nodeId")?);
        let name = p.req_str_max("displayName", self.config.limits.max_string_chars)?;
        let Some(mut node) = self.state.paired(&node_id).cloned() else {
            return Err(
                ApiError::invalid("unknown nodeId").with_details(json!({ "nodeId": node_id }))
            );
        };
        node.meta.display_name = Some(name.clone());
        node.renamed_at_ms = Some(self.now);
        self.audit(
            Action::Renamed,
            None,
            &node_id,
            node.public_key.as_deref(),
            Some(&name),
        );
        self.state.put_paired(node);
        Ok(ok_frame(
            id,
            &json!({ "nodeId": node_id, "displayName": name }),
        ))
    }

    /// The merged `node.list` entry of one node: its paired record and its live connection.
    fn node_entry(&self, node_id: &NodeId) -> Option<NodeEntry> {
        let record = self.state.paired(node_id);
        let live = self
            .nodes_online
            .get(node_id)
            .into_iter()
            .flatten()
            .filter_map(|c| Some((self.conns.get(c)?, self.conns.get(c)?.session.as_ref()?)))
            .max_by_key(|(_, s)| s.connected_at);
        if record.is_none() && live.is_none() {
            return None;
        }
        let mut e = NodeEntry {
            node_id: node_id.clone(),
            ..NodeEntry::default()
        };
        if let Some(r) = record {
            e.meta = r.meta.clone();
            e.remote_ip = r.remote_ip.clone();
            e.paired = true;
            e.approved_at_ms = Some(r.approved_at_ms);
            e.last_connected_at_ms = r.last_connected_at_ms;
            e.approved_via = r.approved_via.clone();
            e.last_seen_at_ms = r.last_seen_at_ms;
            if let Some(d) = &r.device {
                e.client_id = d.client_id.clone();
                e.client_mode = d.client_mode.clone();
            }
        }
        if let Some((conn, s)) = live {
            let c = &s.client;
            let renamed = record.is_some_and(|r| r.renamed_at_ms.is_some());
            let mut fresh = NodeMeta {
                display_name: if renamed {
                    None
                } else {
                    c.display_name.clone()
                },
                platform: c.platform.clone(),
                version: c.version.clone(),
                device_family: c.device_family.clone(),
                model_identifier: c.model_identifier.clone(),
                ..NodeMeta::default()
            };
            if record.is_none() {
                fresh.caps = c.caps.clone();
                fresh.commands = c.commands.clone();
            }
            e.meta.refresh(fresh);
            e.client_id = Some(c.id.clone());
            e.client_mode = Some(c.mode.clone());
            e.remote_ip = Some(conn.ip_text.clone());
            e.connected = true;
            e.connected_at_ms = Some(s.connected_at);
        }
        for list in [&mut e.meta.caps, &mut e.meta.commands] {
            let set: BTreeSet<String> = list.take().unwrap_or_default().into_iter().collect();
            *list = Some(set.into_iter().collect());
        }
        Some(e)
    }

    fn node_list(&self, id: &str) -> Arc<str> {
        let ids: BTreeSet<&NodeId> = self
            .state
            .all_paired()
            .keys()
            .chain(self.nodes_online.keys())
            .collect();
        let mut nodes: Vec<NodeEntry> =
            ids.into_iter().filter_map(|n| self.node_entry(n)).collect();
        nodes.sort_by_cached_key(|e| {
            let name = e.meta.display_name.as_deref().unwrap_or(e.node_id.as_str());
            (!e.connected, name.to_lowercase(), e.node_id.clone())
        });
        ok_frame(id, &json!({ "ts": self.now, "nodes": nodes }))
    }

    fn describe(&self, id: &str, params: serde_json::Value) -> Reply {
        let p = Params::new("node.describe", params, &["nodeId"], &self.config.limits)?;
        let node_id = NodeId(p.node_id("nodeId")?);
        let entry = self.node_entry(&node_id).ok_or_else(|| {
            ApiError::invalid("unknown nodeId").with_details(json!({ "nodeId": node_id }))
        })?;
        #[derive(Serialize)]
        struct Described<'a> {
            ts: u64,
            #[serde(flatten)]
            entry: &'a NodeEntry,
        }
        Ok(ok_frame(
            id,
            &Described {
                ts: self.now,
                entry: &entry,
            },
        ))
    }
}
