//! The WebSocket gateway: warp routes, one reader and one writer task per socket, graceful shutdown.
//! Plaintext is served by `warp::serve`; TLS (`--tls-cert`/`--tls-key`) by [`crate::tls::serve`], with
//! the same routes.

use crate::driver::{self, CONN_QUEUE, ToConn, ToCore, now_ms};
use crate::file_store::FileStore;
use crate::gateway_config;
use crate::upgrade::{self, Socket, Upgrade};
use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use pairing_core::{Config, ConnId, Gateway, Token};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use warp::Filter;
use warp::http::StatusCode;

/// Largest WebSocket message read at all. Larger ones close the socket with 1009; smaller ones reach
/// the core, which applies the protocol's own limits (64 KiB before the handshake, 256 KiB after).
pub const MAX_MESSAGE: usize = 1024 * 1024;

/// Where the gateway listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bind {
    /// 127.0.0.1 only.
    Loopback,
    /// Every interface.
    Lan,
}

/// How to run the gateway.
#[derive(Clone, Debug)]
pub struct Options {
    /// The state directory.
    pub state_dir: PathBuf,
    /// The port (0 picks a free one).
    pub port: u16,
    /// Loopback or every interface.
    pub bind: Bind,
    /// Accept serving plaintext `ws://` on the LAN.
    pub allow_plaintext: bool,
    /// Serve `wss://` and `https://` with this certificate and key (required by [`Bind::Lan`] unless
    /// `allow_plaintext`).
    pub tls: Option<crate::tls::TlsFiles>,
    /// `false` with `--no-pairing`.
    pub pairing_enabled: bool,
    /// Lifetime of a pending request.
    pub pending_ttl_ms: u64,
}

/// What the gateway tells its caller once it listens.
#[derive(Clone, Debug)]
pub struct Started {
    /// The bound address.
    pub addr: SocketAddr,
    /// The WebSocket URL for clients on this machine: `ws://…/`, or `wss://…/` with TLS.
    pub ws_url: String,
    /// The operator token (its `Debug` is redacted), for the approval page link.
    pub token: Token,
}

impl Started {
    /// The approval page for a browser on this machine, carrying the operator token in the fragment
    /// (`http://127.0.0.1:PORT/#token=…`, `https://…` with TLS): browsers never send a fragment to the
    /// server, and the page removes it from the address bar once read. Print it to the person; never
    /// log it.
    pub fn page_url(&self) -> String {
        let http = match self.ws_url.strip_prefix("wss://") {
            Some(rest) => format!("https://{rest}"),
            None => self.ws_url.replacen("ws://", "http://", 1),
        };
        format!("{http}#token={}", self.token.expose())
    }
}

/// Runs the gateway until `shutdown` resolves: loads the state (a corrupt file is an error naming it),
/// prepares `openclaw.json`, listens, calls `on_ready`, serves, then closes every socket, writes a
/// checkpoint and returns.
pub async fn run(
    opts: Options,
    on_ready: impl FnOnce(&Started) + Send,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if opts.bind == Bind::Lan && opts.tls.is_none() && !opts.allow_plaintext {
        bail!(
            "--bind lan needs TLS: pass --tls-cert FILE --tls-key FILE (or --allow-plaintext to serve \
             plaintext ws:// on a trusted network)"
        );
    }
    // Read the certificate and key before anything else, so a bad file stops the start at once.
    let tls = opts.tls.as_ref().map(crate::tls::load).transpose()?;
    let ip = match opts.bind {
        Bind::Loopback => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Bind::Lan => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let listener = listen(SocketAddr::new(ip, opts.port))
        .with_context(|| format!("cannot listen on {ip}:{}", opts.port))?;
    let addr = listener.local_addr()?;
    let token = gateway_config::prepare(&opts.state_dir, addr.port())?;
    let mut config = Config::new(token.clone());
    config.pending_ttl_ms = opts.pending_ttl_ms;
    config.pairing_enabled = opts.pairing_enabled;
    if let Ok(v) = std::env::var("OPENCLAW_HANDSHAKE_TIMEOUT_MS") {
        config.handshake_timeout_ms = v.trim().parse().with_context(|| {
            format!("OPENCLAW_HANDSHAKE_TIMEOUT_MS must be milliseconds, not {v:?}")
        })?;
    }
    // The TLS handshake gets the same bound as the protocol's own handshake.
    let tls_handshake = std::time::Duration::from_millis(config.handshake_timeout_ms.max(1));
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("OS random source failed: {e}"))?;
    let store = FileStore::new(&opts.state_dir);
    let gw = Gateway::new(config, seed, store, now_ms()).map_err(|e| anyhow::anyhow!("{e}"))?;

    let (to_core, from_sockets) = mpsc::channel(4096);
    let (deadline_tx, deadline_rx) = watch::channel(None);
    let core_thread = driver::spawn(gw, from_sockets, deadline_tx)?;
    tokio::spawn(driver::timer(deadline_rx, to_core.clone()));

    let host = match opts.bind {
        Bind::Loopback => addr.ip().to_string(),
        Bind::Lan => "127.0.0.1".to_owned(),
    };
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    on_ready(&Started {
        addr,
        ws_url: format!("{scheme}://{host}:{}/", addr.port()),
        token,
    });

    let stopper = to_core.clone();
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: closing connections and writing a checkpoint");
        let _ = stopper.send(ToCore::Shutdown).await;
    };
    match tls {
        None => {
            warp::serve(routes(to_core))
                .incoming(listener)
                .graceful(shutdown)
                .run()
                .await
        }
        Some(config) => {
            crate::tls::serve(listener, config, routes(to_core), tls_handshake, shutdown).await
        }
    }
    tokio::task::spawn_blocking(move || core_thread.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the core thread panicked"))?;
    Ok(())
}

/// Wraps a frame for the socket without copying it; when the last holder of a frame lets go, its
/// bytes are wiped (frames may carry a token: an approve result, a node's approved event).
fn frame_message(text: std::sync::Arc<str>) -> Message {
    struct Wiped(std::sync::Arc<str>);
    impl AsRef<[u8]> for Wiped {
        fn as_ref(&self) -> &[u8] {
            self.0.as_bytes()
        }
    }
    impl Drop for Wiped {
        fn drop(&mut self) {
            if let Some(text) = std::sync::Arc::get_mut(&mut self.0) {
                zeroize::Zeroize::zeroize(text);
            }
        }
    }
    let bytes = bytes::Bytes::from_owner(Wiped(text));
    match tokio_tungstenite::tungstenite::Utf8Bytes::try_from(bytes) {
        Ok(utf8) => Message::Text(utf8),
        // A frame is built from a `str`, so this cannot happen; send nothing rather than panic.
        Err(_) => Message::Text("".into()),
    }
}

/// Binds the listening socket. `TCP_NODELAY` is set on it so every accepted socket inherits it (Linux
/// copies it on accept): a response written right after an event must not wait for the peer's delayed
/// ACK (Nagle's algorithm would hold it back for ~40 ms).
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// The peer's address: warp's own for plaintext connections, the [`crate::tls::PeerAddr`] extension
/// for TLS ones (warp cannot be told the address of a connection it did not accept).
fn remote() -> impl Filter<Extract = (Option<SocketAddr>,), Error = std::convert::Infallible> + Clone
{
    warp::addr::remote()
        .and(warp::ext::optional::<crate::tls::PeerAddr>())
        .map(
            |warp: Option<SocketAddr>, tls: Option<crate::tls::PeerAddr>| warp.or(tls.map(|p| p.0)),
        )
}

/// `GET /` upgrades to the gateway's WebSocket; without an upgrade it is the approval page, whose
/// assets are served beside it ([`crate::page`]).
pub fn routes(
    to_core: mpsc::Sender<ToCore>,
) -> impl Filter<Extract = (Box<dyn warp::Reply>,), Error = warp::Rejection> + Clone {
    let with_core = warp::any().map(move || to_core.clone());
    let ws = warp::path::end()
        .and(upgrade::ws())
        .and(remote())
        .and(with_core)
        .then(upgrade);
    let page = crate::page::assets().map(|r| Box::new(r) as Box<dyn warp::Reply>);
    ws.or(page).unify()
}

async fn upgrade(
    ws: Upgrade,
    remote: Option<SocketAddr>,
    to_core: mpsc::Sender<ToCore>,
) -> Box<dyn warp::Reply> {
    let ip = remote.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    if let Some(origin) = ws.foreign_origin() {
        tracing::warn!(%ip, origin, "refused a WebSocket opened by another site's page");
        return Box::new(warp::reply::with_status(
            "a page from another site may not open this gateway's WebSocket\n",
            StatusCode::FORBIDDEN,
        ));
    }
    let (tx, rx) = mpsc::channel(CONN_QUEUE);
    let (reply, answer) = oneshot::channel();
    let refused = || {
        Box::new(warp::reply::with_status(
            "too many connections from your address are in the handshake; retry shortly\n",
            StatusCode::SERVICE_UNAVAILABLE,
        )) as Box<dyn warp::Reply>
    };
    if to_core.send(ToCore::Open { ip, tx, reply }).await.is_err() {
        return refused();
    }
    match answer.await {
        Ok(Ok(conn)) => Box::new(
            ws.on_upgrade(upgrade::socket_config(MAX_MESSAGE), move |socket| {
                connection(socket, conn, rx, to_core)
            }),
        ),
        _ => refused(),
    }
}

async fn connection(
    socket: Socket,
    conn: ConnId,
    mut rx: mpsc::Receiver<ToConn>,
    to_core: mpsc::Sender<ToCore>,
) {
    let (mut sink, mut stream) = socket.split();
    let (abort_tx, mut abort_rx) = oneshot::channel::<(u16, &'static str)>();
    tokio::spawn(async move {
        let (code, reason) = loop {
            // Biased, abort first: the reader asks for its close code (1009 after a frame too
            // large) before it reports the socket closed, which makes the driver drop our queue; an
            // unbiased select could see the dropped queue first and send 1008 instead.
            tokio::select! {
                biased;
                a = &mut abort_rx => match a {
                    Ok(close) => break close,
                    Err(_) => break (1000, ""),
                },
                m = rx.recv() => match m {
                    Some(ToConn::Text(t)) => {
                        // Write everything already queued, then flush once.
                        let mut pending = Some(t);
                        let mut next_close = None;
                        while let Some(t) = pending.take() {
                            if sink.feed(frame_message(t)).await.is_err() {
                                return;
                            }
                            match rx.try_recv() {
                                Ok(ToConn::Text(t)) => pending = Some(t),
                                Ok(ToConn::Close(code, reason)) => next_close = Some((code, reason)),
                                Err(_) => {}
                            }
                        }
                        if sink.flush().await.is_err() {
                            return;
                        }
                        if let Some(close) = next_close {
                            break close;
                        }
                    }
                    Some(ToConn::Close(code, reason)) => break (code, reason),
                    // The driver let go of us: too slow to read, or shutting down.
                    None => break (1008, "slow consumer"),
                },
            }
        };
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        let _ = sink.send(Message::Close(Some(frame))).await;
        let _ = sink.close().await;
    });
    let mut abort = Some(abort_tx);
    while let Some(msg) = stream.next().await {
        let text = match msg {
            Ok(Message::Text(t)) => t.as_str().to_owned(),
            Ok(Message::Binary(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(Message::Close(_)) => break,
            Ok(_) => continue,
            Err(e) => {
                tracing::debug!(%conn, "socket error: {e}");
                if let Some(a) = abort.take() {
                    let _ = a.send((1009, "frame too large"));
                }
                break;
            }
        };
        if to_core.send(ToCore::Frame { conn, text }).await.is_err() {
            break;
        }
    }
    let _ = to_core.send(ToCore::Closed { conn }).await;
}
