//! The handshake, both directions: `connect.challenge`, the `connect` request's params
//! ([`ConnectParams`], built in one place for every client) and `hello-ok`.

use super::PROTOCOL_VERSION;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The payload of `connect.challenge`, the first frame of every connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    /// The nonce a node signs in its device proof.
    pub nonce: String,
    /// The gateway's clock (ms since the epoch).
    pub ts: u64,
    /// Proof that the gateway knows the operator token, when the client sent a nonce with its upgrade
    /// (see the `challenge` module).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// The same proof for each retired operator token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rotated_proofs: Vec<String>,
}

/// The payload of `tick`: the gateway's clock, every `tickIntervalMs`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tick {
    /// The gateway's clock (ms since the epoch).
    pub ts: u64,
}

/// `connect.client`: who is connecting.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    /// `cli`, `openclaw-control-ui`, `node-host`, …
    pub id: String,
    /// The client's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `linux`, `web`, `ios`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// `cli`, `ui`, `node`.
    pub mode: String,
    /// A node's name for itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Device family (`iPad`); covered by a device proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    /// Model identifier (`iPad13,4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_identifier: Option<String>,
}

impl ClientInfo {
    /// A client block with `id`, `mode`, `version` and `platform`.
    pub fn new(id: &str, mode: &str, version: &str, platform: &str) -> Self {
        ClientInfo {
            id: id.to_owned(),
            mode: mode.to_owned(),
            version: Some(version.to_owned()),
            platform: Some(platform.to_owned()),
            ..ClientInfo::default()
        }
    }

    /// With `displayName`.
    pub fn named(mut self, display_name: &str) -> Self {
        self.display_name = Some(display_name.to_owned());
        self
    }
}

/// `connect.auth`: the credential a client presents.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectAuth {
    /// The gateway (operator) token, or a node's shared token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// A device token from an earlier `hello-ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// A bootstrap token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_token: Option<String>,
}

impl std::fmt::Debug for ConnectAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |t: &Option<String>| t.as_ref().map(|_| "<redacted>");
        f.debug_struct("ConnectAuth")
            .field("token", &shown(&self.token))
            .field("device_token", &shown(&self.device_token))
            .field("bootstrap_token", &shown(&self.bootstrap_token))
            .finish()
    }
}

/// `connect.device`: a node's proof that it holds its key (see [`crate::proof`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectDevice {
    /// The device id: hex SHA-256 of the public key.
    pub id: String,
    /// Raw Ed25519 public key, base64url.
    pub public_key: String,
    /// Signature over the v3 payload, base64url.
    pub signature: String,
    /// When the client signed (ms since the epoch).
    pub signed_at: u64,
    /// The challenge nonce signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

impl From<crate::proof::DeviceProof> for ConnectDevice {
    fn from(p: crate::proof::DeviceProof) -> Self {
        ConnectDevice {
            id: p.id,
            public_key: p.public_key,
            signature: p.signature,
            signed_at: p.signed_at,
            nonce: p.nonce,
        }
    }
}

/// The params of the `connect` request: every client builds them here, with the protocol range of
/// [`PROTOCOL_VERSION`] unless it asks for another ([`ConnectParams::protocol`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectParams {
    /// The oldest protocol version the client speaks.
    pub min_protocol: u64,
    /// The newest protocol version the client speaks.
    pub max_protocol: u64,
    /// Who is connecting.
    pub client: ClientInfo,
    /// `operator` or `node`.
    pub role: String,
    /// Scopes asked for (an operator's; none for a node).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Capabilities a node declares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caps: Option<Vec<String>>,
    /// Commands a node declares: approval grants these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<String>>,
    /// The credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<ConnectAuth>,
    /// A node's device proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<ConnectDevice>,
}

impl ConnectParams {
    /// An operator holding the gateway `token`, asking for `scopes`.
    pub fn operator(token: &str, client: ClientInfo, scopes: &[&str]) -> Self {
        ConnectParams {
            min_protocol: PROTOCOL_VERSION,
            max_protocol: PROTOCOL_VERSION,
            client,
            role: "operator".to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            caps: None,
            commands: None,
            auth: Some(ConnectAuth {
                token: Some(token.to_owned()),
                ..ConnectAuth::default()
            }),
            device: None,
        }
    }

    /// A node proving its key with `device` (signed over the challenge's nonce), declaring no caps or
    /// commands until [`ConnectParams::declaring`] says otherwise.
    pub fn node(client: ClientInfo, device: ConnectDevice) -> Self {
        ConnectParams {
            min_protocol: PROTOCOL_VERSION,
            max_protocol: PROTOCOL_VERSION,
            client,
            role: "node".to_owned(),
            scopes: Vec::new(),
            caps: Some(Vec::new()),
            commands: Some(Vec::new()),
            auth: None,
            device: Some(device),
        }
    }

    /// Speaks only protocol `version` (OpenClaw 2026.5 and later speak 4).
    pub fn protocol(mut self, version: u64) -> Self {
        self.min_protocol = version;
        self.max_protocol = version;
        self
    }

    /// Declares `caps` and `commands` (a node).
    pub fn declaring(mut self, caps: &[&str], commands: &[&str]) -> Self {
        let owned = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        self.caps = Some(owned(caps));
        self.commands = Some(owned(commands));
        self
    }

    /// Presents `auth.token` (a node's shared gateway token, as OpenClaw node hosts send).
    pub fn with_token(mut self, token: &str) -> Self {
        self.auth.get_or_insert_with(ConnectAuth::default).token = Some(token.to_owned());
        self
    }

    /// Presents `auth.bootstrapToken` (a setup code's or enrollment key's secret) and nothing else, as
    /// OpenClaw's `node run --pair` does; the device proof must sign it as its token.
    pub fn with_bootstrap_token(mut self, secret: &str) -> Self {
        self.auth = Some(ConnectAuth {
            bootstrap_token: Some(secret.to_owned()),
            ..ConnectAuth::default()
        });
        self
    }

    /// The params as a JSON value, for a request frame.
    pub fn to_value(&self) -> Value {
        // A struct of strings, numbers and lists always serialises.
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The payload of a successful `connect` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloOk {
    /// Always `hello-ok`.
    #[serde(rename = "type")]
    pub ty: String,
    /// The protocol version chosen.
    pub protocol: u64,
    /// The gateway.
    pub server: ServerInfo,
    /// What this connection may call and will hear.
    pub features: Features,
    /// Reserved (`{}`).
    #[serde(default)]
    pub snapshot: Value,
    /// Limits of this connection.
    pub policy: Policy,
    /// What the connection was admitted as.
    pub auth: HelloAuth,
}

/// `hello-ok.server`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    /// The gateway's version.
    pub version: String,
    /// This connection's id (`c1`).
    pub conn_id: String,
}

/// `hello-ok.features`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Features {
    /// Methods this connection may call.
    pub methods: Vec<String>,
    /// Events it may receive.
    pub events: Vec<String>,
}

/// `hello-ok.policy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// The largest frame accepted, in bytes.
    pub max_payload: usize,
    /// How much may wait unsent before the connection is closed.
    pub max_buffered_bytes: usize,
    /// How often `tick` comes.
    pub tick_interval_ms: u64,
}

/// `hello-ok.auth`: what the connection was admitted as, and a device token when one is issued now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloAuth {
    /// What admitted the connection: `token` (the gateway token), `device-token`, or `device` (a
    /// node's key alone, in the explicit flow of SPEC §3–§4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// `operator` or `node`.
    pub role: String,
    /// The scopes granted (none for a node).
    pub scopes: Vec<String>,
    /// A fresh device token, delivered once; only its hash is stored. Absent when the device already
    /// presented a working one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// When `deviceToken` was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at_ms: Option<u64>,
}

/// The result of `gateway.token.rotate`: the new operator token, delivered once to the operator who
/// asked (every other operator connection is closed as rotated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayTokenRotated<'a> {
    /// The new gateway token; never shown by `Debug`.
    pub token: crate::view::TokenText<'a>,
}
