//! A minimal WebSocket client for the load generator.

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;
use tokio::net::{TcpSocket, TcpStream};

/// The gateway answered the WebSocket upgrade with this HTTP status instead of 101 (ours answers 503
/// when too many connections from one address are in the handshake).
#[derive(Debug)]
pub(crate) struct UpgradeRefused(pub u16, pub String);

impl std::fmt::Display for UpgradeRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebSocket upgrade refused: {}", self.1)
    }
}

impl std::error::Error for UpgradeRefused {}

/// Whether `e` is an upgrade refused with HTTP 503.
pub(crate) fn is_503(e: &anyhow::Error) -> bool {
    e.downcast_ref::<UpgradeRefused>()
        .is_some_and(|r| r.0 == 503)
}

/// A minimal WebSocket client (RFC 6455, plain `ws://`, no extensions) for the load generator's
/// operators. It reads frames straight out of one buffer: a broadcast event it does not need costs a
/// header parse and a prefix check, no allocation, no UTF-8 check, no per-message waker bookkeeping
/// (a general client spends several times that per frame, and at C=256 every flow sends 512 events
/// to this process, which shares the machine's cores with the gateway). Fragmented messages are
/// refused: neither gateway sends them.
pub(crate) struct RawSocket {
    tcp: TcpStream,
    pub buf: Vec<u8>,
    start: usize,
    end: usize,
    mask: u64,
}

impl RawSocket {
    pub(crate) async fn connect(url: &str) -> anyhow::Result<RawSocket> {
        let (authority, path) = split_url(url)?;
        let tcp = TcpStream::connect(authority).await?;
        Self::upgrade(tcp, authority, path, 64 * 1024).await
    }

    /// Like [`RawSocket::connect`], from the local address `local` (any port), with a read buffer of
    /// `buf` bytes to start with (it grows for a larger message). A refused upgrade is an
    /// [`UpgradeRefused`] error.
    pub(crate) async fn connect_from(
        url: &str,
        local: IpAddr,
        buf: usize,
    ) -> anyhow::Result<RawSocket> {
        let (authority, path) = split_url(url)?;
        let target: SocketAddr = authority
            .parse()
            .context("connect_from needs ws://IP:PORT/")?;
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(local, 0))?;
        let tcp = socket.connect(target).await?;
        Self::upgrade(tcp, authority, path, buf).await
    }

    async fn upgrade(
        tcp: TcpStream,
        authority: &str,
        path: &str,
        buf: usize,
    ) -> anyhow::Result<RawSocket> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        tcp.set_nodelay(true)?;
        let seed = Sha256::digest(format!("{:?}{authority}", Instant::now()).as_bytes());
        let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &seed[..16]);
        let mut ws = RawSocket {
            tcp,
            buf: vec![0; buf.max(1024)],
            start: 0,
            end: 0,
            mask: u64::from_le_bytes(seed[16..24].try_into()?) | 1,
        };
        let request = format!(
            "GET /{path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        ws.tcp.write_all(request.as_bytes()).await?;
        let head_end = loop {
            if let Some(i) = ws.buf[..ws.end].windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            anyhow::ensure!(ws.end < ws.buf.len(), "HTTP answer too long");
            let n = ws.tcp.read(&mut ws.buf[ws.end..]).await?;
            anyhow::ensure!(n > 0, "closed during the WebSocket handshake");
            ws.end += n;
        };
        let head = String::from_utf8_lossy(&ws.buf[..head_end]);
        if !head.starts_with("HTTP/1.1 101") {
            let line = head.lines().next().unwrap_or("").to_owned();
            let status = line.split(' ').nth(1).and_then(|s| s.parse().ok());
            return Err(UpgradeRefused(status.unwrap_or(0), line).into());
        }
        ws.start = head_end;
        Ok(ws)
    }

    /// The next 4-byte masking key (xorshift; a client's keys need not be secret on loopback).
    fn next_mask(&mut self) -> [u8; 4] {
        self.mask ^= self.mask << 13;
        self.mask ^= self.mask >> 7;
        self.mask ^= self.mask << 17;
        (self.mask as u32).to_le_bytes()
    }

    pub(crate) async fn send_frame(&mut self, opcode: u8, payload: &[u8]) -> anyhow::Result<()> {
        use tokio::io::AsyncWriteExt;
        let mut frame = Vec::with_capacity(payload.len() + 14);
        frame.push(0x80 | opcode);
        match payload.len() {
            n @ 0..126 => frame.push(0x80 | n as u8),
            n @ 126..=65535 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = self.next_mask();
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.tcp.write_all(&frame).await?;
        Ok(())
    }

    pub(crate) async fn send_text(&mut self, text: &str) -> anyhow::Result<()> {
        self.send_frame(0x1, text.as_bytes()).await
    }

    /// Reads until `need` bytes from `start` are buffered (compacting or growing the buffer).
    async fn fill(&mut self, need: usize) -> anyhow::Result<()> {
        use tokio::io::AsyncReadExt;
        while self.end - self.start < need {
            if self.start + need > self.buf.len() {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                if need > self.buf.len() {
                    self.buf.resize(need.next_power_of_two(), 0);
                }
            }
            let n = self.tcp.read(&mut self.buf[self.end..]).await?;
            anyhow::ensure!(n > 0, "socket closed");
            self.end += n;
        }
        Ok(())
    }

    /// The payload of the next text (or binary) message, as a range of `self.buf` valid until the
    /// next call. Answers pings; a close frame is an error.
    pub(crate) async fn next_message(&mut self) -> anyhow::Result<std::ops::Range<usize>> {
        loop {
            self.fill(2).await?;
            let (b0, b1) = (self.buf[self.start], self.buf[self.start + 1]);
            anyhow::ensure!(b1 & 0x80 == 0, "the server masked a frame");
            let (len, header) = match b1 & 0x7f {
                126 => {
                    self.fill(4).await?;
                    let at = self.start + 2;
                    (
                        usize::from(u16::from_be_bytes([self.buf[at], self.buf[at + 1]])),
                        4,
                    )
                }
                127 => {
                    self.fill(10).await?;
                    let at = self.start + 2;
                    let len = u64::from_be_bytes(self.buf[at..at + 8].try_into()?);
                    (usize::try_from(len)?, 10)
                }
                n => (usize::from(n), 2),
            };
            self.fill(header + len).await?;
            let payload = self.start + header..self.start + header + len;
            self.start += header + len;
            anyhow::ensure!(b0 & 0x80 != 0, "fragmented messages are not supported");
            match b0 & 0x0f {
                0x1 | 0x2 => return Ok(payload),
                0x8 => {
                    let code = (len >= 2).then(|| {
                        u16::from_be_bytes([self.buf[payload.start], self.buf[payload.start + 1]])
                    });
                    bail!("closed: {code:?}")
                }
                0x9 => {
                    let ping = self.buf[payload].to_vec();
                    self.send_frame(0xA, &ping).await?;
                }
                _ => {}
            }
        }
    }
}

/// `ws://AUTHORITY/PATH` → (AUTHORITY, PATH).
fn split_url(url: &str) -> anyhow::Result<(&str, &str)> {
    let rest = url
        .strip_prefix("ws://")
        .context("the load generator connects with ws:// only")?;
    Ok(rest.split_once('/').unwrap_or((rest, "")))
}

/// Whether a text frame is an event, from its first bytes: our gateway and OpenClaw both serialise
/// `type` first. Anything else is parsed in full and judged by its `type` field.
pub(crate) fn looks_like_event(text: &[u8]) -> bool {
    text.starts_with(br#"{"type":"event""#)
}
