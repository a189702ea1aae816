//! Accepting sockets: one loop for plaintext and TLS, a deadline for every phase before the WebSocket
//! upgrade, and the caps on sockets counted over each socket's whole life.
//!
//! # Phases and their deadlines
//!
//! - TLS (with `--tls-cert`): the handshake must finish within the handshake timeout.
//! - HTTP: hyper reads the request head under `header_read_timeout` (the same timeout), and a
//!   connection that has not upgraded within it (an idle keep-alive connection of the page, a body
//!   trickled byte by byte) is dropped then. The page's browser simply opens a new one.
//! - After the upgrade the core's own handshake deadline applies, and a socket the gateway closed is
//!   read for a short linger at most (see `server::connection`).
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
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
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

/// The connection's addresses and slot, set as request extensions on every request (warp's own
/// remote-address extension is private to warp).
#[derive(Clone, Debug)]
pub struct ConnInfo {
    /// The peer.
    pub peer: SocketAddr,
    /// The gateway's own address of this connection (the address the client connected to).
    pub local: SocketAddr,
    /// The socket's slot.
    pub slot: Arc<Slot>,
}

/// Sockets being answered 503 at once; beyond it a refused socket is closed without an answer.
const MAX_REFUSING: usize = 256;
static REFUSING: AtomicUsize = AtomicUsize::new(0);

/// Answers a refused plaintext socket with a 503 and its line (without reading its request), then
/// closes it; within a second, and for at most [`MAX_REFUSING`] sockets at once.
fn refuse(mut tcp: TcpStream, why: Refused) {
    if REFUSING.fetch_add(1, Ordering::AcqRel) >= MAX_REFUSING {
        REFUSING.fetch_sub(1, Ordering::AcqRel);
        return;
    }
    tokio::spawn(async move {
        let body = why.message();
        let answer = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
             retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            tcp.write_all(answer.as_bytes()).await?;
            tcp.shutdown().await?;
            // Read what the client sent meanwhile, so that closing does not reset the answer away.
            let mut sink = [0u8; 1024];
            let mut seen = 0;
            while seen < 16 * 1024 {
                match tokio::io::AsyncReadExt::read(&mut tcp, &mut sink).await? {
                    0 => break,
                    n => seen += n,
                }
            }
            std::io::Result::Ok(())
        })
        .await;
        REFUSING.fetch_sub(1, Ordering::AcqRel);
    });
}

/// Serves `filter` on `listener` (over TLS when `tls` is given) until `shutdown` resolves, then stops
/// accepting and waits for the HTTP connections in flight (upgraded WebSockets are owned by their own
/// tasks by then).
pub async fn serve<F>(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    filter: F,
    slots: Arc<Slots>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) where
    F: warp::Filter<Extract = (Box<dyn warp::Reply>,), Error = warp::Rejection>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let deadline = slots.limits().handshake_timeout;
    loop {
        slots.evictions_done().await;
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (slot, guard) = match slots.take(peer.ip()) {
            Ok(s) => s,
            Err(why) => {
                tracing::debug!(%peer, ?why, "refused a socket");
                if acceptor.is_none() {
                    refuse(tcp, why);
                }
                continue;
            }
        };
        let Ok(local) = tcp.local_addr() else {
            continue;
        };
        let io = Counted {
            io: tcp,
            _slot: guard,
        };
        let info = ConnInfo { peer, local, slot };
        let acceptor = acceptor.clone();
        let filter = filter.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let evicted = info.slot.clone();
            let phase = async move {
                match acceptor {
                    None => serve_http(io, info, filter, deadline, watcher).await,
                    Some(acceptor) => {
                        let stream = match tokio::time::timeout(deadline, acceptor.accept(io)).await
                        {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, "TLS handshake failed: {e}");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake not done within {deadline:?}");
                                return;
                            }
                        };
                        serve_http(stream, info, filter, deadline, watcher).await
                    }
                }
            };
            tokio::select! {
                () = phase => {}
                () = evicted.evicted() => {}
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Serves HTTP/1.1 on one connection with upgrades, under the header deadline and the HTTP phase's.
async fn serve_http<I, F>(
    io: I,
    info: ConnInfo,
    filter: F,
    deadline: Duration,
    watcher: hyper_util::server::graceful::Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: warp::Filter<Extract = (Box<dyn warp::Reply>,), Error = warp::Rejection>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let peer = info.peer;
    let svc = hyper_util::service::TowerToHyperService::new(warp::service(filter));
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(info.clone());
        req.extensions_mut().insert(crate::tls::PeerAddr(info.peer));
        hyper::service::Service::call(&svc, req)
    });
    let mut builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
            .http1_only();
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(deadline)
        .max_buf_size(64 * 1024);
    let conn = builder.serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(io), svc);
    match tokio::time::timeout(deadline, watcher.watch(conn)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(%peer, "connection error: {e}"),
        Err(_) => tracing::debug!(%peer, "HTTP phase not done within {deadline:?}"),
    }
}

/// As warp does: errors of one connection that surface at accept are ignored; anything else (out of
/// file descriptors) is logged and accepting pauses for a moment.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept error: {e}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn limits(total: usize, per_ip: usize, unauth: usize) -> NetLimits {
        NetLimits {
            max_connections: total,
            max_connections_per_ip: per_ip,
            max_unauthenticated_per_ip: unauth,
            handshake_timeout: Duration::from_secs(1),
        }
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
    }

    #[test]
    fn a_full_pool_evicts_its_oldest_unauthenticated_socket() {
        let slots = Slots::new(limits(3, 10, 10));
        let (a, ga) = slots.take(ip(2)).unwrap();
        let (b, gb) = slots.take(ip(3)).unwrap();
        let (c, _gc) = slots.take(ip(4)).unwrap();
        a.authenticated();
        // Full: the oldest unauthenticated one (b) goes, not the authenticated a.
        let (_d, _gd) = slots.take(ip(5)).unwrap();
        assert!(b.is_evicted() && !a.is_evicted() && !c.is_evicted());
        // b's descriptor closes: its count goes.
        drop(gb);
        assert_eq!(slots.counts(), (3, 2));
        // Every socket authenticated: a newcomer is refused.
        c.authenticated();
        _d.authenticated();
        assert_eq!(slots.take(ip(6)).unwrap_err(), Refused::Full);
        drop(ga);
        assert!(slots.take(ip(6)).is_ok());
    }

    #[test]
    fn one_ip_has_its_own_caps_counted_until_the_descriptor_closes() {
        let slots = Slots::new(limits(100, 3, 2));
        let (a, ga) = slots.take(ip(2)).unwrap();
        let (b, _gb) = slots.take(ip(2)).unwrap();
        // Two unauthenticated from this IP: a third evicts the oldest (a)...
        let (c, _gc) = slots.take(ip(2)).unwrap();
        assert!(a.is_evicted() && !b.is_evicted());
        // ... but a still counts until its descriptor closes: the IP holds 3, the cap.
        b.authenticated();
        c.authenticated();
        assert_eq!(slots.take(ip(2)).unwrap_err(), Refused::PerIp);
        drop(ga);
        let (_d, _gd) = slots.take(ip(2)).unwrap();
        // Other IPs are not affected.
        assert!(slots.take(ip(9)).is_ok());
    }

    #[test]
    fn the_total_cap_stays_below_the_open_file_limit() {
        assert_eq!(total_cap(1024, None), 768);
        assert_eq!(total_cap(1_048_576, None), DEFAULT_MAX_CONNECTIONS);
        assert_eq!(total_cap(1_048_576, Some(50_000)), 50_000);
        assert_eq!(total_cap(20_000, Some(50_000)), 19_744);
        assert_eq!(total_cap(300, None), 150);
    }
}
