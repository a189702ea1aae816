//! A minimal protocol client over a real WebSocket, for end-to-end tests and the load generator.
//!
//! Here the socket: opening it, frames in and out, events kept while a call waits. The `connect`
//! params every kind of client sends are in `client/connect.rs` (built from the core's
//! [`ConnectParams`](pairing_core::protocol::ConnectParams)); the typed calls and events, which
//! read the core's records and [`ApiError`](pairing_core::protocol::ApiError), in
//! `client/calls.rs` ([`Client::reply`] and the methods beside it). Under them is the untyped
//! [`Client::request`] (any method name, any serialisable params, the whole response frame as JSON),
//! for frames a test writes by hand (hostile or malformed ones).

mod calls;
mod connect;

pub use calls::{Reply, by_node, event};
pub use connect::{
    NodeHost, device_id, hello_auth, node_params, operator_device_params, pairing_required,
};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use pairing_core::protocol::Challenge;
use pairing_core::wire::Incoming;
use serde_json::Value;
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
    pub events: VecDeque<Incoming>,
    /// The `connect.challenge` nonce.
    pub nonce: String,
}

impl Client {
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
        let first = c.next_frame().await?;
        let challenge: Challenge = match serde_json::from_value::<Incoming>(first.clone()) {
            Ok(Incoming::Event { event, payload, .. })
                if event == pairing_core::Event::ConnectChallenge.as_str() =>
            {
                serde_json::from_value(payload)?
            }
            _ => bail!("first frame is connect.challenge, not {first}"),
        };
        c.nonce = challenge.nonce;
        Ok(c)
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

    /// Sends a request with `params` (any serialisable value) and returns its whole response frame,
    /// untyped; events seen meanwhile are kept. For frames a test judges as JSON (a hostile peer's);
    /// the typed calls are [`Client::reply`] and the methods beside it.
    pub async fn request(
        &mut self,
        method: &str,
        params: impl serde::Serialize,
    ) -> anyhow::Result<Value> {
        self.next_id += 1;
        let id = self.next_id.to_string();
        let frame = pairing_core::wire::request_frame(&id, method, &params);
        self.ws.send(Message::text(frame)).await?;
        loop {
            let f = self.next_frame().await?;
            match serde_json::from_value::<Incoming>(f.clone()) {
                Ok(Incoming::Response { id: ref got, .. }) if *got == id => return Ok(f),
                Ok(event @ Incoming::Event { .. }) => self.events.push_back(event),
                _ => {}
            }
        }
    }

    /// Waits for an event named `name` (returning kept ones first); other events are kept.
    pub async fn event(&mut self, name: &str) -> anyhow::Result<Incoming> {
        if let Some(i) = self.events.iter().position(|e| event::is(e, name)) {
            return Ok(self.events.remove(i).expect("index is valid"));
        }
        loop {
            let f = self.next_frame().await?;
            let Ok(e @ Incoming::Event { .. }) = serde_json::from_value::<Incoming>(f) else {
                continue;
            };
            if event::is(&e, name) {
                return Ok(e);
            }
            self.events.push_back(e);
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
