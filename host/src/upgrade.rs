//! The WebSocket upgrade on `GET /`, with socket buffers sized for many idle connections.
//!
//! warp's own `ws()` hands tungstenite its default configuration, which reserves a 128 KiB read buffer
//! for every socket and offers no setting for it: 10 000 idle nodes would pin more than a gigabyte.
//! This filter does the same handshake checks and answer (101 with `Sec-WebSocket-Accept`), then splits
//! hyper's upgraded connection in two:
//!
//! - reading: tungstenite with [`socket_config`] (a 4 KiB read buffer that grows only while a large
//!   frame arrives; masks, fragments, limits, UTF-8 and the close handshake are its job). The control
//!   frames it must send (pongs, the answer to the peer's close) go to the socket's
//!   [`Outbox`] and the writer sends them.
//! - writing: [`FrameWriter`], which frames the gateway's text frames itself (a server's frames are
//!   not masked: a 2–10 byte header, then the text) and puts a whole batch on the socket with one
//!   vectored write: headers from one small buffer, each text straight from its frame, never
//!   copied into a write buffer (which would also keep token bytes after the frame is wiped), and
//!   each run of broadcasts straight from the round's shared, already framed block.

use crate::outbox::{Outbox, Piece, ReaderState};
use crate::ws_frame;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf, ReadHalf, WriteHalf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use warp::Filter;
use warp::http::{HeaderMap, StatusCode};

type Io = TokioIo<Upgraded>;

/// A gateway socket, split: tungstenite reads, [`FrameWriter`] writes.
pub struct Socket {
    /// Messages from the peer.
    pub reader: WebSocketStream<ReadSide>,
    /// Frames to the peer.
    pub writer: FrameWriter,
}

/// The reading half as tungstenite sees it: reads go to the socket, its writes (control frames,
/// already framed) to the socket's outbox.
///
/// Until the core admits the connection it reads at most [`PRE_ADMISSION_BYTES`] in all: a peer can
/// then make tungstenite buffer no more than that (the 64 KiB handshake frame limit, enforced on the
/// bytes of a partial frame, not only on whole frames the core sees). Past it, reading fails and the
/// socket is closed with 1009 ([`read_failure`]).
pub struct ReadSide {
    read: ReadHalf<Io>,
    out: Arc<Outbox>,
    /// Bytes read before the core admitted the connection.
    before_admission: usize,
}

/// The error reading fails with past [`PRE_ADMISSION_BYTES`] before the core admitted the connection:
/// a frame too large for the handshake ([`read_failure`] closes with 1009).
#[derive(Debug)]
struct OverPreAdmissionLimit;

impl std::fmt::Display for OverPreAdmissionLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("more than the handshake frame limit before the handshake")
    }
}

impl std::error::Error for OverPreAdmissionLimit {}

/// What the writer must do after reading a socket failed with `e`: close with the code that fits
/// the failure (RFC 6455 §7.4.1), or, when the connection itself failed, drop it without a close.
///
/// - 1009 "frame too large": a frame or message over the limit (after the handshake,
///   [`socket_config`]'s; before it, [`PRE_ADMISSION_BYTES`]);
/// - 1002 "protocol error": a frame against the protocol (unmasked, a reserved opcode or bit, a
///   fragmented or oversized control frame, a continuation of nothing, data after a close…);
/// - 1007 "invalid UTF-8": a text frame (or a close reason) that is not UTF-8;
/// - an I/O error, or the peer gone without a close frame: [`ReaderState::Ended`], no close frame
///   (there is no one to read it, or the connection is broken);
/// - anything else tungstenite reports (not expected while reading): 1011.
pub fn read_failure(e: &tungstenite::Error) -> ReaderState {
    use tungstenite::error::ProtocolError;
    match e {
        tungstenite::Error::Capacity(_) => ReaderState::Failed(1009, "frame too large"),
        tungstenite::Error::Io(io)
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<OverPreAdmissionLimit>()) =>
        {
            ReaderState::Failed(1009, "frame too large")
        }
        tungstenite::Error::Io(_)
        | tungstenite::Error::ConnectionClosed
        | tungstenite::Error::AlreadyClosed
        | tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            ReaderState::Ended
        }
        tungstenite::Error::Protocol(_) => ReaderState::Failed(1002, "protocol error"),
        tungstenite::Error::Utf8(_) => ReaderState::Failed(1007, "invalid UTF-8"),
        _ => ReaderState::Failed(1011, "unexpected error"),
    }
}

/// What a connection may send before the core admits it: one `connect` frame of at most 64 KiB
/// (`Limits::max_handshake_frame_bytes`), its header, and what tungstenite reads past it in one go
/// (its 4 KiB read buffer).
pub const PRE_ADMISSION_BYTES: usize = 64 * 1024 + 14 + 4 * 1024;

impl ReadSide {
    /// Reads and drops what the peer still sends, until it closes or `limit` bytes went by: after the
    /// gateway closed a socket whose peer is still sending (a frame too large), so that the peer gets
    /// the close frame instead of a reset (a socket dropped with unread input answers with RST).
    pub async fn drain(&mut self, limit: usize) {
        use tokio::io::AsyncReadExt;
        // On the heap: an array here would be part of every socket task's state, lingering or not.
        let mut buf = vec![0u8; 4096];
        let mut seen = 0;
        while seen < limit {
            match self.read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen += n,
            }
        }
    }
}

impl AsyncRead for ReadSide {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.out.is_admitted() {
            return Pin::new(&mut self.read).poll_read(cx, buf);
        }
        let start = buf.filled().len();
        let ready = Pin::new(&mut self.read).poll_read(cx, buf);
        self.before_admission += buf.filled().len() - start;
        if self.before_admission > PRE_ADMISSION_BYTES && !self.out.is_admitted() {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                OverPreAdmissionLimit,
            )));
        }
        ready
    }
}

impl AsyncWrite for ReadSide {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        // tungstenite writes its whole buffer at once, so `buf` holds whole frames.
        self.out.push_control(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Pieces in one vectored write at most (two slices each at most; Linux takes 1 024 slices per
/// call).
const PIECES_PER_WRITE: usize = 256;

/// The writing half: frames text and close frames itself, without copying the text.
pub struct FrameWriter {
    write: WriteHalf<Io>,
    /// Headers of the frames being written (capacity kept; headers carry only lengths).
    headers: Vec<u8>,
}

impl FrameWriter {
    /// Writes `control` (already framed), then every piece of `frames`: an own frame as a text
    /// frame, a shared run as it is (already framed). Then flushes. One vectored write per
    /// `PIECES_PER_WRITE` pieces (more only when the socket takes less at once).
    pub async fn send(&mut self, control: &[u8], frames: &VecDeque<Piece>) -> std::io::Result<()> {
        let mut control = Some(control).filter(|c| !c.is_empty());
        let mut start = 0;
        while control.is_some() || start < frames.len() {
            let end = frames.len().min(start + PIECES_PER_WRITE);
            let chunk = frames.range(start..end);
            start = end;
            self.headers.clear();
            for piece in chunk.clone() {
                if let Piece::Own(text) = piece {
                    ws_frame::header(&mut self.headers, ws_frame::TEXT, text.len());
                }
            }
            let mut slices = Vec::with_capacity(2 * chunk.len() + 1);
            if let Some(c) = control.take() {
                slices.push(IoSlice::new(c));
            }
            let mut at = 0;
            for piece in chunk {
                match piece {
                    Piece::Own(text) => {
                        let len = ws_frame::header_len(text.len());
                        slices.push(IoSlice::new(&self.headers[at..at + len]));
                        slices.push(IoSlice::new(text.as_bytes()));
                        at += len;
                    }
                    Piece::Shared { block, range, .. } => {
                        slices.push(IoSlice::new(block.get(range.clone()).unwrap_or_default()));
                    }
                }
            }
            write_all_vectored(&mut self.write, &mut slices).await?;
        }
        self.write.flush().await
    }

    /// Sends a close frame with `code` and `reason` and flushes.
    pub async fn close(&mut self, code: u16, reason: &str) -> std::io::Result<()> {
        let reason = &reason.as_bytes()[..reason.len().min(123)];
        let mut frame = Vec::with_capacity(4 + reason.len());
        ws_frame::header(&mut frame, ws_frame::CLOSE, 2 + reason.len());
        frame.extend_from_slice(&code.to_be_bytes());
        frame.extend_from_slice(reason);
        self.write.write_all(&frame).await?;
        self.write.flush().await?;
        // Nothing follows a close frame: end the sending direction now (FIN), whatever the reading
        // side is still doing.
        self.write.shutdown().await
    }
}

/// Writes every slice, however little the socket takes per call. A socket that cannot write
/// vectored takes one slice per call: the loop still finishes, with more calls.
async fn write_all_vectored(
    write: &mut WriteHalf<Io>,
    mut slices: &mut [IoSlice<'_>],
) -> std::io::Result<()> {
    while !slices.is_empty() {
        let n = write.write_vectored(slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut slices, n);
    }
    Ok(())
}

/// A request that asked to become a WebSocket, not yet answered.
pub struct Upgrade {
    key: String,
    on_upgrade: OnUpgrade,
    foreign_origin: Option<String>,
}

/// Buffers and limits of the reading side of every gateway socket. `max_message` bounds what is read
/// at all (larger frames end the socket with an error, which [`read_failure`] turns into close 1009).
/// tungstenite writes only control frames here, each passed on at once.
pub fn socket_config(max_message: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(4 * 1024)
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message))
}

/// The `Origin` of a browser's request when it is not this gateway's own (`Host`): another web page
/// the user has open must not drive the gateway (it could create pending requests as a "node"). Clients
/// that are not browsers send no `Origin` and are not affected.
fn foreign_origin(headers: &HeaderMap) -> Option<String> {
    let origin = headers.get("origin")?.to_str().unwrap_or("?");
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map_or("", |(_, rest)| rest.trim_end_matches('/'));
    (origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host)).then(|| origin.to_owned())
}

fn has_token(headers: &HeaderMap, name: &str, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// Matches a `GET` that asks for a WebSocket (version 13, with a key); rejects anything else so the
/// next route (the page) can answer it.
pub fn ws() -> impl Filter<Extract = (Upgrade,), Error = warp::Rejection> + Clone {
    warp::get()
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<OnUpgrade>())
        .and_then(
            |headers: HeaderMap, on_upgrade: Option<OnUpgrade>| async move {
                let wants = has_token(&headers, "connection", "upgrade")
                    && has_token(&headers, "upgrade", "websocket")
                    && headers
                        .get("sec-websocket-version")
                        .is_some_and(|v| v.as_bytes() == b"13");
                let key = headers
                    .get("sec-websocket-key")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                match (wants, key, on_upgrade) {
                    (true, Some(key), Some(on_upgrade)) => Ok(Upgrade {
                        key,
                        on_upgrade,
                        foreign_origin: foreign_origin(&headers),
                    }),
                    _ => Err(warp::reject()),
                }
            },
        )
}

impl Upgrade {
    /// The requesting page's origin when it is not the gateway's own (the upgrade must be refused).
    pub fn foreign_origin(&self) -> Option<&str> {
        self.foreign_origin.as_deref()
    }

    /// Answers 101 and, once hyper hands over the connection, runs `task` with the socket, whose
    /// control frames go to `out`. If the upgrade never completes, `task` is dropped unrun.
    pub fn on_upgrade<F, Fut>(
        self,
        config: WebSocketConfig,
        out: Arc<Outbox>,
        task: F,
    ) -> impl warp::Reply
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let accept = derive_accept_key(self.key.as_bytes());
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let (read, write) = tokio::io::split(TokioIo::new(upgraded));
                    let reader = WebSocketStream::from_raw_socket(
                        ReadSide {
                            read,
                            out,
                            before_admission: 0,
                        },
                        Role::Server,
                        Some(config),
                    )
                    .await;
                    let writer = FrameWriter {
                        write,
                        headers: Vec::new(),
                    };
                    task(Socket { reader, writer }).await;
                }
                Err(e) => tracing::debug!("websocket upgrade did not complete: {e}"),
            }
        });
        let reply = warp::reply::with_status(warp::reply(), StatusCode::SWITCHING_PROTOCOLS);
        let reply = warp::reply::with_header(reply, "connection", "upgrade");
        let reply = warp::reply::with_header(reply, "upgrade", "websocket");
        warp::reply::with_header(reply, "sec-websocket-accept", accept)
    }
}

#[cfg(test)]
mod tests;
