//! Hostile sockets against the real gateway binary (issue #14, items 2, 5 and 6): idle TCP, idle
//! WebSockets and partial frames held from 127.0.0.2…, handshakes in rounds, sockets that keep sending
//! after the gateway closed them, a foreign `Host`, a pipelining operator and one that stops reading.
//! Loopback only, bounded in count and time; no assertion on wall-clock time (the figures are printed).
//!
//! One file per kind of attack: [`floods`] (many sockets that never finish, partial frames,
//! lingering closes), [`admission`] (the Host check and the per-address caps) and [`operators`]
//! (a pipelining operator and one that stops reading); the raw-socket helpers they share are here.

mod admission;
mod floods;
mod operators;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The `k`-th attacker address: 127.0.0.2, 127.0.0.3, … (as the load generator's sources).
fn source(k: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x7f00_0002 + k as u32))
}

fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("ws://")
        .trim_end_matches('/')
        .parse()
        .expect("ws://IP:PORT/")
}

async fn tcp_from(ip: IpAddr, to: SocketAddr) -> anyhow::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::new(ip, 0))?;
    Ok(tokio::time::timeout(Duration::from_secs(10), s.connect(to)).await??)
}

/// Reads an HTTP answer head (up to the blank line).
async fn http_head(tcp: &mut TcpStream) -> anyhow::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut byte)).await??;
        if n == 0 {
            break;
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// A raw WebSocket upgrade with `Host: host`; returns the answer's head.
async fn upgrade(tcp: &mut TcpStream, host: &str) -> anyhow::Result<String> {
    let req = format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await?;
    http_head(tcp).await
}

/// The header of a masked client text frame of `len` payload bytes (mask 0: the payload is sent as is).
fn client_frame_header(len: u64) -> Vec<u8> {
    let mut h = vec![0x81, 0x80 | 127];
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0]);
    h
}

/// Reads server frames until a close frame (its code) or the end of the stream (`None`).
async fn close_code(tcp: &mut TcpStream) -> anyhow::Result<Option<u16>> {
    loop {
        let mut h = [0u8; 2];
        if tcp.read_exact(&mut h).await.is_err() {
            return Ok(None);
        }
        let len = match h[1] & 0x7f {
            126 => u64::from(tcp.read_u16().await?),
            127 => tcp.read_u64().await?,
            n => u64::from(n),
        };
        let mut payload = vec![0u8; len as usize];
        if tcp.read_exact(&mut payload).await.is_err() {
            return Ok(None);
        }
        if h[0] & 0x0f == 0x8 {
            return Ok(payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]])));
        }
    }
}

/// Whether the gateway closed its descriptor of `tcp` while this side keeps sending small, valid
/// frames: a write then fails (the peer's kernel answers with a reset). The end of the stream alone
/// (the gateway's FIN after its close frame) is not enough: a socket that is still read keeps its
/// descriptor.
async fn dropped_while_sending(tcp: &mut TcpStream, within: Duration) -> bool {
    // A masked (mask 0) binary frame of 8 bytes.
    let frame = [
        0x82, 0x88, 0, 0, 0, 0, b'k', b'e', b'e', b'p', b'i', b'n', b'g', b'!',
    ];
    let mut sink = vec![0u8; 64 * 1024];
    let end = Instant::now() + within;
    let (mut read, mut write) = tcp.split();
    let mut eof = false;
    while Instant::now() < end {
        if write.write_all(&frame).await.is_err() {
            return true;
        }
        tokio::select! {
            r = read.read(&mut sink), if !eof => match r {
                Ok(0) => eof = true,
                Err(_) => return true,
                Ok(_) => {}
            },
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    false
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// How many hostile sockets the flood holds: `HOSTILE_SOCKETS` (5 000 for the RELIABILITY.md
/// figure), else 1 200, within what this process may open.
fn flood_size() -> usize {
    let wanted = std::env::var("HOSTILE_SOCKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1200);
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))?
                .split_whitespace()
                .nth(3)?
                .parse::<usize>()
                .ok()
        })
        .unwrap_or(1024);
    wanted.min(limit.saturating_sub(300))
}
