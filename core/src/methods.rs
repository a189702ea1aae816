//! The methods of SPEC §4, after the handshake: authorisation, then each method's semantics.

mod enroll;
mod nodes;
mod pair;

use crate::audit::Actor;
use crate::gateway::{Gateway, Role, Session};
use crate::ids::{ConnId, NodeId};
use crate::method::Method;
use crate::params::Params;
use crate::protocol::DetailCode;
use crate::record::NodeMeta;
use crate::scopes::{Scopes, required_approve_scopes};
use crate::store::Store;
use crate::wire::{ApiError, ErrorCode, Request, err_frame, parse_request};
use serde_json::{Value, json};
use std::sync::Arc;

type Reply = Result<Arc<str>, ApiError>;

/// A close a method asks for on its caller's connection once its answer is sent: code and reason.
type Close = (u16, &'static str);

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
        let (result, close) = self.call(conn, req);
        let text = match result {
            Ok(text) => text,
            Err(e) => err_frame(&id, &e),
        };
        self.respond(conn, &id, text);
        self.close_rotation_caller();
        if let Some((code, reason)) = close {
            self.close(conn, code, reason);
        }
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

    /// Authorises a request on `conn` and runs it: its answer, and a close the method asks for once
    /// the answer is sent.
    fn call(&mut self, conn: ConnId, req: Request) -> (Reply, Option<Close>) {
        let Request { id, method, params } = req;
        match self.authorise(conn, &method) {
            Ok((caller, m)) => self.run(&caller, m, &id, params),
            Err(e) => (Err(e), None),
        }
    }

    /// Who calls `method` on `conn`, and whether they may: the method must exist, be one their role
    /// may call, and (for an operator) be covered by their scopes.
    fn authorise(&self, conn: ConnId, method: &str) -> Result<(Caller, Method), ApiError> {
        let caller = self
            .caller(conn)
            .ok_or_else(|| ApiError::invalid("connection is not ready"))?;
        let m = match Method::parse(method) {
            Some(Method::Connect) => return Err(ApiError::invalid("already connected")),
            Some(m) if m.operator_may_call() => m,
            _ => {
                let shown: String = method.chars().take(128).collect();
                return Err(ApiError::invalid(format!("unknown method: {shown}")));
            }
        };
        match caller.scopes {
            None if !m.node_may_call() => {
                return Err(ApiError::invalid("unauthorized role: node"));
            }
            Some(s) => {
                if let Some(needed) = m.scope()
                    && !s.satisfies(needed)
                {
                    return Err(caller.missing_scope(needed, &[needed]));
                }
            }
            None => {}
        }
        Ok((caller, m))
    }

    /// Runs an authorised method.
    fn run(
        &mut self,
        caller: &Caller,
        m: Method,
        id: &str,
        params: Value,
    ) -> (Reply, Option<Close>) {
        let limits = &self.config.limits;
        let reply = match m {
            Method::NodePairRequest => self.pair_request(caller, id, params),
            Method::NodePairList => {
                Params::new(m.as_str(), params, &[], limits).map(|_| self.pair_list(id))
            }
            Method::NodePairApprove => self.pair_approve(caller, id, params),
            Method::NodePairReject => self.pair_reject(caller, id, params),
            Method::NodePairVerify => match self.pair_verify(caller, id, params) {
                Ok((text, close)) => return (Ok(text), close),
                Err(e) => Err(e),
            },
            Method::NodePairRemove => self.pair_remove(caller, id, params),
            Method::NodeRename => self.rename(caller, id, params),
            Method::NodeDescriptionSet => self.set_description(caller, id, params),
            Method::NodeList => {
                Params::new(m.as_str(), params, &[], limits).map(|_| self.node_list(id))
            }
            Method::NodeDescribe => self.describe(id, params),
            Method::GatewayTokenRotate => self.token_rotate(caller, id, params),
            Method::DevicePairList
            | Method::DevicePairApprove
            | Method::DevicePairReject
            | Method::DevicePairRemove
            | Method::DeviceTokenRotate
            | Method::DeviceTokenRevoke => self.device_call(caller, m, id, params),
            Method::EnrollCreate | Method::DevicePairSetupCode => {
                self.enroll_create(caller, m, id, params)
            }
            Method::EnrollList => self.enroll_list(id, params),
            Method::EnrollRevoke => self.enroll_revoke(caller, id, params),
            Method::DevicePairSetupStatus => self.setup_status(id, params),
            Method::Connect => Err(ApiError::invalid("already connected")),
        };
        (reply, None)
    }
}
