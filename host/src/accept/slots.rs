//! The caps on sockets, counted over each socket's whole life.
//!
//! # Caps
//!
//! Every accepted socket takes a [`Slot`] at once (before a byte is read) and gives it back only when
//! its descriptor is closed: the slot lives inside the socket's I/O object ([`Counted`]), which hyper,
//! TLS and the upgraded WebSocket carry to the end. So rounds of handshakes cannot walk around a cap,
//! and the counts are the gateway's open descriptors.
//!
//! - In total at most `max_connections` sockets, kept below the open-file limit (raised to its hard
//!   limit at start, see [`raise_open_file_limit`]) with a margin, so the gateway itself never runs out
//!   of descriptors (it still needs some for its files).
//! - From one IP at most `max_connections_per_ip` sockets (HTTP 503 beyond).
//! - Unauthenticated sockets (accepted, not yet admitted by the core's handshake) from one IP: at most
//!   `max_unauthenticated_per_ip`.
//!
//! # The reserve: evicting the oldest unauthenticated socket
//!
//! A flood of sockets that never authenticate must not lock out the operator, whose CLI and page
//! connect from the same loopback address an attacker on this machine can use, and who cannot be told
//! apart from an attacker before the handshake. Refusing newcomers when a pool is full would do exactly
//! that. So when the unauthenticated sockets of one IP, or all sockets, reach their cap, the gateway
//! evicts the *oldest unauthenticated* socket and takes the newcomer. A legitimate client (the CLI, the
//! page, a node) finishes its handshake in milliseconds and leaves the pool; to push it out an attacker
//! would have to open a whole pool's worth of sockets within those milliseconds, while its own idle
//! sockets are the ones that go first. Only when every socket is authenticated (nodes and operators
//! holding the gateway full) is a newcomer refused with 503. Node connections are capped by the core
//! below `max_connections` (`Limits::max_nodes`, `RATE_LIMITED` beyond), which leaves operator room.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// The caps and deadlines of accepting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetLimits {
    /// Sockets open at once, in every phase.
    pub max_connections: usize,
    /// Sockets open at once from one IP, in every phase.
    pub max_connections_per_ip: usize,
    /// Sockets from one IP not yet admitted by the handshake (the oldest is evicted beyond it).
    pub max_unauthenticated_per_ip: usize,
    /// Deadline of the TLS handshake, of the HTTP request head, and of the HTTP phase as a whole.
    pub handshake_timeout: Duration,
}

/// Descriptors kept free below the open-file limit for the gateway's own files, the listener and the
/// sockets being refused.
pub const FD_MARGIN: u64 = 256;

/// Default of `--max-connections` where the open-file limit allows it.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;

/// Default of `--max-connections-per-ip`.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 512;

/// Raises the soft limit on open files to the hard limit and returns the (new) soft limit. Errors are
/// ignored (the current limit is returned): the caps are then sized to it.
pub fn raise_open_file_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let cur = getrlimit(Resource::Nofile);
    let soft = cur.current.unwrap_or(u64::MAX);
    match cur.maximum {
        Some(hard) if hard > soft => {
            let raised = rustix::process::Rlimit {
                current: Some(hard),
                maximum: Some(hard),
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => hard,
                Err(e) => {
                    tracing::warn!("cannot raise the open-file limit from {soft} to {hard}: {e}");
                    soft
                }
            }
        }
        None if cur.current.is_some() => {
            let raised = rustix::process::Rlimit {
                current: None,
                maximum: None,
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                u64::MAX
            } else {
                soft
            }
        }
        _ => soft,
    }
}

/// The total cap for an open-file limit of `nofile`: `wanted` (default [`DEFAULT_MAX_CONNECTIONS`]),
/// never closer than [`FD_MARGIN`] to the limit (half the limit when it is tiny).
pub fn total_cap(nofile: u64, wanted: Option<usize>) -> usize {
    let room = if nofile > 2 * FD_MARGIN {
        nofile - FD_MARGIN
    } else {
        nofile / 2
    };
    let room = usize::try_from(room).unwrap_or(usize::MAX).max(1);
    wanted.unwrap_or(DEFAULT_MAX_CONNECTIONS).min(room)
}

/// Why a socket was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The IP holds `max_connections_per_ip` sockets.
    PerIp,
    /// The gateway holds `max_connections` sockets, all authenticated.
    Full,
}

impl Refused {
    /// The one line of the 503 answer.
    pub fn message(self) -> &'static str {
        match self {
            Refused::PerIp => "too many connections from your address; close some and retry\n",
            Refused::Full => "the gateway is at its connection limit; retry shortly\n",
        }
    }
}

/// The accounting of every open socket.
#[derive(Debug)]
pub struct Slots {
    limits: NetLimits,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    total: usize,
    per_ip: HashMap<IpAddr, PerIp>,
    /// Unauthenticated sockets by age (the key is an accept counter).
    unauthenticated: BTreeMap<u64, Arc<Slot>>,
    /// Sockets evicted whose descriptor is not closed yet.
    evicting: usize,
    next: u64,
}

/// Evicted sockets whose descriptors may still be open at once: the total may pass
/// `max_connections` by this much while they close, which [`FD_MARGIN`] leaves room for. Past it the
/// accept loop pauses until they are closed (newcomers wait in the listen backlog; none is refused
/// for it, so the operator is not turned away by a burst of evictions).
pub const MAX_EVICTING: usize = (FD_MARGIN / 2) as usize;

#[derive(Debug, Default)]
struct PerIp {
    open: usize,
    /// Unauthenticated sockets of this IP by age.
    unauthenticated: BTreeMap<u64, ()>,
}

/// One open socket's place in the counts. Kept alive by its [`SlotGuard`] (inside the socket's I/O);
/// the socket's tasks hold it to learn of an eviction and to report the socket authenticated.
#[derive(Debug)]
pub struct Slot {
    seq: u64,
    ip: IpAddr,
    slots: std::sync::Weak<Slots>,
    authenticated: AtomicBool,
    evicted: AtomicBool,
    evict: Notify,
}

impl Slot {
    /// The core admitted the socket: it leaves the unauthenticated pool (and can no longer be
    /// evicted).
    pub fn authenticated(&self) {
        if self.authenticated.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(slots) = self.slots.upgrade() {
            let mut inner = slots.lock();
            inner.unauthenticated.remove(&self.seq);
            if let Some(p) = inner.per_ip.get_mut(&self.ip) {
                p.unauthenticated.remove(&self.seq);
            }
        }
    }

    /// Resolves once the socket was evicted to make room (at once if it already was).
    pub async fn evicted(&self) {
        let notified = self.evict.notified();
        if self.evicted.load(Ordering::Acquire) {
            return;
        }
        notified.await;
    }

    /// Whether the socket was evicted.
    pub fn is_evicted(&self) -> bool {
        self.evicted.load(Ordering::Acquire)
    }

    fn evict(&self) {
        self.evicted.store(true, Ordering::Release);
        self.evict.notify_waiters();
    }
}

/// Gives a socket's slot back when dropped: when the socket's descriptor closes.
#[derive(Debug)]
pub struct SlotGuard(Arc<Slot>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let Some(slots) = self.0.slots.upgrade() else {
            return;
        };
        let mut inner = slots.lock();
        inner.total = inner.total.saturating_sub(1);
        if self.0.is_evicted() {
            inner.evicting = inner.evicting.saturating_sub(1);
        }
        inner.unauthenticated.remove(&self.0.seq);
        if let Some(p) = inner.per_ip.get_mut(&self.0.ip) {
            p.open = p.open.saturating_sub(1);
            p.unauthenticated.remove(&self.0.seq);
            if p.open == 0 {
                inner.per_ip.remove(&self.0.ip);
            }
        }
    }
}

impl Slots {
    /// Empty counts with these limits.
    pub fn new(limits: NetLimits) -> Arc<Slots> {
        Arc::new(Slots {
            limits,
            inner: Mutex::new(Inner::default()),
        })
    }

    /// The limits.
    pub fn limits(&self) -> &NetLimits {
        &self.limits
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits while [`MAX_EVICTING`] evicted sockets are still closing.
    pub async fn evictions_done(&self) {
        while self.lock().evicting >= MAX_EVICTING {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Sockets open now (total, unauthenticated).
    pub fn counts(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.total, inner.unauthenticated.len())
    }

    /// Takes a slot for a socket from `ip`, evicting the oldest unauthenticated socket (of this IP, or
    /// of all) when a pool is full; see the module documentation.
    pub fn take(self: &Arc<Self>, ip: IpAddr) -> Result<(Arc<Slot>, SlotGuard), Refused> {
        let ip = canonical(ip);
        let mut inner = self.lock();
        let (open, unauth_oldest, unauth_here) = inner.per_ip.get(&ip).map_or((0, None, 0), |p| {
            (
                p.open,
                p.unauthenticated.keys().next().copied(),
                p.unauthenticated.len(),
            )
        });
        let mut evict = Vec::new();
        let over_total = inner.total >= self.limits.max_connections;
        if unauth_here >= self.limits.max_unauthenticated_per_ip {
            evict.extend(unauth_oldest);
        } else if open >= self.limits.max_connections_per_ip {
            return Err(Refused::PerIp);
        }
        if evict.is_empty() && over_total {
            match inner.unauthenticated.keys().next().copied() {
                Some(oldest) => evict.push(oldest),
                None => return Err(Refused::Full),
            }
        }
        for seq in evict {
            if let Some(old) = inner.unauthenticated.remove(&seq) {
                if let Some(p) = inner.per_ip.get_mut(&old.ip) {
                    p.unauthenticated.remove(&seq);
                }
                tracing::debug!(ip = %old.ip, "evicted the oldest unauthenticated socket to make room");
                inner.evicting += 1;
                old.evict();
            }
        }
        let seq = inner.next;
        inner.next += 1;
        let slot = Arc::new(Slot {
            seq,
            ip,
            slots: Arc::downgrade(self),
            authenticated: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
        });
        inner.total += 1;
        let p = inner.per_ip.entry(ip).or_default();
        p.open += 1;
        p.unauthenticated.insert(seq, ());
        inner.unauthenticated.insert(seq, slot.clone());
        Ok((slot.clone(), SlotGuard(slot)))
    }
}

/// IPv4-mapped IPv6 addresses count as their IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A socket that holds its [`SlotGuard`]: the slot is given back when the descriptor closes.
#[derive(Debug)]
pub struct Counted<T> {
    io: T,
    _slot: SlotGuard,
}

impl<T> Counted<T> {
    /// `io`, holding `slot` until it is dropped.
    pub fn new(io: T, slot: SlotGuard) -> Counted<T> {
        Counted { io, _slot: slot }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
