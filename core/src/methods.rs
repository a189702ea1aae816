//! The methods of SPEC §4, after the handshake: authorisation, then each method's semantics.

mod nodes;
mod pair;

use crate::audit::Actor;
use crate::gateway::{Gateway, Role, Session};
use crate::handshake::{NODE_METHODS, OPERATOR_METHODS};
use crate::ids::{ConnId, NodeId};
use crate::params::Params;
use crate::protocol::DetailCode;
use crate::record::NodeMeta;
use crate::scopes::{self, Scopes, required_approve_scopes};
use crate::store::Store;
use crate::wire::{ApiError, ErrorCode, Request, err_frame, parse_request};
use serde_json::json;
use std::sync::Arc;

type Reply = Result<Arc<str>, ApiError>;

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
}
