//! The one thread that owns the core.
//!
//! Socket tasks send it [`ToCore`] messages over a bounded channel (a flood from one socket waits for
//! room instead of growing memory). It takes one message, then whatever else is already queued (up to
//! [`MAX_ROUND`]), feeds them all to the core, commits the store once — one journal append and fsync
//! for the whole round — and only then routes the outputs ([`crate::router`]) to the sockets' own
//! bounded queues ([`crate::outbox`]). File I/O happens on this thread, never on the async workers.

use crate::file_store::FileStore;
use crate::outbox::Outbox;
use crate::router::Router;
use pairing_core::{ConnId, Gateway, OpenError};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// The gateway's clock, [`crate::clock::now_ms`], re-exported here for the callers that still use
/// this path (the CLI and the test kit); new code uses `clock::now_ms`.
pub use crate::clock::now_ms;

/// Most inputs fed to the core between two commits.
pub const MAX_ROUND: usize = 1024;

/// A message to the core's thread.
pub enum ToCore {
    /// A socket asks to open; the reply says whether it may (or must get HTTP 503).
    Open {
        /// The peer's address.
        ip: IpAddr,
        /// The nonce the client sent with its upgrade, for the challenge's proof
        /// ([`pairing_core::challenge`]).
        client_nonce: Option<String>,
        /// Where this connection's outputs go.
        out: Arc<Outbox>,
        /// The answer.
        reply: oneshot::Sender<Result<ConnId, OpenError>>,
    },
    /// A text frame from a socket.
    Frame {
        /// The connection.
        conn: ConnId,
        /// The text; wiped once the core has handled it (it may carry a token).
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

/// The core, the sockets it let open, and where the next deadline is published.
struct Driver {
    gw: Gateway<FileStore>,
    router: Router,
    deadline: watch::Sender<Option<u64>>,
    /// `--notify-webhook`: where requests and decisions are also sent.
    notifier: Option<crate::webhook::Notifier>,
}

/// Starts the core's thread. It ends after [`ToCore::Shutdown`] or when every sender is gone.
/// Requests and decisions also go to `notifier` (`--notify-webhook`), if any.
pub fn spawn(
    gw: Gateway<FileStore>,
    rx: mpsc::Receiver<ToCore>,
    deadline: watch::Sender<Option<u64>>,
    notifier: Option<crate::webhook::Notifier>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("pairing-core".into())
        .spawn(move || {
            let mut d = Driver {
                gw,
                router: Router::default(),
                deadline,
                notifier,
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
            ToCore::Open {
                ip,
                client_nonce,
                out,
                reply,
            } => {
                let result = self.gw.open_with(now, ip, client_nonce.as_deref());
                if let Ok(conn) = result {
                    self.router.add(conn, out);
                }
                let _ = reply.send(result);
            }
            ToCore::Frame { conn, mut text } => self.frame(now, conn, &mut text),
            ToCore::Closed { conn } => {
                self.router.remove(conn);
                self.gw.closed(now, conn);
            }
            ToCore::Wake => self.gw.wake(now),
            ToCore::Shutdown => return true,
        }
        false
    }

    /// Feeds a frame to the core, wipes its text (a `connect` or `node.pair.verify` carries a token),
    /// and tells the socket when the core admitted it.
    fn frame(&mut self, now: u64, conn: ConnId, text: &mut String) {
        self.gw.frame(now, conn, text);
        zeroize::Zeroize::zeroize(text);
        let gw = &self.gw;
        self.router.admit(conn, || gw.is_admitted(conn));
    }

    fn commit_and_route(&mut self) {
        // The core backs off a failing store; this logs the start and the end of an episode only.
        let was = self.gw.store_health().cloned();
        let result = self.gw.commit();
        match (&result, &was) {
            (Err(e), None) => tracing::error!(
                "storage write failed: {e}; the round's changes were undone and answered \
                 UNAVAILABLE. Writes are retried with backoff (up to {} s), reads are still served; \
                 one more line follows when writes succeed again",
                pairing_core::gateway::STORE_RETRY_MAX_MS / 1000
            ),
            (Ok(()), Some(f)) if self.gw.store_health().is_none() => tracing::info!(
                "storage works again after {} ms (failed writes: {}, writes refused while backing off: {})",
                now_ms().saturating_sub(f.since),
                f.failures,
                f.refused
            ),
            (Err(e), Some(_)) => tracing::debug!("storage still failing: {e}"),
            _ => {}
        }
        // Requests and decisions, one line each (never a token), and to the webhook.
        while let Some(notice) = self.gw.poll_notice() {
            tracing::info!("{notice}");
            if let Some(n) = &self.notifier {
                n.notice(&notice);
            }
        }
        // Handing over can forget a socket (gone, too slow), which can make more outputs.
        while self.sort_outputs() {
            self.hand_over();
        }
    }

    /// Sorts the released outputs into each connection's batch; false when there were none.
    fn sort_outputs(&mut self) -> bool {
        let mut any = false;
        while let Some(out) = self.gw.poll_output_shared() {
            any = true;
            self.router.sort(out);
        }
        any
    }

    /// Hands the round's batches over; tells the core of the sockets let go of (gone, too slow).
    fn hand_over(&mut self) {
        for conn in self.router.hand_over() {
            self.gw.closed(now_ms(), conn);
        }
    }

    fn checkpoint(&mut self) {
        self.gw.store_mut().try_checkpoint();
    }

    fn publish_deadline(&mut self) {
        let mut next = self.gw.poll_timeout();
        if self.gw.store().checkpoint_due() {
            let due = now_ms() + self.gw.store().checkpoint_interval().as_millis() as u64;
            next = Some(next.map_or(due, |n| n.min(due)));
        }
        self.deadline.send_replace(next);
    }

    fn shutdown(&mut self) {
        self.router.close_all(1001, "gateway shutting down");
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
                let wait = Duration::from_millis(at.saturating_sub(now_ms()) + 1);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {
                        if to_core.send(ToCore::Wake).await.is_err() {
                            return;
                        }
                        // Give the driver a moment to publish its next deadline.
                        tokio::select! {
                            r = deadline.changed() => if r.is_err() { return },
                            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
                        }
                    }
                    r = deadline.changed() => if r.is_err() { return },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
