//! `node.rename`, `node.description.set`, `node.list` and `node.describe`: the paired nodes, named
//! and described.

use crate::audit::Action;
use crate::gateway::Gateway;
use crate::ids::NodeId;
use crate::method::Method;
use crate::params::Params;
use crate::protocol::NodeRenamed;
use crate::record::NodeMeta;
use crate::store::Store;
use crate::view::NodeEntry;
use crate::wire::{ApiError, ok_frame};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

use super::{Caller, Reply};
use crate::record::MAX_DESCRIPTION_CHARS;

impl<S: Store> Gateway<S> {
    pub(super) fn rename(&mut self, caller: &Caller, id: &str, params: serde_json::Value) -> Reply {
        let p = Params::new(
            Method::NodeRename.as_str(),
            params,
            &["nodeId", "displayName"],
            &self.config.limits,
        )?;
        let node_id = NodeId(p.node_id("nodeId")?);
        let name = p.req_str_max("displayName", self.config.limits.max_string_chars)?;
        let Some(mut node) = self.state.paired(&node_id).cloned() else {
            return Err(ApiError::unknown_node(node_id.as_str()));
        };
        node.meta.display_name = Some(name.clone());
        node.renamed_at_ms = Some(self.now);
        self.audit(
            &caller.actor,
            Action::Renamed,
            None,
            &node_id,
            node.public_key.as_deref(),
            Some(&name),
        );
        self.state.put_paired(node);
        Ok(ok_frame(
            id,
            &NodeRenamed {
                display_name: name,
                node_id,
            },
        ))
    }

    /// `node.description.set {nodeId, description}`: an operator's note on what a paired node is for
    /// (at most [`MAX_DESCRIPTION_CHARS`] characters, the same character rules as names); `null` or a
    /// blank string clears it. Audited `described`.
    pub(super) fn set_description(
        &mut self,
        caller: &Caller,
        id: &str,
        params: serde_json::Value,
    ) -> Reply {
        let p = Params::new(
            Method::NodeDescriptionSet.as_str(),
            params,
            &["nodeId", "description"],
            &self.config.limits,
        )?;
        let node_id = NodeId(p.node_id("nodeId")?);
        if !p.present("description") {
            return Err(ApiError::invalid(
                "invalid node.description.set params: description: required (a string, or null to clear)",
            )
            .with_details(json!({ "field": "description" })));
        }
        let description = p.opt_str_max("description", MAX_DESCRIPTION_CHARS)?;
        let Some(mut node) = self.state.paired(&node_id).cloned() else {
            return Err(ApiError::unknown_node(node_id.as_str()));
        };
        node.description.clone_from(&description);
        self.audit(
            &caller.actor,
            Action::Described,
            None,
            &node_id,
            node.public_key.as_deref(),
            node.meta.display_name.as_deref(),
        );
        self.state.put_paired(node);
        Ok(ok_frame(
            id,
            &json!({ "nodeId": node_id, "description": description }),
        ))
    }

    /// The merged `node.list` entry of one node: its paired record and its live connection.
    pub(super) fn node_entry(&self, node_id: &NodeId) -> Option<NodeEntry> {
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
            e.approved_by = r.approved_by.clone();
            e.description = r.description.clone();
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

    pub(super) fn node_list(&self, id: &str) -> Arc<str> {
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

    pub(super) fn describe(&self, id: &str, params: serde_json::Value) -> Reply {
        let p = Params::new(
            Method::NodeDescribe.as_str(),
            params,
            &["nodeId"],
            &self.config.limits,
        )?;
        let node_id = NodeId(p.node_id("nodeId")?);
        let entry = self
            .node_entry(&node_id)
            .ok_or_else(|| ApiError::unknown_node(node_id.as_str()))?;
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
