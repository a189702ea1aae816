//! The WebSocket gateway: warp routes, one reader and one writer task per socket, graceful shutdown.
//! Plaintext and TLS (`--tls-cert`/`--tls-key`) are accepted by one loop, [`crate::accept::serve`],
//! which puts a deadline on every phase before the upgrade and caps the sockets; the routes check
//! `Host` ([`crate::hosts`]) before anything else.

use crate::accept::{self, ConnInfo, NetLimits, Slots};
use crate::clock::now_ms;
use crate::driver::{self, ToCore};
use crate::file_store::FileStore;
use crate::gateway_config;
use crate::hosts::AllowedHosts;
use crate::outbox::{self, Outbox, OutboxReader, ReaderState, SlowConsumer};
use crate::upgrade::{self, Socket, Upgrade};
use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use pairing_core::{Config, ConnId, Gateway, Token};
use std::collections::VecDeque;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use warp::Filter;
use warp::http::StatusCode;

/// Largest WebSocket message read at all, the protocol's limit after the handshake
/// (`Limits::max_frame_bytes`). Larger ones close the socket with 1009. Before the handshake far less
/// is read at all ([`upgrade::PRE_ADMISSION_BYTES`], the 64 KiB handshake limit).
pub const MAX_MESSAGE: usize = 256 * 1024;

/// Connections kept for operators: node connections may use all but these of `--max-connections`.
pub const OPERATOR_RESERVE: usize = 64;

/// Caps on sockets and the names the gateway answers to (`--max-connections`,
/// `--max-connections-per-ip`, `--allowed-host`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetOptions {
    /// Sockets open at once in every phase; `None`: [`accept::DEFAULT_MAX_CONNECTIONS`]. Either way
    /// kept [`accept::FD_MARGIN`] below the open-file limit (whose soft limit is raised to the hard
    /// one at start).
    pub max_connections: Option<usize>,
    /// Sockets open at once from one IP; `None`: [`accept::DEFAULT_MAX_CONNECTIONS_PER_IP`].
    pub max_connections_per_ip: Option<usize>,
    /// More names the `Host` header may carry (a DNS name the gateway is reached by).
    pub allowed_hosts: Vec<String>,
}

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
    /// Serve `wss://` and `https://` with this certificate and key; `None` with [`Bind::Lan`] and not
    /// `allow_plaintext`: the generated one ([`crate::tls_auto`]).
    pub tls: Option<crate::tls::TlsFiles>,
    /// `false` with `--no-pairing`.
    pub pairing_enabled: bool,
    /// `--auto-approve-local`: devices connecting from 127.0.0.1 or ::1 are approved without a person
    /// (audited `approvedVia: "local"`). Off by default: loopback is not trusted.
    pub auto_approve_local: bool,
    /// Lifetime of a pending request.
    pub pending_ttl_ms: u64,
    /// How much audit trail is kept on disk (`--audit-max-bytes`, `--audit-keep`).
    pub audit: crate::audit_log::AuditLimits,
    /// Caps on sockets and the `Host` names accepted.
    pub net: NetOptions,
    /// `--notify-webhook`: POST requests and decisions there ([`crate::webhook`]).
    pub notify: Option<crate::webhook::NotifyOptions>,
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
    /// The certificate served with TLS: its fingerprint, and whether the gateway generated it.
    pub tls: Option<crate::tls_auto::Served>,
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
    // Read the certificate and key before anything else, so a bad file stops the start at once.
    let given = opts.tls.as_ref();
    let given = given
        .map(|f| crate::tls::load_served(f, crate::tls::Links::Follow))
        .transpose()?;
    // One gateway per state directory, locked before anything in it is read or written; held until
    // this function returns (after the last checkpoint).
    let mut state_lock = crate::lock::StateLock::acquire(&opts.state_dir)?;
    // --bind lan with no certificate and no --allow-plaintext: the generated one (made once).
    let (tls, cert) = match given {
        Some((config, fingerprint)) => (
            Some(config),
            Some(crate::tls_auto::Served::given(fingerprint)),
        ),
        None if opts.bind == Bind::Lan && !opts.allow_plaintext => {
            let (config, served) =
                crate::tls_auto::serve(&opts.state_dir, &opts.net.allowed_hosts)?;
            (Some(config), Some(served))
        }
        None => (None, None),
    };
    let ip = match opts.bind {
        Bind::Loopback => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Bind::Lan => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let listener = listen(SocketAddr::new(ip, opts.port))
        .with_context(|| format!("cannot listen on {ip}:{}", opts.port))?;
    let addr = listener.local_addr()?;
    state_lock.listening(addr.port())?;
    let fingerprint = cert.as_ref().map(|c| c.fingerprint.as_str());
    let token = gateway_config::prepare_served(&opts.state_dir, addr.port(), fingerprint)?;
    if pairing_core::operator::is_weak(token.expose()) {
        tracing::warn!(
            "the operator token in {} is shorter than 128 bits; run `openclaw gateway rotate-token` for a random one",
            gateway_config::path(&opts.state_dir).display()
        );
    }
    let mut config = Config::new(token.clone());
    config.retired_operator_tokens = gateway_config::read_retired(&opts.state_dir)?;
    config.pending_ttl_ms = opts.pending_ttl_ms;
    config.pairing_enabled = opts.pairing_enabled;
    config.auto_approve_local = opts.auto_approve_local;
    config.public_urls = crate::public_urls::for_bind(ip, addr.port(), tls.is_some());
    config.tls_fingerprint = cert.as_ref().map(|c| c.fingerprint.clone());
    if let Ok(v) = std::env::var("OPENCLAW_HANDSHAKE_TIMEOUT_MS") {
        config.handshake_timeout_ms = v.trim().parse().with_context(|| {
            format!("OPENCLAW_HANDSHAKE_TIMEOUT_MS must be milliseconds, not {v:?}")
        })?;
    }
    // TLS, the HTTP request and the upgrade get the same bound as the protocol's own handshake.
    let handshake = std::time::Duration::from_millis(config.handshake_timeout_ms.max(1));
    let nofile = accept::raise_open_file_limit();
    let total = accept::total_cap(nofile, opts.net.max_connections);
    let per_ip = opts
        .net
        .max_connections_per_ip
        .unwrap_or(accept::DEFAULT_MAX_CONNECTIONS_PER_IP)
        .clamp(1, total);
    let unauthenticated_per_ip = config.limits.max_handshaking_per_ip.min(per_ip);
    // Node connections leave room for operators, in total and from each address.
    config.limits.max_nodes = total.saturating_sub(OPERATOR_RESERVE).max(1);
    config.limits.max_nodes_per_ip = per_ip.saturating_sub(unauthenticated_per_ip).max(1);
    let slots = Slots::new(NetLimits {
        max_connections: total,
        max_connections_per_ip: per_ip,
        max_unauthenticated_per_ip: unauthenticated_per_ip,
        handshake_timeout: handshake,
    });
    let mut slow = SlowConsumer {
        budget: config.limits.max_buffered_bytes,
        ..SlowConsumer::default()
    };
    if let Ok(v) = std::env::var("OPENCLAW_SLOW_CONSUMER_MS") {
        let ms: u64 = v.trim().parse().with_context(|| {
            format!("OPENCLAW_SLOW_CONSUMER_MS must be milliseconds, not {v:?}")
        })?;
        slow.grace = std::time::Duration::from_millis(ms);
    }
    tracing::debug!(nofile, total, per_ip, "connection caps");
    let web = Arc::new(Web {
        hosts: AllowedHosts::new(opts.bind == Bind::Lan, &opts.net.allowed_hosts),
        slow,
    });
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("OS random source failed: {e}"))?;
    let store = FileStore::new(&opts.state_dir).with_audit_limits(opts.audit);
    let gw = Gateway::new(config, seed, store, now_ms()).map_err(|e| anyhow::anyhow!("{e}"))?;

    let (to_core, from_sockets) = mpsc::channel(4096);
    let (deadline_tx, deadline_rx) = watch::channel(None);
    let notify = opts.notify.as_ref();
    let (notifier, webhook_task) = notify
        .map(|n| crate::webhook::start(n, &opts.state_dir))
        .transpose()?
        .unzip();
    let core_thread = driver::spawn(gw, from_sockets, deadline_tx, notifier)?;
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
        tls: cert,
    });

    let stopper = to_core.clone();
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: closing connections and writing a checkpoint");
        let _ = stopper.send(ToCore::Shutdown).await;
    };
    accept::serve(listener, tls, routes(to_core, web), slots, shutdown).await;
    tokio::task::spawn_blocking(move || core_thread.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the core thread panicked"))?;
    // The core thread dropped the notifier: the webhook task sends what waits, within its budget.
    if let Some(task) = webhook_task {
        let budget = crate::webhook::SHUTDOWN_BUDGET + std::time::Duration::from_secs(1);
        let _ = tokio::time::timeout(budget, task).await;
    }
    drop(state_lock);
    Ok(())
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

/// What the routes need besides the core: the `Host` names and the slow-consumer budget.
#[derive(Debug, Default)]
pub struct Web {
    /// The names the gateway answers to.
    pub hosts: AllowedHosts,
    /// The byte budget of every socket's queue.
    pub slow: SlowConsumer,
}

/// `GET /` upgrades to the gateway's WebSocket; without an upgrade it is the approval page, whose
/// assets are served beside it ([`crate::page`]). Any request whose `Host` is not the gateway's own
/// is answered 421 first, whatever it asks for (DNS rebinding, see [`crate::hosts`]).
pub fn routes(
    to_core: mpsc::Sender<ToCore>,
    web: Arc<Web>,
) -> impl Filter<Extract = (Box<dyn warp::Reply>,), Error = warp::Rejection> + Clone {
    let checker = web.clone();
    let foreign_host = warp::header::optional::<String>("host")
        .and(warp::ext::optional::<ConnInfo>())
        .and_then(move |host: Option<String>, info: Option<ConnInfo>| {
            let verdict = checker.hosts.check(host.as_deref(), info.map(|i| i.local));
            async move {
                match verdict {
                    Ok(()) => Err(warp::reject()),
                    Err(line) => {
                        tracing::debug!("refused a request for a foreign Host");
                        Ok(Box::new(warp::reply::with_status(
                            line,
                            StatusCode::MISDIRECTED_REQUEST,
                        )) as Box<dyn warp::Reply>)
                    }
                }
            }
        });
    let with_core = warp::any().map(move || to_core.clone());
    let with_web = warp::any().map(move || web.clone());
    let ws = warp::path::end()
        .and(upgrade::ws())
        .and(warp::ext::optional::<ConnInfo>())
        .and(warp::header::optional::<String>(
            pairing_core::challenge::CLIENT_NONCE_HEADER,
        ))
        .and(with_core)
        .and(with_web)
        .then(upgrade);
    let page = crate::page::assets().map(|r| Box::new(r) as Box<dyn warp::Reply>);
    foreign_host.or(ws).unify().or(page).unify()
}

async fn upgrade(
    ws: Upgrade,
    info: Option<ConnInfo>,
    client_nonce: Option<String>,
    to_core: mpsc::Sender<ToCore>,
    web: Arc<Web>,
) -> Box<dyn warp::Reply> {
    let ip = info
        .as_ref()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |i| i.peer.ip());
    if let Some(origin) = ws.foreign_origin() {
        tracing::warn!(%ip, origin, "refused a WebSocket opened by another site's page");
        return Box::new(warp::reply::with_status(
            "a page from another site may not open this gateway's WebSocket\n",
            StatusCode::FORBIDDEN,
        ));
    }
    let out = Arc::new(Outbox::for_socket(info.map(|i| i.slot), web.slow));
    // Dropped unused if the upgrade never completes: the driver then forgets the connection.
    let writer_end = OutboxReader::new(out.clone());
    let (reply, answer) = oneshot::channel();
    let refused = || {
        Box::new(warp::reply::with_status(
            "too many connections from your address are in the handshake; retry shortly\n",
            StatusCode::SERVICE_UNAVAILABLE,
        )) as Box<dyn warp::Reply>
    };
    let open = ToCore::Open {
        ip,
        client_nonce,
        out: out.clone(),
        reply,
    };
    if to_core.send(open).await.is_err() {
        return refused();
    }
    match answer.await {
        Ok(Ok(conn)) => Box::new(ws.on_upgrade(
            upgrade::socket_config(MAX_MESSAGE),
            out.clone(),
            move |socket| connection(socket, conn, out, writer_end, to_core),
        )),
        _ => refused(),
    }
}

/// One socket: this task reads and passes frames to the core; a second task writes.
///
/// Reading ends when the peer closes or goes (an I/O error too: the socket is dropped without a
/// close frame), when a read fails (a frame too large 1009, a protocol error 1002, invalid UTF-8
/// 1007: [`upgrade::read_failure`]), when the socket is evicted from the unauthenticated pool (1013),
/// or when the writer ended because the gateway closed the socket. After a failed read or the
/// gateway's close the peer may still be sending: the socket is read for a short linger at most
/// ([`LINGER`], [`LINGER_BYTES`]) so that the close frame reaches it rather than a reset, and then
/// dropped — a closed socket never keeps its descriptor until its peer chooses to go.
async fn connection(
    socket: Socket,
    conn: ConnId,
    out: Arc<Outbox>,
    writer_end: OutboxReader,
    to_core: mpsc::Sender<ToCore>,
) {
    let Socket { mut reader, writer } = socket;
    tokio::spawn(write_frames(writer, writer_end));
    let mut why = ReaderState::Ended;
    let mut linger = false;
    loop {
        let next = tokio::select! {
            biased;
            () = out.writer_ended() => {
                linger = true;
                break;
            }
            () = evicted(&out) => {
                // An idle socket made room for a newcomer: no linger for it (its close frame is
                // written at once, the socket being idle).
                out.reader_stopped(ReaderState::Failed(1013, "too many unauthenticated connections; retry"));
                let _ = to_core.send(ToCore::Closed { conn }).await;
                return;
            }
            next = reader.next() => next,
        };
        let Some(msg) = next else { break };
        let text = match msg {
            Ok(Message::Text(t)) => text_of(t.into()),
            Ok(Message::Binary(b)) => text_of(b),
            Ok(Message::Close(_)) => {
                // tungstenite has framed the answer to the peer's close; this hands it to the writer.
                let _ = reader.flush().await;
                break;
            }
            Ok(_) => continue,
            Err(e) => {
                tracing::debug!(%conn, "socket error: {e}");
                why = upgrade::read_failure(&e);
                break;
            }
        };
        if to_core.send(ToCore::Frame { conn, text }).await.is_err() {
            break;
        }
    }
    // Before the core hears of it: the writer must see why (the close code of a failed read) before
    // it sees the driver let go.
    linger |= matches!(why, ReaderState::Failed(..));
    out.reader_stopped(why);
    let _ = to_core.send(ToCore::Closed { conn }).await;
    if linger {
        // Boxed: the timer and the drain would otherwise be part of every socket task's state.
        let _ = Box::pin(tokio::time::timeout(
            LINGER,
            reader.get_mut().drain(LINGER_BYTES),
        ))
        .await;
    }
}

/// Resolves when the socket was evicted from the unauthenticated pool (never for one without a slot).
async fn evicted(out: &Outbox) {
    match out.slot() {
        Some(slot) => slot.evicted().await,
        None => std::future::pending().await,
    }
}

/// The text of a frame (binary frames are read as UTF-8, lossily), and the frame's own buffer wiped
/// when this was its only holder: a `connect` or `node.pair.verify` carries a token.
fn text_of(bytes: bytes::Bytes) -> String {
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if let Ok(mut own) = bytes.try_into_mut() {
        zeroize::Zeroize::zeroize(&mut own[..]);
    }
    text
}

/// How long a socket the gateway closed keeps reading what its peer still sends.
const LINGER: std::time::Duration = outbox::LINGER;
/// How much it reads at most meanwhile.
const LINGER_BYTES: usize = 1024 * 1024;

/// The socket's writer: takes everything its outbox holds, writes it in one vectored write (see
/// [`upgrade::FrameWriter`]), wipes what it let go of, and waits for more. Ends with the core's close,
/// the code of a failed read (1009 after a frame too large, …), the reason of a slow consumer (unread bytes over the budget for too
/// long), 1008 when the driver let go of a socket, or silently when the peer closed or went away (its
/// close was answered by the reading side). A write that does not finish is given up on
/// ([`Outbox::stuck`]): the socket is dropped, as is one whose close frame is not taken within
/// [`LINGER`].
async fn write_frames(mut writer: upgrade::FrameWriter, out: OutboxReader) {
    let mut frames = VecDeque::new();
    let mut control = Vec::new();
    let (code, reason) = loop {
        let (close, released, reader) = out.outbox().take(&mut frames, &mut control);
        if !frames.is_empty() || !control.is_empty() {
            let bytes: usize = frames.iter().map(outbox::Piece::bytes).sum();
            // Boxed: the watchdog's timer would otherwise be part of every socket task's state.
            let sent = tokio::select! {
                sent = writer.send(&control, &frames) => sent,
                () = Box::pin(out.outbox().stuck()) => {
                    Err(std::io::Error::other("the peer does not read what is sent"))
                }
            };
            out.outbox().written(bytes);
            for piece in frames.drain(..) {
                piece.release();
            }
            control.clear();
            if let Err(e) = sent {
                tracing::debug!("socket write failed: {e}");
                return;
            }
        }
        match (reader, close) {
            (ReaderState::Failed(code, reason), _) => break (code, reason.into()),
            (_, Some(close)) => break close,
            (ReaderState::Ended, None) => return,
            (ReaderState::Reading, None) if released => break (1008, "slow consumer".into()),
            (ReaderState::Reading, None) => {}
        }
        out.outbox().changed().await;
    };
    tracing::debug!(code, %reason, "socket closing");
    let _ = Box::pin(tokio::time::timeout(LINGER, writer.close(code, &reason))).await;
}

#[cfg(test)]
mod tests;
