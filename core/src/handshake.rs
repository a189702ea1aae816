//! The `connect` handshake: protocol range, operator token, node device proof, `hello-ok`.

use crate::audit::Actor;
use crate::event::Event;
use crate::gateway::{Admission, Client, CloseReason, Gateway, Kind, Role, Session};
use crate::ids::{ConnId, NodeId};
use crate::method::Method;
use crate::params::Params;
use crate::proof::{DeviceProof, SignedFields, verify};
use crate::protocol::{DetailCode, HelloAuth, SUPPORTED_PROTOCOLS, negotiate};
use crate::scopes::Scopes;
use crate::secret::Token;
use crate::store::Store;
use crate::wire::{ApiError, ErrorCode, err_frame, ok_frame, parse_request};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};

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
    auth: &'a HelloAuth,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerInfo<'a> {
    version: &'a str,
    conn_id: String,
}

#[derive(Serialize)]
struct Features {
    methods: &'static [Method],
    events: &'static [Event],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Policy {
    max_payload: usize,
    max_buffered_bytes: usize,
    tick_interval_ms: u64,
}

/// A refused handshake: the error to answer with, and the close code and reason.
pub(crate) struct Refusal(pub ApiError, pub u16, pub CloseReason);

impl Refusal {
    pub(crate) fn invalid(e: ApiError) -> Self {
        Refusal(e, 1008, "invalid handshake".into())
    }
}

/// What `connect` carried, validated.
pub(crate) struct Connect {
    pub min_protocol: u64,
    pub max_protocol: u64,
    pub role: String,
    pub scopes: Vec<String>,
    pub client: Client,
    /// `auth.token`: the gateway token, or (for a device) its device token.
    pub token: Option<String>,
    /// `auth.deviceToken`.
    pub device_token: Option<String>,
    /// `auth.bootstrapToken`.
    pub bootstrap_token: Option<String>,
    pub signed_token: String,
    pub device: Option<DeviceProof>,
}

/// A successful handshake: the session, a device token to hand over in `hello-ok.auth`, and what
/// admitted it (`hello-ok.auth.method`).
pub(crate) struct Admitted {
    pub session: Session,
    pub device_token: Option<Token>,
    pub method: &'static str,
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
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
            Ok(req) if req.method != Method::Connect.as_str() => (
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
            Ok(admitted) => self.hello(conn, &id, admitted),
            Err(Refusal(error, code, reason)) => {
                // A refusal that made a pending request reports it: durable first.
                self.respond(conn, &id, err_frame(&id, &error));
                self.close(conn, code, reason);
            }
        }
    }

    fn parse_connect(&self, params: Value) -> Result<Connect, ApiError> {
        let p = Params::lenient(Method::Connect.as_str(), params, &self.config.limits)?;
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
        let (token, device_token, bootstrap_token) = match p.nested("auth")? {
            None => (None, None, None),
            Some(a) => (
                non_empty(a.raw_str("token")?),
                non_empty(a.raw_str("deviceToken")?),
                non_empty(a.raw_str("bootstrapToken")?),
            ),
        };
        let signed_token = [&token, &device_token, &bootstrap_token]
            .into_iter()
            .flatten()
            .next()
            .cloned()
            .unwrap_or_default();
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
            device_token,
            bootstrap_token,
            signed_token,
            device,
        })
    }

    fn admit(&mut self, conn: ConnId, params: Value) -> Result<Admitted, Refusal> {
        let c = self.parse_connect(params).map_err(Refusal::invalid)?;
        let Some(protocol) = negotiate(c.min_protocol, c.max_protocol) else {
            return Err(Refusal(
                ApiError::invalid("protocol mismatch").with_details(json!({
                    "code": DetailCode::ProtocolMismatch,
                    "expectedProtocol": SUPPORTED_PROTOCOLS[SUPPORTED_PROTOCOLS.len() - 1],
                    "supported": SUPPORTED_PROTOCOLS,
                })),
                1002,
                "protocol mismatch".into(),
            ));
        };
        let now = self.now;
        let session = |role, client| Session {
            role,
            client,
            connected_at: now,
            protocol,
        };
        match c.role.as_str() {
            "operator" => {
                let error = |message: &str, code: DetailCode| {
                    Refusal(
                        ApiError::new(ErrorCode::Unauthorized, message)
                            .with_details(json!({ "code": code })),
                        1008,
                        "unauthorized".into(),
                    )
                };
                match &c.token {
                    None => {
                        return Err(error(
                            "unauthorized: gateway token missing",
                            DetailCode::AuthTokenMissing,
                        ));
                    }
                    Some(t) if self.is_retired_operator_token(t) => {
                        return Err(Refusal(
                            ApiError::new(
                                ErrorCode::Unauthorized,
                                crate::operator::ROTATED_MESSAGE,
                            )
                            .with_details(json!({
                                "code": DetailCode::AuthTokenMismatch,
                                "reason": "token-rotated",
                            })),
                            crate::operator::ROTATED_CLOSE_CODE,
                            "the operator token was rotated".into(),
                        ));
                    }
                    Some(t) if !self.config.gateway_token.matches(t) => {
                        return Err(error(
                            "unauthorized: gateway token mismatch",
                            DetailCode::AuthTokenMismatch,
                        ));
                    }
                    Some(_) => {}
                }
                let role = Role::Operator {
                    scopes: Scopes::parse(c.scopes.iter().map(String::as_str)),
                };
                Ok(Admitted {
                    session: session(role, c.client),
                    device_token: None,
                    method: "token",
                })
            }
            "node" => {
                self.node_room(conn)?;
                let Some(device) = &c.device else {
                    return Err(Refusal::invalid(
                        ApiError::invalid("device identity required")
                            .with_details(json!({ "code": DetailCode::DeviceIdentityRequired })),
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
                let raw_key = verify(
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
                let device_id = NodeId(device.id.to_ascii_lowercase());
                // One canonical form for a key, however the client encoded it.
                let public_key = URL_SAFE_NO_PAD.encode(raw_key);
                if c.token.is_none() && c.device_token.is_none() && c.bootstrap_token.is_none() {
                    let role = Role::Node {
                        device_id,
                        public_key,
                        admission: Admission::Explicit,
                    };
                    return Ok(Admitted {
                        session: session(role, c.client),
                        device_token: None,
                        method: "device",
                    });
                }
                // What the gateway decides for the device now (a request made for it, an approval by
                // `--auto-approve-local`) is audited as asked by this connection.
                let by = Actor::Conn {
                    role: "node",
                    client_id: c.client.id.clone(),
                    conn_id: conn,
                    remote_ip: self
                        .conns
                        .get(&conn)
                        .map(|x| x.ip_text.clone())
                        .unwrap_or_default(),
                };
                let (admission, device_token, method) =
                    self.admit_device(&by, conn, &c, protocol, &device_id, &public_key)?;
                let role = Role::Node {
                    device_id,
                    public_key,
                    admission,
                };
                Ok(Admitted {
                    session: session(role, c.client),
                    device_token,
                    method,
                })
            }
            _ => Err(Refusal::invalid(ApiError::invalid("invalid role"))),
        }
    }

    /// Whether a node connection fits the caps on node connections (from this connection's IP, and
    /// in total): `RATE_LIMITED` beyond, before any proof is checked or any request made. The caps
    /// apply when the role is decided, so operators (who hold the gateway token) keep their room.
    fn node_room(&self, conn: ConnId) -> Result<(), Refusal> {
        let limits = &self.config.limits;
        let ip = self.conns.get(&conn).map(|c| c.ip);
        let here = ip
            .and_then(|ip| self.node_conns.0.get(&ip))
            .copied()
            .unwrap_or(0);
        let message = if here >= limits.max_nodes_per_ip {
            "too many node connections from your address; close some and retry"
        } else if self.node_conns.1 >= limits.max_nodes {
            "the gateway holds as many node connections as it takes; retry later"
        } else {
            return Ok(());
        };
        Err(Refusal(
            ApiError::rate_limited(message, 5_000),
            1008,
            "too many node connections".into(),
        ))
    }

    /// Whether `conn` finished its handshake (the host lifts its pre-handshake limits then). False
    /// for a connection that is unknown or was closed.
    pub fn is_admitted(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| c.session.is_some())
    }

    fn hello(&mut self, conn: ConnId, id: &str, admitted: Admitted) {
        let Admitted {
            session,
            device_token,
            method,
        } = admitted;
        let node = match &session.role {
            Role::Node {
                device_id,
                public_key,
                ..
            } => Some((device_id.clone(), public_key.clone())),
            Role::Operator { .. } => None,
        };
        let conn_id = self.rng.uuid();
        let (methods, events): (&'static [Method], &'static [Event]) = if node.is_some() {
            (&Method::NODE, &Event::NODE)
        } else {
            (&Method::OPERATOR, &Event::OPERATOR)
        };
        let mut auth = match &session.role {
            Role::Operator { scopes } => HelloAuth {
                method: Some(method.into()),
                role: "operator".into(),
                scopes: scopes.names().map(str::to_owned).collect(),
                ..HelloAuth::default()
            },
            Role::Node { .. } => HelloAuth {
                method: Some(method.into()),
                role: "node".into(),
                ..HelloAuth::default()
            },
        };
        if let Some(t) = &device_token {
            auth.device_token = Some(t.expose().to_owned());
            auth.issued_at_ms = Some(self.now);
        }
        let hello = HelloOk {
            ty: "hello-ok",
            protocol: session.protocol,
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
            auth: &auth,
        };
        let text = ok_frame(id, &hello);
        if let Some(t) = auth.device_token.as_mut() {
            zeroize::Zeroize::zeroize(t);
        }
        drop(device_token);
        let kind = if self.state.is_dirty() {
            Kind::Hello(id.to_owned())
        } else {
            Kind::Plain
        };
        self.emit(conn, text, kind);
        self.finish_handshake(conn, session);
        if let Some((device_id, public_key)) = node {
            self.deliver_mail(conn, &device_id, &public_key);
        }
    }
}

#[cfg(test)]
mod tests;
