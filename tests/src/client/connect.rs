//! The `connect` a test client sends, built with the core's [`ConnectParams`]: an operator with the
//! gateway token, a node proving its key, an OpenClaw node host, an operator proving a device like
//! the OpenClaw CLI; and the answer read back typed ([`HelloOk`], [`PairingRequired`]).

use super::{Client, Reply};
use anyhow::bail;
use pairing_core::Method;
use pairing_core::proof::{self, SignedFields};
use pairing_core::protocol::{ClientInfo, ConnectParams, HelloAuth, HelloOk, PairingRequired};
use pairing_core::wire::Incoming;
use serde_json::Value;

/// The `connect` params of an operator that proves a device identity the way the OpenClaw CLI does:
/// client id `cli`, mode `cli`, a v3 `device` block signed with `key` over role `operator`, `scopes`,
/// `token` and the challenge's `nonce`. OpenClaw clears the scopes of an operator without one; our
/// gateway accepts and ignores it.
pub fn operator_device_params(
    token: &str,
    scopes: &[&str],
    key: &[u8; 32],
    nonce: &str,
) -> ConnectParams {
    let scopes_owned: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    let fields = SignedFields {
        client_id: "cli",
        client_mode: "cli",
        role: "operator",
        scopes: &scopes_owned,
        token,
        platform: "linux",
        device_family: "",
    };
    let p = proof::sign(key, &fields, pairing_host::driver::now_ms(), nonce);
    ConnectParams {
        device: Some(p.into()),
        ..ConnectParams::operator(token, ClientInfo::new("cli", "cli", "1", "linux"), scopes)
    }
}

/// The `connect` params of a node of this project (client id `node-host`, mode `node`, named
/// `name`) proving the Ed25519 secret `key` over the challenge `nonce`, presenting `token` (signed
/// too) when it is not empty. It declares no caps or commands (the fields are left out).
pub fn node_params(key: &[u8; 32], name: &str, nonce: &str, token: &str) -> ConnectParams {
    let fields = SignedFields {
        token,
        ..SignedFields::node("node-host", "node", "linux", "")
    };
    let p = proof::sign(key, &fields, pairing_host::driver::now_ms(), nonce);
    let client = ClientInfo::new("node-host", "node", "1", "linux").named(name);
    let params = ConnectParams {
        caps: None,
        commands: None,
        ..ConnectParams::node(client, p.into())
    };
    if token.is_empty() {
        params
    } else {
        params.with_token(token)
    }
}

/// How an OpenClaw node host (`openclaw node run`, 2026.4 and later) connects: role `node`, the shared
/// gateway token as `auth.token`, and a v3 device proof whose signed token is that same `auth.token`;
/// client id `node-host`, mode `node`. It never calls `node.pair.request`: device pairing decides at
/// `connect` (SPEC §11).
#[derive(Clone, Copy, Debug)]
pub struct NodeHost<'a> {
    /// `auth.token`: the gateway token (or, as OpenClaw 2026.4 does, a device token).
    pub token: &'a str,
    /// `minProtocol` = `maxProtocol`: 4 for OpenClaw 2026.5 and later, 3 for 2026.4 and earlier.
    pub protocol: u64,
    /// `client.displayName`.
    pub display_name: &'a str,
    /// `commands` it declares.
    pub commands: &'a [&'a str],
}

impl NodeHost<'_> {
    /// The `connect` params, signed with the Ed25519 secret `key` over the challenge `nonce`.
    pub fn params(&self, key: &[u8; 32], nonce: &str) -> ConnectParams {
        let fields = SignedFields {
            token: self.token,
            ..SignedFields::node("node-host", "node", "linux", "")
        };
        let p = proof::sign(key, &fields, pairing_host::driver::now_ms(), nonce);
        let client =
            ClientInfo::new("node-host", "node", "2026.9.6", "linux").named(self.display_name);
        ConnectParams::node(client, p.into())
            .protocol(self.protocol)
            .declaring(&[], self.commands)
            .with_token(self.token)
    }
}

/// The hex device id of the Ed25519 secret `key`: SHA-256 of its public key.
pub fn device_id(key: &[u8; 32]) -> String {
    proof::device_id(key)
}

/// `hello-ok.auth` of a connect answer that admitted the connection.
pub fn hello_auth(answer: &Value) -> anyhow::Result<HelloAuth> {
    let hello: HelloOk = match serde_json::from_value::<Incoming>(answer.clone())? {
        Incoming::Response {
            ok: true, payload, ..
        } => serde_json::from_value(payload)?,
        _ => bail!("connect was refused: {answer}"),
    };
    Ok(hello.auth)
}

/// `error.details` of a connect answer refused because the device is not paired (yet).
pub fn pairing_required(answer: &Value) -> anyhow::Result<PairingRequired> {
    match serde_json::from_value::<Incoming>(answer.clone())? {
        Incoming::Response {
            ok: false,
            error: Some(e),
            ..
        } => Ok(serde_json::from_value(e.details.unwrap_or_default())?),
        _ => bail!("connect was admitted: {answer}"),
    }
}

impl Client {
    /// Sends `connect` with `params`: `hello-ok`, or the gateway's refusal (after which it closes the
    /// socket).
    pub async fn connect(&mut self, params: &ConnectParams) -> anyhow::Result<Reply<HelloOk>> {
        self.reply(Method::Connect, params).await
    }

    /// Opens a socket and connects as an OpenClaw node host ([`NodeHost`]) with the Ed25519 secret
    /// `key`. Returns the client and the whole `connect` answer: `hello-ok`, or a refusal (read it
    /// with [`pairing_required`]), after which the gateway closes the socket.
    pub async fn node_host(
        url: &str,
        key: &[u8; 32],
        host: &NodeHost<'_>,
    ) -> anyhow::Result<(Client, Value)> {
        let mut c = Self::open(url).await?;
        let params = host.params(key, &c.nonce);
        let answer = c.request(Method::Connect.as_str(), &params).await?;
        Ok((c, answer))
    }

    /// Opens a socket and connects as an operator with `scopes`.
    pub async fn operator(url: &str, token: &str, scopes: &[&str]) -> anyhow::Result<Client> {
        Self::open(url).await?.into_operator(token, scopes).await
    }

    /// Like [`Client::operator`], from a chosen local address.
    pub async fn operator_from(
        url: &str,
        local: std::net::IpAddr,
        token: &str,
        scopes: &[&str],
    ) -> anyhow::Result<Client> {
        Self::open_from(url, local)
            .await?
            .into_operator(token, scopes)
            .await
    }

    /// Like [`Client::node`], from a chosen local address.
    pub async fn node_from(
        url: &str,
        local: std::net::IpAddr,
        key: &[u8; 32],
        name: &str,
    ) -> anyhow::Result<Client> {
        Self::open_from(url, local)
            .await?
            .into_node(key, name)
            .await
    }

    /// Finishes the handshake of an opened socket as an operator with `scopes`.
    pub async fn into_operator(mut self, token: &str, scopes: &[&str]) -> anyhow::Result<Client> {
        let client = ClientInfo::new("test", "test", "1", "linux");
        let params = ConnectParams::operator(token, client, scopes);
        if let Err(e) = self.connect(&params).await? {
            bail!("operator connect failed: {e}");
        }
        Ok(self)
    }

    /// Opens a socket and connects as the node whose Ed25519 secret key is `key`.
    pub async fn node(url: &str, key: &[u8; 32], name: &str) -> anyhow::Result<Client> {
        Self::open(url).await?.into_node(key, name).await
    }

    async fn into_node(mut self, key: &[u8; 32], name: &str) -> anyhow::Result<Client> {
        let params = node_params(key, name, &self.nonce, "");
        if let Err(e) = self.connect(&params).await? {
            bail!("node connect failed: {e}");
        }
        Ok(self)
    }
}
