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
//! The caps on sockets and their accounting are [`slots`]: every accepted socket takes a [`Slot`]
//! before a byte is read and gives it back when its descriptor closes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub mod slots;

pub use slots::{
    Counted, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_IP, FD_MARGIN, MAX_EVICTING,
    NetLimits, Refused, Slot, SlotGuard, Slots, raise_open_file_limit, total_cap,
};

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
        let io = Counted::new(tcp, guard);
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
