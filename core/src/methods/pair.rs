//! `node.pair.*`: request, list, approve, reject, verify, remove.

use crate::audit::{Action, Actor};
use crate::code::parse_code;
use crate::gateway::{Gateway, Held};
use crate::ids::{NodeId, RequestId};
use crate::memory::Decision;
use crate::method::Method;
use crate::pairing::{Ask, Via};
use crate::params::Params;
use crate::protocol::node::{ApprovedView, NodeRejected, NodeRemoved};
use crate::record::{NodeMeta, PairedNode, PendingRequest};
use crate::store::Store;
use crate::view::{PairedView, PendingView};
use crate::wire::{ApiError, ok_frame};
use serde::Serialize;
use serde_json::json;
use std::borrow::Cow;
use std::sync::Arc;

use super::{Caller, Close, Reply};

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

#[derive(Serialize)]
struct RequestResult<'a> {
    status: &'static str,
    request: PendingView<'a>,
    created: bool,
}

impl<S: Store> Gateway<S> {
    pub(super) fn pair_request(
        &mut self,
        caller: &Caller,
        id: &str,
        params: serde_json::Value,
    ) -> Reply {
        if !self.config.pairing_enabled {
            return Err(ApiError::pairing_disabled());
        }
        let p = Params::new(
            Method::NodePairRequest.as_str(),
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
        let (request_id, created) = self.ask(
            &caller.actor,
            Ask {
                node_id,
                meta,
                silent,
                key,
                device: None,
                ip: caller.ip.clone(),
            },
        )?;
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

    pub(super) fn pair_list(&self, id: &str) -> Arc<str> {
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
                Err(
                    ApiError::request_gone(rid.as_str(), self.resolved.by_id(&rid))
                        .decided_by(self.resolved.decider(&rid)),
                )
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
                    [] => {
                        let gone = self.resolved.by_code(&code);
                        let decider = gone.and_then(|(rid, _)| self.resolved.decider(rid));
                        Err(
                            ApiError::code_gone(&code, gone.map(|(rid, d)| (rid.as_str(), d)))
                                .decided_by(decider),
                        )
                    }
                    many => {
                        let ids: Vec<&str> = many.iter().map(|r| r.request_id.as_str()).collect();
                        Err(ApiError::ambiguous_code(&code, &ids))
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

    pub(super) fn pair_approve(
        &mut self,
        caller: &Caller,
        id: &str,
        params: serde_json::Value,
    ) -> Reply {
        let p = Params::new(
            Method::NodePairApprove.as_str(),
            params,
            &["requestId", "code"],
            &self.config.limits,
        )?;
        let req = self.find_pending(&p, Method::NodePairApprove.as_str())?;
        caller.may_approve(req.meta.commands.as_deref())?;
        // A token comes back only for a request an operator made: that operator hands it over.
        let (node, token) = self.approve_request(&caller.actor, &req, Via::Owner);
        // Serialised straight from borrowed views (no intermediate JSON value holding the token).
        let mut view = PairedView::new(&node);
        if let Some(t) = &token {
            view = view.with_token(t.expose());
        }
        Ok(ok_frame(
            id,
            &ApprovedView {
                request_id: Cow::Borrowed(&req.request_id),
                node: view,
            },
        ))
    }

    pub(super) fn pair_reject(
        &mut self,
        caller: &Caller,
        id: &str,
        params: serde_json::Value,
    ) -> Reply {
        let p = Params::new(
            Method::NodePairReject.as_str(),
            params,
            &["requestId", "code"],
            &self.config.limits,
        )?;
        let req = self.find_pending(&p, Method::NodePairReject.as_str())?;
        self.resolve_pending(&caller.actor, &req.request_id, Decision::Rejected);
        Ok(ok_frame(
            id,
            &NodeRejected {
                node_id: req.node_id,
                request_id: req.request_id,
            },
        ))
    }

    /// `node.pair.verify`; the close asked for after too many failed attempts on a node's own
    /// connection.
    pub(super) fn pair_verify(
        &mut self,
        caller: &Caller,
        id: &str,
        params: serde_json::Value,
    ) -> Result<(Arc<str>, Option<Close>), ApiError> {
        let p = Params::new(
            Method::NodePairVerify.as_str(),
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
                let text = ok_frame(id, &json!({ "ok": true, "node": PairedView::new(&node) }));
                Ok((text, None))
            }
            None => {
                let mut close = None;
                if own && let Some(c) = self.conns.get_mut(&caller.conn) {
                    c.failed_verifies += 1;
                    if c.failed_verifies >= self.config.limits.max_failed_verifies {
                        close = Some((1008, "too many failed verifies"));
                    }
                }
                Ok((ok_frame(id, &json!({ "ok": false })), close))
            }
        }
    }

    pub(super) fn pair_remove(
        &mut self,
        caller: &Caller,
        id: &str,
        params: serde_json::Value,
    ) -> Reply {
        let p = Params::new(
            Method::NodePairRemove.as_str(),
            params,
            &["nodeId", "ifUnseenSinceMs"],
            &self.config.limits,
        )?;
        let node_id = NodeId(p.node_id("nodeId")?);
        if let Some(cutoff) = p.opt_u64("ifUnseenSinceMs")? {
            // Judged on what `node.list` shows, as the caller judged it.
            let Some(entry) = self.node_entry(&node_id).filter(|e| e.paired) else {
                return Err(ApiError::unknown_node(node_id.as_str()));
            };
            if entry.connected {
                return Err(ApiError::node_seen(node_id.as_str(), None));
            }
            let seen = entry.last_sighting();
            if seen >= cutoff {
                return Err(ApiError::node_seen(node_id.as_str(), Some(seen)));
            }
        }
        self.remove_paired(&caller.actor, &node_id)?;
        Ok(ok_frame(id, &NodeRemoved { node_id }))
    }

    /// Unpairs a node or device: its token stops working at once, and every live connection of it
    /// is closed (1008 `removed`), so its next attempt is a new request.
    pub(crate) fn remove_paired(
        &mut self,
        by: &Actor,
        node_id: &NodeId,
    ) -> Result<PairedNode, ApiError> {
        let Some(old) = self.state.delete_paired(node_id) else {
            return Err(ApiError::unknown_node(node_id.as_str()));
        };
        self.audit(
            by,
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
}
