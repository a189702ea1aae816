//! A minimal protocol client over a real WebSocket, for end-to-end tests and the load generator.

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use pairing_core::proof::{self, SignedFields};
use pairing_core::protocol::{HelloAuth, PairingRequired};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single wait may take before the test fails instead of hanging.
pub const WAIT: Duration = Duration::from_secs(10);

/// A connected client that has finished (or tried) the handshake.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Events received while waiting for responses.
    pub events: VecDeque<Value>,
    /// The `connect.challenge` nonce.
    pub nonce: String,
}

/// The `connect` params of an operator that proves a device identity the way the OpenClaw CLI does:
/// client id `cli`, mode `cli`, a v3 `device` block signed with `key` over role `operator`, `scopes`,
/// `token` and the challenge's `nonce`. OpenClaw clears the scopes of an operator without one; our
/// gateway accepts and ignores it.
pub fn operator_device_params(token: &str, scopes: &[&str], key: &[u8; 32], nonce: &str) -> Value {
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
    json!({"minProtocol":3,"maxProtocol":3,"role":"operator","scopes":scopes,
        "client":{"id":"cli","version":"1","platform":"linux","mode":"cli"},
        "auth":{"token":token},
        "device":{"id":p.id,"publicKey":p.public_key,"signature":p.signature,"signedAt":p.signed_at,"nonce":p.nonce}})
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
    pub fn params(&self, key: &[u8; 32], nonce: &str) -> Value {
        let fields = SignedFields {
            token: self.token,
            ..SignedFields::node("node-host", "node", "linux", "")
        };
        let p = proof::sign(key, &fields, pairing_host::driver::now_ms(), nonce);
        json!({"minProtocol":self.protocol,"maxProtocol":self.protocol,"role":"node","scopes":[],
            "client":{"id":"node-host","version":"2026.9.6","platform":"linux","mode":"node",
                "displayName":self.display_name},
            "caps":[],"commands":self.commands,
            "auth":{"token":self.token},
            "device":{"id":p.id,"publicKey":p.public_key,"signature":p.signature,"signedAt":p.signed_at,"nonce":p.nonce}})
    }
}

/// The hex device id of the Ed25519 secret `key`: SHA-256 of its public key.
pub fn device_id(key: &[u8; 32]) -> String {
    let public = ed25519_dalek::SigningKey::from_bytes(key)
        .verifying_key()
        .to_bytes();
    pairing_core::secret::sha256_hex(&public)
}

/// `hello-ok.auth` of a connect answer that admitted the connection.
pub fn hello_auth(answer: &Value) -> anyhow::Result<HelloAuth> {
    if answer["ok"] != true {
        bail!("connect was refused: {answer}");
    }
    Ok(serde_json::from_value(answer["payload"]["auth"].clone())?)
}

/// `error.details` of a connect answer refused because the device is not paired (yet).
pub fn pairing_required(answer: &Value) -> anyhow::Result<PairingRequired> {
    if answer["ok"] != false {
        bail!("connect was admitted: {answer}");
    }
    Ok(serde_json::from_value(answer["error"]["details"].clone())?)
}

impl Client {
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
        let answer = c.request("connect", params).await?;
        Ok((c, answer))
    }

    /// Opens a socket and reads the challenge.
    pub async fn open(url: &str) -> anyhow::Result<Client> {
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .context("connect timed out")??;
        Self::greeted(ws).await
    }

    /// Opens a socket from a chosen local address (e.g. 127.0.0.7, to look like another host) and
    /// reads the challenge.
    pub async fn open_from(url: &str, local: std::net::IpAddr) -> anyhow::Result<Client> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(std::net::SocketAddr::new(local, 0))?;
        Self::open_socket(url, socket).await
    }

    /// Opens a socket whose kernel receive buffer is fixed at about `bytes` (no autotuning), so that a
    /// client that stops reading soon pushes back on the gateway, and reads the challenge.
    pub async fn open_with_small_window(url: &str, bytes: u32) -> anyhow::Result<Client> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_recv_buffer_size(bytes)?;
        Self::open_socket(url, socket).await
    }

    /// Connects a prepared socket to the `ws://IP:PORT/` of `url`, upgrades it and reads the challenge.
    async fn open_socket(url: &str, socket: tokio::net::TcpSocket) -> anyhow::Result<Client> {
        let target = url
            .trim_start_matches("ws://")
            .trim_end_matches('/')
            .parse::<std::net::SocketAddr>()?;
        let stream = tokio::time::timeout(WAIT, socket.connect(target))
            .await
            .context("connect timed out")??;
        let (ws, _) = tokio::time::timeout(
            WAIT,
            tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)),
        )
        .await
        .context("upgrade timed out")??;
        Self::greeted(ws).await
    }

    async fn greeted(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> anyhow::Result<Client> {
        let mut c = Client {
            ws,
            next_id: 0,
            events: VecDeque::new(),
            nonce: String::new(),
        };
        let challenge = c.next_frame().await?;
        c.nonce = challenge["payload"]["nonce"]
            .as_str()
            .context("first frame is connect.challenge")?
            .to_owned();
        Ok(c)
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
        let c = &mut self;
        let hello = c
            .request(
                "connect",
                json!({"minProtocol":3,"maxProtocol":3,"role":"operator","scopes":scopes,
                    "client":{"id":"test","version":"1","platform":"linux","mode":"test"},
                    "auth":{"token":token}}),
            )
            .await?;
        if hello["ok"] != true {
            bail!("operator connect failed: {hello}");
        }
        Ok(self)
    }

    /// Opens a socket and connects as the node whose Ed25519 secret key is `key`.
    pub async fn node(url: &str, key: &[u8; 32], name: &str) -> anyhow::Result<Client> {
        Self::open(url).await?.into_node(key, name).await
    }

    async fn into_node(mut self, key: &[u8; 32], name: &str) -> anyhow::Result<Client> {
        let c = &mut self;
        let fields = SignedFields::node("node-host", "node", "linux", "");
        let now = pairing_host::driver::now_ms();
        let p = proof::sign(key, &fields, now, &c.nonce);
        let hello = c
            .request(
                "connect",
                json!({"minProtocol":3,"maxProtocol":3,"role":"node","scopes":[],
                    "client":{"id":"node-host","version":"1","platform":"linux","mode":"node","displayName":name},
                    "device":{"id":p.id,"publicKey":p.public_key,"signature":p.signature,"signedAt":p.signed_at,"nonce":p.nonce}}),
            )
            .await?;
        if hello["ok"] != true {
            bail!("node connect failed: {hello}");
        }
        Ok(self)
    }

    /// Reads the next frame (any kind).
    pub async fn next_frame(&mut self) -> anyhow::Result<Value> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .context("no frame within the wait")?
                .context("socket closed")??;
            match msg {
                Message::Text(t) => return Ok(serde_json::from_str(t.as_str())?),
                Message::Close(f) => bail!("closed: {f:?}"),
                _ => continue,
            }
        }
    }

    /// Sends a request and returns its whole response frame; events seen meanwhile are kept.
    pub async fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        self.next_id += 1;
        let id = self.next_id.to_string();
        let frame = json!({"type":"req","id":id,"method":method,"params":params});
        self.ws.send(Message::text(frame.to_string())).await?;
        loop {
            let f = self.next_frame().await?;
            if f["type"] == "res" && f["id"] == id.as_str() {
                return Ok(f);
            }
            self.events.push_back(f);
        }
    }

    /// Sends a request and returns its payload, failing on an error response.
    pub async fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let f = self.request(method, params).await?;
        if f["ok"] != true {
            bail!("{method} failed: {}", f["error"]);
        }
        Ok(f["payload"].clone())
    }

    /// Waits for an event named `name` (returning kept ones first).
    pub async fn event(&mut self, name: &str) -> anyhow::Result<Value> {
        if let Some(i) = self.events.iter().position(|e| e["event"] == name) {
            return Ok(self.events.remove(i).expect("index is valid"));
        }
        loop {
            let f = self.next_frame().await?;
            if f["event"] == name {
                return Ok(f);
            }
            self.events.push_back(f);
        }
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) -> anyhow::Result<()> {
        self.ws.send(Message::text(text.to_owned())).await?;
        Ok(())
    }

    /// Reads until the socket closes: the close frame's code and reason (`None` when it ended
    /// without one).
    pub async fn close_reason(&mut self) -> anyhow::Result<Option<(u16, String)>> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .context("no close within the wait")?
            {
                None | Some(Err(_)) => return Ok(None),
                Some(Ok(Message::Close(f))) => {
                    return Ok(f.map(|f| (u16::from(f.code), f.reason.to_string())));
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Waits for the socket to close and returns the close code.
    pub async fn closed(&mut self) -> anyhow::Result<Option<u16>> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .context("no close within the wait")?
            {
                None => return Ok(None),
                Some(Err(_)) => return Ok(None),
                Some(Ok(Message::Close(f))) => return Ok(f.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
            }
        }
    }
}
