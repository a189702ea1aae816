//! The `connect` handshake: protocol range, operator token, node device proof, `hello-ok`.

use crate::gateway::{Client, Gateway, Kind, Role, Session};
use crate::ids::{ConnId, NodeId};
use crate::params::Params;
use crate::proof::{DeviceProof, SignedFields, verify};
use crate::scopes::Scopes;
use crate::store::Store;
use crate::wire::{ApiError, ErrorCode, PROTOCOL_VERSION, err_frame, ok_frame, parse_request};
use serde::Serialize;
use serde_json::{Value, json};

/// Methods a node connection may call.
pub const NODE_METHODS: [&str; 2] = ["node.pair.request", "node.pair.verify"];

/// Methods an operator connection may call (each still needs its scope).
pub const OPERATOR_METHODS: [&str; 9] = [
    "node.pair.request",
    "node.pair.list",
    "node.pair.approve",
    "node.pair.reject",
    "node.pair.verify",
    "node.pair.remove",
    "node.rename",
    "node.list",
    "node.describe",
];

const OPERATOR_EVENTS: [&str; 4] = [
    "connect.challenge",
    "tick",
    "node.pair.requested",
    "node.pair.resolved",
];
const NODE_EVENTS: [&str; 3] = ["connect.challenge", "tick", "node.pair.resolved"];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HelloOk<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    protocol: u64,
    server: ServerInfo<'a>,
    features: Features,
    snapshot: Value,
    policy: Policy,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerInfo<'a> {
    version: &'a str,
    conn_id: String,
}

#[derive(Serialize)]
struct Features {
    methods: &'static [&'static str],
    events: &'static [&'static str],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Policy {
    max_payload: usize,
    max_buffered_bytes: usize,
    tick_interval_ms: u64,
}

/// A refused handshake: the error to answer with, and the close code and reason.
struct Refusal(ApiError, u16, &'static str);

impl Refusal {
    fn invalid(e: ApiError) -> Self {
        Refusal(e, 1008, "invalid handshake")
    }
}

/// What `connect` carried, validated.
struct Connect {
    min_protocol: u64,
    max_protocol: u64,
    role: String,
    scopes: Vec<String>,
    client: Client,
    token: Option<String>,
    signed_token: String,
    device: Option<DeviceProof>,
}

impl<S: Store> Gateway<S> {
    pub(crate) fn handshake(&mut self, conn: ConnId, text: &str) {
        let (id, result) = match parse_request(text) {
            Err(bad) => (
                bad.id,
                Err(Refusal::invalid(ApiError::invalid(format!(
                    "invalid handshake: {}",
                    bad.problem
                )))),
            ),
            Ok(req) if req.method != "connect" => (
                req.id,
                Err(Refusal::invalid(ApiError::invalid(
                    "invalid handshake: first request must be connect",
                ))),
            ),
            Ok(req) => {
                let result = self.admit(conn, req.params);
                (req.id, result)
            }
        };
        match result {
            Ok(session) => self.hello(conn, &id, session),
            Err(Refusal(error, code, reason)) => {
                self.emit(conn, err_frame(&id, &error), Kind::Plain);
                self.close(conn, code, reason);
            }
        }
    }

    fn parse_connect(&self, params: Value) -> Result<Connect, ApiError> {
        let p = Params::lenient("connect", params, &self.config.limits)?;
        let min_protocol = p.req_u64("minProtocol")?;
        let max_protocol = p.req_u64("maxProtocol")?;
        let c = p.nested("client")?.ok_or_else(|| {
            ApiError::invalid("invalid connect params: client: required (an object)")
                .with_details(json!({ "field": "client" }))
        })?;
        let client = Client {
            id: c.req_str_max("id", self.config.limits.max_string_chars)?,
            mode: c.req_str_max("mode", self.config.limits.max_string_chars)?,
            version: c.opt_str("version")?,
            platform: c.opt_str("platform")?,
            display_name: c.opt_str("displayName")?,
            device_family: c.opt_str("deviceFamily")?,
            model_identifier: c.opt_str("modelIdentifier")?,
            caps: p.opt_list("caps")?,
            commands: p.opt_list("commands")?,
        };
        let role = p.opt_str("role")?.unwrap_or_else(|| "operator".into());
        let scopes = p.raw_list("scopes")?;
        let (token, signed_token) = match p.nested("auth")? {
            None => (None, String::new()),
            Some(a) => {
                let token = a.raw_str("token")?;
                let signed = [
                    token.clone(),
                    a.raw_str("deviceToken")?,
                    a.raw_str("bootstrapToken")?,
                ]
                .into_iter()
                .find(|t| !t.is_empty())
                .unwrap_or_default();
                ((!token.is_empty()).then_some(token), signed)
            }
        };
        // Only a node's device block is a proof. An operator's (the OpenClaw CLI sends one) is accepted
        // unread, whatever its shape, as SPEC §3 and §10 ask.
        let device_block = if role == "node" {
            p.nested("device")?
        } else {
            None
        };
        let device = match device_block {
            None => None,
            Some(d) => Some(DeviceProof {
                id: d.req_str_max("id", self.config.limits.max_string_chars)?,
                public_key: d.req_str_max("publicKey", self.config.limits.max_string_chars)?,
                signature: d.req_str_max("signature", self.config.limits.max_string_chars)?,
                signed_at: d.req_u64("signedAt")?,
                nonce: d.opt_str("nonce")?,
            }),
        };
        Ok(Connect {
            min_protocol,
            max_protocol,
            role,
            scopes,
            client,
            token,
            signed_token,
            device,
        })
    }

    fn admit(&mut self, conn: ConnId, params: Value) -> Result<Session, Refusal> {
        let c = self.parse_connect(params).map_err(Refusal::invalid)?;
        if !(c.min_protocol..=c.max_protocol).contains(&PROTOCOL_VERSION) {
            return Err(Refusal(
                ApiError::invalid("protocol mismatch")
                    .with_details(json!({ "expectedProtocol": PROTOCOL_VERSION })),
                1002,
                "protocol mismatch",
            ));
        }
        let role = match c.role.as_str() {
            "operator" => {
                let error = |message: &str, code: &str| {
                    Refusal(
                        ApiError::new(ErrorCode::Unauthorized, message)
                            .with_details(json!({ "code": code })),
                        1008,
                        "unauthorized",
                    )
                };
                match &c.token {
                    None => {
                        return Err(error(
                            "unauthorized: gateway token missing",
                            "AUTH_TOKEN_MISSING",
                        ));
                    }
                    Some(t) if !self.config.gateway_token.matches(t) => {
                        return Err(error(
                            "unauthorized: gateway token mismatch",
                            "AUTH_TOKEN_MISMATCH",
                        ));
                    }
                    Some(_) => {}
                }
                Role::Operator {
                    scopes: Scopes::parse(c.scopes.iter().map(String::as_str)),
                }
            }
            "node" => {
                let Some(device) = &c.device else {
                    return Err(Refusal::invalid(
                        ApiError::invalid("device identity required")
                            .with_details(json!({ "code": "DEVICE_IDENTITY_REQUIRED" })),
                    ));
                };
                let fields = SignedFields {
                    client_id: &c.client.id,
                    client_mode: &c.client.mode,
                    role: "node",
                    scopes: &c.scopes,
                    token: &c.signed_token,
                    platform: c.client.platform.as_deref().unwrap_or(""),
                    device_family: c.client.device_family.as_deref().unwrap_or(""),
                };
                let nonce = self
                    .conns
                    .get(&conn)
                    .map(|c| c.nonce.as_str())
                    .unwrap_or("");
                verify(
                    device,
                    &fields,
                    nonce,
                    self.now,
                    self.config.signature_skew_ms,
                )
                .map_err(|f| {
                    Refusal::invalid(
                        ApiError::invalid(f.message())
                            .with_details(json!({ "code": f.code(), "reason": f.reason() })),
                    )
                })?;
                Role::Node {
                    device_id: NodeId(device.id.to_ascii_lowercase()),
                    public_key: device.public_key.trim_end_matches('=').to_owned(),
                }
            }
            _ => {
                return Err(Refusal::invalid(ApiError::invalid("invalid role")));
            }
        };
        Ok(Session {
            role,
            client: c.client,
            connected_at: self.now,
        })
    }

    fn hello(&mut self, conn: ConnId, id: &str, session: Session) {
        let node = match &session.role {
            Role::Node {
                device_id,
                public_key,
            } => Some((device_id.clone(), public_key.clone())),
            Role::Operator { .. } => None,
        };
        let conn_id = self.rng.uuid();
        let (methods, events): (&'static [&'static str], &'static [&'static str]) =
            if node.is_some() {
                (&NODE_METHODS, &NODE_EVENTS)
            } else {
                (&OPERATOR_METHODS, &OPERATOR_EVENTS)
            };
        let hello = HelloOk {
            ty: "hello-ok",
            protocol: PROTOCOL_VERSION,
            server: ServerInfo {
                version: &self.config.server_version,
                conn_id,
            },
            features: Features { methods, events },
            snapshot: json!({}),
            policy: Policy {
                max_payload: self.config.limits.max_frame_bytes,
                max_buffered_bytes: self.config.limits.max_buffered_bytes,
                tick_interval_ms: self.config.tick_interval_ms,
            },
        };
        self.emit(conn, ok_frame(id, &hello), Kind::Plain);
        self.finish_handshake(conn, session);
        if let Some((device_id, public_key)) = node {
            self.deliver_mail(conn, &device_id, &public_key);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::gateway::tests::{T0, connect_with, gateway, operator_params};
    use serde_json::json;

    #[test]
    fn an_operators_device_block_is_not_checked_whatever_its_shape() {
        for device in [
            json!({"id": "x"}),
            json!({"id": 5, "signedAt": "soon"}),
            json!("a string"),
            json!({"id": "d", "publicKey": "p", "signature": "s", "signedAt": 1, "nonce": "n"}),
        ] {
            let mut g = gateway();
            let (_, sent, closed) =
                connect_with(&mut g, T0, |_| operator_params(json!({"device": device})));
            assert_eq!(sent[0].1["ok"], true, "{device}: {sent:?}");
            assert!(closed.is_empty());
        }
    }

    #[test]
    fn a_missing_client_is_named_in_details() {
        let mut g = gateway();
        let (_, sent, closed) = connect_with(&mut g, T0, |_| {
            let mut p = operator_params(json!({}));
            p.as_object_mut().unwrap().remove("client");
            p
        });
        assert_eq!(sent[0].1["error"]["details"], json!({"field": "client"}));
        assert_eq!(closed[0].1, 1008);
    }
}
