//! The one thread that owns the core.
//!
//! Socket tasks send it [`ToCore`] messages over a bounded channel (a flood from one socket waits for
//! room instead of growing memory). It takes one message, then whatever else is already queued (up to
//! [`MAX_ROUND`]), feeds them all to the core, commits the store once — one journal append and fsync
//! for the whole round — and only then routes the outputs to the sockets' own bounded queues
//! ([`Outbox`]). A socket whose queue is full is too slow to read: it is closed, never buffered without
//! bound, and the others never wait for it. File I/O happens on this thread, never on the async workers.
//!
//! Routing is per connection, not per frame: a round's outputs are first sorted into the driver's own
//! per-connection lists (no lock, no allocation once their capacity has grown), then each connection
//! that got anything is handed its whole batch under one lock with one wake-up. A broadcast to C
//! operators in a round of k changes costs C lock/wake pairs, not k × C channel sends, and the writer
//! puts the whole batch on the socket in one vectored write.

use crate::file_store::FileStore;
use pairing_core::{ConnId, Gateway, OpenError, Output};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, mpsc, oneshot, watch};

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
        out: Arc<Outbox>,
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

/// Why the reading side of a socket stopped, as its writer must know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReaderState {
    /// Still reading.
    Reading,
    /// The peer closed (its close frame is answered through [`Outbox::push_control`]) or went away.
    Ended,
    /// Reading failed (a frame too large, a protocol error): close with this code and reason.
    Failed(u16, &'static str),
}

/// What is waiting for one socket's writer.
#[derive(Debug)]
struct Pending {
    /// Text frames, in order (each may be shared with other sockets: a broadcast is built once).
    frames: VecDeque<Arc<str>>,
    /// Control frames the reading side must send (pong, the answer to the peer's close), framed.
    control: Vec<u8>,
    /// A close the core asked for (or shutdown), sent after `frames`.
    close: Option<(u16, &'static str)>,
    /// The driver let go of the socket without a close of its own: too slow to read, or forgotten.
    released: bool,
    /// The reading side.
    reader: ReaderState,
    /// The writer ended (or never started); the driver forgets the socket at its next batch.
    writer_gone: bool,
}

/// One socket's bounded output queue, shared by the driver (frames, close), the socket's reading side
/// (control frames, why it stopped) and its writer task, which takes everything at once.
#[derive(Debug)]
pub struct Outbox {
    pending: Mutex<Pending>,
    wake: Notify,
}

/// Most bytes of control frames waiting; beyond it a pong is dropped (RFC 6455 lets a pong answer only
/// the latest ping), so a ping flood cannot grow memory.
const MAX_CONTROL: usize = 4096;

impl Outbox {
    /// An empty queue, for a socket about to open.
    pub fn new() -> Outbox {
        Outbox {
            pending: Mutex::new(Pending {
                frames: VecDeque::new(),
                control: Vec::new(),
                close: None,
                released: false,
                reader: ReaderState::Reading,
                writer_gone: false,
            }),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Nothing panics while holding the lock; take the data even if something did.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The reading side queues an already framed control frame (a pong, the answer to a close).
    pub fn push_control(&self, frame: &[u8]) {
        let mut p = self.lock();
        if p.control.len() + frame.len() <= MAX_CONTROL {
            p.control.extend_from_slice(frame);
        }
        drop(p);
        self.wake.notify_one();
    }

    /// The reading side stopped (see [`ReaderState`]); the writer finishes accordingly.
    pub fn reader_stopped(&self, why: ReaderState) {
        let mut p = self.lock();
        if p.reader == ReaderState::Reading {
            p.reader = why;
        }
        drop(p);
        self.wake.notify_one();
    }

    /// The writer takes everything waiting: frames are swapped into `frames` (which must be empty, so
    /// both queues keep their capacity), control bytes appended to `control`. Returns the close
    /// asked for, whether the driver let go, and the reading side's state.
    pub fn take(
        &self,
        frames: &mut VecDeque<Arc<str>>,
        control: &mut Vec<u8>,
    ) -> (Option<(u16, &'static str)>, bool, ReaderState) {
        let mut p = self.lock();
        std::mem::swap(&mut p.frames, frames);
        control.append(&mut p.control);
        (p.close, p.released, p.reader)
    }

    /// Waits until something is pushed (a push between [`Outbox::take`] and this call is not lost).
    pub async fn changed(&self) {
        self.wake.notified().await;
    }
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox::new()
    }
}

/// The writer's end of an [`Outbox`]; dropping it (the writer ended, or the upgrade never completed)
/// tells the driver the socket is gone, as a closed channel did.
#[derive(Debug)]
pub struct OutboxReader(Arc<Outbox>);

impl OutboxReader {
    /// The writer's end of `out`.
    pub fn new(out: Arc<Outbox>) -> OutboxReader {
        OutboxReader(out)
    }

    /// The queue.
    pub fn outbox(&self) -> &Outbox {
        &self.0
    }
}

impl Drop for OutboxReader {
    fn drop(&mut self) {
        let mut p = self.0.lock();
        p.writer_gone = true;
        for text in p.frames.drain(..) {
            release(text);
        }
    }
}

/// Lets go of a frame; the last holder wipes its bytes (a frame may carry a token: an approve
/// result, a node's approved event). Every frame the host drops goes through here.
pub fn release(mut text: Arc<str>) {
    if let Some(bytes) = Arc::get_mut(&mut text) {
        zeroize::Zeroize::zeroize(bytes);
    }
}

/// Milliseconds since the epoch, the core's clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Hashes a [`ConnId`] with one multiplication (Fx-style). Connection ids are a counter the gateway
/// assigns, never chosen by a peer, so the DoS-resistant default hasher buys nothing here, and
/// routing looks one up for every frame of every recipient.
#[derive(Default)]
struct ConnHasher(u64);

impl std::hash::Hasher for ConnHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type ConnMap<V> = HashMap<ConnId, V, std::hash::BuildHasherDefault<ConnHasher>>;

/// The driver's side of one socket.
struct Conn {
    out: Arc<Outbox>,
    /// This round's frames for the socket, in order, not handed over yet (capacity kept).
    batch: Vec<Arc<str>>,
    /// A close from the core, handed over after `batch`; later frames are dropped.
    close: Option<(u16, &'static str)>,
    /// Listed in [`Driver::touched`] this round.
    touched: bool,
}

impl Drop for Conn {
    /// Forgetting a socket tells its writer (after any close it was given) and wipes what it never got.
    fn drop(&mut self) {
        for text in self.batch.drain(..) {
            release(text);
        }
        self.out.lock().released = true;
        self.out.wake.notify_one();
    }
}

struct Driver {
    gw: Gateway<FileStore>,
    conns: ConnMap<Conn>,
    /// Connections with something to hand over this round (capacity kept between rounds).
    touched: Vec<ConnId>,
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
                conns: ConnMap::default(),
                touched: Vec::new(),
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
            ToCore::Open { ip, out, reply } => {
                let result = self.gw.open(now, ip);
                if let Ok(conn) = result {
                    let c = Conn {
                        out,
                        batch: Vec::new(),
                        close: None,
                        touched: false,
                    };
                    self.conns.insert(conn, c);
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
            match out {
                Output::Send { conn, text } => self.route(conn, Some(text), None),
                Output::Close { conn, code, reason } => {
                    self.route(conn, None, Some((code, reason)));
                }
                Output::Broadcast { to, text } => {
                    for &conn in to.iter() {
                        self.route(conn, Some(text.clone()), None);
                    }
                    release(text);
                }
            }
        }
        any
    }

    /// Adds a frame (or the core's close) to one connection's batch for this round.
    fn route(&mut self, conn: ConnId, text: Option<Arc<str>>, close: Option<(u16, &'static str)>) {
        let Some(c) = self.conns.get_mut(&conn).filter(|c| c.close.is_none()) else {
            if let Some(text) = text {
                release(text);
            }
            return;
        };
        if !c.touched {
            c.touched = true;
            self.touched.push(conn);
        }
        if let Some(text) = text {
            c.batch.push(text);
        }
        if let Some((code, reason)) = close {
            tracing::debug!(%conn, code, reason, "closing connection");
            c.close = close;
        }
    }

    /// Gives each touched connection its batch: one lock and one wake-up per connection. A socket
    /// whose queue would pass [`CONN_QUEUE`] is too slow to read and is closed; one whose writer is
    /// gone is forgotten.
    fn hand_over(&mut self) {
        for i in 0..self.touched.len() {
            let conn = self.touched[i];
            let Some(c) = self.conns.get_mut(&conn) else {
                continue;
            };
            c.touched = false;
            let core_closed = c.close.is_some();
            let mut p = c.out.lock();
            let keep = if p.writer_gone {
                false
            } else if p.frames.len() + c.batch.len() > CONN_QUEUE {
                tracing::warn!(%conn, "closing a connection too slow to read its frames");
                false
            } else {
                p.frames.extend(c.batch.drain(..));
                p.close = c.close;
                !core_closed
            };
            drop(p);
            if keep {
                c.out.wake.notify_one();
            } else {
                // Dropping it wakes the writer, which sends what it has, then the close (1008
                // without one of the core's own).
                self.conns.remove(&conn);
                if !core_closed {
                    self.gw.closed(now_ms(), conn);
                }
            }
        }
        self.touched.clear();
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
        for (_, c) in self.conns.drain() {
            let mut p = c.out.lock();
            p.close.get_or_insert((1001, "gateway shutting down"));
            drop(p);
            drop(c);
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
