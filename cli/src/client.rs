//! A small WebSocket RPC client for the gateway protocol v3: the `connect.challenge` handshake as an
//! operator or as a node (with its Ed25519 device proof), request/response calls, and events.
//!
//! Events that arrive while a call waits for its response are queued, in order, for
//! [`Client::next_event`], so nothing the gateway sends is lost between calls.

use crate::endpoint::GatewayUrl;
use anyhow::{Context, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use pairing_core::Event as EventName;
use pairing_core::Method;
use pairing_core::protocol::{ApiError, Challenge, ErrorCode};
use pairing_core::wire::{self, Incoming};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// Scopes the CLI asks for as an operator.
pub(crate) const OPERATOR_SCOPES: [&str; 4] = [
    "operator.admin",
    "operator.read",
    "operator.write",
    "operator.pairing",
];

/// An error response from the gateway (the core's [`ApiError`]), as the CLI shows it: the message,
/// then `details.reason` when the message does not say it already.
#[derive(Clone, Debug)]
pub(crate) struct GatewayError(pub ApiError);

impl GatewayError {
    /// `details.reason`, if present.
    pub(crate) fn reason(&self) -> Option<String> {
        self.0.reason()
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = if self.0.message.is_empty() {
            "(no message)"
        } else {
            &self.0.message
        };
        f.write_str(message)?;
        match self.reason() {
            Some(r) if !message.contains(r.as_str()) => write!(f, " (reason: {r})"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for GatewayError {}

/// The gateway refused this client's token at `connect` (`UNAUTHORIZED`): the operator token, or a
/// node's credentials. Callers tell it apart by type, never by its text.
#[derive(Clone, Debug)]
pub(crate) struct TokenRefused {
    /// The URL dialled.
    pub url: String,
    /// The gateway's error.
    pub error: GatewayError,
}

impl fmt::Display for TokenRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the gateway at {} refused the token: {} (check --token, OPENCLAW_GATEWAY_TOKEN or \
             <state>/openclaw.json)",
            self.url, self.error
        )
    }
}

impl std::error::Error for TokenRefused {}

/// Why the CLI did not send the operator token: the other end is not the gateway that knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NotTheGateway {
    /// Nothing listens there (the connection was refused).
    NotListening(String),
    /// Something answered but did not prove it knows the token ([`pairing_core::challenge`]).
    Unproven(String),
    /// The gateway proved it knows the token as one rotated away.
    Rotated(String),
}

impl fmt::Display for NotTheGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotTheGateway::NotListening(at) => write!(
                f,
                "nothing listens on {at} — is the gateway running? (start it with `openclaw gateway`)"
            ),
            NotTheGateway::Unproven(at) => write!(
                f,
                "the process on {at} does not know the gateway token, so the token was not sent — is \
                 the gateway running? (start it with `openclaw gateway`; if it runs, this token is not \
                 its own: check --token, OPENCLAW_GATEWAY_TOKEN or <state>/openclaw.json)"
            ),
            NotTheGateway::Rotated(at) => write!(
                f,
                "the operator token was rotated; the gateway on {at} no longer accepts this one (it \
                 was not sent): use the new token — the CLI on the gateway's machine reads it from \
                 <state>/openclaw.json, and `openclaw gateway rotate-token` printed the new link"
            ),
        }
    }
}

impl std::error::Error for NotTheGateway {}

/// `HOST:PORT` of a `ws://` or `wss://` URL, for messages (the URL itself when it does not parse).
fn authority(url: &str) -> String {
    url.parse::<tokio_tungstenite::tungstenite::http::Uri>()
        .ok()
        .and_then(|u| {
            let host = u.host()?.to_owned();
            let port = u.port_u16().unwrap_or(if u.scheme_str() == Some("wss") {
                443
            } else {
                80
            });
            Some(format!("{host}:{port}"))
        })
        .unwrap_or_else(|| url.to_owned())
}

/// An event frame.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Event {
    /// The event name (`node.pair.requested`, …).
    pub event: String,
    /// The payload (null when absent).
    pub payload: Value,
    /// The broadcast sequence number; targeted events have none.
    pub seq: Option<u64>,
}

impl Event {
    /// The payload read as the record `T` (`None` when it has another shape).
    pub(crate) fn payload_as<T: DeserializeOwned>(&self) -> Option<T> {
        T::deserialize(&self.payload).ok()
    }

    /// The event as one JSON object, for NDJSON output: the gateway's event frame (core `wire`).
    pub(crate) fn to_json(&self) -> Value {
        let frame = wire::event_frame(&self.event, &self.payload, self.seq);
        serde_json::from_str(&frame).unwrap_or_default()
    }
}

/// Reads a payload the gateway sent (kept as sent for `--json`) as the record `T`.
pub(crate) fn read<T: DeserializeOwned>(v: &Value) -> anyhow::Result<T> {
    T::deserialize(v).context("the gateway's answer did not read as expected")
}

/// A connected, handshaken gateway connection.
pub(crate) struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    events: VecDeque<Event>,
    timeout: Duration,
    url: String,
    /// The `hello-ok` payload of the handshake.
    hello: Value,
}

/// One frame read from the socket.
enum Frame {
    Response {
        id: String,
        result: Result<Value, ApiError>,
    },
    Event(Event),
}

impl Client {
    /// Dials `url` (over TLS for `wss://`, trusting what [`GatewayUrl::trust`] says), waits
    /// for `connect.challenge`, and completes `connect` as `role`. Every step is bounded by
    /// `timeout_ms`.
    pub(crate) async fn connect(
        gateway: &GatewayUrl,
        role: Role<'_>,
        timeout_ms: u64,
    ) -> anyhow::Result<Client> {
        let url = gateway.url.as_str();
        let timeout = Duration::from_millis(timeout_ms.max(1));
        let connector = if gateway.tls {
            Connector::Rustls(crate::tls::client_config(&gateway.trust)?)
        } else {
            Connector::Plain
        };
        // An operator sends a fresh nonce with the upgrade: the gateway's challenge must prove, over
        // it, that the gateway knows the token before the token is sent (pairing_core::challenge).
        let client_nonce = match &role {
            Role::Operator { .. } => Some(fresh_nonce()?),
            Role::Node { .. } | Role::Enrolling { .. } => None,
        };
        let mut request = url
            .into_client_request()
            .with_context(|| format!("{url} is not a WebSocket URL"))?;
        if let Some(n) = &client_nonce {
            request.headers_mut().insert(
                pairing_core::challenge::CLIENT_NONCE_HEADER,
                n.parse().expect("base64url is a valid header value"),
            );
        }
        let dial =
            tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(connector));
        let (ws, _) = tokio::time::timeout(timeout, dial)
            .await
            .map_err(|_| anyhow!("cannot connect to {url}: no answer within {timeout_ms} ms"))?
            .map_err(|e| {
                if let tokio_tungstenite::tungstenite::Error::Io(io) = &e
                    && io.kind() == std::io::ErrorKind::ConnectionRefused
                {
                    return anyhow::Error::new(NotTheGateway::NotListening(authority(url)));
                }
                match crate::tls::explain(&e, url) {
                    Some(line) => anyhow!(line),
                    None => {
                        anyhow!("cannot connect to {url}: {e} (is `openclaw gateway` running?)")
                    }
                }
            })?;
        let mut client = Client {
            ws,
            next_id: 0,
            events: VecDeque::new(),
            timeout,
            url: url.to_owned(),
            hello: Value::Null,
        };
        let challenge = client.challenge().await?;
        let nonce = Challenge::deserialize(&challenge)
            .map(|c| c.nonce)
            .context("connect.challenge carried no nonce")?;
        if let (Role::Operator { token }, Some(mine)) = (&role, &client_nonce) {
            use pairing_core::challenge::{Verdict, check};
            match check(&challenge, token, mine) {
                Verdict::Current => {}
                Verdict::Rotated => return Err(NotTheGateway::Rotated(authority(url)).into()),
                Verdict::Unproven => return Err(NotTheGateway::Unproven(authority(url)).into()),
            }
        }
        let params = connect_params(&role, &nonce);
        let enrolling = matches!(role, Role::Enrolling { .. });
        client.hello = client
            .call(Method::Connect, params)
            .await
            .map_err(|e| match e.downcast_ref::<GatewayError>() {
                Some(g) if enrolling => {
                    anyhow!(
                        "the gateway at {url} refused the setup code: {}",
                        g.0.message
                    )
                }
                Some(g) if g.0.code == ErrorCode::Unauthorized => {
                    anyhow::Error::new(TokenRefused {
                        url: url.to_owned(),
                        error: g.clone(),
                    })
                }
                _ => e.context(format!("the gateway at {url} refused the connection")),
            })?;
        Ok(client)
    }

    /// Waits for the `connect.challenge` event and returns its payload.
    async fn challenge(&mut self) -> anyhow::Result<Value> {
        loop {
            match self.read().await? {
                Frame::Event(e) if e.event == EventName::ConnectChallenge.as_str() => {
                    return Ok(e.payload);
                }
                _ => continue,
            }
        }
    }

    /// What `hello-ok.auth` says the connection was admitted as (a device token handed over, if any).
    pub(crate) fn hello_auth(&self) -> anyhow::Result<pairing_core::protocol::HelloAuth> {
        read(&self.hello["auth"])
    }

    /// The URL this client dialled.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method` and returns the response payload as sent, or the gateway's error as a
    /// [`GatewayError`].
    pub(crate) async fn call<P: Serialize>(
        &mut self,
        method: Method,
        params: P,
    ) -> anyhow::Result<Value> {
        self.next_id += 1;
        let id = self.next_id.to_string();
        let frame = wire::request_frame(&id, method.as_str(), &params);
        self.ws
            .send(Message::text(frame))
            .await
            .with_context(|| format!("sending {method} to {}", self.url))?;
        loop {
            match self
                .read()
                .await
                .with_context(|| format!("waiting for the answer to {method}"))?
            {
                Frame::Response { id: got, result } if got == id => {
                    return result.map_err(|e| GatewayError(e).into());
                }
                Frame::Response { .. } => continue,
                Frame::Event(e) => self.events.push_back(e),
            }
        }
    }

    /// [`Client::call`], the payload read as the record `T`.
    pub(crate) async fn call_as<T: DeserializeOwned, P: Serialize>(
        &mut self,
        method: Method,
        params: P,
    ) -> anyhow::Result<T> {
        let v = self.call(method, params).await?;
        T::deserialize(&v).with_context(|| format!("the gateway's answer to {method} did not read"))
    }

    /// The next event: a queued one first, else the next one from the socket (waiting as long as it
    /// takes). `Err` when the connection closes.
    pub(crate) async fn next_event(&mut self) -> anyhow::Result<Event> {
        if let Some(e) = self.events.pop_front() {
            return Ok(e);
        }
        loop {
            if let Frame::Event(e) = self.read_frame().await? {
                return Ok(e);
            }
        }
    }

    /// An event already received (while a call waited), if any; never reads the socket.
    pub(crate) fn take_queued(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Reads one frame, bounded by the call timeout.
    async fn read(&mut self) -> anyhow::Result<Frame> {
        let ms = self.timeout.as_millis();
        tokio::time::timeout(self.timeout, self.read_frame())
            .await
            .map_err(|_| anyhow!("the gateway at {} did not answer within {ms} ms", self.url))?
    }

    /// Reads the next protocol frame, skipping pings and frames that are not JSON objects.
    async fn read_frame(&mut self) -> anyhow::Result<Frame> {
        loop {
            let msg = match self.ws.next().await {
                None => bail!("the gateway closed the connection"),
                Some(Err(e)) => bail!("connection to the gateway lost: {e}"),
                Some(Ok(m)) => m,
            };
            let text = match msg {
                Message::Text(t) => t.to_string(),
                Message::Close(frame) => match frame {
                    Some(f) if !f.reason.is_empty() => {
                        bail!(
                            "the gateway closed the connection ({}: {})",
                            u16::from(f.code),
                            f.reason
                        )
                    }
                    Some(f) => bail!("the gateway closed the connection ({})", u16::from(f.code)),
                    None => bail!("the gateway closed the connection"),
                },
                _ => continue,
            };
            match Incoming::parse(&text) {
                Some(Incoming::Response {
                    id,
                    ok,
                    payload,
                    error,
                }) => {
                    let result = if ok {
                        Ok(payload)
                    } else {
                        Err(error.unwrap_or_else(|| ApiError::new(ErrorCode::Unknown, "")))
                    };
                    return Ok(Frame::Response { id, result });
                }
                Some(Incoming::Event {
                    event,
                    payload,
                    seq,
                }) => {
                    return Ok(Frame::Event(Event {
                        event,
                        payload,
                        seq,
                    }));
                }
                None => tracing::debug!("ignoring a frame that is not a response or an event"),
            }
        }
    }

    /// Closes the connection politely; errors are irrelevant at that point.
    pub(crate) async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_millis(500), self.ws.close(None)).await;
    }
}

/// Reconnect delays by the core's one rule ([`pairing_core::resync::Backoff`]: 0.5 s doubling to
/// 10 s, plus up to 20 % jitter), with the jitter drawn from the OS.
#[derive(Debug, Default)]
pub(crate) struct Backoff(pairing_core::resync::Backoff);

impl Backoff {
    /// The delay before the next attempt.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let mut r = [0u8; 2];
        let random = match getrandom::fill(&mut r) {
            Ok(()) => u16::from_le_bytes(r),
            Err(_) => 0,
        };
        Duration::from_millis(self.0.next_delay(random))
    }

    /// Starts over after a connection that worked.
    pub(crate) fn reset(&mut self) {
        self.0.reset();
    }
}

/// A client nonce for the challenge's proof: 32 bytes from the OS, base64url.
fn fresh_nonce() -> anyhow::Result<String> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("OS random source failed: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

mod role;

pub(crate) use role::Role;
use role::connect_params;

#[cfg(test)]
mod tests;
