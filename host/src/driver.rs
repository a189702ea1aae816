//! The one thread that owns the core.
//!
//! Socket tasks send it [`ToCore`] messages over a bounded channel (a flood from one socket waits for
//! room instead of growing memory). It takes one message, then whatever else is already queued (up to
//! [`MAX_ROUND`]), feeds them all to the core, commits the store once — one journal append and fsync
//! for the whole round — and only then routes the outputs to the sockets' own bounded queues. A socket
//! whose queue is full is too slow to read: it is closed, never buffered without bound, and the others
//! never wait for it. File I/O happens on this thread, never on the async workers.

use crate::file_store::FileStore;
use pairing_core::{ConnId, Gateway, OpenError, Output};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot, watch};

/// Most inputs fed to the core between two commits.
pub const MAX_ROUND: usize = 1024;

/// Frames queued for one socket before it counts as too slow and is closed.
pub const CONN_QUEUE: usize = 512;

/// A message to the core's thread.
pub enum ToCore {
    /// A socket asks to open; the reply says whether it may (or must get HTTP 503).
    Open {
        /// The peer's address.
        ip: IpAddr,
        /// Where this connection's outputs go.
        tx: mpsc::Sender<ToConn>,
        /// The answer.
        reply: oneshot::Sender<Result<ConnId, OpenError>>,
    },
    /// A text frame from a socket.
    Frame {
        /// The connection.
        conn: ConnId,
        /// The text.
        text: String,
    },
    /// A socket ended.
    Closed {
        /// The connection.
        conn: ConnId,
    },
    /// A deadline of the core has come.
    Wake,
    /// Stop: close every socket, write a checkpoint, end the thread.
    Shutdown,
}

/// A message to one socket's writer.
#[derive(Debug)]
pub enum ToConn {
    /// Send this text frame.
    Text(Arc<str>),
    /// Send a close frame and end.
    Close(u16, &'static str),
}

/// Milliseconds since the epoch, the core's clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

struct Driver {
    gw: Gateway<FileStore>,
    conns: HashMap<ConnId, mpsc::Sender<ToConn>>,
    deadline: watch::Sender<Option<u64>>,
}

/// Starts the core's thread. It ends after [`ToCore::Shutdown`] or when every sender is gone.
pub fn spawn(
    gw: Gateway<FileStore>,
    rx: mpsc::Receiver<ToCore>,
    deadline: watch::Sender<Option<u64>>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("pairing-core".into())
        .spawn(move || {
            let mut d = Driver {
                gw,
                conns: HashMap::new(),
                deadline,
            };
            d.publish_deadline();
            d.run(rx);
        })
}

impl Driver {
    fn run(&mut self, mut rx: mpsc::Receiver<ToCore>) {
        while let Some(first) = rx.blocking_recv() {
            let mut stop = self.handle(first);
            let mut fed = 1;
            while !stop && fed < MAX_ROUND {
                match rx.try_recv() {
                    Ok(m) => {
                        stop = self.handle(m);
                        fed += 1;
                    }
                    Err(_) => break,
                }
            }
            self.commit_and_route();
            if stop {
                break;
            }
            if self.gw.store().checkpoint_due() && self.gw.store().checkpoint_stale() {
                self.checkpoint();
            }
            self.publish_deadline();
        }
        self.shutdown();
    }

    fn handle(&mut self, msg: ToCore) -> bool {
        let now = now_ms();
        match msg {
            ToCore::Open { ip, tx, reply } => {
                let result = self.gw.open(now, ip);
                if let Ok(conn) = result {
                    self.conns.insert(conn, tx);
                }
                let _ = reply.send(result);
            }
            ToCore::Frame { conn, text } => self.gw.frame(now, conn, &text),
            ToCore::Closed { conn } => {
                self.conns.remove(&conn);
                self.gw.closed(now, conn);
            }
            ToCore::Wake => self.gw.wake(now),
            ToCore::Shutdown => return true,
        }
        false
    }

    fn commit_and_route(&mut self) {
        if let Err(e) = self.gw.commit() {
            tracing::error!(
                "storage write failed; the round's changes were undone and reported as failed: {e}"
            );
        }
        while let Some(out) = self.gw.poll_output() {
            match out {
                Output::Send { conn, text } => {
                    let Some(tx) = self.conns.get(&conn) else {
                        continue;
                    };
                    if let Err(e) = tx.try_send(ToConn::Text(text)) {
                        if matches!(e, mpsc::error::TrySendError::Full(_)) {
                            tracing::warn!(%conn, "closing a connection too slow to read its frames");
                        }
                        // Dropping the sender ends the writer, which closes the socket.
                        self.conns.remove(&conn);
                        self.gw.closed(now_ms(), conn);
                    }
                }
                Output::Close { conn, code, reason } => {
                    if let Some(tx) = self.conns.remove(&conn) {
                        tracing::debug!(%conn, code, reason, "closing connection");
                        let _ = tx.try_send(ToConn::Close(code, reason));
                    }
                }
            }
        }
    }

    fn checkpoint(&mut self) {
        if let Err(e) = self.gw.store_mut().checkpoint() {
            tracing::warn!("checkpoint failed, the journal keeps every change: {e}");
        }
    }

    fn publish_deadline(&mut self) {
        let mut next = self.gw.poll_timeout();
        if self.gw.store().checkpoint_due() {
            let due = now_ms() + FileStore::CHECKPOINT_INTERVAL.as_millis() as u64;
            next = Some(next.map_or(due, |n| n.min(due)));
        }
        self.deadline.send_replace(next);
    }

    fn shutdown(&mut self) {
        for (_, tx) in self.conns.drain() {
            let _ = tx.try_send(ToConn::Close(1001, "gateway shutting down"));
        }
        if self.gw.store().checkpoint_due() {
            self.checkpoint();
        }
        self.deadline.send_replace(None);
    }
}

/// Sends [`ToCore::Wake`] when the published deadline comes. Ends when the driver is gone.
pub async fn timer(mut deadline: watch::Receiver<Option<u64>>, to_core: mpsc::Sender<ToCore>) {
    loop {
        let next = *deadline.borrow_and_update();
        match next {
            None => {
                if deadline.changed().await.is_err() {
                    return;
                }
            }
            Some(at) => {
                let wait = std::time::Duration::from_millis(at.saturating_sub(now_ms()) + 1);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {
                        if to_core.send(ToCore::Wake).await.is_err() {
                            return;
                        }
                        // Give the driver a moment to publish its next deadline.
                        tokio::select! {
                            r = deadline.changed() => if r.is_err() { return },
                            _ = tokio::time::sleep(std::time::Duration::from_millis(5)) => {}
                        }
                    }
                    r = deadline.changed() => if r.is_err() { return },
                }
            }
        }
    }
}
